/**
 * Strict, context-free decoding of one RTR PDU (RFC 8210 §5, 8210bis §5). Every failure is a
 * DecodeError carrying the RFC error code to report and the offending bytes. Reserved fields and
 * flag bits are ignored (decoded `flags` is 1 for announce, 0 for withdraw, nothing else); host
 * bits beyond the prefix length are masked and flagged.
 */
import { DecodeError } from "../errors.ts";
import {
  ErrorCode,
  FLAG_ANNOUNCE,
  HEADER_LENGTH,
  MAX_PDU_LENGTH,
  MAX_VERSION,
  pduName,
  PduType,
  typeInVersion,
} from "./constants.ts";
import type { Pdu, PrefixPdu } from "./pdu.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Mask with the top `bits` bits of a 32-bit word set (0 for bits ≤ 0, all for bits ≥ 32). */
export function topMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Read the address of the IPv4 (`v6` false: one word) or IPv6 (four words) Prefix PDU at `off`
 * into `out`, with the bits beyond `prefixLength` cleared. Returns true when any were set. The
 * one place that masks host bits (8210bis §5.6), for the decoder and the session's fast path.
 */
export function readPrefixWords(
  view: DataView,
  off: number,
  v6: boolean,
  prefixLength: number,
  out: Uint32Array,
): boolean {
  const w0 = view.getUint32(off + 12);
  out[0] = (w0 & topMask(prefixLength)) >>> 0;
  if (!v6) return out[0] !== w0;
  const w1 = view.getUint32(off + 16), w2 = view.getUint32(off + 20);
  const w3 = view.getUint32(off + 24);
  out[1] = (w1 & topMask(prefixLength - 32)) >>> 0;
  out[2] = (w2 & topMask(prefixLength - 64)) >>> 0;
  out[3] = (w3 & topMask(prefixLength - 96)) >>> 0;
  return out[0] !== w0 || out[1] !== w1 || out[2] !== w2 || out[3] !== w3;
}

/** Scratch for the decoder's readPrefixWords calls. */
const WORDS = new Uint32Array(4);

/** Check the header fields that can be checked before buffering: length bounds. */
export function checkLength(length: number, header: Uint8Array): void {
  if (length < HEADER_LENGTH || length > MAX_PDU_LENGTH) {
    throw new DecodeError(
      ErrorCode.CorruptData,
      `Cannot frame PDU: length is ${length}, expected 8 to ${MAX_PDU_LENGTH}`,
      header.slice(0, 8),
    );
  }
}

function fail(code: number, msg: string, bytes: Uint8Array, off: number, len: number): never {
  throw new DecodeError(code, msg, bytes.slice(off, off + len));
}

function wantLength(
  bytes: Uint8Array,
  off: number,
  len: number,
  type: number,
  want: number,
  version: number,
): void {
  if (len !== want) {
    fail(
      ErrorCode.CorruptData,
      `Cannot decode ${pduName(type)} PDU v${version}: length is ${len}, expected ${want}`,
      bytes,
      off,
      len,
    );
  }
}

/** Decode one whole PDU from a standalone frame (header included). */
export function decodePdu(frame: Uint8Array): Pdu {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.byteLength < HEADER_LENGTH) {
    throw new DecodeError(
      ErrorCode.CorruptData,
      `Cannot decode PDU: ${frame.byteLength} bytes, expected at least 8`,
      frame.slice(),
    );
  }
  const len = view.getUint32(4);
  if (len !== frame.byteLength) {
    checkLength(len, frame);
    throw new DecodeError(
      ErrorCode.CorruptData,
      `Cannot decode ${
        pduName(frame[1])
      } PDU: length field is ${len}, frame has ${frame.byteLength} bytes`,
      frame.slice(),
    );
  }
  return decodeAt(frame, view, 0, len);
}

/**
 * Decode the PDU of length `len` at `off` in `bytes` (`view` spans the same bytes). The caller
 * has checked that `len` bytes are present and that 8 ≤ len ≤ 65535.
 */
export function decodeAt(bytes: Uint8Array, view: DataView, off: number, len: number): Pdu {
  const version = bytes[off];
  const type = bytes[off + 1];
  // Hot path: prefix PDUs are nearly all of a response. Anything unusual takes the full path
  // below, which reports the precise error.
  if (version <= MAX_VERSION) {
    if (type === PduType.Ipv4Prefix && len === 20) {
      const p = decodeIpv4(bytes, view, off, version);
      if (p !== null) return p;
    } else if (type === PduType.Ipv6Prefix && len === 32) {
      const p = decodeIpv6(bytes, view, off, version);
      if (p !== null) return p;
    }
  }
  if (version > MAX_VERSION) {
    fail(
      ErrorCode.UnsupportedProtocolVersion,
      `Cannot decode ${
        pduName(type)
      } PDU: protocol version ${version} is not supported (0 to ${MAX_VERSION})`,
      bytes,
      off,
      len,
    );
  }
  if (!typeInVersion(type, version)) {
    fail(
      ErrorCode.UnsupportedPduType,
      type === PduType.RouterKey || type === PduType.Aspa
        ? `Cannot decode ${pduName(type)} PDU: not defined in protocol version ${version}`
        : `Cannot decode PDU: unknown PDU type ${type}`,
      bytes,
      off,
      len,
    );
  }
  switch (type) {
    case 4: {
      wantLength(bytes, off, len, type, 20, version);
      return rejectPrefix(bytes, off, len, 4);
    }
    case 6: {
      wantLength(bytes, off, len, type, 32, version);
      return rejectPrefix(bytes, off, len, 6);
    }
    case 0:
    case 1: {
      wantLength(bytes, off, len, type, 12, version);
      return {
        type,
        version,
        sessionId: view.getUint16(off + 2),
        serial: view.getUint32(off + 8),
      };
    }
    case 2:
    case 8: {
      wantLength(bytes, off, len, type, 8, version);
      return { type, version };
    }
    case 3: {
      wantLength(bytes, off, len, type, 8, version);
      return { type, version, sessionId: view.getUint16(off + 2) };
    }
    case 7: {
      if (version === 0) {
        wantLength(bytes, off, len, type, 12, version);
        return {
          type,
          version,
          sessionId: view.getUint16(off + 2),
          serial: view.getUint32(off + 8),
        };
      }
      wantLength(bytes, off, len, type, 24, version);
      return {
        type,
        version,
        sessionId: view.getUint16(off + 2),
        serial: view.getUint32(off + 8),
        refresh: view.getUint32(off + 12),
        retry: view.getUint32(off + 16),
        expire: view.getUint32(off + 20),
      };
    }
    case 9: {
      if (len < 32 + 2) {
        fail(
          ErrorCode.CorruptData,
          `Cannot decode Router Key PDU: length is ${len}, expected at least 34`,
          bytes,
          off,
          len,
        );
      }
      return {
        type,
        version,
        flags: bytes[off + 2] & FLAG_ANNOUNCE,
        ski: bytes.slice(off + 8, off + 28),
        asn: view.getUint32(off + 28),
        spki: bytes.slice(off + 32, off + len),
      };
    }
    case 10:
      return decodeErrorReport(bytes, view, off, len, version);
    case 11:
      return decodeAspa(bytes, view, off, len, version);
  }
  // typeInVersion() admitted only the types above.
  return fail(
    ErrorCode.UnsupportedPduType,
    `Cannot decode PDU: unknown PDU type ${type}`,
    bytes,
    off,
    len,
  );
}

/** A well-formed IPv4 Prefix PDU at `off` (length already 20), or null for the full path. */
function decodeIpv4(
  bytes: Uint8Array,
  view: DataView,
  off: number,
  version: number,
): PrefixPdu | null {
  const prefixLength = bytes[off + 9];
  const maxLength = bytes[off + 10];
  if (maxLength > 32 || prefixLength > maxLength) return null;
  const hostBits = readPrefixWords(view, off, false, prefixLength, WORDS);
  const pdu: PrefixPdu = {
    type: 4,
    version,
    flags: bytes[off + 8] & FLAG_ANNOUNCE,
    prefixLength,
    maxLength,
    addr: [WORDS[0]],
    asn: view.getUint32(off + 16),
  };
  if (hostBits) pdu.hostBits = true;
  return pdu;
}

/** A well-formed IPv6 Prefix PDU at `off` (length already 32), or null for the full path. */
function decodeIpv6(
  bytes: Uint8Array,
  view: DataView,
  off: number,
  version: number,
): PrefixPdu | null {
  const prefixLength = bytes[off + 9];
  const maxLength = bytes[off + 10];
  if (maxLength > 128 || prefixLength > maxLength) return null;
  const hostBits = readPrefixWords(view, off, true, prefixLength, WORDS);
  const pdu: PrefixPdu = {
    type: 6,
    version,
    flags: bytes[off + 8] & FLAG_ANNOUNCE,
    prefixLength,
    maxLength,
    addr: [WORDS[0], WORDS[1], WORDS[2], WORDS[3]],
    asn: view.getUint32(off + 28),
  };
  if (hostBits) pdu.hostBits = true;
  return pdu;
}

/**
 * Report what is wrong with a prefix PDU of the right length that decodeIpv4/decodeIpv6
 * refused (a prefix or max length out of range): every well-formed one took the fast path.
 */
function rejectPrefix(bytes: Uint8Array, off: number, len: number, type: 4 | 6): never {
  const bitsMax = type === 4 ? 32 : 128;
  const prefixLength = bytes[off + 9];
  const maxLength = bytes[off + 10];
  const name = type === 4 ? "IPv4 Prefix" : "IPv6 Prefix";
  if (prefixLength > bitsMax) {
    fail(
      ErrorCode.CorruptData,
      `Cannot decode ${name} PDU: prefix length is ${prefixLength}, expected 0 to ${bitsMax}`,
      bytes,
      off,
      len,
    );
  }
  return fail(
    ErrorCode.CorruptData,
    `Cannot decode ${name} PDU: max length is ${maxLength}, expected ${prefixLength} to ${bitsMax}`,
    bytes,
    off,
    len,
  );
}

function decodeErrorReport(
  bytes: Uint8Array,
  view: DataView,
  off: number,
  len: number,
  version: number,
): Pdu {
  const bad = (why: string) =>
    fail(ErrorCode.CorruptData, `Cannot decode Error Report PDU: ${why}`, bytes, off, len);
  if (len < 16) bad(`length is ${len}, expected at least 16`);
  const m = view.getUint32(off + 8);
  if (12 + m + 4 > len) bad(`encapsulated PDU length ${m} does not fit in length ${len}`);
  const t = view.getUint32(off + 12 + m);
  if (16 + m + t !== len) bad(`length is ${len}, expected 16 + ${m} + ${t} = ${16 + m + t}`);
  let textBytes = bytes.subarray(off + 16 + m, off + len);
  while (textBytes.length > 0 && textBytes[textBytes.length - 1] === 0) {
    textBytes = textBytes.subarray(0, textBytes.length - 1);
  }
  return {
    type: 10,
    version,
    errorCode: view.getUint16(off + 2),
    pdu: bytes.slice(off + 12, off + 12 + m),
    text: utf8.decode(textBytes),
  };
}

function decodeAspa(
  bytes: Uint8Array,
  view: DataView,
  off: number,
  len: number,
  version: number,
): Pdu {
  const headerFlags = bytes[off + 2];
  if (headerFlags === 0 && len >= 16) {
    // Legacy draft layout (≤ -13), as StayRTR 0.5.1 sends it: flags, AFI, count in the body.
    const n = view.getUint16(off + 10);
    if (len !== 16 + 4 * n) {
      fail(
        ErrorCode.CorruptData,
        `Cannot decode ASPA PDU (legacy layout): length is ${len}, expected 16 + 4 × ${n} = ${
          16 + 4 * n
        }`,
        bytes,
        off,
        len,
      );
    }
    const providers = new Array<number>(n);
    for (let i = 0; i < n; i++) providers[i] = view.getUint32(off + 16 + 4 * i);
    return {
      type: 11,
      version,
      flags: bytes[off + 8] & FLAG_ANNOUNCE,
      customer: view.getUint32(off + 12),
      providers,
      legacyAfi: bytes[off + 9],
    };
  }
  if (len < 12) {
    fail(
      ErrorCode.CorruptData,
      `Cannot decode ASPA PDU: length is ${len}, expected at least 12`,
      bytes,
      off,
      len,
    );
  }
  const customer = view.getUint32(off + 8);
  if ((headerFlags & 1) === 0) {
    if (len !== 12) {
      fail(
        ErrorCode.CorruptData,
        `Cannot decode ASPA PDU: withdrawal length is ${len}, expected 12`,
        bytes,
        off,
        len,
      );
    }
    return { type: 11, version, flags: 0, customer, providers: [] };
  }
  if ((len - 12) % 4 !== 0) {
    fail(
      ErrorCode.CorruptData,
      `Cannot decode ASPA PDU: length is ${len}, expected 12 + 4 × n`,
      bytes,
      off,
      len,
    );
  }
  const n = (len - 12) / 4;
  if (n === 0) {
    fail(
      ErrorCode.AspaProviderListError,
      "Cannot decode ASPA PDU: announcement has no providers",
      bytes,
      off,
      len,
    );
  }
  const providers = new Array<number>(n);
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const p = view.getUint32(off + 12 + 4 * i);
    if (n > 1 && p === 0) {
      fail(
        ErrorCode.AspaProviderListError,
        `Cannot decode ASPA PDU: AS0 among ${n} providers of AS${customer}`,
        bytes,
        off,
        len,
      );
    }
    if (p <= prev) {
      fail(
        ErrorCode.AspaProviderListError,
        `Cannot decode ASPA PDU: providers of AS${customer} are not strictly increasing (AS${p} after AS${prev})`,
        bytes,
        off,
        len,
      );
    }
    providers[i] = p;
    prev = p;
  }
  return { type: 11, version, flags: 1, customer, providers };
}
