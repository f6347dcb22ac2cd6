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

/** RFC 3339 text of a timestamp in UTC, e.g. `2026-11-28T16:41:25.255351442Z`. */
export function formatTimestamp(t: Timestamp): string {
  const ms = t.sec * 1000;
  // Years outside 0000..9999 cannot be written in RFC 3339: clamp (only corrupt files get there).
  const d = new Date(Math.min(Math.max(ms, -62167219200000), 253402300799000));
  const iso = Number.isNaN(d.getTime()) ? "1970-01-01T00:00:00.000Z" : d.toISOString();
  const frac = t.digits === 9
    ? String(t.nsec).padStart(9, "0")
    : String(Math.floor(t.nsec / 1000)).padStart(6, "0");
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** Seconds since the epoch as a float (for comparisons and tests). */
export function timestampSeconds(t: Timestamp): number {
  return t.sec + t.nsec / 1e9;
}
