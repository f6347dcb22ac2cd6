/**
 * The PDU-decoding stage of the receive pipeline (RFC 8210 §5, 8210bis §5): a TransformStream
 * from socket chunks to one `PduBatch` per chunk, so that the stream machinery costs nothing per
 * PDU. Whole IPv4/IPv6 Prefix PDUs are not decoded here but left in the chunk at their offset,
 * so that the session can stage them straight from the bytes (the prefix fast path) in order
 * with everything else; a consumer without a fast path decodes them with `batchPdu`.
 */
import { DecodeError } from "../errors.ts";
import { decodeAt } from "./decode.ts";
import { PduFramer } from "./framer.ts";
import type { Pdu } from "./pdu.ts";

/** The PDUs that one socket chunk completed, in order. */
export interface PduBatch {
  /** The chunk (not reused by the stream, so it stays valid). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Each PDU: its decoded value, or null for a whole Prefix PDU left at `offsets[i]`. */
  readonly pdus: (Pdu | null)[];
  /** Offset of each PDU in `bytes`; -1 for the one that began in an earlier chunk. */
  readonly offsets: number[];
  /** The bytes of the PDU that began in an earlier chunk, if any. */
  readonly straddled: Uint8Array | null;
  /** A malformed PDU after these: the stream ends here. */
  readonly error: DecodeError | null;
}

/** The bytes of PDU `i` of a batch (for an Error Report). */
export function batchRaw(b: PduBatch, i: number): Uint8Array {
  const off = b.offsets[i];
  if (off < 0) return b.straddled!;
  return b.bytes.subarray(off, off + b.view.getUint32(off + 4));
}

/** PDU `i` of a batch as a value, decoding a Prefix PDU left in the chunk (may throw DecodeError). */
export function batchPdu(b: PduBatch, i: number): Pdu {
  const p = b.pdus[i];
  if (p !== null) return p;
  const off = b.offsets[i];
  return decodeAt(b.bytes, b.view, off, b.view.getUint32(off + 4));
}

/** Socket chunks in, one PduBatch per chunk out; counts what passed. */
export class PduDecodeStream extends TransformStream<Uint8Array, PduBatch> {
  readonly #framer: PduFramer;

  constructor() {
    const framer = new PduFramer();
    let failed = false;
    super({
      transform(chunk, controller) {
        if (failed) return;
        const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        const pdus: (Pdu | null)[] = [];
        const offsets: number[] = [];
        let straddled: Uint8Array | null = null;
        const carried = framer.buffered;
        // Offset where the next whole PDU of this chunk starts.
        let pos = 0;
        framer.prefixHook = (_b, _v, off) => {
          pdus.push(null);
          offsets.push(off);
          pos = off + (chunk[off + 1] === 4 ? 20 : 32);
          return true;
        };
        const onPdu = (pdu: Pdu) => {
          pdus.push(pdu);
          if (carried > 0 && straddled === null && pos === 0 && offsets.length === 0) {
            straddled = framer.raw();
            offsets.push(-1);
            pos = straddled.length - carried;
          } else {
            offsets.push(pos);
            pos += view.getUint32(pos + 4);
          }
        };
        let error: DecodeError | null = null;
        try {
          framer.push(chunk, onPdu);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          error = e;
          failed = true;
        }
        // Also a batch of none: the bytes of a PDU that straddles chunks are progress too.
        controller.enqueue({ bytes: chunk, view, pdus, offsets, straddled, error });
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
