/**
 * A cache's serials (RFC 8210 §5.1, serial arithmetic per RFC 1982): the current table and its
 * serial, and a bounded list of past serials, each kept as the merged VRP change from it to the
 * current table (composed with the one delta algebra, lib/model/delta.ts) plus its small
 * router-key and ASPA lists. `changesSince` answers what a Serial Query from an old serial needs
 * (RFC 8210 §6.2); a serial no longer held (or never served) gets null, i.e. Cache Reset (§6.3).
 */
import { serialAdd } from "../serial.ts";
import {
  type Aspa,
  diffIsEmpty,
  diffTables,
  type PayloadTable,
  type RouterKey,
  routerKeyId,
  VrpSet,
} from "../model/mod.ts";
import { composeVrpChanges, type VrpChange } from "../model/delta.ts";

/** A past serial: what changed from it to the current table. */
interface Past {
  serial: number;
  /** Merged VRP change from this serial to the current table. */
  vrps: VrpChange;
  routerKeys: RouterKey[];
  aspas: Aspa[];
}

/** What `SerialHistory.update` did. */
export interface UpdateResult {
  /** False when the new table equals the current one (no new serial). */
  changed: boolean;
  /** Serial now served. */
  serial: number;
  /** Serial served before (undefined for the first table). */
  previous?: number;
  /** Net change from the previous table (zeros for the first). */
  announced: number;
  /** Records withdrawn by this serial. */
  withdrawn: number;
}

/** The change from a held serial to the current table, as a Serial Query answer needs it. */
export interface SerialChanges {
  vrps: VrpChange;
  /** Router keys to announce (current keys the old serial lacked) and to withdraw. */
  routerKeys: { announced: RouterKey[]; withdrawn: RouterKey[] };
  /** ASPA records new or with other providers, and customers no longer present. */
  aspas: { announced: Aspa[]; withdrawn: Aspa[] };
}

/** Settings of a serial history. */
export interface SerialHistoryOptions {
  /** Past serials kept; default 16. */
  historySize?: number;
  /** Serial of the first table; default 1. */
  firstSerial?: number;
}

const EMPTY_SET = new VrpSet();

/** The current table, its serial, and the changes from recent serials to it. */
export class SerialHistory {
  readonly #historySize: number;
  readonly #firstSerial: number;
  #serial: number | undefined;
  #table: PayloadTable | undefined;
  /** Oldest first. */
  #past: Past[] = [];

  constructor(options: SerialHistoryOptions = {}) {
    this.#historySize = Math.max(0, options.historySize ?? 16);
    this.#firstSerial = (options.firstSerial ?? 1) >>> 0;
  }

  /** Serial of the current table (undefined before the first). */
  get serial(): number | undefined {
    return this.#serial;
  }

  /** The current table (undefined before the first). */
  get table(): PayloadTable | undefined {
    return this.#table;
  }

  /** Serials a Serial Query can be answered from with a delta, oldest first (current last). */
  get heldSerials(): number[] {
    const out = this.#past.map((p) => p.serial);
    if (this.#serial !== undefined) out.push(this.#serial);
    return out;
  }

  /**
   * Make `table` current. An unchanged table keeps the serial; a changed one gets the next
   * serial, and every held past serial's change is composed with the step.
   */
  update(table: PayloadTable): UpdateResult {
    const cur = this.#table, curSerial = this.#serial;
    if (cur === undefined || curSerial === undefined) {
      this.#table = table;
      this.#serial = this.#firstSerial;
      const n = table.vrps.size + table.routerKeys.length + table.aspas.length;
      return { changed: true, serial: this.#firstSerial, announced: n, withdrawn: 0 };
    }
    const d = diffTables(cur, table);
    if (diffIsEmpty(d)) {
      return { changed: false, serial: curSerial, previous: curSerial, announced: 0, withdrawn: 0 };
    }
    const serial = serialAdd(curSerial, 1);
    const step = d.vrps;
    // A delta larger than the table (and than 1024 records) costs more than a reset and would
    // hold memory: that serial is forgotten and gets Cache Reset.
    const limit = Math.max(table.vrps.size, 1024);
    const past: Past[] = [];
    for (const p of this.#past) {
      const vrps = composeVrpChanges(p.vrps, step);
      if (vrps.announced.size + vrps.withdrawn.size > limit) continue;
      past.push({ serial: p.serial, vrps, routerKeys: p.routerKeys, aspas: p.aspas });
    }
    if (step.announced.size + step.withdrawn.size <= limit) {
      past.push({ serial: curSerial, vrps: step, routerKeys: cur.routerKeys, aspas: cur.aspas });
    }
    while (past.length > this.#historySize) past.shift();
    this.#past = past;
    this.#table = table;
    this.#serial = serial;
    return {
      changed: true,
      serial,
      previous: curSerial,
      announced: step.announced.size + d.routerKeys.announced.length + d.aspas.announced.length,
      withdrawn: step.withdrawn.size + d.routerKeys.withdrawn.length + d.aspas.withdrawn.length,
    };
  }

  /**
   * The change from `serial` to the current table, or null when `serial` is not held. Router
   * keys and ASPA are worked out only when asked for (versions before 1 and 2 carry none).
   */
  changesSince(
    serial: number,
    want: { routerKeys: boolean; aspas: boolean },
  ): SerialChanges | null {
    const cur = this.#table;
    if (cur === undefined) return null;
    const none: SerialChanges = {
      vrps: { announced: EMPTY_SET, withdrawn: EMPTY_SET },
      routerKeys: { announced: [], withdrawn: [] },
      aspas: { announced: [], withdrawn: [] },
    };
    if (serial === this.#serial) return none;
    const past = this.#past.find((p) => p.serial === serial);
    if (!past) return null;
    const out: SerialChanges = { ...none, vrps: past.vrps };
    if (want.routerKeys) {
      const had = new Set(past.routerKeys.map(routerKeyId));
      const has = new Set(cur.routerKeys.map(routerKeyId));
      out.routerKeys = {
        announced: cur.routerKeys.filter((k) => !had.has(routerKeyId(k))),
        withdrawn: past.routerKeys.filter((k) => !has.has(routerKeyId(k))),
      };
    }
    if (want.aspas) {
      const old = new Map(past.aspas.map((a) => [a.customer, a]));
      const now = new Set(cur.aspas.map((a) => a.customer));
      out.aspas = {
        announced: cur.aspas.filter((a) => {
          const o = old.get(a.customer);
          return !o || o.providers.join(",") !== a.providers.join(",");
        }),
        withdrawn: past.aspas.filter((a) => !now.has(a.customer)),
      };
    }
    return out;
  }
}
