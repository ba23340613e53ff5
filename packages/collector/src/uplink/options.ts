/**
 * All uplink options in one schema: the lead's config nests it under `uplink`. Defaults are
 * filled in and the result checked, with one sentence saying what is wrong.
 */
import { Type, type Static } from '@sinclair/typebox';
import { BudgetOptionsSchema } from './budget/options.js';
import { CollectorError } from '../errors.js';
import { resolveOptions } from '../config/resolve-options.js';
import { MqttOptionsSchema } from './mqtt/options.js';
import { OutboxOptionsSchema } from './outbox/options.js';
import { SenderOptionsSchema } from './sender/options.js';

export const UplinkOptionsSchema = Type.Object({
  outbox: OutboxOptionsSchema,
  mqtt: MqttOptionsSchema,
  budget: Type.Optional(BudgetOptionsSchema),
  sender: Type.Optional(SenderOptionsSchema),
});
export type UplinkOptionsInput = Static<typeof UplinkOptionsSchema>;

export interface UplinkOptions {
  outbox: Static<typeof OutboxOptionsSchema>;
  mqtt: Static<typeof MqttOptionsSchema>;
  budget: Static<typeof BudgetOptionsSchema>;
  sender: Static<typeof SenderOptionsSchema>;
}

/** Fills defaults and validates; throws ET_ERR_OPTIONS naming the first offending field. */
export function resolveUplinkOptions(input: unknown): UplinkOptions {
  const raw = (typeof input === 'object' && input !== null ? structuredClone(input) : {}) as Record<string, unknown>;
  raw.budget ??= {};
  raw.sender ??= {};
  const o = resolveOptions(UplinkOptionsSchema, raw) as UplinkOptions;
  if (o.mqtt.reconnectMaxMs < o.mqtt.reconnectMinMs)
    throw new CollectorError('ET_ERR_OPTIONS', '/mqtt/reconnectMaxMs: must be >= reconnectMinMs');
  if (o.outbox.recordCapBytes + 32 > o.outbox.capBytes)
    throw new CollectorError('ET_ERR_OPTIONS', '/outbox/capBytes: must hold at least one record of recordCapBytes');
  return o;
}
