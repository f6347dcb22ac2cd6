/**
 * Stream framing for RTR (RFC 8210 §5.1): PDUs are delimited only by the Length field. The
 * framer accepts chunks at any boundaries, rejects a length below 8 or above 65535 as soon as the
 * 8-octet header is complete and before buffering anything more, decodes every whole PDU of a
 * chunk in place and copies only a PDU that straddles chunks. The per-PDU path allocates nothing
 * but the decoded value.
 */
import { DecodeError } from "../errors.ts";
import { ErrorCode, HEADER_LENGTH, MAX_PDU_LENGTH } from "./constants.ts";
import { checkLength, decodeAt } from "./decode.ts";
import type { Pdu } from "./pdu.ts";

const EMPTY = new Uint8Array(0);

/** Receives each decoded PDU; `raw` (its bytes) is passed only to callbacks that declare it. */
export type PduCallback = (pdu: Pdu, raw: Uint8Array) => void;

/** Sans-I/O framer: `push` a chunk, receive decoded PDUs through the callback. */
export class PduFramer {
  /** A straddling PDU: 8 bytes until its header is complete, then exactly its Length. */
  #pending: Uint8Array | null = null;
  #pendingLen = 0;
  /** The error that broke the stream; every later push fails. */
  #failed: unknown = undefined;
  /** Where the PDU being delivered lies, for raw(). */
  #cur: Uint8Array = EMPTY;
  #curOff = 0;
  #curLen = 0;
  /**
   * Optional fast path for IPv4/IPv6 Prefix PDUs (type 4 with length 20, type 6 with length 32)
   * that lie whole in a chunk: the hook reads the PDU in place and returns true when it took it,
   * so no value object is made; false sends the PDU down the normal decoding path (which also
   * reports every error). Counted in `pdus` either way.
   */
  prefixHook: ((bytes: Uint8Array, view: DataView, off: number) => boolean) | null = null;
  /** Total bytes accepted so far. */
  bytes = 0;
  /** PDUs decoded so far. */
  pdus = 0;

  /**
   * Feed one chunk. `onPdu` runs for each whole PDU. A callback declared with two parameters
   * also receives the PDU's raw bytes (a view, valid only during the call); one declared with
   * one parameter does not, which saves an allocation per PDU, and can still call `raw()`.
   * A DecodeError (or any error thrown by `onPdu`) propagates and leaves the framer unusable.
   */
  push(chunk: Uint8Array, onPdu: PduCallback): void {
    if (this.#failed !== undefined) {
      throw new DecodeError(
        ErrorCode.CorruptData,
        "Cannot frame PDU: the stream already failed",
        undefined,
        { cause: this.#failed },
      );
    }
    try {
      this.#push(chunk, onPdu, onPdu.length >= 2);
    } catch (e) {
      this.#failed = e ?? new Error("unknown error");
      this.#pending = null;
      this.#pendingLen = 0;
      throw e;
    } finally {
      this.#cur = EMPTY; // pin no caller buffer between pushes
    }
  }

  /** Bytes of the PDU being delivered; valid only inside the `onPdu` callback. */
  raw(): Uint8Array {
    return this.#cur.subarray(this.#curOff, this.#curOff + this.#curLen);
  }

  /** Bytes of an incomplete PDU held back (0 at a clean PDU boundary). */
  get buffered(): number {
    return this.#pendingLen;
  }

  /** Length of the incomplete PDU held back, or 8 while its header is incomplete, or 0. */
  get expected(): number {
    return this.#pending === null ? 0 : this.#pending.length;
  }

  #push(chunk: Uint8Array, onPdu: PduCallback, wantRaw: boolean): void {
    this.bytes += chunk.length;
    let off = 0;
    if (this.#pending !== null) {
      off = this.#fillPending(chunk, onPdu, wantRaw);
      if (this.#pending !== null) return;
    }
    const end = chunk.length;
    if (end - off < HEADER_LENGTH) {
      if (off < end) this.#hold(chunk, off, HEADER_LENGTH);
      return;
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#cur = chunk;
    while (end - off >= HEADER_LENGTH) {
      const len = view.getUint32(off + 4);
      if (len < HEADER_LENGTH || len > MAX_PDU_LENGTH) {
        checkLength(len, chunk.subarray(off, off + HEADER_LENGTH));
      }
      if (end - off < len) {
        this.#hold(chunk, off, len);
        return;
      }
      const hook = this.prefixHook;
      if (hook !== null && (len === 20 || len === 32)) {
        const t = chunk[off + 1];
        if (((t === 4 && len === 20) || (t === 6 && len === 32)) && hook(chunk, view, off)) {
          this.pdus++;
          off += len;
          continue;
        }
      }
      this.#curOff = off;
      this.#curLen = len;
      const pdu = decodeAt(chunk, view, off, len);
      this.pdus++;
      if (wantRaw) onPdu(pdu, chunk.subarray(off, off + len));
      else (onPdu as (pdu: Pdu) => void)(pdu);
      off += len;
    }
    if (off < end) this.#hold(chunk, off, HEADER_LENGTH);
  }

  /** Copy the tail of `chunk` from `off` into a new pending buffer of `size` bytes. */
  #hold(chunk: Uint8Array, off: number, size: number): void {
    const buf = new Uint8Array(size);
    buf.set(chunk.subarray(off));
    this.#pending = buf;
    this.#pendingLen = chunk.length - off;
  }

  /** Complete the pending PDU from the start of `chunk`; returns the bytes of `chunk` used. */
  #fillPending(chunk: Uint8Array, onPdu: PduCallback, wantRaw: boolean): number {
    let pend = this.#pending!;
    let have = this.#pendingLen;
    let off = 0;
    if (have < HEADER_LENGTH) {
      off = Math.min(HEADER_LENGTH - have, chunk.length);
      pend.set(chunk.subarray(0, off), have);
      have += off;
      this.#pendingLen = have;
      if (have < HEADER_LENGTH) return off;
      const len = ((pend[4] << 24) | (pend[5] << 16) | (pend[6] << 8) | pend[7]) >>> 0;
      checkLength(len, pend);
      if (len > HEADER_LENGTH) {
        const full = new Uint8Array(len);
        full.set(pend);
        this.#pending = pend = full;
      }
    }
    const len = pend.length;
    const take = Math.min(len - have, chunk.length - off);
    if (take > 0) pend.set(chunk.subarray(off, off + take), have);
    have += take;
    off += take;
    if (have < len) {
      this.#pendingLen = have;
      return off;
    }
    this.#pending = null;
    this.#pendingLen = 0;
    this.#cur = pend;
    this.#curOff = 0;
    this.#curLen = len;
    const pdu = decodeAt(pend, new DataView(pend.buffer), 0, len);
    this.pdus++;
    if (wantRaw) onPdu(pdu, pend);
    else (onPdu as (pdu: Pdu) => void)(pdu);
    return off;
  }
}

/** A TransformStream from byte chunks to decoded PDUs; a malformed PDU errors the stream. */
export function pduStream(): TransformStream<Uint8Array, Pdu> {
  const framer = new PduFramer();
  let enqueue: (pdu: Pdu) => void = () => {};
  return new TransformStream<Uint8Array, Pdu>({
    start(controller) {
      enqueue = (pdu) => controller.enqueue(pdu);
    },
    transform(chunk) {
      framer.push(chunk, enqueue);
    },
    flush(controller) {
      if (framer.buffered > 0) {
        controller.error(
          new DecodeError(
            ErrorCode.CorruptData,
            `Stream ended inside a PDU: ${framer.buffered} bytes left over, expected ${framer.expected}`,
          ),
        );
      }
    },
  });
}
