import { describe, expect, it } from 'vitest';
import { seededRng } from '@edge-telemetry/protocol/testing';
import { readLoghub } from '../templates/loghub.js';
import { HeaderCuts } from './header-cuts.js';
import { messageStart } from './header.js';
import { loghubCorpus } from '../../../../../test/support/loghub.js';

const { root, present } = loghubCorpus();

/** Lines whose answers `cuts` gave other than messageStart's. */
function differing(cuts: HeaderCuts, lines: readonly string[]): string[] {
  return lines.filter((l) => cuts.messageStart(l) !== messageStart(l));
}

/** Header pieces of many layouts; `0` is replaced by a random digit, `9` by a random digit run. */
const PIECES = [
  ['2026-00-00T00:00:00.000Z', '2026-00-00 00:00:00,000', 'Dec  0 00:00:00', '[Sun Dec 00 00:00:00 2026]', '00/00/00'],
  ['00:00:00', '9', '[  00.000000]', '<00>', '<00>1', '0000-00-00-00.00.00.000000', '00.000.0.00', ''],
  ['INFO', 'WARN ', 'ERROR', 'Info', '[notice]', '<error>', 'D', 'I0000', 'E', 'LOG:', 'RAS', 'KERNEL', ''],
  ['[main]', '[pool-0-thread-0]', 'host-00', 'sshd[00000]:', 'org.example.Foo:', 'file.go:00]', '-', '|', ':', '9'],
  ['Started', 'job', '[ 0.0]', 'failed', 'Connection refused', '"quoted text"', 'kernel:', 'Error:', '00', ''],
];

function fuzzLines(count: number, seed: number): string[] {
  const rnd = seededRng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const digits = (s: string): string =>
    s
      .replace(/9/g, () => String(int(10) < 5 ? int(10) : Math.floor(rnd() * 10 ** (8 + int(7)))))
      .replace(/0/g, () => String(int(10)));
  const gaps = [' ', ' ', ' ', '  ', '\t', ''];
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    let line = '';
    for (const group of PIECES) {
      const n = int(3);
      for (let j = 0; j < n; j++) line += digits(group[int(group.length)] as string) + gaps[int(gaps.length)];
    }
    out.push(line);
  }
  return out;
}

describe('HeaderCuts', () => {
  it('keeps an answer by what the cut read, digits as digits: the same layout with other numbers is answered from it', () => {
    const cuts = new HeaderCuts();
    const a = '2026-12-06 02:37:01,123 ERROR [pool-1-thread-3] org.example.Worker: Job 42 failed';
    const b = '2027-01-17 13:48:12,456 ERROR [pool-7-thread-9] org.example.Worker: Job 7 retried';
    const c = '2027-01-17 13:48:13,001 ERROR [pool-2-thread-1] org.example.Worker: Jobs 8, 9 done';
    // Kept the second time the same reading is met, then answered from.
    expect(cuts.messageStart(a)).toBe(messageStart(a));
    expect(cuts.size).toBe(0);
    expect(cuts.messageStart(b)).toBe(messageStart(b));
    expect(cuts.size).toBe(1);
    expect(cuts.messageStart(c)).toBe(messageStart(c));
    expect(cuts.size).toBe(1);
    // A plain word first is decided by that word alone, and not kept.
    expect(cuts.messageStart('Connection refused by 10.0.0.5')).toBe(0);
    expect(cuts.size).toBe(1);
  });

  it('tells ten-digit runs in and out of the epoch range apart, and a header that is the whole line from one that is not', () => {
    const lines = [
      '1700000000 app: started worker 3',
      '0700000000 app: started worker 3',
      '1700000001 app: started worker 4',
      '9700000000 app: started worker 5',
      '1700000000123 app: started',
      '1700000000.5 app: started',
      '2026-12-06 02:37:01 INFO',
      '2026-12-06 02:37:01 INFO  ',
      '2026-12-06 02:37:01 INFO x',
      '2026-12-06 02:37:01 INFO  RAS  kernel ready',
      '2026-12-06 02:37:01 INFO  RAS kernel ready',
      'Dec  6 02:37:01 gw-01 kernel: [ 1234.567890] usb 1-1: new device',
      'Dec  6 02:37:01 gw-01 kernel: [1234] usb 1-1: new device',
      'Dec  6 02:37:01 gw-01 kernel: usb 1-1: new device',
      'Dec  6 02:37:01 gw-01 sshd[42]: x',
      'Dec  6 02:37:01 gw-01 sshd[42]:  x',
      'Dec  6 02:37:01 gw-01 sshd[42]: [x',
      'Dec  6 02:37:01 gw-01 sshd[42]: ',
    ];
    // Every order: an answer kept from one line must not be given to another that reads otherwise.
    for (let shift = 0; shift < lines.length; shift++) {
      const order = [...lines.slice(shift), ...lines.slice(0, shift)];
      expect(differing(new HeaderCuts(), [...order, ...order, ...order])).toEqual([]);
    }
  });

  it('keeps nothing for a header with a word of its own on every line (a request id)', () => {
    const rnd = seededRng(0x15c1);
    const word = (): string =>
      Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(rnd() * 26))).join('');
    const lines = Array.from(
      { length: 2000 },
      (_, i) => `2026-12-06 02:37:01,123 INFO [req-${word()}] org.example.${word()}.Handler: handled request ${i}`,
    );
    const cuts = new HeaderCuts();
    expect(differing(cuts, lines)).toEqual([]);
    expect(cuts.size).toBe(0);
  });

  it('gives messageStart answers on seeded lines of mixed layouts, with entries bounded', () => {
    const cuts = new HeaderCuts();
    const lines = fuzzLines(30_000, 0x15c0);
    expect(differing(cuts, lines)).toEqual([]);
    expect(cuts.size).toBeGreaterThan(0);
    expect(cuts.size).toBeLessThanOrEqual(HeaderCuts.maxEntries);
  });

  it.skipIf(!present)('gives messageStart answers on Loghub-2k raw lines, read twice in turn', async () => {
    const datasets = await readLoghub(root, true);
    expect(datasets).toHaveLength(10);
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) for (const d of datasets) lines.push(d.raw[i] as string);
    const cuts = new HeaderCuts();
    expect(differing(cuts, [...lines, ...lines])).toEqual([]);
    // Far fewer layouts (with the words the cut reads after them) than lines.
    expect(cuts.size).toBeLessThan(lines.length / 10);
  });
});
