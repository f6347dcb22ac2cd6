/**
 * A compact, sorted set of VRPs: six 32-bit words per record in one Uint32Array
 * (`meta = v6 << 16 | prefixLength << 8 | maxLength`, four address words, ASN), about 24 bytes a
 * VRP instead of several hundred for objects and string keys. Sorted order (IPv4 first, then
 * address, prefix length, maxLength, ASN) makes membership a binary search, duplicates adjacent
 * and diffs a linear merge.
 */
import { formatPrefix, parsePrefix } from "./prefix.ts";
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
  const v6 = meta >>> 16 === 1;
  return {
    prefix: formatPrefix(v6 ? 6 : 4, d.subarray(x + 1, x + 5), (meta >>> 8) & 255),
    maxLength: meta & 255,
    asn: d[x + 5],
  };
}

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
    if ((this.#n + 1) * W > this.#d.length) {
      const next = new Uint32Array(this.#d.length * 2);
      next.set(this.#d);
      this.#d = next;
    }
    const d = this.#d, x = this.#n * W;
    d[x] = (v6 ? 0x10000 : 0) | (prefixLength << 8) | maxLength;
    d[x + 1] = addr[0];
    if (v6) {
      d[x + 2] = addr[1];
      d[x + 3] = addr[2];
      d[x + 4] = addr[3];
    } else {
      d[x + 2] = 0;
      d[x + 3] = 0;
      d[x + 4] = 0;
    }
    d[x + 5] = asn;
    this.#n++;
  }

  /** Add a Vrp value (its prefix text is parsed and canonicalised). */
  addVrp(v: Vrp): void {
    const p = parsePrefix(v.prefix);
    this.add(p.family === 6, p.addr, p.length, v.maxLength, v.asn);
  }

  /**
   * Sort and build the set. Duplicates are dropped and returned (in canonical form), so that a
   * caller that must reject them (a Reset response, RFC 8210 error 7) can.
   */
  build(): { set: VrpSet; duplicates: Vrp[] } {
    const n = this.#n, d = this.#d;
    // Already sorted (a v2 cache sends its own order, files are often sorted): skip the sort.
    let sorted = true;
    for (let i = 1; i < n; i++) {
      if (cmpRec(d, i - 1, d, i) > 0) {
        sorted = false;
        break;
      }
    }
    let src = d;
    if (!sorted) {
      const idx = new Uint32Array(n);
      for (let i = 0; i < n; i++) idx[i] = i;
      idx.sort((i, j) => cmpRec(d, i, d, j));
      src = new Uint32Array(n * W);
      for (let i = 0; i < n; i++) src.set(d.subarray(idx[i] * W, idx[i] * W + W), i * W);
    }
    const duplicates: Vrp[] = [];
    let m = 0;
    const out = sorted ? new Uint32Array(n * W) : src;
    for (let i = 0; i < n; i++) {
      if (i > 0 && cmpRec(src, i - 1, src, i) === 0) {
        duplicates.push(vrpAt(src, i));
        continue;
      }
      if (m !== i || out !== src) out.set(src.subarray(i * W, i * W + W), m * W);
      m++;
    }
    this.#d = new Uint32Array(16 * W);
    this.#n = 0;
    return { set: new VrpSet(out.slice(0, m * W)), duplicates };
  }
}

/** An immutable, sorted set of VRPs. */
export class VrpSet {
  /** Packed records, sorted, unique. */
  readonly data: Uint32Array;
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
        out.set(ad.subarray(a * W, a * W + W), m * W);
        a++;
      } else if (a < na && cmpRec(ad, a, d, i) === 0) {
        out.set(d.subarray(i * W, i * W + W), m * W);
        a++;
        i++;
      } else {
        out.set(d.subarray(i * W, i * W + W), m * W);
        i++;
      }
      m++;
    }
    return new VrpSet(out.slice(0, m * W));
  }
}

function pick(src: Uint32Array, idx: number[]): VrpSet {
  const out = new Uint32Array(idx.length * W);
  for (let k = 0; k < idx.length; k++) out.set(src.subarray(idx[k] * W, idx[k] * W + W), k * W);
  return new VrpSet(out);
}
