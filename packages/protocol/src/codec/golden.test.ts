import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { goldenBatches } from '../../scripts/golden-batches.js';
import { BATCH_FRAME_VERSION } from '../limits.js';
import { createBatchCodec } from './batch-codec.js';

const goldenRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'golden');

// Every committed version's vectors must keep decoding to exactly the committed JSON, and the
// current version's must be what the encoder writes today: a change to the bytes is a new version.
describe('golden vectors', () => {
  const codec = createBatchCodec();
  const versions = readdirSync(goldenRoot).filter((d) => /^v\d+$/.test(d));
  const current = `v${BATCH_FRAME_VERSION}`;

  it(`has vectors for the current version, ${current}`, () => {
    expect(versions).toContain(current);
    expect(readdirSync(path.join(goldenRoot, current)).filter((f) => f.endsWith('.bin')).length).toBeGreaterThanOrEqual(
      4,
    );
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

  it.each(Object.keys(goldenBatches))(`the encoder still writes ${current}/%s.bin`, (name) => {
    const committed = readFileSync(path.join(goldenRoot, current, `${name}.bin`));
    expect(codec.encode(goldenBatches[name]!).equals(committed)).toBe(true);
  });
});
