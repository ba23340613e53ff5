/**
 * logfmt (`key=value key="quoted value"`) into pairs. Bare words without `=` are skipped.
 * Returns undefined when the line holds no pair at all.
 */
export function parseLogfmt(line: string, maxPairs: number): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const n = line.length;
  let i = 0;
  while (i < n && out.size < maxPairs) {
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
    out.set(key, value);
  }
  return out.size > 0 ? out : undefined;
}
