import { describe, expect, it } from 'vitest';
import type { NodeConfigState } from './service.js';
import { groupByVersion } from './versions.js';

const node = (id: string, agentVersion: string, hash: string | undefined, appliedRev = 5, online = true) => ({
  node: id,
  online,
  agentVersion,
  labels: {},
  configVersions: hash === undefined ? [] : [1],
  config:
    hash === undefined
      ? undefined
      : { state: 'applied' as const, rev: appliedRev, appliedRev, docHash: 'd', effectiveHash: hash },
  reportedAt: 0,
  // In sync is decided on the document hash (fleet/delivery.ts); here as if that hash went with revision 5.
  inSync: hash === undefined || appliedRev === 5,
});

describe('groupByVersion', () => {
  it('groups by collector version, document versions and effective hash, largest first', () => {
    const nodes: Array<NodeConfigState & { inSync: boolean }> = [
      node('gw-3', '0.1.0', 'aaa'),
      node('gw-1', '0.1.0', 'aaa', 4),
      node('gw-2', '0.2.0', 'aaa', 5, false),
      node('gw-4', '0.1.0', 'bbb'),
      node('gw-0', '0.0.9', undefined),
    ];
    const g = groupByVersion(nodes, 1);
    expect(g[0]).toEqual({
      agentVersion: '0.1.0',
      configVersions: [1],
      effectiveHash: 'aaa',
      nodes: 2,
      online: 2,
      inSync: 1,
      sample: ['gw-1'],
    });
    expect(g.slice(1).map((x) => [x.agentVersion, x.effectiveHash, x.nodes, x.online, x.inSync])).toEqual([
      ['0.0.9', '', 1, 1, 1],
      ['0.1.0', 'bbb', 1, 1, 1],
      ['0.2.0', 'aaa', 1, 0, 1],
    ]);
  });
});
