import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createBatchCodec } from './batch-codec.js';

const goldenRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'golden');

// Every committed version's vectors must keep decoding to exactly the committed JSON.
describe('golden vectors', () => {
  const codec = createBatchCodec();
  const versions = readdirSync(goldenRoot).filter((d) => /^v\d+$/.test(d));

  it('has vectors for v1', () => {
    expect(versions).toContain('v1');
    expect(readdirSync(path.join(goldenRoot, 'v1')).filter((f) => f.endsWith('.bin')).length).toBeGreaterThanOrEqual(4);
  });

  for (const version of versions) {
    const dir = path.join(goldenRoot, version);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.bin'))) {
      it(`${version}/${file} decodes to ${file.replace('.bin', '.json')}`, () => {
        const decoded = codec.decode(readFileSync(path.join(dir, file)));
        if (!decoded.ok) throw decoded.error;
        const expected = readFileSync(path.join(dir, file.replace(/\.bin$/, '.json')), 'utf8');
        expect(JSON.stringify(decoded.value, null, 2) + '\n').toBe(expected);
      });
    }
  }
});
