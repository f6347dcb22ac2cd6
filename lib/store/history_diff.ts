/**
 * What changed between two recorded serials, from the per-serial files alone.
 *
 * The files form chains: each delta names the serial it applies to (`previous_serial`), within
 * its session, and a reset file starts a chain. From serial B the chain is walked back through
 * those links (RFC 1982 serials, wrap-around included; the latest earlier copy of a serial wins)
 * until serial A is met — then the deltas on the way are composed — or until a reset — then the
 * full tables at A and at B are rebuilt (each from its own reset, plus the deltas after it) and
 * compared. A delta whose predecessor is not in the directory is a gap: an error naming the
 * missing serial. Files of the old client carry neither `reset` nor `previous_serial`: such a
 * file follows the file before it in the same session, and the first file of a session is taken
 * as its full table.
 */
import { InputError } from "../errors.ts";
import { emptyTable, type PayloadTable, type TableDiff } from "../model/mod.ts";
import { applyDelta, composeDeltas, emptyDelta, exactDiff, invertDelta } from "./delta.ts";
import type { HistoryEntry, HistoryStore } from "./history_store.ts";
import type { SerialHeader } from "./serial_file.ts";

/** Which recorded serial to use. */
export interface SerialRef {
  serial: number;
  /** Restrict to this session id (default: the most recent copy of the serial). */
  sessionId?: number;
}

/** How a serial diff was computed. */
export interface SerialDiffResult {
  /** Exact delta from A to B (a changed ASPA withdrawn and announced; see delta.ts). */
  delta: TableDiff;
  from: HistoryEntry;
  to: HistoryEntry;
  /** "deltas" when the recorded deltas were composed, "tables" when full tables were compared. */
  method: "deltas" | "tables";
  /** Number of per-serial files read. */
  filesRead: number;
}

function describe(e: HistoryEntry): string {
  return e.sessionId === null
    ? `serial ${e.serial}`
    : `serial ${e.serial} of session ${e.sessionId}`;
}

/** The chains of a history directory, walked on demand. */
export class HistoryChain {
  readonly store: HistoryStore;
  readonly entries: HistoryEntry[];
  #headers = new Map<number, SerialHeader>();
  /** Entry indices by `session/serial`, ascending. */
  #bySerial = new Map<string, number[]>();
  /** Entry indices by session, ascending. */
  #bySession = new Map<string, number[]>();
  filesRead = 0;

  private constructor(store: HistoryStore, entries: HistoryEntry[]) {
    this.store = store;
    this.entries = entries;
    entries.forEach((e, i) => {
      const k = `${e.sessionId}/${e.serial}`;
      (this.#bySerial.get(k) ?? this.#bySerial.set(k, []).get(k)!).push(i);
      const s = `${e.sessionId}`;
      (this.#bySession.get(s) ?? this.#bySession.set(s, []).get(s)!).push(i);
    });
  }

  /** Index the per-serial files of `store`. */
  static async load(store: HistoryStore): Promise<HistoryChain> {
    return new HistoryChain(store, await store.listSerials());
  }

  /** What the directory holds, for error messages. */
  summary(): string {
    if (this.entries.length === 0) return `${this.store.dir} holds no per-serial files`;
    const sessions = new Map<string, HistoryEntry[]>();
    for (const e of this.entries) {
      const k = e.sessionId === null ? "no session" : `session ${e.sessionId}`;
      (sessions.get(k) ?? sessions.set(k, []).get(k)!).push(e);
    }
    const parts = [...sessions].map(([k, es]) =>
      es.length === 1
        ? `serial ${es[0].serial} of ${k}`
        : `serials ${es[0].serial} to ${es[es.length - 1].serial} of ${k}`
    );
    return `${this.store.dir} holds ${parts.join(", ")}`;
  }

  /** Index of the most recent file for `ref`; InputError naming it when there is none. */
  resolve(ref: SerialRef, before?: number): number {
    let best = -1;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.serial !== ref.serial) continue;
      if (ref.sessionId !== undefined && e.sessionId !== ref.sessionId) continue;
      if (best < 0) best = i;
      if (before === undefined || i < before) return i;
    }
    if (best >= 0) return best;
    const what = ref.sessionId === undefined
      ? `Serial ${ref.serial}`
      : `Serial ${ref.serial} of session ${ref.sessionId}`;
    throw new InputError(`${what} is not in the history: ${this.summary()}`);
  }

  async header(i: number): Promise<SerialHeader> {
    let h = this.#headers.get(i);
    if (!h) {
      h = await this.store.readHeader(this.entries[i]);
      this.#headers.set(i, h);
    }
    return h;
  }

  /**
   * The file entry `i` applies to: null when `i` is a full table. A delta whose predecessor is
   * missing throws InputError naming the missing serial.
   */
  async predecessor(i: number): Promise<number | null> {
    const e = this.entries[i];
    const h = await this.header(i);
    if (h.reset === true) return null;
    if (h.previousSerial !== undefined) {
      const list = this.#bySerial.get(`${e.sessionId}/${h.previousSerial}`) ?? [];
      for (let k = list.length - 1; k >= 0; k--) if (list[k] < i) return list[k];
      const sess = e.sessionId === null ? "" : ` of session ${e.sessionId}`;
      throw new InputError(
        `History has a gap: serial ${h.previousSerial}${sess} is missing from ${this.store.dir} ` +
          `(serial ${e.serial} was recorded as a delta from it)`,
      );
    }
    // Old layout: the previous file of the same session, or a full table when it is the first.
    const list = this.#bySession.get(`${e.sessionId}`) ?? [];
    const pos = list.indexOf(i);
    if (pos > 0) return list[pos - 1];
    if (h.reset === false) {
      throw new InputError(
        `History has a gap: nothing before ${describe(e)} in ${this.store.dir}, which is a delta`,
      );
    }
    return null;
  }

  /**
   * Walk back from entry `from` until `target` (exclusive) or a full table (inclusive). Returns
   * the entries passed, newest first, and whether `target` was reached.
   */
  async walkBack(from: number, target?: number): Promise<{ path: number[]; reached: boolean }> {
    const path: number[] = [];
    let cur: number | null = from;
    const seen = new Set<number>();
    while (cur !== null) {
      if (cur === target) return { path, reached: true };
      if (seen.has(cur)) {
        throw new InputError(`History loops at ${describe(this.entries[cur])}`);
      }
      seen.add(cur);
      path.push(cur);
      cur = await this.predecessor(cur);
    }
    return { path, reached: false };
  }

  /** Read the deltas of entries `path` (newest first) and compose them oldest first. */
  async composePath(path: number[]): Promise<TableDiff> {
    let d = emptyDelta();
    for (let k = path.length - 1; k >= 0; k--) {
      const rec = await this.store.readEntry(this.entries[path[k]]);
      this.filesRead++;
      d = composeDeltas(d, rec.delta);
    }
    return d;
  }

  /** The full table after entry `i`: its chain's reset plus the deltas after it, composed. */
  async tableAt(i: number): Promise<PayloadTable> {
    const { path } = await this.walkBack(i);
    const base = await this.store.readEntry(this.entries[path[path.length - 1]]);
    this.filesRead++;
    const rest = await this.composePath(path.slice(0, -1));
    return applyDelta(applyDelta(emptyTable(), base.delta), rest);
  }

  /** The exact change from entry `a` to entry `b` (either order). */
  async diffEntries(a: number, b: number): Promise<SerialDiffResult> {
    const from = this.entries[a], to = this.entries[b];
    if (a === b) return { delta: emptyDelta(), from, to, method: "deltas", filesRead: 0 };
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const walk = await this.walkBack(hi, lo);
    let delta: TableDiff;
    let method: "deltas" | "tables";
    if (walk.reached) {
      delta = await this.composePath(walk.path);
      method = "deltas";
    } else {
      const tLo = await this.tableAt(lo);
      const tHi = await this.tableAt(hi);
      delta = exactDiff(tLo, tHi);
      method = "tables";
    }
    if (a > b) delta = invertDelta(delta);
    return { delta, from, to, method, filesRead: this.filesRead };
  }
}

/**
 * The exact change from recorded serial `a` to recorded serial `b` in `store`. When a serial
 * was recorded more than once, B is its most recent copy and A the most recent copy before B.
 */
export async function diffSerials(
  store: HistoryStore,
  a: SerialRef,
  b: SerialRef,
): Promise<SerialDiffResult> {
  const chain = await HistoryChain.load(store);
  const ib = chain.resolve(b);
  const ia = chain.resolve(a, ib);
  return await chain.diffEntries(ia, ib);
}

/** The full table at recorded serial `ref` (its most recent copy). */
export async function tableAtSerial(
  store: HistoryStore,
  ref: SerialRef,
): Promise<{ table: PayloadTable; entry: HistoryEntry }> {
  const chain = await HistoryChain.load(store);
  const i = chain.resolve(ref);
  return { table: await chain.tableAt(i), entry: chain.entries[i] };
}
