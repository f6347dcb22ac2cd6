/**
 * Encoding of every RTR PDU (RFC 8210 §5, 8210bis §5). `encodedLength` + `encodeInto` let a
 * writer pack many PDUs into one buffer; `encodePdu` returns a fresh frame. ASPA uses the current
 * 8210bis layout unless the value carries `legacyAfi` (StayRTR 0.5.1's draft layout). The Prefix
 * PDU layout (RFC 8210 §5.6, §5.7) has one writer, `writePrefixWords`, which encodes straight
 * from packed records so a cache can write a whole table without a PDU object per record.
 */
import { RtrError } from "../errors.ts";
import type { Pdu } from "./pdu.ts";

const utf8 = new TextEncoder();

/**
 * Words per packed prefix record `writePrefixWords` reads: `v6 << 16 | prefixLength << 8 |
 * maxLength`, four address words (IPv4 in the first), ASN (the model's VrpSet layout).
 */
export const PREFIX_RECORD_WORDS = 6;

/** First word of a Prefix PDU: version and type (IPv4 Prefix 4, IPv6 Prefix 6), zero field. */
export function prefixHeaderWord(version: number, v6: boolean): number {
  return ((version << 24) | ((v6 ? 6 : 4) << 16)) >>> 0;
}

/**
 * Write the packed record at word `y` of `d` as one IPv4 (`v6` false, `pduLen` 20) or IPv6
 * (`pduLen` 32) Prefix PDU at `o`; `header` is `prefixHeaderWord(...)` and `flagsWord` the flags
 * octet shifted into the top byte. Every byte is written (callers reuse buffers). Returns the
 * offset after the PDU.
 */
export function writePrefixWords(
  d: Uint32Array,
  y: number,
  view: DataView,
  o: number,
  header: number,
  pduLen: number,
  flagsWord: number,
  v6: boolean,
): number {
  view.setUint32(o, header);
  view.setUint32(o + 4, pduLen);
  view.setUint32(o + 8, (flagsWord | ((d[y] & 0xffff) << 8)) >>> 0);
  view.setUint32(o + 12, d[y + 1]);
  if (v6) {
    view.setUint32(o + 16, d[y + 2]);
    view.setUint32(o + 20, d[y + 3]);
    view.setUint32(o + 24, d[y + 4]);
    view.setUint32(o + 28, d[y + 5]);
  } else {
    view.setUint32(o + 16, d[y + 5]);
  }
  return o + pduLen;
}

/** Scratch record for encoding a Prefix PDU value through `writePrefixWords`. */
const PREFIX_SCRATCH = new Uint32Array(PREFIX_RECORD_WORDS);

/** Bytes `pdu` occupies on the wire. */
export function encodedLength(pdu: Pdu): number {
  switch (pdu.type) {
    case 0:
    case 1:
      return 12;
    case 2:
    case 3:
    case 8:
      return 8;
    case 4:
      return 20;
    case 6:
      return 32;
    case 7:
      return pdu.version === 0 ? 12 : 24;
    case 9:
      return 32 + pdu.spki.length;
    case 10:
      return 16 + pdu.pdu.length + utf8.encode(pdu.text).length;
    case 11:
      if (pdu.legacyAfi !== undefined) return 16 + 4 * pdu.providers.length;
      return (pdu.flags & 1) === 0 ? 12 : 12 + 4 * pdu.providers.length;
  }
}

/** Write `pdu` at `off` in `buf` (which `view` spans); returns the offset after it. */
export function encodeInto(pdu: Pdu, buf: Uint8Array, view: DataView, off: number): number {
  const len = encodedLength(pdu);
  buf[off] = pdu.version;
  buf[off + 1] = pdu.type;
  view.setUint16(off + 2, 0);
  view.setUint32(off + 4, len);
  switch (pdu.type) {
    case 0:
    case 1:
      view.setUint16(off + 2, pdu.sessionId);
      view.setUint32(off + 8, pdu.serial);
      break;
    case 2:
    case 8:
      break;
    case 3:
      view.setUint16(off + 2, pdu.sessionId);
      break;
    case 4:
    case 6: {
      const r = PREFIX_SCRATCH, v6 = pdu.type === 6;
      r[0] = ((pdu.prefixLength & 255) << 8) | (pdu.maxLength & 255);
      for (let i = 0; i < 4; i++) r[1 + i] = v6 || i === 0 ? pdu.addr[i] ?? 0 : 0;
      r[5] = pdu.asn;
      writePrefixWords(
        r,
        0,
        view,
        off,
        prefixHeaderWord(pdu.version, v6),
        len,
        pdu.flags << 24,
        v6,
      );
      break;
    }
    case 7:
      view.setUint16(off + 2, pdu.sessionId);
      view.setUint32(off + 8, pdu.serial);
      if (pdu.version !== 0) {
        // The timers are the sender's choice (their defaults live in lib/model/timers.ts).
        if (pdu.refresh === undefined || pdu.retry === undefined || pdu.expire === undefined) {
          throw new RtrError(
            `Cannot encode End of Data v${pdu.version}: refresh, retry and expire are required`,
          );
        }
        view.setUint32(off + 12, pdu.refresh);
        view.setUint32(off + 16, pdu.retry);
        view.setUint32(off + 20, pdu.expire);
      }
      break;
    case 9:
      buf[off + 2] = pdu.flags;
      buf.set(pdu.ski.subarray(0, 20), off + 8);
      view.setUint32(off + 28, pdu.asn);
      buf.set(pdu.spki, off + 32);
      break;
    case 10: {
      view.setUint16(off + 2, pdu.errorCode);
      view.setUint32(off + 8, pdu.pdu.length);
      buf.set(pdu.pdu, off + 12);
      const text = utf8.encode(pdu.text);
      view.setUint32(off + 12 + pdu.pdu.length, text.length);
      buf.set(text, off + 16 + pdu.pdu.length);
      break;
    }
    case 11:
      if (pdu.legacyAfi !== undefined) {
        buf[off + 8] = pdu.flags;
        buf[off + 9] = pdu.legacyAfi;
        view.setUint16(off + 10, pdu.providers.length);
        view.setUint32(off + 12, pdu.customer);
        for (let i = 0; i < pdu.providers.length; i++) {
          view.setUint32(off + 16 + 4 * i, pdu.providers[i]);
        }
      } else {
        buf[off + 2] = pdu.flags;
        view.setUint32(off + 8, pdu.customer);
        if ((pdu.flags & 1) !== 0) {
          for (let i = 0; i < pdu.providers.length; i++) {
            view.setUint32(off + 12 + 4 * i, pdu.providers[i]);
          }
        }
      }
      break;
  }
  return off + len;
}

/** Encode one PDU into a new frame. */
export function encodePdu(pdu: Pdu): Uint8Array {
  const buf = new Uint8Array(encodedLength(pdu));
  encodeInto(pdu, buf, new DataView(buf.buffer), 0);
  return buf;
}

/** Encode several PDUs into one contiguous buffer (one write on the socket). */
export function encodePdus(pdus: Iterable<Pdu>): Uint8Array {
  const list = [...pdus];
  let total = 0;
  for (const p of list) total += encodedLength(p);
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  let off = 0;
  for (const p of list) off = encodeInto(p, buf, view, off);
  return buf;
}
