/**
 * Encoding of a cache's responses (RFC 8210 §5.4–5.8, §5.10, 8210bis §5.12): a Cache Response,
 * its payload PDUs in the 8210bis §11.2 order whatever the version, and End of Data. A response
 * is produced lazily as large byte chunks written straight from the packed VrpSet words (through
 * the wire layer's one Prefix PDU writer), so a full table is never materialised as PDU objects
 * nor as one buffer.
 */
import {
  encodedLength,
  encodeInto,
  encodePdu,
  type Pdu,
  PduType,
  prefixHeaderWord,
  writePrefixWords,
} from "../wire/mod.ts";
import { type Aspa, type VrpSet, W } from "../model/mod.ts";
import { type WireKey, wireProviders } from "./wire_payload.ts";

/** Size of the chunks a response is cut into (one socket write each). */
export const CHUNK_SIZE = 256 * 1024;

/** How ASPA PDUs are laid out for version 2 sessions. */
export type AspaLayout = "current" | "legacy";

/** One response: its exact size and its bytes, produced lazily in large chunks. */
export interface Response {
  /** What it is, for logs: `Cache Response + 3 PDUs + End of Data`. */
  summary: string;
  /** Total bytes. */
  size: number;
  /** Serial announced in its End of Data, if any. */
  serial?: number;
  /** The bytes, in chunks of at most the chunk size (a single larger PDU excepted). */
  chunks: Iterable<Uint8Array>;
}

/** What one response carries, prepared for the wire. */
export interface WireChanges {
  announced: VrpSet;
  withdrawn: VrpSet;
  keysAnnounced: WireKey[];
  keysWithdrawn: WireKey[];
  aspaAnnounced: Aspa[];
  aspaWithdrawn: Aspa[];
}

/** Settings of an encoder: what every response of one cache shares. */
export interface ResponseEncoderOptions {
  /** Session ID (u16) sent in Cache Response and End of Data. */
  sessionId: number;
  /** The session ID of one version, when they differ (8210bis §5.1); default `sessionId`. */
  sessionIdFor?(version: number): number;
  /** End of Data timers (v1+), seconds. */
  refresh: number;
  retry: number;
  expire: number;
  /** ASPA layout for v2 sessions. */
  aspaLayout: AspaLayout;
  /** Bytes per response chunk. */
  chunkSize: number;
  /** Reuse one buffer per response (each chunk valid until the next is requested). */
  reuseChunks: boolean;
}

/** Encodes the responses of one cache. */
export class ResponseEncoder {
  readonly #o: ResponseEncoderOptions;
  constructor(options: ResponseEncoderOptions) {
    this.#o = options;
  }

  /** End of Data timers as a PDU for `version`. */
  endOfData(version: number, serial: number): Pdu {
    const o = this.#o;
    return {
      type: PduType.EndOfData,
      version,
      sessionId: o.sessionIdFor?.(version) ?? o.sessionId,
      serial,
      refresh: o.refresh,
      retry: o.retry,
      expire: o.expire,
    };
  }

  /**
   * A Cache Response carrying `c` at `version`, ending with End of Data for `serial`; `reuse`
   * overrides the encoder's chunk reuse (a shared response needs chunks of its own).
   */
  response(version: number, serial: number, c: WireChanges, reuse?: boolean): Response {
    const o = this.#o;
    const legacy = o.aspaLayout === "legacy";
    const a4 = c.announced.ipv4Count, a6 = c.announced.size - a4;
    const w4 = c.withdrawn.ipv4Count, w6 = c.withdrawn.size - w4;
    const aspaPdus = aspaPduList(version, c.aspaAnnounced, c.aspaWithdrawn, legacy);
    const keyPdus: Pdu[] = [
      ...c.keysAnnounced.map((k) => keyPdu(version, 1, k)),
      ...c.keysWithdrawn.map((k) => keyPdu(version, 0, k)),
    ];
    const head: Pdu = {
      type: PduType.CacheResponse,
      version,
      sessionId: o.sessionIdFor?.(version) ?? o.sessionId,
    };
    const tail = this.endOfData(version, serial);
    let size = 8 + encodedLength(tail) + (a4 + w4) * 20 + (a6 + w6) * 32;
    for (const p of keyPdus) size += encodedLength(p);
    for (const p of aspaPdus) size += encodedLength(p);
    const payload = a4 + a6 + w4 + w6 + keyPdus.length + aspaPdus.length;
    const parts = [
      a4 + a6 > 0 ? `${a4 + a6} announced` : "",
      w4 + w6 > 0 ? `${w4 + w6} withdrawn` : "",
      keyPdus.length > 0 ? `${keyPdus.length} router keys` : "",
      aspaPdus.length > 0 ? `${aspaPdus.length} ASPA` : "",
    ].filter((s) => s !== "");
    const summary = `Cache Response v${version}, ${payload} payload PDUs${
      parts.length ? ` (${parts.join(", ")})` : ""
    }, End of Data serial ${serial}`;
    const chunkSize = o.chunkSize, reuseBuf = reuse ?? o.reuseChunks;
    return {
      summary,
      size,
      serial,
      chunks: {
        [Symbol.iterator]: () =>
          encodeResponse(
            new ChunkBuffer(chunkSize, reuseBuf),
            version,
            head,
            c.announced,
            c.withdrawn,
            [a4, w4],
            keyPdus,
            aspaPdus,
            tail,
          ),
      },
    };
  }
}

/**
 * `r` encoded at most once for any number of readers: each chunk is made when a first reader
 * asks for it and kept, so later readers write the same bytes without encoding or copying.
 * `r`'s chunks must not reuse a buffer.
 */
export function sharedResponse(r: Response): Response {
  const made: Uint8Array[] = [];
  let source: Iterator<Uint8Array> | null = null;
  let done = false;
  const chunks: Iterable<Uint8Array> = {
    [Symbol.iterator]: () => {
      let i = 0;
      return {
        next: (): IteratorResult<Uint8Array> => {
          if (i < made.length) return { value: made[i++], done: false };
          if (!done) {
            source ??= r.chunks[Symbol.iterator]();
            const n = source.next();
            if (!n.done) {
              made.push(n.value);
              i++;
              return n;
            }
            done = true;
            source = null;
          }
          return { value: undefined, done: true };
        },
      };
    },
  };
  return { summary: r.summary, size: r.size, serial: r.serial, chunks };
}

/** A response made of a few small PDUs (Cache Reset, Error Report). */
export function smallResponse(summary: string, pdus: Pdu[], serial?: number): Response {
  const bytes = pdus.length === 1 ? encodePdu(pdus[0]) : concat(pdus.map(encodePdu));
  return { summary, size: bytes.length, serial, chunks: [bytes] };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function keyPdu(version: number, flags: number, k: WireKey): Pdu {
  return { type: PduType.RouterKey, version, flags, ski: k.ski, asn: k.asn, spki: k.spki };
}

function aspaPduList(
  version: number,
  announced: Aspa[],
  withdrawn: Aspa[],
  legacy: boolean,
): Pdu[] {
  if (version < 2) return [];
  const out: Pdu[] = [];
  const add = (flags: number, customer: number, providers: number[]) => {
    if (!legacy) {
      out.push({ type: PduType.Aspa, version, flags, customer, providers });
      return;
    }
    // The legacy layout keyed records by (customer, AFI): an 8210bis record holds for both
    // families, so it goes out once per AFI (0 = IPv4, 1 = IPv6), as StayRTR 0.5.1 sends a
    // file's ipv4 and ipv6 lists; a withdrawal names the record by its providers.
    for (const legacyAfi of [0, 1]) {
      out.push({ type: PduType.Aspa, version, flags, customer, providers, legacyAfi });
    }
  };
  for (const a of announced) add(1, a.customer, wireProviders(a.providers));
  for (const a of withdrawn) add(0, a.customer, legacy ? wireProviders(a.providers) : []);
  return out;
}

/** The buffer a response is encoded into, cut into chunks by `take()`. */
class ChunkBuffer {
  buf: Uint8Array;
  view: DataView;
  off = 0;
  readonly size: number;
  readonly reuse: boolean;
  constructor(size: number, reuse: boolean) {
    this.size = size;
    this.reuse = reuse;
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * Take the filled part and start over in a buffer able to hold at least `need` bytes: the
   * same one when reusing (the caller yields the chunk and writes on only once resumed).
   */
  take(need = 0): Uint8Array {
    const out = this.buf.subarray(0, this.off);
    if (!this.reuse || need > this.buf.length) {
      this.buf = new Uint8Array(Math.max(this.size, need));
      this.view = new DataView(this.buf.buffer);
    }
    this.off = 0;
    return out;
  }

  /** Replace the (empty) buffer with one of at least `need` bytes. */
  grow(need: number): void {
    this.buf = new Uint8Array(Math.max(this.size, need));
    this.view = new DataView(this.buf.buffer);
    this.off = 0;
  }
}

/** Reused scratch for sorting runs of records with equal addresses. */
const runScratch: number[] = [];

/** Where a prefix range encoding stands between chunks. */
interface PrefixCursor {
  /** Next record index. */
  i: number;
  /** One past the last index, in the direction of `step`. */
  end: number;
  step: 1 | -1;
  /** First word of the header (version, type) and the PDU length. */
  header: number;
  pduLen: number;
  /** Flags octet, shifted into the top byte of the third word. */
  flagsWord: number;
  announce: boolean;
}

/**
 * Encode prefix records from `c.i` into `view` from `off` up to `limit`; returns the new offset
 * (`c.i` advances). A run of records with equal addresses is written whole or not at all, so
 * the caller may need a larger buffer when a single run does not fit in an empty one.
 */
function fillPrefixes(d: Uint32Array, c: PrefixCursor, view: DataView, off: number, limit: number) {
  const { end, step, header, pduLen, flagsWord, announce } = c;
  const v6 = pduLen === 32;
  let i = c.i;
  while (i !== end) {
    const x = i * W;
    let j = i + step;
    if (
      j !== end && d[j * W + 1] === d[x + 1] && d[j * W + 2] === d[x + 2] &&
      d[j * W + 3] === d[x + 3] && d[j * W + 4] === d[x + 4]
    ) {
      // A run of equal addresses: order it by max length, prefix length, ASN.
      do j += step; while (
        j !== end && d[j * W + 1] === d[x + 1] && d[j * W + 2] === d[x + 2] &&
        d[j * W + 3] === d[x + 3] && d[j * W + 4] === d[x + 4]
      );
      const n = (j - i) * step;
      if (off + n * pduLen > limit) break;
      const run = runScratch;
      run.length = 0;
      for (let k = i; k !== j; k += step) run.push(k);
      run.sort((p, q) => {
        const mp = d[p * W], mq = d[q * W];
        const r = (mp & 255) - (mq & 255) || ((mp >>> 8) & 255) - ((mq >>> 8) & 255) ||
          (d[p * W + 5] < d[q * W + 5] ? -1 : d[p * W + 5] > d[q * W + 5] ? 1 : 0);
        return announce ? -r : r;
      });
      for (let r = 0; r < n; r++) {
        off = writePrefixWords(d, run[r] * W, view, off, header, pduLen, flagsWord, v6);
      }
    } else {
      if (off + pduLen > limit) break;
      off = writePrefixWords(d, x, view, off, header, pduLen, flagsWord, v6);
    }
    i = j;
  }
  c.i = i;
  return off;
}

/**
 * Emit prefixes `lo..hi` (record indices) of packed `d` in §11.2 order: announcements by
 * address, max length, prefix length, ASN all descending; withdrawals all ascending. The set is
 * sorted by address, prefix length, max length, ASN, so only runs of equal addresses need
 * reordering.
 */
function* emitPrefixes(
  out: ChunkBuffer,
  d: Uint32Array,
  lo: number,
  hi: number,
  version: number,
  announce: boolean,
): Generator<Uint8Array> {
  if (lo >= hi) return;
  const v6 = (d[lo * W] >>> 16) === 1;
  const c: PrefixCursor = {
    i: announce ? hi - 1 : lo,
    end: announce ? lo - 1 : hi,
    step: announce ? -1 : 1,
    header: prefixHeaderWord(version, v6),
    pduLen: v6 ? 32 : 20,
    flagsWord: announce ? 0x1000000 : 0,
    announce,
  };
  while (c.i !== c.end) {
    const before = c.i;
    out.off = fillPrefixes(d, c, out.view, out.off, out.buf.length);
    if (c.i === c.end) break;
    // The chunk is full, or a run of equal addresses needs more room than an empty chunk has.
    if (before === c.i && out.off === 0) out.grow(out.buf.length * 2);
    else yield out.take();
  }
}

function* emitPdus(out: ChunkBuffer, pdus: Pdu[]): Generator<Uint8Array> {
  for (const p of pdus) {
    const len = encodedLength(p);
    if (out.off + len > out.buf.length) {
      if (out.off > 0) yield out.take(len);
      else out.grow(len);
    }
    out.off = encodeInto(p, out.buf, out.view, out.off);
  }
}

function* encodeResponse(
  out: ChunkBuffer,
  version: number,
  head: Pdu,
  announced: VrpSet,
  withdrawn: VrpSet,
  [a4, w4]: number[],
  keyPdus: Pdu[],
  aspaPdus: Pdu[],
  tail: Pdu,
): Generator<Uint8Array> {
  yield* emitPdus(out, [head]);
  const ad = announced.data, wd = withdrawn.data;
  yield* emitPrefixes(out, ad, 0, a4, version, true);
  yield* emitPrefixes(out, wd, 0, w4, version, false);
  yield* emitPrefixes(out, ad, a4, announced.size, version, true);
  yield* emitPrefixes(out, wd, w4, withdrawn.size, version, false);
  yield* emitPdus(out, keyPdus);
  yield* emitPdus(out, aspaPdus);
  yield* emitPdus(out, [tail]);
  if (out.off > 0) yield out.take();
}
