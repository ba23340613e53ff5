/**
 * `edge-telemetry nodes add <id>`: gives a node its own broker account and prints the collector
 * configuration that uses it. The broker ACL (docker/mosquitto/acl) keys every permission on the
 * user name, so the user name IS the node id: a node can only ever publish under its own
 * et/v1/<id>/up/ and read its own et/v1/<id>/down/. The same file format serves Mosquitto and
 * the embedded broker of `start` (broker-accounts/password-file.ts).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { defineErrors, envName, isValidNodeId, NODE_ID_PATTERN, valueErrorMessage } from '@edge-telemetry/protocol';
import { collectorConfigSpec } from '@edge-telemetry/collector';
import { generatePassword, PasswordFileError, writePasswordEntry } from '../broker-accounts/password-file.js';
import { embeddedPasswordFile } from '../embedded/accounts.js';

/** Error catalogue of this command: the code starts every error line on stderr. */
export const NodesAddErrorCodes = {
  ET_ERR_USAGE: 'wrong arguments',
  ET_ERR_INVALID_NODE_ID: 'node id is not valid',
  ET_ERR_RESERVED_NODE_ID: 'node id is reserved for a service account',
  ET_ERR_BAD_BROKER_URL: 'broker URL is not an MQTT URL',
} as const;
export type NodesAddErrorCode = keyof typeof NodesAddErrorCodes;

/**
 * Broker accounts that are not nodes. The ACL's `pattern` lines apply to every user, so a node
 * named like a service account would get that account's rights; these names are refused.
 */
export const RESERVED_ACCOUNTS: readonly string[] = ['ingester'];

/**
 * The start of the ingesters' client ids (`start`, docker/compose.central.yml). A node's client id
 * is forced to its account name, and client ids are one namespace across a broker's listeners: a
 * node named like an ingester's client id would take its session and disconnect it.
 */
export const RESERVED_CLIENT_ID_PREFIX = 'et-ingester';

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
    dataDir: Type.String({
      minLength: 1,
      default: './data',
      description:
        "`start`'s --data-dir: a password file that is its `<data-dir>/broker/passwd` needs no Mosquitto reload (its broker reads the file again when it changes).",
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
      /** Only for a TLS broker (mqtts://, wss://): a CA path on a node without TLS stopped it at start. */
      tls?: { ca: string; rejectUnauthorized: true };
    };
  };
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
        ...(isTls(cfg.broker) ? { tls: { ca: cfg.caFile, rejectUnauthorized: true as const } } : {}),
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
    ...(m.tls ? [[['uplink', 'mqtt', 'tls', 'ca'], m.tls.ca] as [string[], string]] : []),
  ];
  return pairs.map(([p, value]) => `${envName(collectorConfigSpec.envPrefix, p)}=${value}`).join('\n') + '\n';
}

const NodesAddError = defineErrors('NodesAddError', NodesAddErrorCodes);

const isTls = (broker: string): boolean => broker.startsWith('mqtts:') || broker.startsWith('wss:');

const USAGE =
  'usage: edge-telemetry nodes add <id> [--password-file path] [--data-dir ./data] [--broker mqtts://host:8883] [--ca-file path] [--format json|env]';

/** The options of `nodes add` (the top-level usage lists each). */
export const NODES_ADD_OPTIONS = {
  'password-file': { type: 'string' },
  'data-dir': { type: 'string' },
  broker: { type: 'string' },
  'ca-file': { type: 'string' },
  format: { type: 'string' },
} as const;

/** argv: the arguments after `nodes add`. */
export function parseNodesAddArgs(argv: string[]): NodesAddConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: NODES_ADD_OPTIONS,
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
  if (id.startsWith(RESERVED_CLIENT_ID_PREFIX))
    throw new NodesAddError(
      'ET_ERR_RESERVED_NODE_ID',
      `"${id}" starts like the ingesters' client ids (${RESERVED_CLIENT_ID_PREFIX}...); pick another id`,
    );
  const raw = {
    id,
    ...(values['password-file'] !== undefined && { passwordFile: values['password-file'] }),
    ...(values['data-dir'] !== undefined && { dataDir: values['data-dir'] }),
    ...(values.broker !== undefined && { broker: values.broker }),
    ...(values['ca-file'] !== undefined && { caFile: values['ca-file'] }),
    ...(values.format !== undefined && { format: values.format }),
  };
  const cfg = Value.Default(NodesAddOptions, raw);
  const firstError = Value.Errors(NodesAddOptions, cfg).First();
  if (firstError)
    throw new NodesAddError('ET_ERR_USAGE', `${firstError.path}: ${valueErrorMessage(firstError)}; ${USAGE}`);
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
  if (values['ca-file'] !== undefined && !isTls(checked.broker))
    throw new NodesAddError(
      'ET_ERR_USAGE',
      `--ca-file is for a TLS broker (mqtts:// or wss://), not ${checked.broker}; ${USAGE}`,
    );
  return checked;
}

/**
 * What makes the broker take the new account: Mosquitto reads its file on SIGHUP; `start`'s broker
 * when the file changes. Its file is the one of the data dir given, not any `.../broker/passwd`
 * (a Mosquitto's /srv/broker/passwd was told no reload was needed).
 */
function reloadHint(cfg: NodesAddConfig): string {
  return path.resolve(cfg.passwordFile) === embeddedPasswordFile(path.resolve(cfg.dataDir))
    ? 'the embedded broker of `start` reads the file again when it changes: the node can connect now, no reload'
    : 'reload Mosquitto to apply it (docker compose -f docker/compose.central.yml kill -s HUP mosquitto)';
}

/** Entry point for the CLI dispatcher; returns the process exit code. */
export async function runNodesAdd(argv: string[], io: { stdout: Writable; stderr: Writable }): Promise<number> {
  try {
    const cfg = parseNodesAddArgs(argv);
    const password = generatePassword();
    await writePasswordEntry(cfg.passwordFile, cfg.id, password);
    const out = collectorBrokerConfig(cfg, password);
    io.stdout.write(cfg.format === 'env' ? formatEnv(out) : JSON.stringify(out, null, 2) + '\n');
    if (!isTls(cfg.broker)) {
      io.stderr.write(`warning: ${cfg.broker} is not TLS: the node's password would cross the network in clear\n`);
    }
    io.stderr.write(`node ${cfg.id} written to ${cfg.passwordFile}; ${reloadHint(cfg)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof NodesAddError || err instanceof PasswordFileError) {
      io.stderr.write(`${err.message}\n`);
      return err.code === 'ET_ERR_USAGE' ? 2 : 1;
    }
    throw err;
  }
}
