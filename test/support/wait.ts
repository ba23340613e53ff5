/**
 * The suite's one poll-until. Tests wait on state that another process, a timer or the broker
 * changes; a fixed sleep would be too short on a loaded machine and too long on an idle one.
 * Used by the benches too (bench/pull.bench.ts), so it must not depend on vitest.
 */
export interface WaitOptions {
  /**
   * Fail after this long (default 30 s): long enough for what a loaded machine takes (a broker
   * delivery, an insert, a child process's start), short of the 90 s test deadline, so the failure
   * names what was awaited.
   */
  timeoutMs?: number;
  /** Pause between probes (default 25 ms); longer where a probe is costly (an API call that queries ClickHouse). */
  intervalMs?: number;
}

/**
 * Calls `probe` until it returns something other than undefined or false, and resolves with that.
 * A probe that throws is tried again, because the server may not listen yet or an `expect` inside
 * may not hold yet; on timeout the error names `what` (a function is read then, so it can show the
 * last state) and the probe's last error.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 25 }: WaitOptions = {},
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as Exclude<T, undefined | false>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'function' ? what() : what;
      const cause = lastError === undefined ? '' : `: ${(lastError as Error).message ?? String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}${cause}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
