/**
 * `edge-telemetry nodes add <id>`: gives a node its own broker account and prints the collector
 * configuration that uses it. The broker ACL (docker/mosquitto/acl) keys every permission on the
 * user name, so the user name IS the node id: a node can only ever publish under its own
 * et/v1/<id>/up/ and read its own et/v1/<id>/down/.
 *
 * The password file entry is written here in Mosquitto's own `$7$` format (PBKDF2-SHA512, as
 * `mosquitto_passwd` writes it) instead of shelling out to mosquitto_passwd, so provisioning works
 * on a machine without Mosquitto installed (the broker usually runs in a container); the tests
 * prove the format by having a real Mosquitto accept the entries.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { defineErrors, envName, isValidNodeId, NODE_ID_PATTERN } from '@edge-telemetry/protocol';
import { collectorConfigSpec } from '@edge-telemetry/collector';

/** Error catalogue of this command: the code starts every error line on stderr. */
export const NodesAddErrorCodes = {
  ET_ERR_USAGE: 'wrong arguments',
  ET_ERR_INVALID_NODE_ID: 'node id is not valid',
  ET_ERR_RESERVED_NODE_ID: 'node id is reserved for a service account',
  ET_ERR_BAD_BROKER_URL: 'broker URL is not an MQTT URL',
  ET_ERR_PASSWORD_FILE: 'the Mosquitto password file could not be read or written',
} as const;
export type NodesAddErrorCode = keyof typeof NodesAddErrorCodes;

/**
 * Broker accounts that are not nodes. The ACL's `pattern` lines apply to every user, so a node
 * named like a service account would get that account's rights; these names are refused.
 */
export const RESERVED_ACCOUNTS: readonly string[] = ['ingester'];

export const NodesAddOptions = Type.Object(
  {
    id: Type.String({
      pattern: NODE_ID_PATTERN.source,
      description: 'Node id: the broker user name and the third topic level.',
    }),
    passwordFile: Type.String({
      minLength: 1,
      default: 'docker/mosquitto/passwd',
      description:
        "Mosquitto password file to add the node to (created when missing; the node's entry is replaced when present).",
    }),
    broker: Type.String({
      default: 'mqtts://localhost:8883',
      description: 'Broker URL the node connects to (mqtts:// in production).',
    }),
    caFile: Type.String({
      default: '/etc/edge-telemetry/ca.crt',
      description: "Path, on the node, of the CA certificate that signed the broker's certificate.",
    }),
    format: Type.Union([Type.Literal('json'), Type.Literal('env')], {
      default: 'json',
      description: 'json: collector config file; env: KEY=value lines for compose.',
    }),
  },
  { additionalProperties: false },
);
export type NodesAddConfig = Static<typeof NodesAddOptions>;

/**
 * The part of the collector's config that nodes add decides: its id and its broker connection,
 * shaped like the collector's options (CollectorConfigSchema: `node`, `uplink.mqtt`).
 */
export interface CollectorBrokerConfig {
  node: string;
  uplink: {
    mqtt: {
      url: string;
      username: string;
      password: string;
      clientId: string;
      tls: { ca: string; rejectUnauthorized: true };
    };
  };
}

/**
 * mosquitto_passwd's own iteration count. The password is 256 random bits, so key stretching adds
 * nothing against guessing, while every CONNECT pays it: a reconnect storm of a whole fleet stays cheap.
 */
export const MOSQUITTO_PBKDF2_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

/** `$7$<iterations>$<salt b64>$<hash b64>`: the hash half of a Mosquitto password file line. */
export function hashMosquittoPassword(
  password: string,
  salt: Buffer = randomBytes(SALT_BYTES),
  iterations = MOSQUITTO_PBKDF2_ITERATIONS,
): string {
  const hash = pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Parses a `$7$` hash; undefined for other formats. */
export function parseMosquittoHash(hash: string): { iterations: number; salt: Buffer; hash: Buffer } | undefined {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!m) return undefined;
  return {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2] as string, 'base64'),
    hash: Buffer.from(m[3] as string, 'base64'),
  };
}

/** 256 random bits, URL-safe, never containing ':' (the password file's separator) or quotes. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

/** Replaces the user's line, or appends one; every other line is kept as it was. */
export function upsertPasswordLine(fileText: string, user: string, hash: string): string {
  const lines = fileText.split('\n').filter((l, i, all) => !(i === all.length - 1 && l === ''));
  const entry = `${user}:${hash}`;
  const at = lines.findIndex((l) => l.slice(0, l.indexOf(':')) === user);
  if (at >= 0) lines[at] = entry;
  else lines.push(entry);
  return lines.join('\n') + '\n';
}

export function collectorBrokerConfig(cfg: NodesAddConfig, password: string): CollectorBrokerConfig {
  // The shipped broker sets use_username_as_clientid on the node listener; saying so here keeps
  // the collector's persistent session under the same id the broker will use.
  return {
    node: cfg.id,
    uplink: {
      mqtt: {
        url: cfg.broker,
        username: cfg.id,
        password,
        clientId: cfg.id,
        tls: { ca: cfg.caFile, rejectUnauthorized: true },
      },
    },
  };
}

/** KEY=value lines for compose's --env-file, named by the collector's own config loader rule. */
export function formatEnv(c: CollectorBrokerConfig): string {
  const m = c.uplink.mqtt;
  const pairs: [string[], string][] = [
    [['node'], c.node],
    [['uplink', 'mqtt', 'url'], m.url],
    [['uplink', 'mqtt', 'username'], m.username],
    [['uplink', 'mqtt', 'password'], m.password],
    [['uplink', 'mqtt', 'clientId'], m.clientId],
    [['uplink', 'mqtt', 'tls', 'ca'], m.tls.ca],
  ];
  return pairs.map(([p, value]) => `${envName(collectorConfigSpec.envPrefix, p)}=${value}`).join('\n') + '\n';
}

const NodesAddError = defineErrors('NodesAddError', NodesAddErrorCodes);

const USAGE =
  'usage: edge-telemetry nodes add <id> [--password-file path] [--broker mqtts://host:8883] [--ca-file path] [--format json|env]';

/** argv: the arguments after `nodes add`. */
export function parseNodesAddArgs(argv: string[]): NodesAddConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'password-file': { type: 'string' },
        broker: { type: 'string' },
        'ca-file': { type: 'string' },
        format: { type: 'string' },
      },
    });
  } catch (err) {
    throw new NodesAddError('ET_ERR_USAGE', `${(err as Error).message}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new NodesAddError('ET_ERR_USAGE', `expected exactly one node id; ${USAGE}`);
  const id = positionals[0] as string;
  if (!isValidNodeId(id))
    throw new NodesAddError('ET_ERR_INVALID_NODE_ID', `"${id}" must match ${NODE_ID_PATTERN.source}`);
  if (RESERVED_ACCOUNTS.includes(id))
    throw new NodesAddError('ET_ERR_RESERVED_NODE_ID', `"${id}" is a service account; pick another id`);
  const raw = {
    id,
    ...(values['password-file'] !== undefined && { passwordFile: values['password-file'] }),
    ...(values.broker !== undefined && { broker: values.broker }),
    ...(values['ca-file'] !== undefined && { caFile: values['ca-file'] }),
    ...(values.format !== undefined && { format: values.format }),
  };
  const cfg = Value.Default(NodesAddOptions, raw);
  const firstError = Value.Errors(NodesAddOptions, cfg).First();
  if (firstError) throw new NodesAddError('ET_ERR_USAGE', `${firstError.path}: ${firstError.message}; ${USAGE}`);
  const checked = cfg as NodesAddConfig;
  let url: URL;
  try {
    url = new URL(checked.broker);
  } catch {
    throw new NodesAddError('ET_ERR_BAD_BROKER_URL', `"${checked.broker}" is not a URL; use mqtts://host:8883`);
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new NodesAddError('ET_ERR_BAD_BROKER_URL', `"${checked.broker}": scheme must be mqtts, wss, mqtt or ws`);
  }
  return checked;
}

/**
 * Writes the user's entry. A lock file (created exclusively) keeps two provisioning runs from
 * losing each other's entry; the rename makes the change atomic for a broker reading concurrently.
 */
export async function writePasswordEntry(file: string, user: string, password: string): Promise<void> {
  const lockPath = `${file}.lock`;
  let lock;
  try {
    lock = await open(lockPath, 'wx');
  } catch (err) {
    const busy = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw new NodesAddError(
      'ET_ERR_PASSWORD_FILE',
      busy
        ? `${lockPath} exists: another nodes add is running (or one crashed: then delete the lock)`
        : `${lockPath}: ${(err as Error).message}`,
    );
  }
  try {
    let text = '';
    let mode = 0o600;
    try {
      text = await readFile(file, 'utf8');
      mode = (await stat(file)).mode & 0o777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new NodesAddError('ET_ERR_PASSWORD_FILE', `${file}: ${(err as Error).message}`);
    }
    const tmp = path.join(
      path.dirname(file),
      `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      await writeFile(tmp, upsertPasswordLine(text, user, hashMosquittoPassword(password)), { mode });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new NodesAddError('ET_ERR_PASSWORD_FILE', `${file}: ${(err as Error).message}`);
    }
  } finally {
    await lock.close();
    await rm(lockPath, { force: true });
  }
}

/** Entry point for the CLI dispatcher; returns the process exit code. */
export async function runNodesAdd(argv: string[], io: { stdout: Writable; stderr: Writable }): Promise<number> {
  try {
    const cfg = parseNodesAddArgs(argv);
    const password = generatePassword();
    await writePasswordEntry(cfg.passwordFile, cfg.id, password);
    const out = collectorBrokerConfig(cfg, password);
    io.stdout.write(cfg.format === 'env' ? formatEnv(out) : JSON.stringify(out, null, 2) + '\n');
    if (!cfg.broker.startsWith('mqtts:') && !cfg.broker.startsWith('wss:')) {
      io.stderr.write(`warning: ${cfg.broker} is not TLS: the node's password would cross the network in clear\n`);
    }
    io.stderr.write(
      `node ${cfg.id} written to ${cfg.passwordFile}; reload the broker to apply it (docker compose kill -s HUP mosquitto)\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof NodesAddError) {
      io.stderr.write(`${err.message}\n`);
      return err.code === 'ET_ERR_USAGE' ? 2 : 1;
    }
    throw err;
  }
}
