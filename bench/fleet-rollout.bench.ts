/**
 * fleet.rollout_seconds_1000_nodes (issue 20): a fleet-wide configuration change through a
 * canary stage (5 %) and 3 waves to 1,000 nodes (ET_BENCH_ROLLOUT_NODES), from the admin's PUT
 * until the rollout is `done` and every node's status says it applied the revision. The baseline,
 * in the same run, is the same fleet sent a change at once (`rollout: false`) until every node
 * applied it: the ratio is what staging costs on top of delivery.
 *
 * Time-scaled, as the issue allows: each stage's health must hold for HOLD_MS (20 s, not the
 * default 5 min) and the nodes ship 10 s windows (not 60 s), since a stage passes only on windows
 * that ended after its hold began. The nodes are the simulator's light nodes (the simulator's
 * per-node collector configuration, the real protocol over Mosquitto, the collector's validation;
 * no pipeline or outbox), one ingester on embedded ClickHouse, all on this machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nodeConfig, nodeId } from '../packages/cli/src/simulate/node-config.js';
import { parseSimulateArgs } from '../packages/cli/src/simulate/options.js';
import { startLightNode, type LightNode } from '../packages/cli/src/simulate/light-node.js';
import { startStack, type Stack } from '../test/support/stack.js';
import { waitFor } from '../test/support/wait.js';
import type { BenchCase, Figure } from './harness.js';

const NODES = Number(process.env.ET_BENCH_ROLLOUT_NODES ?? 1000);
const HOLD_MS = 20_000;
const WINDOW_MS = 10_000;
/** Nodes connecting at once: a thousand simultaneous CONNECTs are a burst the broker and loop need not take. */
const START_CONCURRENCY = 50;

interface StatusRow {
  node: string;
  config?: { appliedRev: number; state: string };
}

async function api<T>(stack: Stack, p: string, init: RequestInit = {}): Promise<T> {
  const r = await stack.call(p, { ...init, headers: { 'content-type': 'application/json' } });
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${p}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** Every node's status says it applied `rev` (or a later one). */
const allApplied = (stack: Stack, rev: number) =>
  waitFor(
    `all ${NODES} nodes applied revision ${rev}`,
    async () => {
      const { nodes } = await api<{ nodes: StatusRow[] }>(stack, '/api/v1/config/status');
      return nodes.filter((n) => (n.config?.appliedRev ?? 0) >= rev).length >= NODES ? true : undefined;
    },
    { timeoutMs: 1_800_000, intervalMs: 500 },
  );

export const benches: BenchCase[] = [
  {
    name: 'fleet.rollout_seconds_1000_nodes',
    async run(): Promise<Figure[]> {
      // Writer flushes as the ingester's defaults would, and a rate limit the bench's polling never meets.
      const stack = await startStack({
        ingester: { mqtt: { clientId: 'bench-rollout-ingester' }, auth: { rateLimitBurst: 1_000_000 } },
      });
      const dir = await mkdtemp(path.join(os.tmpdir(), 'et-bench-rollout-'));
      const nodes: LightNode[] = [];
      try {
        const parsed = parseSimulateArgs([
          ...['--nodes', String(NODES), '--broker', stack.broker.url, '--prefix', 'roll'],
          ...['--data-dir', dir, '--scrape-ms', '1000', '--window-ms', String(WINDOW_MS)],
        ]);
        if (!('options' in parsed)) throw new Error(parsed.problems.join('; '));
        const o = parsed.options;
        for (let i = 0; i < NODES; i += START_CONCURRENCY)
          nodes.push(
            ...(await Promise.all(
              Array.from({ length: Math.min(START_CONCURRENCY, NODES - i) }, (_, k) =>
                startLightNode({
                  config: nodeConfig(o, nodeId(o.prefix, i + k, NODES), o.broker),
                  agentVersion: 'light-sim',
                }),
              ),
            )),
          );
        await waitFor(
          `all ${NODES} nodes known to the center`,
          async () =>
            (await api<{ nodes: StatusRow[] }>(stack, '/api/v1/config/status')).nodes.length >= NODES
              ? true
              : undefined,
          { timeoutMs: 600_000, intervalMs: 500 },
        );
        // Baseline: the same fleet, a change sent to every node at once.
        const t0 = Date.now();
        const atOnce = await api<{ layer: { rev: number } }>(stack, '/api/v1/config/fleet', {
          method: 'PUT',
          body: JSON.stringify({ options: { logs: { defaults: { filter: { minLevel: 'warn' } } } }, rollout: false }),
        });
        await allApplied(stack, atOnce.layer.rev);
        const baselineS = (Date.now() - t0) / 1000;

        const t1 = Date.now();
        const staged = await api<{ layer: { rev: number }; rollout: { id: string; stages: number[] } }>(
          stack,
          '/api/v1/config/fleet',
          {
            method: 'PUT',
            body: JSON.stringify({
              options: { logs: { defaults: { filter: { minLevel: 'error' } } } },
              rollout: { canaryShare: 0.05, waves: 3, holdMs: HOLD_MS },
            }),
          },
        );
        const id = staged.rollout.id;
        const end = await waitFor(
          `rollout ${id} done`,
          async () => {
            const r = await api<{ state: string; reason: string }>(stack, `/api/v1/config/rollouts/${id}`);
            if (r.state !== 'running') return r;
            return undefined;
          },
          { timeoutMs: 1_800_000, intervalMs: 500 },
        );
        if (end.state !== 'done') throw new Error(`rollout ended ${end.state}: ${end.reason}`);
        await allApplied(stack, staged.layer.rev);
        const rolloutS = (Date.now() - t1) / 1000;
        const stages = staged.rollout.stages;
        return [
          {
            name: 'fleet.rollout_seconds_1000_nodes',
            value: Math.round(rolloutS * 10) / 10,
            unit: 's',
            baseline: Math.round(baselineS * 10) / 10,
            ratio: rolloutS / baselineS,
            note: `${NODES} light simulated nodes (real protocol over Mosquitto, the collector's validation, one 10 s window batch each), one ingester on embedded ClickHouse; canary 5 % then 3 waves (stages of ${stages.join(', ')} nodes), health hold scaled to ${HOLD_MS / 1000} s per stage (default 300 s); baseline the same fleet sent a change at once until every node applied it; ratio = staged / at once`,
          },
        ];
      } finally {
        await Promise.all(nodes.map((n) => n.close()));
        await stack.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
];
