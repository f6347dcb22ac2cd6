/**
 * The payload order of a v2 response (8210bis §11.2): PDU types ascending; within a type
 * announcements before withdrawals; IP prefixes announced by address, max length, prefix length
 * and ASN all descending, withdrawn all ascending; Router Keys by SKI, SPKI length, SPKI bytes,
 * ASN ascending; ASPA by customer ASN ascending. The one owner of this order: the cache's
 * encoder sorts by it and `replay --check` verifies it.
 */
import { FLAG_ANNOUNCE, type Pdu } from "../wire/mod.ts";

/** Rank of each payload PDU type in §11.2 order. */
const TYPE_RANK: Record<number, number> = { 4: 0, 6: 1, 9: 2, 11: 3 };

function cmpU(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Compare bytes lexicographically (a shorter prefix first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** A router key as it goes on the wire. */
export interface WireRouterKey {
  ski: Uint8Array;
  spki: Uint8Array;
  asn: number;
}

/** 8210bis §11.2 order of router keys: SKI, SPKI length, SPKI bytes, ASN, all ascending. */
export function compareWireRouterKeys(a: WireRouterKey, b: WireRouterKey): number {
  return compareBytes(a.ski, b.ski) || a.spki.length - b.spki.length ||
    compareBytes(a.spki, b.spki) || cmpU(a.asn, b.asn);
}

/** True when payload PDU `cur` must not follow `prev` in a v2 response (8210bis §11.2). */
export function orderViolation(prev: Pdu, cur: Pdu): boolean {
  const rp = TYPE_RANK[prev.type], rc = TYPE_RANK[cur.type];
  if (rp !== rc) return rp > rc;
  const ap = "flags" in prev ? prev.flags & FLAG_ANNOUNCE : 1;
  const ac = "flags" in cur ? cur.flags & FLAG_ANNOUNCE : 1;
  if (ap !== ac) return ap < ac; // announcements (1) first
  if ((prev.type === 4 || prev.type === 6) && (cur.type === 4 || cur.type === 6)) {
    let c = 0;
    for (let i = 0; i < prev.addr.length && c === 0; i++) c = cmpU(prev.addr[i], cur.addr[i]);
    if (c === 0) c = prev.maxLength - cur.maxLength;
    if (c === 0) c = prev.prefixLength - cur.prefixLength;
    if (c === 0) c = cmpU(prev.asn, cur.asn);
    // Announcements descending, withdrawals ascending.
    return ac === 1 ? c < 0 : c > 0;
  }
  if (prev.type === 9 && cur.type === 9) return compareWireRouterKeys(prev, cur) > 0;
  if (prev.type === 11 && cur.type === 11) return prev.customer > cur.customer;
  return false;
}
