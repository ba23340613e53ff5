/**
 * The two ClickHouse engines the end-to-end suites run on: `embedded` (chdb in the ingester's
 * process, the default for development) and `http` (production's path: ClickHouse's HTTP
 * interface, here the test server of clickhouse-http/ in its own process, with a database and a
 * password of its own as docker/compose.central.yml sets them). A suite runs once per engine with
 * `describe.each(ENGINES)`; ET_ENGINES=embedded (or http) narrows a local run to one.
 */
import path from 'node:path';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from './clickhouse-http/spawn.js';

export type Engine = 'embedded' | 'http';

const ALL: readonly Engine[] = ['embedded', 'http'];

export const ENGINES: readonly Engine[] = process.env.ET_ENGINES
  ? ALL.filter((e) => process.env.ET_ENGINES?.split(',').includes(e))
  : ALL;

export interface OpenedEngine {
  engine: Engine;
  /** The ingester's `clickhouse` options for this engine (the URL is what CLICKHOUSE_URL takes). */
  clickhouse: { url?: string; dataDir: string };
  /** The test server, for the http engine. */
  server?: ClickHouseHttpProcess;
  close(): Promise<void>;
}

/** Opens `engine` with its data under `dir` (dir/ch embedded, dir/ch-server behind HTTP). */
export async function openEngine(engine: Engine, dir: string): Promise<OpenedEngine> {
  const dataDir = path.join(dir, 'ch');
  if (engine === 'embedded') return { engine, clickhouse: { dataDir }, close: async () => undefined };
  const server = await spawnClickHouseHttp({
    dataDir: path.join(dir, 'ch-server'),
    databases: ['edge_telemetry'],
    users: { edge_telemetry: 'test-password' },
  });
  return {
    engine,
    clickhouse: {
      url: server.urlFor({ user: 'edge_telemetry', password: 'test-password', database: 'edge_telemetry' }),
      dataDir,
    },
    server,
    close: () => server.stop(),
  };
}
