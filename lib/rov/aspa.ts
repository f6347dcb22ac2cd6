/**
 * AS_PATH verification with ASPA records, per draft-ietf-sidrops-aspa-verification-19 ("the
 * draft" below): the hop check ("Hop-Check Function"), the neighbour check, and the upstream and
 * downstream procedures ("Algorithm for Upstream Paths", "Algorithm for Downstream Paths").
 *
 * `AspaIndex` is built once per run from the table's ASPA records: the union of every record of a
 * customer (the draft's hop check looks at all of a customer's ASPAs), as one sorted Uint32Array
 * of customers, one of provider ranges, and an open-addressing hash from customer ASN to its slot.
 * AS0 in a provider list never matches, so a record `{AS0}` means "this AS has no providers": every
 * hop from it is Not Provider+.
 *
 * Conventions used everywhere below (README "rtr validate" says the same):
 * - a path is given as BGP carries it, neighbour first and origin last; it is collapsed
 *   (consecutive duplicates, i.e. prepends, become one AS) into AS(1) … AS(N), AS(1) the origin
 *   and AS(N) the neighbour;
 * - hop(c, p): `no-attestation` when c has no ASPA, `provider+` when p is among the providers of
 *   c, `not-provider+` otherwise;
 * - an empty path, or one holding an AS_SET, is Invalid; so is a path whose most recent AS is not
 *   the neighbour's AS (unless the neighbour is a transparent route server, or no neighbour AS is
 *   known);
 * - up-ramp (from the origin): maxUpRamp = the smallest i with hop(AS(i), AS(i+1)) =
 *   not-provider+, else N; minUpRamp = the smallest i with hop(AS(i), AS(i+1)) ≠ provider+,
 *   else N;
 * - down-ramp (from the neighbour): maxDownRamp = N − j for the largest j with hop(AS(j+1), AS(j))
 *   = not-provider+, else N; minDownRamp likewise with ≠ provider+;
 * - upstream (route from a customer, a lateral peer, an RS-client, or a route server to its
 *   client): Invalid if maxUpRamp < N, Unknown if minUpRamp < N, else Valid;
 * - downstream (route from a provider): Invalid if maxUpRamp + maxDownRamp < N, Unknown if
 *   minUpRamp + minDownRamp < N, else Valid.
 *
 * The state-only path (`verifyState`) allocates nothing: the collapsed path goes to a scratch
 * array, each hop is one hash probe and a scan of a few providers.
 */
import type { Aspa } from "../model/types.ts";

/** Result of one hop check: `provider+`, `not-provider+` or `no-attestation`. */
export type HopResult = "provider+" | "not-provider+" | "no-attestation";
/** Hop code: the provider is attested. */
export const HOP_PROVIDER = 0;
/** Hop code: the customer has an ASPA and the AS is not among its providers. */
export const HOP_NOT_PROVIDER = 1;
/** Hop code: the customer has no ASPA. */
export const HOP_NO_ATTESTATION = 2;
/** Hop results by code. */
export const HOP_RESULTS: readonly HopResult[] = ["provider+", "not-provider+", "no-attestation"];

/** Outcome of AS_PATH verification. */
export type AspaState = "valid" | "unknown" | "invalid";
/** State code: Valid. */
export const ASPA_VALID = 0;
/** State code: Unknown. */
export const ASPA_UNKNOWN = 1;
/** State code: Invalid. */
export const ASPA_INVALID = 2;
/** States by code. */
export const ASPA_STATES: readonly AspaState[] = ["valid", "unknown", "invalid"];

/** Which verification procedure applies. */
export type AspaProcedure = "upstream" | "downstream";
/** Procedure code: upstream (route from a customer, lateral peer, RS or RS-client). */
export const UPSTREAM = 0;
/** Procedure code: downstream (route from a provider). */
export const DOWNSTREAM = 1;

/** What the neighbour that sent the route is to us. */
export type NeighbourRole = "customer" | "peer" | "provider" | "rs" | "rs-client";
/** Every neighbour role, in the order help texts list them. */
export const NEIGHBOUR_ROLES: readonly NeighbourRole[] = [
  "customer",
  "peer",
  "provider",
  "rs",
  "rs-client",
];

/**
 * The procedure for a neighbour role: downstream for a provider, upstream for everything else
 * (the draft's "Algorithm for Upstream Paths" names customers, lateral peers, an RS receiving
 * from an RS-client and an RS-client receiving from an RS).
 */
export function procedureOf(role: NeighbourRole): number {
  return role === "provider" ? DOWNSTREAM : UPSTREAM;
}

/** True when the neighbour check applies: not for a transparent route server (RFC 7947). */
export function checksNeighbour(role: NeighbourRole): boolean {
  return role !== "rs";
}

/** Why a path is Invalid (null for Valid and Unknown paths). */
export type AspaInvalidReason = "empty" | "as-set" | "neighbour" | "hop";

/** Options of one verification. */
export interface VerifyOptions {
  /** Procedure code (UPSTREAM or DOWNSTREAM). */
  procedure: number;
  /** The neighbour's AS for the neighbour check; -1 skips the check. */
  neighbourAs: number;
}

/** An explained verification; `explain` refills one of these (arrays grow as needed). */
export class AspaExplanation {
  /** State code (ASPA_VALID, ASPA_UNKNOWN, ASPA_INVALID). */
  state: number = ASPA_VALID;
  /** Procedure code. */
  procedure: number = UPSTREAM;
  /** Why the path is Invalid, or null. */
  reason: AspaInvalidReason | null = null;
  /** Collapsed length N (0 for an empty path or one with an AS_SET). */
  n: number = 0;
  /** The collapsed path, origin first: seq[0] = AS(1) … seq[n-1] = AS(N). */
  seq: Uint32Array = new Uint32Array(16);
  /** Up-ramp hops: up[i] = hop(AS(i+1), AS(i+2)), i = 0 … n-2, as codes. */
  up: Uint8Array = new Uint8Array(16);
  /** Down-ramp hops (downstream only): down[i] = hop(AS(i+2), AS(i+1)), i = 0 … n-2. */
  down: Uint8Array = new Uint8Array(16);
  /** Scratch: the index's hash entry of each AS of seq (-1: no ASPA). */
  slot: Int32Array = new Int32Array(16);
  /** maxUpRamp, minUpRamp, maxDownRamp, minDownRamp (down ones only for downstream). */
  maxUp: number = 0;
  /** See maxUp. */
  minUp: number = 0;
  /** See maxUp. */
  maxDown: number = 0;
  /** See maxUp. */
  minDown: number = 0;
  /** The neighbour AS checked against AS(N), or -1 when the check was skipped. */
  neighbourAs: number = -1;

  /** Make room for a path of `n` ASes. */
  reserve(n: number): void {
    if (n <= this.seq.length) return;
    const cap = Math.max(n, this.seq.length * 2);
    this.seq = new Uint32Array(cap);
    this.up = new Uint8Array(cap);
    this.down = new Uint8Array(cap);
    this.slot = new Int32Array(cap);
  }
}

/** The arrays of an AspaIndex (see `AspaIndex.parts`). */
export interface AspaIndexParts {
  /** Customers, ascending. */
  customers: Uint32Array;
  /** Where each customer's providers start in `providers` (one more entry: the end). */
  start: Int32Array;
  /** Provider ASNs of every customer, concatenated, each customer's ascending. */
  providers: Uint32Array;
}

function isParts(x: Iterable<Aspa> | AspaIndexParts): x is AspaIndexParts {
  return (x as AspaIndexParts).customers instanceof Uint32Array;
}

/** Collapsed-path scratch for `verifyState` (grows for very long paths). */
let SEQ = new Uint32Array(256);

/** An index over ASPA records for hop checks and path verification. */
export class AspaIndex {
  /** Customers, ascending. */
  readonly customers: Uint32Array;
  /** Providers of customers[k] are providers[start[k] … start[k+1]), ascending, AS0 dropped. */
  readonly start: Int32Array;
  /** Provider ASNs of every customer, concatenated. */
  readonly providers: Uint32Array;
  /**
   * Open-addressing hash, four words an entry so that a probe reads one cache line: the
   * customer, its provider count + 1 (0: an empty entry), then up to two providers themselves
   * (most customers have one or two: the hop check reads nothing else), or the start and end of
   * its providers in `providers`.
   */
  readonly #table: Int32Array;
  readonly #mask: number;

  /**
   * Build the index; records of the same customer are merged (the union of their providers).
   * Given the `parts` of another index (e.g. sent to a worker thread), only the hash is rebuilt.
   */
  constructor(aspas: Iterable<Aspa> | AspaIndexParts) {
    if (isParts(aspas)) {
      this.customers = aspas.customers;
      this.start = aspas.start;
      this.providers = aspas.providers;
    } else {
      const by = new Map<number, Set<number>>();
      for (const a of aspas) {
        let s = by.get(a.customer >>> 0);
        if (!s) by.set(a.customer >>> 0, s = new Set());
        for (const p of a.providers) if (p !== 0) s.add(p >>> 0);
      }
      const keys = [...by.keys()].sort((x, y) => x - y);
      const n = keys.length;
      let total = 0;
      for (const s of by.values()) total += s.size;
      this.customers = new Uint32Array(n);
      this.start = new Int32Array(n + 1);
      this.providers = new Uint32Array(total);
      let o = 0;
      for (let k = 0; k < n; k++) {
        this.customers[k] = keys[k];
        this.start[k] = o;
        const list = [...by.get(keys[k])!].sort((x, y) => x - y);
        for (const p of list) this.providers[o++] = p;
      }
      this.start[n] = o;
    }
    const n = this.customers.length, keys = this.customers;
    let size = 8;
    while (size < n * 2) size *= 2;
    const t = this.#table = new Int32Array(size * 4);
    this.#mask = size - 1;
    const ps = this.providers;
    for (let k = 0; k < n; k++) {
      let h = hash(keys[k]) & this.#mask;
      while (t[h * 4 + 1] !== 0) h = (h + 1) & this.#mask;
      const from = this.start[k], to = this.start[k + 1], count = to - from;
      t[h * 4] = keys[k];
      t[h * 4 + 1] = count + 1;
      t[h * 4 + 2] = count > 2 ? from : count > 0 ? ps[from] : 0;
      t[h * 4 + 3] = count > 2 ? to : count > 1 ? ps[from + 1] : 0;
    }
  }

  /** The arrays the index is built on (structured-cloneable): `new AspaIndex(parts)` rebuilds it. */
  get parts(): AspaIndexParts {
    return { customers: this.customers, start: this.start, providers: this.providers };
  }

  /** Number of customers with an ASPA. */
  get size(): number {
    return this.customers.length;
  }

  /** Bytes held by the index arrays. */
  get byteLength(): number {
    return this.customers.byteLength + this.start.byteLength + this.providers.byteLength +
      this.#table.byteLength;
  }

  /** The slot of a customer in `customers`, or -1 when it has no ASPA. */
  find(customer: number): number {
    const cs = this.customers, c = customer >>> 0;
    let lo = 0, hi = cs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cs[mid] < c) lo = mid + 1;
      else hi = mid;
    }
    return lo < cs.length && cs[lo] === c ? lo : -1;
  }

  /** The hash entry of a customer (for `hopAt`), or -1 when it has no ASPA. */
  entry(customer: number): number {
    const c = customer | 0, t = this.#table, mask = this.#mask;
    let h = hash(customer >>> 0) & mask;
    for (;;) {
      const o = h * 4;
      if (t[o + 1] === 0) return -1;
      if (t[o] === c) return o;
      h = (h + 1) & mask;
    }
  }

  /** The providers of a customer (the union of its records, AS0 dropped), or null without ASPA. */
  providersOf(customer: number): Uint32Array | null {
    const k = this.find(customer);
    return k < 0 ? null : this.providers.subarray(this.start[k], this.start[k + 1]);
  }

  /** Customers whose ASPA lists `provider`, ascending. */
  customersOf(provider: number): number[] {
    const out: number[] = [], p = provider >>> 0;
    if (p === 0) return out;
    for (let k = 0; k < this.customers.length; k++) {
      for (let i = this.start[k]; i < this.start[k + 1]; i++) {
        if (this.providers[i] === p) {
          out.push(this.customers[k]);
          break;
        }
      }
    }
    return out;
  }

  /** The hop check as a code: is `provider` attested as a provider of `customer`? */
  hop(customer: number, provider: number): number {
    return this.hopAt(this.entry(customer), provider);
  }

  /** The hop check for the customer of hash entry `e` (from `entry`; -1: no ASPA). */
  hopAt(e: number, provider: number): number {
    if (e < 0) return HOP_NO_ATTESTATION;
    const t = this.#table, count = t[e + 1] - 1;
    if (count <= 2) {
      const q = provider | 0;
      return (count > 0 && t[e + 2] === q) || (count > 1 && t[e + 3] === q)
        ? HOP_PROVIDER
        : HOP_NOT_PROVIDER;
    }
    const ps = this.providers, p = provider >>> 0;
    let lo = t[e + 2], hi = t[e + 3];
    if (hi - lo <= 8) {
      for (; lo < hi; lo++) if (ps[lo] === p) return HOP_PROVIDER;
      return HOP_NOT_PROVIDER;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1, v = ps[mid];
      if (v === p) return HOP_PROVIDER;
      if (v < p) lo = mid + 1;
      else hi = mid;
    }
    return HOP_NOT_PROVIDER;
  }

  /**
   * Verify a path (BGP order: path[0] the neighbour, path[len-1] the origin; AS_SEQUENCE only, a
   * path with an AS_SET is Invalid before it gets here) and return the state code, allocating
   * nothing.
   */
  verifyState(
    path: ArrayLike<number>,
    len: number,
    procedure: number,
    neighbourAs: number,
  ): number {
    return this.verifyRange(path, 0, len, procedure, neighbourAs);
  }

  /**
   * `verifyState` of the path held in `buf[from … to)`: for paths packed into one array, without a
   * subarray per path.
   */
  verifyRange(
    buf: ArrayLike<number>,
    from: number,
    to: number,
    procedure: number,
    neighbourAs: number,
  ): number {
    const len = to - from;
    if (len <= 0) return ASPA_INVALID;
    if (neighbourAs >= 0 && (buf[from] >>> 0) !== neighbourAs) return ASPA_INVALID;
    if (len > SEQ.length) SEQ = new Uint32Array(len * 2);
    const seq = SEQ;
    let n = 0;
    for (let i = to - 1; i >= from; i--) {
      const a = buf[i] >>> 0;
      if (n === 0 || seq[n - 1] !== a) seq[n++] = a;
    }
    if (procedure === UPSTREAM) {
      let unknown = false;
      for (let i = 0; i + 1 < n; i++) {
        const h = this.hop(seq[i], seq[i + 1]);
        if (h === HOP_NOT_PROVIDER) return ASPA_INVALID;
        if (h === HOP_NO_ATTESTATION) unknown = true;
      }
      return unknown ? ASPA_UNKNOWN : ASPA_VALID;
    }
    // Downstream: the up-ramp from the origin, then the down-ramp from the neighbour.
    let maxUp = n, minUp = n;
    for (let i = 0; i + 1 < n; i++) {
      const h = this.hop(seq[i], seq[i + 1]);
      if (h !== HOP_PROVIDER && minUp === n) minUp = i + 1;
      if (h === HOP_NOT_PROVIDER) {
        maxUp = i + 1;
        break;
      }
    }
    let maxDown = n, minDown = n;
    for (let j = n - 2; j >= 0; j--) {
      const h = this.hop(seq[j + 1], seq[j]);
      if (h !== HOP_PROVIDER && minDown === n) minDown = n - 1 - j;
      if (h === HOP_NOT_PROVIDER) {
        maxDown = n - 1 - j;
        break;
      }
    }
    if (maxUp + maxDown < n) return ASPA_INVALID;
    return minUp + minDown < n ? ASPA_UNKNOWN : ASPA_VALID;
  }

  /**
   * Verify a path and say why: every hop's result, the ramp figures and the reason. `hasSet`
   * says the path held an AS_SET (then it is Invalid and has no hops). Refills `into`.
   */
  explain(
    path: ArrayLike<number>,
    len: number,
    opts: VerifyOptions & { hasSet?: boolean },
    into: AspaExplanation = new AspaExplanation(),
  ): AspaExplanation {
    const e = into;
    e.procedure = opts.procedure;
    e.neighbourAs = opts.neighbourAs;
    e.reason = null;
    e.n = 0;
    e.maxUp =
      e.minUp =
      e.maxDown =
      e.minDown =
        0;
    if (opts.hasSet) return fail(e, "as-set");
    if (len === 0) return fail(e, "empty");
    e.reserve(len);
    const seq = e.seq;
    let n = 0;
    for (let i = len - 1; i >= 0; i--) {
      const a = path[i] >>> 0;
      if (n === 0 || seq[n - 1] !== a) seq[n++] = a;
    }
    e.n = n;
    // Each AS's slot is looked up once: the up-ramp and the down-ramp ask about the same ASes.
    const slot = e.slot;
    for (let i = 0; i < n; i++) slot[i] = this.entry(seq[i]);
    let maxUp = n, minUp = n;
    for (let i = 0; i + 1 < n; i++) {
      const h = e.up[i] = this.hopAt(slot[i], seq[i + 1]);
      if (h !== HOP_PROVIDER && minUp === n) minUp = i + 1;
      if (h === HOP_NOT_PROVIDER && maxUp === n) maxUp = i + 1;
    }
    e.maxUp = maxUp;
    e.minUp = minUp;
    let maxDown = n, minDown = n;
    if (opts.procedure === DOWNSTREAM) {
      for (let j = n - 2; j >= 0; j--) {
        const h = e.down[j] = this.hopAt(slot[j + 1], seq[j]);
        if (h !== HOP_PROVIDER && minDown === n) minDown = n - 1 - j;
        if (h === HOP_NOT_PROVIDER && maxDown === n) maxDown = n - 1 - j;
      }
      e.maxDown = maxDown;
      e.minDown = minDown;
    }
    if (opts.neighbourAs >= 0 && seq[n - 1] !== opts.neighbourAs) return fail(e, "neighbour");
    if (opts.procedure === UPSTREAM) {
      if (maxUp < n) return fail(e, "hop");
      e.state = minUp < n ? ASPA_UNKNOWN : ASPA_VALID;
    } else {
      if (maxUp + maxDown < n) return fail(e, "hop");
      e.state = minUp + minDown < n ? ASPA_UNKNOWN : ASPA_VALID;
    }
    return e;
  }
}

function fail(e: AspaExplanation, reason: AspaInvalidReason): AspaExplanation {
  e.state = ASPA_INVALID;
  e.reason = reason;
  return e;
}

/** Fibonacci hashing of an ASN (the top bits are well mixed; the caller masks the low ones). */
function hash(asn: number): number {
  const h = Math.imul(asn, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * One sentence for a person: the state, then what decided it (the first failing hop of the
 * up-ramp, of the down-ramp, the neighbour check, an AS_SET), e.g. `Invalid: AS64501 has an ASPA
 * and AS64502 is not among its providers`.
 */
export function describeExplanation(e: AspaExplanation): string {
  const seq = e.seq, n = e.n;
  if (e.state === ASPA_INVALID) {
    switch (e.reason) {
      case "empty":
        return "Invalid: the AS path is empty";
      case "as-set":
        return "Invalid: the AS path holds an AS_SET";
      case "neighbour":
        return `Invalid: the neighbour is AS${e.neighbourAs} but the path's most recent AS is AS${
          seq[n - 1]
        }`;
    }
    const upAt = e.maxUp - 1; // index of the first not-provider+ up hop
    const up = `AS${seq[upAt]} has an ASPA and AS${seq[upAt + 1]} is not among its providers`;
    if (e.procedure === UPSTREAM) return `Invalid: ${up}`;
    const downAt = n - 1 - e.maxDown; // down[downAt] is the first not-provider+ down hop
    const parts: string[] = [];
    if (e.maxUp < n) parts.push(up);
    if (e.maxDown < n) {
      parts.push(
        `AS${seq[downAt + 1]} has an ASPA and AS${seq[downAt]} is not among its providers`,
      );
    }
    return `Invalid: ${
      parts.join("; ")
    } (up-ramp at most ${e.maxUp} + down-ramp at most ${e.maxDown} < ${n} ASes)`;
  }
  if (e.state === ASPA_UNKNOWN) {
    const parts: string[] = [];
    if (e.minUp < n && e.up[e.minUp - 1] === HOP_NO_ATTESTATION) {
      parts.push(`AS${seq[e.minUp - 1]} has no ASPA (is AS${seq[e.minUp]} its provider?)`);
    }
    if (e.procedure === DOWNSTREAM) {
      const at = n - 1 - e.minDown;
      if (e.minDown < n && e.down[at] === HOP_NO_ATTESTATION) {
        parts.push(`AS${seq[at + 1]} has no ASPA (is AS${seq[at]} its provider?)`);
      }
    }
    return `Unknown: ${parts.join("; ")}`;
  }
  if (n <= 1) return "Valid: a path of one AS";
  return e.procedure === UPSTREAM
    ? "Valid: every hop from the origin up is attested"
    : "Valid: attested up-ramp and down-ramp with at most one lateral hop between";
}
