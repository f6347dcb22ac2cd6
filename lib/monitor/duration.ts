/**
 * Durations and times on the command line of `monitor` and `check`: `250ms`, `30s`, `5m`, `2h`,
 * `1d`, combinations such as `1h30m`, or plain seconds; times as ISO 8601 or a duration ago.
 */
import { UsageError } from "../errors.ts";

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration text, or null when malformed. */
export function parseDurationMs(text: string): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0, at = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * UNIT[m[2]];
    at = m.index! + m[0].length;
  }
  return at === text.length && at > 0 ? total : null;
}

/** A flag's duration in ms (`def` when absent); a bad or zero value is a UsageError. */
export function durationFlag(value: string | undefined, name: string, def: number): number {
  if (value === undefined) return def;
  const ms = parseDurationMs(value);
  if (ms === null || !(ms > 0)) {
    throw new UsageError(
      `--${name} must be a duration such as 30s, 5m or 1h, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/** A duration in words for one-line messages: `45s`, `4m`, `2h5m`, `3d`. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) {
    const m = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)}h${m ? `${m}m` : ""}`;
  }
  return `${Math.floor(s / 86400)}d`;
}

/** A time flag: ISO 8601, or a duration before `now` (`2h` = two hours ago). */
export function timeFlag(value: string, name: string, now: number): number {
  const ago = parseDurationMs(value);
  if (ago !== null) return now - ago;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) {
    throw new UsageError(
      `--${name} must be a time (2026-12-01T10:00:00Z) or a duration ago (2h), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return t;
}
