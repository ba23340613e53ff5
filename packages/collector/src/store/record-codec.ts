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
 *
 * Records are written into the payload as they are appended rather than kept as objects until
 * the block is sealed: a block gathers ~1,000 lines, which outlived the young generation (1 MiB
 * semi-space inside a 128 MiB cgroup) and were copied and promoted to the old one, every line of
 * the backlog; written at once, the record and its line die young.
 */
export class RecordWriter {
  private buf: Buffer;
  private at = 0;
  private names = new Map<string, number>();
  count = 0;
  minTs = Infinity;
  maxTs = -Infinity;

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  add(r: StoredLogRecord): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2).
    const need = this.at + 16 + 3 * r.line.length;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.buf.length));
      this.buf.copy(grown, 0, 0, this.at);
      this.buf = grown;
    }
    let c = this.names.get(r.container);
    if (c === undefined) this.names.set(r.container, (c = this.names.size));
    const buf = this.buf;
    const at = this.at;
    buf.writeDoubleLE(r.ts, at);
    buf[at + 8] = r.level;
    buf[at + 9] = r.stream === 'stderr' ? 1 : 0;
    buf.writeUInt16LE(c, at + 10);
    const n = buf.write(r.line, at + 16, 'utf8');
    buf.writeUInt32LE(n, at + 12);
    this.at = at + 16 + n;
    this.count++;
    if (r.ts < this.minTs) this.minTs = r.ts;
    if (r.ts > this.maxTs) this.maxTs = r.ts;
  }

  /** Container names in index order. */
  containers(): string[] {
    return [...this.names.keys()];
  }

  /** The payload written so far: a view of the writer's buffer, valid until the next add after reset. */
  payload(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  /** Starts the next block in the same buffer. */
  reset(): void {
    this.at = 0;
    this.names = new Map();
    this.count = 0;
    this.minTs = Infinity;
    this.maxTs = -Infinity;
  }
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
