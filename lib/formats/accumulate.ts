/**
 * Normalising table input shared by every reader: ASNs of any spelling to
 * integers, prefixes to masked address words (host bits → a warning), maxLength checks, SKIs to
 * upper case, public keys to standard base64, ASPA merged per customer. Readers feed raw field
 * values; an invalid entry becomes one InputError line naming the file and the entry.
 */
import { InputError } from "../errors.ts";
import {
  type Aspa,
  fromBase64,
  makeTable,
  type PayloadTable,
  type RouterKey,
  scanIpv4,
  scanIpv6,
  scannedTo,
  toBase64,
  topMask,
  VrpSetBuilder,
} from "../model/mod.ts";
import { latin1 } from "./json_scan.ts";

/** Largest AS number (RFC 6793). */
export const MAX_ASN = 0xffffffff;

/**
 * Parse an AS number given as a JSON number, `"64500"`, `"AS64500"` or `"as64500"`; -1 when it
 * is not an integer in 0..2^32-1.
 */
export function parseAsn(v: unknown): number {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 && v <= MAX_ASN ? v : -1;
  if (typeof v !== "string") return -1;
  let i = 0;
  const n = v.length;
  if (n >= 2 && (v.charCodeAt(0) | 0x20) === 0x61 && (v.charCodeAt(1) | 0x20) === 0x73) i = 2;
  if (n - i < 1 || n - i > 10) return -1;
  let x = 0;
  for (; i < n; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x <= MAX_ASN ? x : -1;
}

/** Parse a small non-negative integer given as a number or a decimal string; -1 otherwise. */
export function parseSmallInt(v: unknown): number {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 && v <= 255 ? v : -1;
  if (typeof v !== "string" || v.length === 0 || v.length > 3) return -1;
  let x = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/** Scratch words of the last prefix scanned by `scanPrefix`. */
const ADDR = new Uint32Array(4);
let scannedV6 = false;
let scannedHostBits = false;

/** Scratch: the text of a prefix given as a string, as bytes. */
const TEXT = new Uint8Array(64);

/**
 * Scan `addr/len` (or a bare address when `bareLength` ≥ 0 gives its length) into ADDR, masking
 * host bits. Returns the prefix length, or -1 when the text is not a prefix.
 */
function scanPrefix(s: string, bareLength: number): number {
  const n = s.length;
  if (n > TEXT.length) return -1;
  let colon = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return -1;
    if (c === 0x3a) colon = true;
    TEXT[i] = c;
  }
  return colon ? scanIpv6Bytes(TEXT, 0, n, bareLength) : scanIpv4Bytes(TEXT, 0, n, bareLength);
}

/** The prefix length after the `/` at `slash` in `b[..e)` (up to `digits` digits), or -1. */
function lengthAt(b: Uint8Array, slash: number, e: number, digits: number): number {
  let i = slash + 1;
  if (i >= e || e - i > digits) return -1;
  let len = 0;
  for (; i < e; i++) {
    const c = b[i] - 48;
    if (c < 0 || c > 9) return -1;
    len = len * 10 + c;
  }
  return len;
}

/** IPv4 `a.b.c.d[/len]` in bytes `s..e` into ADDR (the model's scanIpv4); -1 when malformed. */
function scanIpv4Bytes(b: Uint8Array, s: number, e: number, bareLength: number): number {
  scannedHostBits = false;
  scannedV6 = false;
  const w = scanIpv4(b, s, e);
  if (w < 0) return -1;
  const slash = scannedTo();
  const len = slash < e ? lengthAt(b, slash, e, 3) : bareLength;
  if (len < 0 || len > 32) return -1;
  const m = (w & topMask(len)) >>> 0;
  if (m !== w) scannedHostBits = true;
  ADDR[0] = m;
  ADDR[1] = ADDR[2] = ADDR[3] = 0;
  return len;
}

/** IPv6 `addr[/len]` in bytes `s..e` into ADDR (the model's scanIpv6); -1 when malformed. */
function scanIpv6Bytes(b: Uint8Array, s: number, e: number, bareLength: number): number {
  scannedHostBits = false;
  scannedV6 = true;
  if (!scanIpv6(b, s, e, ADDR)) return -1;
  const slash = scannedTo();
  const len = slash < e ? lengthAt(b, slash, e, 3) : bareLength;
  if (len < 0 || len > 128) return -1;
  for (let k = 0; k < 4; k++) {
    const w = ADDR[k];
    const m = (w & topMask(len - 32 * k)) >>> 0;
    if (m !== w) scannedHostBits = true;
    ADDR[k] = m;
  }
  return len;
}

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX40 = /^[0-9A-Fa-f]{40}$/;

/**
 * Collects normalised records from one input and builds the PayloadTable. `kind` and `index`
 * locate an entry for error messages: `roas[12]` (JSON arrays) or `line 7` (kind "line").
 */
export class TableAccumulator {
  /** Name of the input, as errors show it. */
  readonly name: string;
  /** Human-readable notes about repaired input (host bits, duplicates…). */
  readonly warnings: string[] = [];
  #vrps: VrpSetBuilder;
  #keys: RouterKey[] = [];
  #aspas: Aspa[] = [];
  #hostBits = 0;
  #firstHostBits = "";

  constructor(name: string, capacity = 1024) {
    this.name = name;
    this.#vrps = new VrpSetBuilder(capacity);
  }

  /** Throw the InputError for entry `index` of `kind`. */
  fail(kind: string, index: number, message: string): never {
    const where = kind === "line" ? `line ${index}` : `${kind}[${index}]`;
    throw new InputError(`Cannot read ${this.name}: ${where}: ${message}`);
  }

  /**
   * Add a VRP. `prefix` is `addr/len` or, with `length` given (RTRlib), a bare address;
   * a missing `maxLength` means the prefix length.
   */
  vrp(
    kind: string,
    index: number,
    prefix: unknown,
    length: unknown,
    maxLength: unknown,
    asn: unknown,
  ): void {
    if (typeof prefix !== "string") {
      this.fail(kind, index, prefix === undefined ? "prefix is missing" : "prefix is not a string");
    }
    let bare = -1;
    if (length !== undefined && length !== null) {
      bare = parseSmallInt(length);
      if (bare < 0) this.fail(kind, index, `length is ${JSON.stringify(length)}, expected 0..128`);
    }
    const len = scanPrefix(prefix, bare);
    if (len < 0) {
      this.fail(kind, index, `prefix is ${JSON.stringify(prefix)}, expected ADDRESS/LENGTH`);
    }
    const max = scannedV6 ? 128 : 32;
    let ml = len;
    if (maxLength !== undefined && maxLength !== null) {
      ml = parseSmallInt(maxLength);
      if (ml < len || ml > max) {
        this.fail(
          kind,
          index,
          `maxLength is ${JSON.stringify(maxLength)}, expected ${len}..${max} for ${prefix}`,
        );
      }
    }
    const a = parseAsn(asn);
    if (a < 0) {
      this.fail(
        kind,
        index,
        asn === undefined
          ? "asn is missing"
          : `asn is ${JSON.stringify(asn)}, expected an AS number 0..${MAX_ASN}`,
      );
    }
    if (scannedHostBits) {
      if (this.#hostBits++ === 0) {
        this.#firstHostBits = `${
          kind === "line" ? `line ${index}` : `${kind}[${index}]`
        } ${prefix}`;
      }
    }
    this.#vrps.add(scannedV6, ADDR, len, ml, a);
  }

  /**
   * Fast path for byte readers: add a VRP whose prefix text is bytes `ps..pe` (`bare` ≥ 0 when
   * the prefix is a bare address of that length), `maxLength` -1 when absent, `asn` already
   * parsed. Returns false, adding nothing, when anything is off: the caller then goes through
   * vrp() with the decoded values, which accepts odd but valid forms and words the error.
   */
  vrpBytes(
    kind: string,
    index: number,
    b: Uint8Array,
    ps: number,
    pe: number,
    bare: number,
    maxLength: number,
    asn: number,
  ): boolean {
    if (asn < 0 || asn > MAX_ASN) return false;
    let v6 = false;
    for (let i = ps; i < pe; i++) {
      if (b[i] === 0x3a) {
        v6 = true;
        break;
      }
    }
    const len = v6 ? scanIpv6Bytes(b, ps, pe, bare) : scanIpv4Bytes(b, ps, pe, bare);
    if (len < 0) return false;
    const max = v6 ? 128 : 32;
    let ml = maxLength;
    if (ml < 0) ml = len;
    else if (ml < len || ml > max) return false;
    if (scannedHostBits && this.#hostBits++ === 0) {
      this.#firstHostBits = `${kind === "line" ? `line ${index}` : `${kind}[${index}]`} ${
        latin1(b, ps, pe)
      }`;
    }
    this.#vrps.add(v6, ADDR, len, ml, asn);
    return true;
  }

  /** Add a router key (SKI any case, key standard or URL-safe base64). */
  routerKey(kind: string, index: number, asn: unknown, ski: unknown, pubkey: unknown): void {
    const a = parseAsn(asn);
    if (a < 0) {
      this.fail(kind, index, `asn is ${JSON.stringify(asn)}, expected an AS number 0..${MAX_ASN}`);
    }
    if (typeof ski !== "string" || !HEX40.test(ski)) {
      this.fail(kind, index, `ski is ${JSON.stringify(ski)}, expected 40 hex digits`);
    }
    if (typeof pubkey !== "string") {
      this.fail(kind, index, `pubkey is ${JSON.stringify(pubkey)}, expected base64 text`);
    }
    let key = pubkey;
    if (!CANONICAL_BASE64.test(key) || key.length === 0) {
      const bytes = fromBase64(key);
      if (!bytes || bytes.length === 0) {
        this.fail(kind, index, `pubkey is not valid base64`);
      }
      key = toBase64(bytes);
    }
    this.#keys.push({ asn: a, ski: ski.toUpperCase(), pubkey: key });
  }

  /** Add an ASPA (merged per customer with any other record of the same customer). */
  aspa(kind: string, index: number, customer: unknown, providers: unknown): void {
    if (customer === undefined) this.fail(kind, index, "customer_asid is missing");
    const c = parseAsn(customer);
    if (c < 0) {
      this.fail(
        kind,
        index,
        `customer is ${JSON.stringify(customer)}, expected an AS number 0..${MAX_ASN}`,
      );
    }
    if (!Array.isArray(providers)) {
      this.fail(
        kind,
        index,
        providers === undefined
          ? "providers is missing"
          : `providers is ${JSON.stringify(providers)}, expected an array of AS numbers`,
      );
    }
    const ps: number[] = new Array(providers.length);
    for (let i = 0; i < providers.length; i++) {
      const p = parseAsn(providers[i]);
      if (p < 0) {
        this.fail(
          kind,
          index,
          `providers[${i}] is ${JSON.stringify(providers[i])}, expected an AS number 0..${MAX_ASN}`,
        );
      }
      ps[i] = p;
    }
    this.#aspas.push({ customer: c, providers: ps });
  }

  /** Add a note for the caller. */
  warn(message: string): void {
    this.warnings.push(`${this.name}: ${message}`);
  }

  /** Build the table; adds warnings for masked host bits and merged duplicates. */
  finish(): PayloadTable {
    const { set, duplicates } = this.#vrps.build();
    if (this.#hostBits > 0) {
      this.warn(
        `${this.#hostBits} prefix(es) had host bits set and were masked (first: ${this.#firstHostBits})`,
      );
    }
    if (duplicates.length > 0) {
      this.warn(`${duplicates.length} duplicate VRP(s) merged`);
    }
    return makeTable(set, this.#keys, this.#aspas);
  }
}
