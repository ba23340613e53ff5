/**
 * Heap growth across a fuzz run, measured after full collections. `gc` is exposed at run time
 * (the flag can be set from inside a running V8; the function is taken from a fresh context).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'vitest';

function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export function heapBound(): { expectWithin(bytes: number): Promise<void>; growth(): Promise<number> } {
  const gc = collector();
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
