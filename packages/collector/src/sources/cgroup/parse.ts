/** Parsers for the cgroup file formats (Documentation/admin-guide/cgroup-v2.rst and the v1 docs). */

/** "key value" per line (cpu.stat, memory.stat). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const v = Number(line.slice(sp + 1));
    if (Number.isFinite(v)) out.set(line.slice(0, sp), v);
  }
  return out;
}

/** A single number; v2's "max" (no limit) and v1's near-2^63 limits come back as undefined. */
export function parseSingle(text: string): number | undefined {
  const t = text.trim();
  if (t === '' || t === 'max') return undefined;
  const v = Number(t);
  return Number.isFinite(v) && v < 2 ** 62 ? v : undefined;
}

/** v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 ..." per device, summed over devices. */
export function parseIoStat(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    for (const field of line.split(' ')) {
      if (field.startsWith('rbytes=')) read += Number(field.slice(7)) || 0;
      else if (field.startsWith('wbytes=')) write += Number(field.slice(7)) || 0;
    }
  }
  return { read, write };
}

/** v1 blkio.throttle.io_service_bytes: "8:0 Read 123" per device and op, plus a "Total" line. */
export function parseBlkio(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const [dev, op, val] = line.split(' ');
    if (dev === undefined || val === undefined) continue;
    if (op === 'Read') read += Number(val) || 0;
    else if (op === 'Write') write += Number(val) || 0;
  }
  return { read, write };
}
