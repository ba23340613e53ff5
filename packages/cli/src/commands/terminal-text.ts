/**
 * Pulled log lines are what a node's containers wrote: a hostile or broken one writes terminal
 * control sequences (ESC [2J clears the screen, OSC 0 sets the window title, OSC 52 writes the
 * clipboard, a bare CR hides what precedes it on the line), which `logs pull` handed raw to the
 * engineer's terminal. Written to a terminal, every C0 and C1 control character but tab and
 * newline is shown as its `\xNN` escape instead, as journalctl does; to a file or a pipe the lines
 * stay byte for byte what the node stored.
 */
import { StringDecoder } from 'node:string_decoder';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex -- the same, tab and newline included
const ALL_CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

const escaped = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** `text` with its control characters (but tab and newline) written as `\xNN`. */
export function visibleControls(text: string): string {
  return text.replace(CONTROLS, escaped);
}

/**
 * A table cell with every control character written as `\xNN`, tab and newline too (they would
 * break its row). Cells show what nodes report (their version, a refused configuration's reason,
 * option names): a node's account could put a clipboard write (OSC 52) or a cleared screen into
 * an admin's `config status`.
 */
export function visibleCell(text: string): string {
  return text.replace(ALL_CONTROLS, escaped);
}

/** For a stream of UTF-8 chunks: each chunk's text with visible controls (a character cut between chunks is kept whole). */
export function visibleControlsStream(): { write(chunk: Uint8Array): string; end(): string } {
  const decoder = new StringDecoder('utf8');
  return {
    write: (chunk) => visibleControls(decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))),
    end: () => visibleControls(decoder.end()),
  };
}
