/**
 * A seeded synthetic mix of service logs written as a Docker json-file, for the collector's backlog
 * tests and benchmark (issue 15): the same bytes for the same seed on every run. One third each of
 * JSON (zap/pino style), logfmt and text lines with a leading RFC 3339 time; about 22% of the lines
 * WARN or ERROR; a Java stack trace now and then (multi-line events); addresses, tokens and
 * passwords in some lines (redaction). ~257 bytes per json-file entry, like the 200 MiB / 817,230
 * lines the issue measured. Every event's message ends in a unique `seq=<n>`, so a test can find
 * each WARN+ line in ClickHouse and prove it is there exactly once (and no two events are alike,
 * so none is collapsed as a duplicate).
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createPrng, seedFrom } from '@edge-telemetry/collector';

export type GeneratedLevel = 'debug' | 'info' | 'warn' | 'error';

export interface BacklogOptions {
  /** The Docker root (`<root>/<id>/<id>-json.log` and `config.v2.json` are written under it). */
  root: string;
  /** Container name (config.v2.json `Name`). */
  name: string;
  /** Stop once the file holds at least this many bytes. */
  bytes: number;
  seed?: string;
  /** Runtime time of the first entry (ms). */
  startMs: number;
  /** Mean entries per second of runtime time (the spacing is jittered). */
  linesPerSecond?: number;
  /** First `seq` number (to continue a file with live lines after a backlog). */
  firstSeq?: number;
  /** Append to an existing file instead of creating it. */
  append?: boolean;
  /** With it, `perWindow` counts the events of each window of this length (by their runtime time). */
  windowMs?: number;
}

export interface Backlog {
  file: string;
  bytes: number;
  /** json-file entries (a stack trace is several). */
  entries: number;
  /** Events after multi-line joining: what the pipeline sees and the store keeps. */
  events: number;
  /** `seq` of every WARN+ event, in file order. */
  warnSeqs: number[];
  /** Events by generated level. */
  levels: Record<GeneratedLevel, number>;
  firstTs: number;
  lastTs: number;
  /** Next free `seq`. */
  nextSeq: number;
  /** Events by window start and level (with `windowMs`). */
  perWindow: Map<number, Record<GeneratedLevel, number>>;
}

export const containerId = (name: string): string => Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64);

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/api/v1/items', '/api/v1/orders', '/api/v1/users', '/healthz', '/api/v1/sensors/readings', '/login'];
const SERVICES = ['db-primary', 'db-replica-2', 'cache-1', 'mqtt-bridge', 'plc-gateway', 'auth'];
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

export async function writeJsonFileBacklog(o: BacklogOptions): Promise<Backlog> {
  const rnd = createPrng(seedFrom(o.seed ?? `backlog/${o.name}`));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const int = (n: number) => Math.floor(rnd() * n);
  const hex = (n: number) => Array.from({ length: n }, () => int(16).toString(16)).join('');
  const id = containerId(o.name);
  const dir = path.join(o.root, id);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.v2.json'), JSON.stringify({ Name: `/${o.name}` }));
  const file = path.join(dir, `${id}-json.log`);
  const fh = await open(file, o.append ? 'a' : 'w');
  const meanGapMs = 1000 / (o.linesPerSecond ?? 50);
  const out: Backlog = {
    file,
    bytes: 0,
    entries: 0,
    events: 0,
    warnSeqs: [],
    levels: { debug: 0, info: 0, warn: 0, error: 0 },
    firstTs: o.startMs,
    lastTs: o.startMs,
    nextSeq: o.firstSeq ?? 0,
    perWindow: new Map(),
  };
  let t = o.startMs;
  let chunk: string[] = [];
  let chunkBytes = 0;
  const entry = (log: string, stream: 'stdout' | 'stderr') => {
    // Nanosecond times, as Docker writes them.
    const time = new Date(t).toISOString().replace('Z', `${String(int(1e6)).padStart(6, '0')}Z`);
    const e = JSON.stringify({ log: `${log}\n`, stream, time }) + '\n';
    chunk.push(e);
    chunkBytes += Buffer.byteLength(e);
    out.entries++;
  };
  try {
    while (out.bytes + chunkBytes < o.bytes) {
      t += Math.max(1, Math.round(meanGapMs * (0.2 + 1.6 * rnd())));
      const seq = out.nextSeq++;
      const r = rnd();
      const level: GeneratedLevel = r < 0.08 ? 'debug' : r < 0.78 ? 'info' : r < 0.94 ? 'warn' : 'error';
      out.levels[level]++;
      out.events++;
      if (o.windowMs !== undefined) {
        const w = t - (t % o.windowMs);
        let c = out.perWindow.get(w);
        if (c === undefined) out.perWindow.set(w, (c = { debug: 0, info: 0, warn: 0, error: 0 }));
        c[level]++;
      }
      if (level === 'warn' || level === 'error') out.warnSeqs.push(seq);
      const stream = level === 'warn' || level === 'error' ? 'stderr' : 'stdout';
      const iso = new Date(t).toISOString();
      const ms = (rnd() * 900).toFixed(1);
      const req = hex(16);
      const user = `${pick(WORDS)}.${pick(WORDS)}${int(100)}`;
      const format = int(3);
      if (format === 0) {
        const msg =
          level === 'error'
            ? `upstream ${pick(SERVICES)} failed: connection refused`
            : level === 'warn'
              ? `slow response from ${pick(SERVICES)}`
              : `request completed`;
        entry(
          JSON.stringify({
            level,
            ts: iso,
            logger: `svc.${pick(WORDS)}`,
            msg: `${msg} seq=${seq}`,
            method: pick(METHODS),
            path: `${pick(PATHS)}/${int(100000)}`,
            status: level === 'error' ? 502 : level === 'warn' ? 429 : 200,
            duration_ms: Number(ms),
            request_id: req,
            user: rnd() < 0.03 ? `${user}@example.com` : user,
          }),
          stream,
        );
      } else if (format === 1) {
        const secret = rnd() < 0.03 ? ` password=${hex(12)}` : '';
        entry(
          `time=${iso} level=${level} msg="${level === 'info' || level === 'debug' ? 'job step done' : 'retrying job step'} seq=${seq}" job=${pick(WORDS)}-${int(50)} step=${int(12)} attempt=${1 + int(3)} duration=${ms}ms queue=${pick(SERVICES)} trace=${hex(12)}${secret}`,
          stream,
        );
      } else {
        const word = level.toUpperCase();
        const text =
          level === 'error'
            ? `[worker-${int(8)}] Failed to write batch ${hex(8)} to ${pick(SERVICES)}:${5000 + int(1000)}: timeout after ${ms} ms (attempt ${1 + int(5)})`
            : level === 'warn'
              ? `[worker-${int(8)}] Queue ${pick(WORDS)} is ${50 + int(50)}% full, ${int(10000)} messages waiting, consumer lag ${ms} ms`
              : `[worker-${int(8)}] Processed ${int(500)} readings from sensor ${pick(WORDS)}-${int(64)} in ${ms} ms, checksum ${hex(8)}`;
        entry(`${iso} ${word} ${text} seq=${seq}`, stream);
        // A Java stack trace after some errors: its lines join the error into one event.
        if (level === 'error' && rnd() < 0.25)
          for (let i = 0; i < 4; i++)
            entry(`\tat com.example.${pick(WORDS)}.Worker.run(Worker.java:${10 + int(400)})`, stream);
      }
      out.lastTs = t;
      if (chunkBytes >= 1 << 20) {
        await fh.write(chunk.join(''));
        out.bytes += chunkBytes;
        chunk = [];
        chunkBytes = 0;
      }
    }
    await fh.write(chunk.join(''));
    out.bytes += chunkBytes;
  } finally {
    await fh.close();
  }
  return out;
}

/**
 * A container that keeps writing: every `everyMs`, `bytes` more of the mix stamped now, until
 * `stop()`, which resolves with what was written (one Backlog per write, seqs from `firstSeq` on).
 */
export function liveWriter(o: {
  root: string;
  name: string;
  bytes: number;
  everyMs: number;
  firstSeq: number;
  windowMs?: number;
}): { written: Backlog[]; stop(): Promise<Backlog[]> } {
  const written: Backlog[] = [];
  let writing = true;
  const loop = (async () => {
    let seq = o.firstSeq;
    for (let i = 0; writing; i++) {
      const b = await writeJsonFileBacklog({
        root: o.root,
        name: o.name,
        bytes: o.bytes,
        seed: `${o.name}/live/${i}`,
        startMs: Date.now(),
        // Bunched at the time of writing: the lines of one write are a few ms apart.
        linesPerSecond: 1000,
        firstSeq: seq,
        append: i > 0,
        windowMs: o.windowMs,
      });
      seq = b.nextSeq;
      written.push(b);
      await new Promise((r) => setTimeout(r, o.everyMs));
    }
  })();
  return {
    written,
    stop: async () => {
      writing = false;
      await loop;
      return written;
    },
  };
}
