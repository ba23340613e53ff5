/**
 * ingester.claim_check_engine_cpu_ms (issue 21): what the engine spends on a flush's claim check
 * (writer/claims.ts keyStates: which of a group's batches are stored, and which group claimed the
 * others first), the statement in series between a flush's claims insert and its data inserts.
 * A group of 1,700 thin batches (a live ingester's share of the fleet bench's stop burst) is
 * claimed, then checked; the engine is the test server (chdb behind ClickHouse's HTTP interface,
 * a process of its own), its CPU read from /proc over the checks alone.
 *
 * Baseline, same run, same keys: the check as it was written before, the keys as a literal list
 * of tuples in the query text (twice: the ledger's side and the claims' side).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { migrate, resolveConfig } from '@edge-telemetry/ingester';
import { spawnClickHouseHttp } from '../test/support/clickhouse-http/spawn.js';
import { sampleBatch } from '../test/support/batches.js';
import { batchToText } from '../packages/ingester/src/storage/batch-text.js';
import { sqlString } from '../packages/ingester/src/storage/insert.js';
import { TABLES } from '../packages/ingester/src/storage/tables.js';
import { claimBody, insertClaims, keyStates } from '../packages/ingester/src/writer/claims.js';
import type { BatchKey } from '../packages/ingester/src/writer/batch-key.js';
import { against, median, type BenchCase, type Figure } from './harness.js';
import { cpuSeconds } from './support/proc.js';

const KEYS = 1700;
const ROUNDS = 8;

/**
 * The baseline: the check's statement as it was before keySet, the keys as literal tuples, pasted
 * on both sides (keyStatesQuery now names the one set on both).
 */
async function literalCheck(client: ClickHouseClient, keys: readonly BatchKey[]): Promise<void> {
  const tuples = keys.map((k) => `(${sqlString(k.node)},${k.epoch},${k.seq})`).join(',');
  const query = `SELECT NodeName, Epoch, Seq, '' AS Owner FROM ${TABLES.ledger} WHERE (NodeName, Epoch, Seq) IN (${tuples})
      UNION ALL
      SELECT NodeName, Epoch, Seq, argMin(GroupToken, _block_number) FROM ${TABLES.claims}
      WHERE (NodeName, Epoch, Seq) IN (${tuples}) AND NOT startsWith(GroupToken, 'refused:')
      GROUP BY NodeName, Epoch, Seq`;
  await (await client.query({ query, format: 'JSONCompactEachRow' })).json();
}

export const benches: BenchCase[] = [
  {
    name: 'ingester.claim_check_engine_cpu_ms',
    async run(): Promise<Figure[]> {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'et-claim-check-'));
      const server = await spawnClickHouseHttp({
        dataDir: path.join(dir, 'clickhouse'),
        databases: ['edge_telemetry'],
      });
      const client = createClient({
        url: server.urlFor({ database: 'edge_telemetry' }),
        log: { level: ClickHouseLogLevel.OFF },
      });
      try {
        await migrate(client, { retention: resolveConfig(undefined, {}).retention });
        const now = Date.now();
        const engineCpuMs = async (fn: () => Promise<unknown>) => {
          const c0 = await cpuSeconds(server.pid);
          await fn();
          return ((await cpuSeconds(server.pid)) - c0) * 1000;
        };
        const set: number[] = [];
        const literal: number[] = [];
        // Round 0 unmeasured (the engine's first reads of the tables).
        for (let r = 0; r <= ROUNDS; r++) {
          const group = Array.from({ length: KEYS }, (_, i) => {
            const key = { node: `check-${String(i).padStart(4, '0')}`, epoch: 1, seq: r + 1 };
            const b = sampleBatch({
              node: key.node,
              seq: key.seq,
              now,
              containers: 2,
              metricsPerContainer: 6,
              logs: 40,
            });
            return { key, claim: claimBody(batchToText(b, { receivedAt: now, wireBytes: 0, ingesterId: 'bench' })) };
          });
          const keys = group.map((g) => g.key);
          await insertClaims(client, `group-${r}`, group, now);
          // Alternating which goes first, so neither always meets a cache the other warmed.
          const runs = [
            async () => set.push(await engineCpuMs(() => keyStates(client, keys))),
            async () => literal.push(await engineCpuMs(() => literalCheck(client, keys))),
          ];
          for (const run of r % 2 === 0 ? runs : runs.reverse()) await run();
        }
        const [value, baseline] = [median(set.slice(1)), median(literal.slice(1))];
        const all = (xs: number[]) =>
          xs
            .slice(1)
            .map((x) => x.toFixed(0))
            .join(' / ');
        return [
          against(
            'ingester.claim_check_engine_cpu_ms',
            'engine CPU ms',
            value,
            baseline,
            `the claim check of a flush of ${KEYS} batches just claimed (the ledger's side and the claims' side), the keys as one format() literal; engine CPU (the test server's process, /proc, 10 ms ticks), median of ${ROUNDS} groups: ${all(set)}; baseline: the same check with the keys as literal tuples in the query text, as before, ${all(literal)}; load average ${os.loadavg()[0]?.toFixed(1)} on 2 cores shared with other work`,
          ),
        ];
      } finally {
        await client.close();
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
];
