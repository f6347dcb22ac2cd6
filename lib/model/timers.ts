/**
 * The RTR timers (RFC 8210 §6, 8210bis §6): Refresh, Retry and Expire Intervals, their allowed
 * ranges, their defaults, and clamping of received values. The one owner of these numbers:
 * sessions, caches, stores and help texts import them from here.
 */

/** Timer values in seconds (End of Data in v1/v2; local defaults for v0). */
export interface Timers {
  /** Refresh Interval: how often the router polls (RFC 8210 §6). */
  refresh: number;
  /** Retry Interval: the wait after a failed query (RFC 8210 §6). */
  retry: number;
  /** Expire Interval: how long data stays usable without a refresh (RFC 8210 §6). */
  expire: number;
}

/** The three timer names, in the order End of Data carries them. */
export const TIMER_NAMES = ["refresh", "retry", "expire"] as const;

/** Default timers (RFC 8210 §6): Refresh 3600 s, Retry 600 s, Expire 7200 s. */
export const DEFAULT_TIMERS: Readonly<Timers> = Object.freeze({
  refresh: 3600,
  retry: 600,
  expire: 7200,
});

/** Allowed range `[min, max]` of each timer in seconds (RFC 8210 §6). */
export const TIMER_LIMITS: Readonly<Record<keyof Timers, readonly [number, number]>> = Object
  .freeze({
    refresh: [1, 86400] as const,
    retry: [1, 7200] as const,
    expire: [600, 172800] as const,
  });

/** `min-max` of a timer's range, for help texts (`1-86400`). */
export function timerRange(name: keyof Timers): string {
  const [lo, hi] = TIMER_LIMITS[name];
  return `${lo}-${hi}`;
}

/** Clamp received timers into range; returns the values and one warning per clamped timer. */
export function clampTimers(t: Timers): { timers: Timers; warnings: string[] } {
  const warnings: string[] = [];
  const out = { ...t };
  for (const k of TIMER_NAMES) {
    const [lo, hi] = TIMER_LIMITS[k];
    if (out[k] < lo || out[k] > hi) {
      const v = Math.min(hi, Math.max(lo, out[k]));
      warnings.push(`${k} interval ${out[k]} s is outside ${lo}..${hi}, using ${v} s`);
      out[k] = v;
    }
  }
  return { timers: out, warnings };
}

/**
 * What is wrong with timers a cache sent (RFC 8210 §6: each in range, Expire above Refresh and
 * Retry), one phrase each (`refresh 0 outside 1..86400`); empty when they are fine.
 */
export function timerProblems(t: Timers): string[] {
  const bad: string[] = [];
  for (const k of TIMER_NAMES) {
    const [lo, hi] = TIMER_LIMITS[k];
    if (t[k] < lo || t[k] > hi) bad.push(`${k} ${t[k]} outside ${lo}..${hi}`);
  }
  if (t.expire <= t.refresh) bad.push(`expire ${t.expire} not above refresh ${t.refresh}`);
  if (t.expire <= t.retry) bad.push(`expire ${t.expire} not above retry ${t.retry}`);
  return bad;
}
