/**
 * Output building blocks shared by the writers: VRP lines written as ASCII bytes straight from
 * packed VrpSet records into a reused buffer (no Vrp objects, no string per VRP) with the one
 * ASCII builder (lib/io/ascii.ts) and the one RFC 5952 writer (lib/model/prefix.ts), and times.
 */
import { ascii, AsciiBuffer as ByteBuffer, type TextSink } from "../io/mod.ts";
import { putPrefix, type VrpSet, W } from "../model/mod.ts";
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

/** RFC 3339 UTC time to the second: `2026-07-20T10:00:00Z` (records.ts's one time format). */
export const rfc3339: (t: Date) => string = recordTime;

/** Unix seconds of a time. */
export function unixSeconds(t: Date): number {
  return Math.floor(t.getTime() / 1000);
}
