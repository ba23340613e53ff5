/**
 * The embedded broker's access rules: the same as the shipped Mosquitto ACL (docker/mosquitto/acl),
 * written as functions. A node account N may publish only under et/v1/N/up/ and receive only
 * what is published under et/v1/N/down/; the ingester account receives every node's uplink and
 * publishes to every node's down/ topics; nothing else is granted to anyone. test/security/broker
 * runs one test file against both brokers and expects the same answers. Pure.
 */
import { isValidNodeId, TOPIC_ROOT, topics } from '@edge-telemetry/protocol';

/** The service account of the ingester (`nodes add` refuses it as a node id). */
export const INGESTER_ACCOUNT = 'ingester';

export interface Account {
  kind: 'ingester' | 'node';
  /** The user name: for a node, its node id. */
  user: string;
}

/** MQTT topic-filter match (`+` one level, `#` the rest, including the parent level). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * `pattern write et/v1/%u/up/#` (every account, the ingester's too, as in Mosquitto) and the
 * ingester's `topic write et/v1/+/down/#`.
 */
export function mayPublish(a: Account, topic: string): boolean {
  if (topicMatches(`${TOPIC_ROOT}/${a.user}/up/#`, topic)) return true;
  return a.kind === 'ingester' && topicMatches(`${TOPIC_ROOT}/+/down/#`, topic);
}

/**
 * The one topic the contract retains (docs/architecture.md): a node's own status. A retained
 * message anywhere else would be kept by the broker for ever, one per topic, and a node has
 * endless topics under its own up/: 1,000 retained 200 KB publishes took 236 MB of this process.
 */
export function mayRetain(a: Account, topic: string): boolean {
  return a.kind === 'node' && topic === topics.status(a.user);
}

/** `pattern read et/v1/%u/down/#` and the ingester's `topic read et/v1/+/up/#`, checked per message delivered. */
export function mayReceive(a: Account, topic: string): boolean {
  if (topicMatches(`${TOPIC_ROOT}/${a.user}/down/#`, topic)) return true;
  return a.kind === 'ingester' && topicMatches(`${TOPIC_ROOT}/+/up/#`, topic);
}

/**
 * A filter a client may hold: a node only filters under its own et/v1/N/down/ (nothing else it
 * holds could ever be delivered to it), the ingester any. Checking the filter itself rather than
 * only each delivery matters for an offline session: aedes queues for it every QoS 1 message its
 * filters match, before any delivery check, so a node's `#` held every node's batches for as long
 * as it stayed away.
 */
export function maySubscribe(a: Account, filter: string): boolean {
  if (a.kind === 'ingester') return true;
  const own = `${TOPIC_ROOT}/${a.user}/down`;
  return filter === own || filter.startsWith(`${own}/`);
}

/**
 * A password-file user as an account, or undefined for a name that is not a valid node id (with
 * `/`, `+` or `#` it would widen the pattern; `nodes add` never writes one).
 */
export function accountOf(user: string): Account | undefined {
  if (!isValidNodeId(user)) return undefined;
  return { kind: user === INGESTER_ACCOUNT ? 'ingester' : 'node', user };
}
