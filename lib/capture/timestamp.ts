/**
 * Packet timestamps as read from pcap / pcapng (seconds and nanoseconds since the Unix epoch)
 * and their RFC 3339 text, with as many fraction digits as the capture has (6 or 9).
 */

/** A capture timestamp: whole seconds, nanoseconds and the fraction digits to print. */
export interface Timestamp {
  /** Whole seconds since 1970-01-01T00:00:00Z (may be negative for a corrupt file). */
  sec: number;
  /** Nanoseconds, 0 to 999 999 999. */
  nsec: number;
  /** Fraction digits the capture resolves: 6 (µs) or 9 (ns). */
  digits: 6 | 9;
}

let lastSec = NaN;
let lastPrefix = "";

/** `YYYY-MM-DDTHH:MM:SS.` of whole seconds since the epoch (the last one is cached). */
export function secondsPrefix(sec: number): string {
  if (sec === lastSec) return lastPrefix;
  // Years outside 0000..9999 cannot be written in RFC 3339: clamp (only corrupt files get there).
  const d = new Date(Math.min(Math.max(sec * 1000, -62167219200000), 253402300799000));
  const iso = Number.isNaN(d.getTime()) ? "1970-01-01T00:00:00.000Z" : d.toISOString();
  lastSec = sec;
  lastPrefix = iso.slice(0, 20);
  return lastPrefix;
}

/** The fraction digits of a timestamp (6 or 9, zero-padded). */
export function fractionDigits(t: Timestamp): string {
  return t.digits === 9
    ? String(t.nsec).padStart(9, "0")
    : String(Math.floor(t.nsec / 1000)).padStart(6, "0");
}

/** RFC 3339 text of a timestamp in UTC, e.g. `2026-11-28T16:41:25.255351442Z`. */
export function formatTimestamp(t: Timestamp): string {
  return `${secondsPrefix(t.sec)}${fractionDigits(t)}Z`;
}

/** Seconds since the epoch as a float (for comparisons and tests). */
export function timestampSeconds(t: Timestamp): number {
  return t.sec + t.nsec / 1e9;
}
