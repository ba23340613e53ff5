// @ts-check
/**
 * Turns the bytes of GET /api/v1/log-pulls/:id/lines into display lines as they arrive. The body
 * is newline-delimited: NDJSON records (`{"line": ...}`, `{"lines": [...]}` or a JSON string) when
 * the content type says JSON, plain text lines otherwise. Pure: text chunks in, lines out.
 */

/** @param {string} contentType */
export function createLineDecoder(contentType) {
  const json = /json/i.test(contentType);
  let rest = '';
  /** @param {string} record @returns {string[]} */
  const decode = (record) => {
    if (!json) return [record];
    if (record.trim() === '') return [];
    const v = JSON.parse(record);
    if (typeof v === 'string') return [v];
    if (v && typeof v.line === 'string') return [v.line];
    if (v && Array.isArray(v.lines)) return v.lines.map(String);
    // Progress or heartbeat records on the same stream carry no lines.
    return [];
  };
  return {
    /** Lines completed by this chunk of text. @param {string} text */
    push(text) {
      const parts = (rest + text).split('\n');
      rest = parts.pop() ?? '';
      return parts.flatMap((p) => decode(p.endsWith('\r') ? p.slice(0, -1) : p));
    },
    /** Whatever is left when the stream ends without a final newline. */
    end() {
      const last = rest;
      rest = '';
      return last === '' ? [] : decode(last);
    },
  };
}

/**
 * Normalises a pull's status body into what the page shows; accepts the field names a pull
 * record may use (state/status, receivedLines/lines, expected totals once the node has sent `end`).
 * @param {Record<string, unknown>} s
 */
export function pullProgress(s) {
  const num = (...keys) => {
    for (const k of keys) if (typeof s[k] === 'number') return /** @type {number} */ (s[k]);
    return undefined;
  };
  const state = String(s.state ?? s.status ?? 'unknown');
  const chunks = num('receivedChunks', 'chunksReceived', 'chunks');
  const totalChunks = num('totalChunks', 'expectedChunks', 'chunksTotal');
  const lines = num('receivedLines', 'linesReceived', 'lines');
  const bytes = num('receivedBytes', 'bytesReceived', 'bytes');
  const done = /^(done|complete|completed|finished|failed|error|expired|cancel+ed)$/i.test(state);
  const fraction = done ? 1 : totalChunks && chunks !== undefined ? Math.min(1, chunks / totalChunks) : undefined;
  return { state, chunks, totalChunks, lines, bytes, done, fraction, error: typeof s.error === 'string' ? s.error : undefined };
}
