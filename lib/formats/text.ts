/**
 * Output building blocks shared by the writers: VRP lines written as ASCII bytes straight from
 * packed VrpSet records into a reused buffer (no Vrp objects, no string per VRP), IPv6 text per
 * RFC 5952 §4–5 (same result as the model's formatIpv6), and times.
 */
import type { TextSink } from "../io/mod.ts";
import { formatIpv4, formatIpv6, ipv6Groups, isIpv4Mapped, type VrpSet, W } from "../model/mod.ts";

const HEX = new Uint8Array([..."0123456789abcdef"].map((c) => c.charCodeAt(0)));
const GROUPS = new Uint32Array(8);
const MAPPED = ascii("::ffff:");
/** ASCII digits of 0..999, three bytes packed per entry (hundreds, tens, ones). */
const SMALL = Int32Array.from(
  { length: 1000 },
  (_, n) =>
    ((48 + Math.floor(n / 100)) << 16) | ((48 + Math.floor(n / 10) % 10) << 8) | (48 + n % 10),
);

/** Bytes of an ASCII string (for constant pieces of output lines). */
export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A fixed buffer that ASCII output is appended to; the caller drains it when `full`. */
export class AsciiBuffer {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(size = 1 << 18) {
    this.buf = new Uint8Array(size);
  }

  /** True when fewer than 512 bytes (room for any one line) are left. */
  get full(): boolean {
    return this.pos > this.buf.length - 512;
  }

  /** Append constant bytes (short pieces: a loop beats `set`). */
  raw(b: Uint8Array): void {
    const buf = this.buf, n = b.length;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i];
    this.pos = p;
  }

  /** Append a non-negative integer (up to 2^32-1) in decimal. */
  uint(n: number): void {
    const b = this.buf;
    if (n < 1000) {
      // Octets, lengths and small ASNs: one table lookup.
      const t = SMALL[n];
      if (n >= 100) b[this.pos++] = t >>> 16;
      if (n >= 10) b[this.pos++] = (t >>> 8) & 255;
      b[this.pos++] = t & 255;
      return;
    }
    let digits = 4;
    for (let t = 10000; t <= n && digits < 10; t *= 10) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (n >= 1000) {
      const q = Math.floor(n / 1000);
      const t = SMALL[n - q * 1000];
      b[--p] = t & 255;
      b[--p] = (t >>> 8) & 255;
      b[--p] = t >>> 16;
      n = q;
    }
    const t = SMALL[n];
    b[--p] = t & 255;
    if (n >= 10) b[--p] = (t >>> 8) & 255;
    if (n >= 100) b[--p] = t >>> 16;
  }

  /** Append the prefix of the packed record at word `x` of `d` (`addr/len`). */
  prefix(d: Uint32Array, x: number): void {
    const meta = d[x];
    if (meta >>> 16 === 0) {
      this.#ipv4(d[x + 1]);
    } else if (isIpv4Mapped(d, x + 1)) {
      // IPv4-mapped: ::ffff:a.b.c.d (RFC 5952 §5), as the model's formatIpv6.
      this.raw(MAPPED);
      this.#ipv4(d[x + 4]);
    } else this.#ipv6(d, x + 1);
    this.buf[this.pos++] = 47;
    this.uint((meta >>> 8) & 255);
  }

  #ipv4(w: number): void {
    this.uint(w >>> 24);
    this.buf[this.pos++] = 46;
    this.uint((w >>> 16) & 255);
    this.buf[this.pos++] = 46;
    this.uint((w >>> 8) & 255);
    this.buf[this.pos++] = 46;
    this.uint(w & 255);
  }

  #hex(g: number): void {
    const b = this.buf;
    if (g >= 0x1000) b[this.pos++] = HEX[g >>> 12];
    if (g >= 0x100) b[this.pos++] = HEX[(g >>> 8) & 15];
    if (g >= 0x10) b[this.pos++] = HEX[(g >>> 4) & 15];
    b[this.pos++] = HEX[g & 15];
  }

  #ipv6(d: Uint32Array, x: number): void {
    const b = this.buf;
    const g = GROUPS;
    const run = ipv6Groups(d, g, x);
    const bestStart = run < 0 ? -1 : run >> 4, bestLen = run & 15;
    for (let i = 0; i < 8; i++) {
      if (i === bestStart) {
        b[this.pos++] = 58;
        b[this.pos++] = 58;
        i += bestLen - 1;
        continue;
      }
      if (i > 0 && i !== bestStart + bestLen) b[this.pos++] = 58;
      this.#hex(g[i]);
    }
  }
}

/**
 * Appends one VRP's output to `out`: packed data `d`, record at word `x`. The record's prefix
 * length is `(d[x] >>> 8) & 255`, its maxLength `d[x] & 255`, its ASN `d[x + 5]`.
 */
export type VrpEmitter = (out: AsciiBuffer, d: Uint32Array, x: number) => void;

/**
 * Write one line per VRP of `set` (records `from` to `to`), in set order, with `sep` between
 * lines, through a reused 256 KiB buffer: the table never becomes one string, nor a string per VRP.
 */
export async function writeVrpBytes(
  sink: TextSink,
  set: VrpSet,
  emit: VrpEmitter,
  options: { sep?: Uint8Array; from?: number; to?: number } = {},
): Promise<void> {
  const d = set.data, sep = options.sep;
  const from = options.from ?? 0, to = options.to ?? set.size;
  if (from >= to) return;
  const out = new AsciiBuffer();
  for (let i = from; i < to; i++) {
    if (sep && i > from) out.raw(sep);
    emit(out, d, i * W);
    if (out.full) {
      await sink.writeBytes(out.buf.subarray(0, out.pos));
      out.pos = 0;
    }
  }
  if (out.pos > 0) await sink.writeBytes(out.buf.subarray(0, out.pos));
}

/** Text of the prefix of the packed record starting at word `x` of `d`. */
export function prefixAt(d: Uint32Array, x: number): string {
  const meta = d[x];
  const len = (meta >>> 8) & 255;
  if (meta >>> 16 === 0) return `${formatIpv4(d[x + 1])}/${len}`;
  return `${formatIpv6(d.subarray(x + 1, x + 5))}/${len}`;
}

/** Builds the text of one VRP from its prefix text, prefix length, maxLength and ASN. */
export type VrpText = (prefix: string, length: number, maxLength: number, asn: number) => string;

/**
 * Write one piece of text per VRP of `set` (records `from` to `to`), in set order, `sep`
 * between pieces, in chunks of 512 VRPs (the string form; writeVrpBytes is faster).
 */
export async function writeVrps(
  sink: TextSink,
  set: VrpSet,
  text: VrpText,
  options: { sep?: string; from?: number; to?: number } = {},
): Promise<void> {
  const d = set.data, sep = options.sep ?? "";
  const from = options.from ?? 0, n = options.to ?? set.size;
  for (let start = from; start < n; start += 512) {
    const end = Math.min(n, start + 512);
    let s = "";
    for (let i = start; i < end; i++) {
      const x = i * W;
      const meta = d[x];
      if (i > from) s += sep;
      s += text(prefixAt(d, x), (meta >>> 8) & 255, meta & 255, d[x + 5]);
    }
    await sink.write(s);
  }
}

/** RFC 3339 UTC time to the second: `2026-07-20T10:00:00Z`. */
export function rfc3339(t: Date): string {
  return t.toISOString().replace(/\.\d+Z$/, "Z");
}

/** Unix seconds of a time. */
export function unixSeconds(t: Date): number {
  return Math.floor(t.getTime() / 1000);
}
