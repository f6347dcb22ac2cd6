/**
 * The PDU-decoding stage of the receive pipeline (RFC 8210 §5, 8210bis §5): a TransformStream
 * from socket chunks to one `PduBatch` per chunk, so that the stream machinery costs nothing per
 * PDU. Whole IPv4/IPv6 Prefix PDUs are not decoded (nor even listed) here: they stay in the
 * chunk, and the consumer walks the chunk's headers from `start` to `end`, handing each one to
 * the session's staging straight from the bytes (the prefix fast path), in order with the
 * decoded PDUs in between (`walkBatch`).
 */
import { DecodeError } from "../errors.ts";
import { decodeAt } from "./decode.ts";
import { PduFramer } from "./framer.ts";
import type { Pdu } from "./pdu.ts";

/** The PDUs that one socket chunk completed, in order. */
export interface PduBatch {
  /** The chunk; valid until the consumer asks for the next batch. */
  readonly bytes: Uint8Array;
  /** A DataView over `bytes`, for reading PDU headers. */
  readonly view: DataView;
  /** The PDU that began in an earlier chunk and ended in this one, if any (decoded). */
  readonly straddled: Pdu | null;
  /** Its bytes. */
  readonly straddledRaw: Uint8Array | null;
  /** Whole PDUs lie in `bytes` from `start` to `end`. */
  readonly start: number;
  /** End of that range (exclusive). */
  readonly end: number;
  /** The decoded PDUs of that range (everything but Prefix PDUs), in order. */
  readonly pdus: Pdu[];
  /** Offset of each of `pdus` in `bytes`. */
  readonly offsets: number[];
  /** PDUs this chunk completed (prefixes included). */
  readonly count: number;
  /** A malformed PDU after these: the stream ends here. */
  readonly error: DecodeError | null;
}

/** What `walkBatch` hands each PDU to. */
export interface BatchVisitor {
  /** A whole Prefix PDU at `off` of `bytes`: true when taken (the fast path), false to decode it. */
  prefix(bytes: Uint8Array, view: DataView, off: number): boolean;
  /** Any other PDU (or a prefix the fast path declined); `raw` gives its bytes. False stops. */
  pdu(pdu: Pdu, raw: () => Uint8Array): boolean;
}

/**
 * Visit the PDUs of a batch in order. A Prefix PDU the fast path declines is decoded here; a
 * DecodeError from that propagates. Returns false when the visitor stopped.
 */
export function walkBatch(b: PduBatch, v: BatchVisitor): boolean {
  const { bytes, view, pdus, offsets, end } = b;
  let cur = 0, curLen = 0;
  const raw = () => cur < 0 ? b.straddledRaw! : bytes.subarray(cur, cur + curLen);
  if (b.straddled !== null) {
    cur = -1;
    if (!v.pdu(b.straddled, raw)) return false;
  }
  let k = 0;
  const n = pdus.length;
  let next = n > 0 ? offsets[0] : -1;
  for (let off = b.start; off < end;) {
    const len = view.getUint32(off + 4);
    if (off === next) {
      cur = off;
      curLen = len;
      const p = pdus[k++];
      next = k < n ? offsets[k] : -1;
      if (!v.pdu(p, raw)) return false;
    } else if (!v.prefix(bytes, view, off)) {
      cur = off;
      curLen = len;
      if (!v.pdu(decodeAt(bytes, view, off, len), raw)) return false;
    }
    off += len;
  }
  return true;
}

/** Every PDU of a batch as a value (tests, and consumers without a fast path). */
export function batchPdus(b: PduBatch): Pdu[] {
  const out: Pdu[] = [];
  walkBatch(b, { prefix: () => false, pdu: (p) => (out.push(p), true) });
  return out;
}

/** Socket chunks in, one PduBatch per chunk out; counts what passed. */
export class PduDecodeStream extends TransformStream<Uint8Array, PduBatch> {
  readonly #framer: PduFramer;

  constructor() {
    const framer = new PduFramer();
    let failed = false;
    // End of the last whole PDU seen in the chunk being pushed.
    let end = 0;
    let chunk: Uint8Array = new Uint8Array(0);
    framer.prefixHook = (_b, _v, off) => {
      end = off + (chunk[off + 1] === 4 ? 20 : 32);
      return true;
    };
    super({
      transform(c, controller) {
        if (failed) return;
        chunk = c;
        const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
        const pdus: Pdu[] = [];
        const offsets: number[] = [];
        let straddled: Pdu | null = null;
        let straddledRaw: Uint8Array | null = null;
        const carried = framer.buffered;
        const before = framer.pdus;
        end = 0;
        let start = 0;
        const onPdu = (pdu: Pdu) => {
          if (carried > 0 && straddled === null && end === 0 && pdus.length === 0) {
            straddled = pdu;
            straddledRaw = framer.raw();
            start = end = straddledRaw.length - carried;
          } else {
            pdus.push(pdu);
            offsets.push(end);
            end += view.getUint32(end + 4);
          }
        };
        let error: DecodeError | null = null;
        try {
          framer.push(c, onPdu);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          error = e;
          failed = true;
        }
        // Also a batch of none: the bytes of a PDU that straddles chunks are progress too.
        controller.enqueue({
          bytes: c,
          view,
          straddled,
          straddledRaw,
          start,
          end,
          pdus,
          offsets,
          count: framer.pdus - before,
          error,
        });
      },
    });
    this.#framer = framer;
  }

  /** Bytes accepted so far. */
  get bytes(): number {
    return this.#framer.bytes;
  }

  /** PDUs framed so far. */
  get pdus(): number {
    return this.#framer.pdus;
  }

  /** Bytes of an incomplete PDU held back (0 at a clean PDU boundary). */
  get buffered(): number {
    return this.#framer.buffered;
  }
}
