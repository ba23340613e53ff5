/**
 * The OTLP item bucket is the node's, shared by every application on the gateway. One that floods
 * it must not shut the others out: it is taken only down to half the bucket while another client
 * sends, and the other client is taken from the half left. Two loopback addresses stand for two
 * containers on a bridge network.
 *
 * The rate is 1 item/s with a burst of 100, so the refill between two local requests is too small
 * to matter; a slow machine only refills more, which can only turn a refusal into an answer, and
 * the assertions hold either way.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { gauge, startRig, T, type Rig } from './support.js';

/** POSTs an OTLP/JSON metrics request of `points` gauge points from `localAddress`; the HTTP status. */
function send(rig: Rig, localAddress: string, name: string, points: number): Promise<number> {
  const body = JSON.stringify(
    gauge(
      name,
      Array.from({ length: points }, (_, i) => ({ t: T + i * 1000, v: i })),
    ),
  );
  const url = new URL(`${rig.receiver.url}/v1/metrics`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('OTLP item rate shared between clients', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('a flooding client is taken down to half the bucket; another client is still taken', async () => {
    rig = await startRig({ itemsPerSecond: 1, burstItems: 100 });
    const quiet = '127.0.0.2';
    const flood = '127.0.0.1';
    expect(await send(rig, quiet, 'quiet', 10)).toBe(200);
    // 90 left: the flood is taken while it has taken no more than the quiet client, then down to
    // 50 (before, down to nothing: the quiet client's next 10 and 30 were refused).
    const answers: number[] = [];
    for (let i = 0; i < 10; i++) answers.push(await send(rig, flood, `flood${i}`, 10));
    expect(answers.filter((a) => a === 200).length).toBeGreaterThanOrEqual(4);
    expect(answers).toContain(429);
    expect([await send(rig, quiet, 'quiet', 10), await send(rig, quiet, 'quiet', 30)]).toEqual([200, 200]);
  });

  // Review (session 12): refused requests did not count, so a refused flood decayed and the quiet
  // client became the heaviest; a flood's first or largest request was not limited.
  it('a refused flood stays the heaviest; its single large request is refused while others send', async () => {
    rig = await startRig({ itemsPerSecond: 1, burstItems: 100 });
    const [quiet, flood] = ['127.0.0.2', '127.0.0.1'];
    expect(await send(rig, quiet, 'q0', 10)).toBe(200);
    expect(await send(rig, flood, 'f0', 85)).toBe(429);
    expect(await send(rig, flood, 'f1', 10)).toBe(200);
    expect(await send(rig, flood, 'f2', 10)).toBe(200);
    expect(await send(rig, flood, 'f3', 45)).toBe(429);
    expect([await send(rig, quiet, 'q1', 10), await send(rig, quiet, 'q2', 30)]).toEqual([200, 200]);
  });

  it('a client alone may take the whole bucket', async () => {
    rig = await startRig({ itemsPerSecond: 1, burstItems: 100 });
    const answers: number[] = [];
    for (let i = 0; i < 10; i++) answers.push(await send(rig, '127.0.0.1', `alone${i}`, 10));
    expect(answers).toEqual(Array<number>(10).fill(200));
  });
});
