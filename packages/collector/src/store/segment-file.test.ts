import { describe, expect, it } from 'vitest';
import { encodeBlock, type BlockMeta } from './block.js';
import { addBlock, emptySegment, scanSegment } from './segment-file.js';

const meta = (i: number, containers: string[]): BlockMeta => ({
  count: 10,
  minTs: 1000 * i,
  maxTs: 1000 * i + 999,
  containers,
  ends: [[`/var/lib/docker/containers/${containers[0]}-json.log`, 7, 4096 * (i + 1), [4096 * (i + 1) + 17]]],
});

describe('segment index', () => {
  it('keeps per block only what a query needs: no source ends, one container list for blocks of the same containers', () => {
    const seg = emptySegment(1, '/x/seg-0000000001.log');
    for (let i = 0; i < 100; i++) {
      const m = meta(i, i < 50 ? ['app', 'db'] : ['app']);
      addBlock(seg, { offset: i * 100, size: 100, ...m });
    }
    expect(seg.blocks).toHaveLength(100);
    expect(seg.blocks.every((b) => !('ends' in b))).toBe(true);
    expect(new Set(seg.blocks.map((b) => b.containers)).size).toBe(2);
    expect(seg.blocks[0]?.containers).toEqual(['app', 'db']);
    expect(seg.blocks[99]?.containers).toEqual(['app']);
    expect(seg).toMatchObject({ bytes: 10_000, records: 1000, minTs: 0, maxTs: 99_999 });
    expect([...seg.containers].sort()).toEqual(['app', 'db']);
  });

  it('hands the ends of every block scanned to recovery, in block order', () => {
    const blocks = [0, 1, 2].map((i) => encodeBlock(meta(i, ['app']), Buffer.from(`payload ${i}`)));
    const { index, validBytes, ends } = scanSegment(1, '/x/seg', Buffer.concat([...blocks, Buffer.from('torn')]));
    expect(validBytes).toBe(blocks.reduce((n, b) => n + b.length, 0));
    expect(index.blocks.map((b) => b.minTs)).toEqual([0, 1000, 2000]);
    expect(ends.map((e) => e[2])).toEqual([4096, 8192, 12288]);
  });
});
