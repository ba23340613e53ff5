import type { TemplateMinerOptions } from './options.js';
import { WILDCARD, separatorTable, tokenizeMasked } from './tokenize.js';
import { templateId } from './template-id.js';

/** What the miner says about one line. `params` are the line's tokens at the template's wildcards. */
export interface TemplateMatch {
  id: string;
  template: string;
  params: string[];
  /** True when this line started a new cluster. */
  created: boolean;
}

interface Cluster {
  id: string;
  tokens: string[];
  /** Wildcards in `tokens`, kept to score similarity without recounting. */
  wildcards: number;
  leaf: TreeNode;
  /** Cached text of `tokens`; reset when the template changes. */
  text: string;
  lastUsed: number;
  createdAt: number;
  /** Ids of clusters merged into this one (they resolve to this id while it lives). */
  aliasIds: string[];
}

interface TreeNode {
  children: Map<string, TreeNode>;
  clusters: Cluster[];
}

function newNode(): TreeNode {
  return { children: new Map(), clusters: [] };
}

/**
 * Online Drain-style template miner. Lines are routed through a fixed-depth prefix tree (length,
 * then the first tokens, variable tokens sharing a wildcard child), and in the leaf join the most
 * similar cluster or start a new one. Memory is bounded: at most `maxClusters` clusters in all,
 * the least recently matched evicted first (down to 90% of the cap at a time); evictions are counted.
 *
 * `scope` keeps containers apart (a template of one container never absorbs another's lines).
 */
export class TemplateMiner {
  /** scope -> token count -> prefix tree. */
  private readonly roots = new Map<string, Map<number, TreeNode>>();
  private readonly clusters = new Map<string, Cluster>();
  /** Logical clock of matches: a cluster's `lastUsed` orders eviction (least recently matched first). */
  private clock = 0;
  private evictedCount = 0;
  private merges = 0;
  /** Id of a merged-away cluster -> id of the cluster that absorbed it. */
  private readonly aliases = new Map<string, string>();

  private readonly separators: Uint8Array;

  constructor(private readonly options: TemplateMinerOptions) {
    this.separators = separatorTable(options.separators);
  }

  get clusterCount(): number {
    return this.clusters.size;
  }

  get evictions(): number {
    return this.evictedCount;
  }

  /** Clusters merged into others since the start. */
  get mergeCount(): number {
    return this.merges;
  }

  /** The live id a template id stands for now (itself, unless its cluster was merged into another). */
  resolve(id: string): string {
    return this.aliases.get(id) ?? id;
  }

  /** The current template text of a (resolved) id, while its cluster lives. */
  templateOf(id: string): string | undefined {
    const c = this.clusters.get(this.resolve(id));
    return c === undefined ? undefined : templateText(c);
  }

  match(message: string, scope = ''): TemplateMatch {
    const { tokens, masked } = tokenizeMasked(message, this.options.maxTokens, this.separators);
    const leaf = this.leafFor(masked, scope);
    const best = this.bestCluster(leaf, masked) ?? this.mergeSiblings(leaf, masked);
    if (best === undefined) return this.create(leaf, tokens, masked, scope);
    const params = this.absorb(best, tokens, masked);
    best.lastUsed = ++this.clock;
    return { id: best.id, template: templateText(best), params, created: false };
  }

  private leafFor(tokens: string[], scope: string): TreeNode {
    let byLength = this.roots.get(scope);
    if (byLength === undefined) {
      byLength = new Map();
      this.roots.set(scope, byLength);
    }
    let node: TreeNode | undefined = byLength.get(tokens.length);
    if (node === undefined) {
      node = newNode();
      byLength.set(tokens.length, node);
    }
    let at: TreeNode = node;
    // Route on the first constant tokens: lines that start with a timestamp or an id would
    // otherwise all meet in one leaf and be compared with every cluster there.
    let routed = 0;
    for (let i = 0; i < tokens.length && routed < this.options.depth - 2; i++) {
      const key = tokens[i] as string;
      if (key === WILDCARD) continue;
      routed++;
      let child: TreeNode | undefined = at.children.get(key);
      if (child === undefined) {
        if (key === WILDCARD || at.children.size < this.options.maxChildren) {
          child = newNode();
          at.children.set(key, child);
        } else {
          child = at.children.get(WILDCARD) ?? newNode();
          at.children.set(WILDCARD, child);
        }
      }
      at = child;
    }
    return at;
  }

  private bestCluster(leaf: TreeNode, tokens: string[]): Cluster | undefined {
    let best: Cluster | undefined;
    let bestSim = -1;
    let bestWild = -1;
    const n = tokens.length;
    for (const c of leaf.clusters) {
      let same = 0;
      const t = c.tokens;
      for (let i = 0; i < n; i++) {
        // A masked line token equals a wildcard; a constant line token under a wildcard does not count,
        // so that a template that became mostly wildcards does not swallow everything.
        if (t[i] === tokens[i]) same++;
      }
      const sim = n === 0 ? 1 : same / n;
      if (sim > bestSim || (sim === bestSim && c.wildcards > bestWild)) {
        best = c;
        bestSim = sim;
        bestWild = c.wildcards;
      }
    }
    if (best === undefined || bestSim < this.options.similarity) return undefined;
    return best;
  }

  private absorb(c: Cluster, tokens: string[], masked: string[]): string[] {
    const params: string[] = [];
    const t = c.tokens;
    for (let i = 0; i < t.length; i++) {
      const tok = tokens[i] as string;
      if (t[i] === WILDCARD) params.push(tok);
      else if (t[i] !== masked[i]) {
        t[i] = WILDCARD;
        c.wildcards++;
        c.text = '';
        params.push(tok);
      }
    }
    return params;
  }

  /**
   * Lines that differ from `mergeAfter - 1` clusters of their leaf in one and the same constant
   * position (and nowhere else) show that position to be a variable without digits (user names,
   * hosts): those clusters merge into the oldest one, with a wildcard there, and the line joins it.
   * Two values alone stay apart (`WindowsUpdateAgent` / `SPP` may well be two events).
   */
  private mergeSiblings(leaf: TreeNode, masked: string[]): Cluster | undefined {
    const need = this.options.mergeAfter - 1;
    if (need < 1) return undefined;
    let fit: Cluster | undefined;
    const byPosition = new Map<number, Cluster[]>();
    for (const c of leaf.clusters) {
      const p = singleDifference(c.tokens, masked);
      if (p === -1) fit ??= c;
      else if (p >= 0) {
        const list = byPosition.get(p);
        if (list === undefined) byPosition.set(p, [c]);
        else list.push(c);
      }
    }
    if (fit !== undefined) {
      // The line fits a template whose wildcards cover every difference (one that merging made):
      // clusters that differ from the line only under one of those wildcards are instances of it.
      for (const [p, list] of byPosition) if (fit.tokens[p] === WILDCARD) this.mergeInto(fit, list);
      return fit;
    }
    for (const [p, list] of byPosition) {
      if (list.length < need) continue;
      const survivor = list.reduce((a, b) => (b.createdAt < a.createdAt ? b : a));
      survivor.tokens[p] = WILDCARD;
      survivor.wildcards++;
      survivor.text = '';
      this.mergeInto(
        survivor,
        list.filter((c) => c !== survivor),
      );
      return survivor;
    }
    return undefined;
  }

  private mergeInto(survivor: Cluster, others: Cluster[]): void {
    for (const c of others) {
      for (let i = 0; i < c.tokens.length; i++) {
        if (c.tokens[i] === WILDCARD && survivor.tokens[i] !== WILDCARD) {
          survivor.tokens[i] = WILDCARD;
          survivor.wildcards++;
          survivor.text = '';
        }
      }
      this.remove(c);
      this.aliases.set(c.id, survivor.id);
      for (const a of c.aliasIds) this.aliases.set(a, survivor.id);
      survivor.aliasIds.push(c.id, ...c.aliasIds);
      this.merges++;
    }
  }

  private remove(c: Cluster): void {
    this.clusters.delete(c.id);
    const list = c.leaf.clusters;
    const at = list.indexOf(c);
    if (at >= 0) list.splice(at, 1);
  }

  private create(leaf: TreeNode, tokens: string[], masked: string[], scope: string): TemplateMatch {
    const tpl = masked;
    const params: string[] = [];
    let wildcards = 0;
    for (let i = 0; i < tokens.length; i++) {
      if (tpl[i] === WILDCARD) {
        wildcards++;
        params.push(tokens[i] as string);
      }
    }
    const text = tpl.join(' ');
    let id = templateId(scope + '\u0000' + text);
    // Two live clusters can start from the same text (e.g. one was split off by the tree's width cap).
    while (this.clusters.has(id) || this.aliases.has(id)) id = templateId(id);
    const cluster: Cluster = {
      id,
      tokens: tpl,
      wildcards,
      leaf,
      text,
      lastUsed: ++this.clock,
      createdAt: this.clock,
      aliasIds: [],
    };
    leaf.clusters.push(cluster);
    this.clusters.set(id, cluster);
    if (this.clusters.size > this.options.maxClusters) this.evictOldest();
    return { id, template: text, params, created: true };
  }

  /**
   * Evicts the least recently matched clusters down to 90% of the cap in one go: a sort per
   * eviction round keeps the per-line path free of recency bookkeeping beyond one counter.
   */
  private evictOldest(): void {
    const keep = Math.floor(this.options.maxClusters * 0.9);
    const byAge = [...this.clusters.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    for (let i = 0; i < byAge.length - keep; i++) {
      const cluster = byAge[i] as Cluster;
      this.remove(cluster);
      for (const a of cluster.aliasIds) this.aliases.delete(a);
      this.evictedCount++;
    }
  }
}

/** The one position where `tpl` has a constant that `line` does not share; -1 for none, -2 for several. */
function singleDifference(tpl: string[], line: string[]): number {
  let position = -1;
  for (let i = 0; i < tpl.length; i++) {
    const t = tpl[i];
    if (t === WILDCARD || t === line[i]) continue;
    if (position >= 0) return -2;
    position = i;
  }
  return position;
}

function templateText(c: Cluster): string {
  if (c.text === '') c.text = c.tokens.join(' ');
  return c.text;
}
