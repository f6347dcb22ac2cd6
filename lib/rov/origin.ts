/**
 * Route origin validation (RFC 6811 §2, with RFC 6483 §4 / RFC 9319 on AS0) over a packed VrpSet.
 *
 * `RovIndex` is built once per run straight from `VrpSet.data` (no per-VRP objects): per address
 * family, the distinct VRP prefixes in sort order, each linked to its nearest covering prefix —
 * the prefix tree (a trie without its glue nodes) stored as parent links in one Int32Array (16
 * bytes a prefix for IPv4, 32 for IPv6), plus a first-stride table over the leading address bits
 * that narrows every search to a few neighbouring prefixes. About 16 MB and 0.1 s for 800k VRPs.
 *
 * Lookup of a route R: the sort order (address, then length) is a preorder walk of the tree, so
 * the last prefix q that sorts at or before R lies under R's deepest covering prefix P (or is P);
 * walking up from q meets P, and from P upwards every prefix covers R. That is one short binary
 * search inside a first-stride slot plus a walk of a few parent links, each touching one cache
 * line: a deep pointer trie costs a cache miss per level instead.
 *
 * Definitions used by `validate` (README "rtr validate" says the same):
 * - covering VRP: its prefix contains the route prefix (VRP length ≤ route length, equal leading bits);
 * - matched: covering, VRP ASN equal to the route's origin, the ASN is not 0, and the route length
 *   ≤ the VRP's maxLength;
 * - `valid` if any VRP matched; `invalid` if some VRP covers the route and none matched;
 *   `not-found` if no VRP covers it;
 * - unmatchedAs: covering VRPs with another ASN, and every AS0 VRP (AS0 never matches, even a
 *   route with origin 0); unmatchedLength: covering VRPs with the route's (non-zero) ASN whose
 *   maxLength is shorter than the route;
 * - reason of an invalid route: `as` when only unmatchedAs is non-empty, `length` when only
 *   unmatchedLength is, `as-and-length` when both are.
 *
 * VRPs inside a prefix (`within`, for `show -l` and `validate --more-specifics`) form one
 * contiguous run of the sorted set, found by binary search.
 */
import { quoteText } from "../errors.ts";
import { parseIpv4, parseIpv6, topMask } from "../model/prefix.ts";
import { vrpAt, type VrpSet, W } from "../model/vrp_set.ts";
import type { Vrp } from "../model/types.ts";

/** Validation state (RFC 6811 §2). */
export type RovState = "valid" | "invalid" | "not-found";

/** Why a route is invalid (see the module comment). */
export type InvalidReason = "as" | "length" | "as-and-length";

/** State codes as RTRlib's `rpki-rov` prints them. */
export const ROV_VALID = 0;
/** RTRlib code for not found. */
export const ROV_NOT_FOUND = 1;
/** RTRlib code for invalid. */
export const ROV_INVALID = 2;

/** A route to validate: prefix as address words (1 for IPv4, 4 for IPv6), length and origin. */
export interface Route {
  /** IP version of the prefix. */
  family: 4 | 6;
  /** Address words; bits beyond `length` are ignored. */
  addr: ArrayLike<number>;
  /** Prefix length in bits. */
  length: number;
  /** Origin AS (0 … 2^32-1). */
  asn: number;
}

/** The outcome of validating one route; VRPs are record indices into the set (see `vrpAt`). */
export interface RovResult {
  /** Validation state (RFC 6811 §2). */
  state: RovState;
  /** Set only when `state` is `invalid`. */
  reason: InvalidReason | null;
  /** Covering VRPs that make the route valid. */
  readonly matched: readonly number[];
  /** Covering VRPs with another ASN, or AS0. */
  readonly unmatchedAs: readonly number[];
  /** Covering VRPs with the route's ASN but a maxLength shorter than the route. */
  readonly unmatchedLength: readonly number[];
}

/** The shared empty list of a RovResult. */
const NONE: readonly number[] = Object.freeze([]);

/** Masks with the top b bits set, b = 0…32, as signed 32-bit values. */
const MASK = new Int32Array(33);
for (let b = 0; b <= 32; b++) MASK[b] = topMask(b) | 0;

/** Largest first-stride table: 2^20 slots (4 MB). */
const MAX_SLOT_BITS = 20;

/**
 * One family's prefix tree. Prefix k (in sort order) at `p[k*stride …]`: address words (1 or 4),
 * `meta = length | count << 8` (`count` records carry exactly this prefix, from record
 * `first`), `first`, and `parent` (the nearest covering prefix, -1 for a root). Stride 4 for IPv4,
 * 8 for IPv6. `slot[s]` is the first prefix whose leading word maps to slot ≥ s (see `#slotOf`).
 */
class FamilyIndex {
  /** Address words (1 or 4). */
  readonly words: number;
  /** Int32s per prefix. */
  readonly stride: number;
  readonly p: Int32Array;
  readonly count: number;
  readonly slot: Int32Array;
  readonly base: number;
  readonly shift: number;
  readonly slots: number;

  constructor(d: Uint32Array, from: number, to: number, words: number) {
    this.words = words;
    const stride = this.stride = words === 1 ? 4 : 8;
    let distinct = 0;
    for (let i = from; i < to; i++) if (i === from || !samePrefix(d, i - 1, i)) distinct++;
    this.count = distinct;
    const p = this.p = new Int32Array(Math.max(1, distinct) * stride);
    // Sorted order is a preorder walk of the tree: a stack of open ancestors gives each prefix
    // its parent in one pass.
    const stack = new Int32Array(130);
    let depth = 0, k = -1;
    for (let i = from; i < to; i++) {
      const x = i * W, len = (d[x] >>> 8) & 255;
      if (k >= 0 && samePrefix(d, i - 1, i)) {
        p[k * stride + words] += 256;
        continue;
      }
      k++;
      const o = k * stride;
      for (let w = 0; w < words; w++) p[o + w] = d[x + 1 + w];
      while (depth > 0 && !coversAt(p, stack[depth - 1] * stride, words, p, o, len)) depth--;
      p[o + words] = len | 256;
      p[o + words + 1] = i;
      p[o + words + 2] = depth > 0 ? stack[depth - 1] : -1;
      stack[depth++] = k;
    }
    // First stride: slots over [base, last leading word], at most 2^20 of them.
    const bits = Math.min(MAX_SLOT_BITS, Math.max(1, Math.ceil(Math.log2(distinct + 1))));
    this.slots = 1 << bits;
    this.base = distinct > 0 ? p[0] >>> 0 : 0;
    const span = distinct > 0 ? ((p[(distinct - 1) * stride] >>> 0) - this.base) : 0;
    let shift = 0;
    while (shift < 31 && span / 2 ** shift >= this.slots) shift++;
    this.shift = shift;
    const slot = this.slot = new Int32Array(this.slots + 1);
    let j = 0;
    for (let sIdx = 0; sIdx <= this.slots; sIdx++) {
      while (j < distinct && this.slotOf(p[j * stride]) < sIdx) j++;
      slot[sIdx] = j;
    }
  }

  /** Slot of a leading address word: monotonic in the word, clamped to the table. */
  slotOf(w0: number): number {
    const u = w0 >>> 0;
    if (u < this.base) return 0;
    const s = (u - this.base) >>> this.shift;
    return s < this.slots ? s : this.slots - 1;
  }

  /** Bytes held by the arrays. */
  get byteLength(): number {
    return this.p.byteLength + this.slot.byteLength;
  }

  /** `lastAtOrBefore` for IPv4 (one word, stride 4; `a` masked), the per-route fast path. */
  lastAtOrBefore4(a: number, length: number): number {
    const p = this.p, u = a >>> 0, sIdx = this.slotOf(a);
    let lo = this.slot[sIdx], hi = this.slot[sIdx + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1, o = mid << 2, k = p[o] >>> 0;
      if (k < u || (k === u && (p[o + 1] & 255) <= length)) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Index of the last prefix sorting at or before (a, length) (a masked), or -1. */
  lastAtOrBefore(a: Uint32Array, length: number): number {
    const p = this.p, stride = this.stride, words = this.words;
    const sIdx = this.slotOf(a[0]);
    let lo = this.slot[sIdx], hi = this.slot[sIdx + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1, o = mid * stride;
      let c = 0;
      for (let w = 0; w < words && c === 0; w++) {
        const k = p[o + w] >>> 0;
        if (k !== a[w]) c = k < a[w] ? -1 : 1;
      }
      if (c < 0 || (c === 0 && (p[o + words] & 255) <= length)) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}

/** True when the prefix at p[o…] (length from its meta) covers (q[oq…], length). */
function coversAt(
  p: Int32Array,
  o: number,
  words: number,
  q: ArrayLike<number>,
  oq: number,
  length: number,
): boolean {
  const pl = p[o + words] & 255;
  if (pl > length) return false;
  for (let w = 0; w < words; w++) {
    const bits = pl - 32 * w;
    if (bits <= 0) break;
    if (((p[o + w] ^ q[oq + w]) & MASK[bits > 32 ? 32 : bits]) !== 0) return false;
  }
  return true;
}

/** Scratch space for lookups, so that a lookup allocates nothing. */
const AW = new Uint32Array(4);
const CHAIN = new Int32Array(130);

/** A prefix index over a VrpSet, built once, for origin validation and prefix lookups. */
export class RovIndex {
  /** The set the index was built from (record indices refer to it). */
  readonly set: VrpSet;
  readonly #v4: FamilyIndex;
  readonly #v6: FamilyIndex;

  /** Build the index from `set.data` directly (one pass per family, no per-VRP objects). */
  constructor(set: VrpSet) {
    this.set = set;
    const d = set.data, n = set.size, n4 = set.ipv4Count;
    this.#v4 = new FamilyIndex(d, 0, n4, 1);
    this.#v6 = new FamilyIndex(d, n4, n, 4);
  }

  /** Number of distinct VRP prefixes (both families). */
  get prefixCount(): number {
    return this.#v4.count + this.#v6.count;
  }

  /** Bytes held by the index arrays (not counting the set). */
  get byteLength(): number {
    return this.#v4.byteLength + this.#v6.byteLength;
  }

  /**
   * The RTRlib state code of a route (0 valid, 1 not found, 2 invalid), allocating nothing: the
   * fast path for batches.
   */
  stateCode(family: 4 | 6, addr: ArrayLike<number>, length: number, asn: number): number {
    const d = this.set.data;
    let covered = false;
    if (family === 4) {
      const t = this.#v4, p = t.p;
      if (t.count === 0) return ROV_NOT_FOUND;
      const a = addr[0] & MASK[length];
      let q = t.lastAtOrBefore4(a, length);
      while (q >= 0) {
        const o = q << 2, meta = p[o + 1], ql = meta & 255;
        if (!covered) covered = ql <= length && ((a ^ p[o]) & MASK[ql]) === 0;
        if (covered && asn !== 0) {
          for (let x = p[o + 2] * W, xe = x + (meta >>> 8) * W; x < xe; x += W) {
            if (d[x + 5] === asn && length <= (d[x] & 255)) return ROV_VALID;
          }
        }
        q = p[o + 3];
      }
    } else {
      const t = this.#v6, p = t.p;
      if (t.count === 0) return ROV_NOT_FOUND;
      const a = maskInto(AW, addr, 4, length);
      let q = t.lastAtOrBefore(a, length);
      while (q >= 0) {
        const o = q << 3, meta = p[o + 4];
        if (!covered) covered = coversAt(p, o, 4, a, 0, length);
        if (covered && asn !== 0) {
          for (let x = p[o + 5] * W, xe = x + (meta >>> 8) * W; x < xe; x += W) {
            if (d[x + 5] === asn && length <= (d[x] & 255)) return ROV_VALID;
          }
        }
        q = p[o + 6];
      }
    }
    return covered ? ROV_INVALID : ROV_NOT_FOUND;
  }

  /** Validate a route and say which covering VRPs decided it (RFC 6811 §2). */
  validate(route: Route): RovResult {
    const d = this.set.data, asn = route.asn, length = route.length;
    // Lists are made only when something goes in them (most routes fill one or two).
    let matched: number[] | null = null, unmatchedAs: number[] | null = null;
    let unmatchedLength: number[] | null = null;
    const t = route.family === 4 ? this.#v4 : this.#v6, p = t.p;
    const words = t.words, stride = t.stride;
    const n = this.#chain(route.family, route.addr, length);
    for (let c = n - 1; c >= 0; c--) {
      const o = CHAIN[c] * stride, f = p[o + words + 1], e = f + (p[o + words] >>> 8);
      for (let i = f; i < e; i++) {
        const x = i * W, vAsn = d[x + 5];
        if (vAsn !== asn || vAsn === 0) (unmatchedAs ??= []).push(i);
        else if (length > (d[x] & 255)) (unmatchedLength ??= []).push(i);
        else (matched ??= []).push(i);
      }
    }
    let state: RovState, reason: InvalidReason | null = null;
    if (matched) state = "valid";
    else if (!unmatchedAs && !unmatchedLength) state = "not-found";
    else {
      state = "invalid";
      reason = !unmatchedLength ? "as" : !unmatchedAs ? "length" : "as-and-length";
    }
    return {
      state,
      reason,
      matched: matched ?? NONE,
      unmatchedAs: unmatchedAs ?? NONE,
      unmatchedLength: unmatchedLength ?? NONE,
    };
  }

  /** Record indices of every VRP covering the prefix, least specific first. */
  covering(family: 4 | 6, addr: ArrayLike<number>, length: number): number[] {
    const out: number[] = [];
    const t = family === 4 ? this.#v4 : this.#v6, p = t.p;
    const words = t.words, stride = t.stride;
    const n = this.#chain(family, addr, length);
    for (let c = n - 1; c >= 0; c--) {
      const o = CHAIN[c] * stride, f = p[o + words + 1], e = f + (p[o + words] >>> 8);
      for (let i = f; i < e; i++) out.push(i);
    }
    return out;
  }

  /**
   * Fill CHAIN[0…n) with the covering prefixes of (addr, length), most specific first; returns
   * n. Allocates nothing: this runs once per route of a batch.
   */
  #chain(family: 4 | 6, addr: ArrayLike<number>, length: number): number {
    let n = 0;
    if (family === 4) {
      // IPv4: one word, stride 4.
      const t = this.#v4, p = t.p;
      if (t.count === 0) return 0;
      const a = addr[0] & MASK[length];
      // Skip the prefixes under R's deepest covering prefix; from there up, all cover R.
      let q = t.lastAtOrBefore4(a, length);
      while (q >= 0) {
        const o = q << 2, ql = p[o + 1] & 255;
        if (ql <= length && ((a ^ p[o]) & MASK[ql]) === 0) break;
        q = p[o + 3];
      }
      for (; q >= 0; q = p[(q << 2) + 3]) CHAIN[n++] = q;
      return n;
    }
    const t = this.#v6, words = t.words, stride = t.stride, p = t.p;
    if (t.count > 0) {
      const a = maskInto(AW, addr, words, length);
      let q = t.lastAtOrBefore(a, length);
      while (q >= 0 && !coversAt(p, q * stride, words, a, 0, length)) {
        q = p[q * stride + words + 2];
      }
      for (; q >= 0; q = p[q * stride + words + 2]) CHAIN[n++] = q;
    }
    return n;
  }

  /** VRPs inside a prefix: see `vrpsWithin`. */
  within(
    family: 4 | 6,
    addr: ArrayLike<number>,
    length: number,
    orMoreSpecific: boolean,
  ): [number, number] {
    return vrpsWithin(this.set, family, addr, length, orMoreSpecific);
  }

  /** The VRP at record index `i`. */
  vrp(i: number): Vrp {
    return vrpAt(this.set.data, i);
  }
}

/** Copy `words` address words into `out`, masked to `length` (the rest zero). */
function maskInto(
  out: Uint32Array,
  addr: ArrayLike<number>,
  words: number,
  length: number,
): Uint32Array {
  for (let w = 0; w < 4; w++) {
    const bits = length - 32 * w;
    out[w] = w >= words || bits <= 0 ? 0 : addr[w] & MASK[bits > 32 ? 32 : bits];
  }
  return out;
}

/**
 * The record range [first, end) of VRPs inside the prefix: exactly it and more specific
 * (`orMoreSpecific`), or only exactly it. Needs no trie: such VRPs are adjacent in sort order.
 */
export function vrpsWithin(
  set: VrpSet,
  family: 4 | 6,
  addr: ArrayLike<number>,
  length: number,
  orMoreSpecific: boolean,
): [number, number] {
  const d = set.data;
  const n4 = set.ipv4Count;
  const lo0 = family === 4 ? 0 : n4, hi0 = family === 4 ? n4 : set.size;
  const words = family === 4 ? 1 : 4;
  const start = new Uint32Array(4), last = new Uint32Array(4);
  for (let i = 0; i < words; i++) {
    const bits = length - 32 * i;
    const m = bits <= 0 ? 0 : topMask(bits);
    start[i] = (addr[i] & m) >>> 0;
    last[i] = (start[i] | ~m) >>> 0;
  }
  // First record with (address, length) ≥ (start, length).
  let lo = lo0, hi = hi0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmpAddrLen(d, mid, start, length) < 0) lo = mid + 1;
    else hi = mid;
  }
  const first = lo;
  if (!orMoreSpecific) {
    // Records with exactly (start, length).
    hi = hi0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmpAddrLen(d, mid, start, length) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return [first, lo];
  }
  // Last record whose address is ≤ the prefix's last address.
  hi = hi0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmpAddrLen(d, mid, last, 255) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return [first, lo];
}

/** True when records i and j carry the same prefix (family, address, length). */
function samePrefix(d: Uint32Array, i: number, j: number): boolean {
  const x = i * W, y = j * W;
  return (d[x] >>> 8) === (d[y] >>> 8) && d[x + 1] === d[y + 1] && d[x + 2] === d[y + 2] &&
    d[x + 3] === d[y + 3] && d[x + 4] === d[y + 4];
}

/** Compare record i's (address, length) with (addr, length). */
function cmpAddrLen(d: Uint32Array, i: number, addr: Uint32Array, length: number): number {
  const x = i * W;
  for (let k = 0; k < 4; k++) {
    const v = d[x + 1 + k];
    if (v !== addr[k]) return v < addr[k] ? -1 : 1;
  }
  return ((d[x] >>> 8) & 255) - length;
}

/** A route read from text, with the address as written (RTRlib's answers echo it). */
export interface ParsedRoute extends Route {
  /** The address text as given (before any `/`). */
  addrText: string;
}

/** Parse an AS number written `64496`, `AS64496` or `as64496`; -1 when malformed. */
export function parseAsnText(s: string): number {
  let i = 0;
  const n = s.length;
  if (n >= 2 && (s.charCodeAt(0) | 0x20) === 0x61 && (s.charCodeAt(1) | 0x20) === 0x73) i = 2;
  if (n - i < 1 || n - i > 10) return -1;
  let x = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x <= 0xffffffff ? x : -1;
}

/** A prefix length of one to three decimal digits; -1 when malformed. */
function parseLength(s: string): number {
  if (s.length < 1 || s.length > 3) return -1;
  let x = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/**
 * Parse one route line: `PREFIX ASN` (`192.0.2.0/24 AS64496`, `2001:db8::/32 64496`) or RTRlib
 * `rpki-rov`'s `IP MASKLEN ASN`; fields separated by spaces or tabs. Host bits are masked. Returns
 * the route, or a message saying what is wrong.
 */
export function parseRouteLine(line: string): ParsedRoute | string {
  // Split on spaces and tabs by hand: this runs once per input line.
  const f: string[] = [];
  for (let i = 0, n = line.length; i < n;) {
    while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
    if (f.length === 3) return `expected PREFIX ASN or IP MASKLEN ASN, got ${quoteText(line)}`;
    f.push(line.slice(start, i));
  }
  let addrText: string, lenText: string, asnText: string;
  if (f.length === 2) {
    const slash = f[0].indexOf("/");
    if (slash < 0) return `expected PREFIX ASN or IP MASKLEN ASN, got ${quoteText(line)}`;
    addrText = f[0].slice(0, slash);
    lenText = f[0].slice(slash + 1);
    asnText = f[1];
  } else if (f.length === 3 && !f[0].includes("/")) {
    [addrText, lenText, asnText] = f;
  } else {
    return `expected PREFIX ASN or IP MASKLEN ASN, got ${quoteText(line)}`;
  }
  const asn = parseAsnText(asnText);
  if (asn < 0) return `invalid AS number ${quoteText(asnText)}, expected 0 to 4294967295`;
  let family: 4 | 6, addr: number[];
  const v4 = parseIpv4(addrText);
  if (v4 !== null) {
    family = 4;
    addr = [v4];
  } else {
    const v6 = addrText.includes(":") ? parseIpv6(addrText) : null;
    if (!v6) return `invalid IP address ${quoteText(addrText)}`;
    family = 6;
    addr = v6;
  }
  const max = family === 4 ? 32 : 128;
  const length = parseLength(lenText);
  if (length < 0 || length > max) {
    return `invalid prefix length ${quoteText(lenText)}, expected 0 to ${max}`;
  }
  for (let i = 0; i < addr.length; i++) {
    const bits = length - 32 * i;
    addr[i] = bits <= 0 ? 0 : (addr[i] & topMask(bits)) >>> 0;
  }
  return { family, addr, length, asn, addrText };
}
