/**
 * Topic names: the only place that spells them. The node id is always the third level, so
 * the broker ACL (`pattern write et/v1/%u/up/#`) and the ingester's check agree.
 */
export const TOPIC_ROOT = 'et/v1';

export type UpKind = 'batch' | 'status' | 'pull';

export const topics = {
  batch: (node: string) => `${TOPIC_ROOT}/${node}/up/batch`,
  status: (node: string) => `${TOPIC_ROOT}/${node}/up/status`,
  pull: (node: string, pullId: string) => `${TOPIC_ROOT}/${node}/up/pull/${pullId}`,
  ack: (node: string) => `${TOPIC_ROOT}/${node}/down/ack`,
  cmd: (node: string) => `${TOPIC_ROOT}/${node}/down/cmd`,
  /** What an ingester subscribes to; `group` makes it an MQTT shared subscription. */
  ingestFilter: (group?: string) => (group ? `$share/${group}/${TOPIC_ROOT}/+/up/#` : `${TOPIC_ROOT}/+/up/#`),
  /** What a node subscribes to. */
  downFilter: (node: string) => `${TOPIC_ROOT}/${node}/down/#`,
} as const;

/** Node ids are topic levels and ClickHouse keys: keep them boring. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const PULL_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidNodeId(node: string): boolean {
  return NODE_ID_PATTERN.test(node);
}

export type ParsedUpTopic =
  { kind: 'batch'; node: string } | { kind: 'status'; node: string } | { kind: 'pull'; node: string; pullId: string };

/**
 * The node level of a topic under et/v1/, also of one that is not ours (the broker's ACL lets a
 * node publish only under its own level), so a refusal is counted against and logged for the node
 * that sent it; undefined when there is none.
 */
export function topicNode(topic: string): string | undefined {
  const [et, v, node = ''] = topic.split('/', 3);
  return et === 'et' && v === 'v1' && isValidNodeId(node) ? node : undefined;
}

/** Parses an upstream topic; undefined when it is not one of ours (the caller counts it). */
export function parseUpTopic(topic: string): ParsedUpTopic | undefined {
  const parts = topic.split('/');
  const node = topicNode(topic);
  if (node === undefined || parts[3] !== 'up') return undefined;
  if (parts.length === 5 && parts[4] === 'batch') return { kind: 'batch', node };
  if (parts.length === 5 && parts[4] === 'status') return { kind: 'status', node };
  const pullId = parts[5] ?? '';
  if (parts.length === 6 && parts[4] === 'pull' && PULL_ID_PATTERN.test(pullId)) return { kind: 'pull', node, pullId };
  return undefined;
}
