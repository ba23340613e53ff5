import { CollectorError } from '../../errors.js';
import type { RedactOptions } from './options.js';
import { eachCommand } from './command-line.js';
import { GATE_ALWAYS, scanGates } from './prefilter.js';
import { builtinRules, type RedactRule } from './rules.js';

/** A key whose `=` would complete the `sig=` keyword (KEYWORDS in prefilter.ts). */
const SIG_END = /sig$/i;

/** Field keys remembered as opening no gate (see redactField), each at most this long; past this many the memo starts over. */
const QUIET_KEYS_MAX = 1024;
const QUIET_KEY_LENGTH = 64;
/** A value every key=value rule takes whole (12+ characters with a digit): asks whether a key is a secret's. */
const KEY_PROBE = 'a1b2c3d4e5f6g7h8';
/** The `[REDACTED:kind]` a redacted text begins with. */
const LEADING_LABEL = /^\[REDACTED:[^\]]*\]/;

/** Counts of redactions per kind, added up by the caller across lines. */
export type RedactionCounts = Record<string, number>;

/**
 * Replaces secrets and personal data in a line with `[REDACTED:kind]`. Lines without any hint
 * of a secret cost a few substring tests and come back unchanged (the same string).
 */
export class Redactor {
  private readonly rules: RedactRule[];
  private readonly hasCustom: boolean;
  /**
   * Field keys that open no gate and do not end in `sig`: a log's fields repeat their keys on every
   * line, and scanning a key again cost as much as scanning its value.
   */
  private readonly quietKeys = new Set<string>();

  constructor(options: RedactOptions) {
    this.hasCustom = options.patterns.length > 0;
    const off = new Set(options.disable);
    this.rules = builtinRules().filter((r) => !off.has(r.kind));
    for (const p of options.patterns) {
      let pattern: RegExp;
      try {
        pattern = new RegExp(p.pattern, p.flags.includes('g') ? p.flags : p.flags + 'g');
      } catch (err) {
        throw new CollectorError('ET_ERR_LOG_PATTERN', `redact pattern for ${p.kind}: ${(err as Error).message}`);
      }
      this.rules.push({ kind: p.kind, pattern, gate: GATE_ALWAYS });
    }
  }

  get kinds(): string[] {
    return this.rules.map((r) => r.kind);
  }

  /**
   * A structured field's value, redacted as its `key=value` text would be (the keyword rules need
   * the key). Nothing of the rules can match unless the key or the value opens a gate, or the key
   * ends in `sig` (the one keyword, `sig=`, that takes the `=`): then the value comes back as it is,
   * without building the pair; this runs for every field of a line shipped verbatim.
   * In text an unquoted value ends at a space, or after `password=` where the next field seems to
   * begin, or at a quote (rules.ts, PASSWORD_VALUE); a field's value is known whole, so under a secret's key
   * all of it goes (`ab"cd` would leave `"cd`, `hunter2 user=x` would leave ` user=x`).
   */
  redactField(key: string, value: string, counts: RedactionCounts): string {
    if (!this.hasCustom && this.quietKey(key) && scanGates(value) === 0) return value;
    const kv = `${key}=${value}`;
    const red = this.redact(kv, counts);
    if (red === kv) return value;
    const out = red.slice(key.length + 1);
    const label = LEADING_LABEL.exec(out)?.[0];
    return label !== undefined && label !== out && this.secretKey(key) ? label : out;
  }

  /** Whether the key=value rules take any value under `key` (DB_PASSWORD, apiKey), not only some. */
  private secretKey(key: string): boolean {
    return this.redact(`${key}=${KEY_PROBE}`, {}).startsWith(`${key}=[REDACTED:`);
  }

  private quietKey(key: string): boolean {
    if (this.quietKeys.has(key)) return true;
    if (scanGates(key) !== 0 || SIG_END.test(key)) return false;
    if (key.length > QUIET_KEY_LENGTH) return true;
    if (this.quietKeys.size >= QUIET_KEYS_MAX) this.quietKeys.clear();
    // A copy: V8 keeps a cut of 13 characters or more (a logfmt key) as a view of its whole line.
    this.quietKeys.add(key.length < 13 ? key : (' ' + key).slice(1));
    return true;
  }

  redact(text: string, counts: RedactionCounts): string {
    const gates = scanGates(text);
    if (gates === 0 && !this.hasCustom) return text;
    let out = text;
    for (const rule of this.rules) {
      if ((rule.gate & gates) === 0 && rule.gate !== GATE_ALWAYS) continue;
      if (rule.hint !== undefined && !rule.hint.test(out)) continue;
      out =
        rule.command === undefined
          ? this.apply(rule, out, counts)
          : eachCommand(out, rule.command, (args) => this.apply(rule, args, counts));
    }
    return out;
  }

  /** `text` with the rule's matches replaced, counted in `counts`. */
  private apply(rule: RedactRule, text: string, counts: RedactionCounts): string {
    rule.pattern.lastIndex = 0;
    if (!rule.pattern.test(text)) return text;
    rule.pattern.lastIndex = 0;
    const label = `[REDACTED:${rule.kind}]`;
    let n = 0;
    const red = text.replace(rule.pattern, (match: string, ...groups: unknown[]) => {
      if (rule.confirm !== undefined && !rule.confirm(match)) return match;
      n++;
      let kept = '';
      for (let g = 0; g < (rule.keep ?? 0); g++) kept += typeof groups[g] === 'string' ? (groups[g] as string) : '';
      return kept + (rule.rewrite === undefined ? label : rule.rewrite(match.slice(kept.length), label, kept));
    });
    if (n > 0) counts[rule.kind] = (counts[rule.kind] ?? 0) + n;
    return red;
  }
}
