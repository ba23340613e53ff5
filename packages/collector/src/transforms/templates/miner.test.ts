import { describe, expect, it } from 'vitest';
import { TemplateMiner } from './miner.js';
import { templateMinerOptions } from './options.js';
import { groupingAccuracy } from './grouping-accuracy.js';
import { parseCsv } from './csv.js';

/** Mines the lines and returns each one's final group (merged ids resolved), as a batch parser reports them. */
function groups(miner: TemplateMiner, lines: readonly string[]): string[] {
  return lines.map((l) => miner.match(l).id).map((id) => miner.resolve(id));
}

describe('TemplateMiner', () => {
  it('groups lines that differ only in values, shows the template as written and returns the parameters', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const a = miner.match('Received block blk_123 of size 67108864 from /10.0.0.1:50010, took 12 ms');
    const b = miner.match('Received block blk_987 of size 1024 from /10.0.0.2:50010, took 3 ms');
    const params = miner.params();
    expect(b.id).toBe(a.id);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    // A word run together with a number is a value (`blk_<*>` reads as `<*>` in Loghub's templates too).
    expect(b.template).toBe('Received block <*> of size <*> from <*>, took <*> ms');
    expect(params).toEqual(['blk_987', '1024', '/10.0.0.2:50010', '3']);
  });

  it('keeps different messages and different scopes apart', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const a = miner.match('Session opened for user root');
    const b = miner.match('Connection closed by peer now');
    const c = miner.match('Session opened for user root', 'other-container');
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
  });

  it('makes a word position a parameter once mergeAfter different words were seen there, and merges those templates', () => {
    const miner = new TemplateMiner(templateMinerOptions({ mergeAfter: 4 }));
    const users = ['webmaster', 'oracle', 'admin', 'guest', 'test'];
    const ms = users.map((u, i) => ({ ...miner.match(`Invalid user ${u} from 10.0.0.${i}`), params: miner.params() }));
    // Three words are not enough: three templates.
    expect(new Set(ms.slice(0, 3).map((m) => m.id)).size).toBe(3);
    // The fourth makes the position a parameter: all merge into the oldest, which keeps its id.
    expect(ms[3]?.id).toBe(ms[0]?.id);
    expect(ms[3]?.template).toBe('Invalid user <*> from <*>');
    expect(ms[3]?.params).toEqual(['guest', '10.0.0.3']);
    for (const m of ms) expect(miner.resolve(m.id)).toBe(ms[0]?.id);
    expect(miner.mergeCount).toBe(2);
    expect(ms[4]?.id).toBe(ms[0]?.id);
    expect(ms[4]?.created).toBe(false);
  });

  it('keeps events that differ in one constant word apart, however long the line (up to mergeAfter - 1 words)', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const verbs = ['started', 'stopped', 'paused', 'resumed'];
    const lines: string[] = [];
    const truth: string[] = [];
    for (let i = 0; i < 200; i++) {
      const v = verbs[i % verbs.length] as string;
      lines.push(`worker pool ${v} processing the nightly queue of tenant ${1000 + i} on shard ${i % 7}`);
      truth.push(v);
    }
    const g = groups(miner, lines);
    expect(new Set(g).size).toBe(verbs.length);
    expect(groupingAccuracy(g, truth)).toBe(1);
  });

  it('keeps a template id when the template generalises', () => {
    const miner = new TemplateMiner(templateMinerOptions({ valueText: 'segments' }));
    const a = miner.match('request served by node-160 in 5 ms');
    expect(a.template).toBe('request served by node-<*> in <*> ms');
    const b = miner.match('request served by edge-a7 in 9 ms');
    expect(b.id).toBe(a.id);
    expect(b.template).toBe('request served by <*> in <*> ms');
    expect(miner.templateOf(a.id)).toBe(b.template);
  });

  it('lets one parameter take a varying number of tokens (a list), keeping one template', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const lines = [
      'ask 10.0.0.1:50010 to delete blk_1',
      'ask 10.0.0.2:50010 to delete blk_2 blk_3 blk_4',
      'ask 10.0.0.3:50010 to delete blk_5 blk_6',
      'ask 10.0.0.4:50010 to delete blk_7',
    ];
    const ms = lines.map((l) => ({ ...miner.match(l), params: miner.params() }));
    expect(new Set(groups(miner, lines)).size).toBe(1);
    expect(ms[1]?.template).toBe('ask <*> to delete <*>');
    expect(ms[1]?.params).toEqual(['10.0.0.2:50010', 'blk_2 blk_3 blk_4']);
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

  it('holds at most maxHeldTokens tokens over all templates: long ones are evicted by their length, not only by count', () => {
    // 100 words of letters, none a value: every line its own template, 100 tokens each.
    const word = (x: number) => {
      let t = '';
      do {
        t += String.fromCharCode(97 + (x % 26));
        x = Math.floor(x / 26);
      } while (x > 0);
      return t + 'q';
    };
    const line = (k: number) => Array.from({ length: 100 }, (_, j) => word(k * 100 + j)).join(' ');
    const miner = new TemplateMiner(templateMinerOptions({ maxClusters: 5000, maxHeldTokens: 2000 }));
    const ids = Array.from({ length: 60 }, (_, k) => miner.match(line(k), `svc-${k % 3}`).id);
    expect(new Set(ids).size).toBe(60);
    // Before, all 60 were kept (the count cap alone): 5,000 such templates held 76 MiB.
    expect(miner.tokenCount).toBeLessThanOrEqual(2000);
    expect(miner.clusterCount).toBe(miner.tokenCount / 100);
    expect(miner.evictions).toBe(60 - miner.clusterCount);
    // Least recently matched first: the last line's template is kept, the first one's is gone.
    expect(miner.templateOf(ids[59] as string)).toBeDefined();
    expect(miner.templateOf(ids[0] as string)).toBeUndefined();
    // Short templates are what the count cap is for: 2,000 tokens hold 200 of 10 tokens.
    const short = new TemplateMiner(templateMinerOptions({ maxClusters: 5000, maxHeldTokens: 2000 }));
    for (let k = 0; k < 200; k++) short.match(line(k).split(' ').slice(0, 10).join(' '));
    expect(short.evictions).toBe(0);
  });

  it("keeps a container's tree only while it has a template: evicted or forgotten, the tree goes too", () => {
    const miner = new TemplateMiner(templateMinerOptions({ maxClusters: 50 }));
    // 1,000 containers come and go, each with its own scope and two templates.
    for (let i = 0; i < 1000; i++) {
      miner.match(`job ${i} started on runner`, `job-${i}`);
      miner.match(`upload failed: disk full after ${i} retries`, `job-${i}`);
    }
    expect(miner.clusterCount).toBeLessThanOrEqual(50);
    // Before, every scope kept its tree for good: 1,000 trees here.
    expect(miner.scopeCount).toBeLessThanOrEqual(25);
    const kept = miner.match('cache warmed in 12 ms', 'web');
    // Templates in other nodes of its tree (other first words, other token counts) go with it.
    const others = ['GET /index.html 200', 'worker 3 of 8 ready to serve requests'].map(
      (l) => miner.match(l, 'web').id,
    );
    const before = { scopes: miner.scopeCount, clusters: miner.clusterCount };
    miner.forget(new Set(['web', 'gone-before']));
    expect(miner.templateOf(kept.id)).toBeUndefined();
    for (const id of others) expect(miner.templateOf(id)).toBeUndefined();
    expect(miner.scopeCount).toBe(before.scopes - 1);
    expect(miner.clusterCount).toBe(before.clusters - 3);
    // The same first line makes the same template id again.
    expect(miner.match('cache warmed in 12 ms', 'web')).toMatchObject({ id: kept.id, created: true });
  });

  it('handles empty lines', () => {
    const miner = new TemplateMiner(templateMinerOptions());
    const a = miner.match('');
    expect(miner.match('   ').id).toBe(a.id);
    expect(a.template).toBe('');
  });

  it('bounds the work of a pathological line', () => {
    const miner = new TemplateMiner(templateMinerOptions({ maxTokens: 5 }));
    const m = miner.match('a b c d e f g h i j k');
    expect(m.template).toBe('a b c d e');
    expect(miner.match('a b c d e x y z').id).toBe(m.id);
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
