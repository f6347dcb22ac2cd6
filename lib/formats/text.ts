/**
 * Text building blocks shared by the writers: fast prefix text straight from packed VrpSet
 * records (no Vrp objects), chunked writing of one line per VRP to a TextSink, and times.
 */
import type { TextSink } from "../cli/io.ts";
import { formatIpv6, type VrpSet, W } from "../model/mod.ts";

/** Text of the prefix of the packed record starting at word `x` of `d`. */
export function prefixAt(d: Uint32Array, x: number): string {
  const meta = d[x];
  const len = (meta >>> 8) & 255;
  if (meta >>> 16 === 0) {
    const w = d[x + 1];
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${len}`;
  }
  return `${formatIpv6(d.subarray(x + 1, x + 5))}/${len}`;
}

/** Builds the text of one VRP from its prefix text, prefix length, maxLength and ASN. */
export type VrpText = (prefix: string, length: number, maxLength: number, asn: number) => string;

/** VRPs per chunk handed to the sink (a chunk is a few hundred KB of text). */
const CHUNK = 4096;

/**
 * Write one piece of text per VRP of `set` (records `from` to `to`), in set order, `sep`
 * between pieces, in chunks: the whole table is never one string.
 */
export async function writeVrps(
  sink: TextSink,
  set: VrpSet,
  text: VrpText,
  options: { sep?: string; from?: number; to?: number } = {},
): Promise<void> {
  const d = set.data, sep = options.sep ?? "";
  const from = options.from ?? 0, n = options.to ?? set.size;
  for (let start = from; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
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
