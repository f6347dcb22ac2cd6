/**
 * Serial Notify rate limit (8210bis §8.2: a cache should not send Serial Notify more often than
 * once a minute by default). Time is injected: the caller passes its clock's `now`.
 */

/** Decides when the next Serial Notify may go out: `request(now)` after a change gives the wait. */
export class NotifyLimiter {
  /** Least time between two notifications, in ms. */
  readonly intervalMs: number;
  #last = -Infinity;
  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** Ms until a notification may go out (0 when it may go now). */
  request(now: number): number {
    return Math.max(0, this.#last + this.intervalMs - now);
  }

  /** Record that notifications went out at `now`. */
  sent(now: number): void {
    this.#last = now;
  }
}
