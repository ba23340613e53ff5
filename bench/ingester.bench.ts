/**
 * ingester.rows_per_s: rows per second through the ingester's whole path into embedded
 * ClickHouse: decode (zstd + validation), node check, coalescing writer, ledger lookup, inserts
 * with deduplication tokens, ledger insert, ack encoding. The broker hop is left out (a publish
 * function counts the acks) so the figure is the ingester's own capacity.
 *
 * Baseline in the same run: the same rows (batchToRows of the same batches) inserted straight
 * with the client, JSONCompactEachRow, in the same chunk size, into tables of the same
 * definition. ingester.ratio_vs_raw_insert = ingester / raw (target >= 0.5).
 *
 * Batches: the protocol's realistic sample (30 containers x 12 metrics with sketches from the NAB
 * machine-temperature series, 100 logs and 50 templates from Loghub OpenSSH lines), one per node.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBatchCodec, topics, type Batch } from '@edge-telemetry/protocol';
import { sampleBatch, seededRng } from '@edge-telemetry/protocol/testing';
import { batchToRows, COLUMNS, createClickHouseClient, createRouter, createWriter, migrate, resolveConfig, TABLES } from '@edge-telemetry/ingester';
import type { BenchCase, Figure } from './harness.js';

const corpora = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'corpora');
const NODES = 200;
const RUNS = 3;
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function batches(run: number): Batch[] {
  const lines = readFileSync(path.join(corpora, 'loghub2k', 'OpenSSH', 'OpenSSH_2k.log'), 'utf8').split(/\r?\n/).filter(Boolean);
  const values = readFileSync(path.join(corpora, 'nab', 'data', 'realKnownCause', 'machine_temperature_system_failure.csv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => Number(l.split(',')[1]));
  // Recent windows: rows older than the retention TTL would be dropped at insert.
  const windowStart = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
  const rng = seededRng(11);
  return Array.from({ length: NODES }, (_, i) => ({ ...sampleBatch(rng, { lines, values }, undefined, windowStart), node: `bench-${run}-${i}`, epoch: 1, seq: 1 }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export const benches: BenchCase[] = [
  {
    name: 'ingester.rows_per_s',
    async run(): Promise<Figure[]> {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'et-bench-ingester-'));
      const client = createClickHouseClient({ dataDir: dir });
      try {
        const cfg = resolveConfig({ writer: { flushRows: 50_000, flushIntervalMs: 200 } }, {});
        await migrate(client, { retention: cfg.retention });
        const tables = ['metrics', 'logs', 'templates', 'events', 'containers', 'health', 'drops'] as const;
        for (const t of tables) await client.command({ query: `CREATE TABLE IF NOT EXISTS raw_${TABLES[t]} AS ${TABLES[t]}` });
        const codec = createBatchCodec();
        const ours: number[] = [];
        const raw: number[] = [];
        let rowsPerRun = 0;
        for (let run = 0; run < RUNS; run++) {
          const bs = batches(run);
          const payloads = bs.map((b) => ({ topic: topics.batch(b.node), bytes: codec.encode(b) }));
          const meta = { receivedAt: Date.now(), wireBytes: 0, ingesterId: 'bench' };
          const rows = bs.map((b) => batchToRows(b, meta));
          rowsPerRun = rows.reduce((n, r) => n + r.rowCount, 0);

          // Baseline: the same rows, client.insert in chunks of flushRows per table.
          let t0 = process.hrtime.bigint();
          for (const t of tables) {
            const all = rows.flatMap((r) => r.rows[t]);
            for (let i = 0; i < all.length; i += cfg.writer.flushRows) {
              await client.insert({ table: `raw_${TABLES[t]}`, columns: [...COLUMNS[t]], values: all.slice(i, i + cfg.writer.flushRows), format: 'JSONCompactEachRow', clickhouse_settings: { insert_deduplication_token: '' } });
            }
          }
          raw.push(rowsPerRun / (Number(process.hrtime.bigint() - t0) / 1e9));

          // Ours: every payload through router -> writer -> ClickHouse -> ack.
          const writer = createWriter({ client, options: cfg.writer, logger: quiet });
          let acked = 0;
          let allAcked!: () => void;
          const done = new Promise<void>((r) => (allAcked = r));
          const router = createRouter({ client, writer, logger: quiet, ingesterId: 'bench', publish: async () => void (++acked === NODES && allAcked()) });
          t0 = process.hrtime.bigint();
          for (const p of payloads) await router.handle(p.topic, p.bytes);
          await done;
          ours.push(rowsPerRun / (Number(process.hrtime.bigint() - t0) / 1e9));
          await writer.close();
          const rejected = router.counters().rejected;
          if (Object.keys(rejected).length > 0) throw new Error(`bench batches rejected: ${JSON.stringify(rejected)}`);
        }
        const value = median(ours);
        const baseline = median(raw);
        const note = `${NODES} batches x ${Math.round(rowsPerRun / NODES)} rows, flushRows 50000, embedded chdb, median of ${RUNS}, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`;
        return [
          { name: 'ingester.rows_per_s', value, unit: 'rows/s', baseline, ratio: value / baseline, note },
          { name: 'ingester.ratio_vs_raw_insert', value: value / baseline, unit: 'ratio', note: 'ingester.rows_per_s / raw client insert of the same rows' },
        ];
      } finally {
        await client.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
];
