import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '../../../../test/support/io.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../../../../test/support/mosquitto.js';
import { loadCollectorConfig } from '@edge-telemetry/collector';
import { hashMosquittoPassword, parseMosquittoHash, upsertPasswordLine } from '../broker-accounts/password-file.js';
import { runNodesAdd, type CollectorBrokerConfig } from './nodes-add.js';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIo();
  const code = await runNodesAdd(argv, c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-nodes-add-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nodes add: arguments', () => {
  it('rejects an id that cannot be a topic level, and writes nothing', async () => {
    const file = path.join(dir, 'bad-id');
    for (const id of ['a/b', 'gw+1', '#', '', '.dot', 'x'.repeat(65)]) {
      const r = await run([id, '--password-file', file]);
      expect(r.code, id).toBe(1);
      expect(r.stderr).toMatch(/^ET_ERR_INVALID_NODE_ID/);
    }
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('refuses the service account names the ACL grants more to, and the ingesters\u2019 client ids', async () => {
    // et-ingester-*: a node's client id is its name, and it would disconnect an ingester of that id.
    for (const id of ['ingester', 'et-ingester-embedded', 'et-ingester-central-1']) {
      const r = await run([id, '--password-file', path.join(dir, 'reserved')]);
      expect(r.code, id).toBe(1);
      expect(r.stderr).toMatch(/^ET_ERR_RESERVED_NODE_ID/);
    }
  });

  it('names a CA only for a TLS broker, and refuses --ca-file for one without TLS', async () => {
    const plain = (...more: string[]) =>
      run(['gw-plain', '--password-file', path.join(dir, 'plain'), '--broker', 'mqtt://gw.lan:1883', ...more]);
    const json = await plain();
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as CollectorBrokerConfig).uplink.mqtt.tls).toBeUndefined();
    expect((await plain('--format', 'env')).stdout).not.toContain('TLS_CA');
    const both = await plain('--ca-file', '/ca.crt');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^ET_ERR_USAGE: .*--ca-file is for a TLS broker/);
  });

  it('reports usage errors with exit code 2', async () => {
    expect((await run([])).stderr).toMatch(/^ET_ERR_USAGE/);
    expect((await run(['a', 'b'])).code).toBe(2);
    expect((await run(['a', '--nope'])).code).toBe(2);
    expect((await run(['a', '--format', 'yaml'])).code).toBe(2);
    const bad = await run(['a', '--broker', 'http://x:1', '--password-file', path.join(dir, 'u')]);
    expect(bad.stderr).toMatch(/^ET_ERR_BAD_BROKER_URL/);
  });
});

describe('nodes add: password file', () => {
  it("says how the broker takes the account: a Mosquitto reload, or nothing for start's file", async () => {
    const mosquitto = await run(['gw-hint', '--password-file', path.join(dir, 'passwd-hint')]);
    expect(mosquitto.stderr).toContain('docker compose -f docker/compose.central.yml kill -s HUP mosquitto');
    await mkdir(path.join(dir, 'data', 'broker'), { recursive: true });
    const file = path.join(dir, 'data', 'broker', 'passwd');
    const embedded = await run(['gw-hint', '--password-file', file, '--data-dir', path.join(dir, 'data')]);
    expect(embedded.code).toBe(0);
    expect(embedded.stderr).toContain('the embedded broker of `start` reads the file again when it changes');
    expect(embedded.stderr).not.toContain('HUP');
    // A real Mosquitto's file laid out the same way (/srv/broker/passwd) but not in the data dir given.
    const lookalike = await run(['gw-hint', '--password-file', file, '--data-dir', path.join(dir, 'other')]);
    expect(lookalike.stderr).toContain('kill -s HUP mosquitto');
    expect((await run(['gw-hint', '--password-file', file])).stderr).toContain('kill -s HUP mosquitto');
  });

  it('prints a collector config whose credentials are the ones written', async () => {
    const file = path.join(dir, 'passwd-json');
    const r = await run(['gw-01', '--password-file', file, '--broker', 'mqtts://broker.example:8883']);
    expect(r.code).toBe(0);
    const cfg = JSON.parse(r.stdout) as CollectorBrokerConfig;
    expect(cfg.node).toBe('gw-01');
    expect(cfg.uplink.mqtt).toMatchObject({
      url: 'mqtts://broker.example:8883',
      username: 'gw-01',
      clientId: 'gw-01',
      tls: { ca: '/etc/edge-telemetry/ca.crt', rejectUnauthorized: true },
    });
    expect(cfg.uplink.mqtt.password.length).toBeGreaterThanOrEqual(43);
    const line = (await readFile(file, 'utf8')).trim();
    const [user, hash] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)];
    expect(user).toBe('gw-01');
    const parsed = parseMosquittoHash(hash);
    expect(parsed).toBeDefined();
    expect(hashMosquittoPassword(cfg.uplink.mqtt.password, parsed?.salt, parsed?.iterations)).toBe(hash);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('replaces the node entry, keeps the others and the file mode, and never repeats a password', async () => {
    const file = path.join(dir, 'passwd-upsert');
    await writeFile(file, 'ingester:$7$101$AAAA$BBBB\ngw-02:$7$101$old$old\nother:$7$101$CCCC$DDDD\n', { mode: 0o640 });
    const first = JSON.parse((await run(['gw-02', '--password-file', file])).stdout) as CollectorBrokerConfig;
    const second = JSON.parse((await run(['gw-02', '--password-file', file])).stdout) as CollectorBrokerConfig;
    expect(first.uplink.mqtt.password).not.toBe(second.uplink.mqtt.password);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('ingester:$7$101$AAAA$BBBB');
    expect(lines[2]).toBe('other:$7$101$CCCC$DDDD');
    expect(lines[1]).toMatch(/^gw-02:\$7\$101\$/);
    expect((await stat(file)).mode & 0o777).toBe(0o640);
  });

  it('never loses an entry when several runs race on one file', async () => {
    const file = path.join(dir, 'passwd-race');
    const ids = Array.from({ length: 12 }, (_, i) => `gw-race-${i}`);
    const results = await Promise.all(ids.map((id) => run([id, '--password-file', file])));
    const ok = ids.filter((_, i) => results[i]?.code === 0);
    for (const r of results.filter((x) => x.code !== 0))
      expect(r.stderr).toMatch(/^ET_ERR_PASSWORD_FILE: .*another nodes add is running/);
    expect(ok.length).toBeGreaterThan(0);
    const users = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.slice(0, l.indexOf(':')));
    expect(users.sort()).toEqual(ok.sort());
    await expect(stat(`${file}.lock`)).rejects.toThrow(/ENOENT/);
  });

  it('refuses to write while another run holds the lock, leaving the file as it was', async () => {
    const file = path.join(dir, 'passwd-locked');
    await writeFile(file, 'a:$7$101$x$y\n');
    await writeFile(`${file}.lock`, '');
    const r = await run(['gw-04', '--password-file', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ET_ERR_PASSWORD_FILE/);
    expect(r.stdout).toBe('');
    expect(await readFile(file, 'utf8')).toBe('a:$7$101$x$y\n');
  });

  it('matches users by the whole name, not a prefix', () => {
    const text = upsertPasswordLine('gw-1:$7$x\ngw-10:$7$y\n', 'gw-1', '$7$z');
    expect(text).toBe('gw-1:$7$z\ngw-10:$7$y\n');
    expect(upsertPasswordLine('', 'a', '$7$h')).toBe('a:$7$h\n');
  });

  it('prints KEY=value lines with --format env', async () => {
    const r = await run(['gw-03', '--password-file', path.join(dir, 'passwd-env'), '--format', 'env']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^EDGE_TELEMETRY_COLLECTOR_NODE=gw-03$/m);
    expect(r.stdout).toMatch(/^EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_PASSWORD=[A-Za-z0-9_-]{43}$/m);
    expect(r.stdout).toMatch(/^EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_TLS_CA=\/etc\/edge-telemetry\/ca.crt$/m);
  });
});

describe('nodes add: the printed configuration is one the collector loads', () => {
  it('as a --config file', async () => {
    const r = await run([
      'gw-cfg',
      '--password-file',
      path.join(dir, 'passwd-cfg'),
      '--broker',
      'mqtts://broker.example:8883',
    ]);
    const printed = JSON.parse(r.stdout) as CollectorBrokerConfig;
    const file = path.join(dir, 'collector.json');
    await writeFile(file, r.stdout);
    const cfg = loadCollectorConfig(['--config', file], {});
    expect(cfg.node).toBe('gw-cfg');
    expect(cfg.uplink.mqtt).toMatchObject(printed.uplink.mqtt);
  });

  it('as environment variables', async () => {
    const r = await run(['gw-env', '--password-file', path.join(dir, 'passwd-cfg'), '--format', 'env']);
    const env = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const cfg = loadCollectorConfig([], env);
    expect(cfg.node).toBe('gw-env');
    expect(cfg.uplink.mqtt).toMatchObject({
      url: 'mqtts://localhost:8883',
      username: 'gw-env',
      clientId: 'gw-env',
      tls: { ca: '/etc/edge-telemetry/ca.crt' },
    });
    expect(cfg.uplink.mqtt.password).toBe(env.EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_PASSWORD);
  });
});

describe.runIf(haveMosquitto())('nodes add: Mosquitto compatibility', () => {
  let broker: Mosquitto | undefined;
  const file = () => path.join(dir, 'passwd-real');
  afterAll(async () => {
    await broker?.stop();
  });

  it('computes the same hash as mosquitto_passwd for its salt and iteration count', async () => {
    const f = path.join(dir, 'passwd-tool');
    await writeFile(f, '');
    execFileSync('mosquitto_passwd', ['-b', f, 'tool-user', 'correct horse']);
    const line = (await readFile(f, 'utf8')).trim();
    const hash = line.slice(line.indexOf(':') + 1);
    const parsed = parseMosquittoHash(hash);
    expect(parsed?.iterations).toBe(101);
    expect(hashMosquittoPassword('correct horse', parsed?.salt, parsed?.iterations)).toBe(hash);
  });

  it('writes entries a real Mosquitto accepts, and it refuses a wrong password', async () => {
    const cfg = JSON.parse((await run(['gw-real', '--password-file', file()])).stdout) as CollectorBrokerConfig;
    broker = await startMosquitto({
      // `user root`: as root, Mosquitto would otherwise drop to its own user, which cannot read
      // the 0600 file this test's user owns (in the image the file belongs to the mosquitto user).
      listenerConfig: (port) => `user root\nlistener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${file()}`,
      persistence: false,
    });
    const connect = (password: string) =>
      new Promise<number>((resolve) => {
        const c = mqtt.connect(broker?.url ?? '', {
          username: cfg.uplink.mqtt.username,
          password,
          reconnectPeriod: 0,
          connectTimeout: 5000,
        });
        c.once('connect', () => c.end(true, () => resolve(0)));
        c.once('error', (e) => c.end(true, () => resolve((e as { code?: number }).code ?? -1)));
      });
    expect(await connect(cfg.uplink.mqtt.password)).toBe(0);
    expect(await connect(cfg.uplink.mqtt.password + 'x')).toBe(5);
  });
});
