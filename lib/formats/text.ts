/**
 * Output building blocks shared by the writers: VRP lines written as ASCII bytes straight from
 * packed VrpSet records into a reused buffer (no Vrp objects, no string per VRP) with the one
 * ASCII builder (lib/io/ascii.ts) and the one RFC 5952 writer (lib/model/prefix.ts), and times.
 */
import { ascii, AsciiBuffer as ByteBuffer, type TextSink } from "../io/mod.ts";
import { formatIpv4, formatIpv6, putPrefix, type VrpSet, W } from "../model/mod.ts";
import { recordTime } from "./records.ts";

export { ascii };

/** The ASCII builder with the packed VRP record's prefix as one more piece. */
export class AsciiBuffer extends ByteBuffer {
  /** Append the prefix of the packed record at word `x` of `d` (`addr/len`). */
  prefix(d: Uint32Array, x: number): void {
    this.pos = putPrefix(this.buf, this.pos, d, x);
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

/** RFC 3339 UTC time to the second: `2026-07-20T10:00:00Z` (records.ts's one time format). */
export const rfc3339: (t: Date) => string = recordTime;

/** Unix seconds of a time. */
export function unixSeconds(t: Date): number {
  return Math.floor(t.getTime() / 1000);
}
