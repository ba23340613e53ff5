import { describe, expect, it } from 'vitest';
import { visibleControls, visibleControlsStream } from './terminal-text.js';

describe('terminal text', () => {
  it('shows control characters as escapes, keeps tab, newline and the rest of the text', () => {
    expect(visibleControls('a\tb\n')).toBe('a\tb\n');
    expect(visibleControls('\u001b[2Jcleared')).toBe('\\x1b[2Jcleared');
    expect(visibleControls('\u001b]52;c;cm0gLXJmIH4=\u0007')).toBe('\\x1b]52;c;cm0gLXJmIH4=\\x07');
    expect(visibleControls('secret\rok')).toBe('secret\\x0dok');
    expect(visibleControls('\u009b31m\u007f')).toBe('\\x9b31m\\x7f');
    expect(visibleControls('Grüße 温度 🌡')).toBe('Grüße 温度 🌡');
  });

  it('keeps a character cut between chunks whole', () => {
    const s = visibleControlsStream();
    const bytes = Buffer.from('é\u001b');
    expect(s.write(bytes.subarray(0, 1)) + s.write(bytes.subarray(1)) + s.end()).toBe('é\\x1b');
  });
});
