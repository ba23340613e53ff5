/**
 * What the fleet service reads from ClickHouse on its timer: the node table once per rollout
 * tick (the driver's resend and delivery use the states it read), and for the sweep of nodes last
 * heard applying only the rows it wants. ClickHouse is a recording stand-in connection under the real
 * client here: the queries are what is asked; the real engine runs them in test/fleet.
 */
import { Readable } from 'node:stream';
import { createClient } from '@clickhouse/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONFIG_DOC_VERSION, type StatusMessage } from '@edge-telemetry/protocol';
import type { StorageConnection } from '../storage/client.js';
import { TABLES } from '../storage/tables.js';
import type { ConfigDocuments } from './documents.js';
import type { Layer } from './layers.js';
import type { Rollout } from './rollout.js';
import type { RolloutStore } from './rollout-store.js';
import { createFleetConfig, FLEET_ROLLOUT_OPTIONS } from './service.js';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const START = 1_000_000_000_000;

describe('fleet service reads', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads the node table once per rollout tick, and only the rows last heard applying for the sweep', async () => {
    const queries: string[] = [];
    // The real client over a connection that records each statement and answers no rows.
    const answer = { query_id: 'stand-in', response_headers: {}, http_status_code: 200 };
    const empty = () => ({ ...answer, stream: Readable.from([]) });
    const connection: StorageConnection = {
      ping: async () => ({ success: true }),
      query: async ({ query }) => (queries.push(query), empty()),
      exec: async () => empty(),
      insert: async () => answer,
      command: async () => answer,
      close: async () => {},
    };
    const client = createClient({ connection });
    const layer = (rev: number): Layer => ({
      scope: 'fleet',
      target: '',
      rev,
      doc: { options: { logs: { defaults: { filter: { minLevel: 'warn' } } } } },
      docHash: `h${rev}`,
      createdBy: 'test',
      createdAt: START,
    });
    const rollout = (id: string, rev: number): Rollout => ({
      id,
      scope: 'fleet',
      target: '',
      rev,
      prevRev: 0,
      prevDoc: undefined,
      nodes: ['n1', 'n2'],
      judged: 2,
      stages: [2],
      stage: 0,
      stageAt: START - 60_000,
      holdFrom: 0,
      holdMs: 1000,
      state: 'running',
      reason: '',
      startedBy: 'test',
      startedAt: START - 60_000,
      owner: 'me',
      updatedAt: START,
    });
    // One rollout waits for nodes that have not applied it (they are sent it again), the other was
    // superseded by a later version of its layer (every node is sent what it should now run).
    const rollouts = [rollout('waits', 7), rollout('superseded', 6)];
    const store: RolloutStore = {
      active: async () => rollouts.filter((r) => r.state === 'running'),
      recent: async () => rollouts,
      get: async (id) => rollouts.find((r) => r.id === id),
      save: async () => {},
      health: async () => [],
    };
    const documents: ConfigDocuments = {
      latest: async () => [layer(7)],
      history: async () => [layer(7)],
      nextRev: async () => 8,
      put: async () => layer(8),
    };
    const published: string[] = [];
    const tickMs = 1000;
    const fleet = createFleetConfig({
      client,
      documents,
      rollouts: store,
      ingesterId: 'me',
      rolloutOptions: { ...FLEET_ROLLOUT_OPTIONS, tickMs },
      logger: quiet,
      audit: { record: async () => {} },
      publish: async (topic) => void published.push(topic),
    });
    // Both nodes are still applying an earlier revision, heard long enough ago for the sweep.
    for (const node of ['n1', 'n2']) {
      const status: StatusMessage = {
        v: 1,
        node,
        state: 'online',
        at: START - 30_000,
        agentVersion: '0.1.0',
        capabilities: { logStore: false, control: [1], batchFrames: [1], config: [CONFIG_DOC_VERSION] },
        config: { state: 'applying', rev: 5, appliedRev: 0, docHash: '', effectiveHash: '0'.repeat(64) },
      };
      fleet.noted(status, START - 30_000);
    }
    await vi.advanceTimersByTimeAsync(0);
    queries.length = 0;
    fleet.start();
    await vi.advanceTimersByTimeAsync(tickMs);
    fleet.close();

    expect(rollouts.map((r) => r.state)).toEqual(['running', 'superseded']);
    expect(published.length).toBeGreaterThan(0);
    const nodeTable = queries.filter((q) => q.includes(`FROM ${TABLES.nodeConfig}`));
    const whole = nodeTable.filter((q) => !q.includes('WHERE'));
    expect(whole).toHaveLength(1);
    const sweep = nodeTable.filter((q) => q.includes('WHERE'));
    expect(sweep).toHaveLength(1);
    expect(sweep[0]).toContain(`State = 'applying'`);
  });
});
