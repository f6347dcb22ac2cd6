/** Small builders shared by the store and diff tests: tables, syncs and temporary directories. */
import {
  type Aspa,
  diffTables,
  makeTable,
  type PayloadTable,
  type RouterKey,
  VrpSet,
} from "../../lib/model/mod.ts";
import type { HistoryStore, SyncRecord } from "../../lib/store/mod.ts";

/** A VRP as a tuple: prefix, maxLength, ASN. */
export type V = [string, number, number];

/** Build a table from tuples. */
export function table(vrps: V[], keys: RouterKey[] = [], aspas: Aspa[] = []): PayloadTable {
  return makeTable(
    VrpSet.from(vrps.map(([prefix, maxLength, asn]) => ({ prefix, maxLength, asn }))),
    keys,
    aspas,
  );
}

/** A router key with a 40-digit SKI made from `n`. */
export function key(asn: number, n: number, pubkey = "MFkwEwYHKoZIzj0CAQ=="): RouterKey {
  return { asn, ski: n.toString(16).padStart(40, "0").toUpperCase(), pubkey };
}

/** A fresh temporary directory (removed by the returned cleanup). */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "rtr-store-test-" });
  return { dir, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/** Records syncs of a sequence of tables into a store, as `follow` would. */
export class Recorder {
  store: HistoryStore;
  time: Date;
  prev: PayloadTable | null = null;
  prevSerial: number | undefined;
  constructor(store: HistoryStore, start = new Date(Date.UTC(2026, 6, 20, 10, 0, 0))) {
    this.store = store;
    this.time = start;
  }

  /** Record `t` at `serial` (a reset when `reset` or when nothing was recorded yet). */
  async sync(
    t: PayloadTable,
    serial: number,
    opts: { sessionId?: number; reset?: boolean; stepMs?: number } = {},
  ): Promise<string> {
    const reset = opts.reset ?? this.prev === null;
    const rec: SyncRecord = {
      time: this.time,
      sessionId: opts.sessionId ?? 4660,
      version: 2,
      serial,
      previousSerial: this.prevSerial,
      reset,
      diff: diffTables(this.prev ?? makeTable(new VrpSet(), [], []), t),
      table: t,
      previous: this.prev ?? undefined,
      timers: { refresh: 3600, retry: 600, expire: 7200 },
      source: "127.0.0.1:8282",
    };
    const path = await this.store.recordSync(rec);
    this.prev = t;
    this.prevSerial = serial;
    this.time = new Date(this.time.getTime() + (opts.stepMs ?? 60_000));
    return path;
  }
}
