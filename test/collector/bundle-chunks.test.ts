/**
 * The collector's bundle (packages/collector/scripts/bundle.mjs) reads at start only what every
 * collector runs: V8 keeps a loaded file's whole source text in the heap, so code that is off by
 * default (the OTLP receiver with gRPC and protobufjs, ~0.75 MB) must stay in a chunk that only
 * its import() reads. The files loaded at start are followed through their static imports in the
 * built bundle, as Node would.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/processes.js';

const dir = path.join(repoRoot, 'packages/collector/dist/bundle/bin');
/** grpc-js's user agent: in its code and nowhere else. */
const GRPC = 'grpc-node-js/';

/** The entry and every file it imports statically, transitively: what is read at start. */
async function loadedAtStart(entry: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const todo = [entry];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (seen.has(f)) continue;
    const text = await readFile(path.join(dir, f), 'utf8');
    seen.set(f, text);
    // esbuild's ESM output: `import{a,b}from"./chunk-X.js"` or `import"./chunk-X.js"`.
    for (const m of text.matchAll(/import(?:\{[^}]*\}from|\s*)"\.\/([^"]+)"/g)) todo.push(m[1] as string);
  }
  return seen;
}

describe('the collector bundle', () => {
  it('leaves the OTLP receiver (gRPC, protobufjs) out of what it reads at start, in a chunk its import() reads', async () => {
    const atStart = await loadedAtStart('collector.js');
    expect(atStart.size).toBeGreaterThan(1);
    for (const [file, text] of atStart) expect(text.includes(GRPC), file).toBe(false);
    const lazy = /import\("\.\/(otlp-receiver-[^"]+\.js)"\)/.exec(atStart.get('collector.js') as string)?.[1];
    expect(lazy).toBeDefined();
    expect(atStart.has(lazy as string)).toBe(false);
    expect((await readFile(path.join(dir, lazy as string), 'utf8')).includes(GRPC)).toBe(true);
  });
});
