import { cp, mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sample } from '../types.js';
import type { MetricsLogEntry } from '../../self/log.js';
import { HostSource } from './host-source.js';
import { parseMeminfo, parseNetDev, parseProcStat } from './proc.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../../fixtures/metrics/proc');
const get = (s: Sample[], metric: string): number | undefined => s.find((x) => x.metric === metric)?.value;

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'host-'));
  await cp(FIXTURE, path.join(tmp, 'proc'), { recursive: true });
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('HostSource on a captured /proc', () => {
  it('reports memory, load, interfaces and the data volume, and CPU% from deltas', async () => {
    const procRoot = path.join(tmp, 'proc');
    const src = new HostSource({ procRoot, dataDir: tmp });
    const a = await src.scrape(1_000);
    expect(a.samples.every((s) => s.container === '')).toBe(true);
    const mem = parseMeminfo(await readFile(path.join(procRoot, 'meminfo'), 'utf8'));
    expect(get(a.samples, 'mem.total_bytes')).toBe(mem.get('MemTotal'));
    expect(get(a.samples, 'mem.usage_bytes')).toBe(
      (mem.get('MemTotal') as number) - (mem.get('MemAvailable') as number),
    );
    const [l1] = (await readFile(path.join(procRoot, 'loadavg'), 'utf8')).split(' ');
    expect(get(a.samples, 'load.1m')).toBe(Number(l1));
    const eth0 = parseNetDev(await readFile(path.join(procRoot, 'net/dev'), 'utf8')).find((i) => i.name === 'eth0');
    expect(get(a.samples, 'net.eth0.rx_bytes')).toBe(eth0?.rxBytes);
    expect(a.samples.find((s) => s.metric === 'net.eth0.rx_bytes')?.kind).toBe('counter');
    // Loopback and ifb are left out by default.
    expect(a.samples.some((s) => s.metric.startsWith('net.lo.') || s.metric.startsWith('net.ifb'))).toBe(false);
    const fs = await statfs(tmp);
    expect(get(a.samples, 'disk.total_bytes')).toBe(fs.blocks * fs.bsize);
    expect(get(a.samples, 'cpu.usage_pct')).toBeUndefined();

    // 200 more jiffies: 100 busy (user), 50 idle, 50 iowait, on the captured core count.
    const statText = await readFile(path.join(procRoot, 'stat'), 'utf8');
    const before = parseProcStat(statText);
    const bumped = statText.replace(
      /^cpu {2}(\d+) (\d+) (\d+) (\d+) (\d+)/m,
      (_m, u, n, s, i, w) => `cpu  ${Number(u) + 100} ${n} ${s} ${Number(i) + 50} ${Number(w) + 50}`,
    );
    await writeFile(path.join(procRoot, 'stat'), bumped);
    const b = await src.scrape(11_000);
    expect(get(b.samples, 'cpu.usage_pct')).toBeCloseTo(50 * (before?.cores ?? 0), 9);
    expect(get(b.samples, 'cpu.iowait_pct')).toBeCloseTo(25 * (before?.cores ?? 0), 9);
  });

  it('keeps going with a clear log line when a file or the data volume is missing', async () => {
    const logs: MetricsLogEntry[] = [];
    await rm(path.join(tmp, 'proc', 'loadavg'));
    const src = new HostSource(
      { procRoot: path.join(tmp, 'proc'), dataDir: path.join(tmp, 'absent') },
      { log: (e) => logs.push(e) },
    );
    const r = await src.scrape(1_000);
    expect(get(r.samples, 'mem.total_bytes')).toBeGreaterThan(0);
    expect(get(r.samples, 'load.1m')).toBeUndefined();
    expect(logs.map((l) => l.code)).toEqual(['ET_ERR_HOST_READ', 'ET_ERR_HOST_READ']);
    expect(logs.some((l) => l.msg.includes('loadavg'))).toBe(true);
  });

  it("reads this machine's /proc", async () => {
    const src = new HostSource({ dataDir: tmp });
    await src.scrape(Date.now());
    await new Promise((r) => setTimeout(r, 50));
    const r = await src.scrape(Date.now());
    expect(get(r.samples, 'mem.total_bytes')).toBeGreaterThan(0);
    expect(get(r.samples, 'cpu.cores')).toBeGreaterThan(0);
    for (const s of r.samples) expect(Number.isFinite(s.value)).toBe(true);
  });
});
