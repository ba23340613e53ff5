import { Type, type Static } from '@sinclair/typebox';
import { LOG_LEVEL_NAMES } from '../types/batch.js';

/** A log level by name (the API's filters take the same names); `options` adds a default and a description. */
export const LevelNameSchema = (options: { default?: string; description: string }) =>
  Type.Union(
    LOG_LEVEL_NAMES.map((n) => Type.Literal(n)),
    options,
  );

export const ParseOptionsSchema = Type.Object({
  stdoutLevel: LevelNameSchema({ default: 'info', description: 'Level given to a stdout line that names none.' }),
  /** stderr is a hint that something is wrong. */
  stderrLevel: LevelNameSchema({ default: 'warn', description: 'Level given to a stderr line that names none.' }),
  maxFields: Type.Integer({
    minimum: 0,
    default: 16,
    description: 'Structured fields (JSON, logfmt) kept per line; the rest are left in the message only.',
  }),
  maxFieldLength: Type.Integer({ minimum: 1, default: 256, description: 'Longest field value kept, in characters.' }),
  /**
   * Apps log local time without a zone, replay old files, or run with a wrong clock; a line dated
   * years back would also fall outside the ingester's retention and be dropped there.
   */
  maxLineTimeSkewMs: Type.Integer({
    minimum: 0,
    default: 300_000,
    description:
      "A time read from the line is used only within this many ms of the engine's receive time; otherwise the receive time is (the line keeps its own in the text). 0 = always the receive time.",
  }),
});
export type ParseOptions = Static<typeof ParseOptionsSchema>;

export const MultilineOptionsSchema = Type.Object({
  flushAfterMs: Type.Integer({
    minimum: 0,
    default: 1000,
    description: 'A multi-line event is emitted when no continuation line arrived within this time (ms).',
  }),
  maxLines: Type.Integer({
    minimum: 1,
    default: 500,
    description: 'Most lines joined into one event; the next line starts a new event.',
  }),
  maxChars: Type.Integer({ minimum: 1, default: 65536, description: 'Most characters in one joined event.' }),
});
export type MultilineOptions = Static<typeof MultilineOptionsSchema>;
