/**
 * What a server serves when it has several payload sources: the union of their tables (a table
 * file beside upstream caches), with the local exceptions of a SLURM file applied last (RFC 8416
 * §4: filters, then assertions), published to the server's cache. When no source holds data any
 * more (every upstream gone past its Expire and no table file), the cache's data is withdrawn,
 * so routers get No Data Available instead of stale data (RFC 8210 §5.10, §6.3).
 */
import type { UpdateResult } from "./cache/mod.ts";
import type { RtrCache } from "./cache/mod.ts";
import type { PayloadTable } from "./model/mod.ts";
import { applySlurm, type Slurm } from "./model/slurm.ts";
import { unionTables } from "./upstream.ts";

/** Where a combined table goes: a server's `publish` and its cache. */
export interface PublishTarget {
  readonly cache: RtrCache;
  publish(table: PayloadTable): UpdateResult;
}

/** The outcome of a change of one source or of the SLURM. */
export type PayloadResult =
  /** A table was published (possibly unchanged). */
  | ({ kind: "published" } & UpdateResult)
  /** No source holds data: the cache's data is withdrawn (or there never was any). */
  | { kind: "withdrawn"; serial: number | undefined };

/** Named payload sources, united, with SLURM applied, published to one server. */
export class ServePayload {
  readonly #target: PublishTarget;
  readonly #parts = new Map<string, PayloadTable | null>();
  #slurm: Slurm | null = null;

  constructor(target: PublishTarget) {
    this.#target = target;
  }

  /** The SLURM in force, or null. */
  get slurm(): Slurm | null {
    return this.#slurm;
  }

  /**
   * Set source `name`'s table (null: it holds none now) and publish the new combination. A table
   * that cannot be encoded throws InputError and changes nothing.
   */
  set(name: string, table: PayloadTable | null): PayloadResult {
    const before = this.#parts.get(name);
    this.#parts.set(name, table);
    try {
      return this.#publish();
    } catch (e) {
      if (before === undefined) this.#parts.delete(name);
      else this.#parts.set(name, before);
      throw e;
    }
  }

  /** Put `slurm` in force (null: none) and publish again; throws as `set` does. */
  setSlurm(slurm: Slurm | null): PayloadResult {
    const before = this.#slurm;
    this.#slurm = slurm;
    try {
      return this.#publish();
    } catch (e) {
      this.#slurm = before;
      throw e;
    }
  }

  #publish(): PayloadResult {
    const tables = [...this.#parts.values()].filter((t): t is PayloadTable => t !== null);
    const cache = this.#target.cache;
    if (tables.length === 0) {
      cache.withdraw();
      return { kind: "withdrawn", serial: cache.serial };
    }
    const base = unionTables(tables);
    const table = this.#slurm ? applySlurm(base, this.#slurm) : base;
    return { kind: "published", ...this.#target.publish(table) };
  }
}
