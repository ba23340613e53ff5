/**
 * Wraps the real ClickHouse connection so a test can make it fail or stall on command; every
 * call that is let through goes to the real engine.
 */
import type { StorageConnection } from '../src/storage/client.js';

export type FaultMode = 'ok' | 'fail' | 'stall';

export interface FaultSwitch {
  mode: FaultMode;
  /** Only statements matching this are affected (all when unset). */
  match?: RegExp;
  /** Calls refused or held while not 'ok'. */
  refused: number;
  set(mode: FaultMode, match?: RegExp): void;
  wrap(inner: StorageConnection): StorageConnection;
}

export function faultSwitch(): FaultSwitch {
  const stalled: (() => void)[] = [];
  const sw: FaultSwitch = {
    mode: 'ok',
    refused: 0,
    set(mode, match) {
      sw.mode = mode;
      sw.match = match;
      if (mode !== 'stall') for (const release of stalled.splice(0)) release();
    },
    wrap(inner) {
      const gate = async (query: string): Promise<void> => {
        while (sw.mode !== 'ok' && (!sw.match || sw.match.test(query))) {
          sw.refused++;
          if (sw.mode === 'fail') throw new Error('injected: connection refused');
          await new Promise<void>((r) => stalled.push(r));
        }
      };
      return {
        ping: async (p) => (await gate(''), inner.ping(p)),
        query: async (p) => (await gate(p.query), inner.query(p)),
        insert: async (p) => (await gate(p.query), inner.insert(p)),
        command: async (p) => (await gate(p.query), inner.command(p)),
        exec: async (p) => (await gate(p.query), inner.exec(p)),
        close: () => inner.close(),
      };
    },
  };
  return sw;
}
