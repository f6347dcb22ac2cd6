/**
 * The comparison index of `rtr monitor`: which of N sources hold each payload record (VRPs by
 * prefix, maxLength and ASN, RFC 6811; router keys by SKI compared case-insensitively, ASN and
 * key, RFC 8635; ASPA by customer and provider set, 8210bis §5.12), as one bitmask per record.
 *
 * Only records whose mask is not "every source that holds a table" are kept (with the time they
 * first differed); presence in a source is looked up in that source's own sorted table, so a
 * delta of k records on one source costs k × N binary searches, whatever the table size. A
 * source joining (its first table) is compared with one linear merge of every table. Pure: time
 * is passed in, events come back as values.
 */
import {
  type Aspa,
  type PayloadTable,
  type RouterKey,
  routerKeyId,
  type VrpSet,
} from "../model/mod.ts";
import { aspaValueId } from "../model/delta.ts";
import { vrpAt, W } from "../model/vrp_set.ts";
import type { PayloadKind, PayloadRecord } from "../formats/records.ts";

export type { PayloadKind, PayloadRecord } from "../formats/records.ts";

/** Every payload kind, in report order. */
export const PAYLOAD_KINDS: PayloadKind[] = ["vrp", "routerKey", "aspa"];

/** What the index reports. */
export type IndexEvent =
  /** A record has been missing from some source for at least the grace (or changed holders after). */
  | { kind: "disagreement"; record: PayloadRecord; have: number[]; lack: number[]; since: number }
  /** A reported disagreement converged: every compared source holds the record, or none does. */
  | { kind: "resolved"; record: PayloadRecord; since: number; everywhere: boolean };

/** One current difference. */
export interface Difference {
  record: PayloadRecord;
  have: number[];
  lack: number[];
  since: number;
  /** True once the difference outlived the grace (a `disagreement` was reported). */
  reported: boolean;
}

/** Counts of one ordered pair: records `from` holds that `to` lacks. */
export interface PairCounts {
  /** By kind. */
  byKind: Record<PayloadKind, number>;
  /** By kind and visibility bucket: records that have differed for at least that many seconds. */
  visible: Record<PayloadKind, number[]>;
}

interface Entry {
  mask: number;
  since: number;
  reported: boolean;
  /** Router key or ASPA value (VRPs decode from the key). */
  value?: RouterKey | Aspa;
}

/** Options of the index. */
export interface ComparisonIndexOptions {
  /** Number of sources (1 to 31). */
  sources: number;
  /** A difference younger than this is propagation, not disagreement (ms). */
  graceMs: number;
}

/** The most sources one mask holds. */
export const MAX_SOURCES = 31;

/** Key of packed VRP record `i` of `d`: a tag and six 32-bit words as 16-bit code units. */
function vrpKey(d: Uint32Array, i: number): string {
  const x = i * W;
  return String.fromCharCode(
    0x76,
    d[x] >>> 16,
    d[x] & 0xffff,
    d[x + 1] >>> 16,
    d[x + 1] & 0xffff,
    d[x + 2] >>> 16,
    d[x + 2] & 0xffff,
    d[x + 3] >>> 16,
    d[x + 3] & 0xffff,
    d[x + 4] >>> 16,
    d[x + 4] & 0xffff,
    d[x + 5] >>> 16,
    d[x + 5] & 0xffff,
  );
}

const ONE = new Uint32Array(W);

/** The packed record of a VRP key (in a reused scratch array). */
function keyWords(key: string): Uint32Array {
  for (let k = 0; k < W; k++) {
    ONE[k] = ((key.charCodeAt(1 + 2 * k) << 16) | key.charCodeAt(2 + 2 * k)) >>> 0;
  }
  return ONE;
}

/** Compare packed records in VrpSet order (family, address, prefix length, maxLength, ASN). */
function cmp(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
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

function bits(mask: number, n: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < n; s++) if (mask & (1 << s)) out.push(s);
  return out;
}

/** Which sources hold which records, and since when they differ. */
export class ComparisonIndex {
  readonly sources: number;
  readonly graceMs: number;
  #tables: (PayloadTable | null)[];
  #keys: Map<string, RouterKey>[];
  #aspas: Map<string, Aspa>[];
  /** Sources that hold a table (the ones compared). */
  #active = 0;
  #div = new Map<string, Entry>();
  /** Unreported entries, in order of `since` (insertion order). */
  #pending = new Map<string, Entry>();
  #events: IndexEvent[] = [];

  constructor(opts: ComparisonIndexOptions) {
    if (opts.sources < 1 || opts.sources > MAX_SOURCES) {
      throw new RangeError(`Sources must be 1 to ${MAX_SOURCES}, got ${opts.sources}`);
    }
    this.sources = opts.sources;
    this.graceMs = opts.graceMs;
    this.#tables = Array.from({ length: opts.sources }, () => null);
    this.#keys = Array.from({ length: opts.sources }, () => new Map());
    this.#aspas = Array.from({ length: opts.sources }, () => new Map());
  }

  /** Mask of the sources that hold a table. */
  get active(): number {
    return this.#active;
  }

  /** Number of records that currently differ. */
  get size(): number {
    return this.#div.size;
  }

  /** The table source `s` holds, or null. */
  table(s: number): PayloadTable | null {
    return this.#tables[s];
  }

  /**
   * Source `s` now holds `table`. With `vrpDelta` (the exact VRP change from the table it held
   * before, as a commit carries it) only the changed records are compared; without it, or when
   * the source held no table, everything is compared again. Returns the events due now.
   */
  setTable(
    s: number,
    table: PayloadTable,
    now: number,
    vrpDelta?: { announced: VrpSet; withdrawn: VrpSet },
  ): IndexEvent[] {
    const joined = (this.#active & (1 << s)) === 0;
    const oldKeys = this.#keys[s], oldAspas = this.#aspas[s];
    this.#tables[s] = table;
    const keys = new Map(table.routerKeys.map((k) => [routerKeyId(k), k]));
    const aspas = new Map(table.aspas.map((a) => [aspaValueId(a), a]));
    this.#keys[s] = keys;
    this.#aspas[s] = aspas;
    if (joined || !vrpDelta) {
      this.#active |= 1 << s;
      this.#rebuild(now);
    } else {
      for (const set of [vrpDelta.announced, vrpDelta.withdrawn]) {
        const d = set.data;
        for (let i = 0, n = set.size; i < n; i++) {
          this.#update(vrpKey(d, i), this.#vrpMask(d, i), now);
        }
      }
      this.#smallDelta(oldKeys, keys, "k", now, (id) => this.#keyMask(id));
      this.#smallDelta(oldAspas, aspas, "a", now, (id) => this.#aspaMask(id));
    }
    return this.#drain(now);
  }

  /** Source `s` no longer holds a table (expired, or gone for good): it leaves the comparison. */
  dropTable(s: number, now: number): IndexEvent[] {
    if ((this.#active & (1 << s)) === 0) return [];
    this.#active &= ~(1 << s);
    this.#tables[s] = null;
    this.#keys[s] = new Map();
    this.#aspas[s] = new Map();
    for (const [key, e] of [...this.#div]) this.#update(key, e.mask & ~(1 << s), now);
    return this.#drain(now);
  }

  /** When the oldest unreported difference outlives the grace (ms), or null. */
  get nextDue(): number | null {
    for (const e of this.#pending.values()) return e.since + this.graceMs;
    return null;
  }

  /** Report the differences that have outlived the grace by `now`. */
  tick(now: number): IndexEvent[] {
    return this.#drain(now);
  }

  /** Every current difference (for `/diff.json`), oldest first. */
  differences(): Difference[] {
    const out: Difference[] = [];
    for (const [key, e] of this.#div) {
      out.push({
        record: this.#record(key, e),
        have: bits(e.mask, this.sources),
        lack: bits(this.#active & ~e.mask, this.sources),
        since: e.since,
        reported: e.reported,
      });
    }
    return out.sort((a, b) => a.since - b.since);
  }

  /**
   * Counts for every ordered pair of compared sources: `[from][to]` holds what `from` has and
   * `to` lacks, by kind and by visibility buckets (`bucketsSec`, ascending).
   */
  pairCounts(now: number, bucketsSec: number[]): (PairCounts | null)[][] {
    const n = this.sources;
    const out: (PairCounts | null)[][] = [];
    for (let a = 0; a < n; a++) {
      const row: (PairCounts | null)[] = [];
      for (let b = 0; b < n; b++) {
        const on = a !== b && (this.#active & (1 << a)) && (this.#active & (1 << b));
        row.push(
          on
            ? {
              byKind: { vrp: 0, routerKey: 0, aspa: 0 },
              visible: {
                vrp: bucketsSec.map(() => 0),
                routerKey: bucketsSec.map(() => 0),
                aspa: bucketsSec.map(() => 0),
              },
            }
            : null,
        );
      }
      out.push(row);
    }
    for (const [key, e] of this.#div) {
      const kind = kindOf(key);
      const age = (now - e.since) / 1000;
      let nb = 0;
      while (nb < bucketsSec.length && age >= bucketsSec[nb]) nb++;
      const lack = this.#active & ~e.mask;
      for (let a = 0; a < n; a++) {
        if (!(e.mask & (1 << a))) continue;
        for (let b = 0; b < n; b++) {
          if (!(lack & (1 << b))) continue;
          const c = out[a][b]!;
          c.byKind[kind]++;
          const v = c.visible[kind];
          for (let k = 0; k < nb; k++) v[k]++;
        }
      }
    }
    return out;
  }

  #vrpMask(d: Uint32Array, i: number): number {
    let m = 0;
    for (let t = 0; t < this.sources; t++) {
      const tab = this.#tables[t];
      if (tab && tab.vrps.indexOfRecord(d, i) >= 0) m |= 1 << t;
    }
    return m;
  }

  #keyMask(id: string): number {
    let m = 0;
    for (let t = 0; t < this.sources; t++) if (this.#keys[t].has(id)) m |= 1 << t;
    return m;
  }

  #aspaMask(id: string): number {
    let m = 0;
    for (let t = 0; t < this.sources; t++) if (this.#aspas[t].has(id)) m |= 1 << t;
    return m;
  }

  #smallDelta<T extends RouterKey | Aspa>(
    before: Map<string, T>,
    after: Map<string, T>,
    tag: string,
    now: number,
    mask: (id: string) => number,
  ): void {
    for (const [id, v] of after) if (!before.has(id)) this.#update(tag + id, mask(id), now, v);
    for (const [id, v] of before) if (!after.has(id)) this.#update(tag + id, mask(id), now, v);
  }

  /** Record that `key` is now held by `mask`. */
  #update(key: string, mask: number, now: number, value?: RouterKey | Aspa): void {
    const m = mask & this.#active;
    const e = this.#div.get(key);
    if (m === this.#active || m === 0) {
      if (!e) return;
      this.#div.delete(key);
      this.#pending.delete(key);
      if (e.reported) {
        this.#events.push({
          kind: "resolved",
          record: this.#record(key, e),
          since: e.since,
          everywhere: m !== 0,
        });
      }
      return;
    }
    if (e) {
      if (e.mask === m) return;
      e.mask = m;
      if (e.reported) this.#events.push(this.#disagreement(key, e));
      return;
    }
    const n: Entry = { mask: m, since: now, reported: false, value };
    this.#div.set(key, n);
    this.#pending.set(key, n);
  }

  /** Compare every table again (a source joined): one k-way merge of the sorted VRP sets. */
  #rebuild(now: number): void {
    const act = bits(this.#active, this.sources);
    const sets = act.map((s) => this.#tables[s]!.vrps);
    const pos = act.map(() => 0);
    const seen = new Set<string>();
    let min = -1;
    while (true) {
      // The smallest record among the cursors, and the mask of those that hold it.
      min = -1;
      let mask = 0;
      for (let k = 0; k < act.length; k++) {
        if (pos[k] >= sets[k].size) continue;
        if (min < 0) {
          min = k;
          mask = 1 << act[k];
          continue;
        }
        const c = cmp(sets[k].data, pos[k], sets[min].data, pos[min]);
        if (c < 0) {
          min = k;
          mask = 1 << act[k];
        } else if (c === 0) mask |= 1 << act[k];
      }
      if (min < 0) break;
      const d = sets[min].data, i = pos[min];
      if (mask !== this.#active) {
        const key = vrpKey(d, i);
        seen.add(key);
        this.#update(key, mask, now);
      }
      for (let k = 0; k < act.length; k++) if (mask & (1 << act[k])) pos[k]++;
    }
    const keyIds = new Set<string>(), aspaIds = new Set<string>();
    for (const s of act) {
      for (const [id, v] of this.#keys[s]) {
        if (keyIds.has(id)) continue;
        keyIds.add(id);
        seen.add("k" + id);
        this.#update("k" + id, this.#keyMask(id), now, v);
      }
      for (const [id, v] of this.#aspas[s]) {
        if (aspaIds.has(id)) continue;
        aspaIds.add(id);
        seen.add("a" + id);
        this.#update("a" + id, this.#aspaMask(id), now, v);
      }
    }
    // Entries for VRPs now held everywhere (or nowhere) were not visited by the merge.
    for (const key of [...this.#div.keys()]) {
      if (seen.has(key)) continue;
      if (kindOf(key) === "vrp") this.#update(key, this.#vrpMask(keyWords(key), 0), now);
      else this.#update(key, 0, now);
    }
  }

  #record(key: string, e: Entry): PayloadRecord {
    const kind = kindOf(key);
    if (kind === "vrp") return { kind, value: vrpAt(keyWords(key), 0) };
    if (kind === "routerKey") return { kind, value: e.value as RouterKey };
    return { kind, value: e.value as Aspa };
  }

  #disagreement(key: string, e: Entry): IndexEvent {
    return {
      kind: "disagreement",
      record: this.#record(key, e),
      have: bits(e.mask, this.sources),
      lack: bits(this.#active & ~e.mask, this.sources),
      since: e.since,
    };
  }

  #drain(now: number): IndexEvent[] {
    for (const [key, e] of this.#pending) {
      if (now - e.since < this.graceMs) break;
      this.#pending.delete(key);
      e.reported = true;
      this.#events.push(this.#disagreement(key, e));
    }
    const out = this.#events;
    this.#events = [];
    return out;
  }
}

function kindOf(key: string): PayloadKind {
  const c = key.charCodeAt(0);
  return c === 0x76 ? "vrp" : c === 0x6b ? "routerKey" : "aspa";
}
