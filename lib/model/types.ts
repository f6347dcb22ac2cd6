/**
 * Payload values as users and file formats see them: a VRP (RFC 6811), a BGPsec Router Key
 * (RFC 8635) and an ASPA (8210bis §5.12). Canonical forms: prefixes masked and compressed,
 * SKIs upper-case hex, public keys base64 DER, providers sorted and unique.
 */

/** A Validated ROA Payload. */
export interface Vrp {
  /** Canonical `addr/len`. */
  prefix: string;
  /** Maximum prefix length in bits (RFC 6811 §2). */
  maxLength: number;
  /** Origin AS the VRP authorises. */
  asn: number;
}

/** A BGPsec router key. */
export interface RouterKey {
  /** AS number the router key belongs to. */
  asn: number;
  /** Subject Key Identifier, 40 upper-case hex digits. */
  ski: string;
  /** DER subjectPublicKeyInfo in standard base64. */
  pubkey: string;
}

/** An ASPA record: a customer AS and its sorted, unique provider ASes. */
export interface Aspa {
  /** Customer AS number. */
  customer: number;
  /** Provider AS numbers, sorted and unique. */
  providers: number[];
}

/** Identity of a router key for duplicate and withdrawal checks (SKI, ASN and key bytes). */
export function routerKeyId(k: RouterKey): string {
  return `${k.ski.toUpperCase()} ${k.asn} ${k.pubkey}`;
}

/** Upper-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
  return s.toUpperCase();
}

/** Bytes of a hex string (any case); null when malformed. */
export function fromHex(s: string): Uint8Array | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard base64 of bytes. */
export function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of standard (or URL-safe) base64; null when malformed. */
export function fromBase64(s: string): Uint8Array | null {
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Compare ASPA records by customer ASN. */
export function compareAspa(a: Aspa, b: Aspa): number {
  return a.customer - b.customer;
}

/** Compare router keys: ASN, then SKI, then key. */
export function compareRouterKey(a: RouterKey, b: RouterKey): number {
  return a.asn - b.asn || cmpStr(a.ski.toUpperCase(), b.ski.toUpperCase()) ||
    cmpStr(a.pubkey, b.pubkey);
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
