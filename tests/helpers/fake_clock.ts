/**
 * A virtual clock for drivers that take a `Clock` (now, setTimer, clearTimer): time moves only
 * when a test calls `advance`, which fires the timers that fall due, in order, synchronously.
 */
import type { Clock, TimerHandle } from "../../lib/clock.ts";

/** Virtual time and timers. */
export class FakeClock implements Clock {
  #t: number;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.#t = start;
  }

  /** Current virtual time, ms. */
  now(): number {
    return this.#t;
  }

  /** Register `fn` to run `ms` from now. */
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#t + Math.max(0, ms), fn });
    return id;
  }

  /** Forget a timer. */
  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired nor cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Move time forward by `ms`, firing every timer due on the way (earliest first). */
  advance(ms: number): void {
    const end = this.#t + ms;
    while (true) {
      let id = -1, at = Infinity;
      for (const [k, t] of this.#timers) if (t.at <= end && t.at < at) [id, at] = [k, t.at];
      if (id < 0) break;
      const t = this.#timers.get(id)!;
      this.#timers.delete(id);
      this.#t = at;
      t.fn();
    }
    this.#t = end;
  }
}
