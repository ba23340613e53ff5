import { LogLevel } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import { LineFilter } from './line-filter.js';

describe('LineFilter', () => {
  it('drops below the minimum level and applies include before exclude', () => {
    const f = new LineFilter({ minLevel: 'info', include: ['^GET ', 'error'], exclude: ['/health'] });
    expect(f.check(LogLevel.debug, 'GET /x')).toBe('below_level');
    expect(f.check(LogLevel.info, 'POST /x')).toBe('not_included');
    expect(f.check(LogLevel.info, 'GET /healthz')).toBe('excluded');
    expect(f.check(LogLevel.warn, 'GET /items')).toBeUndefined();
    expect(() => new LineFilter({ minLevel: 'info', include: ['('], exclude: [] })).toThrow(
      expect.objectContaining({ code: 'ET_ERR_LOG_PATTERN' }),
    );
  });
});
