import { LogLevel } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import { DuplicateCollapser } from './collapser.js';

describe('DuplicateCollapser', () => {
  const ev = (message: string, level: number = LogLevel.info) => ({ message, level, stream: 'stdout', repeat: 1 });

  it('collapses consecutive duplicates with a repeat count', () => {
    const c = new DuplicateCollapser({ enabled: true, maxRepeat: 100 });
    const out = [ev('a'), ev('a'), ev('a'), ev('b'), ev('a'), ev('a', LogLevel.warn)]
      .map((e) => c.push(e))
      .filter((e) => e !== undefined);
    const last = c.take();
    if (last) out.push(last);
    expect(out.map((e) => [e?.message, e?.level, e?.repeat])).toEqual([
      ['a', LogLevel.info, 3],
      ['b', LogLevel.info, 1],
      ['a', LogLevel.info, 1],
      ['a', LogLevel.warn, 1],
    ]);
    expect(c.take()).toBeUndefined();
  });

  it('closes a run at maxRepeat and passes everything through when disabled', () => {
    const c = new DuplicateCollapser({ enabled: true, maxRepeat: 2 });
    expect([c.push(ev('x')), c.push(ev('x')), c.push(ev('x'))].map((e) => e?.repeat)).toEqual([
      undefined,
      undefined,
      2,
    ]);
    const off = new DuplicateCollapser({ enabled: false, maxRepeat: 2 });
    expect(off.push(ev('x'))?.message).toBe('x');
  });
});
