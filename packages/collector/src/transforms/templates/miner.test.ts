import { describe, expect, it } from 'vitest';
import { TemplateMiner } from './miner.js';
import { templateMinerOptions } from './options.js';
import { groupingAccuracy } from './grouping-accuracy.js';
import { parseCsv } from './csv.js';

describe('TemplateMiner', () => {
  it('groups lines that differ only in variables and returns their parameters', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const a = miner.match('Received block blk_123 of size 67108864 from /10.0.0.1');
    const b = miner.match('Received block blk_987 of size 1024 from /10.0.0.2');
    expect(b.id).toBe(a.id);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.template).toBe('Received block <*> of size <*> from <*>');
    expect(b.params).toEqual(['blk_987', '1024', '/10.0.0.2']);
  });

  it('keeps different messages and different scopes apart', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const a = miner.match('Session opened for user root');
    const b = miner.match('Connection closed by peer now');
    const c = miner.match('Session opened for user root', 'other-container');
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
  });

  it('generalises a constant that varies into a wildcard', () => {
    const miner = new TemplateMiner(templateMinerOptions({ similarity: 0.5 }));
    miner.match('session opened from the web console by alice');
    const m = miner.match('session opened from the web console by bob');
    expect(m.template).toBe('session opened from the web console by <*>');
    expect(m.params).toEqual(['bob']);
  });

  it('stays within maxClusters, evicting the least recently matched and counting it', () => {
    const miner = new TemplateMiner(templateMinerOptions({ maxClusters: 3 }));
    const first = miner.match('alpha event happened');
    for (const w of ['beta', 'gamma', 'delta', 'epsilon']) miner.match(`${w} thing occurred here now`);
    expect(miner.clusterCount).toBe(3);
    expect(miner.evictions).toBe(2);
    // alpha was evicted: it comes back as a new cluster.
    expect(miner.match('alpha event happened').created).toBe(true);
    expect(first.id).toMatch(/^[0-9a-f]{12}$/);
  });

  it('evicts by recency: a cluster matched again outlives younger idle ones', () => {
    const miner = new TemplateMiner(templateMinerOptions({ maxClusters: 10 }));
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo'];
    const ids = words.slice(0, 10).map((w) => miner.match(`${w} thing occurred here now`).id);
    miner.match('alpha thing occurred here now');
    miner.match('kilo thing occurred here now');
    // Down to 90% of the cap: the two least recently matched (bravo, charlie) are gone.
    expect(miner.evictions).toBe(2);
    expect(miner.match('alpha thing occurred here now').id).toBe(ids[0]);
    expect(miner.match('delta thing occurred here now').id).toBe(ids[3]);
    expect(miner.match('bravo thing occurred here now').created).toBe(true);
  });

  it('merges clusters that differ at one word-valued position once it took three values', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const a = miner.match('Invalid user webmaster from 10.0.0.1');
    const b = miner.match('Invalid user oracle from 10.0.0.2');
    expect(b.id).not.toBe(a.id);
    const c = miner.match('Invalid user admin from 10.0.0.3');
    expect(c.template).toBe('Invalid user <*> from <*>');
    expect(c.params).toEqual(['admin', '10.0.0.3']);
    expect(miner.resolve(a.id)).toBe(c.id);
    expect(miner.resolve(b.id)).toBe(c.id);
    expect(miner.match('Invalid user guest from 10.0.0.4').id).toBe(c.id);
    expect(miner.mergeCount).toBe(1);
    // Two values alone stay apart.
    const x = miner.match('Session ended by client WindowsUpdateAgent');
    expect(miner.match('Session ended by client SPP').id).not.toBe(x.id);
  });

  it('handles empty lines', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const a = miner.match('');
    expect(miner.match('   ').id).toBe(a.id);
    expect(a.template).toBe('');
  });
});

describe('groupingAccuracy', () => {
  it('counts a message correct only when its group equals its truth group', () => {
    expect(groupingAccuracy(['a', 'a', 'b', 'c'], ['x', 'x', 'y', 'y'])).toBe(0.5);
    expect(groupingAccuracy(['a', 'a', 'a'], ['x', 'x', 'y'])).toBe(0);
    expect(groupingAccuracy(['p', 'q'], ['x', 'y'])).toBe(1);
  });
});

describe('parseCsv', () => {
  it('handles quoted fields with commas, doubled quotes and CRLF', () => {
    expect(parseCsv('a,b\r\n1,"x, ""y"""\r\n2,\n')).toEqual([
      ['a', 'b'],
      ['1', 'x, "y"'],
      ['2', ''],
    ]);
  });
});
