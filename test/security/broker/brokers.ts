/**
 * The two brokers a deployment can run, behind one shape so that one test file asks both the same
 * questions: the shipped Mosquitto configuration (nodes on its TLS listener, the ingester on its
 * internal one) and the embedded broker of `start` (one listener). Node accounts come from `nodes
 * add` for both.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { IClientOptions } from 'mqtt';
import { generatePassword } from '../../../packages/cli/src/broker-accounts/password-file.js';
import { accountBook } from '../../../packages/cli/src/embedded/accounts.js';
import { INGESTER_ACCOUNT } from '../../../packages/cli/src/embedded/acl.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../packages/cli/src/embedded/embedded-broker.js';
import { runNode } from '../../support/processes.js';
import { provisionNode, startShippedBroker, type Credentials } from './shipped-broker.js';

export interface BrokerUnderTest {
  name: 'mosquitto' | 'embedded';
  /** Where nodes connect, with the transport options they need (the CA for TLS). */
  nodeUrl: string;
  nodeTransport: IClientOptions;
  /** Where the ingester connects. */
  ingesterUrl: string;
  nodes: Record<string, Credentials>;
  ingester: Credentials;
  /** The embedded broker itself (its refusal counters), when that is the one under test. */
  embedded?: EmbeddedBroker;
  stop(): Promise<void>;
}

export async function shippedMosquitto(
  nodeIds: string[],
  opts: Parameters<typeof startShippedBroker>[1] = {},
): Promise<BrokerUnderTest> {
  const b = await startShippedBroker(nodeIds, opts);
  return {
    name: 'mosquitto',
    nodeUrl: b.tlsUrl,
    nodeTransport: { ca: b.ca },
    ingesterUrl: b.internalUrl,
    nodes: b.nodes,
    ingester: b.ingester,
    stop: () => b.stop(),
  };
}

export async function embeddedBroker(
  nodeIds: string[],
  limits: { maxPacketBytes?: number; maxConnections?: number } = {},
): Promise<BrokerUnderTest> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-embedded-broker-'));
  const passwordFile = path.join(dir, 'passwd');
  const nodes: Record<string, Credentials> = {};
  for (const id of nodeIds) nodes[id] = await provisionNode(id, passwordFile);
  const ingester = { username: INGESTER_ACCOUNT, password: generatePassword() };
  const embedded = await startEmbeddedBroker({
    host: '127.0.0.1',
    // Any free port, bound at once (its url names it): none chosen beforehand for another process to take.
    port: 0,
    accounts: accountBook({ passwordFile, ingesterPassword: ingester.password }),
    ...limits,
  });
  return {
    name: 'embedded',
    nodeUrl: embedded.url,
    nodeTransport: {},
    ingesterUrl: embedded.url,
    nodes,
    ingester,
    embedded,
    stop: async () => {
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A process's VmRSS or VmHWM (its peak RSS since the last `clear_refs` 5) in bytes. */
export async function processMemory(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]) * 1024;
}

/** The embedded broker alone in a child process (embedded-broker-main.ts), so that its memory is its own. */
export interface BrokerProcess {
  url: string;
  pid: number;
  nodes: Record<string, Credentials>;
  ingester: Credentials;
  /** What it printed: `listening`, then one `refused <what> <detail>` line per refusal. */
  output(): string;
  /** The process's VmRSS or VmHWM (peak RSS since the last `clear_refs` 5) in bytes. */
  memory(field: 'VmRSS' | 'VmHWM'): Promise<number>;
  stop(): Promise<void>;
}

export async function embeddedBrokerProcess(nodeIds: string[]): Promise<BrokerProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-broker-process-'));
  const passwordFile = path.join(dir, 'passwd');
  const nodes: Record<string, Credentials> = {};
  for (const id of nodeIds) nodes[id] = await provisionNode(id, passwordFile);
  const ingester = { username: INGESTER_ACCOUNT, password: generatePassword() };
  const p = runNode(path.join(import.meta.dirname, 'embedded-broker-main.ts'), [passwordFile, ingester.password], {
    NODE_OPTIONS: '--import tsx',
  });
  const stop = async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // The child compiles the broker's sources with tsx as it starts: 20-38 s here at load 29 (it
    // failed the default 30 s once), where an idle machine takes a second or two.
    const url = /listening (\S+)/.exec(await p.waitFor(/^listening /, 120_000))![1]!;
    return {
      url,
      pid: p.child.pid!,
      nodes,
      ingester,
      output: p.output,
      memory: (field) => processMemory(p.child.pid!, field),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
