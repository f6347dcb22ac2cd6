/**
 * The history directory that `rtr follow` keeps and `rtr diff` reads (`--data-dir`, default
 * `./data`; the original Python client's layout):
 *
 * ```
 * DIR/YYYY-MM/YYYY-MM-DD-HHMMSS.routes.SSSSSSSS.NNNNNNNN.json   one file per serial (serial_file.ts)
 * DIR/routingtable.json                                         the current table, rpki-client JSON
 * DIR/state.json                                                session state to resume from
 * ```
 *
 * API (for `follow` and `diff`):
 * - `HistoryStore.open(dir, { create })`: open (and with `create`, make) the directory; checks that
 *   state and table agree and repairs the state after a crash (see below); `notes` says what it
 *   found.
 * - `readState()`: the {@link StoredState} to resume from (Serial Query with its session and
 *   serial), or null when there is none (start with a Reset Query).
 * - `recordSync(rec)`: record one End of Data (every new serial, even one that changed nothing;
 *   a poll answered with the same serial adds no per-serial file).
 * - `loadCurrentTable()`: the table in routingtable.json, or null.
 * - `flush()`: forget the table and state (Expire passed, RFC 8210 §6): the next run resets.
 * - `listSerials()`, `readHeader(e)`, `readEntry(e)`: the per-serial files, oldest first.
 *
 * Every file is written under a temporary name in its own directory, fsynced and renamed
 * and the directory fsynced (AtomicFile), in this order: per-serial file, routingtable.json,
 * state.json. A `kill -9` at any moment therefore leaves complete files only (a stray
 * `.NAME.PID.RANDOM.tmp` at worst (lib/io/atomic_file.ts's pattern), ignored and removed by the
 * next `open`), a history that
 * holds the serial of the table, and a table whose metadata names its session and serial. When the
 * process died after writing the table but before the state, `open` sees the table's newer serial
 * and rewrites the state from it; when it died before the table, the state still matches the old
 * table and the next sync records the same serial again (the chain logic in history_diff.ts takes
 * the later copy).
 */
import { InputError } from "../errors.ts";
import { AtomicFile, parseTemporaryName, syncDirectory, writeFileAtomic } from "../io/mod.ts";
import { DEFAULT_TIMERS, type PayloadTable, type TableDiff } from "../model/mod.ts";
import { serialCompare } from "../serial.ts";
import { writeTable } from "../formats/write.ts";
import { recordTime } from "../formats/records.ts";
import { readTableFile } from "../formats/read.ts";
import { exactFromNet, tableAsDelta } from "./delta.ts";
import {
  parseSerialFile,
  parseSerialFileName,
  parseSerialHeader,
  type SerialFileName,
  serialFilePath,
  type SerialHeader,
  type SerialRecord,
  writeSerialFile,
} from "./serial_file.ts";

/** Name of the current-table file in the data directory. */
export const TABLE_FILE = "routingtable.json";
/** Name of the state file in the data directory. */
export const STATE_FILE = "state.json";

/** The session state kept in state.json. */
export interface StoredState {
  /** Negotiated protocol version. */
  version: number;
  sessionId: number;
  serial: number;
  /** Timers from the last End of Data, seconds. */
  refresh: number;
  retry: number;
  expire: number;
  /** RFC 3339 time of the last successful sync. */
  lastSuccess: string;
  /** The cache, `host:port`. */
  source: string;
}

/** One End of Data to record. */
export interface SyncRecord {
  /** Time of the End of Data. */
  time: Date;
  sessionId: number;
  version: number;
  serial: number;
  /** Serial the delta applies to (for a reset: the serial held before, if any). */
  previousSerial?: number;
  /** True when the response replaced the whole table (answer to a Reset Query). */
  reset: boolean;
  /** What changed (diffTables' shape); ignored for a reset, whose file holds the whole table. */
  diff: TableDiff;
  /** The table after this End of Data. */
  table: PayloadTable;
  /** The table before it (default: the one last recorded); gives a changed ASPA's old value. */
  previous?: PayloadTable;
  timers: { refresh: number; retry: number; expire: number };
  /** The cache, `host:port`. */
  source: string;
  /**
   * The serial a `follow --serial` started from, on the first delta of such a run: the table
   * is partial (the cache never sends what came before) until a full table (a reset) arrives.
   */
  partialFrom?: number;
}

/** The warning for a partial table, said once by `validate`, `show` and `diff`. */
export function partialTableWarning(partialFrom: number): string {
  const from = partialFrom >= 0 ? `from serial ${partialFrom} ` : "";
  return `the data dir's table is partial: follow started ${from}with --serial; run follow without --serial for a full table`;
}

/** The `partialFrom` serial of a table's metadata when it says `"partial":true`, else null. */
export function metadataPartialFrom(meta: Record<string, unknown> | null): number | null {
  if (meta?.partial !== true) return null;
  return typeof meta.partialFrom === "number" ? meta.partialFrom : -1;
}

/** A per-serial file found in the directory. */
export interface HistoryEntry extends SerialFileName {
  /** Path relative to the data directory (`YYYY-MM/….json`). */
  path: string;
}

/** Options of {@link HistoryStore.open}. */
export interface HistoryStoreOptions {
  /** Create the directory when missing and repair state on disk (follow); default false. */
  create?: boolean;
}

const MONTH_RE = /^\d{4}-\d{2}$/;

/** fsync a directory so a rename in it is durable (best effort). */
const syncDir = syncDirectory;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Read the `metadata` object at the head of an rpki-client JSON file without parsing the rest. */
export async function readTableMetadata(path: string): Promise<Record<string, unknown> | null> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const buf = new Uint8Array(1 << 16);
    let n = 0;
    while (n < buf.length) {
      const r = await f.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    const text = new TextDecoder().decode(buf.subarray(0, n));
    const m = /"metadata"\s*:\s*\{/.exec(text);
    if (!m) return null;
    const start = m.index + m[0].length - 1;
    let depth = 0, inStr = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inStr) {
        if (c === "\\") i++;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) {
        try {
          return JSON.parse(text.slice(start, i + 1));
        } catch {
          return null;
        }
      }
    }
    return null;
  } finally {
    f.close();
  }
}

function numField(o: Record<string, unknown>, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = o[n];
    if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  }
  return undefined;
}

function parseState(text: string): StoredState | null {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof j !== "object" || j === null) return null;
  const n = (k: string) => numField(j, k);
  const s = {
    version: n("version"),
    sessionId: n("sessionId"),
    serial: n("serial"),
    refresh: n("refresh"),
    retry: n("retry"),
    expire: n("expire"),
    lastSuccess: j.lastSuccess,
    source: j.source,
  };
  if (
    s.version === undefined || s.sessionId === undefined || s.serial === undefined ||
    s.refresh === undefined || s.retry === undefined || s.expire === undefined ||
    typeof s.lastSuccess !== "string" || Number.isNaN(Date.parse(s.lastSuccess)) ||
    typeof s.source !== "string"
  ) return null;
  return s as StoredState;
}

function stateJson(s: StoredState): string {
  return JSON.stringify(
    {
      version: s.version,
      sessionId: s.sessionId,
      serial: s.serial,
      refresh: s.refresh,
      retry: s.retry,
      expire: s.expire,
      lastSuccess: s.lastSuccess,
      source: s.source,
    },
    null,
    2,
  ) + "\n";
}

/** RFC 3339 UTC time to the second (the records' one time format). */
const rfc3339 = recordTime;

/** The history directory: per-serial files, current table and state. */
export class HistoryStore {
  /** The data directory. */
  readonly dir: string;
  /** What `open` noticed and repaired, one sentence each (for stderr). */
  readonly notes: string[] = [];
  #state: StoredState | null = null;
  #table: PayloadTable | null | undefined = undefined;
  #writable: boolean;
  #partialFrom: number | null = null;

  private constructor(dir: string, writable: boolean) {
    this.dir = dir.replace(/\/+$/, "") || "/";
    this.#writable = writable;
  }

  /** Open the data directory (creating it with `create`) and reconcile state with table. */
  static async open(dir: string, opts: HistoryStoreOptions = {}): Promise<HistoryStore> {
    const store = new HistoryStore(dir, opts.create === true);
    if (opts.create) {
      await Deno.mkdir(store.dir, { recursive: true });
      await store.#removeStaleTemporaryFiles();
    } else {
      let st: Deno.FileInfo;
      try {
        st = await Deno.stat(store.dir);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new InputError(`No history directory ${store.dir} (see --data-dir)`);
        }
        throw e;
      }
      if (!st.isDirectory) throw new InputError(`${store.dir} is not a directory`);
    }
    await store.#reconcile();
    return store;
  }

  /** Path of a file inside the data directory. */
  path(rel: string): string {
    return `${this.dir}/${rel}`;
  }

  async #reconcile(): Promise<void> {
    let text: string | null = null;
    try {
      text = await Deno.readTextFile(this.path(STATE_FILE));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const state = text === null ? null : parseState(text);
    if (text !== null && state === null) {
      this.notes.push(`${this.path(STATE_FILE)} is not a valid state file: ignored`);
    }
    const meta = await readTableMetadata(this.path(TABLE_FILE));
    this.#partialFrom = metadataPartialFrom(meta);
    const tableExists = meta !== null || await exists(this.path(TABLE_FILE));
    if (!tableExists) {
      if (state) {
        this.notes.push(
          `${
            this.path(STATE_FILE)
          } names serial ${state.serial} but ${TABLE_FILE} is missing: starting afresh`,
        );
      }
      this.#state = null;
      this.#table = null;
      return;
    }
    const sessionId = meta ? numField(meta, "sessionId", "session_id", "session") : undefined;
    const serial = meta ? numField(meta, "serial") : undefined;
    if (sessionId === undefined || serial === undefined) {
      // A table without identity (flushed, or written by something else): nothing to resume.
      if (state) {
        this.notes.push(
          `${TABLE_FILE} does not name a session and serial: ignoring ${STATE_FILE}`,
        );
      }
      this.#state = null;
      return;
    }
    if (state && state.sessionId === sessionId && state.serial === serial) {
      this.#state = state;
      return;
    }
    // The table is newer than the state (the process died between the two writes), or the
    // state is missing: the table's metadata has everything the state holds.
    const m = meta!;
    const buildtime = typeof m.buildtime === "string" && !Number.isNaN(Date.parse(m.buildtime))
      ? m.buildtime
      : typeof m.generated === "number"
      ? rfc3339(new Date(m.generated * 1000))
      : state?.lastSuccess ?? rfc3339(new Date(0));
    const repaired: StoredState = {
      version: numField(m, "version") ?? state?.version ?? 0,
      sessionId,
      serial,
      refresh: numField(m, "refresh") ?? state?.refresh ?? DEFAULT_TIMERS.refresh,
      retry: numField(m, "retry") ?? state?.retry ?? DEFAULT_TIMERS.retry,
      expire: numField(m, "expire") ?? state?.expire ?? DEFAULT_TIMERS.expire,
      lastSuccess: buildtime,
      source: typeof m.source === "string" ? m.source : state?.source ?? "",
    };
    this.notes.push(
      state
        ? `${STATE_FILE} named session ${state.sessionId} serial ${state.serial} but ${TABLE_FILE} holds session ${sessionId} serial ${serial}: state repaired from the table`
        : `${STATE_FILE} is missing: state rebuilt from ${TABLE_FILE} (session ${sessionId} serial ${serial})`,
    );
    this.#state = repaired;
    if (this.#writable) {
      await writeFileAtomic(this.path(STATE_FILE), stateJson(repaired));
    }
  }

  async #removeStaleTemporaryFiles(): Promise<void> {
    let proc = false;
    try {
      proc = (await Deno.stat("/proc/self")).isDirectory;
    } catch { /* no procfs: leave temporary files alone */ }
    if (!proc) return;
    const dirs = [this.dir];
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isDirectory && MONTH_RE.test(e.name)) dirs.push(this.path(e.name));
    }
    for (const d of dirs) {
      for await (const e of Deno.readDir(d)) {
        const m = parseTemporaryName(e.name);
        if (!m || !e.isFile) continue;
        const pid = m.pid;
        if (pid === Deno.pid || await exists(`/proc/${pid}`)) continue;
        await Deno.remove(`${d}/${e.name}`).catch(() => {});
      }
    }
  }

  /**
   * The serial `follow --serial` started from when routingtable.json is partial (it holds only
   * the changes since), else null; -1 when the file says partial without a serial.
   */
  get partialFrom(): number | null {
    return this.#partialFrom;
  }

  /** The state to resume from, or null when a Reset Query is needed. */
  readState(): Promise<StoredState | null> {
    return Promise.resolve(this.#state);
  }

  /** The current table (routingtable.json), or null when there is none. */
  async loadCurrentTable(): Promise<PayloadTable | null> {
    if (this.#table !== undefined) return this.#table;
    if (!await exists(this.path(TABLE_FILE))) {
      this.#table = null;
      return null;
    }
    const loaded = await readTableFile(this.path(TABLE_FILE));
    this.#table = loaded.table;
    return loaded.table;
  }

  /**
   * Record one End of Data: the per-serial file, then routingtable.json, then state.json, each
   * atomic. Returns the per-serial file's path relative to the directory. A delta from a serial
   * to itself (a poll that found nothing new) writes no per-serial file, only table and state.
   */
  async recordSync(rec: SyncRecord): Promise<string> {
    if (!this.#writable) throw new InputError(`History ${this.dir} was opened read-only`);
    let delta: TableDiff;
    if (rec.reset) {
      delta = tableAsDelta(rec.table);
    } else {
      const changesAspa = rec.diff.aspas.announced.length > 0 ||
        rec.diff.aspas.withdrawn.length > 0;
      const before = changesAspa
        ? (rec.previous ?? await this.loadCurrentTable())?.aspas ?? []
        : [];
      delta = exactFromNet(rec.diff, before);
    }
    const rel = serialFilePath(rec.time, rec.sessionId, rec.serial);
    // A poll that found the same serial again is no new serial: recording it would only
    // shadow the file that holds the serial's real delta.
    const sameSerial = !rec.reset && rec.previousSerial === rec.serial;
    if (!sameSerial) {
      const month = this.path(rel.slice(0, 7));
      await Deno.mkdir(month, { recursive: true });
      const hf = await AtomicFile.create(this.path(rel));
      try {
        await writeSerialFile(hf.sink, {
          serial: rec.serial,
          sessionId: rec.sessionId,
          reset: rec.reset,
          version: rec.version,
          previousSerial: rec.previousSerial,
          time: rec.time,
          delta,
        });
        await hf.commit();
      } catch (e) {
        await hf.abort();
        throw e;
      }
    }

    // A full table ends partiality; a --serial start begins it, and later deltas keep it.
    const partialFrom = rec.reset ? null : (rec.partialFrom ?? this.#partialFrom);
    const tf = await AtomicFile.create(this.path(TABLE_FILE));
    try {
      await writeTable(tf.sink, rec.table, "json", {
        source: rec.source,
        version: rec.version,
        sessionId: rec.sessionId,
        serial: rec.serial,
        refresh: rec.timers.refresh,
        retry: rec.timers.retry,
        expire: rec.timers.expire,
        generated: rec.time,
        reset: rec.reset,
        partialFrom: partialFrom ?? undefined,
      });
      await tf.commit();
    } catch (e) {
      await tf.abort();
      throw e;
    }
    this.#table = rec.table;
    this.#partialFrom = partialFrom;

    const state: StoredState = {
      version: rec.version,
      sessionId: rec.sessionId,
      serial: rec.serial,
      refresh: rec.timers.refresh,
      retry: rec.timers.retry,
      expire: rec.timers.expire,
      lastSuccess: rfc3339(rec.time),
      source: rec.source,
    };
    await writeFileAtomic(this.path(STATE_FILE), stateJson(state));
    this.#state = state;
    return rel;
  }

  /**
   * Forget the table and the state (Expire passed without a successful sync): state.json is
   * removed first, then routingtable.json; the history files stay.
   */
  async flush(): Promise<void> {
    if (!this.#writable) throw new InputError(`History ${this.dir} was opened read-only`);
    await Deno.remove(this.path(STATE_FILE)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.remove(this.path(TABLE_FILE)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await syncDir(this.dir);
    this.#state = null;
    this.#table = null;
    this.#partialFrom = null;
  }

  /** Every per-serial file, oldest first (by time, then RFC 1982 serial order). */
  async listSerials(): Promise<HistoryEntry[]> {
    const out: HistoryEntry[] = [];
    const months: string[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isDirectory && MONTH_RE.test(e.name)) months.push(e.name);
    }
    for (const m of months) {
      for await (const e of Deno.readDir(this.path(m))) {
        if (!e.isFile) continue;
        const p = parseSerialFileName(e.name);
        if (p) out.push({ ...p, path: `${m}/${e.name}` });
      }
    }
    return out.sort((a, b) =>
      a.time.getTime() - b.time.getTime() ||
      (a.sessionId ?? -1) - (b.sessionId ?? -1) ||
      serialCompare(a.serial, b.serial) ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
    );
  }

  /** The header fields of a per-serial file (read from its first bytes when possible). */
  async readHeader(e: HistoryEntry): Promise<SerialHeader> {
    const f = await Deno.open(this.path(e.path), { read: true });
    let head: string;
    try {
      const buf = new Uint8Array(1024);
      let n = 0;
      while (n < buf.length) {
        const r = await f.read(buf.subarray(n));
        if (r === null) break;
        n += r;
      }
      head = new TextDecoder().decode(buf.subarray(0, n));
    } finally {
      f.close();
    }
    const h = parseSerialHeader(head);
    if (h) return h;
    const r = await this.readEntry(e);
    return {
      serial: r.serial,
      sessionId: r.sessionId,
      reset: r.reset,
      previousSerial: r.previousSerial,
      version: r.version,
    };
  }

  /** Read and parse a per-serial file. */
  async readEntry(e: HistoryEntry): Promise<SerialRecord> {
    const text = await Deno.readTextFile(this.path(e.path));
    return parseSerialFile(text, this.path(e.path));
  }
}
