/**
 * OTLP requests that are small on the wire and large once decoded, an OpenTelemetry JS SDK log
 * export to compare them with, and the real collector bin in the gateway's cgroup (128 MiB, 0.2
 * CPU; test/support/cgroup.ts) to send them to: for test/otlp/decode-memory.test.ts and the
 * `otlp.worst_request` bench.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import protobuf from 'protobufjs';
import { createCgroup, type Cgroup } from '../support/cgroup.js';
import { procStatus } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { runCollector, type CollectorRun } from '../collector/rig.js';

const PROTO = path.resolve(import.meta.dirname, '../../packages/collector/proto');
const MiB = 2 ** 20;

/** One ExportLogsServiceRequest of one record whose body is `text`, gzipped at level 9 (as the session-15 reproduction did). */
export function oneLogRecordGzip(format: 'json' | 'protobuf', text: string): Buffer {
  const doc = {
    resourceLogs: [
      { scopeLogs: [{ logRecords: [{ timeUnixNano: '1765130000000000000', body: { stringValue: text } }] }] },
    ],
  };
  if (format === 'json') return zlib.gzipSync(JSON.stringify(doc), { level: 9 });
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => path.join(PROTO, target);
  root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto');
  const type = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
  return zlib.gzipSync(type.encode(type.fromObject(doc)).finish(), { level: 9 });
}

export interface Answer {
  status: number;
  retryAfter: string | null;
  message: string;
}

/** POSTs a gzip body to `<url>/v1/logs`; the status, Retry-After and the google.rpc.Status message (JSON) of the answer. */
export async function postLogs(url: string, format: 'json' | 'protobuf', gzip: Buffer): Promise<Answer> {
  const r = await fetch(`${url}/v1/logs`, {
    method: 'POST',
    body: gzip,
    headers: {
      'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf',
      'content-encoding': 'gzip',
    },
  });
  const text = await r.text();
  let message = '';
  if (format === 'json' && r.status !== 200) message = (JSON.parse(text) as { message: string }).message;
  return { status: r.status, retryAfter: r.headers.get('retry-after'), message };
}

/**
 * A full batch of the OpenTelemetry JS SDK's logs (512 records, its BatchLogRecordProcessor's
 * maxExportBatchSize) as its OTLP/HTTP JSON exporter sends them to `<url>/v1/logs`; resolves with
 * the export's result code (0: success).
 */
export async function sdkLogExport(url: string): Promise<number> {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'process.pid': 4242 }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const logger = provider.getLogger('app');
  for (let i = 0; i < 512; i++)
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: `GET /api/orders/${i} 200 in ${i % 97} ms user=u${i % 13} cart=${1000 + i} items=3 region=eu-west-1`,
      attributes: { 'http.method': 'GET', 'http.route': '/api/orders/:id', 'http.status_code': 200 },
    });
  await provider.forceFlush();
  const exporter = new OTLPLogExporter({ url: `${url}/v1/logs` });
  const code = await new Promise<number>((resolve) =>
    exporter.export(memory.getFinishedLogRecords(), (r) => resolve(r.code)),
  );
  await exporter.shutdown();
  await provider.shutdown();
  return code;
}

export interface OtlpCollectorInCgroup {
  run: CollectorRun;
  cgroup: Cgroup;
  /** The OTLP/HTTP receiver's base URL. */
  url: string;
  /** VmHWM or VmRSS of the collector, in bytes. */
  vm(field: 'VmHWM' | 'VmRSS'): Promise<number>;
  close(): Promise<void>;
}

/**
 * The collector bin (`node packages/collector/bin/collector.js`, no launcher flags) in a cgroup of
 * the gateway's 128 MiB / 0.2 CPU with its OTLP/HTTP receiver on (default limits) and nothing else
 * to read; its uplink points at a port where no broker listens, so what it holds is the receiver's.
 */
export async function startOtlpCollectorInCgroup(name: string): Promise<OtlpCollectorInCgroup> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-otlp-decode-'));
  const cgroup = await createCgroup(name, { memoryBytes: 128 * MiB, cpus: 0.2 });
  const run = await runCollector({
    dir,
    node: 'gw-otlp-big',
    dockerRoot: dir,
    brokerUrl: 'mqtt://127.0.0.1:1',
    cgroup,
    config: { sources: { docker: { enabled: false }, otlp: { enabled: true, port: 0 } } },
  });
  const close = async () => {
    await run.stop('SIGKILL');
    await cgroup.remove();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const url = await waitFor(
      () => `the collector's OTLP receiver; output:\n${run.output().slice(-2000)}`,
      () => {
        if (run.child.exitCode !== null) throw new Error(`collector exited (${run.child.exitCode}):\n${run.output()}`);
        return run.otlpUrl();
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const vm = (field: 'VmHWM' | 'VmRSS') => procStatus(run.child.pid, field);
    return { run, cgroup, url, vm, close };
  } catch (err) {
    await close();
    throw err;
  }
}
