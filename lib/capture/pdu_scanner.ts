/**
 * Tolerant RTR framing for captures (RFC 8210 §5, 8210bis §5): like the wire framer it cuts PDUs by
 * their Length, but a malformed PDU does not stop it. A PDU whose header is sound but whose body
 * is not becomes a malformed record and framing goes on after it; a header that cannot be
 * trusted (unknown version or type, a length the type cannot have) or a gap in the capture
 * makes it resynchronise: skip to the next offset holding a plausible header that decodes and
 * is followed by another plausible header (or the end of the stream).
 */
import { DecodeError } from "../errors.ts";
import {
  decodeAt,
  ErrorCode,
  HEADER_LENGTH,
  MAX_PDU_LENGTH,
  MAX_VERSION,
  type Pdu,
  pduName,
  typeInVersion,
} from "../wire/mod.ts";

/** Bytes of a malformed span kept for its record (the rest is counted only). */
export const MAX_MALFORMED_BYTES = 1024;

/** Bytes that could not be decoded as a PDU. */
export interface MalformedSpan {
  /** Stream offset of the first byte. */
  offset: number;
  /** Number of bytes in the span. */
  length: number;
  /** RFC error code a router would report (0 Corrupt Data, 4, 5, 9…). */
  errorCode: number;
  message: string;
  /** The first bytes of the span (at most MAX_MALFORMED_BYTES). */
  bytes: Uint8Array;
  /**
   * What made them malformed: the data itself, a gap in the capture (the PDU cut by it, bytes
   * skipped after it), or the end of the stream inside a PDU.
   */
  cause: "data" | "gap" | "end";
}

/**
 * Where the bytes of a decoded PDU are. The scanner reuses one instance for every PDU (a view
 * per PDU would cost more than the decoding): read it during the callback, copy what you keep.
 */
export class PduBytes {
  /** Buffer holding the PDU. */
  bytes: Uint8Array = new Uint8Array(0);
  /** Index of the PDU's first byte in `bytes`, and one past its last. */
  start = 0;
  end = 0;
  /** Stream offset of the PDU's first byte. */
  offset = 0;

  /** Length of the PDU in bytes. */
  get length(): number {
    return this.end - this.start;
  }

  /** A view of the PDU's bytes (valid during the callback only). */
  view(): Uint8Array {
    return this.bytes.subarray(this.start, this.end);
  }
}

/** Receives what the scanner finds. */
export interface PduScannerSink {
  /** A decoded PDU; `at` says where its bytes are (valid during the call). */
  pdu(pdu: Pdu, at: PduBytes): void;
  malformed(span: MalformedSpan): void;
}

/** Expected length of a PDU of `type` in `version`: exact, or [min, max] for variable ones. */
function lengthOk(version: number, type: number, len: number): boolean {
  switch (type) {
    case 0:
    case 1:
      return len === 12;
    case 2:
    case 3:
    case 8:
      return len === 8;
    case 4:
      return len === 20;
    case 6:
      return len === 32;
    case 7:
      return len === (version === 0 ? 12 : 24);
    case 9:
      return len >= 34 && len <= MAX_PDU_LENGTH;
    case 10:
      return len >= 16 && len <= MAX_PDU_LENGTH;
    case 11:
      return len >= 12 && len <= MAX_PDU_LENGTH;
    default:
      return false;
  }
}

/** True when an 8-byte header could start a PDU of a known type with a length it can have. */
export function plausibleHeader(version: number, type: number, len: number): boolean {
  return version <= MAX_VERSION && typeInVersion(type, version) && lengthOk(version, type, len);
}

/**
 * Why a header is not plausible: the error code and message a strict decoder would give, the
 * version first (the most telling), then the type, then the length.
 */
export function diagnoseHeader(
  version: number,
  type: number,
  len: number,
): { errorCode: number; message: string } {
  if (version > MAX_VERSION) {
    return {
      errorCode: ErrorCode.UnsupportedProtocolVersion,
      message: `Cannot decode ${
        pduName(type)
      } PDU: protocol version ${version} is not supported (0 to ${MAX_VERSION})`,
    };
  }
  if (!typeInVersion(type, version)) {
    return {
      errorCode: ErrorCode.UnsupportedPduType,
      message: type === 9 || type === 11
        ? `Cannot decode ${pduName(type)} PDU: not defined in protocol version ${version}`
        : `Cannot decode PDU: unknown PDU type ${type}`,
    };
  }
  if (len < HEADER_LENGTH || len > MAX_PDU_LENGTH) {
    return {
      errorCode: ErrorCode.CorruptData,
      message: `Cannot frame PDU: length is ${len}, expected 8 to ${MAX_PDU_LENGTH}`,
    };
  }
  const want = type === 7
    ? String(version === 0 ? 12 : 24)
    : type === 9
    ? "at least 34"
    : type === 10
    ? "at least 16"
    : type === 11
    ? "at least 12"
    : String({ 0: 12, 1: 12, 2: 8, 3: 8, 4: 20, 6: 32, 8: 8 }[type]);
  return {
    errorCode: ErrorCode.CorruptData,
    message: `Cannot decode ${pduName(type)} PDU v${version}: length is ${len}, expected ${want}`,
  };
}

interface Skip {
  cause: "data" | "gap";
  offset: number;
  length: number;
  errorCode: number;
  message: string;
  head: Uint8Array;
  headLen: number;
}

/** Frames and decodes one direction of an RTR stream, resynchronising after damage. */
export class PduScanner {
  #sink: PduScannerSink;
  #pending: Uint8Array | null = null;
  /** Stream offset of `#pending[0]` (or of the next byte when nothing is pending). */
  #pendOff = 0;
  #skip: Skip | null = null;
  #at = new PduBytes();
  /** PDUs decoded. */
  pdus = 0;
  /** Malformed spans reported. */
  malformedCount = 0;

  constructor(sink: PduScannerSink) {
    this.#sink = sink;
  }

  /** True while looking for the next plausible header. */
  get resyncing(): boolean {
    return this.#skip !== null;
  }

  /** Bytes held back (an incomplete PDU, or bytes under inspection while resynchronising). */
  get buffered(): number {
    return this.#pending?.length ?? 0;
  }

  /** Feed in-order stream bytes starting at stream offset `offset`. */
  push(chunk: Uint8Array, offset: number): void {
    if (chunk.length === 0) return;
    let b = chunk;
    let base = offset;
    const pend = this.#pending;
    if (pend && pend.length > 0) {
      b = new Uint8Array(pend.length + chunk.length);
      b.set(pend);
      b.set(chunk, pend.length);
      base = this.#pendOff;
    }
    this.#pending = null;
    const used = this.#run(b, base, false);
    if (used < b.length) {
      this.#pending = b.slice(used);
    }
    this.#pendOff = base + used;
  }

  /**
   * `length` bytes at stream offset `offset` are missing: an incomplete PDU before them is
   * reported, and framing resumes at the next plausible header after them.
   */
  gap(offset: number, length: number): void {
    const pend = this.#pending;
    if (this.#skip) {
      if (pend) this.#addSkip(pend, 0, pend.length);
      this.#flushSkip();
    } else if (pend && pend.length > 0) {
      const want = pend.length >= 8
        ? new DataView(pend.buffer, pend.byteOffset, 8).getUint32(4)
        : HEADER_LENGTH;
      this.#report(
        this.#pendOff,
        pend.length,
        ErrorCode.CorruptData,
        `Cannot decode ${
          pend.length >= 2 ? pduName(pend[1]) + " " : ""
        }PDU: cut by a capture gap after ${pend.length} of ${want} bytes`,
        pend,
        "gap",
      );
    }
    this.#pending = null;
    this.#pendOff = offset + length;
    this.#skip = {
      cause: "gap",
      offset: offset + length,
      length: 0,
      errorCode: ErrorCode.CorruptData,
      message: "Cannot frame PDU: no plausible PDU header after a capture gap",
      head: new Uint8Array(64),
      headLen: 0,
    };
  }

  /** End of the stream: whatever is left is reported. */
  end(): void {
    const pend = this.#pending;
    this.#pending = null;
    if (pend && pend.length > 0) {
      const used = this.#run(pend, this.#pendOff, true);
      if (used < pend.length) {
        const rest = pend.subarray(used);
        if (this.#skip) {
          this.#addSkip(rest, 0, rest.length);
        } else {
          const want = rest.length >= 8
            ? new DataView(rest.buffer, rest.byteOffset, 8).getUint32(4)
            : HEADER_LENGTH;
          this.#report(
            this.#pendOff + used,
            rest.length,
            ErrorCode.CorruptData,
            `Cannot decode ${
              rest.length >= 2 ? pduName(rest[1]) + " " : ""
            }PDU: stream ended after ${rest.length} of ${want} bytes`,
            rest,
            "end",
          );
        }
      }
      this.#pendOff += pend.length;
    }
    this.#flushSkip();
  }

  #report(
    offset: number,
    length: number,
    errorCode: number,
    message: string,
    bytes: Uint8Array,
    cause: MalformedSpan["cause"] = "data",
  ) {
    this.malformedCount++;
    this.#sink.malformed({
      offset,
      length,
      errorCode,
      message,
      bytes: bytes.slice(0, Math.min(bytes.length, MAX_MALFORMED_BYTES)),
      cause,
    });
  }

  #startSkip(offset: number, errorCode: number, message: string): void {
    this.#skip = {
      cause: "data",
      offset,
      length: 0,
      errorCode,
      message,
      head: new Uint8Array(64),
      headLen: 0,
    };
  }

  #addSkip(b: Uint8Array, from: number, to: number): void {
    const s = this.#skip!;
    if (to <= from) return;
    const room = MAX_MALFORMED_BYTES - s.headLen;
    if (room > 0) {
      const n = Math.min(room, to - from);
      if (s.headLen + n > s.head.length) {
        const grown = new Uint8Array(
          Math.min(MAX_MALFORMED_BYTES, Math.max(s.head.length * 2, s.headLen + n)),
        );
        grown.set(s.head.subarray(0, s.headLen));
        s.head = grown;
      }
      s.head.set(b.subarray(from, from + n), s.headLen);
      s.headLen += n;
    }
    s.length += to - from;
  }

  #flushSkip(): void {
    const s = this.#skip;
    this.#skip = null;
    if (!s || s.length === 0) return;
    this.malformedCount++;
    this.#sink.malformed({
      offset: s.offset,
      length: s.length,
      errorCode: s.errorCode,
      message: s.message,
      bytes: s.head.slice(0, s.headLen),
      cause: s.cause,
    });
  }

  /** Process `b` (stream offset `base`); returns how many bytes were consumed. */
  #run(b: Uint8Array, base: number, final: boolean): number {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const n = b.length;
    const sink = this.#sink;
    const at = this.#at;
    at.bytes = b;
    let p = 0;
    for (;;) {
      if (!this.#skip) {
        // Aligned: trust the Length of every plausible header.
        while (n - p >= HEADER_LENGTH) {
          const len = view.getUint32(p + 4);
          const version = b[p], type = b[p + 1];
          if (!plausibleHeader(version, type, len)) {
            const d = diagnoseHeader(version, type, len);
            this.#startSkip(base + p, d.errorCode, d.message);
            break;
          }
          if (n - p < len) return p;
          let pdu: Pdu;
          try {
            pdu = decodeAt(b, view, p, len);
          } catch (e) {
            if (!(e instanceof DecodeError)) throw e;
            this.#report(base + p, len, e.code, e.message, b.subarray(p, p + len));
            p += len;
            continue;
          }
          this.pdus++;
          at.start = p;
          at.end = p + len;
          at.offset = base + p;
          sink.pdu(pdu, at);
          p += len;
        }
        if (!this.#skip) return p;
      }
      // Resynchronising: look for a header that is plausible, decodes, and is followed by
      // another plausible header or by the end of the stream.
      const from = p;
      let found = false;
      while (n - p >= HEADER_LENGTH) {
        const len = view.getUint32(p + 4);
        if (plausibleHeader(b[p], b[p + 1], len)) {
          if (n - p < len + (final ? 0 : HEADER_LENGTH) && !(final && n - p >= len)) {
            if (!final) {
              // Cannot decide yet: keep from here and wait for more bytes.
              this.#addSkip(b, from, p);
              return p;
            }
          } else {
            const q = p + len;
            let chained = true;
            if (n - q >= HEADER_LENGTH) {
              chained = plausibleHeader(b[q], b[q + 1], view.getUint32(q + 4));
            }
            if (chained) {
              let ok = true;
              try {
                decodeAt(b, view, p, len);
              } catch {
                ok = false;
              }
              if (ok) {
                found = true;
                break;
              }
            }
          }
        }
        p++;
      }
      if (found) {
        this.#addSkip(b, from, p);
        this.#flushSkip();
        continue;
      }
      if (final) {
        this.#addSkip(b, from, n);
        return n;
      }
      this.#addSkip(b, from, p);
      return p;
    }
  }
}
