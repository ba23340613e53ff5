import { describe, expect, it } from 'vitest';
import { haveChromium } from './chromium.js';

describe('haveChromium', () => {
  it('skips locally but fails in CI when the browser is missing', () => {
    expect(haveChromium('/nonexistent/chromium', {})).toBe(false);
    expect(() => haveChromium('/nonexistent/chromium', { CI: 'true' })).toThrow(/apt-get install -y chromium/);
    expect(haveChromium(process.execPath, { CI: 'true' })).toBe(true);
  });
});
