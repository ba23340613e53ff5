/**
 * What the ingester knows of each node from its status messages: whether it was ever heard of,
 * and what it says it can do (log store, versions: protocol NodeCapabilities, in its birth
 * message). Statuses are written to et_node_status group-committed, only the latest per node per
 * insert (storage/group-commit.ts): one node's thousands of statuses cost one row per insert, and
 * the message path never waits for ClickHouse. A node this process has not heard from (after a
 * restart, or served by another ingester) is looked up in ClickHouse.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { NodeCapabilities, StatusMessage } from '@edge-telemetry/protocol';
import type { Logger } from '../logger.js';
import { createLatestCommit } from '../storage/group-commit.js';
import { insertRows } from '../storage/insert.js';
import { TABLES } from '../storage/tables.js';

export type NodeDescription = { known: false } | { known: true; capabilities: NodeCapabilities | undefined };

export interface NodeRegistry {
  /** A node's status message: remembered at once, its row queued (never waits). */
  noted(status: StatusMessage, receivedAt: number): void;
  /** Whether the node was ever heard of (a status or a batch), and its last stated capabilities. */
  describe(node: string): Promise<NodeDescription>;
  /** Resolves when every queued status row is stored or dropped. */
  drain(): Promise<void>;
}

export function createNodeRegistry(deps: {
  client: ClickHouseClient;
  logger: Logger;
  maxNodes?: number;
}): NodeRegistry {
  const { client, logger } = deps;
  const maxNodes = deps.maxNodes ?? 100_000;
  const known = new Map<string, NodeCapabilities | undefined>();
  const rows = createLatestCommit<unknown[]>({
    insert: (r) => insertRows(client, 'status', r),
    // At most one status insert every 2 s: a node that sends statuses without end costs one row per 2 s.
    minIntervalMs: 2000,
    // Statuses are retained on the broker and sent again on every connect: a lost row is harmless.
    onError: (err, n) => logger.warn({ rows: n, err: err.message }, 'node status rows not stored'),
  });

  function remember(node: string, capabilities: NodeCapabilities | undefined): void {
    // The last will carries no capabilities: what the birth message said still holds.
    const keep = capabilities ?? known.get(node);
    known.delete(node);
    known.set(node, keep);
    if (known.size > maxNodes) known.delete(known.keys().next().value as string);
  }

  async function lookUp(node: string): Promise<NodeDescription> {
    const rs = await client.query({
      query: `SELECT
          (SELECT count() FROM ${TABLES.status} WHERE NodeName = {node:String}) + (SELECT count() FROM ${TABLES.ledger} WHERE NodeName = {node:String}),
          (SELECT argMaxIf(Capabilities, ReceivedAt, Capabilities != '') FROM ${TABLES.status} WHERE NodeName = {node:String})`,
      query_params: { node },
      format: 'JSONCompactEachRow',
    });
    const [[count, caps] = [0, '']] = await rs.json<[string | number, string]>();
    if (Number(count) === 0) return { known: false };
    const capabilities = caps ? (JSON.parse(caps) as NodeCapabilities) : undefined;
    remember(node, capabilities);
    return { known: true, capabilities };
  }

  return {
    noted(s, receivedAt) {
      remember(s.node, s.capabilities);
      rows.put(s.node, [
        s.node,
        s.state,
        s.at,
        receivedAt,
        s.agentVersion,
        s.capabilities ? JSON.stringify(s.capabilities) : '',
      ]);
    },
    async describe(node) {
      if (known.has(node)) return { known: true, capabilities: known.get(node) };
      return lookUp(node);
    },
    drain: () => rows.drain(),
  };
}
