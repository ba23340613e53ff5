import { describe, expect, it } from 'vitest';
import { parseUpTopic, topicNode, topics } from './topics.js';

describe('topics', () => {
  it('round-trips every upstream topic through the parser', () => {
    expect(parseUpTopic(topics.batch('gw-1'))).toEqual({ kind: 'batch', node: 'gw-1' });
    expect(parseUpTopic(topics.status('gw-1'))).toEqual({ kind: 'status', node: 'gw-1' });
    expect(parseUpTopic(topics.pull('gw-1', 'p_42'))).toEqual({ kind: 'pull', node: 'gw-1', pullId: 'p_42' });
  });

  it('refuses topics outside the protocol and node ids that are not safe topic levels', () => {
    for (const t of [
      'et/v2/gw/up/batch',
      'et/v1/gw/down/ack',
      'et/v1/+/up/batch',
      'et/v1/gw/up/batch/x',
      'et/v1//up/batch',
      'et/v1/gw/up/pull/a b',
    ]) {
      expect(parseUpTopic(t), t).toBeUndefined();
    }
  });
});

describe('topicNode', () => {
  it('names the node level of any topic under et/v1/, ours or not', () => {
    expect(topicNode('et/v1/gw-1/up/batch/0')).toBe('gw-1');
    expect(topicNode(topics.status('gw-1'))).toBe('gw-1');
    expect(topicNode('et/v1/bad node/up/batch')).toBeUndefined();
    expect(topicNode('et/v2/gw-1/up/batch')).toBeUndefined();
    expect(topicNode('other')).toBeUndefined();
  });
});
