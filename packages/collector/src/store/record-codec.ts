import type { LogLevelValue } from '@edge-telemetry/protocol';

/** One stored line: what the full-log store keeps and a log pull returns. */
export interface StoredLogRecord {
  ts: number;
  container: string;
  stream: 'stdout' | 'stderr';
  level: LogLevelValue;
  line: string;
}

/**
 * Block payload before compression: per record `ts f64 | level u8 | stream u8 | container
 * index u16 | line length u32 | line utf8`, container names listed once in the block header.
 */
export function encodeRecords(records: readonly StoredLogRecord[], containers: Map<string, number>): Buffer {
  let size = 0;
  for (const r of records) size += 16 + Buffer.byteLength(r.line);
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of records) {
    buf.writeDoubleLE(r.ts, at);
    buf[at + 8] = r.level;
    buf[at + 9] = r.stream === 'stderr' ? 1 : 0;
    buf.writeUInt16LE(containers.get(r.container) ?? 0, at + 10);
    const n = buf.write(r.line, at + 16, 'utf8');
    buf.writeUInt32LE(n, at + 12);
    at += 16 + n;
  }
  return buf;
}

export function decodeRecords(payload: Buffer, containers: readonly string[], count: number): StoredLogRecord[] {
  const out: StoredLogRecord[] = [];
  let at = 0;
  for (let i = 0; i < count && at + 16 <= payload.length; i++) {
    const n = payload.readUInt32LE(at + 12);
    out.push({
      ts: payload.readDoubleLE(at),
      level: payload[at + 8] as LogLevelValue,
      stream: payload[at + 9] === 1 ? 'stderr' : 'stdout',
      container: containers[payload.readUInt16LE(at + 10)] ?? '',
      line: payload.toString('utf8', at + 16, at + 16 + n),
    });
    at += 16 + n;
  }
  return out;
}
