/** Heap growth across a fuzz run, measured after full collections (test/support/gc.ts). */
import { expect } from 'vitest';
import { exposeGc } from '../support/gc.js';

export function heapBound(): { expectWithin(bytes: number): Promise<void>; growth(): Promise<number> } {
  const gc = exposeGc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const growth = async (): Promise<number> => {
    // Let pending callbacks (writer timers, sockets) settle before measuring.
    await new Promise((r) => setTimeout(r, 50));
    gc();
    return process.memoryUsage().heapUsed - before;
  };
  return {
    growth,
    async expectWithin(bytes) {
      const g = await growth();
      expect(g, `heap grew by ${(g / 1048576).toFixed(1)} MiB`).toBeLessThan(bytes);
    },
  };
}
