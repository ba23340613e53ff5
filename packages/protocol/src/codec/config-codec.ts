/**
 * Remote configuration documents on the command channel: a node's merged layers as canonical JSON,
 * zstd-compressed and base64'd into a `config` command, with the sha256 of that JSON so the node
 * knows it decompressed exactly what the center sent. The collector's option schema validates the
 * `options` inside (the node knows its schema; the wire only checks the document's shape).
 */
import { createHash } from 'node:crypto';
import type { LogLevelName } from '../types/batch.js';
import type { ConfigCommand } from '../types/messages.js';
import { ProtocolError, type Result } from '../errors/errors.js';
import { CONFIG_DOC_VERSION, limits } from '../limits.js';
import { createZstd } from '../wire/zstd.js';
import { guard, int, invalid, list, oneOf, pattern, record, text, timestamp } from '../validate/checks.js';
import { decodeJson } from './control-codec.js';

/** Levels a time-boxed debug may lower a container's shipping to. */
export const DEBUG_LEVELS = ['trace', 'debug', 'info'] as const satisfies readonly LogLevelName[];

/**
 * A time-boxed debug of one node: lines at `level` and above of the chosen containers are shipped
 * verbatim until the earlier of `until` (center clock) and `forMs` after the node first saw this
 * order (node clock: a skewed clock cannot stretch it), within `extraBytes` of extra line bytes.
 */
export interface DebugOrder {
  id: string;
  until: number;
  forMs: number;
  extraBytes: number;
  level: (typeof DEBUG_LEVELS)[number];
  /** Container name globs (`*` any run); empty: every container. */
  containers: string[];
}

export interface ConfigDocument {
  /** A deep-partial collector configuration (its option names), applied over the node's local file. */
  options: Record<string, unknown>;
  debug?: DebugOrder;
}

/** JSON with object keys sorted at every level: the same document always has the same bytes and hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export const configHash = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('hex');

const DEBUG_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_DEBUG_CONTAINERS = 64;

export function checkConfigDocument(value: unknown): ConfigDocument {
  const d = record(value, '', 'document');
  const out: ConfigDocument = { options: record(d.options, '', 'options') };
  for (const k of Object.keys(d)) if (k !== 'options' && k !== 'debug') invalid(k, 'unknown field');
  if (d.debug !== undefined) {
    const g = record(d.debug, '', 'debug');
    out.debug = {
      id: pattern(g.id, 'debug', 'id', DEBUG_ID),
      until: timestamp(g.until, 'debug', 'until'),
      forMs: int(g.forMs, 'debug', 'forMs', 1, 7 * 86_400_000),
      extraBytes: int(g.extraBytes, 'debug', 'extraBytes', 0, 1024 ** 4),
      level: oneOf(g.level, 'debug', 'level', DEBUG_LEVELS),
      containers: list(g.containers, 'debug', 'containers', MAX_DEBUG_CONTAINERS).map((c, i) =>
        text(c, 'debug.containers', `[${i}]`, 256),
      ),
    };
  }
  return out;
}

export interface ConfigCodec {
  /** The command carrying `doc` as revision `rev`; throws ProtocolError when it would not fit a control message. */
  command(doc: ConfigDocument, rev: number, expiresAt: number): ConfigCommand;
  /** The document of a command: decompressed within limits.maxConfigDocBytes, hash checked, shape validated. */
  document(cmd: ConfigCommand): Result<ConfigDocument>;
}

export function createConfigCodec(opts: { level?: number } = {}): ConfigCodec {
  // Documents are small and rare: the highest level costs nothing that matters and saves link bytes.
  const zstd = createZstd({ level: opts.level ?? 19 });
  return {
    command(doc, rev, expiresAt) {
      const checked = guard(() => checkConfigDocument(doc));
      if (!checked.ok) throw checked.error;
      const json = canonicalJson(checked.value);
      if (Buffer.byteLength(json) > limits.maxConfigDocBytes)
        throw new ProtocolError(
          'ET_ERR_TOO_LARGE',
          `document: ${Buffer.byteLength(json)} bytes, limit ${limits.maxConfigDocBytes}`,
        );
      const cmd: ConfigCommand = {
        v: 1,
        type: 'config',
        rev,
        expiresAt,
        docVersion: CONFIG_DOC_VERSION,
        hash: createHash('sha256').update(json).digest('hex'),
        doc: zstd.compress(Buffer.from(json)).toString('base64'),
      };
      const size = Buffer.byteLength(JSON.stringify(cmd));
      if (size > limits.maxControlMessageBytes)
        throw new ProtocolError(
          'ET_ERR_TOO_LARGE',
          `config command: ${size} bytes, limit ${limits.maxControlMessageBytes}`,
        );
      return cmd;
    },
    document(cmd) {
      if (cmd.docVersion !== CONFIG_DOC_VERSION)
        return {
          ok: false,
          error: new ProtocolError(
            'ET_ERR_UNSUPPORTED_VERSION',
            `docVersion: ${cmd.docVersion}, this side reads ${CONFIG_DOC_VERSION}`,
          ),
        };
      const raw = zstd.decompress(Buffer.from(cmd.doc, 'base64'), limits.maxConfigDocBytes, false);
      if (!raw.ok) return raw;
      if (createHash('sha256').update(raw.value).digest('hex') !== cmd.hash)
        return { ok: false, error: new ProtocolError('ET_ERR_INVALID_FIELD', 'hash: differs from the document') };
      return decodeJson(raw.value, checkConfigDocument);
    },
  };
}
