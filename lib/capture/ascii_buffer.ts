/**
 * A growable byte buffer for building NDJSON output without intermediate strings: constant
 * fragments are copied as bytes, numbers, IPv4 and IPv6 addresses (RFC 5952 text) are written
 * digit by digit. Replaying a large capture prints hundreds of thousands of lines; building them
 * as JavaScript strings costs several times more than the parsing.
 */

const enc = new TextEncoder();
const HEXCH = new Uint8Array([..."0123456789abcdef"].map((c) => c.charCodeAt(0)));

/** Bytes of an ASCII or UTF-8 string (for constant fragments, computed once). */
export function bytesOf(s: string): Uint8Array {
  return enc.encode(s);
}

/** Decimal digits of 0..999 (the common small numbers: octets, lengths): length, then digits. */
const SMALL = new Uint8Array(4000);
for (let i = 0; i < 1000; i++) {
  const s = String(i);
  SMALL[i * 4] = s.length;
  for (let j = 0; j < s.length; j++) SMALL[i * 4 + 1 + j] = s.charCodeAt(j);
}

/** Write `b` at `p` in `buf` (room checked by the caller); returns the offset after it. */
export function putBytes(buf: Uint8Array, p: number, b: Uint8Array): number {
  const n = b.length;
  if (n > 32) {
    buf.set(b, p);
    return p + n;
  }
  for (let i = 0; i < n; i++) buf[p + i] = b[i];
  return p + n;
}

function putSmall(buf: Uint8Array, p: number, n: number): number {
  const k = n << 2, len = SMALL[k];
  buf[p] = SMALL[k + 1];
  if (len > 1) {
    buf[p + 1] = SMALL[k + 2];
    if (len > 2) buf[p + 2] = SMALL[k + 3];
  }
  return p + len;
}

/** Write an unsigned integer (below 2^53) in decimal at `p`; returns the offset after it. */
export function putUint(buf: Uint8Array, p: number, n: number): number {
  if (n < 1000) return putSmall(buf, p, n);
  let digits = 4;
  for (let m = 10000; m <= n && digits < 16; m *= 10) digits++;
  let q = p + digits;
  do {
    const t = Math.floor(n / 10);
    buf[--q] = 48 + (n - t * 10);
    n = t;
  } while (n > 0);
  return p + digits;
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

/** Write an IPv4 address word as dotted quad at `p`; returns the offset after it. */
export function putIpv4(buf: Uint8Array, p: number, w: number): number {
  p = putSmall(buf, p, w >>> 24);
  buf[p++] = 46;
  p = putSmall(buf, p, (w >>> 16) & 255);
  buf[p++] = 46;
  p = putSmall(buf, p, (w >>> 8) & 255);
  buf[p++] = 46;
  return putSmall(buf, p, w & 255);
}

function putHex16(buf: Uint8Array, p: number, g: number): number {
  if (g >= 0x1000) buf[p++] = HEXCH[g >>> 12];
  if (g >= 0x100) buf[p++] = HEXCH[(g >>> 8) & 15];
  if (g >= 0x10) buf[p++] = HEXCH[(g >>> 4) & 15];
  buf[p++] = HEXCH[g & 15];
  return p;
}

/**
 * Write four IPv6 address words in RFC 5952 text at `p` (the longest run of at least two zero
 * groups, the first of equals, as "::"); returns the offset after it.
 */
export function putIpv6(buf: Uint8Array, p: number, a: ArrayLike<number>): number {
  let bs = -1, bl = 0, cs = -1, cl = 0;
  for (let i = 0; i < 8; i++) {
    const g = (i & 1) ? a[i >> 1] & 0xffff : a[i >> 1] >>> 16;
    if (g === 0) {
      if (cs < 0) cs = i;
      cl++;
      if (cl > bl) {
        bs = cs;
        bl = cl;
      }
    } else {
      cs = -1;
      cl = 0;
    }
  }
  if (bl < 2) bs = -1;
  for (let i = 0; i < 8; i++) {
    if (i === bs) {
      buf[p++] = 58;
      buf[p++] = 58;
      i += bl - 1;
      continue;
    }
    if (i > 0 && i !== bs + bl) buf[p++] = 58;
    p = putHex16(buf, p, (i & 1) ? a[i >> 1] & 0xffff : a[i >> 1] >>> 16);
  }
  return p;
}

/** An append-only byte buffer; `view()` is what was written, `reset()` starts over. */
export class AsciiBuffer {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 1 << 20) {
    this.buf = new Uint8Array(capacity);
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Append bytes. */
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.pos = putBytes(this.buf, this.pos, b);
  }

  /** Append a string as UTF-8. */
  text(s: string): void {
    this.ensure(s.length * 3);
    const r = enc.encodeInto(s, this.buf.subarray(this.pos));
    this.pos += r.written;
  }

  /** Append an unsigned integer (up to 2^53) in decimal. */
  uint(n: number): void {
    this.ensure(16);
    this.pos = putUint(this.buf, this.pos, n);
  }

  /** Append a 32-bit IPv4 address word as dotted quad. */
  ipv4(w: number): void {
    this.ensure(16);
    this.pos = putIpv4(this.buf, this.pos, w);
  }

  /** Append four IPv6 address words in RFC 5952 text. */
  ipv6(a: ArrayLike<number>): void {
    this.ensure(48);
    this.pos = putIpv6(this.buf, this.pos, a);
  }

  /** Append lower-case hex of bytes. */
  hex(b: Uint8Array): void {
    this.ensure(b.length * 2);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) {
      buf[p++] = HEXCH[b[i] >> 4];
      buf[p++] = HEXCH[b[i] & 15];
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
