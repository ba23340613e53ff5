import type { ContainerEvent, ContainerEventKind } from '@edge-telemetry/protocol';
import { bigField, numField } from './engine-json.js';

/** The /events filter: only the lifecycle events that explain an incident. */
export const EVENT_FILTER = JSON.stringify({
  type: ['container'],
  event: ['start', 'die', 'oom', 'restart', 'health_status'],
});

const KINDS: ReadonlySet<string> = new Set<ContainerEventKind>([
  'start',
  'stop',
  'die',
  'oom',
  'restart',
  'health_status',
  'create',
  'destroy',
]);
/** Bounded attribute set: container labels also arrive as attributes and must not leave unbounded. */
const KEPT_ATTRS = ['image', 'exitCode', 'signal'];

type Obj = Record<string, unknown>;

/**
 * One /events message to a ContainerEvent, or undefined for messages that are not container
 * lifecycle events. Health events arrive as Action `health_status: healthy`.
 */
export function toContainerEvent(msg: unknown): ContainerEvent | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const m = msg as Obj;
  if ((m.Type ?? 'container') !== 'container') return undefined;
  const action = typeof m.Action === 'string' ? m.Action : typeof m.status === 'string' ? m.status : '';
  const colon = action.indexOf(':');
  const kind = colon >= 0 ? action.slice(0, colon) : action;
  if (!KINDS.has(kind)) return undefined;
  const actor = (m.Actor ?? {}) as Obj;
  const attributes = (typeof actor.Attributes === 'object' && actor.Attributes !== null ? actor.Attributes : {}) as Obj;
  const attrs: Record<string, string> = {};
  for (const k of KEPT_ATTRS) if (typeof attributes[k] === 'string') attrs[k] = attributes[k];
  if (colon >= 0) attrs.health_status = action.slice(colon + 1).trim();
  const id = typeof actor.ID === 'string' ? actor.ID : typeof m.id === 'string' ? m.id : '';
  if (id) attrs.id = id;
  const nano = bigField(m.timeNano);
  const ts = nano !== undefined ? Number(nano / 1_000_000n) : (numField(m.time) ?? 0) * 1000;
  const name = typeof attributes.name === 'string' ? attributes.name : id.slice(0, 12);
  return { ts, container: name, kind: kind as ContainerEventKind, attrs };
}
