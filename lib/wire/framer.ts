/**
 * Stream framing for RTR (protocol.md §1.1): PDUs are delimited only by the Length field. The
 * framer accepts chunks at any boundaries, rejects a length below 8 or above 65535 before
 * buffering anything, decodes every whole PDU of a chunk in place and copies only a PDU that
 * straddles chunks.
 */
import { DecodeError } from "../errors.ts";
import { HEADER_LENGTH } from "./constants.ts";
import { checkLength, decodeAt } from "./decode.ts";
import type { Pdu } from "./pdu.ts";

/** Sans-I/O framer: `push` a chunk, receive decoded PDUs through the callback. */
export class PduFramer {
  #pending: Uint8Array | null = null;
  #pendingLen = 0;
  /** Total bytes accepted so far. */
  bytes = 0;
  /** PDUs decoded so far. */
  pdus = 0;

  /**
   * Feed one chunk. `onPdu` runs for each whole PDU (with its raw bytes, valid only during the
   * call); a DecodeError propagates and leaves the framer unusable.
   */
  push(chunk: Uint8Array, onPdu: (pdu: Pdu, raw: Uint8Array) => void): void {
    this.bytes += chunk.length;
    const bytes = chunk;
    let off = 0;
    if (this.#pending) {
      // Complete the straddling PDU first.
      const pend = this.#pending;
      let have = this.#pendingLen;
      if (have < HEADER_LENGTH) {
        const take = Math.min(HEADER_LENGTH - have, bytes.length);
        pend.set(bytes.subarray(0, take), have);
        have += take;
        off = take;
        if (have < HEADER_LENGTH) {
          this.#pendingLen = have;
          return;
        }
      }
      const len = new DataView(pend.buffer, pend.byteOffset, 8).getUint32(4);
      checkLength(len, pend);
      let frame = pend;
      if (frame.length < len) {
        frame = new Uint8Array(len);
        frame.set(pend.subarray(0, have));
      }
      const take = Math.min(len - have, bytes.length - off);
      frame.set(bytes.subarray(off, off + take), have);
      have += take;
      off += take;
      if (have < len) {
        this.#pending = frame;
        this.#pendingLen = have;
        return;
      }
      this.#pending = null;
      this.#pendingLen = 0;
      this.pdus++;
      onPdu(
        decodeAt(frame, new DataView(frame.buffer, frame.byteOffset, len), 0, len),
        frame.subarray(0, len),
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = bytes.length;
    while (end - off >= HEADER_LENGTH) {
      const len = view.getUint32(off + 4);
      checkLength(len, bytes.subarray(off, off + 8));
      if (end - off < len) break;
      this.pdus++;
      onPdu(decodeAt(bytes, view, off, len), bytes.subarray(off, off + len));
      off += len;
    }
    if (off < end) {
      const rest = end - off;
      let need = HEADER_LENGTH;
      if (rest >= HEADER_LENGTH) need = view.getUint32(off + 4);
      const buf = new Uint8Array(Math.max(need, HEADER_LENGTH));
      buf.set(bytes.subarray(off, end));
      this.#pending = buf;
      this.#pendingLen = rest;
    }
  }

  /** Bytes of an incomplete PDU held back (0 at a clean PDU boundary). */
  get buffered(): number {
    return this.#pendingLen;
  }
}

/** A TransformStream from byte chunks to decoded PDUs; a malformed PDU errors the stream. */
export function pduStream(): TransformStream<Uint8Array, Pdu> {
  const framer = new PduFramer();
  return new TransformStream<Uint8Array, Pdu>({
    transform(chunk, controller) {
      framer.push(chunk, (pdu) => controller.enqueue(pdu));
    },
    flush(controller) {
      if (framer.buffered > 0) {
        controller.error(
          new DecodeError(0, `Stream ended inside a PDU: ${framer.buffered} bytes left over`),
        );
      }
    },
  });
}
