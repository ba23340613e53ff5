import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { encodeBlock, peekBlock, type BlockMeta } from './block.js';
import { addBlock, emptySegment, scanSegment } from './segment-file.js';

const meta = (i: number, containers: string[]): BlockMeta => ({
  count: 10,
  minTs: 1000 * i,
  maxTs: 1000 * i + 999,
  containers,
  ends: [[`/var/lib/docker/containers/${containers[0]}-json.log`, 7, 4096 * (i + 1), [4096 * (i + 1) + 17]]],
});

/** A segment index after `n` blocks of 100 bytes, of two container sets. */
function indexOf(n: number) {
  const seg = emptySegment(1, '/x/seg-0000000001.log');
  for (let i = 0; i < n; i++)
    addBlock(seg, { offset: i * 100, size: 100, ...meta(i, i < n / 2 ? ['app', 'db'] : ['app']) });
  return seg;
}

describe('segment index', () => {
  it('sums its blocks: bytes, lines, time range and containers', () => {
    expect(indexOf(100)).toMatchObject({ bytes: 10_000, records: 1000, minTs: 0, maxTs: 99_999 });
    expect([...indexOf(100).containers].sort()).toEqual(['app', 'db']);
  });

  it('holds nothing per block: its size is the same after 10 blocks and after 100,000 (memory independent of what the store holds)', () => {
    // Serialized, an index holds every value it keeps; a list per block (as the index once had,
    // ~100 bytes a block) makes the larger one ~10 MB.
    const small = serialize(indexOf(10)).length;
    const large = serialize(indexOf(100_000)).length;
    expect(large).toBeLessThanOrEqual(small + 16);
  });

  it('hands the ends of every block scanned to recovery, in block order', () => {
    const blocks = [0, 1, 2].map((i) => encodeBlock(meta(i, ['app']), Buffer.from(`payload ${i}`)));
    const { index, validBytes, ends } = scanSegment(1, '/x/seg', Buffer.concat([...blocks, Buffer.from('torn')]));
    expect(validBytes).toBe(blocks.reduce((n, b) => n + b.length, 0));
    expect(index).toMatchObject({ bytes: validBytes, records: 30, minTs: 0, maxTs: 2999 });
    expect(ends.map((e) => e[2])).toEqual([4096, 8192, 12288]);
  });

  it('finds blocks by their headers: length and time range, none past a torn tail', () => {
    const blocks = [0, 1].map((i) => encodeBlock(meta(i, ['app']), Buffer.from(`payload ${i}`)));
    const data = Buffer.concat([...blocks, (blocks[0] as Buffer).subarray(0, 40)]);
    expect(peekBlock(data, 0)).toEqual({ size: blocks[0]?.length, minTs: 0, maxTs: 999 });
    expect(peekBlock(data, (blocks[0] as Buffer).length)).toEqual({
      size: blocks[1]?.length,
      minTs: 1000,
      maxTs: 1999,
    });
    expect(peekBlock(data, (blocks[0] as Buffer).length + (blocks[1] as Buffer).length)).toBeUndefined();
    expect(peekBlock(data, 1)).toBeUndefined();
  });
});
