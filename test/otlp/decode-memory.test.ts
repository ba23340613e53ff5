/**
 * What a request holds once decoded, against the gateway's budget, with the real collector bin in a
 * cgroup of 128 MiB / 0.2 CPU (issue found in session 15, left open at its close): one 15 KB gzip of
 * an OTLP/JSON log record with a 15 MiB body had the collector OOM-killed in its decode alone (the
 * inflated chunks and their concatenation, the text, JSON.parse's strings: VmHWM 75 -> 155 MiB),
 * while `maxDecodedBytes` and `maxInFlightBytes` counted 16 MiB of bytes. Now a body is refused
 * over `maxDecodedBytes` (4 MiB) as gzip declares it, before it is inflated, and what its decode
 * will hold is taken from the in-flight budget before decoding (decode-cost.ts), so the largest
 * requests within the limits are taken one at a time, or refused 413 when one alone would hold
 * more than the budget. Each refusal is the OTLP answer (413, or 503 with Retry-After), counted and
 * logged; the receiver goes on taking an SDK's exports. Skipped outside CI only where cgroups
 * cannot be made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupVersion } from '../support/cgroup.js';
import {
  oneLogRecordGzip,
  postLogs,
  sdkLogExport,
  startOtlpCollectorInCgroup,
  type Answer,
  type OtlpCollectorInCgroup,
} from './heavy-requests.js';

const MiB = 2 ** 20;
const canRun = cgroupVersion() !== undefined;
if (process.env.CI && !canRun)
  throw new Error('CI must run the OTLP decode-memory test: no writable cgroup v1 or v2 here');

describe.runIf(canRun)('collector bin in 128 MiB / 0.2 CPU: OTLP requests that grow when decoded', () => {
  let c: OtlpCollectorInCgroup;

  beforeAll(async () => {
    c = await startOtlpCollectorInCgroup(`otlp-decode-${process.pid}`);
  }, 180_000);
  afterAll(async () => {
    await c?.close();
  });

  /** The sum of a counter over its label sets, from the collector's /metrics. */
  const counter = async (name: string) => {
    const text = await fetch(`${c.run.httpUrl()}/metrics`).then((r) => r.text());
    const re = new RegExp(`^collector_${name.replace(/\./g, '_')}_total(?:\\{[^}]*\\})? (\\d+)$`, 'gm');
    return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  };
  const alive = () => c.run.child.exitCode === null && c.run.child.signalCode === null;
  const statuses = (answers: Answer[]) => answers.map((a) => a.status).sort();

  it('a 15 KB gzip of a 15 MiB log record, JSON or protobuf, alone or 4 at once, gets 413, counted and logged, and no OOM kill', async () => {
    expect(await sdkLogExport(c.url)).toBe(0);
    for (const format of ['json', 'protobuf'] as const) {
      const gzip = oneLogRecordGzip(format, 'A'.repeat(15 * MiB));
      expect(gzip.length).toBeLessThan(32 * 1024);
      const alone = await postLogs(c.url, format, gzip);
      expect(alone.status).toBe(413);
      if (format === 'json')
        expect(alone.message).toMatch(/^ET_ERR_OTLP_TOO_LARGE: .*over maxDecodedBytes \(4194304\)/);
      const together = await Promise.all(Array.from({ length: 4 }, () => postLogs(c.url, format, gzip)));
      expect(statuses(together)).toEqual([413, 413, 413, 413]);
    }
    // A gzip whose trailer understates its size is inflated until it passes maxDecodedBytes, its chunks in the budget.
    const lying = oneLogRecordGzip('json', 'A'.repeat(15 * MiB));
    lying.writeUInt32LE(1000, lying.length - 4);
    const lies = await Promise.all(Array.from({ length: 4 }, () => postLogs(c.url, 'json', lying)));
    for (const a of lies) expect([413, 503]).toContain(a.status);
    expect(lies.some((a) => a.status === 413)).toBe(true);

    expect(await sdkLogExport(c.url)).toBe(0);
    expect(await c.cgroup.oomKills()).toBe(0);
    expect(alive()).toBe(true);
    expect(await counter('otlp.requests_over_limit')).toBeGreaterThanOrEqual(10);
    expect(c.run.output()).toMatch(/OTLP request refused \(413\)/);
  }, 180_000);

  it('the largest records within the limits are taken one at a time or refused as the budget says, never an OOM kill', async () => {
    const text = 4 * MiB - 1024;
    // ASCII: the text and JSON.parse's strings are a byte a character; it fits the budget alone.
    const ascii = oneLogRecordGzip('json', 'A'.repeat(text));
    expect((await postLogs(c.url, 'json', ascii)).status).toBe(200);
    const together = await Promise.all(Array.from({ length: 4 }, () => postLogs(c.url, 'json', ascii)));
    for (const a of together) {
      expect([200, 503]).toContain(a.status);
      if (a.status === 503) expect(a.retryAfter).toBe('1');
    }
    expect(together.some((a) => a.status === 200)).toBe(true);
    // Characters above U+00FF: V8 holds the text and the strings at two bytes a character, 20 MiB
    // beside the body, over the whole budget alone: 413, not retryable.
    const wide = oneLogRecordGzip('json', 'ā'.repeat(text / 2));
    const refused = await postLogs(c.url, 'json', wide);
    expect(refused.status).toBe(413);
    expect(refused.message).toMatch(/^ET_ERR_OTLP_TOO_LARGE: .*over sources\.otlp\.maxInFlightBytes/);
    // protobuf copies the strings once: the same record fits.
    const proto = oneLogRecordGzip('protobuf', 'ā'.repeat(text / 2));
    expect((await postLogs(c.url, 'protobuf', proto)).status).toBe(200);
    const protos = await Promise.all(Array.from({ length: 4 }, () => postLogs(c.url, 'protobuf', proto)));
    for (const a of protos) expect([200, 503]).toContain(a.status);
    for (let i = 0; i < 4; i++) expect((await postLogs(c.url, 'json', ascii)).status).toBe(200);

    expect(await sdkLogExport(c.url)).toBe(0);
    expect(await c.cgroup.oomKills()).toBe(0);
    expect(alive()).toBe(true);
  }, 180_000);
});
