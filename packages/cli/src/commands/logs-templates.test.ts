import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ignoreClosedPipes } from '@edge-telemetry/protocol/net';
import { describe, expect, it } from 'vitest';
import { runLogsTemplates } from './logs-templates.js';

const fixture = (name: string) => new URL(`../../../collector/fixtures/logs/${name}`, import.meta.url).pathname;

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  const code = await runLogsTemplates(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}
const rows = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; templateId: string; template: string });

describe('logs templates', () => {
  it('prints one object per input line, in order, empty lines included (raw, CRLF, no final newline)', async () => {
    const { code, out } = await run([fixture('plain.log')]);
    expect(code).toBe(0);
    const r = rows(out);
    expect(r.map((x) => x.line)).toEqual([1, 2, 3, 4, 5]);
    expect(r[0]?.templateId).toBe(r[1]?.templateId);
    expect(r[4]?.templateId).toBe(r[0]?.templateId);
    expect(r[4]?.template).toBe('Connection from <*> port <*>');
    expect(r[2]?.template).toBe('');
    expect(new Set(r.map((x) => x.templateId)).size).toBe(3);
  });

  it("cuts each raw line's header before mining: the template is the message's", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'miner-cli-'));
    const file = path.join(dir, 'mixed.log');
    writeFileSync(
      file,
      [
        'Dec  6 02:37:01 gw-01 sshd[4121]: Connection closed by 10.0.0.5 port 51022',
        'Dec 16 12:07:59 gateway-b sshd[77]: Connection closed by 10.0.0.9 port 2201',
        '2026-12-06 02:37:01,123 INFO  [main] org.example.Worker: queue drained in 12 ms',
        '2026-12-06 02:38:11,456 WARN  [pool-1-thread-3] org.example.Worker: queue drained in 4 ms',
      ].join('\n'),
    );
    try {
      const { code, out } = await run([file]);
      expect(code).toBe(0);
      expect(rows(out).map((x) => x.template)).toEqual([
        'Connection closed by <*> port <*>',
        'Connection closed by <*> port <*>',
        'queue drained in <*> ms',
        'queue drained in <*> ms',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([['json-file'], ['cri']])('cuts the message out of %s lines', async (format) => {
    const { code, out } = await run([fixture(`${format}.log`), '--format', format]);
    expect(code).toBe(0);
    const r = rows(out);
    expect(r.map((x) => x.template)).toEqual(['worker <*> started', 'worker <*> started', '', 'shutting down now']);
  });

  it('stops quietly when its reader goes away (`| head`)', async () => {
    let writes = 0;
    const stdout = new Writable({
      highWaterMark: 1,
      write: (_c: Buffer, _e, cb) => {
        writes++;
        const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        cb(err);
      },
    });
    // As the bin does before anything is written: its EPIPE 'error' ends nothing.
    ignoreClosedPipes([stdout]);
    const stderr = new Writable({ write: (_c: Buffer, _e, cb) => cb() });
    const lines = new URL('../../../../../shared/corpora/loghub2k/HDFS/HDFS_2k.log', import.meta.url).pathname;
    const file = existsSync(lines) ? lines : fixture('plain.log');
    expect(await runLogsTemplates([file], { stdout, stderr })).toBe(0);
    expect(writes).toBe(1);
  });

  it('rejects wrong arguments and missing files with codes', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run([fixture('plain.log'), '--format', 'xml'])).err).toMatch(/^ET_ERR_USAGE/);
    const missing = await run(['/nonexistent/file.log']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^ET_ERR_FILE/);
  });
});
