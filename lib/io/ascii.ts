/**
 * The one ASCII byte builder: output lines (NDJSON, CSV, JSON tables, replay records) are built
 * as bytes in a reused buffer, never as a string per line. Constant pieces are copied, numbers
 * written digit by digit, three at a time from a table. Addresses are written by the model
 * (lib/model/prefix.ts: RFC 5952), on top of these primitives.
 */

const UTF8 = new TextEncoder();

/** Lower-case hex digits as bytes. */
export const HEX_DIGITS: Uint8Array = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/** ASCII digits of 0..999, three bytes packed per entry (hundreds, tens, ones). */
const SMALL = Int32Array.from(
  { length: 1000 },
  (_, n) =>
    ((48 + Math.floor(n / 100)) << 16) | ((48 + Math.floor(n / 10) % 10) << 8) | (48 + n % 10),
);

/** Bytes of an ASCII (Latin-1) string, for constant pieces of output lines. */
export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Bytes of any string as UTF-8 (for pieces that may hold names from input, e.g. file names). */
export function utf8(s: string): Uint8Array {
  return UTF8.encode(s);
}

/** Write `b` at `p` in `buf` (room checked by the caller); returns the offset after it. */
export function putBytes(buf: Uint8Array, p: number, b: Uint8Array): number {
  const n = b.length;
  // Past about 16 bytes the native copy is faster than a loop (about 20 ns a call, V8 15).
  if (n > 16) {
    buf.set(b, p);
    return p + n;
  }
  for (let i = 0; i < n; i++) buf[p + i] = b[i];
  return p + n;
}

/** Write an unsigned integer (below 2^53) in decimal at `p`; returns the offset after it. */
export function putUint(b: Uint8Array, p: number, n: number): number {
  if (n < 1000) {
    // Octets, lengths and small ASNs: one table lookup.
    const t = SMALL[n];
    if (n >= 100) b[p++] = t >>> 16;
    if (n >= 10) b[p++] = (t >>> 8) & 255;
    b[p++] = t & 255;
    return p;
  }
  let digits = 4;
  for (let t = 10000; t <= n && digits < 16; t *= 10) digits++;
  const end = p + digits;
  let q = end;
  while (n >= 1000) {
    const d = Math.floor(n / 1000);
    const t = SMALL[n - d * 1000];
    b[--q] = t & 255;
    b[--q] = (t >>> 8) & 255;
    b[--q] = t >>> 16;
    n = d;
  }
  const t = SMALL[n];
  b[--q] = t & 255;
  if (n >= 10) b[--q] = (t >>> 8) & 255;
  if (n >= 100) b[--q] = t >>> 16;
  return end;
}

/** Write `n` as exactly `width` decimal digits (zero-padded) at `p`; returns the offset after. */
export function putPadded(buf: Uint8Array, p: number, n: number, width: number): number {
  for (let q = p + width - 1; q >= p; q--) {
    const t = Math.floor(n / 10);
    buf[q] = 48 + (n - t * 10);
    n = t;
  }
  return p + width;
}

/** Write a 16-bit group in lower-case hex without leading zeros; returns the offset after. */
export function putHex16(buf: Uint8Array, p: number, g: number): number {
  if (g >= 0x1000) buf[p++] = HEX_DIGITS[g >>> 12];
  if (g >= 0x100) buf[p++] = HEX_DIGITS[(g >>> 8) & 15];
  if (g >= 0x10) buf[p++] = HEX_DIGITS[(g >>> 4) & 15];
  buf[p++] = HEX_DIGITS[g & 15];
  return p;
}

/**
 * A byte buffer that ASCII output is appended to. Writers that drain it in chunks check `full`
 * (room for any one line left) instead of `ensure` per piece; others call `ensure(n)` first.
 */
export class AsciiBuffer {
  buf: Uint8Array;
  pos = 0;
  constructor(capacity = 1 << 18) {
    this.buf = new Uint8Array(capacity);
  }

  /** True when fewer than 512 bytes (room for any one line) are left. */
  get full(): boolean {
    return this.pos > this.buf.length - 512;
  }

  /** Make room for `n` more bytes (the buffer grows). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Append constant bytes (room checked by the caller). */
  raw(b: Uint8Array): void {
    this.pos = putBytes(this.buf, this.pos, b);
  }

  /** Append bytes `b[from..to)`, growing the buffer as needed. */
  bytes(b: Uint8Array, from = 0, to = b.length): void {
    const n = to - from;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    if (n > 16) {
      buf.set(from === 0 && to === b.length ? b : b.subarray(from, to), p);
      p += n;
    } else for (let i = from; i < to; i++) buf[p++] = b[i];
    this.pos = p;
  }

  /** Append a string as UTF-8, growing the buffer as needed (short ASCII copied by hand). */
  text(s: string): void {
    const n = s.length;
    this.ensure(n * 3);
    if (n <= 64) {
      const buf = this.buf;
      let p = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        buf[p++] = c;
      }
      this.pos = p;
      if (i === n) return;
      s = s.slice(i);
    }
    this.pos += UTF8.encodeInto(s, this.buf.subarray(this.pos)).written;
  }

  /** Append an unsigned integer (below 2^53) in decimal, growing the buffer as needed. */
  uint(n: number): void {
    if (this.pos + 16 > this.buf.length) this.ensure(16);
    this.pos = putUint(this.buf, this.pos, n);
  }

  /** Append lower-case hex of bytes, growing the buffer as needed. */
  hex(b: Uint8Array): void {
    this.ensure(b.length * 2);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) {
      buf[p++] = HEX_DIGITS[b[i] >> 4];
      buf[p++] = HEX_DIGITS[b[i] & 15];
    }
    this.pos = p;
  }

  /** What was written so far (a view, valid until the next write or reset). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Forget what was written. */
  reset(): void {
    this.pos = 0;
  }
}
