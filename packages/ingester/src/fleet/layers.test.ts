import { describe, expect, it } from 'vitest';
import type { ConfigDocument } from '@edge-telemetry/protocol';
import { desiredFor, diffOptions, layersFor, mergeOptions, type Layer } from './layers.js';

const layer = (scope: Layer['scope'], target: string, rev: number, doc: ConfigDocument | undefined): Layer => ({
  scope,
  target,
  rev,
  doc,
  docHash: '',
  createdBy: 'test',
  createdAt: 0,
});
const level = (minLevel: string) => ({ logs: { defaults: { filter: { minLevel } } } });

describe('configuration layers', () => {
  const all = [
    layer('node', 'gw-1', 7, { options: level('error') }),
    layer('group', 'site=berlin', 5, {
      options: { logs: { defaults: { filter: { minLevel: 'warn', exclude: ['a'] } } } },
    }),
    layer('group', 'hw=arm', 6, { options: { uplink: { budget: { dailyBytes: 1 } } } }),
    layer('fleet', '', 3, { options: { logs: { maxLogsPerWindow: 10, defaults: { filter: { minLevel: 'info' } } } } }),
    layer('group', 'site=paris', 9, { options: level('trace') }),
    layer('node', 'gw-2', 8, { options: level('trace'), debug: undefined }),
  ];

  it('apply node > group > fleet, the groups a node is in by its labels', () => {
    expect(layersFor('gw-1', { site: 'berlin', hw: 'arm' }, all).map((l) => `${l.scope}:${l.target}`)).toEqual([
      'fleet:',
      'group:hw=arm',
      'group:site=berlin',
      'node:gw-1',
    ]);
    const d = desiredFor('gw-1', { site: 'berlin', hw: 'arm' }, all);
    expect(d.rev).toBe(7);
    expect(d.doc).toEqual({
      options: {
        logs: { maxLogsPerWindow: 10, defaults: { filter: { minLevel: 'error', exclude: ['a'] } } },
        uplink: { budget: { dailyBytes: 1 } },
      },
    });
    // A node in no group and with no layer of its own runs the fleet's.
    expect(desiredFor('gw-9', {}, all)).toMatchObject({ rev: 3, doc: { options: { logs: { maxLogsPerWindow: 10 } } } });
    expect(desiredFor('gw-9', {}, []).rev).toBe(0);
  });

  it('count a removed layer: the revision still grows and its options are gone', () => {
    const removed = [...all.filter((l) => l.target !== 'site=berlin'), layer('group', 'site=berlin', 12, undefined)];
    const d = desiredFor('gw-1', { site: 'berlin' }, removed);
    expect(d.rev).toBe(12);
    expect(d.doc.options).toEqual({ logs: { maxLogsPerWindow: 10, defaults: { filter: { minLevel: 'error' } } } });
  });

  it('take a debug only from the node layer', () => {
    const debug = { id: 'd', until: 1, forMs: 1, extraBytes: 1, level: 'debug' as const, containers: [] };
    const d = desiredFor('gw-1', {}, [
      layer('fleet', '', 1, { options: {}, debug }),
      layer('node', 'gw-1', 2, { options: {}, debug }),
    ]);
    expect(d.doc.debug).toEqual(debug);
    expect(desiredFor('gw-3', {}, [layer('fleet', '', 1, { options: {}, debug })]).doc.debug).toBeUndefined();
  });

  it('merge objects key by key and replace arrays; diff leaf by leaf', () => {
    expect(mergeOptions({ a: { b: 1, c: [1] } }, { a: { c: [2] }, d: 1 })).toEqual({ a: { b: 1, c: [2] }, d: 1 });
    expect(diffOptions({ a: { b: 1, c: [1] } }, { a: { c: [2] }, d: { e: 'x' } })).toEqual([
      { path: 'a.b', from: 1 },
      { path: 'a.c', from: [1], to: [2] },
      { path: 'd.e', to: 'x' },
    ]);
  });
});
