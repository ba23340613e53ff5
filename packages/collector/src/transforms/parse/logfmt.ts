/**
 * logfmt (`key=value key="quoted value"`) into pairs. Bare words without `=` are skipped; a key
 * given twice keeps its first place and its last value. Returns undefined when the line holds no
 * pair at all. An object rather than a Map: the caller reads it as a record, and a Map copied into
 * one (Object.fromEntries) cost two containers per logfmt line on the per-line path.
 */
export function parseLogfmt(line: string, maxPairs: number): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let size = 0;
  const n = line.length;
  let i = 0;
  while (i < n && size < maxPairs) {
    while (i < n && line.charCodeAt(i) === 32) i++;
    const keyStart = i;
    while (i < n && line.charCodeAt(i) !== 61 && line.charCodeAt(i) !== 32) i++;
    if (i >= n || line.charCodeAt(i) !== 61 || i === keyStart) {
      while (i < n && line.charCodeAt(i) !== 32) i++;
      continue;
    }
    const key = line.slice(keyStart, i);
    i++;
    let value: string;
    if (line.charCodeAt(i) === 34) {
      i++;
      let v = '';
      let start = i;
      while (i < n && line.charCodeAt(i) !== 34) {
        if (line.charCodeAt(i) === 92 && i + 1 < n) {
          v += line.slice(start, i);
          const e = line[i + 1] as string;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
          start = i;
        } else i++;
      }
      value = v + line.slice(start, i);
      i++;
    } else {
      const start = i;
      while (i < n && line.charCodeAt(i) !== 32) i++;
      value = line.slice(start, i);
    }
    if (!Object.hasOwn(out, key)) size++;
    // A key named __proto__ is a pair like any other, not the prototype (defined, not assigned).
    if (key === '__proto__')
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return size > 0 ? out : undefined;
}
