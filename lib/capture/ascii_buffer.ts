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
    if (b.length < 24) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < b.length; i++) buf[p++] = b[i];
      this.pos = p;
    } else {
      this.buf.set(b, this.pos);
      this.pos += b.length;
    }
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
    const buf = this.buf;
    if (n < 10) {
      buf[this.pos++] = 48 + n;
      return;
    }
    let digits = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      buf[--p] = 48 + (n - q * 10);
      n = q;
    }
    buf[--p] = 48 + n;
  }

  /** Append a 32-bit IPv4 address word as dotted quad. */
  ipv4(w: number): void {
    this.uint(w >>> 24);
    this.buf[this.pos++] = 46;
    this.uint((w >>> 16) & 255);
    this.buf[this.pos++] = 46;
    this.uint((w >>> 8) & 255);
    this.buf[this.pos++] = 46;
    this.uint(w & 255);
  }

  #hex16(g: number): void {
    const buf = this.buf;
    let started = false;
    for (let s = 12; s >= 0; s -= 4) {
      const d = (g >>> s) & 15;
      if (d !== 0 || started || s === 0) {
        buf[this.pos++] = HEXCH[d];
        started = true;
      }
    }
  }

  /** Append four IPv6 address words in RFC 5952 text (longest run of ≥ 2 zero groups as ::). */
  ipv6(a: ArrayLike<number>): void {
    this.ensure(48);
    const g0 = a[0] >>> 16, g1 = a[0] & 0xffff, g2 = a[1] >>> 16, g3 = a[1] & 0xffff;
    const g4 = a[2] >>> 16, g5 = a[2] & 0xffff, g6 = a[3] >>> 16, g7 = a[3] & 0xffff;
    const g = [g0, g1, g2, g3, g4, g5, g6, g7];
    let bs = -1, bl = 0;
    for (let i = 0; i < 8;) {
      if (g[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && g[j] === 0) j++;
      if (j - i > bl) {
        bs = i;
        bl = j - i;
      }
      i = j;
    }
    if (bl < 2) bs = -1;
    const buf = this.buf;
    for (let i = 0; i < 8; i++) {
      if (i === bs) {
        buf[this.pos++] = 58;
        buf[this.pos++] = 58;
        i += bl - 1;
        continue;
      }
      if (i > 0 && i !== bs + bl) buf[this.pos++] = 58;
      this.#hex16(g[i]);
    }
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
