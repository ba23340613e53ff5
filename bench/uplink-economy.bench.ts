/**
 * Bytes on the wire per node-hour (issue 5, Encoding) for the reference workload: 30 containers,
 * a 10 s scrape, 60 s windows, 20 log lines/s from Loghub-2k with each dataset's own level mix
 * (bench/support/workload.ts). One hour is simulated in compressed time through the collector's
 * real stages, wired as collector.ts wires them: statsToSamples -> Downsampler, LogPipeline,
 * splitByPriority, the uplink's ReceiverState (texts the ingester holds left out, as at submit),
 * the codec (createBatchCodec() with its defaults) per batch, and the sender's ReferenceBook, which
 * re-encodes each batch against the acknowledged keyframes of its priority class as the sender
 * does at publish time (every batch is acknowledged at once here).
 *
 * Compared with the same hour as (a) raw: the json-file bytes of the same lines plus one minified
 * `docker stats` document per container per scrape; (b) the same batches as JSON + zstd at the
 * codec's level; (c) the same batches as OTLP protobuf (bench/support/otlp.ts) + gzip. Each ratio
 * is the baseline's bytes over ours. encode_mb_per_s_per_core is our encode (validate, body,
 * zstd) over these batches in MB of their JSON size per CPU-second, beside JSON.stringify + zstd.
 *
 * The collector's stages are loaded from its dist/ by path (build first: `npx tsc -b`).
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Compressor } from 'zstd-napi';
import {
  createBatchCodec,
  resolveCodecOptions,
  LOG_LEVEL_NAMES,
  type Batch,
  type NodeHealth,
} from '@edge-telemetry/protocol';
import { createPrng, LogPipeline, logPipelineOptions, AGENT_VERSION } from '@edge-telemetry/collector';
import { median, type BenchCase, type Figure } from './harness.js';
import type * as DownsamplerModule from '../packages/collector/src/transforms/downsample/downsampler.js';
import type * as SketchOpsModule from '../packages/collector/src/transforms/downsample/ddsketch-ops.js';
import type * as AssembleModule from '../packages/collector/src/batch/priority-classes.js';
import type * as DropsModule from '../packages/collector/src/batch/drops.js';
import type * as StatsModule from '../packages/collector/src/sources/docker/stats.js';
import type * as CsvModule from '../packages/collector/src/transforms/templates/csv.js';
import type * as ReferencesModule from '../packages/collector/src/uplink/sender/references.js';
import type * as ReceiverStateModule from '../packages/collector/src/uplink/sender/receiver-state.js';
import type { ReferenceBookOptions } from '../packages/collector/src/uplink/sender/references.js';
import type * as UplinkOptionsModule from '../packages/collector/src/uplink/options.js';
import { readLoghubLines } from './support/loghub-lines.js';
import { REFERENCE_WORKLOAD, workload, workloadContainers, type StatsDoc } from './support/workload.js';
import {
  addSizes,
  jsonZstdBytes,
  otlpGzipBytes,
  sectionSizes,
  ZERO_SIZES,
  type SectionSizes,
} from './support/wire-sizes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CORPORA = path.join(here, '../../shared/corpora');
const dist = async <T>(p: string): Promise<T> =>
  (await import(pathToFileURL(path.join(here, '../packages/collector/dist', p)).href)) as T;
const NODE = 'edge-node-01';
const SEED = 5;
const THROUGHPUT_RUNS = 5;

interface Hour {
  /**
   * Every batch of the hour as assembled (each template with its text; the baselines encode these)
   * with its priority class, and the bytes of its frame as sent and as the outbox keeps it
   * (standalone), both with the texts the ingester holds left out, as `sent`.
   */
  batches: Array<{ cls: number; batch: Batch; sent: Batch; wire: number; standalone: number }>;
  /** Each window's whole draft (before the split by class), for the one-batch-per-window comparison. */
  windows: Batch[];
  rawLogBytes: number;
  rawStatsBytes: number;
  lines: number;
  /** Lines per level as the datasets label them (the workload's mix). */
  fedLevels: number[];
  /** Lines per level as the pipeline parsed them (its logs.<level>_lines summaries). */
  parsedLevels: number[];
}

async function statsBodies(): Promise<StatsDoc[]> {
  const dir = path.join(CORPORA, 'docker/stats');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as StatsDoc));
}

/** One hour of the reference workload through the collector's stages, with the codec's and the sender's defaults; `logOptions` overrides the log pipeline's (what-if runs). */
async function simulateHour(logOptions: Record<string, unknown> = {}): Promise<Hour> {
  const { Downsampler } = await dist<typeof DownsamplerModule>('transforms/downsample/downsampler.js');
  const { ddSketchOps } = await dist<typeof SketchOpsModule>('transforms/downsample/ddsketch-ops.js');
  const { splitByPriority } = await dist<typeof AssembleModule>('batch/priority-classes.js');
  const { DropCounter } = await dist<typeof DropsModule>('batch/drops.js');
  const { statsToSamples } = await dist<typeof StatsModule>('sources/docker/stats.js');
  const { parseCsv } = await dist<typeof CsvModule>('transforms/templates/csv.js');

  const o = REFERENCE_WORKLOAD;
  const random = createPrng(SEED);
  const datasets = await readLoghubLines(path.join(CORPORA, 'loghub2k'), parseCsv);
  const fleet = workloadContainers(o.containers, datasets, random);
  const infos = new Map(fleet.map((c) => [c.info.name, c.info]));
  let now = o.startMs;
  const drops = new DropCounter();
  // Default options throughout, as a collector with an empty config file runs.
  const downsampler = new Downsampler({ windowMs: o.windowMs }, { sketches: ddSketchOps, report: drops });
  const logs = new LogPipeline(logPipelineOptions(logOptions), {
    now: () => now,
    report: drops,
    describe: (name) => infos.get(name),
    windowMs: o.windowMs,
  });
  const send = await sender();
  const prevCpu = new Map<string, ReturnType<typeof statsToSamples>['cpu']>();

  const hour: Hour = {
    batches: [],
    windows: [],
    rawLogBytes: 0,
    rawStatsBytes: 0,
    lines: 0,
    fedLevels: [0, 0, 0, 0, 0, 0],
    parsedLevels: [0, 0, 0, 0, 0, 0],
  };
  let windowRaw = 0;
  let lastWindowWire = 0;
  let seq = 0;
  for (const step of workload(o, fleet, await statsBodies(), random)) {
    if (step.kind === 'scrape') {
      now = step.ts;
      const samples = step.docs.flatMap(({ container, doc, json }) => {
        const r = statsToSamples(container, doc, prevCpu.get(container), step.ts);
        prevCpu.set(container, r.cpu);
        const bytes = Buffer.byteLength(json);
        hour.rawStatsBytes += bytes;
        windowRaw += bytes;
        return r.samples;
      });
      downsampler.ingest('docker', { samples });
    } else if (step.kind === 'line') {
      now = step.ts;
      const rawBytes = Buffer.byteLength(step.jsonFile);
      hour.rawLogBytes += rawBytes;
      windowRaw += rawBytes;
      hour.lines++;
      (hour.fedLevels[step.level] as number)++;
      logs.push({
        ts: step.ts,
        container: step.container,
        stream: step.stream,
        line: step.line,
        rawBytes,
        offset: 0,
        end: 0,
      });
    } else {
      // collector.ts's seal at full fidelity (degrade level 0: nothing withheld, fine windows): the
      // window is sealed once every line up to its end plus the lateness bound has been read.
      now = step.windowEnd;
      const sealed = logs.seal(() => step.windowEnd + logs.lateness);
      const out = {
        metrics: sealed.flatMap((w) => w.metrics),
        logs: sealed.flatMap((w) => w.logs),
        templates: sealed.flatMap((w) => w.templates),
      };
      for (const m of out.metrics) {
        const level = LOG_LEVEL_NAMES.findIndex((n) => m.metric === `logs.${n}_lines`);
        if (level >= 0) (hour.parsedLevels[level] as number) += m.sum;
      }
      const health = benchHealth(lastWindowWire, windowRaw);
      const draft = {
        node: NODE,
        sentAt: step.windowEnd,
        windowStart: step.windowStart,
        windowEnd: step.windowEnd,
        containers: [...infos.values()],
        metrics: [...downsampler.flush(step.windowEnd), ...out.metrics],
        logs: out.logs,
        templates: out.templates,
        events: [],
        drops: drops.take(),
        health,
      };
      windowRaw = 0;
      lastWindowWire = 0;
      hour.windows.push({ ...draft, epoch: 1, seq: 0 });
      for (const b of sendWindow(splitByPriority(draft), send, () => ++seq)) {
        lastWindowWire += b.wire;
        hour.batches.push(b);
      }
    }
  }
  return hour;
}

/** The node health a bench window carries: the uplink's bytes and the raw bytes as measured, fixed process figures. */
export function benchHealth(uplinkBytes: number, rawBytes: number): NodeHealth {
  return {
    uplinkBytes,
    rawBytes,
    queueBatches: 0,
    queueBytes: 0,
    budgetLeftBytes: -1,
    degradeLevel: 0,
    cpuPct: 1.5,
    rssBytes: 80 * 2 ** 20,
    agentVersion: AGENT_VERSION,
  };
}

/** A window's batches (splitByPriority's output) through `send` in the order the collector appends them. */
export function sendWindow(
  split: Array<{ draft: Omit<Batch, 'epoch' | 'seq'>; priorityClass: number }>,
  send: (priorityClass: number, batch: Batch) => { sent: Batch; standalone: number; wire: number },
  nextSeq: () => number,
): Array<{ cls: number; batch: Batch; sent: Batch; standalone: number; wire: number }> {
  // The summaries batch last (it carries the reading cursor).
  split.push(split.shift() as (typeof split)[number]);
  return split.map(({ draft, priorityClass }) => {
    const batch: Batch = { ...draft, epoch: 1, seq: nextSeq() };
    return { cls: priorityClass, batch, ...send(priorityClass, batch) };
  });
}

/**
 * The uplink's path for one batch as Uplink.submit and the publish take it, every batch
 * acknowledged at once: the texts the ingester holds left out (what the outbox stores), then the
 * frame against the keyframes (what goes on the wire).
 */
export async function sender(): Promise<
  (priorityClass: number, batch: Batch) => { sent: Batch; standalone: number; wire: number }
> {
  const { ReceiverState } = await dist<typeof ReceiverStateModule>('uplink/sender/receiver-state.js');
  const codec = createBatchCodec();
  const receiver = new ReceiverState(codec, await senderDefaults());
  return (priorityClass, batch) => {
    const { epoch, seq } = batch;
    const sent = { ...batch, templates: receiver.omitHeldTexts(batch.templates) };
    const standalone = codec.encode(sent);
    receiver.carried(epoch, seq, sent.templates, batch.windowEnd);
    const wire = receiver.frameFor({ epoch, seq, priorityClass }, standalone).length;
    receiver.acked(epoch, seq);
    return { sent, standalone: standalone.length, wire };
  };
}

async function senderDefaults(): Promise<ReferenceBookOptions> {
  const { resolveUplinkOptions } = await dist<typeof UplinkOptionsModule>('uplink/options.js');
  return resolveUplinkOptions({ outbox: { dir: '-' }, mqtt: { url: 'mqtt://-' } }).sender;
}

/** The hour's wire bytes with each batch rewritten first (in order), through the sender's defaults. */
async function wireWith(hour: Hour, rewrite: (batch: Batch) => Batch): Promise<number> {
  const send = await sender();
  return hour.batches.reduce((bytes, { cls, batch }) => bytes + send(cls, rewrite(batch)).wire, 0);
}

/**
 * The hour's wire bytes with a template dictionary kept per epoch on both ends (not built; a
 * bound for the protocol change): a row whose id the node has sent before goes as a two-character
 * handle, its text left out while unchanged, and a verbatim line's template id as that handle.
 */
function templateDictionary(hour: Hour): Promise<number> {
  const handles = new Map<string, string>();
  const texts = new Map<string, string>();
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const handleOf = (id: string): string => {
    let h = handles.get(id);
    if (h === undefined) {
      h = `${digits[handles.size % 64]}${digits[Math.floor(handles.size / 64) % 64]}`;
      handles.set(id, h);
    }
    return h;
  };
  return wireWith(hour, (batch) => ({
    ...batch,
    logs: batch.logs.map((l) => (handles.has(l.templateId) ? { ...l, templateId: handleOf(l.templateId) } : l)),
    templates: batch.templates.map((t) => {
      const known = handles.has(t.id) && texts.get(t.id) === t.template;
      const handle = handleOf(t.id);
      texts.set(t.id, t.template);
      return known ? { ...t, id: handle, template: '' } : t;
    }),
  }));
}

/**
 * What the content the defaults must carry costs on the wire: each kind blanked in turn (the hour
 * again without it), so each figure is what that content adds on top of everything else.
 */
/** What each priority class carries (packages/collector/src/batch/priority-classes.ts). */
const CLASS_CONTENTS: Record<number, string> = {
  0: 'metric summaries, events, containers, drops, health',
  1: 'warn and above verbatim',
  2: 'templates with their counts',
  3: 'info and below verbatim, template samples',
};

const MANDATED_CONTENT: ReadonlyArray<[string, (b: Batch) => Batch]> = [
  [
    'metric values and sketches',
    (b) => ({ ...b, metrics: b.metrics.map(({ sketch: _, ...m }) => ({ ...m, sum: 0, min: 0, max: 0, last: 0 })) }),
  ],
  ['warning message text', (b) => ({ ...b, logs: b.logs.map((l) => ({ ...l, message: '' })) })],
  [
    'template counts and times',
    (b) => ({
      ...b,
      templates: b.templates.map((t) => ({
        ...t,
        count: Math.min(t.count, 1),
        firstSeen: b.windowStart,
        lastSeen: b.windowStart,
        samples: t.samples.map((x) => ({ ...x, ts: b.windowStart })),
      })),
    }),
  ],
  [
    'sample parameters',
    (b) => ({
      ...b,
      templates: b.templates.map((t) => ({ ...t, samples: t.samples.map((x) => ({ ...x, params: [] })) })),
    }),
  ],
];

/**
 * CPU per batch of what the sender adds at publish time (re-encoding the outbox's standalone
 * frame against the keyframes, at the codec's referenceLevel), beside the standalone encode the
 * collector does at seal time. Median of interleaved passes over the hour's batches.
 */
async function referenceCost(hour: Hour): Promise<{ reencodeMs: number; encodeMs: number }> {
  const { ReferenceBook } = await dist<typeof ReferencesModule>('uplink/sender/references.js');
  const codec = createBatchCodec();
  const frames = hour.batches.map((b) => ({ b, frame: codec.encode(b.sent) }));
  const options = await senderDefaults();
  const passReencode = () => {
    const book = new ReferenceBook(codec, options);
    for (const { b, frame } of frames) {
      book.frameFor({ epoch: 1, seq: b.batch.seq, priorityClass: b.cls }, frame);
      book.acked(1, b.batch.seq);
    }
  };
  const passEncode = () => frames.forEach(({ b }) => codec.encode(b.sent));
  const re: number[] = [];
  const en: number[] = [];
  for (let i = 0; i < 3; i++) {
    re.push(cpuMs(passReencode));
    en.push(cpuMs(passEncode));
  }
  return { reencodeMs: median(re) / frames.length, encodeMs: median(en) / frames.length };
}

function cpuMs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** Median CPU ms of a full pass over the batches, ours and the baseline interleaved run by run. */
function throughput(batches: readonly Batch[], level: number): { ours: number; json: number; mb: number } {
  const codec = createBatchCodec({ level });
  const z = new Compressor();
  z.setParameters({ compressionLevel: level });
  const mb = batches.reduce((s, b) => s + Buffer.byteLength(JSON.stringify(b)), 0) / 1e6;
  const ours: number[] = [];
  const json: number[] = [];
  const passOurs = () => batches.forEach((b) => codec.encode(b));
  const passJson = () => batches.forEach((b) => z.compress(Buffer.from(JSON.stringify(b))));
  passOurs();
  passJson();
  for (let i = 0; i < THROUGHPUT_RUNS; i++) {
    ours.push(cpuMs(passOurs));
    json.push(cpuMs(passJson));
  }
  return { ours: mb / (median(ours) / 1000), json: mb / (median(json) / 1000), mb };
}

/** Rows per window, averaged over the hour. */
function perWindow(hour: Hour): string {
  const n = hour.windows.length;
  const sum = (f: (b: Batch) => number) => hour.windows.reduce((s, w) => s + f(w), 0);
  const templates = sum((w) => w.templates.length);
  const textBytes = sum((w) => w.templates.reduce((s, t) => s + Buffer.byteLength(t.template), 0));
  return [
    `${(sum((w) => w.metrics.length) / n).toFixed(0)} metric summaries`,
    `${(sum((w) => w.logs.length) / n).toFixed(0)} verbatim lines`,
    `${(templates / n).toFixed(0)} templates (${(textBytes / templates).toFixed(0)} B of text each)`,
    `${(sum((w) => w.templates.reduce((s, t) => s + t.samples.length, 0)) / n).toFixed(0)} template samples`,
    `${(sum((w) => w.templates.reduce((s, t) => s + t.count, 0)) / n).toFixed(0)} lines in templates`,
  ].join(', ');
}

const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;
const mix = (counts: readonly number[]): string => {
  const total = counts.reduce((s, n) => s + n, 0);
  return LOG_LEVEL_NAMES.map((n, i) => `${n} ${pct(counts[i] as number, total)}`).join(', ');
};

async function run(): Promise<Figure[]> {
  const hour = await simulateHour();
  const level = resolveCodecOptions().level;
  const zc = new Compressor();
  zc.setParameters({ compressionLevel: level });
  const zstd = (b: Uint8Array) => zc.compress(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const gzip = (b: Uint8Array) => gzipSync(b);
  const codec = createBatchCodec({ level });
  const oursSize = (b: Batch) => codec.encode(b).length;

  const byClass = new Map<number, { ours: number; json: number; otlp: number; batches: number }>();
  let ours = 0;
  let json = 0;
  let otlp = 0;
  let oursSections: SectionSizes = ZERO_SIZES;
  let jsonSections: SectionSizes = ZERO_SIZES;
  for (const { cls, batch, wire } of hour.batches) {
    const j = jsonZstdBytes(batch, zstd);
    const p = otlpGzipBytes(batch, gzip);
    ours += wire;
    json += j;
    otlp += p.metrics + p.logs;
    const c = byClass.get(cls) ?? { ours: 0, json: 0, otlp: 0, batches: 0 };
    byClass.set(cls, {
      ours: c.ours + wire,
      json: c.json + j,
      otlp: c.otlp + p.metrics + p.logs,
      batches: c.batches + 1,
    });
    oursSections = addSizes(oursSections, sectionSizes(batch, oursSize));
    jsonSections = addSizes(
      jsonSections,
      sectionSizes(batch, (b) => jsonZstdBytes(b, zstd)),
    );
  }
  // The same hour with one batch per window (no split by priority class), for each encoding.
  let oursWindow = 0;
  let jsonWindow = 0;
  let otlpWindow = 0;
  for (const w of hour.windows) {
    oursWindow += oursSize(w);
    jsonWindow += jsonZstdBytes(w, zstd);
    const p = otlpGzipBytes(w, gzip);
    otlpWindow += p.metrics + p.logs;
  }
  const raw = hour.rawLogBytes + hour.rawStatsBytes;
  // What the quantile sketches cost: the metric batches again with the sketches left out.
  const withoutSketches = hour.batches
    .filter((b) => b.cls === 0)
    .reduce((s, { batch }) => s + oursSize({ ...batch, metrics: batch.metrics.map(({ sketch: _, ...m }) => m) }), 0);
  const standalone = hour.batches.reduce((s, b) => s + b.standalone, 0);
  const cost = await referenceCost(hour);
  // What the log defaults trade: fewer samples, then warnings as templates rather than verbatim.
  const wireOf = (h: Hour) => h.batches.reduce((n, b) => n + b.wire, 0);
  const fewSamples = { templates: { maxSamples: 1, sampleIntervalMs: 3_600_000 } };
  const oneSample = wireOf(await simulateHour(fewSamples));
  const dictionary = await templateDictionary(hour);
  const content: Array<[string, number]> = [];
  for (const [name, blank] of MANDATED_CONTENT) content.push([name, ours - (await wireWith(hour, blank))]);
  const contentSum = content.reduce((s, [, n]) => s + n, 0);
  const errorsOnly = wireOf(await simulateHour({ ...fewSamples, defaults: { verbatimLevel: 'error' } }));
  const speed = throughput(
    hour.batches.map((b) => b.batch),
    level,
  );

  const classes = [...byClass.entries()]
    .sort(([a], [b]) => a - b)
    .map(
      ([cls, c]) =>
        `class ${cls} (${c.batches} batches): ours ${c.ours} B, JSON+zstd ${c.json} B, OTLP+gzip ${c.otlp} B`,
    );
  const sections = (s: SectionSizes) =>
    `header ${s.header}, containers ${s.containers}, container metrics ${s.containerMetrics}, level metrics ${s.levelMetrics}, logs ${s.logs}, templates ${s.templates}, drops ${s.drops}`;
  const report = [
    `workload: ${hour.lines} lines (${hour.rawLogBytes} B json-file), ${hour.rawStatsBytes} B of docker stats JSON; ${hour.batches.length} batches in ${hour.windows.length} windows`,
    `level mix fed (datasets' Level column): ${mix(hour.fedLevels)}`,
    `level mix parsed by the pipeline: ${mix(hour.parsedLevels)}`,
    ...classes,
    `sections alone, summed over the hour (ours): ${sections(oursSections)}`,
    `sections alone, summed over the hour (JSON+zstd): ${sections(jsonSections)}`,
    `one batch per window instead: ours ${oursWindow} B, JSON+zstd ${jsonWindow} B, OTLP+gzip ${otlpWindow} B`,
    `per window: ${perWindow(hour)}`,
    `class 0 without the quantile sketches: ours ${withoutSketches} B`,
    `standalone frames (as the outbox keeps them; sender.references = 0): ${standalone} B (${(raw / standalone).toFixed(1)}x raw)`,
    `what-if, logs.templates.maxSamples 1 and sampleIntervalMs 1 h (defaults 3, 15 min): ${oneSample} B (${(raw / oneSample).toFixed(1)}x raw); and verbatimLevel error (default warn): ${errorsOnly} B (${(raw / errorsOnly).toFixed(1)}x raw)`,
    `what-if, a template dictionary per epoch (a row sent before goes as a 2-byte handle, its text left out while unchanged): ${dictionary} B (${(raw / dictionary).toFixed(1)}x raw)`,
    `content the defaults must carry, each what it adds to the hour: ${content.map(([name, n]) => `${name} ${n} B`).join(', ')}; together ${contentSum} B against the ${Math.floor(raw / 100)} B that 100x allows, leaving ${Math.floor(raw / 100) - contentSum} B for everything else (now ${ours - contentSum} B: identities, times of lines, framing)`,
    `CPU per batch: ${cost.reencodeMs.toFixed(2)} ms to re-encode against the keyframes (referenceLevel ${resolveCodecOptions().referenceLevel}), ${cost.encodeMs.toFixed(2)} ms for the standalone encode (level ${level})`,
    `encode input ${speed.mb.toFixed(2)} MB of JSON per pass`,
  ];
  process.stdout.write(`\n  ${report.join('\n  ')}\n`);

  const note = `30 containers, 10 s scrape, 60 s window, 20 lines/s Loghub-2k, one simulated hour, codec and sender defaults (zstd ${level} standalone, ${resolveCodecOptions().referenceLevel} against keyframes)`;
  return [
    {
      name: 'uplink.bytes_per_node_hour',
      value: ours,
      unit: 'bytes',
      baseline: raw,
      ratio: raw / ours,
      note: `${note}; baseline = raw (a)`,
    },
    {
      name: 'uplink.ratio_vs_raw',
      value: raw / ours,
      unit: 'x',
      baseline: raw,
      note: `raw = ${hour.rawLogBytes} B json-file + ${hour.rawStatsBytes} B docker stats JSON`,
    },
    {
      name: 'uplink.ratio_vs_json_zstd',
      value: json / ours,
      unit: 'x',
      baseline: json,
      note: `same batches, JSON.stringify + zstd ${level}`,
    },
    {
      name: 'uplink.ratio_vs_otlp_gzip',
      value: otlp / ours,
      unit: 'x',
      baseline: otlp,
      note: 'same batches, OTLP ExportMetrics/ExportLogsServiceRequest protobuf + gzip 6',
    },
    {
      name: 'uplink.encode_mb_per_s_per_core',
      value: speed.ours,
      unit: 'MB/s',
      baseline: speed.json,
      ratio: speed.ours / speed.json,
      note: 'MB of JSON-equivalent batch content per CPU-second; baseline JSON.stringify + zstd, same batches, same run',
    },
    {
      name: 'uplink.reference_encode_ms_per_batch',
      value: cost.reencodeMs,
      unit: 'CPU ms',
      baseline: cost.encodeMs,
      ratio: cost.reencodeMs / cost.encodeMs,
      note: `sender's re-encode against the keyframes at referenceLevel ${resolveCodecOptions().referenceLevel}, per batch of the hour; baseline the standalone encode at level ${level}; 4 batches per 60 s window`,
    },
    {
      name: 'uplink.standalone_bytes_per_node_hour',
      value: standalone,
      unit: 'bytes',
      baseline: raw,
      ratio: raw / standalone,
      note: 'the same batches standalone, as the outbox keeps them (sender.references 0); baseline = raw (a)',
    },
    ...[...byClass.entries()]
      .sort(([a], [b]) => a - b)
      .map(([cls, c]) => ({
        name: `uplink.class${cls}_bytes_per_node_hour`,
        value: c.ours,
        unit: 'bytes',
        baseline: c.json,
        ratio: c.json / c.ours,
        note: `priority class ${cls} (${CLASS_CONTENTS[cls] ?? ''}), ${c.batches} batches as sent; baseline the same batches as JSON+zstd; OTLP+gzip ${c.otlp} B`,
      })),
    {
      name: 'uplink.mandated_content_bytes_per_node_hour',
      value: contentSum,
      unit: 'bytes',
      baseline: Math.floor(raw / 100),
      ratio: contentSum / Math.floor(raw / 100),
      note: `what the content the defaults must carry adds to the hour, each kind blanked in turn: ${content.map(([name, n]) => `${name} ${n} B`).join(', ')}; baseline the hour that 100x less than raw allows; the rest of the hour (identities, times of lines, framing) ${ours - contentSum} B`,
    },
    {
      name: 'uplink.whatif_template_dictionary_bytes_per_node_hour',
      value: dictionary,
      unit: 'bytes',
      baseline: raw,
      ratio: raw / dictionary,
      note: 'not built: a template dictionary per epoch on both ends (a row sent before goes as a 2-byte handle, its text left out while unchanged); baseline = raw (a)',
    },
    {
      name: 'uplink.whatif_one_sample_bytes_per_node_hour',
      value: oneSample,
      unit: 'bytes',
      baseline: raw,
      ratio: raw / oneSample,
      note: 'not the default: logs.templates.maxSamples 1 and sampleIntervalMs 1 h (defaults 3 and 15 min); baseline = raw (a)',
    },
    {
      name: 'uplink.whatif_one_sample_errors_verbatim_bytes_per_node_hour',
      value: errorsOnly,
      unit: 'bytes',
      baseline: raw,
      ratio: raw / errorsOnly,
      note: 'not the default: as above, and warnings as templates (verbatimLevel error; default warn); baseline = raw (a)',
    },
  ];
}

export const benches: BenchCase[] = [{ name: 'uplink.economy', run }];
