/**
 * The cache a server serves (RFC 8210 §5, §6; 8210bis): its session, End of Data timers and
 * highest version, the serial history of its tables, and the two answers every router asks for:
 * the full table (Reset Query, RFC 8210 §6.1) and the delta from a held serial (Serial Query,
 * §6.2). It ties the serial history, the wire-ready payload and the response encoder together;
 * `connection()` gives the per-router responder.
 */
import { MAX_VERSION } from "../wire/mod.ts";
import { DEFAULT_TIMERS, type PayloadTable, routerKeyId, VrpSet } from "../model/mod.ts";
import { CacheConnection } from "./responder.ts";
import {
  type AspaLayout,
  CHUNK_SIZE,
  type Response,
  ResponseEncoder,
  sharedResponse,
} from "./response_encoder.ts";
import { SerialHistory, type UpdateResult } from "./serial_history.ts";
import { checkVrps, type WireKey, wireKeys } from "./wire_payload.ts";
import type { Pdu } from "../wire/mod.ts";

/** Settings of a cache. */
export interface CacheOptions {
  /** Session ID (u16) of this cache's data epoch. */
  sessionId: number;
  /**
   * Session IDs by version (index 0 to 2), replacing `sessionId` for the versions given:
   * 8210bis §5.1 has a different one for each version. Default: `sessionId` for every version.
   */
  sessionIds?: number[];
  /** Highest protocol version served (0 to 2); default 2. */
  maxVersion?: number;
  /** Refresh Interval sent in End of Data (v1+), seconds; default `DEFAULT_TIMERS`. */
  refresh?: number;
  /** Retry Interval sent in End of Data (v1+), seconds; default `DEFAULT_TIMERS`. */
  retry?: number;
  /** Expire Interval sent in End of Data (v1+), seconds; default `DEFAULT_TIMERS`. */
  expire?: number;
  /** Past serials kept for Serial Query deltas; default 16. */
  historySize?: number;
  /** Serial of the first table; default 1. */
  firstSerial?: number;
  /** ASPA layout for v2 sessions: 8210bis (default) or StayRTR 0.5.1's legacy draft layout. */
  aspaLayout?: AspaLayout;
  /** Bytes per response chunk; default CHUNK_SIZE. */
  chunkSize?: number;
  /**
   * Reuse one buffer per response: each chunk is then valid only until the next is requested
   * (a writer that awaits each write keeps a single 256 KiB buffer per connection). Default false.
   */
  reuseChunks?: boolean;
  /**
   * Encode each response of the current serial once, per version, for every router that asks
   * (kept until the next serial, at most this many bytes; beyond, responses are encoded per
   * router as without it). 0 (the default) encodes per router.
   */
  sharedBytes?: number;
}

const EMPTY_SET = new VrpSet();

/** A cache: the table being served, its serial and session, and recent history. */
export class RtrCache {
  /** Session ID sent in every response. */
  readonly sessionId: number;
  /** Highest protocol version served. */
  readonly maxVersion: number;
  /** End of Data timers (v1+). */
  readonly refresh: number;
  /** Retry Interval sent in End of Data, seconds (RFC 8210 §6). */
  readonly retry: number;
  /** Expire Interval sent in End of Data, seconds (RFC 8210 §6). */
  readonly expire: number;
  /** ASPA layout for v2 sessions. */
  readonly aspaLayout: AspaLayout;
  /** Bytes per response chunk. */
  readonly chunkSize: number;
  /** Whether response chunks share one buffer (see CacheOptions.reuseChunks). */
  readonly reuseChunks: boolean;
  readonly #sessionIds: number[];
  readonly #history: SerialHistory;
  readonly #encoder: ResponseEncoder;
  /** Router keys of the current table, for the wire, in §11.2 order. */
  #keys: WireKey[] = [];
  /** Set by `withdraw` until the next `update`. */
  #withdrawn = false;
  /** Byte budget of shared responses (0: none). */
  readonly #sharedBytes: number;
  /** Shared responses of the current serial by `reset:V` or `delta:V:SERIAL`, and their bytes. */
  #shared = new Map<string, Response>();
  #sharedSize = 0;

  /** A cache with no table yet (queries get No Data Available until `update`). */
  constructor(options: CacheOptions) {
    this.sessionId = options.sessionId & 0xffff;
    this.#sessionIds = [0, 1, 2].map((v) => (options.sessionIds?.[v] ?? this.sessionId) & 0xffff);
    this.maxVersion = Math.min(options.maxVersion ?? MAX_VERSION, MAX_VERSION);
    this.refresh = options.refresh ?? DEFAULT_TIMERS.refresh;
    this.retry = options.retry ?? DEFAULT_TIMERS.retry;
    this.expire = options.expire ?? DEFAULT_TIMERS.expire;
    this.aspaLayout = options.aspaLayout ?? "current";
    this.chunkSize = Math.max(options.chunkSize ?? CHUNK_SIZE, 64);
    this.reuseChunks = options.reuseChunks ?? false;
    this.#sharedBytes = Math.max(0, options.sharedBytes ?? 0);
    this.#history = new SerialHistory(options);
    this.#encoder = new ResponseEncoder(this);
  }

  /** Session ID of `version` sessions (see CacheOptions.sessionIds). */
  sessionIdFor(version: number): number {
    return this.#sessionIds[version] ?? this.sessionId;
  }

  /** True once a first table is loaded (and not withdrawn since). */
  get hasData(): boolean {
    return this.#history.serial !== undefined && !this.#withdrawn;
  }

  /** True while the data is withdrawn (see `withdraw`). */
  get withdrawn(): boolean {
    return this.#withdrawn;
  }

  /**
   * Stop serving the current data without forgetting its history (every source of it is gone
   * past its Expire): a Reset Query then gets No Data Available and a Serial Query a Cache Reset
   * (RFC 8210 §5.10, §6.3), until the next `update` serves data again.
   */
  withdraw(): void {
    if (this.#history.serial !== undefined) this.#withdrawn = true;
  }

  /** Serial of the current table (undefined before the first). */
  get serial(): number | undefined {
    return this.#history.serial;
  }

  /** The table being served (undefined before the first). */
  get table(): PayloadTable | undefined {
    return this.#history.table;
  }

  /** Serials a Serial Query can be answered from with a delta, oldest first (current last). */
  get heldSerials(): number[] {
    return this.#history.heldSerials;
  }

  /**
   * Serve `table` from now on. An unchanged table keeps the serial; a changed one gets the next
   * serial, and every held past serial's delta is merged with the change. A VRP or router key
   * that cannot be encoded throws InputError and leaves the cache untouched.
   */
  update(table: PayloadTable): UpdateResult {
    checkVrps(table.vrps);
    const keys = wireKeys(table.routerKeys);
    const r = this.#history.update(table);
    if (r.changed) {
      this.#keys = keys;
      this.#shared.clear();
      this.#sharedSize = 0;
    }
    this.#withdrawn = false;
    return r;
  }

  /** A responder for one new router connection. */
  connection(): CacheConnection {
    return new CacheConnection(this);
  }

  /** The full table at `version` (Reset Query answer). */
  resetResponse(version: number): Response {
    const table = this.#history.table, serial = this.#history.serial;
    if (!table || serial === undefined) throw new Error("resetResponse() needs data");
    return this.#share(`reset:${version}`, (reuse) =>
      this.#encoder.response(version, serial, {
        announced: table.vrps,
        withdrawn: EMPTY_SET,
        keysAnnounced: version >= 1 ? this.#keys : [],
        keysWithdrawn: [],
        aspaAnnounced: version >= 2 ? table.aspas : [],
        aspaWithdrawn: [],
      }, reuse));
  }

  /**
   * The shared response under `key`, made by `make` the first time while the budget allows;
   * otherwise a response of this router's own.
   */
  #share(key: string, make: (reuse?: boolean) => Response): Response {
    if (this.#sharedBytes === 0) return make();
    const held = this.#shared.get(key);
    if (held) return held;
    const r = make(false);
    if (this.#sharedSize + r.size > this.#sharedBytes) return make();
    const s = sharedResponse(r);
    this.#shared.set(key, s);
    this.#sharedSize += r.size;
    return s;
  }

  /**
   * The answer to a Serial Query for `serial` at `version`: a delta when the serial is held,
   * otherwise null (the caller sends Cache Reset).
   */
  deltaResponse(version: number, serial: number): Response | null {
    const current = this.#history.serial;
    if (current === undefined) throw new Error("deltaResponse() needs data");
    const key = `delta:${version}:${serial}`;
    const held = this.#shared.get(key);
    if (held) return held;
    const c = this.#history.changesSince(serial, {
      routerKeys: version >= 1,
      aspas: version >= 2,
    });
    if (!c) return null;
    let keysAnnounced: WireKey[] = [];
    if (c.routerKeys.announced.length > 0) {
      // The current keys, already decoded and ordered, that the old serial lacked.
      const ids = new Set(c.routerKeys.announced.map(routerKeyId));
      keysAnnounced = this.#keys.filter((k) => ids.has(k.id));
    }
    const changes = {
      announced: c.vrps.announced,
      withdrawn: c.vrps.withdrawn,
      keysAnnounced,
      keysWithdrawn: wireKeys(c.routerKeys.withdrawn),
      aspaAnnounced: c.aspas.announced,
      aspaWithdrawn: c.aspas.withdrawn,
    };
    return this.#share(key, (reuse) => this.#encoder.response(version, current, changes, reuse));
  }

  /** End of Data timers as a PDU for `version`. */
  endOfData(version: number, serial: number): Pdu {
    return this.#encoder.endOfData(version, serial);
  }
}
