/**
 * Stable template id: 48 bits of two FNV-1a variants over the template text, as 12 hex digits.
 * Stable within a node because it is computed once, at the template's first sight.
 *
 * Why 48 bits: an id is sent with every verbatim line and template row, and each hex digit costs
 * on the uplink (16 digits took 11 KB more an hour than 12 on the reference workload). Ids only
 * need to be unique per container: with 10,000 templates in one container over the retention the
 * chance of two sharing an id is about 2e-7 (live clusters never do: the miner re-hashes).
 */
export function templateId(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 16).toString(16).padStart(4, '0');
}
