/**
 * What the ingester logs names its ClickHouse and its broker without their passwords. Compose's
 * CLICKHOUSE_URL is `http://edge_telemetry:<password>@clickhouse:8123/...`, and "ingester started"
 * wrote it whole at every start; a broker URL with `user:pass@` was in every reconnect warning
 * (outsider, session 14). Here the ingester runs against the ClickHouse test server behind its
 * HTTP interface with a password, and a broker URL with credentials where no broker listens.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type OpenedEngine } from '../../../test/support/engines.js';
import { freePort } from '../../../test/support/ports.js';
import { waitFor } from '../../../test/support/wait.js';
import { resolveConfig } from './config/load.js';
import { createIngester, type Ingester } from './ingester.js';

describe('passwords in the ingester log', () => {
  let dir: string;
  let engine: OpenedEngine;
  let ingester: Ingester | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-log-secrets-'));
    engine = await openEngine('http', dir);
  }, 120_000);
  afterAll(async () => {
    await ingester?.stop();
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('are not written: the URLs are logged with *** for them', async () => {
    const url = engine.clickhouse.url as string;
    expect(url).toContain(':test-password@');
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const config = resolveConfig(
      {
        mqtt: { url: `mqtt://ingester:broker-secret-9@127.0.0.1:${await freePort()}`, reconnectMs: 100 },
        clickhouse: { url },
        http: { port: 0 },
        logLevel: 'info',
      },
      {},
    );
    ingester = createIngester(config, { logger: pino({ level: 'info' }, sink) });
    await ingester.start();
    await waitFor('the start and a broker warning logged', () =>
      [/ingester started/, /broker connection error/].every((re) => lines.some((l) => re.test(l))),
    );
    const started = lines.find((l) => l.includes('ingester started')) as string;
    expect(started).toContain('http://edge_telemetry:***@');
    expect(started).toContain('mqtt://ingester:***@127.0.0.1');
    expect(lines.filter((l) => l.includes('test-password') || l.includes('broker-secret-9'))).toEqual([]);
  }, 120_000);
});
