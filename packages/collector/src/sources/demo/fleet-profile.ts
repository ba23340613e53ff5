/**
 * The containers a demo gateway runs: the kind of workloads found on factory, retail and
 * telecom gateways. Deterministic per node, so a restarted simulator shows the same fleet.
 */
import type { ContainerInfo } from '@edge-telemetry/protocol';
import { createPrng, seedFrom } from './prng.js';

export interface DemoContainer {
  info: ContainerInfo;
  /** Scales the shared CPU shape so that containers differ. */
  cpuScale: number;
  /** Offset into the shared series, so that containers are not in phase. */
  phase: number;
  memBaseBytes: number;
  memLimitBytes: number;
  /** Mean network bytes per second. */
  netRate: number;
  /** Log lines per second. */
  logRate: number;
}

const WORKLOADS = [
  { name: 'plc-bridge', image: 'registry.local/plc-bridge:2.4.1' },
  { name: 'opcua-gateway', image: 'registry.local/opcua-gw:1.9.0' },
  { name: 'camera-ingest', image: 'registry.local/camera-ingest:3.2.0' },
  { name: 'inference', image: 'registry.local/defect-model:2026.10' },
  { name: 'mqtt-proxy', image: 'eclipse-mosquitto:2.0.18' },
  { name: 'pos-sync', image: 'registry.local/pos-sync:5.0.3' },
  { name: 'redis', image: 'redis:7.2.5-alpine' },
  { name: 'nginx', image: 'nginx:1.27.2-alpine' },
  { name: 'modbus-poller', image: 'registry.local/modbus-poller:0.8.2' },
  { name: 'historian', image: 'registry.local/historian:4.1.0' },
] as const;

export function demoFleet(node: string, count: number): DemoContainer[] {
  const rnd = createPrng(seedFrom(node));
  const out: DemoContainer[] = [];
  for (let i = 0; i < count; i++) {
    const w = WORKLOADS[i % WORKLOADS.length]!;
    const name = i < WORKLOADS.length ? w.name : `${w.name}-${Math.floor(i / WORKLOADS.length) + 1}`;
    const memLimit = 2 ** (27 + Math.floor(rnd() * 4));
    out.push({
      info: {
        id: Array.from({ length: 8 }, () =>
          Math.floor(rnd() * 2 ** 32)
            .toString(16)
            .padStart(8, '0'),
        ).join(''),
        name,
        image: w.image,
        state: 'running',
        labels: { 'com.docker.compose.project': 'site', 'com.docker.compose.service': w.name },
      },
      cpuScale: 0.05 + rnd() * 0.6,
      phase: Math.floor(rnd() * 700),
      memBaseBytes: memLimit * (0.2 + rnd() * 0.4),
      memLimitBytes: memLimit,
      netRate: 1_000 + rnd() * 200_000,
      logRate: 0.2 + rnd() * 2,
    });
  }
  return out;
}
