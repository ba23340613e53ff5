import { fitsPattern, generalize, paramsOf, patternPieces } from './generalize.js';
import type { TemplateMinerOptions } from './options.js';
import { templateId } from './template-id.js';
import {
  sepAfter,
  sepBefore,
  textAt,
  tokenize,
  tokenRules,
  WILDCARD,
  type TokenRules,
  type Tokens,
} from './tokenize.js';
import { shapeOf } from './value-kinds.js';

/** What the miner says about one line (its parameters, when wanted: `TemplateMiner.params()`). */
export interface TemplateMatch {
  id: string;
  template: string;
  /** True when this line started a new cluster. */
  created: boolean;
}

/** One part of a template: a constant word or a parameter, and the text that follows it. */
interface Elem {
  /** The word lines must have here, or WILDCARD for a parameter. */
  key: string;
  /** How it is shown: the word, or the pattern of the values seen (`<*>`, `node-<*>`, `"<*>"`). */
  text: string;
  sep: string;
  /** Takes a varying number of tokens (a list, a message, a value written with spaces). */
  elastic: boolean;
  /** Took words, not only values: it may take several words when it becomes elastic. */
  words: boolean;
  /** `text` cut at its wildcards, cached for `paramsOf` (undefined until needed, and after `text` changes). */
  pieces?: string[];
}

/** The parameters a token gives a part of a template; undefined when the token does not fit its pattern. */
function paramsAt(elem: Elem, token: string): string[] | undefined {
  return paramsOf((elem.pieces ??= patternPieces(elem.text)), token);
}

/** Sets a part's pattern (and forgets the cached pieces of the old one). */
function setText(elem: Elem, text: string): void {
  elem.text = own(text);
  elem.pieces = undefined;
}

/**
 * A copy of `s` that does not hold on to the line it was cut from. V8 keeps a cut of 13
 * characters or more as a view of its whole parent: a word kept in a template would otherwise
 * keep its line alive, and the line the 256 KiB chunk the file source read it from.
 */
function own(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Text between tokens as a template shows it: a run of whitespace is one space (columns padded with spaces read the same, in fewer bytes). */
function squeeze(sep: string): string {
  return own(sep.length > 1 ? sep.replace(/\s{2,}/g, ' ') : sep);
}

/** A cluster as seen by lines of one token count: the keys they must match and the part each token fills. */
interface View {
  cluster: Cluster;
  keys: string[];
  elemOf: number[];
  /** Wildcards in `keys`. */
  wildcards: number;
  /** The leaf list this view is in. */
  list: View[];
}

interface Cluster {
  id: string;
  /** The scope (container) whose tree it is in. */
  scope: string;
  lead: string;
  elems: Elem[];
  views: View[];
  /** Cached template text; '' when it must be rebuilt. */
  text: string;
  /**
   * Every parameter shows as a bare `<*>` (none is a pattern like `node-<*>` that a new value
   * might not fit): a line that fits then changes nothing. Undefined when to be worked out again.
   */
  settled?: boolean;
  lastUsed: number;
  createdAt: number;
  /** Ids of clusters merged into this one (they resolve to this id while it lives). */
  aliasIds: string[];
}

/**
 * A node of the prefix tree: children by routing token, and at the node the views by token count.
 * Each map is made when first needed: a leaf has no children and an inner node seldom views, and
 * an empty Map is ~230 bytes (a container's tree of five templates held twelve).
 */
interface TreeNode {
  children?: Map<string, TreeNode>;
  byLength?: Map<number, View[]>;
}

/** Views of other token counts tried for a line that fits none of its own (bounds per-line work). */
const MAX_ELASTIC_TRIES = 64;

/**
 * Online template miner after Drain (He et al., ICWS'17): a line is cut into tokens whose values
 * (numbers, ids, addresses, times, sizes, paths, URLs, quoted strings) are masked, routed through
 * a prefix tree by its first `depth - 2` constant words (the words a message starts with are the
 * likeliest to be constant), and compared with the templates there:
 *
 * 1. it fits a template of its token count when every constant word of the template is in place
 *    (the one with the most parameters wins; other templates it fits are merged into that one);
 * 2. else it joins the most similar one when at least `similarity` of its tokens agree and every
 *    difference is a value where the template has a word: a word is never turned into a parameter
 *    because one line differs there (`opened`/`closed` stay two events);
 * 3. else, when templates that differ from it in one and the same word already hold
 *    `mergeAfter - 1` values there, that word is a parameter (user names, hosts): they merge into
 *    the oldest (the bidirectional-tree insight of Brain, Yu et al., TSC'23: a position that takes
 *    many values is a variable, few values are constants);
 * 4. else it may fit a template of another token count with one parameter taking a different
 *    number of tokens (a list, a message, a name with spaces): values only, or words where that
 *    parameter already took words;
 * 5. else it starts a new template.
 *
 * A template keeps its id (hash of its first text) however much it generalises; a merge is
 * counted and the merged ids resolve to the survivor (`resolve`). Memory is bounded: at most
 * `maxClusters` templates holding at most `maxHeldTokens` tokens (a template's memory grows with
 * its length), the least recently matched evicted first (down to 90% of both at a time).
 * `scope` keeps containers apart.
 */
export class TemplateMiner {
  private readonly roots = new Map<string, TreeNode>();
  /**
   * Live clusters per scope: a scope's tree goes with its last cluster (evicted or merged away).
   * Kept for good, the trees of containers long gone were 6.6 MiB for 3,000 (issue 15).
   */
  private readonly scopeClusters = new Map<string, number>();
  private readonly clusters = new Map<string, Cluster>();
  /** Tokens of every view of every cluster: what a cluster's memory grows with (`maxHeldTokens`). */
  private heldTokens = 0;
  private clock = 0;
  private evictedCount = 0;
  private merges = 0;
  /** Id of a merged-away cluster -> id of the cluster that absorbed it. */
  private readonly aliases = new Map<string, string>();
  /** Merged-away ids not yet taken (`takeMerges`), oldest first. */
  private merged: string[] = [];
  private readonly rules: TokenRules;
  /** The last line's tokens and the view it matched, for `params()`. */
  private tokens: Tokens | undefined;
  private last: View | undefined;

  constructor(private readonly options: TemplateMinerOptions) {
    this.rules = tokenRules(options.separators, options.dottedNames);
  }

  get clusterCount(): number {
    return this.clusters.size;
  }

  /** Tokens the templates hold, over all their views (at most `maxHeldTokens` after each line). */
  get tokenCount(): number {
    return this.heldTokens;
  }

  /** Scopes (containers) with a tree: those with a live cluster. */
  get scopeCount(): number {
    return this.roots.size;
  }

  get evictions(): number {
    return this.evictedCount;
  }

  /** Clusters merged into others since the start. */
  get mergeCount(): number {
    return this.merges;
  }

  /**
   * The merges since the last call, each as the merged-away id and the live id it resolves to now
   * (for the receiver of earlier rows: `LogTemplate.merged`). Those whose survivor was evicted
   * since are left out; at most `maxClusters` are kept between calls (the oldest go first).
   */
  takeMerges(): Array<{ from: string; into: string }> {
    const out: Array<{ from: string; into: string }> = [];
    for (const from of this.merged) {
      const into = this.resolve(from);
      if (into !== from && this.clusters.has(into)) out.push({ from, into });
    }
    this.merged = [];
    return out;
  }

  /** The live id a template id stands for now (itself, unless its cluster was merged into another). */
  resolve(id: string): string {
    return this.aliases.get(id) ?? id;
  }

  /** The current template text of a (resolved) id, while its cluster lives. */
  templateOf(id: string): string | undefined {
    const c = this.clusters.get(this.resolve(id));
    return c === undefined ? undefined : textOf(c);
  }

  match(message: string, scope = ''): TemplateMatch {
    const tok = (this.tokens = tokenize(message, this.options.maxTokens, this.rules));
    const node = this.route(tok.key, scope);
    const n = tok.key.length;
    const list = node.byLength?.get(n);
    let view: View | undefined = list === undefined ? undefined : this.fit(list, tok.key);
    const fitted = view !== undefined;
    if (list !== undefined) view ??= this.similar(list, tok.key) ?? this.siblings(list, tok.key);
    view ??= this.elastic(node, tok);
    if (view === undefined) return this.create(node, tok, scope);
    const c = view.cluster;
    // A line that fits a settled template changes nothing in it: the per-line path stops here.
    if (!(fitted && settled(c))) this.absorb(view, tok);
    this.last = view;
    c.lastUsed = ++this.clock;
    // A view added for this line's token count (step 4) may have taken the tokens over the bound.
    if (this.heldTokens > this.options.maxHeldTokens) this.evictOldest();
    return { id: c.id, template: textOf(c), created: false };
  }

  /**
   * Forgets the templates of `scopes` (containers gone): ids of them resolve to themselves again.
   * Found in each scope's own tree (a pass over every template cost as much for a scope that had none).
   */
  forget(scopes: ReadonlySet<string>): void {
    for (const scope of scopes) {
      const root = this.roots.get(scope);
      if (root === undefined) continue;
      const found = new Set<Cluster>();
      const nodes = [root];
      for (let node = nodes.pop(); node !== undefined; node = nodes.pop()) {
        for (const list of node.byLength?.values() ?? []) for (const v of list) found.add(v.cluster);
        nodes.push(...(node.children?.values() ?? []));
      }
      for (const c of found) this.discard(c);
    }
  }

  /** The node of the first `depth - 2` constant words (values are skipped: they would scatter one event over many nodes). */
  private route(keys: string[], scope: string): TreeNode {
    let root = this.roots.get(scope);
    if (root === undefined) this.roots.set(scope, (root = {}));
    let at: TreeNode = root;
    let routed = 0;
    for (let i = 0; i < keys.length && routed < this.options.depth - 2; i++) {
      const key = keys[i] as string;
      if (key === WILDCARD) continue;
      routed++;
      const children = (at.children ??= new Map());
      let child = children.get(key);
      if (child === undefined) {
        if (children.size < this.options.maxChildren) children.set(own(key), (child = {}));
        else {
          child = children.get(WILDCARD);
          if (child === undefined) children.set(WILDCARD, (child = {}));
        }
      }
      at = child;
    }
    return at;
  }

  /**
   * The view whose constants the line has, all of them; of several, the one with the most
   * parameters, and the others (which the line shows to be the same event) merge into it.
   */
  private fit(list: View[], keys: string[]): View | undefined {
    let best: View | undefined;
    let others: View[] | undefined;
    for (const v of list) {
      if (!fits(v, keys)) continue;
      if (best === undefined) best = v;
      else {
        let into = best;
        let other = v;
        if (
          v.wildcards > best.wildcards ||
          (v.wildcards === best.wildcards && v.cluster.createdAt < best.cluster.createdAt)
        ) {
          into = v;
          other = best;
        }
        best = into;
        (others ??= []).push(other);
      }
    }
    if (best !== undefined && others !== undefined) this.mergeInto(best, others);
    return best;
  }

  /**
   * Step 2: the most similar view where the line differs only by values in place of words (the
   * template's first line had a word where later ones have numbers) or by words in place of a
   * parameter that has only had values (`null`, `main`; not a symbol like `****`), when at least
   * `similarity` of its tokens agree. Two different words at one position never join here.
   */
  private similar(list: View[], keys: string[]): View | undefined {
    const n = keys.length;
    let best: View | undefined;
    let bestSame = -1;
    for (const v of list) {
      let same = 0;
      let ok = true;
      for (let i = 0; i < n; i++) {
        const t = v.keys[i] as string;
        const k = keys[i] as string;
        if (t === k || (t === WILDCARD && wordsAt(v, i))) same++;
        else if (t !== WILDCARD ? k !== WILDCARD || !hasLetter(t) : !hasLetter(k)) {
          // Two words, or a symbol (`****`, `-`) where the other line has a value: another event.
          ok = false;
          break;
        }
      }
      if (ok && same > bestSame) {
        best = v;
        bestSame = same;
      }
    }
    if (best === undefined || bestSame < this.options.similarity * n) return undefined;
    return best;
  }

  /**
   * Step 3 (after Brain's insight that a position taking many values is a variable): among the
   * views that differ from the line in words only, at `mergePositions` positions or fewer, a
   * position is a parameter once `mergeAfter` different words were seen there (the line's
   * included), or once one of those views has made it a parameter of words. The views whose
   * differences are all such positions merge into the oldest of them, with parameters there.
   */
  private siblings(list: View[], keys: string[]): View | undefined {
    const k = this.options.mergeAfter;
    if (k < 2) return undefined;
    const near: Array<{ view: View; at: number[] }> = [];
    const seen = new Map<number, Set<string>>();
    const variable = new Set<number>();
    for (const v of list) {
      const at = wordDifferences(v.keys, keys, this.options.mergePositions);
      if (at === undefined) continue;
      near.push({ view: v, at });
      for (const p of at) {
        let words = seen.get(p);
        if (words === undefined) seen.set(p, (words = new Set([keys[p] as string])));
        words.add(v.keys[p] as string);
        if (words.size >= k) variable.add(p);
      }
    }
    if (near.length === 0) return undefined;
    for (const { view } of near)
      for (const p of seen.keys()) if (view.keys[p] === WILDCARD && wordsAt(view, p)) variable.add(p);
    const merging = near.filter((d) => d.at.every((p) => variable.has(p)));
    if (merging.length === 0) return undefined;
    const survivor = merging.reduce((x, y) => (y.view.cluster.createdAt < x.view.cluster.createdAt ? y : x)).view;
    for (const { at } of merging)
      for (const p of at) this.makeParameter(survivor.cluster, survivor.elemOf[p] as number, true);
    this.mergeInto(
      survivor,
      merging.map((d) => d.view).filter((v) => v !== survivor),
    );
    return survivor;
  }

  /**
   * Step 4: a view of another token count that the line fits with one parameter taking more (or
   * fewer) tokens. Found, the cluster gets a view for the line's token count.
   */
  private elastic(node: TreeNode, tok: Tokens): View | undefined {
    const keys = tok.key;
    const n = keys.length;
    let tries = 0;
    if (node.byLength === undefined) return undefined;
    for (const [m, list] of node.byLength) {
      if (m === n || m === 0 || n === 0) continue;
      for (let i = list.length - 1; i >= 0 && tries < MAX_ELASTIC_TRIES; i--, tries++) {
        const v = list[i] as View;
        const j = n > m ? this.widenAt(v, keys) : this.narrowAt(v, keys);
        if (j >= 0) return this.addView(v, n, j, node);
      }
    }
    return undefined;
  }

  /** Where the line (longer than the view) fits with the view's parameter at `j` taking `n - m + 1` tokens; -1 if nowhere. */
  private widenAt(v: View, keys: string[]): number {
    const m = v.keys.length;
    const extra = keys.length - m;
    const pre = agreeingPrefix(v.keys, keys);
    const suf = agreeingSuffix(v.keys, keys);
    for (let j = 0; j <= pre && j < m; j++) {
      if (v.keys[j] !== WILDCARD || m - 1 - j > suf) continue;
      const e = v.cluster.elems[v.elemOf[j] as number] as Elem;
      let words = false;
      for (let k = j; k <= j + extra; k++) if (keys[k] !== WILDCARD) words = true;
      if (!words || e.words) return j;
    }
    return -1;
  }

  /** Where the line (shorter than the view) fits with the view's parameters `j .. j + m - n` as one; -1 if nowhere. */
  private narrowAt(v: View, keys: string[]): number {
    const m = v.keys.length;
    const n = keys.length;
    const pre = agreeingPrefix(v.keys, keys);
    const suf = agreeingSuffix(v.keys, keys);
    for (let j = 0; j <= pre && j < n; j++) {
      if (n - 1 - j > suf) continue;
      let all = true;
      for (let k = j; k <= j + m - n; k++) if (v.keys[k] !== WILDCARD) all = false;
      if (all) return j;
    }
    return -1;
  }

  /** A view of `v`'s cluster for lines of `n` tokens, its position `j` spanning what differs in length. */
  private addView(v: View, n: number, j: number, node: TreeNode): View {
    const c = v.cluster;
    const m = v.keys.length;
    const keys: string[] = [];
    const elemOf: number[] = [];
    if (n > m) {
      const e = v.elemOf[j] as number;
      (c.elems[e] as Elem).elastic = true;
      for (let i = 0; i < n; i++) {
        const from = i < j ? i : i <= j + n - m ? j : i - (n - m);
        keys.push(v.keys[from] as string);
        elemOf.push(i >= j && i <= j + n - m ? e : (v.elemOf[from] as number));
      }
    } else {
      const first = v.elemOf[j] as number;
      const last = v.elemOf[j + m - n] as number;
      this.joinElems(c, first, last);
      for (let i = 0; i < n; i++) {
        const from = i < j ? i : i === j ? j : i + (m - n);
        keys.push(v.keys[from] as string);
        elemOf.push(v.elemOf[from] as number);
      }
    }
    const byLength = (node.byLength ??= new Map());
    let list = byLength.get(n);
    if (list === undefined) byLength.set(n, (list = []));
    const view: View = { cluster: c, keys, elemOf, wildcards: countWildcards(keys), list };
    list.push(view);
    c.views.push(view);
    this.heldTokens += n;
    touch(c);
    return view;
  }

  /** Parts `first..last` of a template become one elastic parameter (every view's positions follow). */
  private joinElems(c: Cluster, first: number, last: number): void {
    const e = c.elems[first] as Elem;
    e.elastic = true;
    e.key = WILDCARD;
    if (last === first) return;
    for (let k = first + 1; k <= last; k++) if ((c.elems[k] as Elem).words) e.words = true;
    e.sep = (c.elems[last] as Elem).sep;
    c.elems.splice(first + 1, last - first);
    const gone = last - first;
    for (const v of c.views)
      for (let i = 0; i < v.elemOf.length; i++) {
        const x = v.elemOf[i] as number;
        if (x > last) v.elemOf[i] = x - gone;
        else if (x > first) v.elemOf[i] = first;
      }
  }

  /** Part `e` of a template becomes a parameter in every view. */
  private makeParameter(c: Cluster, e: number, words: boolean): void {
    const elem = c.elems[e] as Elem;
    if (words) elem.words = true;
    if (elem.key === WILDCARD) return;
    elem.key = WILDCARD;
    for (const v of c.views)
      for (let i = 0; i < v.elemOf.length; i++)
        if (v.elemOf[i] === e && v.keys[i] !== WILDCARD) {
          v.keys[i] = WILDCARD;
          v.wildcards++;
        }
    touch(c);
  }

  /**
   * Takes the line into the view's cluster: its differing words become parameters, patterns
   * widen to hold its values. Allocates nothing unless the template changes (the per-line path).
   */
  private absorb(view: View, tok: Tokens): void {
    const c = view.cluster;
    const n = tok.key.length;
    for (let i = 0; i < n; i++) {
      const e = view.elemOf[i] as number;
      const elem = c.elems[e] as Elem;
      const key = tok.key[i] as string;
      if (elem.key !== WILDCARD) {
        if (elem.key === key) continue;
        this.makeParameter(c, e, key !== WILDCARD);
      } else if (key !== WILDCARD) elem.words = true;
      if (elem.elastic || elem.text === WILDCARD) continue;
      const start = tok.start[i] as number;
      const end = tok.end[i] as number;
      if (fitsPattern((elem.pieces ??= patternPieces(elem.text)), tok.message, start, end)) continue;
      setText(elem, generalize(elem.text, shapeOf(textAt(tok, i), key === WILDCARD, this.options.valueText)));
      touch(c);
    }
  }

  /**
   * The parameters of the line last matched, in the order of its template's wildcards (for a
   * sample): computed on demand, since most lines need none. Call it before the next `match`.
   */
  params(): string[] {
    const view = this.last;
    const tok = this.tokens;
    const params: string[] = [];
    if (view === undefined || tok === undefined) return params;
    const c = view.cluster;
    let spanElem = -1;
    let spanStart = 0;
    let spanEnd = 0;
    const n = tok.key.length;
    for (let i = 0; i < n; i++) {
      const e = view.elemOf[i] as number;
      const elem = c.elems[e] as Elem;
      if (spanElem >= 0 && spanElem !== e) {
        params.push(tok.message.slice(spanStart, spanEnd));
        spanElem = -1;
      }
      if (elem.elastic) {
        // The tokens of an elastic parameter, with what lies between them, are one parameter.
        if (spanElem !== e) {
          spanElem = e;
          spanStart = tok.start[i] as number;
        }
        spanEnd = tok.end[i] as number;
        continue;
      }
      // Words in place, and values shown as written, are no parameter (a quoted string with values in it is).
      if (elem.key !== WILDCARD && !(isQuote(elem.key.charCodeAt(0)) && elem.key.includes(WILDCARD))) continue;
      const text = textAt(tok, i);
      if (elem.text === WILDCARD) params.push(text);
      else for (const p of paramsAt(elem, text) ?? [text]) params.push(p);
    }
    if (spanElem >= 0) params.push(tok.message.slice(spanStart, spanEnd));
    return params;
  }

  /** Merges the clusters of `others` into `into`'s: their parameters become its parameters; their ids resolve to it. */
  private mergeInto(into: View, others: View[]): void {
    const c = into.cluster;
    for (const o of others) {
      if (o.cluster === c) continue;
      for (let i = 0; i < o.keys.length; i++) {
        const e = into.elemOf[i] as number;
        const elem = c.elems[e] as Elem;
        const other = o.cluster.elems[o.elemOf[i] as number] as Elem;
        if (o.keys[i] === WILDCARD) this.makeParameter(c, e, other.words);
        if (!elem.elastic && elem.text !== other.text) {
          setText(elem, other.elastic ? WILDCARD : generalize(elem.text, other.text));
          this.makeParameter(c, e, other.words || other.key !== WILDCARD);
        }
      }
      this.remove(o.cluster);
      this.merged.push(o.cluster.id);
      if (this.merged.length > this.options.maxClusters) this.merged.shift();
      this.aliases.set(o.cluster.id, c.id);
      for (const a of o.cluster.aliasIds) this.aliases.set(a, c.id);
      c.aliasIds.push(o.cluster.id, ...o.cluster.aliasIds);
      this.merges++;
    }
    touch(c);
  }

  private remove(c: Cluster): void {
    this.clusters.delete(c.id);
    for (const v of c.views) {
      const at = v.list.indexOf(v);
      if (at >= 0) v.list.splice(at, 1);
      this.heldTokens -= v.keys.length;
    }
    const left = (this.scopeClusters.get(c.scope) ?? 1) - 1;
    if (left > 0) this.scopeClusters.set(c.scope, left);
    else {
      this.scopeClusters.delete(c.scope);
      this.roots.delete(c.scope);
    }
  }

  private create(node: TreeNode, tok: Tokens, scope: string): TemplateMatch {
    const n = tok.key.length;
    // Made by map, not push: an array grown by push keeps room for 17 or more (held for the template's life).
    const elems = tok.key.map((key, i): Elem => {
      const text = textAt(tok, i);
      // A quoted string is shown with its values masked, as it is matched.
      const shown =
        key === WILDCARD ? shapeOf(text, true, this.options.valueText) : isQuote(key.charCodeAt(0)) ? key : text;
      // A word is shown as it is matched: one string for both (each cut of a line is a string of its own).
      const k = own(key);
      return {
        key: k,
        text: shown === key ? k : own(shown),
        sep: squeeze(sepAfter(tok, i)),
        elastic: false,
        words: false,
      };
    });
    const lead = squeeze(n === 0 ? tok.message.slice(0, tok.last) : sepBefore(tok, 0));
    const byLength = (node.byLength ??= new Map());
    let list = byLength.get(n);
    if (list === undefined) byLength.set(n, (list = []));
    const keys = elems.map((e) => e.key);
    const cluster: Cluster = {
      id: '',
      scope,
      lead,
      elems,
      views: [],
      text: '',
      lastUsed: ++this.clock,
      createdAt: this.clock,
      aliasIds: [],
    };
    const text = textOf(cluster);
    let id = templateId(scope + '\u0000' + text);
    // Two live clusters can start from the same text (e.g. one was split off by the tree's width cap).
    while (this.clusters.has(id) || this.aliases.has(id)) id = templateId(id);
    cluster.id = id;
    this.scopeClusters.set(scope, (this.scopeClusters.get(scope) ?? 0) + 1);
    const view: View = { cluster, keys, elemOf: keys.map((_, i) => i), wildcards: countWildcards(keys), list };
    cluster.views.push(view);
    list.push(view);
    this.clusters.set(id, cluster);
    this.heldTokens += n;
    if (this.clusters.size > this.options.maxClusters || this.heldTokens > this.options.maxHeldTokens)
      this.evictOldest();
    this.last = view;
    return { id, template: text, created: true };
  }

  /**
   * Evicts the least recently matched clusters down to 90% of both caps (`maxClusters`,
   * `maxHeldTokens`) in one go: a sort per eviction round keeps the per-line path free of recency
   * bookkeeping beyond one counter. The cluster of the line at hand (the newest) stays.
   */
  private evictOldest(): void {
    const keep = Math.floor(this.options.maxClusters * 0.9);
    const keepTokens = Math.floor(this.options.maxHeldTokens * 0.9);
    const byAge = [...this.clusters.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    for (let i = 0; i < byAge.length - 1; i++) {
      if (byAge.length - i <= keep && this.heldTokens <= keepTokens) break;
      this.discard(byAge[i] as Cluster);
      this.evictedCount++;
    }
  }

  /** Removes a cluster for good: the ids merged into it resolve to themselves again. */
  private discard(c: Cluster): void {
    this.remove(c);
    for (const a of c.aliasIds) this.aliases.delete(a);
  }
}

/**
 * Every constant of the view is the line's token there, and where the line has a word in place
 * of a parameter, that parameter has taken words before (a parameter of numbers does not make
 * every word a number: a one-token template `<*>` would take every one-word line).
 */
function fits(v: View, keys: string[]): boolean {
  const tpl = v.keys;
  for (let i = 0; i < keys.length; i++) {
    const t = tpl[i] as string;
    const k = keys[i] as string;
    if (t === k) continue;
    if (t !== WILDCARD) return false;
    if (!wordsAt(v, i)) return false;
  }
  return true;
}

/** The view's parameter at `i` has taken words. */
function wordsAt(v: View, i: number): boolean {
  return (v.cluster.elems[v.elemOf[i] as number] as Elem).words;
}

/** The positions (1 to `max`) where `tpl` has a word and the line another word; undefined when none, more, or a value where `tpl` has a word. */
function wordDifferences(tpl: string[], keys: string[], max: number): number[] | undefined {
  let at: number[] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const t = tpl[i] as string;
    if (t === WILDCARD || t === keys[i]) continue;
    if (keys[i] === WILDCARD) return undefined;
    (at ??= []).push(i);
    if (at.length > max) return undefined;
  }
  return at;
}

/** Positions from the start where the template agrees with the line (a parameter agrees with anything). */
function agreeingPrefix(tpl: string[], keys: string[]): number {
  const n = Math.min(tpl.length, keys.length);
  let i = 0;
  while (i < n && (tpl[i] === WILDCARD || tpl[i] === keys[i])) i++;
  return i;
}

function agreeingSuffix(tpl: string[], keys: string[]): number {
  const n = Math.min(tpl.length, keys.length);
  let i = 0;
  while (i < n && (tpl[tpl.length - 1 - i] === WILDCARD || tpl[tpl.length - 1 - i] === keys[keys.length - 1 - i])) i++;
  return i;
}

function hasLetter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) | 32;
    if (c >= 97 && c <= 122) return true;
  }
  return false;
}

/** " ' ` */
function isQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

function countWildcards(keys: string[]): number {
  let w = 0;
  for (const k of keys) if (k === WILDCARD) w++;
  return w;
}

/** The template changed: its text and whether it is settled are worked out again when wanted. */
function touch(c: Cluster): void {
  c.text = '';
  c.settled = undefined;
}

function settled(c: Cluster): boolean {
  c.settled ??= c.elems.every((e) => e.key !== WILDCARD || e.elastic || e.text === WILDCARD);
  return c.settled;
}

function textOf(c: Cluster): string {
  if (c.text === '') {
    let t = c.lead;
    for (const e of c.elems) t += (e.elastic ? WILDCARD : e.text) + e.sep;
    // Flat: a string built by concatenation is kept as a rope of all its pieces.
    c.text = own(t);
  }
  return c.text;
}
