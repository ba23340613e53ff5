import { setTimeout as sleep } from 'node:timers/promises';
import { createNoopMeter, type Counter, type Meter } from '@opentelemetry/api';
import type { ContainerEvent, ContainerInfo } from '@edge-telemetry/protocol';
import type { MetricSource, Sample, ScrapeResult } from '../types.js';
import { sourceErrorsCounter } from '../source-errors.js';
import type { ListedContainer } from '../prometheus/targets.js';
import { CollectorError, type CollectorErrorCode } from '../../errors.js';
import { silentLog, type MetricsLog } from '../../self/log.js';
import { EngineClient } from './engine-client.js';
import { parseEngineJson } from './engine-json.js';
import { EVENT_FILTER, toContainerEvent } from './events.js';
import { resolveDockerSourceOptions, type DockerSourceOptions } from './options.js';
import { statsToSamples, type CpuReading } from './stats.js';

export interface DockerSourceDeps {
  log?: MetricsLog;
  /** Where the error and event counters live (the collector's self-health MeterProvider). */
  meter?: Meter;
}

/**
 * Container metrics and lifecycle events from the Docker Engine API. Failures never throw out of
 * scrape(): each is logged with its code, counted, and turned into gaps; after an engine-level
 * failure the source waits (exponential backoff) before it asks the engine again.
 */
export class DockerSource implements MetricSource {
  readonly name = 'docker';
  readonly options: DockerSourceOptions;
  private readonly client: EngineClient;
  private readonly log: MetricsLog;
  private readonly errors: Counter;
  private readonly eventCount: Counter;
  /** Last CPU reading per container id: one-shot stats carry no precpu_stats. */
  private readonly cpu = new Map<string, CpuReading>();
  private known: ContainerInfo[] = [];
  /** The latest list with each container's address, for label discovery (Prometheus targets). */
  private listedWithAddress: ListedContainer[] = [];
  private failures = 0;
  private nextAttemptAt = 0;
  private readonly abort = new AbortController();
  private eventsLoop: Promise<void> | undefined;

  constructor(options: Partial<DockerSourceOptions>, deps: DockerSourceDeps = {}) {
    this.options = resolveDockerSourceOptions(options);
    this.client = new EngineClient({
      socketPath: this.options.socketPath,
      timeoutMs: this.options.requestTimeoutMs,
      maxBodyBytes: this.options.maxBodyBytes,
      maxSockets: this.options.statsConcurrency,
    });
    this.log = deps.log ?? silentLog;
    const meter = deps.meter ?? createNoopMeter();
    this.errors = sourceErrorsCounter(meter);
    this.eventCount = meter.createCounter('collector.docker.events', {
      description: 'container lifecycle events received',
    });
  }

  async scrape(now: number): Promise<ScrapeResult> {
    if (now < this.nextAttemptAt) return this.unavailable();
    let list: unknown;
    try {
      list = await this.client.getJson('/containers/json');
      if (!Array.isArray(list)) throw new CollectorError('ET_ERR_DOCKER_BAD_PAYLOAD', '/containers/json: not an array');
    } catch (err) {
      this.fail(err, now);
      return this.unavailable();
    }
    this.failures = 0;
    const listed = list.flatMap((v) => {
      const info = toContainerInfo(v);
      return info ? [{ info, address: containerAddress(v) }] : [];
    });
    const containers = listed.map((l) => l.info);
    const current = new Set(containers.map((c) => c.id));
    for (const id of this.cpu.keys()) if (!current.has(id)) this.cpu.delete(id);
    this.known = containers;
    this.listedWithAddress = listed.map((l) => ({ name: l.info.name, labels: l.info.labels, address: l.address }));

    const samples: Sample[] = [];
    const deadline = Date.now() + this.options.scrapeBudgetMs;
    let next = 0;
    let skipped = 0;
    const worker = async (): Promise<void> => {
      while (next < containers.length) {
        const c = containers[next++] as ContainerInfo;
        if (Date.now() > deadline) {
          skipped++;
          continue;
        }
        try {
          const body = await this.client.getJson(
            `/containers/${encodeURIComponent(c.id)}/stats?stream=false&one-shot=true`,
          );
          const r = statsToSamples(c.name, body, this.cpu.get(c.id), now);
          if (r.cpu) this.cpu.set(c.id, r.cpu);
          for (const s of r.samples) samples.push(s);
        } catch (err) {
          const code = err instanceof CollectorError ? err.code : 'ET_ERR_DOCKER_CONNECT';
          this.count(code);
          // A container that exits between list and stats is normal churn, not worth a warning.
          this.log({
            level: code === 'ET_ERR_DOCKER_GONE' ? 'info' : 'warn',
            code,
            msg: `stats of ${c.name} not read: ${(err as Error).message}`,
            fields: { container: c.name },
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.statsConcurrency, containers.length) }, worker));
    if (skipped > 0) {
      this.count('ET_ERR_DOCKER_TIMEOUT');
      this.log({
        level: 'warn',
        code: 'ET_ERR_DOCKER_TIMEOUT',
        msg: `scrape budget of ${this.options.scrapeBudgetMs} ms spent; ${skipped} containers left for the next scrape`,
        fields: { skipped },
      });
    }
    return { samples, containers };
  }

  /** The containers of the latest successful list, with the address each is reached at. */
  listed(): readonly ListedContainer[] {
    return this.listedWithAddress;
  }

  /**
   * Follows /events and hands each lifecycle event to onEvent as it arrives (not at the end of a
   * window). Reconnects with backoff when the stream fails or the engine restarts.
   */
  startEvents(onEvent: (e: ContainerEvent) => void): void {
    this.eventsLoop ??= this.followEvents(onEvent);
  }

  private async followEvents(onEvent: (e: ContainerEvent) => void): Promise<void> {
    let failures = 0;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let delivered = 0;
      const path = `/events?filters=${encodeURIComponent(EVENT_FILTER)}`;
      try {
        await this.client.stream(
          path,
          (line) => {
            let ev: ContainerEvent | undefined;
            try {
              ev = toContainerEvent(parseEngineJson(line));
            } catch {
              this.count('ET_ERR_DOCKER_BAD_PAYLOAD');
              return;
            }
            if (!ev) return;
            delivered++;
            this.eventCount.add(1, { kind: ev.kind });
            onEvent(ev);
          },
          signal,
        );
        if (signal.aborted) return;
        throw new CollectorError('ET_ERR_DOCKER_EVENTS', 'the engine closed the event stream');
      } catch (err) {
        if (signal.aborted) return;
        failures = delivered > 0 ? 1 : failures + 1;
        const code = err instanceof CollectorError ? err.code : 'ET_ERR_DOCKER_EVENTS';
        const delay = backoff(failures, this.options.backoffInitialMs, this.options.backoffMaxMs);
        this.count(code);
        this.log({
          level: 'warn',
          code,
          msg: `event stream: ${(err as Error).message}; reconnecting in ${delay} ms`,
          fields: { retryMs: delay },
        });
        await sleep(delay, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.eventsLoop;
    this.client.close();
  }

  private fail(err: unknown, now: number): void {
    const code = err instanceof CollectorError ? err.code : 'ET_ERR_DOCKER_CONNECT';
    this.failures++;
    const delay = backoff(this.failures, this.options.backoffInitialMs, this.options.backoffMaxMs);
    this.nextAttemptAt = now + delay;
    this.count(code);
    this.log({
      level: 'warn',
      code,
      msg: `container list failed: ${(err as Error).message}; next attempt in ${delay} ms`,
      fields: { retryMs: delay, failures: this.failures },
    });
  }

  private count(code: CollectorErrorCode): void {
    this.errors.add(1, { source: 'docker', code });
  }

  /** No engine answer: the containers known so far are still listed; their series get no sample, so they show gaps. */
  private unavailable(): ScrapeResult {
    return { samples: [], containers: this.known };
  }
}

/** Exponential backoff: initial, 2x, 4x, ... capped. */
export function backoff(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

/** The IP of a container's first network that has one (`NetworkSettings.Networks`); none in host network mode. */
function containerAddress(v: unknown): string | undefined {
  const networks = (v as { NetworkSettings?: { Networks?: Record<string, { IPAddress?: unknown }> } }).NetworkSettings
    ?.Networks;
  if (typeof networks !== 'object' || networks === null) return undefined;
  for (const n of Object.values(networks))
    if (typeof n?.IPAddress === 'string' && n.IPAddress !== '') return n.IPAddress;
  return undefined;
}

function toContainerInfo(v: unknown): ContainerInfo | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const c = v as Record<string, unknown>;
  if (typeof c.Id !== 'string') return undefined;
  const names = Array.isArray(c.Names) ? c.Names : [];
  const first = typeof names[0] === 'string' ? names[0] : c.Id.slice(0, 12);
  const labels: Record<string, string> = {};
  if (typeof c.Labels === 'object' && c.Labels !== null) {
    for (const [k, val] of Object.entries(c.Labels)) if (typeof val === 'string') labels[k] = val;
  }
  return {
    id: c.Id,
    name: first.replace(/^\//, ''),
    image: typeof c.Image === 'string' ? c.Image : '',
    state: typeof c.State === 'string' ? c.State : '',
    labels,
  };
}
