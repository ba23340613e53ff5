/**
 * The uplink's disk outbox: append MB/s (group commit, and one fsync per append) and replay MB/s
 * (open: scan and verify every segment, then read every unacknowledged payload), each beside plain
 * node:fs doing the same I/O on the same bytes in the same run: write + fdatasync per group for
 * appends, readFile of the same segment files for replay.
 *
 * The outbox is not exported from the package index yet, so it is loaded from the collector's
 * dist/ by path (build first: `npx tsc -b`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchCase, Figure } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const outboxUrl = pathToFileURL(path.join(here, '../packages/collector/dist/uplink/outbox/outbox.js')).href;

interface OutboxRecordLike {
  seq: number;
}
interface OutboxLike {
  epoch: number;
  nextSeq(): number;
  append(input: {
    epoch: number;
    seq: number;
    priorityClass: number;
    createdAt: number;
    payload: Uint8Array;
  }): Promise<OutboxRecordLike>;
  unacked(): OutboxRecordLike[];
  read(rec: OutboxRecordLike): Promise<Buffer>;
  close(): Promise<void>;
}
interface OutboxModule {
  Outbox: {
    open(opts: { dir: string; capBytes: number; recordCapBytes: number; segmentBytes: number }): Promise<OutboxLike>;
  };
}

/** A typical compressed batch is a few KiB; random bytes, as compressed data is. */
const RECORD_BYTES = 8 * 1024;
const RECORDS = 1500;
const GROUP = 16;

const mb = (bytes: number, ms: number): number => bytes / 2 ** 20 / (ms / 1000);

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function outboxAppend(mod: OutboxModule, dir: string, payloads: Buffer[], group: number): Promise<number> {
  const box = await mod.Outbox.open({ dir, capBytes: 2 ** 31, recordCapBytes: 1 << 20, segmentBytes: 4 << 20 });
  const ms = await timed(async () => {
    for (let i = 0; i < payloads.length; i += group) {
      await Promise.all(
        payloads.slice(i, i + group).map((payload) => {
          const seq = box.nextSeq();
          return box.append({ epoch: box.epoch, seq, priorityClass: seq % 4, createdAt: seq, payload });
        }),
      );
    }
  });
  await box.close();
  return ms;
}

async function plainAppend(dir: string, payloads: Buffer[], group: number): Promise<number> {
  const fh = await open(path.join(dir, 'plain.log'), 'a');
  const ms = await timed(async () => {
    for (let i = 0; i < payloads.length; i += group) {
      await fh.write(Buffer.concat(payloads.slice(i, i + group)));
      await fh.datasync();
    }
  });
  await fh.close();
  return ms;
}

async function outboxReplay(mod: OutboxModule, dir: string): Promise<{ ms: number; bytes: number }> {
  let bytes = 0;
  const ms = await timed(async () => {
    const box = await mod.Outbox.open({ dir, capBytes: 2 ** 31, recordCapBytes: 1 << 20, segmentBytes: 4 << 20 });
    for (const rec of box.unacked()) bytes += (await box.read(rec)).length;
    await box.close();
  });
  return { ms, bytes };
}

async function plainReplay(dir: string): Promise<number> {
  return timed(async () => {
    for (const f of (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort()) await readFile(path.join(dir, f));
  });
}

export const benches: BenchCase[] = [
  {
    name: 'uplink.outbox',
    async run(): Promise<Figure[]> {
      const mod = (await import(outboxUrl)) as OutboxModule;
      const payloads = Array.from({ length: RECORDS }, () => randomBytes(RECORD_BYTES));
      const total = RECORDS * RECORD_BYTES;
      const figures: Figure[] = [];
      const root = await mkdtemp(path.join(tmpdir(), 'et-bench-outbox-'));
      try {
        for (const [name, group] of [
          ['uplink.outbox_append_mb_per_s', GROUP],
          ['uplink.outbox_append_fsync_each_mb_per_s', 1],
        ] as const) {
          const n = group === 1 ? RECORDS / 5 : RECORDS;
          const bytes = n * RECORD_BYTES;
          const a = await mkdtemp(path.join(root, 'a-'));
          const b = await mkdtemp(path.join(root, 'b-'));
          const ours = mb(bytes, await outboxAppend(mod, a, payloads.slice(0, n), group));
          const base = mb(bytes, await plainAppend(b, payloads.slice(0, n), group));
          figures.push({
            name,
            value: ours,
            unit: 'MB/s',
            baseline: base,
            ratio: ours / base,
            note: `${n} x ${RECORD_BYTES / 1024} KiB records, ${group} per fdatasync; baseline: fs write + fdatasync of the same bytes`,
          });
        }
        const dir = await mkdtemp(path.join(root, 'replay-'));
        await outboxAppend(mod, dir, payloads, 64);
        // Warm the page cache for both sides alike: replay after a restart reads recently written segments.
        await plainReplay(dir);
        const ours = await outboxReplay(mod, dir);
        const base = mb(total, await plainReplay(dir));
        if (ours.bytes !== total) throw new Error(`replay read ${ours.bytes} of ${total} bytes`);
        const value = mb(ours.bytes, ours.ms);
        figures.push({
          name: 'uplink.outbox_replay_mb_per_s',
          value,
          unit: 'MB/s',
          baseline: base,
          ratio: value / base,
          note: 'open (scan + CRC every record) then read every payload; baseline: readFile of the same segments',
        });
      } finally {
        await rm(root, { recursive: true, force: true });
      }
      return figures;
    },
  },
];
