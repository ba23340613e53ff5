/** Batches for uplink tests: small, distinct, and carrying their production index in windowStart. */
import { idleHealth } from '../../packages/protocol/src/testing/index.js';
import type { BatchDraft } from '../../packages/collector/src/uplink/index.js';

export function testBatch(node: string, index: number, padBytes = 0): BatchDraft {
  return {
    node,
    sentAt: 1_700_000_000_000 + index * 60_000,
    windowStart: index,
    windowEnd: index + 1,
    containers: [],
    metrics: [],
    logs:
      padBytes > 0
        ? [
            {
              ts: index,
              container: 'c',
              level: 2,
              message: noise(index, padBytes),
              stream: 'stdout',
              repeat: 1,
              templateId: '',
              fields: {},
            },
          ]
        : [],
    templates: [],
    events: [],
    drops: [],
    health: idleHealth('test'),
  };
}

/** Incompressible text, so encoded sizes track padBytes. */
function noise(seed: number, n: number): string {
  let x = (seed * 2654435761) >>> 0 || 1;
  let s = '';
  while (s.length < n) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s += x.toString(36);
  }
  return s.slice(0, n);
}
