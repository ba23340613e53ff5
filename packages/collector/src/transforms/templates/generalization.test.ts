/**
 * The miner on generated corpora, independent of Loghub: for each general kind of value, one event
 * whose value varies in length and shape (and in how many tokens it takes) must stay one template;
 * events that differ in one constant word must stay apart.
 */
import { intIn, pick, seededRng as rng, type Rng } from '@edge-telemetry/protocol/testing';
import { describe, expect, it } from 'vitest';
import { groupingAccuracy } from './grouping-accuracy.js';
import { TemplateMiner } from './miner.js';
import { templateMinerOptions } from './options.js';

type Gen = (r: Rng) => string;
const int = intIn;
const hex = (r: Rng, n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[int(r, 0, 15)]).join('');
const word = (r: Rng): string => pick(r, ['data', 'logs', 'tmp', 'reports', 'home', 'srv', 'cache', 'x']);

/** Values of each kind, drawn so that their length and shape (and token count) vary. */
const KINDS: Record<string, Gen> = {
  numbers: (r) =>
    pick(r, [
      `${int(r, 0, 9)}`,
      `-${int(r, 1, 99999)}`,
      `${(r() * 1e4).toFixed(3)}`,
      `+${int(r, 1, 9)}`,
      `${int(r, 1, 999)},${int(r, 100, 999)}`,
    ]),
  'hex ids': (r) => pick(r, [`0x${hex(r, int(r, 1, 8))}`, hex(r, int(r, 8, 40)), `0X${hex(r, 4).toUpperCase()}`]),
  IPs: (r) =>
    pick(r, [
      `${int(r, 1, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`,
      `${int(r, 1, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}:${int(r, 1, 65535)}`,
      `fe80::${hex(r, 4)}:${hex(r, 2)}`,
      `2001:db8::${hex(r, 4)}`,
      `[::1]:${int(r, 1, 65535)}`,
    ]),
  UUIDs: (r) =>
    pick(r, [
      `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`,
      `{${hex(r, 8).toUpperCase()}-${hex(r, 4).toUpperCase()}-4${hex(r, 3)}-8${hex(r, 3)}-${hex(r, 12).toUpperCase()}}`,
    ]),
  paths: (r) =>
    pick(r, [
      '/',
      `/${word(r)}`,
      `/var/${word(r)}/${word(r)}/${word(r)}.log`,
      `./${word(r)}/${word(r)}`,
      `~/${word(r)}`,
      `C:\\Program Files\\${word(r)}\\${word(r)}.exe`,
      `/mnt/${word(r)}/${int(r, 1, 99)}/part-${int(r, 0, 999)}`,
    ]),
  URLs: (r) =>
    pick(r, [
      `http://${word(r)}.example.com/`,
      `https://api.example.com/v${int(r, 1, 3)}/${word(r)}/${int(r, 1, 9999)}`,
      `https://example.com/${word(r)}?q=${word(r)}&page=${int(r, 1, 9)}&sort=asc`,
      `ftp://files.example.org/${word(r)}/${word(r)}.tar.gz`,
    ]),
  durations: (r) =>
    pick(r, [
      `${int(r, 1, 999)}ms`,
      `${(r() * 9).toFixed(2)} s`,
      `<1 sec`,
      `${int(r, 2, 59)} seconds`,
      `${int(r, 0, 9)}:${int(r, 10, 59)}:${int(r, 10, 59)}`,
      `${int(r, 1, 9)}h${int(r, 1, 59)}m${int(r, 1, 59)}s`,
      `${int(r, 1, 90)} min`,
    ]),
  sizes: (r) =>
    pick(r, [
      `${int(r, 0, 1023)} B`,
      `${(r() * 900).toFixed(1)} KB`,
      `${int(r, 1, 900)}MB`,
      `${(r() * 9).toFixed(2)} GiB`,
      `${int(r, 1, 99999)} bytes`,
      `${int(r, 1, 99)}k`,
    ]),
  timestamps: (r) =>
    pick(r, [
      `2024-0${int(r, 1, 9)}-1${int(r, 0, 9)}T1${int(r, 0, 9)}:${int(r, 10, 59)}:${int(r, 10, 59)}Z`,
      `2024-0${int(r, 1, 9)}-1${int(r, 0, 9)} 1${int(r, 0, 9)}:${int(r, 10, 59)}:${int(r, 10, 59)}.${int(r, 100, 999)}`,
      `${pick(r, ['Jan', 'Feb', 'Mar', 'Oct'])} ${int(r, 1, 28)} 1${int(r, 0, 9)}:${int(r, 10, 59)}:${int(r, 10, 59)}`,
      `${pick(r, ['Mon', 'Tue', 'Sat'])} ${pick(r, ['Jan', 'Jun', 'Dec'])} ${int(r, 1, 28)} 0${int(r, 0, 9)}:${int(r, 10, 59)}:${int(r, 10, 59)} 2005`,
      `${int(r, 1600000000, 1800000000)}`,
      `${int(r, 10, 28)}/${pick(r, ['Oct', 'Nov'])}/2023:1${int(r, 0, 9)}:${int(r, 10, 59)}:${int(r, 10, 59)} +0000`,
    ]),
  'quoted strings': (r) =>
    pick(r, [
      `"${word(r)}"`,
      `'${word(r)} ${word(r)}'`,
      `"${word(r)} ${word(r)} ${word(r)} ${word(r)}"`,
      `"${int(r, 1, 9999)} ${word(r)}.pdf"`,
      `"/${word(r)}/${word(r)}"`,
      `""`,
      `'-'`,
      `"${pick(r, ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'])}"`,
    ]),
};

/**
 * Each kind in a few sentences, at the start, in the middle and at the end, beside another event
 * of the same shape. A quoted string that starts a message is taken for the message itself (a
 * structured klog line: `"Probe failed" pod=...`), so quoted strings are not tried first.
 */
const SENTENCES: Array<(v: string, n: number) => string> = [
  (v, n) => `upload of ${v} finished after ${n} retries`,
  (v, n) => `${v} refused by the gateway (attempt ${n})`,
  (v, n) => `retry ${n}: could not reach ${v}`,
];
const FIRST_IS_MESSAGE = new Set(['quoted strings']);
const OTHER = (n: number): string => `upload of the batch was cancelled after ${n} retries`;

describe('one event whose parameter varies in kind, length and shape stays one template', () => {
  for (const [kind, gen] of Object.entries(KINDS)) {
    it(kind, () => {
      const r = rng(kind.length * 7919);
      for (const [s, sentence] of SENTENCES.entries()) {
        if (s === 1 && FIRST_IS_MESSAGE.has(kind)) continue;
        const miner = new TemplateMiner(templateMinerOptions());
        const lines: string[] = [];
        const truth: string[] = [];
        for (let i = 0; i < 120; i++) {
          if (i % 4 === 3) {
            lines.push(OTHER(int(r, 1, 9)));
            truth.push('other');
          } else {
            lines.push(sentence(gen(r), int(r, 1, 9)));
            truth.push('event');
          }
        }
        const ids = lines.map((l) => miner.match(l).id).map((id) => miner.resolve(id));
        const ga = groupingAccuracy(ids, truth);
        if (ga !== 1) {
          const seen = new Map<string, string>();
          ids.forEach((id, i) => seen.set(id, lines[i] as string));
          throw new Error(`${kind}, sentence ${s}: GA ${ga}; groups:\n${[...seen.values()].join('\n')}`);
        }
        expect(new Set(ids).size).toBe(2);
      }
    });
  }
});

describe('events that differ in one constant word stay apart', () => {
  const EVENTS: Array<{ name: string; words: string[]; line: (w: string, r: Rng) => string }> = [
    {
      name: 'two states',
      words: ['opened', 'closed'],
      line: (w, r) =>
        `session ${w} for user ${pick(r, ['root', 'alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'])} by (uid=${int(r, 0, 999)})`,
    },
    {
      // Up to mergeAfter - 1 (4 by default) different words at one position stay events of their own.
      name: 'HTTP methods (four)',
      words: ['GET', 'POST', 'PUT', 'DELETE'],
      line: (w, r) =>
        `10.0.0.${int(r, 1, 254)} "${w} /api/v1/items/${int(r, 1, 999)} HTTP/1.1" status: ${pick(r, [200, 404])} len: ${int(r, 1, 9999)}`,
    },
    {
      name: 'a long line, one word apart',
      words: ['started', 'stopped', 'paused'],
      line: (w, r) =>
        `Worker pool for the nightly export of tenant ${int(r, 1, 999)} ${w} processing queue ${hex(r, 8)} on shard ${int(r, 0, 15)} of cluster eu-west`,
    },
    {
      name: 'booleans in key=value',
      words: ['true', 'false'],
      line: (w, r) => `animateCollapsePanels: flags=${int(r, 0, 9)}, force=${w}, delayed=false`,
    },
    {
      name: 'the first word',
      words: ['Starting', 'Stopping', 'Restarting', 'Reloading'],
      line: (w, r) => `${w} daily apt download activities (job ${int(r, 1, 9999)})`,
    },
  ];
  for (const e of EVENTS) {
    it(e.name, () => {
      const r = rng(e.name.length);
      const miner = new TemplateMiner(templateMinerOptions());
      const lines: string[] = [];
      const truth: string[] = [];
      for (let i = 0; i < 300; i++) {
        const w = e.words[i % e.words.length] as string;
        lines.push(e.line(w, r));
        truth.push(w);
      }
      const ids = lines.map((l) => miner.match(l).id).map((id) => miner.resolve(id));
      expect(groupingAccuracy(ids, truth)).toBe(1);
    });
  }
});
