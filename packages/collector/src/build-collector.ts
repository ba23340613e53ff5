/**
 * Production wiring: turns a validated CollectorConfig into the runtime's parts. Every stage is
 * constructed here and nowhere else, so the runtime (collector.ts) stays free of configuration.
 */
import path from 'node:path';
import { createCollector, type Collector, type StopOptions } from './collector.js';
import { sealDelayMs } from './runtime/aligned-timer.js';
import type { CollectorConfig } from './config/options.js';
import { DropCounter } from './batch/drops.js';
import type { LogSource, MetricSource } from './sources/types.js';
import type { Logger } from './runtime/logger.js';
import { Mailbox } from './runtime/mailbox.js';
import { boundRegexpBacktracking } from './runtime/bounded-regexps.js';
import { decodeCursor } from './runtime/cursor.js';
import { readMemoryLimit, readText } from './runtime/memory-limit.js';
import { sizeToMemory, v8HeapFlags } from './runtime/memory-sizing.js';
import {
  fileMappedBytesFromStat,
  DEFAULT_SHED,
  memoryReading,
  NO_SHED,
  SHED_STEPS,
  shedDecision,
  statusBytes,
} from './runtime/memory-pressure.js';
import { getHeapStatistics } from 'node:v8';
import { createProcessUsage, type ProcessProbe } from './self/process-usage.js';
import { SelfHealth } from './self/self-health.js';
import { selfSource } from './self/self-source.js';
import { DeltaReader } from './self/delta-reader.js';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { startHttpServer, type HttpServer } from './runtime/http-server.js';
import { lockDataDir } from './runtime/data-dir-lock.js';
import type { MetricsLog } from './self/log.js';
import { HostSource } from './sources/host/host-source.js';
import { CgroupSource } from './sources/cgroup/cgroup-source.js';
import { DockerSource } from './sources/docker/docker-source.js';
import { PrometheusSource } from './sources/prometheus/prometheus-source.js';
import type { OtlpReceiver } from './sources/otlp/otlp-receiver.js';
import { otlpIngestOptions } from './sources/otlp/options.js';
import { SpanSummarizer } from './transforms/spans/span-summarizer.js';
import { LogFileSource } from './sources/logfiles/log-file-source.js';
import { missingLogRoots } from './sources/logfiles/discover.js';
import { demoFleet } from './sources/demo/fleet-profile.js';
import { createDemoMetricSource, type DemoSeries } from './sources/demo/demo-metric-source.js';
import { createDemoLogSource, type DemoLogSourceOptions } from './sources/demo/demo-log-source.js';
import { loadDemoSeries } from './sources/demo/load-series.js';
import { Downsampler } from './transforms/downsample/downsampler.js';
import { TierRoller } from './transforms/downsample/tiers.js';
import { ddSketchOps } from './transforms/downsample/ddsketch-ops.js';
import { LogPipeline } from './transforms/logs/pipeline.js';
import { LogStore } from './store/log-store.js';
import { createUplink } from './uplink/index.js';
import type { Delivery, Uplink } from './uplink/sender/uplink.js';
import { systemClock } from './uplink/sender/clock.js';
import { PullResponder } from './pull/responder.js';
import { Redactor } from './transforms/redact/redactor.js';
import {
  createConfigCodec,
  nodeCapabilities,
  type BatchCodec,
  type ContainerEvent,
  type ContainerInfo,
  type PullCommand,
} from '@edge-telemetry/protocol';
import { createConfigAgent, type ConfigAgent } from './fleet/config-agent.js';
import { startingConfig } from './fleet/remote-config.js';
import { readAppliedRemote, writeAppliedRemote } from './fleet/state-file.js';

export const AGENT_VERSION = '0.1.0';
const STORE_FLUSH_MS = 5000;
const MEMORY_SAMPLE_MS = 500;

export interface RunningCollector {
  collector: Collector;
  uplink: Uplink;
  store: LogStore | undefined;
  /** Answers log-pull commands; present when the full-log store is on. */
  pull: PullResponder | undefined;
  /** The /healthz and /metrics listener, when configured. */
  httpUrl: string | undefined;
  /** Remote configuration: applies `config` commands, says their state in the status. */
  remoteConfig: ConfigAgent;
  /** The OTLP/HTTP receiver's base URL, when sources.otlp is enabled. */
  otlpUrl: string | undefined;
  /** The OTLP/gRPC receiver's address (`http://host:port`), when sources.otlp.grpc is on too. */
  otlpGrpcUrl: string | undefined;
  /**
   * Stops every part. With `seal: true` ("seal the current window, then stop") the sources stop
   * first, the partial window is sealed into the outbox, and acks for what is queued are awaited
   * while they keep coming (at most `ackWaitMs`), so a clean stop leaves little to resend.
   */
  stop(options?: RunningStopOptions): Promise<void>;
}

export interface RunningStopOptions extends StopOptions {
  /** Longest wait for acks after the seal (default 5 s: inside the 10 s a container runtime gives before SIGKILL). */
  ackWaitMs?: number;
}

/** After the seal, acks are awaited while they keep coming: this long without one ends the wait. */
const ACK_IDLE_MS = 3000;
const ACK_POLL_MS = 100;

/**
 * Parts a process running many collectors (the fleet simulator) builds once and hands to each.
 * The collector bin passes none: then each is built here, per collector.
 */
export interface SharedParts {
  /** A batch codec holds zstd contexts (~0.6 MB); encode is synchronous, so one per thread serves every collector in it. */
  codec?: BatchCodec;
  /** The demo metric series, read once instead of per collector. */
  demoSeries?: DemoSeries;
  /** Where demo log lines come from (e.g. the Loghub corpora); default: the demo templates. */
  demoLogPick?: DemoLogSourceOptions['pick'];
  /**
   * Where the process' CPU and RSS are read (many collectors in one process can read them once for
   * all). Given, the process is not one collector's: no shedding under memory pressure.
   */
  processProbe?: ProcessProbe;
  /** Each batch's first end-to-end ack, with the node's id (the fleet simulator's delivery log). */
  onDelivered?: (node: string, d: Delivery) => void;
}

export async function buildCollector(
  local: CollectorConfig,
  log: Logger,
  shared: SharedParts = {},
): Promise<RunningCollector> {
  boundRegexpBacktracking();
  const lock = await lockDataDir(local.dataDir);
  // The remote configuration applied before a restart is part of what the collector is built with.
  const persisted = await readAppliedRemote(local.dataDir);
  if (persisted.error)
    log.warn('persisted remote configuration unreadable; starting on the local one', { err: persisted.error });
  const starting = startingConfig(local, persisted.value?.doc.options);
  if (starting.error)
    log.warn('persisted remote configuration refused; starting on the local one', { err: starting.error });
  // What the collector holds, sized to the memory it may use (options set explicitly are kept).
  const limit =
    local.memory.limitBytes === 0
      ? readMemoryLimit()
      : { bytes: local.memory.limitBytes > 0 ? local.memory.limitBytes : undefined, source: 'memory.limitBytes' };
  const { config, sizing } = sizeToMemory(starting.config, limit.bytes);
  log.info('memory sizing', {
    limitBytes: limit.bytes ?? null,
    source: limit.source,
    factor: Number(sizing.factor.toFixed(3)),
    ...sizing.sizes,
    kept: sizing.kept,
  });
  // Shedding under memory pressure, sampled twice a second against that limit (runtime/memory-pressure.ts).
  const shed = { state: NO_SHED, entered: SHED_STEPS.map(() => 0) };
  const heapLimitBytes = getHeapStatistics().heap_size_limit;
  // What the cgroup is charged for besides this process's anonymous memory (not found for a limit set in the configuration).
  const statFile = 'statFile' in limit ? limit.statFile : undefined;
  // Started without a bounded heap under a small limit: the kernel would kill it whatever it sheds.
  const heapFlags = v8HeapFlags(limit.bytes);
  if (heapFlags.length > 0 && limit.bytes !== undefined && heapLimitBytes > limit.bytes * 0.75)
    log.warn('V8 heap not bounded for this memory limit: start node with these flags (NODE_OPTIONS)', {
      limitBytes: limit.bytes,
      heapLimitBytes,
      flags: heapFlags.join(' '),
    });
  const processUsage = createProcessUsage(shared.processProbe);
  // Reading memory opens /proc files: out of descriptors (EMFILE) it throws, from a timer, which
  // would end the process. A failed sample keeps the last shedding decision, is counted, and is
  // said once until a sample succeeds again.
  const sampling = { failures: 0, failing: false };
  const sampleMemory = () => {
    try {
      sampleMemoryOnce();
      sampling.failing = false;
    } catch (err) {
      sampling.failures++;
      if (!sampling.failing) log.warn('memory sample failed; shedding keeps its last decision', { err: String(err) });
      sampling.failing = true;
    }
  };
  const sampleMemoryOnce = () => {
    const u = process.memoryUsage();
    const status = readText('/proc/self/status') ?? '';
    const anonBytes = statusBytes(status, 'RssAnon') ?? u.rss;
    const fileMappedBytes =
      statFile === undefined
        ? (statusBytes(status, 'RssFile') ?? 0)
        : fileMappedBytesFromStat(readText(statFile) ?? '');
    const reading = memoryReading(
      {
        anonBytes,
        fileMappedBytes,
        heapUsedBytes: u.heapUsed,
        heapTotalBytes: u.heapTotal,
        heapLimitBytes,
        externalBytes: u.external,
      },
      limit.bytes,
    );
    const before = shed.state.level;
    shed.state = shedDecision(reading, shed.state);
    const level = shed.state.level;
    if (level === before) return;
    for (let i = before; i < level; i++) shed.entered[i] = (shed.entered[i] ?? 0) + 1;
    const fields = {
      pressure: Number(shed.state.pressure.toFixed(3)),
      resident: Number(reading.resident.toFixed(3)),
      live: Number(reading.live.toFixed(3)),
      anonBytes,
      fileMappedBytes,
      rssBytes: u.rss,
      heapUsedBytes: u.heapUsed,
    };
    if (level > before) log.warn('memory pressure: shedding', { steps: SHED_STEPS.slice(0, level), ...fields });
    else log.info('memory pressure eased', { steps: SHED_STEPS.slice(0, level), ...fields });
  };
  // A process hosting many collectors (the fleet simulator passes its probe) is not one collector's budget.
  const memoryTimer =
    shared.processProbe === undefined ? setInterval(sampleMemory, MEMORY_SAMPLE_MS).unref() : undefined;
  const drops = new DropCounter();
  // One provider, two readers: DELTA for the batches (per-window totals), cumulative for
  // Prometheus, which only exists when there is a listener to serve it.
  const deltaReader = new DeltaReader();
  const prometheus = config.http.port < 0 ? undefined : new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: prometheus ? [deltaReader, prometheus] : [deltaReader] });
  const selfHealth = new SelfHealth({ meterProvider, reader: deltaReader, probe: shared.processProbe });
  const metricsLog: MetricsLog = (e) => log[e.level](e.msg, { code: e.code, ...e.fields });
  const deps = { log: metricsLog, meter: selfHealth.meter };
  // Built first and passed in, so that producers built early hand on to consumers built later.
  const events = new Mailbox<ContainerEvent>();
  const containers = new Map<string, ContainerInfo>();

  const metricSources: MetricSource[] = [];
  // Built before the sources: a Prometheus target's scrape is handed to it when it ends.
  const downsampler = new Downsampler(config.downsample, { sketches: ddSketchOps, report: drops });
  const { host, cgroup, docker, logFiles, demo } = config.sources;
  if (host.enabled) metricSources.push(new HostSource({ ...host, dataDir: config.dataDir }, deps));
  if (cgroup.enabled) metricSources.push(new CgroupSource(cgroup, deps));
  let dockerSource: DockerSource | undefined;
  if (docker.enabled) {
    dockerSource = new DockerSource(docker, deps);
    dockerSource.startEvents((e) => events.post(e));
    metricSources.push(dockerSource);
  }
  if (config.sources.prometheus.enabled) {
    const listed = dockerSource;
    const prometheusIngest = { maxGroupSeries: config.sources.prometheus.maxSeriesTotal };
    // After the Docker source, so that each tick's label discovery sees that tick's container list.
    metricSources.push(
      new PrometheusSource(config.sources.prometheus, {
        ...deps,
        scrapeIntervalMs: config.scrapeIntervalMs,
        sink: (source, result) => downsampler.ingest(source, result, prometheusIngest),
        containers: listed ? () => listed.listed() : undefined,
        report: drops,
      }),
    );
  }
  const fleet = demo.containers > 0 ? demoFleet(config.node, demo.containers) : [];
  if (fleet.length > 0)
    metricSources.push(
      createDemoMetricSource({
        node: config.node,
        containers: fleet,
        series: shared.demoSeries ?? (await loadDemoSeries()),
        scrapeIntervalMs: config.scrapeIntervalMs,
        onEvent: (e) => events.post(e),
      }),
    );

  const store = config.store.enabled
    ? await LogStore.open({ ...config.store, dir: path.join(config.dataDir, 'logs') })
    : undefined;
  // Lines wait in memory until a block fills; sealing on a timer bounds how stale a log pull can be
  // and how much a power cut can take.
  const storeTimer = store
    ? setInterval(
        () => store.flush().catch((err: Error) => log.error('log store write failed', { err: err.message })),
        STORE_FLUSH_MS,
      ).unref()
    : undefined;

  // Status changes wait here until the uplink that publishes them exists (the birth carries the first).
  const statusChanges = new Mailbox<true>(1);
  // A persistent session may deliver a queued pull command as soon as the uplink connects: it
  // waits here until the responder, which publishes through the uplink, exists.
  const commands = new Mailbox<PullCommand>();
  let connectErrors = 0;
  const uplink = await createUplink({
    node: config.node,
    agentVersion: AGENT_VERSION,
    capabilities: nodeCapabilities(store !== undefined),
    codec: shared.codec,
    options: { ...config.uplink, outbox: { ...config.uplink.outbox, dir: path.join(config.dataDir, 'outbox') } },
    onCut: (cut) => log.warn('outbox: cut a corrupt or torn tail at start-up', { ...cut }),
    onEvict: (rec) =>
      log.warn('outbox: evicted a batch to stay within its byte cap', {
        seq: rec.seq,
        priorityClass: rec.priorityClass,
      }),
    onOrphans: (records) =>
      log.warn('outbox: dropped the batches of a seal cut short by a crash; their lines are read again', { records }),
    // The store's old lines give way to batches the centre has not got yet.
    freeSpace: () => store?.freeSpace() ?? Promise.resolve(false),
    onBadMessage: (topic, err) =>
      log.warn('ignored a malformed message', { topic, code: err.code, detail: err.detail }),
    drops,
    onEncodeRefused: (r) =>
      log.error('uplink: the codec refused a batch; the rest of its seal goes on, the batch is counted as a drop', {
        ...r,
      }),
    ...(shared.onDelivered ? { onDelivered: (d: Delivery) => shared.onDelivered?.(config.node, d) } : {}),
    onConnectError: (err, repeat) => {
      connectErrors++;
      if (!repeat)
        log.warn('uplink: could not connect to the broker; retrying', {
          code: 'ET_ERR_UPLINK_CONNECT',
          // Without any user:password the URL may carry.
          broker: new URL(config.uplink.mqtt.url).host,
          reason: err.message,
          ...(err.code !== undefined ? { mqttCode: err.code } : {}),
        });
    },
    onProtocolFallback: () =>
      log.info('uplink: the broker does not speak MQTT 5; connecting with 3.1.1', {
        fix: 'set uplink.mqtt.protocolVersion to 4 to ask for 3.1.1 first',
      }),
    onCommand: (cmd) => {
      if (cmd.type === 'config') remoteConfig.handle(cmd);
      else if (store) commands.post(cmd);
    },
    status: () => ({
      ...(Object.keys(config.labels).length > 0 ? { labels: config.labels } : {}),
      config: remoteConfig.status(),
    }),
  });
  statusChanges.deliverTo(() => uplink.publishStatus());

  // Where the previous run's last durable seal left each file (undefined at the very first start).
  const cursor = decodeCursor(uplink.cursor());
  const logSources: LogSource[] = [];
  const noRoots = logFiles.enabled ? missingLogRoots(logFiles) : undefined;
  if (noRoots !== undefined) log.warn('sources.logFiles: no folder to read', { fix: noRoots });
  if (logFiles.enabled)
    logSources.push(
      new LogFileSource(logFiles, {
        report: drops,
        resume: cursor && new Map(Object.entries(cursor.files).map(([p, [inode, offset]]) => [p, { inode, offset }])),
        stored: store?.sourceEnds(),
        log,
      }),
    );
  if (fleet.length > 0)
    logSources.push(createDemoLogSource({ node: config.node, containers: fleet, pick: shared.demoLogPick }));
  const logs = new LogPipeline(config.logs, {
    now: Date.now,
    report: drops,
    windowMs: config.downsample.windowMs,
    restore: cursor,
    // The runtime knows the containers from the latest scrapes; the log stages pick settings by them.
    describe: (name) => containers.get(name),
    onRecord: store
      ? (r, raw, recordedUpTo) => {
          // Read again after a restart and already stored before it: not stored twice.
          const f = raw.file;
          if (f !== undefined && (raw.end <= f.storedUpTo || f.storedExtra?.has(raw.end))) return;
          if (shed.state.level >= 2) {
            drops.drop({ stage: 'store', reason: 'memory_pressure', container: r.container });
            return;
          }
          if (!store.append(r, f && { file: f, end: raw.end, upTo: recordedUpTo }))
            drops.drop({ stage: 'store', reason: 'write_lag', container: r.container });
        }
      : undefined,
  });

  // After the log pipeline: a debug persisted before a restart is resumed on it at once.
  const remoteConfig = createConfigAgent({
    local,
    started: starting.config,
    applied: starting.error ? undefined : persisted.value,
    ...(starting.error ? { startError: starting.error } : {}),
    codec: createConfigCodec(),
    logs,
    persist: (v) => writeAppliedRemote(config.dataDir, v),
    publishStatus: () => statusChanges.post(true),
    lastContact: () => uplink.lastContactAt,
    revertAfterMs: config.remoteConfig.revertAfterMs,
    failedStartsBeforeRevert: config.remoteConfig.failedStartsBeforeRevert,
    confirmAfterMs: config.uplink.sender.ackTimeoutMs,
    now: Date.now,
    log,
  });

  const pull = store
    ? new PullResponder({
        node: config.node,
        store,
        link: {
          publish: (topic, payload) => uplink.publishDirect(topic, payload),
          connected: () => uplink.isConnected,
        },
        options: config.pull,
        redactor: config.pull.redact ? new Redactor(config.logs.redact) : undefined,
        clock: systemClock,
        log: (level, msg, fields) => log[level](msg, fields),
      })
    : undefined;
  if (pull) commands.deliverTo((cmd) => pull.handle(cmd));

  // What the store and the uplink say of themselves, gathered once per collect (/metrics, or the
  // self scrape: selfSource) for every figure read from it: each stats() call builds its whole object.
  const figures = () => ({ store: store?.stats(), uplink: uplink.stats() });
  type Figures = ReturnType<typeof figures>;
  const fullWrites = (f: Figures) => (f.store?.diskFullWrites ?? 0) + f.uplink.outbox.diskFullWrites;
  // Full from a write that found the data volume full until two windows (and two store flushes)
  // went by without one, so the gauge and the log say it once per episode rather than per write.
  const fullHoldMs = 2 * Math.max(config.downsample.windowMs, STORE_FLUSH_MS);
  let fullWritesSeen = 0;
  let lastFullAt = -Infinity;
  let dataDirFull = false;
  const noteDataDir = (now: number, f: Figures) => {
    const writes = fullWrites(f);
    if (writes > fullWritesSeen) lastFullAt = now;
    fullWritesSeen = writes;
    const full = now - lastFullAt < fullHoldMs;
    if (full === dataDirFull) return;
    dataDirFull = full;
    const counts = {
      dataDir: config.dataDir,
      storeDiskFullEvictions: f.store?.diskFullEvictions ?? 0,
      storeLostLines: f.store?.lostRecords ?? 0,
      outboxDiskFullRefused: f.uplink.outbox.diskFullRefused,
    };
    if (full)
      log.error(
        'data volume full: the full-log store evicts its oldest lines to make room, batches that still do not fit are refused (counted)',
        { code: 'ET_ERR_DISK_FULL', ...counts },
      );
    else log.info('data volume has room again', counts);
  };
  let bytesCounted = 0;
  const self = selfSource({
    health: selfHealth,
    figures,
    seen: (now, f) => {
      noteDataDir(now, f);
      selfHealth.instruments.bytesSent.add(f.uplink.bytesSent - bytesCounted);
      bytesCounted = f.uplink.bytesSent;
    },
  });
  metricSources.push(self.source);
  const fileSource = logSources.find((s): s is LogFileSource => s instanceof LogFileSource);
  selfHealth.observeValues({
    snapshot: self.snapshot,
    gauges: {
      'queue.batches': { help: 'Batches in the outbox not yet acknowledged', read: (f) => f.uplink.queueBatches },
      'queue.bytes': {
        help: 'Bytes of the batches in the outbox not yet acknowledged',
        unit: 'By',
        read: (f) => f.uplink.queueBytes,
      },
      'logs.backlog_bytes': {
        help: 'Bytes of the log files not read yet',
        read: () => fileSource?.backlogBytes() ?? 0,
      },
      'logs.files_followed': {
        help: 'Log files followed (read lately, or not yet to their end)',
        read: () => fileSource?.fileCounts().followed ?? 0,
      },
      'logs.files_rested': {
        help: 'Log files read to their end and idle, kept as a position until they change',
        read: () => fileSource?.fileCounts().rested ?? 0,
      },
      'data_dir.full': {
        help: '1 while the last write of the store or the outbox found the data volume full',
        read: () => (dataDirFull ? 1 : 0),
      },
      'store.bytes': { help: 'Bytes of the full-log store on disk', read: (f) => f.store?.bytes ?? 0 },
      'outbox.disk_bytes': { help: 'Bytes of the outbox on disk', read: (f) => f.uplink.outbox.diskBytes },
      'memory.pressure': {
        help: `Memory in use over the memory limit (0..1; anonymous memory less V8's free heap and what is held unused since a peak; shedding starts at ${DEFAULT_SHED.enter[0]})`,
        read: () => shed.state.pressure,
      },
      'memory.shed_level': {
        help: `Shedding steps in force (0 none; ${SHED_STEPS.map((s, i) => `${i + 1} ${s}`).join(', ')})`,
        read: () => shed.state.level,
      },
    },
    totals: {
      'store.evicted_segments': {
        help: 'Store segments deleted to stay within the store cap',
        read: (f) => f.store?.evictedSegments ?? 0,
      },
      'store.disk_full_evictions': {
        help: 'Store segments deleted because the data volume was full',
        read: (f) => f.store?.diskFullEvictions ?? 0,
      },
      'store.lost_lines': {
        help: 'Log lines the store lost: the data volume full with nothing left to evict',
        read: (f) => f.store?.lostRecords ?? 0,
      },
      'outbox.evicted_batches': {
        help: 'Unacknowledged batches evicted from the outbox (cap or full disk)',
        read: (f) => f.uplink.outbox.evicted.reduce((a, b) => a + b, 0),
      },
      'outbox.disk_full_refused': {
        help: 'Batches the outbox refused because the data volume was full',
        read: (f) => f.uplink.outbox.diskFullRefused,
      },
      ...Object.fromEntries(
        SHED_STEPS.map((step, i) => [
          `memory.shed.${step}`,
          { help: `Times the shedding step ${step} was entered`, read: () => shed.entered[i] ?? 0 },
        ]),
      ),
      'data_dir.full_writes': { help: 'Writes that found the data volume full', read: fullWrites },
      'memory.sample_failures': {
        help: 'Readings of its own memory that failed (e.g. EMFILE, no descriptor left to read /proc); shedding and the health kept their last reading',
        read: () => sampling.failures + processUsage.rssFailures(),
      },
      'uplink.connect_errors': {
        help: 'Failed connection attempts to the broker',
        read: () => connectErrors,
      },
    },
  });
  // The log pipeline's figures walk its open windows: gathered once per collect for all of them.
  selfHealth.observeValues({
    snapshot: () => logs.stats(),
    gauges: {
      'logs.containers': {
        help: 'Containers whose log state is held (at most logs.maxContainers)',
        read: (l) => l.containers,
      },
      'logs.templates': {
        help: 'Templates held (at most logs.templates.maxClusters)',
        read: (l) => l.clusters,
      },
      'logs.template_tokens': {
        help: 'Tokens the templates hold over their views (at most logs.templates.maxHeldTokens)',
        read: (l) => l.templateTokens,
      },
      'logs.open_window_bytes': {
        help: 'Bytes of log lines held in windows not sealed yet',
        read: (l) => l.heldBytes,
      },
    },
    totals: {
      'logs.lines_read': { help: 'Log lines read', read: (l) => l.linesIn },
      'logs.late_lines': {
        help: 'Log lines whose window was sealed, put in the earliest open window of their container',
        read: (l) => l.lateLines,
      },
      'logs.containers_shed': {
        help: 'Containers whose log state was let go at logs.maxContainers (their open windows are sealed when due)',
        read: (l) => l.shedContainers,
      },
      'logs.templates_evicted': {
        help: 'Templates evicted, least recently matched first, at logs.templates.maxClusters or maxHeldTokens',
        read: (l) => l.evictions,
      },
      'logs.future_lines': {
        help: "Log lines stamped beyond logs.window.futureSkewMs ahead, windowed at the node's time",
        read: (l) => l.futureLines,
      },
    },
  });

  const spans = new SpanSummarizer(config.spans, {
    sketches: ddSketchOps,
    report: drops,
    significantDigits: config.downsample.significantDigits,
  });

  // Under budget pressure metrics go at the first configured tier, or at five windows.
  const tierMs = config.downsample.tiersMs[0] ?? 5 * config.downsample.windowMs;
  const collector = createCollector({
    node: config.node,
    agentVersion: AGENT_VERSION,
    scrapeIntervalMs: config.scrapeIntervalMs,
    windowMs: config.downsample.windowMs,
    sealDelayMs: sealDelayMs(config.node, config.downsample),
    metricSources,
    logSources,
    events,
    containers,
    downsampler,
    tiers: { tierMs, roller: new TierRoller([tierMs], ddSketchOps) },
    logs,
    spans,
    store,
    uplink,
    drops,
    process: processUsage,
    shedLevel: () => shed.state.level,
    now: Date.now,
    log,
  });

  let httpServer: HttpServer | undefined;
  let otlp: OtlpReceiver | undefined;
  try {
    const o = config.sources.otlp;
    const otlpIngest = otlpIngestOptions(o);
    // Loaded only when enabled: its gRPC and protobuf libraries would otherwise be evaluated at
    // every start and kept in the heap, which each old-generation collection marks again.
    otlp = !o.enabled
      ? undefined
      : await (
          await import('./sources/otlp/otlp-receiver.js')
        ).startOtlpReceiver(o, {
          sinks: {
            metrics: (samples, histograms) => downsampler.ingest('otlp', { samples, histograms }, otlpIngest),
            log: (line) => logs.push(line),
            span: (s) => spans.add(s),
          },
          containerOf: (id) => {
            for (const c of containers.values())
              if (c.id === id || (id.length >= 12 && c.id.startsWith(id))) return c.name;
            return undefined;
          },
          report: drops,
          meter: selfHealth.meter,
          now: Date.now,
          log,
        });
    httpServer =
      prometheus === undefined
        ? undefined
        : await startHttpServer(config.http.host, config.http.port, {
            health: () => {
              const s = uplink.stats();
              return { node: config.node, connected: s.connected, queueBatches: s.queueBatches };
            },
            prometheus,
          });
  } catch (err) {
    // The port is taken (or the address wrong): close what is open, so the caller can report and exit.
    await remoteConfig
      .startFailed((err as Error).message)
      .catch((e: Error) => log.warn('remote configuration not reverted after the failed start', { err: e.message }));
    remoteConfig.close();
    await otlp?.close();
    pull?.close();
    await collector.stop();
    await uplink.close();
    clearInterval(storeTimer);
    clearInterval(memoryTimer);
    await store?.close();
    await meterProvider.shutdown();
    await lock.release();
    throw err;
  }
  await remoteConfig
    .started()
    .catch((e: Error) => log.warn('remote configuration not marked as started', { err: e.message }));

  return {
    collector,
    uplink,
    store,
    pull,
    httpUrl: httpServer?.url,
    remoteConfig,
    otlpUrl: otlp?.url,
    otlpGrpcUrl: otlp?.grpcUrl,
    stop: async (options = {}) => {
      remoteConfig.close();
      // First, so that no request is taken after the seal.
      await otlp?.close();
      pull?.close();
      await collector.stop(options);
      if (options.seal) await awaitAcks(uplink, options.ackWaitMs ?? 5000);
      await uplink.close();
      clearInterval(storeTimer);
      clearInterval(memoryTimer);
      await store?.close();
      await httpServer?.close();
      await meterProvider.shutdown();
      await lock.release();
    },
  };
}

/** Waits until nothing is queued, or the link is down, or no ack came for ACK_IDLE_MS (no ingester is answering), or maxMs passed. */
async function awaitAcks(uplink: Uplink, maxMs: number): Promise<void> {
  const start = Date.now();
  let acked = -1;
  let lastChange = start;
  for (;;) {
    const s = uplink.stats();
    const now = Date.now();
    if (s.acked !== acked) lastChange = now;
    acked = s.acked;
    if (!s.connected || s.queueBatches === 0 || now - lastChange >= ACK_IDLE_MS || now - start >= maxMs) return;
    await new Promise((r) => setTimeout(r, ACK_POLL_MS));
  }
}
