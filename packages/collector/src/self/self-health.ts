import type { Attributes, BatchObservableCallback, Counter, Meter, Observable } from '@opentelemetry/api';
import { DataPointType, MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Sample } from '../sources/types.js';
import { DeltaReader } from './delta-reader.js';
import { createProcessUsage, nodeProcessProbe, type ProcessProbe, type ProcessUsage } from './process-usage.js';

export type { ProcessProbe } from './process-usage.js';

/** Container name of the collector's own series. */
export const SELF_CONTAINER = '_collector';

/** The instruments other stages record into. */
export interface SelfInstruments {
  /** Bytes put on the uplink (all topics). */
  bytesSent: Counter;
  /** Anything dropped, attributes { stage, reason } (bounded). */
  drops: Counter;
}

export interface SelfHealthDeps {
  /** The MeterProvider to create instruments on; it must have `reader` registered. Default: a private one. */
  meterProvider?: MeterProvider;
  reader?: DeltaReader;
  probe?: ProcessProbe;
}

/** A value another stage exposes, read at each collect (from the group's snapshot, when it has one). */
export interface Observed<S = undefined> {
  help: string;
  /** UCUM unit, as /metrics says it (`By`). */
  unit?: string;
  read: (snapshot: S) => number;
}

/**
 * The collector's own health through @opentelemetry/api instruments, read with a DELTA reader
 * at each collect() and turned into samples for container `_collector`: a sum leaves as its delta
 * since the previous collect (collected once per window, the window's total), gauges pass
 * through. No global provider.
 */
export class SelfHealth {
  readonly meter: Meter;
  readonly instruments: SelfInstruments;
  private readonly reader: DeltaReader;
  private readonly provider: MeterProvider;
  private readonly usage: ProcessUsage;
  private readonly observables: Observable[];
  private readonly observe: BatchObservableCallback;
  private readonly ownsProvider: boolean;
  private readonly extra: Array<[BatchObservableCallback, Observable[]]> = [];

  constructor(deps: SelfHealthDeps = {}) {
    this.reader = deps.reader ?? new DeltaReader();
    this.ownsProvider = deps.meterProvider === undefined;
    this.provider = deps.meterProvider ?? new MeterProvider({ readers: [this.reader] });
    this.meter = this.provider.getMeter('edge-telemetry-collector');
    this.instruments = {
      bytesSent: this.meter.createCounter('collector.uplink.bytes_sent', {
        unit: 'By',
        description: 'Bytes published to the broker (batches, wire size)',
      }),
      drops: this.meter.createCounter('collector.drops', {
        description: 'Items dropped, by pipeline stage and reason',
      }),
    };
    this.usage = createProcessUsage(deps.probe ?? nodeProcessProbe);
    const cpu = this.meter.createObservableGauge('collector.process.cpu_pct', {
      unit: '%',
      description: "The collector's CPU use since the previous collect, in % of one core",
    });
    const rss = this.meter.createObservableGauge('collector.process.rss_bytes', {
      unit: 'By',
      description: "The collector's resident memory",
    });
    this.observe = (r) => {
      r.observe(cpu, this.usage.cpuPct());
      r.observe(rss, this.usage.rssBytes());
    };
    this.observables = [cpu, rss];
    this.meter.addBatchObservableCallback(this.observe, this.observables);
  }

  /**
   * Gauges (`collector.<name>`) and cumulative counts (`collector.<name>`, sent as the increase
   * since the previous collect) that other stages expose as plain functions, read at each collect;
   * each with the description /metrics gives it. With `snapshot`, a stage's figures are gathered
   * once per collect and every value of the group reads that (a pipeline's stats walk its windows).
   */
  observeValues<S = undefined>(o: {
    snapshot?: () => S;
    gauges?: Record<string, Observed<S>>;
    totals?: Record<string, Observed<S>>;
  }): void {
    const entries = (
      values: Record<string, Observed<S>> | undefined,
      create: (name: string, options: { description: string; unit?: string }) => Observable,
    ) =>
      Object.entries(values ?? {}).map(([name, v]): [Observable, (s: S) => number] => [
        create(`collector.${name}`, { description: v.help, ...(v.unit ? { unit: v.unit } : {}) }),
        v.read,
      ]);
    const list = [
      ...entries(o.gauges, (name, options) => this.meter.createObservableGauge(name, options)),
      ...entries(o.totals, (name, options) => this.meter.createObservableCounter(name, options)),
    ];
    const cb: BatchObservableCallback = (r) => {
      const s = o.snapshot?.() as S;
      for (const [inst, fn] of list) r.observe(inst, fn(s));
    };
    this.meter.addBatchObservableCallback(
      cb,
      list.map(([i]) => i),
    );
    this.extra.push([cb, list.map(([i]) => i)]);
  }

  /** Reads every instrument since the previous collect and returns `_collector` samples stamped `now`. */
  async collect(now: number): Promise<Sample[]> {
    const { resourceMetrics } = await this.reader.collect();
    return toSamples(resourceMetrics, now);
  }

  async close(): Promise<void> {
    this.meter.removeBatchObservableCallback(this.observe, this.observables);
    for (const [cb, list] of this.extra) this.meter.removeBatchObservableCallback(cb, list);
    if (this.ownsProvider) await this.provider.shutdown();
  }
}

/**
 * OTel data points to samples. `collector.` is dropped from the name and the attribute values
 * (bounded by design) are appended in key order: `source.errors.ET_ERR_DOCKER_TIMEOUT.docker`.
 */
export function toSamples(rm: ResourceMetrics, now: number): Sample[] {
  const out: Sample[] = [];
  for (const scope of rm.scopeMetrics) {
    for (const m of scope.metrics) {
      const base = m.descriptor.name.replace(/^collector\./, '');
      for (const dp of m.dataPoints) {
        if (typeof dp.value !== 'number') continue;
        const name = seriesName(base, dp.attributes);
        if (m.dataPointType === DataPointType.SUM || m.dataPointType === DataPointType.GAUGE) {
          out.push({ container: SELF_CONTAINER, metric: name, value: dp.value, ts: now, kind: 'gauge' });
        }
      }
    }
  }
  return out;
}

function seriesName(base: string, attrs: Attributes): string {
  const keys = Object.keys(attrs).sort();
  let name = base;
  for (const k of keys) name += `.${String(attrs[k])}`;
  return name;
}
