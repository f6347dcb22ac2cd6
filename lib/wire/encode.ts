/**
 * Encoding of every RTR PDU (protocol.md §1.3). `encodedLength` + `encodeInto` let a writer pack
 * many PDUs into one buffer; `encodePdu` returns a fresh frame. ASPA uses the current 8210bis
 * layout unless the value carries `legacyAfi` (StayRTR 0.5.1's draft layout).
 */
import type { Pdu } from "./pdu.ts";

const utf8 = new TextEncoder();

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
      buf[off + 8] = pdu.flags;
      buf[off + 9] = pdu.prefixLength;
      buf[off + 10] = pdu.maxLength;
      buf[off + 11] = 0;
      const words = pdu.type === 4 ? 1 : 4;
      for (let i = 0; i < words; i++) view.setUint32(off + 12 + 4 * i, pdu.addr[i] ?? 0);
      view.setUint32(off + 12 + 4 * words, pdu.asn);
      break;
    }
    case 7:
      view.setUint16(off + 2, pdu.sessionId);
      view.setUint32(off + 8, pdu.serial);
      if (pdu.version !== 0) {
        view.setUint32(off + 12, pdu.refresh ?? 3600);
        view.setUint32(off + 16, pdu.retry ?? 600);
        view.setUint32(off + 20, pdu.expire ?? 7200);
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
