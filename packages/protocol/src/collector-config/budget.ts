import { Type, type Static } from '@sinclair/typebox';

export const BudgetOptionsSchema = Type.Object({
  /** Sustained uplink rate in bytes/s (payload + MQTT framing estimate); 0 = unlimited. */
  rateBytesPerSec: Type.Integer({
    minimum: 0,
    default: 0,
    description: 'Uplink rate cap in bytes/s; 0 disables the rate limit.',
  }),
  /** Burst the token bucket allows, in seconds of rate. */
  burstSeconds: Type.Number({
    exclusiveMinimum: 0,
    default: 10,
    description: 'Token bucket depth in seconds of the rate.',
  }),
  /** Bytes per UTC day; 0 = unlimited. */
  dailyBytes: Type.Integer({
    minimum: 0,
    default: 0,
    description: 'Daily uplink byte budget (UTC day); 0 disables it.',
  }),
});
export type BudgetOptions = Static<typeof BudgetOptionsSchema>;
