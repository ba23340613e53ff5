/**
 * (Re)writes the golden vectors of the current batch frame version: golden/v<N>/<name>.bin (what
 * the codec sends) and <name>.json (what decoding it must give). Run it only when adding vectors
 * or a new version (golden.test.ts fails when the encoder's bytes change under the same version);
 * committed vectors of earlier versions must keep decoding unchanged.
 *
 *   npx tsx packages/protocol/scripts/write-golden.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCH_FRAME_VERSION, createBatchCodec, type Batch } from '../src/index.js';
import { goldenBatches } from './golden-batches.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'golden', `v${BATCH_FRAME_VERSION}`);
await mkdir(dir, { recursive: true });
const codec = createBatchCodec();
for (const [name, batch] of Object.entries(goldenBatches)) {
  const bytes = codec.encode(batch);
  const decoded = codec.decode(bytes);
  if (!decoded.ok) throw decoded.error;
  await writeFile(path.join(dir, `${name}.bin`), bytes);
  await writeFile(path.join(dir, `${name}.json`), goldenJson(decoded.value));
  console.log(`${name}: ${bytes.length} bytes`);
}

export function goldenJson(b: Batch): string {
  return JSON.stringify(b, null, 2) + '\n';
}
