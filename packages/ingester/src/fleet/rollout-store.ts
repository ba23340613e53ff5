/**
 * Rollouts in ClickHouse (et_config_rollouts, migration 13): a row per state change, the latest
 * per id wins. Any ingester reads them (to know which nodes a rollout admitted) and the one that
 * owns a rollout writes it; the health of a stage's nodes is read from what their batches carry
 * (et_health, et_drops).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ConfigDocument } from '@edge-telemetry/protocol';
import { insertRows } from '../storage/insert.js';
import { TABLES } from '../storage/tables.js';
import type { Scope } from './layers.js';
import { INTENDED_DROP_STAGES, type Rollout, type RolloutState, type StageHealth } from './rollout.js';

export interface RolloutStore {
  /** Running and halted rollouts. */
  active(): Promise<Rollout[]>;
  /** The latest rollouts, newest first. */
  recent(limit: number): Promise<Rollout[]>;
  get(id: string): Promise<Rollout | undefined>;
  save(r: Rollout): Promise<void>;
  /** The nodes' health in the windows that ended since `from`, and in those of as long a span before it. */
  health(nodes: readonly string[], from: number, spanMs: number): Promise<StageHealth[]>;
}

interface Row {
  Id: string;
  Scope: Scope;
  Target: string;
  Rev: string | number;
  PrevRev: string | number;
  PrevDoc: string;
  PrevDeleted: number;
  Nodes: string[];
  Judged: number;
  Stages: number[];
  Stage: number;
  StageAtMs: string | number;
  HoldFrom: string | number;
  HoldMs: number;
  State: RolloutState;
  Reason: string;
  StartedBy: string;
  StartedAtMs: string | number;
  Owner: string;
  UpdatedAtMs: string | number;
}

const COLUMNS_SQL = `Id, Scope, Target, Rev, PrevRev, PrevDoc, PrevDeleted, Nodes, Judged, Stages, Stage,
  toUnixTimestamp64Milli(StageAt) AS StageAtMs, HoldFrom, HoldMs, State, Reason, StartedBy,
  toUnixTimestamp64Milli(StartedAt) AS StartedAtMs, Owner, toUnixTimestamp64Milli(UpdatedAt) AS UpdatedAtMs`;

const fromRow = (r: Row): Rollout => ({
  id: r.Id,
  scope: r.Scope,
  target: r.Target,
  rev: Number(r.Rev),
  prevRev: Number(r.PrevRev),
  prevDoc: Number(r.PrevDeleted) === 1 || r.PrevDoc === '' ? undefined : (JSON.parse(r.PrevDoc) as ConfigDocument),
  nodes: r.Nodes,
  judged: Number(r.Judged),
  stages: r.Stages.map(Number),
  stage: Number(r.Stage),
  stageAt: Number(r.StageAtMs),
  holdFrom: Number(r.HoldFrom),
  holdMs: Number(r.HoldMs),
  state: r.State,
  reason: r.Reason,
  startedBy: r.StartedBy,
  startedAt: Number(r.StartedAtMs),
  owner: r.Owner,
  updatedAt: Number(r.UpdatedAtMs),
});

export function createRolloutStore(client: ClickHouseClient): RolloutStore {
  async function rows(where: string, tail: string, params: Record<string, unknown> = {}): Promise<Rollout[]> {
    const rs = await client.query({
      query: `SELECT ${COLUMNS_SQL} FROM ${TABLES.rollouts} FINAL ${where} ORDER BY StartedAt DESC, Id ${tail}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return (await rs.json<Row>()).map(fromRow);
  }
  return {
    active: () => rows(`WHERE State IN ('running', 'halted')`, ''),
    recent: (limit) => rows('', 'LIMIT {limit:UInt32}', { limit }),
    get: async (id) => (await rows('WHERE Id = {id:String}', '', { id }))[0],
    save: (r) =>
      insertRows(client, 'rollouts', [
        [
          r.id,
          r.scope,
          r.target,
          r.rev,
          r.prevRev,
          r.prevDoc ? JSON.stringify(r.prevDoc) : '',
          r.prevDoc ? 0 : 1,
          r.nodes,
          r.judged,
          r.stages,
          r.stage,
          r.stageAt,
          r.holdFrom,
          r.holdMs,
          r.state,
          r.reason,
          r.startedBy,
          r.startedAt,
          r.owner,
          r.updatedAt,
        ],
      ]),
    async health(nodes, from, spanMs) {
      if (nodes.length === 0) return [];
      const rs = await client.query({
        query: `WITH fromUnixTimestamp64Milli(toInt64({from:UInt64})) AS f, fromUnixTimestamp64Milli(toInt64({since:UInt64})) AS s
          SELECT h.NodeName AS node, h.batches, h.spentDuring, h.spentBefore, h.degradeDuring, h.degradeBefore,
            d.dropsDuring, d.dropsBefore
          FROM (
            SELECT NodeName, countIf(Timestamp >= f) AS batches,
              countIf(BudgetLeftBytes = 0 AND Timestamp >= f) AS spentDuring, countIf(BudgetLeftBytes = 0 AND Timestamp < f) AS spentBefore,
              maxIf(DegradeLevel, Timestamp >= f) AS degradeDuring, maxIf(DegradeLevel, Timestamp < f) AS degradeBefore
            FROM ${TABLES.health} WHERE NodeName IN {nodes:Array(String)} AND Timestamp >= s GROUP BY NodeName
          ) AS h LEFT JOIN (
            SELECT NodeName, sumIf(Count, Timestamp >= f) AS dropsDuring, sumIf(Count, Timestamp < f) AS dropsBefore
            FROM ${TABLES.drops} WHERE NodeName IN {nodes:Array(String)} AND Timestamp >= s
              AND Stage NOT IN {intended:Array(String)} GROUP BY NodeName
          ) AS d ON h.NodeName = d.NodeName`,
        query_params: { nodes, from, since: from - spanMs, intended: INTENDED_DROP_STAGES },
        format: 'JSONEachRow',
      });
      type H = Record<'node', string> &
        Record<
          'batches' | 'spentDuring' | 'spentBefore' | 'degradeDuring' | 'degradeBefore' | 'dropsDuring' | 'dropsBefore',
          string | number
        >;
      return (await rs.json<H>()).map((h) => ({
        node: h.node,
        batches: Number(h.batches),
        dropsDuring: Number(h.dropsDuring),
        dropsBefore: Number(h.dropsBefore),
        budgetSpentDuring: Number(h.spentDuring),
        budgetSpentBefore: Number(h.spentBefore),
        degradeDuring: Number(h.degradeDuring),
        degradeBefore: Number(h.degradeBefore),
      }));
    },
  };
}
