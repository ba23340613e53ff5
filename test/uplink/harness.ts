/** Opens an Uplink for cross-process tests with options tuned for loopback (short backoff). */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CommandMessage } from '@edge-telemetry/protocol';
import {
  createUplink,
  type Clock,
  type CutReport,
  type Delivery,
  type Uplink,
} from '../../packages/collector/src/uplink/index.js';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface TestUplinkOptions {
  dir: string;
  url: string;
  node: string;
  capBytes?: number;
  window?: number;
  ackTimeoutMs?: number;
  minAckTimeoutMs?: number;
  rateBytesPerSec?: number;
  burstSeconds?: number;
  clock?: Clock;
  protocolVersion?: 4 | 5;
  onCut?: (c: CutReport) => void;
  onCommand?: (cmd: CommandMessage) => void;
  onBadMessage?: (topic: string) => void;
  onDelivered?: (d: Delivery) => void;
}

export function openTestUplink(o: TestUplinkOptions): Promise<Uplink> {
  return createUplink({
    node: o.node,
    agentVersion: 'test',
    clock: o.clock,
    onCut: o.onCut,
    onCommand: o.onCommand,
    onBadMessage: o.onBadMessage,
    onDelivered: o.onDelivered,
    options: {
      outbox: { dir: o.dir, capBytes: o.capBytes ?? 64 * 1024 * 1024, recordCapBytes: 16 * 1024 },
      mqtt: {
        url: o.url,
        protocolVersion: o.protocolVersion ?? 5,
        keepaliveSec: 5,
        reconnectMinMs: 50,
        reconnectMaxMs: 300,
        connectTimeoutMs: 2000,
      },
      sender: {
        window: o.window ?? 32,
        ackTimeoutMs: o.ackTimeoutMs ?? 1500,
        ...(o.minAckTimeoutMs === undefined ? {} : { minAckTimeoutMs: o.minAckTimeoutMs }),
      },
      budget: { rateBytesPerSec: o.rateBytesPerSec ?? 0, burstSeconds: o.burstSeconds ?? 10, dailyBytes: 0 },
    },
  });
}
