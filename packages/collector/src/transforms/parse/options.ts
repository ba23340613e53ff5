import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../../config/resolve-options.js';

export const LevelNameSchema = (dflt: string) => Type.Union([Type.Literal('trace'), Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('fatal')], { default: dflt });

export const ParseOptionsSchema = Type.Object({
  /** Level of a stdout line that names none. */
  stdoutLevel: LevelNameSchema('info'),
  /** Level of a stderr line that names none: stderr is a hint that something is wrong. */
  stderrLevel: LevelNameSchema('warn'),
  /** Structured fields kept per line (JSON, logfmt); the rest are left in the message only. */
  maxFields: Type.Integer({ minimum: 0, default: 16 }),
  /** Longest field value kept, in characters. */
  maxFieldLength: Type.Integer({ minimum: 1, default: 256 }),
});
export type ParseOptions = Static<typeof ParseOptionsSchema>;

export function parseOptions(partial: Partial<ParseOptions> = {}): ParseOptions {
  return resolveOptions(ParseOptionsSchema, partial);
}

export const MultilineOptionsSchema = Type.Object({
  /** A partial event is emitted when no continuation arrived within this time. */
  flushAfterMs: Type.Integer({ minimum: 0, default: 1000 }),
  /** Lines joined into one event at most; the next line starts a new event. */
  maxLines: Type.Integer({ minimum: 1, default: 500 }),
  /** Characters in one joined event at most. */
  maxChars: Type.Integer({ minimum: 1, default: 65536 }),
});
export type MultilineOptions = Static<typeof MultilineOptionsSchema>;

export function multilineOptions(partial: Partial<MultilineOptions> = {}): MultilineOptions {
  return resolveOptions(MultilineOptionsSchema, partial);
}
