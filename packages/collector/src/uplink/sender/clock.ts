/** Time as the uplink sees it: injected so tests run simulated days through real sockets. */
export interface Clock {
  now(): number;
  /** Calls fn after `ms` of this clock's time; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** A clock running `factor` times faster than the wall clock from `start` on (time-compressed tests and soak runs). */
export function acceleratedClock(factor: number, start = Date.now()): Clock {
  const wall0 = Date.now();
  return {
    now: () => start + (Date.now() - wall0) * factor,
    setTimer: (fn, ms) => {
      const t = setTimeout(fn, Math.max(0, ms / factor));
      return () => clearTimeout(t);
    },
  };
}
