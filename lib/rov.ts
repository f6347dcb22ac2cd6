/**
 * Route origin validation (RFC 6811 §2, with RFC 6483 §4 / RFC 9319 on AS0) over a packed VrpSet.
 *
 * `RovIndex` builds, once per run, one path-compressed binary trie (Patricia) per address family
 * straight from `VrpSet.data`: no per-VRP objects. Nodes live in typed arrays (key words, length,
 * two child links, and the range of records in the sorted set that carry exactly that prefix:
 * equal prefixes are adjacent in a VrpSet). A walk from the root meets the covering prefixes of a
 * route from the least to the most specific.
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
 * VRPs inside a prefix (`within`, for `show -l` and `validate --more-specifics`) need no trie: the
 * set is sorted by address then length, so they form one contiguous run found by binary search.
 */
import { parseIpv6, topMask } from "./model/prefix.ts";
import { vrpAt, type VrpSet, W } from "./model/vrp_set.ts";
import type { Vrp } from "./model/types.ts";

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
  family: 4 | 6;
  /** Address words; bits beyond `length` are ignored. */
  addr: ArrayLike<number>;
  length: number;
  /** Origin AS (0 … 2^32-1). */
  asn: number;
}

/** The outcome of validating one route; VRPs are record indices into the set (see `vrpAt`). */
export interface RovResult {
  state: RovState;
  /** Set only when `state` is `invalid`. */
  reason: InvalidReason | null;
  /** Covering VRPs that make the route valid. */
  matched: number[];
  /** Covering VRPs with another ASN, or AS0. */
  unmatchedAs: number[];
  /** Covering VRPs with the route's ASN but a maxLength shorter than the route. */
  unmatchedLength: number[];
}

/** Masks with the top b bits set, b = 0…32, as signed 32-bit values. */
const MASK = new Int32Array(33);
for (let b = 0; b <= 32; b++) MASK[b] = topMask(b) | 0;

/**
 * One family's Patricia trie, nodes interleaved in one Int32Array so that a node is one cache
 * line or less: stride 4 for IPv4 (`key, meta, child0, child1`), 8 for IPv6 (`key0…key3, meta,
 * child0, child1, unused`). `meta = length | count << 8` where `count` is the number of records
 * carrying exactly this prefix (0 for a glue node) and `first[n]` the first of them; children are
 * -1 when absent.
 */
class FamilyTrie {
  /** Address words (1 or 4). */
  readonly words: number;
  /** Int32s per node. */
  readonly stride: number;
  nodes: Int32Array;
  first: Int32Array;
  root = -1;
  count = 0;

  constructor(words: number, capacity: number) {
    this.words = words;
    this.stride = words === 1 ? 4 : 8;
    const cap = Math.max(1, capacity);
    this.nodes = new Int32Array(cap * this.stride);
    this.first = new Int32Array(cap);
  }

  /** Bytes held by the node arrays. */
  get byteLength(): number {
    return this.nodes.byteLength + this.first.byteLength;
  }

  #node(d: Uint32Array, off: number, length: number, first: number, count: number): number {
    const n = this.count++;
    const w = this.words, o = n * this.stride, t = this.nodes;
    for (let i = 0; i < w; i++) {
      const bits = length - 32 * i;
      t[o + i] = bits <= 0 ? 0 : d[off + i] & MASK[bits > 32 ? 32 : bits];
    }
    t[o + w] = length | (count << 8);
    t[o + w + 1] = -1;
    t[o + w + 2] = -1;
    this.first[n] = first;
    return n;
  }

  /** Leading bits that node n's key and the address at d[off…] share, at most `limit`. */
  #common(n: number, d: Uint32Array, off: number, limit: number): number {
    const w = this.words, t = this.nodes, o = n * this.stride;
    let c = 0;
    for (let i = 0; i < w && c < limit; i++) {
      const b = Math.clz32(t[o + i] ^ d[off + i]);
      c += b;
      if (b < 32) break;
    }
    return c < limit ? c : limit;
  }

  /** Insert the prefix at d[off…]/length carrying `count` records from record `first`. */
  insert(d: Uint32Array, off: number, length: number, first: number, count: number): void {
    if (count >= 1 << 23) {
      throw new RangeError(`Too many VRPs for one prefix: got ${count}, want below ${1 << 23}`);
    }
    if (this.root < 0) {
      this.root = this.#node(d, off, length, first, count);
      return;
    }
    const t = this.nodes, w = this.words, s = this.stride;
    let parentSlot = -1; // index in `nodes` of the link that points at n, or -1 for the root
    let n = this.root;
    for (;;) {
      const o = n * s;
      const nl = t[o + w] & 255;
      const c = this.#common(n, d, off, nl < length ? nl : length);
      if (c < nl) {
        // The new prefix leaves n's path above n: either it is a prefix of n's key (c === length)
        // and becomes n's parent, or both hang under a new glue node at the first differing bit.
        let top: number;
        if (c === length) {
          top = this.#node(d, off, length, first, count);
          t[top * s + w + 1 + bitOf(t, o, length)] = n;
        } else {
          top = this.#node(d, off, c, 0, 0);
          const leaf = this.#node(d, off, length, first, count);
          t[top * s + w + 1 + bitOf(d, off, c)] = leaf;
          t[top * s + w + 1 + bitOf(t, o, c)] = n;
        }
        if (parentSlot < 0) this.root = top;
        else t[parentSlot] = top;
        return;
      }
      if (nl === length) {
        // Already present (a glue node, or the same prefix given twice): take the records.
        t[o + w] = length | (count << 8);
        this.first[n] = first;
        return;
      }
      const slot = o + w + 1 + bitOf(d, off, nl);
      if (t[slot] < 0) {
        t[slot] = this.#node(d, off, length, first, count);
        return;
      }
      parentSlot = slot;
      n = t[slot];
    }
  }
}

/** Bit `pos` (0 = most significant) of the address at a[off…]. */
function bitOf(a: ArrayLike<number>, off: number, pos: number): number {
  return (a[off + (pos >>> 5)] >>> (31 - (pos & 31))) & 1;
}

/** Scratch space for lookups, so that a lookup allocates nothing. */
const AW = new Uint32Array(4);

/** A prefix trie over a VrpSet, built once, for origin validation and prefix lookups. */
export class RovIndex {
  /** The set the index was built from (record indices refer to it). */
  readonly set: VrpSet;
  readonly #v4: FamilyTrie;
  readonly #v6: FamilyTrie;

  /** Build the index from `set.data` directly (one pass per family, no per-VRP objects). */
  constructor(set: VrpSet) {
    this.set = set;
    const d = set.data, n = set.size, n4 = set.ipv4Count;
    this.#v4 = RovIndex.#build(d, 0, n4, 1);
    this.#v6 = RovIndex.#build(d, n4, n, 4);
  }

  static #build(d: Uint32Array, from: number, to: number, words: number): FamilyTrie {
    // Count distinct prefixes: a Patricia trie has at most 2·distinct - 1 nodes.
    let distinct = 0;
    for (let i = from; i < to; i++) if (i === from || !samePrefix(d, i - 1, i)) distinct++;
    const t = new FamilyTrie(words, 2 * distinct);
    let i = from;
    while (i < to) {
      let j = i + 1;
      while (j < to && samePrefix(d, i, j)) j++;
      t.insert(d, i * W + 1, (d[i * W] >>> 8) & 255, i, j - i);
      i = j;
    }
    return t;
  }

  /** Number of trie nodes (both families). */
  get nodeCount(): number {
    return this.#v4.count + this.#v6.count;
  }

  /** Bytes held by the trie arrays (not counting the set). */
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
      const t = this.#v4, nodes = t.nodes, firsts = t.first;
      const a = addr[0] | 0;
      let n = t.root;
      while (n >= 0) {
        const o = n << 2, meta = nodes[o + 1], nl = meta & 255;
        if (nl > length || ((a ^ nodes[o]) & MASK[nl]) !== 0) break;
        if (meta > 255) {
          covered = true;
          if (asn !== 0) {
            for (let x = firsts[n] * W, xe = x + (meta >>> 8) * W; x < xe; x += W) {
              if (d[x + 5] === asn && length <= (d[x] & 255)) return ROV_VALID;
            }
          }
        }
        if (nl >= length) break;
        n = nodes[o + 2 + ((a >>> (31 - nl)) & 1)];
      }
    } else {
      const a0 = addr[0] | 0, a1 = addr[1] | 0, a2 = addr[2] | 0, a3 = addr[3] | 0;
      const t = this.#v6, nodes = t.nodes, firsts = t.first;
      let n = t.root;
      while (n >= 0) {
        const o = n << 3, meta = nodes[o + 4], nl = meta & 255;
        if (nl > length) break;
        if (nl <= 32) {
          if (((a0 ^ nodes[o]) & MASK[nl]) !== 0) break;
        } else if (nl <= 64) {
          if (a0 !== nodes[o] || ((a1 ^ nodes[o + 1]) & MASK[nl - 32]) !== 0) break;
        } else if (nl <= 96) {
          if (
            a0 !== nodes[o] || a1 !== nodes[o + 1] || ((a2 ^ nodes[o + 2]) & MASK[nl - 64]) !== 0
          ) break;
        } else if (
          a0 !== nodes[o] || a1 !== nodes[o + 1] || a2 !== nodes[o + 2] ||
          ((a3 ^ nodes[o + 3]) & MASK[nl - 96]) !== 0
        ) break;
        if (meta > 255) {
          covered = true;
          if (asn !== 0) {
            for (let x = firsts[n] * W, xe = x + (meta >>> 8) * W; x < xe; x += W) {
              if (d[x + 5] === asn && length <= (d[x] & 255)) return ROV_VALID;
            }
          }
        }
        if (nl >= length) break;
        const w = nl < 32 ? a0 : nl < 64 ? a1 : nl < 96 ? a2 : a3;
        n = nodes[o + 5 + ((w >>> (31 - (nl & 31))) & 1)];
      }
    }
    return covered ? ROV_INVALID : ROV_NOT_FOUND;
  }

  /** Validate a route and say which covering VRPs decided it (RFC 6811 §2). */
  validate(route: Route): RovResult {
    const d = this.set.data, asn = route.asn, length = route.length;
    const matched: number[] = [], unmatchedAs: number[] = [], unmatchedLength: number[] = [];
    this.#eachCovering(route.family, route.addr, length, (f, e) => {
      for (let i = f; i < e; i++) {
        const x = i * W, vAsn = d[x + 5];
        if (vAsn !== asn || vAsn === 0) unmatchedAs.push(i);
        else if (length > (d[x] & 255)) unmatchedLength.push(i);
        else matched.push(i);
      }
    });
    let state: RovState, reason: InvalidReason | null = null;
    if (matched.length > 0) state = "valid";
    else if (unmatchedAs.length + unmatchedLength.length === 0) state = "not-found";
    else {
      state = "invalid";
      reason = unmatchedLength.length === 0
        ? "as"
        : unmatchedAs.length === 0
        ? "length"
        : "as-and-length";
    }
    return { state, reason, matched, unmatchedAs, unmatchedLength };
  }

  /** Record indices of every VRP covering the prefix, least specific first. */
  covering(family: 4 | 6, addr: ArrayLike<number>, length: number): number[] {
    const out: number[] = [];
    this.#eachCovering(family, addr, length, (f, e) => {
      for (let i = f; i < e; i++) out.push(i);
    });
    return out;
  }

  /** Call `visit(first, end)` for each covering prefix's record range, least specific first. */
  #eachCovering(
    family: 4 | 6,
    addr: ArrayLike<number>,
    length: number,
    visit: (first: number, end: number) => void,
  ): void {
    const t = family === 4 ? this.#v4 : this.#v6;
    const w = t.words, s = t.stride, nodes = t.nodes;
    const a = AW;
    for (let i = 0; i < 4; i++) a[i] = i < w ? addr[i] : 0;
    let n = t.root;
    while (n >= 0) {
      const o = n * s, meta = nodes[o + w], nl = meta & 255;
      if (nl > length) break;
      let ok = true;
      for (let i = 0; i < w && ok; i++) {
        const bits = nl - 32 * i;
        if (bits <= 0) break;
        ok = ((a[i] ^ nodes[o + i]) & MASK[bits > 32 ? 32 : bits]) === 0;
      }
      if (!ok) break;
      if (meta > 255) visit(t.first[n], t.first[n] + (meta >>> 8));
      if (nl >= length) break;
      n = nodes[o + w + 1 + bitOf(a, 0, nl)];
    }
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

/** Parse a dotted quad quickly; -1 when malformed. */
function parseIpv4Fast(s: string): number {
  let w = 0, part = 0, digits = 0, dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      w = w * 256 + part;
      part = 0;
      digits = 0;
    } else {
      const v = c - 48;
      if (v < 0 || v > 9 || ++digits > 3) return -1;
      part = part * 10 + v;
      if (part > 255) return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return (w * 256 + part) >>> 0;
}

/**
 * Parse one route line: `PREFIX ASN` (`192.0.2.0/24 AS64496`, `2001:db8::/32 64496`) or RTRlib
 * `rpki-rov`'s `IP MASKLEN ASN`; fields separated by spaces or tabs. Host bits are masked. Returns
 * the route, or a message saying what is wrong.
 */
export function parseRouteLine(line: string): ParsedRoute | string {
  const f = line.trim().split(/[ \t]+/);
  let addrText: string, lenText: string, asnText: string;
  if (f.length === 2) {
    const slash = f[0].indexOf("/");
    if (slash < 0) return `expected PREFIX ASN or IP MASKLEN ASN, got ${JSON.stringify(line)}`;
    addrText = f[0].slice(0, slash);
    lenText = f[0].slice(slash + 1);
    asnText = f[1];
  } else if (f.length === 3 && !f[0].includes("/")) {
    [addrText, lenText, asnText] = f;
  } else {
    return `expected PREFIX ASN or IP MASKLEN ASN, got ${JSON.stringify(line)}`;
  }
  const asn = parseAsnText(asnText);
  if (asn < 0) return `invalid AS number ${JSON.stringify(asnText)}, expected 0 to 4294967295`;
  let family: 4 | 6, addr: number[];
  const v4 = parseIpv4Fast(addrText);
  if (v4 >= 0) {
    family = 4;
    addr = [v4];
  } else {
    const v6 = addrText.includes(":") ? parseIpv6(addrText) : null;
    if (!v6) return `invalid IP address ${JSON.stringify(addrText)}`;
    family = 6;
    addr = v6;
  }
  const max = family === 4 ? 32 : 128;
  const length = /^\d{1,3}$/.test(lenText) ? Number(lenText) : -1;
  if (length < 0 || length > max) {
    return `invalid prefix length ${JSON.stringify(lenText)}, expected 0 to ${max}`;
  }
  for (let i = 0; i < addr.length; i++) {
    const bits = length - 32 * i;
    addr[i] = bits <= 0 ? 0 : (addr[i] & topMask(bits)) >>> 0;
  }
  return { family, addr, length, asn, addrText };
}
