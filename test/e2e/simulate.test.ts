/**
 * Issue 6's fleet simulator with real processes: Mosquitto from Debian, the ingester bin on each
 * ClickHouse engine (embedded, and over HTTP with CLICKHOUSE_URL: engines.ts), and `edge-telemetry simulate` driving 20 gateways (two worker threads, link
 * cuts on) until every node had batches acknowledged and a link was cut, then stopped by SIGINT.
 * Every node must appear in the API with its containers and metric summaries, and the simulator's
 * own summary must say every node had batches acknowledged. A run with a short `--duration` checks
 * that the simulator stops by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ENGINES, openEngine, type OpenedEngine } from '../support/engines.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { bins, runNode, startIngesterBin, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const NODES = 20;
const TOKEN = 'simulate-test-admin-token-0123456789abcdef';
const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
const nodeIds = Array.from({ length: NODES }, (_, i) => `simt-${String(i + 1).padStart(2, '0')}`);

interface NodeRow {
  node: string;
}

describe.runIf(haveMosquitto()).each(ENGINES)(
  'simulate: 20 gateways -> Mosquitto -> ingester -> ClickHouse (%s) -> API',
  (engineName) => {
    let broker: Mosquitto;
    let dir: string;
    let engine: OpenedEngine;
    let ingester: RunningProcess;
    let sim: RunningProcess;
    let api: string;
    let startedAt: number;

    beforeAll(async () => {
      startedAt = Date.now();
      broker = await startMosquitto();
      dir = await mkdtemp(path.join(os.tmpdir(), 'et-e2e-sim-'));
      engine = await openEngine(engineName, dir);
      ({ proc: ingester, api } = await startIngesterBin({
        dir,
        brokerUrl: broker.url,
        clientId: 'e2e-sim-ingester',
        token: TOKEN,
        clickhouseUrl: engine.clickhouse.url,
        // The poll below asks for 21 answers a round: above the default 20 requests/s per token,
        // which answered 429 once the burst was spent, so the poll could never see the data.
        config: { writer: { flushIntervalMs: 100 }, auth: { rateLimitPerSecond: 1000, rateLimitBurst: 1000 } },
      }));
      // Windows of 5 s so that a 30 s run seals about six; a cut per node every ~30 s of a 2 s link loss.
      // No fixed run time: at 30 s (the duration this test had) a loaded machine (load 40) had 14
      // and 19 of the 20 nodes acknowledged, with hundreds of batches still queued. The test stops
      // it once what it checks has happened; --duration is only the bound of a stuck run.
      sim = runNode(bins.cli, [
        'simulate',
        '--nodes',
        String(NODES),
        '--broker',
        broker.url,
        '--prefix',
        'simt',
        '--data-dir',
        path.join(dir, 'sim'),
        '--scrape-ms',
        '1000',
        '--window-ms',
        '5000',
        '--duration',
        '30m',
        '--workers',
        '2',
        '--outage-rate',
        '120',
        '--outage-ms',
        '2000',
        // A line a second with the fleet's totals: the test reads the cut count from it.
        '--progress',
        '1',
        '--deliveries',
        path.join(dir, 'deliveries.tsv'),
      ]);
      await sim.waitFor(/simulating 20 gateways/, 60_000);
      // Above its waits together: the ingester's API (up to 120 s) and the simulator's start (60 s).
    }, 300_000);

    afterAll(async () => {
      await sim?.stop();
      await ingester?.stop();
      await engine?.close();
      await broker?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("lists every node, and serves each node's metric summaries for its containers", async () => {
      const from = new Date(startedAt - 10 * 60_000).toISOString();
      // Every demo gateway runs a plc-bridge (the first of its workloads).
      const points = async (node: string) => {
        const res = await fetch(
          `${api}/api/v1/nodes/${node}/metrics?container=plc-bridge&metric=cpu.usage_pct&from=${from}&step=1`,
          auth,
        );
        expect(res.status).toBe(200);
        const body = (await res.json()) as {
          series: Array<{ container: string; points: Array<{ count: number; min: number; max: number }> }>;
        };
        return body.series.find((s) => s.container === 'plc-bridge')?.points ?? [];
      };
      const listed = async () => {
        const res = await fetch(`${api}/api/v1/nodes`, auth);
        expect(res.status).toBe(200);
        return ((await res.json()) as NodeRow[]).map((r) => r.node).filter((n) => nodeIds.includes(n));
      };
      // One query at a time, stopping at the first node without summaries: 21 concurrent queries a
      // round kept the embedded engine busy enough on a loaded machine (answers took 25-40 s at load
      // 20) that the ingester's writes, and so the simulated nodes' acks, fell behind.
      const series = await waitFor(
        'all 20 nodes listed, each with plc-bridge summaries',
        async () => {
          if ((await listed()).length < NODES) return undefined;
          const all = [];
          for (const node of nodeIds) {
            const p = await points(node);
            if (p.length === 0) return undefined;
            all.push(p);
          }
          return all;
        },
        { timeoutMs: 150_000, intervalMs: 1000 },
      ).catch(async (err: Error) => {
        const nodes = await listed().then(
          (l) => l.join(' '),
          (e: Error) => e.message,
        );
        throw new Error(`${err.message}\nlisted: ${nodes}\ningester:\n${ingester.output().slice(-2000)}`);
      });
      for (const p of series.flat()) {
        expect(p.count).toBeGreaterThan(0);
        expect(p.min).toBeGreaterThanOrEqual(0);
        expect(p.min).toBeLessThanOrEqual(p.max);
      }
    }, 180_000);

    it('stops on SIGINT with a summary: every node acknowledged, links were cut, outboxes on disk per node', async () => {
      const deliveries = path.join(dir, 'deliveries.tsv');
      // The log is appended a second at a time: its last line may still be half written.
      const delivered = async () =>
        (await readFile(deliveries, 'utf8').catch(() => ''))
          .split('\n')
          .slice(0, -1)
          .map((l) => l.split('\t')[0] ?? '');
      const cutsSoFar = () => Number([...sim.output().matchAll(/ cuts (\d+),/g)].at(-1)?.[1] ?? 0);
      let d: string[] = [];
      await waitFor(
        () =>
          `${NODES * 2} acknowledged batches from all ${NODES} nodes and a cut (${d.length} from ${new Set(d).size} nodes, ${cutsSoFar()} cuts); simulator:\n${sim.output().slice(-2000)}`,
        async () => {
          d = await delivered();
          return d.length >= NODES * 2 && new Set(d).size === NODES && cutsSoFar() > 0;
        },
        { timeoutMs: 240_000, intervalMs: 500 },
      );
      const code = await sim.stop('SIGINT');
      expect(code, sim.output()).toBe(0);
      const out = sim.output();
      // The summary, with a line per node that had nothing acknowledged saying why (its link, its
      // publish chain, its last error), in full in the failure message: assertion diffs cut long strings.
      const summary = out.slice(out.lastIndexOf('simulated '));
      expect(out).toMatch(/logs from .*loghub2k \(10 datasets\)|logs from the demo templates/);
      expect(out, summary).toMatch(
        new RegExp(
          `simulated ${NODES} nodes for \\d+ s: \\d+ connected when it stopped, ${NODES} with acknowledged batches`,
        ),
      );
      const acked = Number(/batches acked +(\d+)/.exec(out)?.[1]);
      const cuts = Number(/connection cuts +(\d+)/.exec(out)?.[1]);
      expect(acked, summary).toBeGreaterThanOrEqual(NODES * 2);
      expect(cuts, summary).toBeGreaterThan(0);
      expect((await readdir(path.join(dir, 'sim'))).sort()).toEqual(nodeIds);
      for (const node of nodeIds) expect(await readdir(path.join(dir, 'sim', node))).toContain('outbox');
      // The delivery log (--deliveries): one line per acknowledged batch, as many as the summary
      // counts, every node in it, each first published before its ack came (cuts made resends).
      const lines = (await readFile(deliveries, 'utf8')).trim().split('\n');
      expect(lines.length, summary).toBe(acked);
      const rows = lines.map((l) => l.split('\t'));
      expect(new Set(rows.map(([node, epoch, seq]) => `${node}/${epoch}/${seq}`)).size).toBe(acked);
      expect(new Set(rows.map(([node]) => node))).toEqual(new Set(nodeIds));
      for (const [, , , publishedAt, ackedAt] of rows) {
        expect(Number(publishedAt)).toBeGreaterThanOrEqual(startedAt);
        expect(Number(ackedAt)).toBeGreaterThanOrEqual(Number(publishedAt));
      }
    }, 300_000);

    it('stops by itself after --duration, with its summary', async () => {
      const short = runNode(bins.cli, [
        'simulate',
        '--nodes',
        '2',
        '--broker',
        broker.url,
        '--prefix',
        'simd',
        '--data-dir',
        path.join(dir, 'sim-duration'),
        '--duration',
        '3s',
        '--progress',
        '0',
      ]);
      try {
        const code = await new Promise<number | null>((resolve) => short.child.once('exit', resolve));
        expect(code, short.output()).toBe(0);
        const ran = /simulated 2 nodes for (\d+) s: \d+ connected when it stopped/.exec(short.output());
        expect(ran, short.output()).not.toBeNull();
        expect(Number(ran?.[1])).toBeGreaterThanOrEqual(3);
      } finally {
        await short.stop();
      }
    }, 120_000);
  },
);
