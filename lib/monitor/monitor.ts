/**
 * The judgement of `rtr monitor`, without I/O: source events in (a committed table, a lost or
 * failed connection, an expired table), records out (`disagreement`, `resolved`, `summary`,
 * `stale`, `unreachable`, `recovered`), and the state the metrics show. A cache whose serial has
 * not moved for `staleAfterMs` while another moved is stale; so is one whose data outlived its
 * Expire (RFC 8210 §6). Time is passed in.
 */
import { type PayloadTable, type TableCounts, tableCounts, type VrpSet } from "../model/mod.ts";
import { ComparisonIndex, type IndexEvent, type PairCounts } from "./comparison_index.ts";
import { kindCounts, type MonitorRecord } from "../formats/records.ts";

/** Default visibility buckets (seconds): a difference counted in every bucket it has outlived. */
export const DEFAULT_BUCKETS = [0, 60, 300, 900, 3600, 14400];

/** What the monitor knows of one source. */
export interface SourceState {
  name: string;
  kind: "cache" | "file";
  serial?: number;
  sessionId?: number;
  version?: number;
  counts: TableCounts | null;
  /** Time of the last successful sync or read (ms). */
  lastSuccess: number | null;
  connected: boolean;
  /** When the serial (a file: its content) last moved, or the first table arrived. */
  lastMove: number | null;
  /** When the serial last moved after the first table (null: not yet). */
  lastChange: number | null;
  stale: boolean;
  unreachable: boolean;
}

/** A committed table of one source. */
export interface SourceSync {
  table: PayloadTable;
  /** The exact VRP change from the table held before (absent: compare everything). */
  vrpDelta?: { announced: VrpSet; withdrawn: VrpSet };
  serial?: number;
  sessionId?: number;
  version?: number;
  /** True when the content changed (files: the table differs from the last read). */
  changed?: boolean;
}

/** Options of the monitor. */
export interface MonitorOptions {
  sources: { name: string; kind: "cache" | "file" }[];
  graceMs: number;
  staleAfterMs: number;
  /** Period of `summary` records (ms). */
  summaryEveryMs: number;
  bucketsSec?: number[];
  emit: (r: MonitorRecord) => void;
}

/** N sources compared continuously. */
export class Monitor {
  readonly index: ComparisonIndex;
  readonly sources: SourceState[];
  readonly bucketsSec: number[];
  readonly #o: MonitorOptions;
  #nextSummary: number | null = null;

  constructor(o: MonitorOptions) {
    this.#o = o;
    this.bucketsSec = o.bucketsSec ?? DEFAULT_BUCKETS;
    this.index = new ComparisonIndex({ sources: o.sources.length, graceMs: o.graceMs });
    this.sources = o.sources.map((s) => ({
      name: s.name,
      kind: s.kind,
      counts: null,
      lastSuccess: null,
      connected: false,
      lastMove: null,
      lastChange: null,
      stale: false,
      unreachable: false,
    }));
  }

  /** Source `s` connected (caches). */
  connected(s: number): void {
    this.sources[s].connected = true;
  }

  /** Source `s` committed a table. */
  sync(s: number, sync: SourceSync, now: number): void {
    const st = this.sources[s];
    const moved = st.lastMove === null ||
      (st.kind === "cache"
        ? sync.serial !== st.serial || sync.sessionId !== st.sessionId
        : sync.changed === true);
    st.serial = sync.serial;
    st.sessionId = sync.sessionId;
    st.version = sync.version;
    st.counts = tableCounts(sync.table);
    st.lastSuccess = now;
    if (st.kind === "cache") st.connected = true;
    if (st.unreachable) {
      st.unreachable = false;
      this.#o.emit({
        type: "recovered",
        source: st.name,
        from: "unreachable",
        serial: st.serial,
        time: now,
      });
    }
    if (moved) {
      if (st.lastMove !== null) st.lastChange = now;
      st.lastMove = now;
      if (st.stale) {
        st.stale = false;
        this.#o.emit({
          type: "recovered",
          source: st.name,
          from: "stale",
          serial: st.serial,
          time: now,
        });
      }
    }
    this.#index(this.index.setTable(s, sync.table, now, sync.vrpDelta), now);
    this.#nextSummary ??= now + this.#o.summaryEveryMs;
  }

  /** Source `s` cannot be reached or read (`reason` in words). */
  lost(s: number, reason: string, now: number): void {
    const st = this.sources[s];
    st.connected = false;
    if (st.unreachable) return;
    st.unreachable = true;
    this.#o.emit({ type: "unreachable", source: st.name, reason, time: now });
  }

  /** Source `s` flushed its table: Expire passed without a successful sync. */
  expired(s: number, now: number): void {
    const st = this.sources[s];
    if (!st.stale) {
      st.stale = true;
      this.#o.emit({
        type: "stale",
        source: st.name,
        reason: "expired",
        serial: st.serial,
        since: st.lastSuccess ?? now,
        time: now,
      });
    }
    st.counts = null;
    st.serial = undefined;
    st.lastMove = null;
    this.#index(this.index.dropTable(s, now), now);
  }

  /** Time passes: due disagreements, stale sources and the periodic summary. */
  tick(now: number): void {
    this.#index(this.index.tick(now), now);
    const srcs = this.sources;
    for (let s = 0; s < srcs.length; s++) {
      const st = srcs[s];
      // An unreachable source is reported as such; "frozen serial" is for one that answers.
      if (st.stale || st.unreachable || st.lastMove === null) continue;
      if (now - st.lastMove < this.#o.staleAfterMs) continue;
      // Another source moved after this one did, and recently: it is alive, this one frozen.
      const othersMoved = srcs.some((o, j) =>
        j !== s && o.lastChange !== null && o.lastChange > st.lastMove! &&
        now - o.lastChange < this.#o.staleAfterMs
      );
      if (!othersMoved) continue;
      st.stale = true;
      this.#o.emit({
        type: "stale",
        source: st.name,
        reason: "serial",
        serial: st.serial,
        since: st.lastMove,
        time: now,
      });
    }
    if (this.#nextSummary !== null && now >= this.#nextSummary) {
      this.#nextSummary = now + this.#o.summaryEveryMs;
      this.summary(now);
    }
  }

  /** When `tick` next has something to do (ms; never a deadline already handled). */
  nextDue(now: number): number {
    let t = this.#nextSummary ?? now + this.#o.summaryEveryMs;
    const due = this.index.nextDue;
    if (due !== null) t = Math.min(t, due);
    // A frozen source whose deadline passed can only turn stale when another one moves, which
    // comes with a sync (and a tick): only deadlines still ahead count here.
    for (const st of this.sources) {
      if (st.stale || st.lastMove === null) continue;
      const at = st.lastMove + this.#o.staleAfterMs;
      if (at > now) t = Math.min(t, at);
    }
    return Math.max(t, now);
  }

  /** Emit one `summary` per pair of compared sources now. */
  summary(now: number): void {
    const pc = this.index.pairCounts(now, this.bucketsSec);
    const n = this.sources.length;
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        const ab = pc[a][b], ba = pc[b][a];
        if (!ab || !ba) continue;
        this.#o.emit({
          type: "summary",
          a: this.sources[a].name,
          b: this.sources[b].name,
          onlyA: kindCounts(ab.byKind),
          onlyB: kindCounts(ba.byKind),
          visible: this.bucketsSec.map((s, k) => [s, total(ab, k) + total(ba, k)]),
          time: now,
        });
      }
    }
  }

  #index(events: IndexEvent[], now: number): void {
    const names = (xs: number[]) => xs.map((s) => this.sources[s].name);
    for (const e of events) {
      if (e.kind === "disagreement") {
        this.#o.emit({
          type: "disagreement",
          payload: e.record,
          have: names(e.have),
          lack: names(e.lack),
          since: e.since,
          time: now,
        });
      } else {
        this.#o.emit({
          type: "resolved",
          payload: e.record,
          since: e.since,
          everywhere: e.everywhere,
          time: now,
        });
      }
    }
  }
}

function total(c: PairCounts, k: number): number {
  return c.visible.vrp[k] + c.visible.routerKey[k] + c.visible.aspa[k];
}
