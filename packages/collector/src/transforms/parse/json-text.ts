/**
 * JSON text of a value JSON.parse gave. JSON.parse reads any depth, but JSON.stringify recurses
 * and overflows the stack past some thousands of levels: one log line of 20,000 nested brackets
 * (40 KB) threw out of every seal, and the node's logs stopped. Such a value keeps its first
 * MAX_JSON_NESTING levels, deeper ones shown as NESTED_TOO_DEEP (OTLP values use the same two), and `cut`
 * (if given: a caller that counts it) is called. Values that encode are not walked: the cut costs only the lines that need it.
 */
export const MAX_JSON_NESTING = 16;

/** The object a JSON text holds; undefined for any other value or for a text that is not JSON (corrupt, torn). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
export const NESTED_TOO_DEEP = '[nested too deep]';

export function jsonText(v: unknown, cut?: () => void): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    cut?.();
    return JSON.stringify(pruned(v, MAX_JSON_NESTING));
  }
}

function pruned(v: unknown, levels: number): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (levels === 0) return NESTED_TOO_DEEP;
  if (Array.isArray(v)) return v.map((x) => pruned(x, levels - 1));
  // No prototype: a key "__proto__" is data like any other.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, x] of Object.entries(v)) out[k] = pruned(x, levels - 1);
  return out;
}
