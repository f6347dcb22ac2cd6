/**
 * RFC 1982 serial number arithmetic for the 32-bit RTR serial (RFC 8210 §5.3, SERIAL_BITS = 32).
 * All serial comparisons in the project go through here.
 */

/** Add `n` (0 ≤ n < 2^31) to serial `s`, wrapping at 2^32. */
export function serialAdd(s: number, n: number): number {
  return (s + n) >>> 0;
}

/** True when `a` precedes `b` (RFC 1982 §3.2); distance exactly 2^31 is undefined and false. */
export function serialLt(a: number, b: number): boolean {
  const d = (b - a) >>> 0;
  return d !== 0 && d < 0x80000000;
}

/** True when `a` follows `b`. */
export function serialGt(a: number, b: number): boolean {
  return serialLt(b, a);
}

/** -1, 0 or 1 by RFC 1982 order; 0 also for the undefined distance 2^31. */
export function serialCompare(a: number, b: number): number {
  if (a === b) return 0;
  if (serialLt(a, b)) return -1;
  if (serialLt(b, a)) return 1;
  return 0;
}
