/**
 * Time and timers, injected into every driver (follower, server, upstream sources) so that tests
 * drive protocol time (Refresh, Retry, Expire, stall and notify limits) without sleeping.
 */

/** Opaque handle of a timer set on a `Clock`. */
export type TimerHandle = unknown;

/** A time source with one-shot timers. */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale (only differences are used). */
  now(): number;
  /** Call `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancel a timer (a fired or cleared one is ignored). */
  clearTimer(handle: TimerHandle): void;
}

/** The wall clock and the runtime's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as number | undefined),
};

/** Resolve after `ms` on `clock`, or at once when `signal` aborts (never rejects). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const h = clock.setTimer(ms, done);
    function done() {
      clock.clearTimer(h);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
