/**
 * A pulled lines stream cut part-way (the ingester stopped, a proxy's timeout, the network) can end
 * inside a line. `logs pull` counts the lines it wrote, and `--from <that count>` appends the rest
 * to the same file: a part-line written before the cut came again whole after it, and the file held
 * `abcabcdef`. Only whole lines are written; what follows the last newline waits for the next part
 * (a stream that ends cleanly without a final newline gives it at `end`).
 */
export interface WholeLines {
  /** The whole lines this part completes (with those begun in earlier parts), and how many. */
  write(part: Uint8Array): { bytes: Uint8Array; lines: number };
  /** What is left after the last newline (nothing for a stream of whole lines). */
  end(): Uint8Array;
}

export function wholeLines(): WholeLines {
  let rest: Uint8Array = new Uint8Array(0);
  return {
    write(part) {
      const bytes = rest.length === 0 ? part : Buffer.concat([rest, part]);
      const cut = bytes.lastIndexOf(10) + 1;
      // A copy: the stream may reuse the part's memory.
      rest = Uint8Array.from(bytes.subarray(cut));
      let lines = 0;
      for (let i = bytes.indexOf(10); i !== -1 && i < cut; i = bytes.indexOf(10, i + 1)) lines++;
      return { bytes: bytes.subarray(0, cut), lines };
    },
    end() {
      const last = rest;
      rest = new Uint8Array(0);
      return last;
    },
  };
}
