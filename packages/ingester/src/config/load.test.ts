import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IngesterError } from '../errors.js';
import { describeOptions, envName, loadConfig, resolveConfig } from './load.js';

function invalid(fn: () => unknown): IngesterError {
  try {
    fn();
  } catch (err) {
    if (err instanceof IngesterError) return err;
    throw err;
  }
  throw new Error('expected an IngesterError');
}

describe('config', () => {
  it('fills every default when nothing is given', () => {
    const cfg = resolveConfig(undefined, {});
    expect(cfg.http).toEqual({ host: '127.0.0.1', port: 8080, maxConnections: 1024, maxConnectionsPerAddress: 128 });
    expect(cfg.clickhouse.url).toBeUndefined();
    expect(cfg.mqtt.sharedGroup).toBeUndefined();
    expect(cfg.mqtt.protocolVersion).toBe(4);
    expect(cfg.writer.flushRows).toBe(50_000);
  });

  it('lets the environment override the file, and the short aliases win', () => {
    const cfg = resolveConfig(
      { mqtt: { url: 'mqtt://file:1883', clientId: 'from-file' }, writer: { flushRows: 10 } },
      {
        EDGE_TELEMETRY_INGESTER_WRITER_FLUSH_ROWS: '20',
        EDGE_TELEMETRY_INGESTER_MQTT_PROTOCOL_VERSION: '5',
        EDGE_TELEMETRY_INGESTER_MQTT_URL: 'mqtt://prefixed:1883',
        MQTT_URL: 'mqtt://alias:1883',
        CLICKHOUSE_URL: 'http://ch:8123',
      },
    );
    expect(cfg.writer.flushRows).toBe(20);
    expect(cfg.mqtt.protocolVersion).toBe(5);
    expect(cfg.mqtt.url).toBe('mqtt://alias:1883');
    expect(cfg.mqtt.clientId).toBe('from-file');
    expect(cfg.clickhouse.url).toBe('http://ch:8123');
  });

  it('names the option, its env variable and the fix when a value is wrong', () => {
    const err = invalid(() => resolveConfig(undefined, { EDGE_TELEMETRY_INGESTER_HTTP_PORT: 'eighty' }));
    expect(err.code).toBe('ET_ERR_CONFIG_INVALID');
    expect(err.detail).toContain('http.port');
    expect(err.detail).toContain('EDGE_TELEMETRY_INGESTER_HTTP_PORT');
    expect(err.detail).toContain('"eighty"');
  });

  it('refuses a broker URL that is not MQTT, naming the option', () => {
    const err = invalid(() => resolveConfig({ mqtt: { url: 'ftp://broker:1883' } }, {}));
    expect(err.code).toBe('ET_ERR_CONFIG_INVALID');
    expect(err.detail).toContain('mqtt.url');
    expect(err.detail).toContain('"ftp://broker:1883"');
    expect(resolveConfig({ mqtt: { url: 'wss://broker:443/mqtt' } }, {}).mqtt.url).toBe('wss://broker:443/mqtt');
  });

  it('refuses a short admin token, saying the length it needs, without writing the token into the error', () => {
    const secret = 'only-24-characters-long!';
    const err = invalid(() => resolveConfig(undefined, { EDGE_TELEMETRY_ADMIN_TOKEN: secret }));
    expect(err.code).toBe('ET_ERR_CONFIG_INVALID');
    expect(err.detail).toContain('auth.adminToken');
    expect(err.detail).toContain('EDGE_TELEMETRY_ADMIN_TOKEN');
    expect(err.detail).toContain('32 to 256 characters');
    expect(err.detail).toContain('a secret of 24 characters (not shown)');
    expect(err.detail).not.toContain(secret);
    expect(resolveConfig(undefined, { EDGE_TELEMETRY_ADMIN_TOKEN: 'x'.repeat(32) }).auth.adminToken).toBe(
      'x'.repeat(32),
    );
  });

  it('refuses a ClickHouse URL that is not http(s) at start, naming the option and hiding its password', () => {
    // The client used to throw it later, as a stack trace, from createIngester.
    const err = invalid(() => resolveConfig(undefined, { CLICKHOUSE_URL: 'clickhouse://et:pa@ss-w0rd@ch:9000/db' }));
    expect(err.code).toBe('ET_ERR_CONFIG_INVALID');
    expect(err.detail).toContain('clickhouse.url');
    expect(err.detail).toContain('"clickhouse://et:***@ch:9000/db"');
    expect(err.detail).not.toContain('w0rd');
    expect(resolveConfig(undefined, { CLICKHOUSE_URL: 'https://ch.example:8443/et' }).clickhouse.url).toBe(
      'https://ch.example:8443/et',
    );
  });

  it('rejects unknown keys and inconsistent retry bounds', () => {
    expect(invalid(() => resolveConfig({ writer: { flushRowz: 1 } }, {})).detail).toContain('writer');
    expect(invalid(() => resolveConfig({ writer: { retryMinMs: 500, retryMaxMs: 100 } }, {})).detail).toContain(
      'retryMinMs',
    );
  });

  it('reads --config files and reports unreadable ones', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'et-cfg-'));
    try {
      const good = path.join(dir, 'good.json');
      await writeFile(good, JSON.stringify({ http: { port: 9999 } }));
      expect(loadConfig(['--config', good], {}).http.port).toBe(9999);
      const bad = path.join(dir, 'bad.json');
      await writeFile(bad, '{ nope');
      expect(invalid(() => loadConfig([`--config=${bad}`], {})).code).toBe('ET_ERR_CONFIG_FILE');
      expect(invalid(() => loadConfig(['--config'], {})).code).toBe('ET_ERR_CONFIG_FILE');
      expect(invalid(() => loadConfig(['--confg', good], {})).detail).toContain('unknown argument "--confg"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('derives one env variable per option', () => {
    expect(envName(['writer', 'flushIntervalMs'])).toBe('EDGE_TELEMETRY_INGESTER_WRITER_FLUSH_INTERVAL_MS');
    const opts = describeOptions();
    expect(new Set(opts.map((o) => o.env)).size).toBe(opts.length);
    expect(opts.every((o) => o.description.length > 0)).toBe(true);
  });
});
