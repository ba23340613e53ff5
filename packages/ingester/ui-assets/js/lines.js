// @ts-check
/**
 * Turns the text/plain body of GET /api/v1/log-pulls/:id/lines (one pulled line per line, as the
 * node formats them: time, container, stream, level and message, tab-separated) into lines as
 * the chunks arrive. Pure: text chunks in, complete lines out.
 */
export function createLineDecoder() {
  let rest = '';
  return {
    /** Lines completed by this chunk of text. @param {string} text */
    push(text) {
      const parts = (rest + text).split('\n');
      rest = parts.pop() ?? '';
      return parts;
    },
    /** Whatever is left when the stream ends without a final newline. */
    end() {
      const last = rest;
      rest = '';
      return last === '' ? [] : [last];
    },
  };
}

/**
 * `text` (lines each ending in a newline) without its first `n` lines. Pure.
 * @param {string} text @param {number} n
 */
export function dropLines(text, n) {
  let at = 0;
  for (let i = 0; i < n && at < text.length; i++) {
    const nl = text.indexOf('\n', at);
    at = nl === -1 ? text.length : nl + 1;
  }
  return text.slice(at);
}

/** Pull states after which nothing more arrives. */
export const TERMINAL_STATES = ['done', 'failed', 'expired', 'cancelled'];

/**
 * What the page shows of GET /api/v1/log-pulls/:id: the fraction is bytes received over bytes
 * expected, known once the node has sent its totals; undefined (an indeterminate bar) before.
 * @param {{ state: string, node?: string, requestedBy?: string, linesReceived?: number, bytesReceived?: number, bytesExpected?: number, chunksExpected?: number, error?: string }} s
 */
export function pullProgress(s) {
  const done = TERMINAL_STATES.includes(s.state);
  const bytes = s.bytesReceived ?? 0;
  const fraction =
    s.state === 'done' ? 1 : s.bytesExpected ? Math.min(1, bytes / s.bytesExpected) : done ? 0 : undefined;
  return {
    state: s.state,
    node: s.node ?? '',
    requestedBy: s.requestedBy ?? '',
    lines: s.linesReceived ?? 0,
    bytes,
    bytesExpected: s.bytesExpected,
    chunksExpected: s.chunksExpected,
    done,
    fraction,
    error: s.error,
  };
}
