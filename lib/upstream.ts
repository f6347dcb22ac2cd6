/**
 * Upstream caches as a payload source (RFC 8210 §6, 8210bis §6): one long-lived follower
 * (lib/follower.ts) per upstream, with the router-side timing of `follow` (Serial Query at
 * Refresh, Serial Notify, Cache Reset, reconnect after Retry, data dropped when Expire passes
 * without a successful sync), and the combination of what they hold into the one table a server
 * publishes. Two modes, as RTRTR names them: `any` takes the first healthy upstream in the order
 * given (healthy: connected and synchronised on the current connection) and fails over when it
 * goes away, and while none is healthy the first whose data has not expired stands in; `merge`
 * takes the union of every upstream whose data has not expired, so that one upstream's restart
 * does not withdraw its records for the few seconds it is away (RFC 8210 §6: data stays valid
 * until Expire). When none holds data, the combined table is null and the server must stop
 * serving: a router must not be kept on data past its Expire.
 * The upstreams' sessions and serials never reach the routers: the caller publishes tables, and
 * its own cache turns every change into a delta of its own session. Time and dialing are
 * injected, so tests run over memory pairs without sleeping for a protocol timer.
 */
import { type Clock, follow, type FollowEvent } from "./follower.ts";
import type { ConnectOptions, Dialer } from "./transport.ts";
import { describeTarget } from "./transport.ts";
import { diffIsEmpty, makeTable, type PayloadTable, tableCounts, VrpSet } from "./model/mod.ts";

/** How several upstreams become one table. */
export type CombineMode = "any" | "merge";

/** One upstream cache: where it is and how to talk to it (the follower's connect options). */
export interface UpstreamSpec extends ConnectOptions {
  /** Name in logs and metrics; default `host:port`. */
  name?: string;
  /** Highest version to propose (default 2). */
  version?: number;
  /** Seconds the upstream may stay silent while a response arrives (default 30). */
  timeoutSec?: number;
  /** Seconds between reconnects, overriding the upstream's Retry. */
  retrySec?: number;
  /** Opens connections (default TCP or TLS as the options say; SSH passes its own). */
  dialer?: Dialer;
}

/** What an upstream is doing, for logs and metrics. */
export type UpstreamState = "connecting" | "syncing" | "up" | "stale" | "down" | "expired";

/** The state of one upstream, as the set sees it. */
export interface UpstreamStatus {
  readonly name: string;
  /** `up`: connected and synchronised; `syncing`: connected, first answer pending; `stale`:
   * gone but its data not yet expired; `down`: gone without data; `expired`: its data dropped
   * because Expire passed; `connecting`: not yet tried. */
  readonly state: UpstreamState;
  /** Its current table, null when it holds none (never synced, or expired). */
  readonly table: PayloadTable | null;
  readonly sessionId: number | null;
  readonly serial: number | null;
  readonly version: number | null;
  /** Time of the last successful End of Data (ms), or null. */
  readonly lastSuccess: number | null;
  /** The last failure, one line, or null. */
  readonly lastError: string | null;
  /** True while its data is part of the combined table. */
  readonly selected: boolean;
  /** Successful syncs, failed or lost connections, times its data expired. */
  readonly syncs: number;
  readonly failures: number;
  readonly expiries: number;
}

/** Settings of an upstream set. */
export interface UpstreamSetOptions {
  combine: CombineMode;
  /** Time source of the followers (default the real clock). */
  clock?: Clock;
  /** Randomness of the reconnect jitter (tests pass a constant). */
  random?: () => number;
  /** One line per event (sync, loss, failover, expiry), without a prefix. */
  log?: (line: string) => void;
  /**
   * The combined table changed: `table` is what to serve, or null when no upstream holds data
   * any more; `why` says what happened, for the log.
   */
  onChange: (table: PayloadTable | null, why: string) => void;
}

class Upstream implements UpstreamStatus {
  readonly name: string;
  readonly spec: UpstreamSpec;
  connected = false;
  synced = false;
  everConnected = false;
  hadExpiry = false;
  table: PayloadTable | null = null;
  /** Bumped whenever `table` changes, so that a combination can tell what it was made of. */
  generation = 0;
  sessionId: number | null = null;
  serial: number | null = null;
  version: number | null = null;
  lastSuccess: number | null = null;
  lastError: string | null = null;
  /** The last failure said on the log (a retry failing the same way is not said again). */
  lastLogged: string | null = null;
  selected = false;
  syncs = 0;
  failures = 0;
  expiries = 0;

  constructor(spec: UpstreamSpec) {
    this.spec = spec;
    this.name = spec.name ?? describeTarget(spec);
  }

  get state(): UpstreamState {
    if (this.connected) return this.synced ? "up" : "syncing";
    if (this.table) return "stale";
    if (this.hadExpiry) return "expired";
    return this.everConnected || this.failures > 0 ? "down" : "connecting";
  }
}

/** Several upstream caches followed at once and combined into one table. */
export class UpstreamSet {
  readonly combine: CombineMode;
  readonly #ups: Upstream[];
  readonly #o: UpstreamSetOptions;
  readonly #log: (line: string) => void;
  readonly #ac = new AbortController();
  #runs: Promise<void>[] = [];
  /** What the last combination was made of: `index:generation` of each part. */
  #madeOf = "";
  #table: PayloadTable | null = null;
  #everData = false;

  constructor(specs: UpstreamSpec[], options: UpstreamSetOptions) {
    if (specs.length === 0) throw new RangeError("UpstreamSet needs at least one upstream");
    this.combine = options.combine;
    this.#ups = specs.map((s) => new Upstream(s));
    this.#o = options;
    this.#log = options.log ?? (() => {});
  }

  /** Every upstream's state, in the order given. */
  get status(): readonly UpstreamStatus[] {
    return this.#ups;
  }

  /** The combined table now (null when no upstream holds data). */
  get table(): PayloadTable | null {
    return this.#table;
  }

  /** Start following every upstream; resolves at once (the followers run until `stop`). */
  start(): void {
    if (this.#runs.length > 0) return;
    this.#runs = this.#ups.map((u) => this.#run(u));
  }

  /** Stop every follower and wait for them to end. */
  async stop(): Promise<void> {
    this.#ac.abort();
    await Promise.allSettled(this.#runs);
  }

  async #run(u: Upstream): Promise<void> {
    const s = u.spec;
    try {
      await follow({
        ...s,
        clock: this.#o.clock,
        random: this.#o.random,
        signal: this.#ac.signal,
        onEvent: (ev) => this.#on(u, ev),
      });
    } catch (e) {
      // onEvent does not throw; anything else is a bug worth one line, not a crash of the server.
      if (!this.#ac.signal.aborted) {
        this.#log(`upstream ${u.name}: follower stopped: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  #failed(u: Upstream, why: string, said = false): void {
    u.lastError = why;
    if (!said && u.lastLogged !== why) this.#log(`upstream ${u.name}: ${why}`);
    u.lastLogged = why;
  }

  #on(u: Upstream, ev: FollowEvent): void {
    switch (ev.kind) {
      case "connected":
        u.connected = true;
        u.everConnected = true;
        u.synced = false;
        break;
      case "commit": {
        const r = ev.result;
        const first = !u.synced;
        const newSession = u.sessionId !== null && u.sessionId !== r.sessionId;
        const changed = u.table === null || r.reset || !diffIsEmpty(r.diff);
        u.synced = true;
        u.lastLogged = null;
        u.lastError = null;
        u.syncs++;
        u.lastSuccess = ev.time;
        u.version = r.version;
        u.sessionId = r.sessionId;
        u.serial = r.serial;
        if (changed) {
          u.table = r.table;
          u.generation++;
        }
        if (first || newSession) {
          const c = tableCounts(r.table);
          this.#log(
            `upstream ${u.name}: ${
              newSession ? "new session" : "synced"
            }: session ${r.sessionId} serial ${r.serial} (version ${r.version}), ${c.vrps} VRPs, ${c.routerKeys} router keys, ${c.aspas} ASPA`,
          );
        }
        this.#recombine(`upstream ${u.name} serial ${r.serial}`);
        break;
      }
      case "disconnected":
        u.connected = false;
        u.synced = false;
        u.failures++;
        this.#failed(u, ev.reason, ev.afterError);
        this.#recombine(`upstream ${u.name} gone`);
        break;
      case "error":
        this.#failed(u, ev.message);
        break;
      case "expired":
        u.expiries++;
        u.hadExpiry = true;
        u.table = null;
        u.generation++;
        this.#log(
          `upstream ${u.name}: no successful sync since ${
            new Date(ev.lastSuccess).toISOString()
          }: its Expire passed, its data is no longer served`,
        );
        this.#recombine(`upstream ${u.name} expired`);
        break;
      case "downgrade":
        this.#log(`upstream ${u.name}: ${ev.message}`);
        break;
      case "warning":
        this.#log(`upstream ${u.name}: warning: ${ev.message}`);
        break;
      case "cacheReset":
      case "notify":
        break;
    }
  }

  /**
   * The upstreams whose data makes the table. `merge`: every one not yet expired. `any`: the
   * first healthy one, else the first not yet expired.
   */
  #pool(): Upstream[] {
    const held = this.#ups.filter((u) => u.table !== null);
    if (this.combine === "merge") return held;
    const live = held.filter((u) => u.state === "up");
    return (live.length > 0 ? live : held).slice(0, 1);
  }

  #recombine(why: string): void {
    const pool = this.#pool();
    const madeOf = pool.map((u) => `${this.#ups.indexOf(u)}:${u.generation}`).join(",");
    if (madeOf === this.#madeOf) return;
    const before = this.#ups.filter((u) => u.selected).map((u) => u.name).join(", ");
    for (const u of this.#ups) u.selected = pool.includes(u);
    const after = pool.map((u) => u.name).join(", ");
    this.#madeOf = madeOf;
    if (pool.length === 0) {
      this.#table = null;
      if (this.#everData) {
        this.#log(
          `every upstream is gone past its Expire: serving no data until one is back`,
        );
      }
      this.#o.onChange(null, why);
      return;
    }
    this.#everData = true;
    this.#table = pool.length === 1 ? pool[0].table! : unionTables(pool.map((u) => u.table!));
    if (before !== after) {
      const stale = pool.every((u) => u.state !== "up") ? " (not connected, data not expired)" : "";
      this.#log(`serving ${this.combine === "any" ? "upstream" : "the union of"} ${after}${stale}`);
    }
    this.#o.onChange(this.#table, why);
  }
}

const EMPTY = new VrpSet();

/** The union of tables: every VRP and router key of any, ASPA providers united per customer. */
export function unionTables(tables: PayloadTable[]): PayloadTable {
  if (tables.length === 1) return tables[0];
  let vrps = tables[0].vrps;
  for (let i = 1; i < tables.length; i++) vrps = vrps.apply(tables[i].vrps, EMPTY);
  return makeTable(vrps, tables.flatMap((t) => t.routerKeys), tables.flatMap((t) => t.aspas));
}
