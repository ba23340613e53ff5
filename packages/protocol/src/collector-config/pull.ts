import { Type, type Static } from '@sinclair/typebox';
import { BudgetOptionsSchema } from './budget.js';

export const PullOptionsSchema = Type.Object({
  /**
   * The pull allowance: a token bucket (the uplink budget's own mechanism) that pull chunks are
   * paced by, on top of the normal budget: pulled bytes are counted here, not against batches.
   */
  allowance: Type.Object(BudgetOptionsSchema.properties, {
    default: {},
    description: 'Pull allowance: rate (bytes/s, 0 = the link decides), burst and daily bytes for log-pull chunks.',
  }),
  /** Raw line bytes per chunk. Incompressible text must still fit the 256 KiB wire limit of a chunk. */
  chunkBytes: Type.Integer({
    minimum: 1024,
    maximum: 192 * 1024,
    default: 64 * 1024,
    description: 'Raw line bytes per pull chunk (before zstd).',
  }),
  /** Chunks published and not yet acknowledged by the broker (PUBACK); keeps a long link busy. */
  window: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 8,
    description: 'Pull chunks in flight to the broker at most.',
  }),
  /** Beyond it the window stops waiting for a broker acknowledgement (mqtt.js loses those caught by a reconnect). */
  ackTimeoutMs: Type.Integer({
    minimum: 100,
    default: 10_000,
    description:
      'A pull chunk without PUBACK after this long is no longer waited for; the ingester asks again for what did not arrive.',
  }),
  /** Pulled lines go through the same redaction as shipped lines unless turned off here. */
  redact: Type.Boolean({
    default: true,
    description: "Apply the log pipeline's redaction (logs.redact) to pulled lines.",
  }),
  /** zstd level of the chunks. */
  compressionLevel: Type.Integer({ minimum: 1, maximum: 19, default: 6, description: 'zstd level of pull chunks.' }),
  /** How often a pull paused by a lost connection looks again. */
  reconnectPollMs: Type.Integer({
    minimum: 10,
    default: 200,
    description: 'While the uplink is down, a running pull checks this often whether it is back.',
  }),
});
export type PullOptions = Static<typeof PullOptionsSchema>;
