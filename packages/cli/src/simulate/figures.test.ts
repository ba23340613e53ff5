import { describe, expect, it } from 'vitest';
import { formatUnacked, nodeFigures } from './figures.js';

const NOW = 1_000_000;
const LOOP = { p99Ms: 40, maxMs: 180 };
const stats = (over: Partial<Parameters<typeof nodeFigures>[1]> = {}): Parameters<typeof nodeFigures>[1] => ({
  connected: true,
  publishes: 4,
  resends: 0,
  acked: 4,
  bytesSent: 1000,
  queueBatches: 0,
  inflight: 0,
  chainPending: 0,
  lastPublishAt: NOW - 2000,
  lastPublishError: undefined,
  link: {
    phase: 'connected',
    since: NOW - 20_000,
    connectedAt: NOW - 20_000,
    attempts: 0,
    lastError: undefined,
    socket: { written: 900, read: 40, unsent: 0, connecting: false, destroyed: false },
  },
  ...over,
});
const gate = {
  down: false,
  connections: [{ ageMs: 20_000, up: 900, forwarded: 900, down: 40, upstreamConnecting: false, paused: [] }],
};

describe('formatUnacked', () => {
  it('says nothing when every node had batches acknowledged', () => {
    const f = [nodeFigures('a', stats(), 1, gate, NOW)];
    expect(formatUnacked(f, f, LOOP)).toEqual([]);
  });

  it('names the link, the publish chain and the last error of a node without acks, as they were before the stop', () => {
    const before = nodeFigures(
      'b',
      stats({
        connected: false,
        publishes: 0,
        acked: 0,
        queueBatches: 25,
        lastPublishAt: 0,
        link: {
          phase: 'connecting',
          since: NOW - 27_000,
          connectedAt: NOW - 29_000,
          attempts: 1,
          lastError: { at: NOW - 27_500, message: 'read ECONNRESET' },
          socket: { written: 124, read: 0, unsent: 124, connecting: true, destroyed: false },
        },
      }),
      1,
      {
        down: false,
        connections: [{ ageMs: 26_900, up: 0, forwarded: 0, down: 0, upstreamConnecting: true, paused: [] }],
      },
      NOW,
    );
    const end = nodeFigures('b', stats({ publishes: 0, acked: 0, queueBatches: 26 }), 1, gate, NOW + 3000);
    const [head, line, ...rest] = formatUnacked([end], [before], LOOP);
    expect(head).toBe("  simulator's worst event-loop delay over the run: 180 ms (p99 40 ms); nodes without acks:");
    expect(rest).toEqual([]);
    expect(line).toBe(
      '  no acks from b: link connecting for 27.0 s, 1 failed attempts, connected 29.0 s ago, published 0 (last never), ' +
        'in flight 0, publish chain 0, outbox 26, cuts 1, last error 27.5 s ago: read ECONNRESET, ' +
        'socket 124 B written (124 B unsent)/0 B read (connecting), ' +
        'relay 26.9 s old (broker side connecting): 0 B up (0 B forwarded), 0 B down',
    );
  });

  it('says when the sender disagrees with its link, and takes the later of the connect and publish errors', () => {
    const f = nodeFigures(
      'c',
      stats({
        acked: 0,
        connected: false,
        lastPublishError: { at: NOW - 1000, message: 'client disconnecting' },
        link: {
          phase: 'connected',
          since: NOW - 5000,
          connectedAt: NOW - 5000,
          attempts: 0,
          lastError: { at: NOW - 9000, message: 'x' },
          socket: undefined,
        },
      }),
      0,
      gate,
      NOW,
    );
    expect(formatUnacked([f], [f], LOOP)[1]).toMatch(
      /link connected for 5\.0 s \(sender disconnected\).*last error 1\.0 s ago: client disconnecting, socket none/,
    );
  });
});
