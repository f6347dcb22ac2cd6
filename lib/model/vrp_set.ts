/**
 * A compact, sorted set of VRPs: six 32-bit words per record in one Uint32Array
 * (`meta = v6 << 16 | prefixLength << 8 | maxLength`, four address words, ASN), about 24 bytes a
 * VRP instead of several hundred for objects and string keys. Sorted order (IPv4 first, then
 * address, prefix length, maxLength, ASN) makes membership a binary search, duplicates adjacent
 * and diffs a linear merge.
 */
import { InputError } from "../errors.ts";
import { formatIpv4, formatIpv6, parsePrefix } from "./prefix.ts";
import type { Vrp } from "./types.ts";

/** Words per packed record. */
export const W = 6;

/** Compare record `i` of `a` with record `j` of `b` (indices in records). */
function cmpRec(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  const x = i * W, y = j * W;
  const fa = a[x] >>> 16, fb = b[y] >>> 16;
  if (fa !== fb) return fa - fb;
  for (let k = 1; k <= 4; k++) {
    if (a[x + k] !== b[y + k]) return a[x + k] < b[y + k] ? -1 : 1;
  }
  const pa = (a[x] >>> 8) & 255, pb = (b[y] >>> 8) & 255;
  if (pa !== pb) return pa - pb;
  const ma = a[x] & 255, mb = b[y] & 255;
  if (ma !== mb) return ma - mb;
  return a[x + 5] === b[y + 5] ? 0 : a[x + 5] < b[y + 5] ? -1 : 1;
}

/** Decode packed record `i` to a Vrp value. */
export function vrpAt(d: Uint32Array, i: number): Vrp {
  const x = i * W;
  const meta = d[x];
  let addr: string;
  if (meta >>> 16 === 1) {
    const a = SCRATCH;
    a[0] = d[x + 1];
    a[1] = d[x + 2];
    a[2] = d[x + 3];
    a[3] = d[x + 4];
    addr = formatIpv6(a);
  } else {
    addr = formatIpv4(d[x + 1]);
  }
  return { prefix: `${addr}/${(meta >>> 8) & 255}`, maxLength: meta & 255, asn: d[x + 5] };
}

/** Scratch address words for vrpAt (no view per record). */
const SCRATCH = [0, 0, 0, 0];

/** Accumulates VRPs in any order; `build()` sorts them into a VrpSet. */
export class VrpSetBuilder {
  #d: Uint32Array;
  #n = 0;
  constructor(capacity = 1024) {
    this.#d = new Uint32Array(Math.max(16, capacity) * W);
  }

  /** Records added so far. */
  get length(): number {
    return this.#n;
  }

  /** Add a record from address words (host bits already masked). */
  add(v6: boolean, addr: ArrayLike<number>, prefixLength: number, maxLength: number, asn: number) {
    if (v6) this.addWords(true, addr[0], addr[1], addr[2], addr[3], prefixLength, maxLength, asn);
    else this.addWords(false, addr[0], 0, 0, 0, prefixLength, maxLength, asn);
  }

  /** Add a record from four address words (IPv4: a1..a3 are 0), with no array in between. */
  addWords(
    v6: boolean,
    a0: number,
    a1: number,
    a2: number,
    a3: number,
    prefixLength: number,
    maxLength: number,
    asn: number,
  ): void {
    if ((this.#n + 1) * W > this.#d.length) {
      // transfer() moves the memory (a realloc) and detaches the old array: no 2nd copy is left
      // behind for a later full GC (at 800k VRPs that was 12.6 MB of dead weight during sync).
      this.#d = resize(this.#d, this.#d.byteLength * 2);
    }
    const d = this.#d, x = this.#n * W;
    d[x] = (v6 ? 0x10000 : 0) | (prefixLength << 8) | maxLength;
    d[x + 1] = a0;
    d[x + 2] = a1;
    d[x + 3] = a2;
    d[x + 4] = a3;
    d[x + 5] = asn;
    this.#n++;
  }

  /**
   * Add a Vrp value (its prefix text is parsed and canonicalised). Throws InputError for a bad
   * prefix, a maxLength outside prefix length..32/128 or an ASN outside 0..2^32-1, which would
   * otherwise corrupt the packed record.
   */
  addVrp(v: Vrp): void {
    const p = parsePrefix(v.prefix);
    const max = p.family === 4 ? 32 : 128;
    if (!Number.isInteger(v.maxLength) || v.maxLength < p.length || v.maxLength > max) {
      throw new InputError(
        `Invalid maxLength ${v.maxLength} for ${v.prefix}, expected ${p.length} to ${max}`,
      );
    }
    if (!Number.isInteger(v.asn) || v.asn < 0 || v.asn > 0xffffffff) {
      throw new InputError(`Invalid ASN ${v.asn} for ${v.prefix}, expected 0 to 4294967295`);
    }
    this.add(p.family === 6, p.addr, p.length, v.maxLength, v.asn);
  }

  /**
   * Sort and build the set. Duplicates are dropped and returned (in canonical form), so that a
   * caller that must reject them (a Reset response, RFC 8210 error 7) can.
   */
  build(): { set: VrpSet; duplicates: Vrp[] } {
    const n = this.#n;
    // Give back the spare capacity first (shrinks in place), then sort.
    const d = resize(this.#d, n * W * 4);
    this.#d = new Uint32Array(16 * W);
    this.#n = 0;
    // Already sorted (a v2 cache sends its own order, files are often sorted): skip the sort.
    let sorted = true;
    for (let i = 1; i < n; i++) {
      if (cmpRec(d, i - 1, d, i) > 0) {
        sorted = false;
        break;
      }
    }
    // The records are ours now: sort into a fresh array or keep `d`, then compact in place.
    let src = d;
    if (!sorted) {
      const order = sortOrder(d, n);
      src = gather(d, order, n);
      // Free the unsorted records and the order now, not at some later full GC.
      resize(order, 0);
      resize(d, 0);
    }
    const duplicates: Vrp[] = [];
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (i > 0 && cmpRec(src, i - 1, src, i) === 0) {
        duplicates.push(vrpAt(src, i));
        continue;
      }
      if (m !== i) copyRec(src, i, src, m);
      m++;
    }
    const out = src.length === m * W ? src : resize(src, m * W * 4);
    return { set: new VrpSet(out), duplicates };
  }
}

/**
 * Move an array's memory into a new array of `bytes` bytes (a realloc: grows or shrinks in place
 * where it can) and detach the old one, so that its memory is released now rather than at some
 * later full GC. `bytes` 0 just frees it. The array must span its whole buffer.
 */
function resize(a: Uint32Array, bytes: number): Uint32Array {
  return new Uint32Array((a.buffer as ArrayBuffer).transfer(bytes));
}

/** Copy record `i` of `from` to record `j` of `to`. */
function copyRec(from: Uint32Array, i: number, to: Uint32Array, j: number): void {
  const x = i * W, y = j * W;
  to[y] = from[x];
  to[y + 1] = from[x + 1];
  to[y + 2] = from[x + 2];
  to[y + 3] = from[x + 3];
  to[y + 4] = from[x + 4];
  to[y + 5] = from[x + 5];
}

/** The first `n` records of `d` in the order `idx`. */
function gather(d: Uint32Array, idx: Uint32Array, n: number): Uint32Array {
  const out = new Uint32Array(n * W);
  for (let i = 0; i < n; i++) copyRec(d, idx[i], out, i);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Sort order of the first `n` records of `d` (cmpRec order). A comparator sort of 800k records
 * costs over a second in V8, so the records are first sorted natively as 64-bit keys (a
 * BigUint64Array, written through a Uint32Array view: no BigInt is made) that pack the leading
 * sort fields above the record index: the family, then for IPv4 the address and prefix length,
 * for IPv6 the top address bits. Only runs with equal leading fields are then sorted by the full
 * comparison. (V8 sorts a BigUint64Array about 4× faster than a Float64Array.)
 */
function sortOrder(d: Uint32Array, n: number): Uint32Array {
  let b = 1;
  while (2 ** b < n) b++;
  const idx = new Uint32Array(n);
  const cmp = (a: number, c: number) => cmpRec(d, a, d, c);
  if (!LITTLE_ENDIAN || b > 25) {
    for (let i = 0; i < n; i++) idx[i] = i;
    return idx.sort(cmp);
  }
  const keys = new BigUint64Array(n);
  const k32 = new Uint32Array(keys.buffer); // little-endian: [2i] low word, [2i + 1] high word
  for (let i = 0, x = 0; i < n; i++, x += W) {
    const meta = d[x], a0 = d[x + 1];
    if (meta >>> 16 === 0) {
      // 0 | address (32 bits) | prefix length (6 bits) | 0… | index (b bits)
      k32[2 * i + 1] = a0 >>> 1;
      k32[2 * i] = ((a0 & 1) << 31 | ((meta >>> 8) & 63) << 25 | i) >>> 0;
    } else {
      // 1 | top 63 - b bits of the address | index (b bits)
      k32[2 * i + 1] = (0x80000000 | a0 >>> 1) >>> 0;
      k32[2 * i] = ((a0 & 1) << 31 | (d[x + 2] >>> (b + 1)) << b | i) >>> 0;
    }
  }
  keys.sort();
  const mask = 2 ** b - 1;
  for (let i = 0; i < n; i++) idx[i] = k32[2 * i] & mask;
  for (let i = 0; i < n;) {
    const hi = k32[2 * i + 1], lo = k32[2 * i] >>> b;
    let j = i + 1;
    while (j < n && k32[2 * j + 1] === hi && k32[2 * j] >>> b === lo) j++;
    if (j - i > 8) {
      idx.subarray(i, j).sort(cmp);
    } else {
      for (let k = i + 1; k < j; k++) {
        const r = idx[k];
        let m = k - 1;
        while (m >= i && cmpRec(d, idx[m], d, r) > 0) {
          idx[m + 1] = idx[m];
          m--;
        }
        idx[m + 1] = r;
      }
    }
    i = j;
  }
  (keys.buffer as ArrayBuffer).transfer(0); // 6.4 MB at 800k, freed now
  return idx;
}

/** An immutable, sorted set of VRPs. */
export class VrpSet {
  /** Packed records, sorted, unique. */
  readonly data: Uint32Array;
  /** Wrap packed records, which must already be sorted and unique (not checked). */
  constructor(data: Uint32Array = new Uint32Array(0)) {
    this.data = data;
  }

  /** Build a set from Vrp values; duplicates are silently merged. */
  static from(vrps: Iterable<Vrp>): VrpSet {
    const b = new VrpSetBuilder();
    for (const v of vrps) b.addVrp(v);
    return b.build().set;
  }

  /** Number of VRPs. */
  get size(): number {
    return this.data.length / W;
  }

  /** Number of IPv4 VRPs (they sort first). */
  get ipv4Count(): number {
    const d = this.data;
    let lo = 0, hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (d[mid * W] >>> 16 === 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Number of IPv6 VRPs. */
  get ipv6Count(): number {
    return this.size - this.ipv4Count;
  }

  /** Index of the record equal to record `j` of `other`, or -(insertion point) - 1. */
  indexOfRecord(other: Uint32Array, j: number): number {
    const d = this.data;
    let lo = 0, hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = cmpRec(d, mid, other, j);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  /** True when the set holds `v`. */
  has(v: Vrp): boolean {
    const one = new VrpSetBuilder(1);
    one.addVrp(v);
    const { set } = one.build();
    return this.indexOfRecord(set.data, 0) >= 0;
  }

  /** The VRP at sorted position `i`. */
  at(i: number): Vrp {
    return vrpAt(this.data, i);
  }

  /** Iterate VRPs in sorted order. */
  *[Symbol.iterator](): IterableIterator<Vrp> {
    const n = this.size;
    for (let i = 0; i < n; i++) yield vrpAt(this.data, i);
  }

  /** Records of `b` missing from `a` (announced) and of `a` missing from `b` (withdrawn). */
  static diff(a: VrpSet, b: VrpSet): { announced: VrpSet; withdrawn: VrpSet } {
    if (a.size === 0 || b.size === 0) return { announced: b, withdrawn: a };
    const ad = a.data, bd = b.data, na = a.size, nb = b.size;
    const onlyA: number[] = [], onlyB: number[] = [];
    let i = 0, j = 0;
    while (i < na && j < nb) {
      const c = cmpRec(ad, i, bd, j);
      if (c === 0) {
        i++;
        j++;
      } else if (c < 0) onlyA.push(i++);
      else onlyB.push(j++);
    }
    while (i < na) onlyA.push(i++);
    while (j < nb) onlyB.push(j++);
    return { announced: pick(bd, onlyB), withdrawn: pick(ad, onlyA) };
  }

  /**
   * This set minus `withdraw` plus `announce` (both sorted sets). Throws nothing: callers check
   * membership first (withdrawal of unknown records, duplicate announcements).
   */
  apply(announce: VrpSet, withdraw: VrpSet): VrpSet {
    const d = this.data, n = this.size;
    const out = new Uint32Array((n + announce.size) * W);
    let i = 0, a = 0, w = 0, m = 0;
    const ad = announce.data, wd = withdraw.data, na = announce.size, nw = withdraw.size;
    while (i < n || a < na) {
      // Skip withdrawn records of this set.
      if (i < n) {
        while (w < nw && cmpRec(wd, w, d, i) < 0) w++;
        if (w < nw && cmpRec(wd, w, d, i) === 0) {
          i++;
          w++;
          continue;
        }
      }
      if (a < na && (i >= n || cmpRec(ad, a, d, i) < 0)) {
        copyRec(ad, a, out, m);
        a++;
      } else if (a < na && cmpRec(ad, a, d, i) === 0) {
        copyRec(d, i, out, m);
        a++;
        i++;
      } else {
        copyRec(d, i, out, m);
        i++;
      }
      m++;
    }
    return new VrpSet(out.slice(0, m * W));
  }
}

function pick(src: Uint32Array, idx: number[]): VrpSet {
  const out = new Uint32Array(idx.length * W);
  for (let k = 0; k < idx.length; k++) copyRec(src, idx[k], out, k);
  return new VrpSet(out);
}
