/**
 * The client (router) side of RTR as a sans-I/O state machine: version negotiation
 * (8210bis §7, protocol.md §3), Reset and Serial Query exchanges, staging of a response and its
 * atomic commit at End of Data (8210bis §11.3, protocol.md §4.3–§4.7), and the checks whose
 * failures are reported to the cache with an Error Report. It never touches a socket or a clock:
 * the driver (lib/client.ts) feeds it PDUs and carries out what it returns.
 */
import { DecodeError, PeerError, type RtrError } from "../errors.ts";
import {
  type AspaPdu,
  type EndOfDataPdu,
  ErrorCode,
  errorCodeFor,
  errorName,
  FLAG_ANNOUNCE,
  MAX_VERSION,
  type Pdu,
  pduName,
  type PrefixPdu,
  readPrefixWords,
  type RouterKeyPdu,
} from "../wire/mod.ts";
import {
  type Aspa,
  compareAspa,
  compareRouterKey,
  diffTables,
  emptyTable,
  type PayloadTable,
  type RouterKey,
  routerKeyId,
  type TableDiff,
  toBase64,
  toHex,
  type VrpSet,
  VrpSetBuilder,
} from "../model/mod.ts";

/** Scratch for the prefix fast path's address words. */
const PREFIX_WORDS = new Uint32Array(4);

/** A PDU's bytes, or a function returning them on demand. */
export type RawBytes = Uint8Array | (() => Uint8Array);

/** Timer values in seconds (End of Data in v1/v2; local defaults for v0). */
export interface Timers {
  refresh: number;
  retry: number;
  expire: number;
}

/** RFC 8210 §6 defaults. */
export const DEFAULT_TIMERS: Timers = { refresh: 3600, retry: 600, expire: 7200 };

/** Allowed ranges (RFC 8210 §6, protocol.md §4.4). */
export const TIMER_LIMITS: Record<keyof Timers, [number, number]> = {
  refresh: [1, 86400],
  retry: [1, 7200],
  expire: [600, 172800],
};

/** Clamp received timers into range; returns the values and one warning per clamped timer. */
export function clampTimers(t: Timers): { timers: Timers; warnings: string[] } {
  const warnings: string[] = [];
  const out = { ...t };
  for (const k of ["refresh", "retry", "expire"] as const) {
    const [lo, hi] = TIMER_LIMITS[k];
    if (out[k] < lo || out[k] > hi) {
      const v = Math.min(hi, Math.max(lo, out[k]));
      warnings.push(`${k} interval ${out[k]} s is outside ${lo}..${hi}, using ${v} s`);
      out[k] = v;
    }
  }
  return { timers: out, warnings };
}

/** What a committed response changed. */
export interface SyncResult {
  /** True when the response was to a Reset Query (a full table). */
  reset: boolean;
  version: number;
  sessionId: number;
  serial: number;
  /** Serial before this response (undefined for the first sync). */
  previousSerial?: number;
  timers: Timers;
  /** The table after the commit. */
  table: PayloadTable;
  /** Net change from the previous table. */
  diff: TableDiff;
  /** Records announced / withdrawn in the response itself. */
  announced: number;
  withdrawn: number;
  /** Prefix PDUs that had host bits set (masked). */
  hostBitsMasked: number;
  /** Warnings (clamped timers, …). */
  warnings: string[];
}

/** What the driver must do after feeding a PDU. */
export type SessionEvent =
  | { kind: "none" }
  /** A response was committed. */
  | { kind: "commit"; result: SyncResult }
  /** The cache answered Cache Reset: send `query` (a Reset Query). */
  | { kind: "cacheReset"; query: Pdu }
  /** Serial Notify while idle: the driver may send `query` now. */
  | { kind: "notify"; query: Pdu; serial: number; sessionId: number }
  /** Reconnect and query at a lower version (negotiation). */
  | { kind: "downgrade"; version: number; reason: string }
  /** Fatal: send `report` (if any), close the transport, fail with `error`. */
  | { kind: "fatal"; report?: Pdu; error: RtrError; flush: boolean }
  /** Non-fatal Error Report from the cache (No Data Available, Cache Restart…). */
  | { kind: "peerError"; error: PeerError };

/** State a session can resume from (stored by `follow`). */
export interface ResumeState {
  version: number;
  sessionId: number;
  serial: number;
  table: PayloadTable;
  timers?: Timers;
}

/** Options of a session. */
export interface SessionOptions {
  /** Version of the first query (highest we propose). */
  version?: number;
  /** Resume with a Serial Query from here. */
  resume?: ResumeState;
  /** Start from a known point but with no table (`--serial N --session S`): print the delta. */
  startFrom?: { sessionId: number; serial: number };
}

interface Staging {
  reset: boolean;
  sessionId: number;
  version: number;
  vrpAnnounce: VrpSetBuilder;
  vrpWithdraw: VrpSetBuilder;
  keyAnnounce: Map<string, RouterKey>;
  keyWithdraw: Map<string, RouterKey>;
  /** Current-layout ASPA: customer → providers (announce) or null (withdraw). */
  aspa: Map<number, number[] | null>;
  /** Legacy-layout ASPA ops, in order. */
  legacyAspa: { announce: boolean; customer: number; afi: number; providers: number[] }[];
  announced: number;
  withdrawn: number;
  hostBits: number;
}

/** Text of an Error Report PDU for the user: code, name and the peer's text verbatim. */
export function describePeerError(code: number, text: string): string {
  return `cache sent Error Report: code ${code} (${errorName(code)})${text ? `: ${text}` : ""}`;
}

/** The router side of one RTR session. */
export class ClientSession {
  /** Version proposed in the query (the highest still to try). */
  proposal: number;
  /** Negotiated version, once the first response PDU arrived. */
  version: number | null = null;
  sessionId: number | null = null;
  serial: number | null = null;
  timers: Timers = { ...DEFAULT_TIMERS };
  table: PayloadTable = emptyTable();
  /** Legacy ASPA state keyed `customer:afi` (StayRTR 0.5.1 draft layout). */
  #legacy = new Map<string, number[]>();
  /** True once a table has been committed (or resumed). */
  haveData = false;
  #staging: Staging | null = null;
  #outstanding: "reset" | "serial" | null = null;
  #notifyPending = false;
  #deltaOnly = false;

  constructor(opts: SessionOptions = {}) {
    this.proposal = opts.version ?? MAX_VERSION;
    if (opts.resume) {
      const r = opts.resume;
      this.proposal = r.version;
      this.sessionId = r.sessionId;
      this.serial = r.serial;
      this.table = r.table;
      if (r.timers) this.timers = r.timers;
      this.haveData = true;
    } else if (opts.startFrom) {
      this.sessionId = opts.startFrom.sessionId;
      this.serial = opts.startFrom.serial;
      this.#deltaOnly = true;
    }
  }

  /** True while a query is outstanding (waiting for its response). */
  get busy(): boolean {
    return this.#outstanding !== null;
  }

  /** The query to send now: Serial Query when a session and serial are known, else Reset Query. */
  query(): Pdu {
    const v = this.version ?? this.proposal;
    if (this.sessionId !== null && this.serial !== null && (this.haveData || this.#deltaOnly)) {
      this.#outstanding = "serial";
      return { type: 1, version: v, sessionId: this.sessionId, serial: this.serial };
    }
    this.#outstanding = "reset";
    return { type: 2, version: v };
  }

  /**
   * A query the router was seen sending (replaying a capture): expect the answer to it. A Serial
   * Query for a session other than the one held is treated as a Reset Query, since there is no
   * table to apply its delta to.
   */
  sent(query: Pdu): void {
    if (query.type !== 1 && query.type !== 2) return;
    this.proposal = query.version;
    if (query.type === 1 && this.haveData && this.sessionId === query.sessionId) this.query();
    else this.resetQuery();
  }

  /** A Reset Query; forgets the session (after Cache Reset, or to start over). */
  resetQuery(): Pdu {
    this.#outstanding = "reset";
    this.#deltaOnly = false;
    return { type: 2, version: this.version ?? this.proposal };
  }

  /**
   * Forget session id and serial but keep the table (for diffing the next full table against):
   * the next query is a Reset Query.
   */
  forgetSession(): void {
    this.sessionId = null;
    this.serial = null;
    this.haveData = false;
    this.#deltaOnly = false;
  }

  /**
   * A session for a new connection at another version: session ids and serials are per version
   * (protocol.md §3 rule 8), so it starts with a Reset Query; the table is kept for diffing.
   */
  withVersion(version: number): ClientSession {
    const s = new ClientSession({ version });
    s.table = this.table;
    s.timers = this.timers;
    return s;
  }

  /** The transport closed or was replaced: a new connection renegotiates the version. */
  disconnected(): void {
    this.version = null;
    this.#staging = null;
    this.#outstanding = null;
  }

  /**
   * Forget all data (Expire passed, or a fatal error): the next query is a Reset Query.
   * Returns the table that was dropped.
   */
  flush(): PayloadTable {
    const old = this.table;
    this.table = emptyTable();
    this.#legacy.clear();
    this.haveData = false;
    this.sessionId = null;
    this.serial = null;
    return old;
  }

  /** Turn a decode failure of a received PDU into the fatal event (with Error Report). */
  decodeFailed(e: DecodeError): SessionEvent {
    // Never answer an Error Report with one (8210bis §5.11).
    const isErrorReport = e.pdu !== undefined && e.pdu.length > 1 && e.pdu[1] === 10;
    return this.#fatal(e.code, e.message, e.pdu, !isErrorReport);
  }

  #fatal(code: number, message: string, raw?: RawBytes, report = true): SessionEvent {
    const v = this.version ?? this.proposal;
    const pdu = typeof raw === "function" ? raw() : raw;
    const error = new DecodeError(code, message, pdu);
    return {
      kind: "fatal",
      error,
      flush: true,
      report: report
        ? {
          type: 10,
          version: v,
          errorCode: errorCodeFor(v, code),
          pdu: pdu ? pdu.slice(0, Math.min(pdu.length, 65535 - 64)) : new Uint8Array(0),
          text: message,
        }
        : undefined,
    };
  }

  /**
   * Feed one decoded PDU. `raw` gives its bytes for an Error Report: the bytes themselves, or a
   * function called only when a report is made (so the hot path allocates no view per PDU).
   */
  receive(pdu: Pdu, raw?: RawBytes): SessionEvent {
    if (pdu.type === 10) return this.#errorReport(pdu.version, pdu.errorCode, pdu.text);
    if (pdu.type === 0) return this.#notify(pdu.version, pdu.sessionId, pdu.serial);
    // Version negotiation and consistency.
    if (this.version === null) {
      if (pdu.version > this.proposal) {
        return this.#fatal(
          ErrorCode.UnsupportedProtocolVersion,
          `Cache answered with protocol version ${pdu.version}, above the ${this.proposal} we asked for`,
          raw,
        );
      }
      this.version = pdu.version;
    } else if (pdu.version !== this.version) {
      return this.#fatal(
        ErrorCode.UnexpectedProtocolVersion,
        `Received ${
          pduName(pdu.type)
        } PDU at version ${pdu.version} in a version ${this.version} session`,
        raw,
      );
    }
    switch (pdu.type) {
      case 3:
        return this.#cacheResponse(pdu.sessionId, raw);
      case 4:
      case 6:
      case 9:
      case 11: {
        const st = this.#staging;
        if (!st) {
          return this.#fatal(
            ErrorCode.CorruptData,
            `Received ${pduName(pdu.type)} PDU outside a Cache Response`,
            raw,
          );
        }
        const announce = (pdu.flags & FLAG_ANNOUNCE) !== 0;
        if (st.reset && !announce) {
          return this.#fatal(
            ErrorCode.CorruptData,
            `Received a withdrawal (${pduName(pdu.type)}) in the response to a Reset Query`,
            raw,
          );
        }
        if (announce) st.announced++;
        else st.withdrawn++;
        if (pdu.type === 9) return this.#stageKey(st, pdu, announce);
        if (pdu.type === 11) return this.#stageAspa(st, pdu, announce);
        return this.#stagePrefix(st, pdu, announce);
      }
      case 7:
        return this.#endOfData(pdu, raw);
      case 8: {
        if (this.#outstanding !== "serial" || this.#staging) {
          return this.#fatal(
            ErrorCode.CorruptData,
            "Received Cache Reset that does not answer a Serial Query",
            raw,
          );
        }
        return { kind: "cacheReset", query: this.resetQuery() };
      }
      default:
        return this.#fatal(
          ErrorCode.UnsupportedPduType,
          `Received ${pduName(pdu.type)} PDU, which only a router sends`,
          raw,
        );
    }
  }

  #errorReport(version: number, code: number, text: string): SessionEvent {
    const error = new PeerError(code, text, describePeerError(code, text));
    // Negotiation: the cache names the version it speaks in the header (8210bis §7).
    if (code === ErrorCode.UnsupportedProtocolVersion && this.version === null) {
      if (version < this.proposal) {
        return { kind: "downgrade", version, reason: error.message };
      }
      return { kind: "fatal", error, flush: false };
    }
    if (code === ErrorCode.NoDataAvailable || code === ErrorCode.CacheRestart) {
      this.#outstanding = null;
      this.#staging = null;
      return { kind: "peerError", error };
    }
    return { kind: "fatal", error, flush: true };
  }

  #notify(version: number, sessionId: number, serial: number): SessionEvent {
    // Ignore every Serial Notify until negotiation completes, whatever its version (§3 rule 6).
    if (this.version === null || version !== this.version) return { kind: "none" };
    if (this.#outstanding !== null) {
      this.#notifyPending = true;
      return { kind: "none" };
    }
    if (sessionId !== this.sessionId) {
      return { kind: "notify", query: this.resetQuery(), serial, sessionId };
    }
    if (serial === this.serial) return { kind: "none" };
    return { kind: "notify", query: this.query(), serial, sessionId };
  }

  /** True (once) when a Serial Notify arrived during a query: query again now. */
  takePendingNotify(): boolean {
    const p = this.#notifyPending;
    this.#notifyPending = false;
    return p;
  }

  #cacheResponse(sessionId: number, raw?: RawBytes): SessionEvent {
    if (this.#outstanding === null || this.#staging) {
      return this.#fatal(ErrorCode.CorruptData, "Received an unexpected Cache Response", raw);
    }
    const reset = this.#outstanding === "reset";
    if (!reset && sessionId !== this.sessionId) {
      return this.#fatal(
        ErrorCode.CorruptData,
        `Cache Response session id is ${sessionId}, expected ${this.sessionId}`,
        raw,
      );
    }
    this.#staging = {
      reset,
      sessionId,
      version: this.version!,
      vrpAnnounce: new VrpSetBuilder(reset ? 1 << 16 : 1024),
      vrpWithdraw: new VrpSetBuilder(reset ? 16 : 1024),
      keyAnnounce: new Map(),
      keyWithdraw: new Map(),
      aspa: new Map(),
      legacyAspa: [],
      announced: 0,
      withdrawn: 0,
      hostBits: 0,
    };
    return { kind: "none" };
  }

  #stagePrefix(st: Staging, p: PrefixPdu, announce: boolean): SessionEvent {
    if (p.hostBits) st.hostBits++;
    (announce ? st.vrpAnnounce : st.vrpWithdraw).add(
      p.type === 6,
      p.addr,
      p.prefixLength,
      p.maxLength,
      p.asn,
    );
    return { kind: "none" };
  }

  /**
   * Fast path for a whole IPv4/IPv6 Prefix PDU at `off` of `bytes` (see PduFramer.prefixHook):
   * stage it without building a value. Returns false, leaving everything as it was, for any
   * PDU that is not a plain, valid prefix inside a response of this session's version; the
   * normal path then decodes it and reports what is wrong.
   */
  stagePrefixBytes(bytes: Uint8Array, view: DataView, off: number): boolean {
    const st = this.#staging;
    if (st === null || bytes[off] !== this.version) return false;
    const announce = (bytes[off + 8] & FLAG_ANNOUNCE) !== 0;
    if (st.reset && !announce) return false;
    const v6 = bytes[off + 1] === 6;
    const prefixLength = bytes[off + 9], maxLength = bytes[off + 10];
    if (prefixLength > maxLength || maxLength > (v6 ? 128 : 32)) return false;
    const w = PREFIX_WORDS;
    if (readPrefixWords(view, off, v6, prefixLength, w)) st.hostBits++;
    (announce ? st.vrpAnnounce : st.vrpWithdraw).addWords(
      v6,
      w[0],
      v6 ? w[1] : 0,
      v6 ? w[2] : 0,
      v6 ? w[3] : 0,
      prefixLength,
      maxLength,
      view.getUint32(off + (v6 ? 28 : 16)),
    );
    if (announce) st.announced++;
    else st.withdrawn++;
    return true;
  }

  #stageKey(st: Staging, p: RouterKeyPdu, announce: boolean): SessionEvent {
    const k: RouterKey = { asn: p.asn, ski: toHex(p.ski), pubkey: toBase64(p.spki) };
    const id = routerKeyId(k);
    const map = announce ? st.keyAnnounce : st.keyWithdraw;
    if (map.has(id)) {
      return this.#fatal(
        announce ? ErrorCode.DuplicateAnnouncement : ErrorCode.WithdrawalOfUnknownRecord,
        `Router Key SKI ${k.ski} AS${k.asn} ${
          announce ? "announced" : "withdrawn"
        } twice in one response`,
      );
    }
    map.set(id, k);
    return { kind: "none" };
  }

  #stageAspa(st: Staging, p: AspaPdu, announce: boolean): SessionEvent {
    if (p.legacyAfi !== undefined) {
      st.legacyAspa.push({
        announce,
        customer: p.customer,
        afi: p.legacyAfi,
        providers: [...new Set(p.providers)].sort((a, b) => a - b),
      });
      return { kind: "none" };
    }
    // Current layout: an announcement replaces the customer's record, a withdrawal deletes it.
    st.aspa.set(p.customer, announce ? p.providers : null);
    return { kind: "none" };
  }

  #endOfData(eod: EndOfDataPdu, raw?: RawBytes): SessionEvent {
    const st = this.#staging;
    if (!st) {
      return this.#fatal(
        ErrorCode.CorruptData,
        "Received End of Data outside a Cache Response",
        raw,
      );
    }
    if (eod.sessionId !== st.sessionId) {
      return this.#fatal(
        ErrorCode.CorruptData,
        `End of Data session id is ${eod.sessionId}, expected ${st.sessionId} from the Cache Response`,
        raw,
      );
    }
    const warnings: string[] = [];
    const old = this.table;
    const ann = st.vrpAnnounce.build();
    if (ann.duplicates.length > 0) {
      const d = ann.duplicates[0];
      return this.#fatal(
        ErrorCode.DuplicateAnnouncement,
        `Duplicate announcement of ${d.prefix} maxLength ${d.maxLength} AS${d.asn}`,
      );
    }
    if (this.#deltaOnly) return this.#commitDeltaOnly(st, eod, old, ann.set, warnings);
    let vrps: VrpSet;
    let keys: Map<string, RouterKey>;
    const legacy = st.reset ? new Map<string, number[]>() : new Map(this.#legacy);
    let aspas: Map<number, number[]>;
    if (st.reset) {
      vrps = ann.set;
      keys = new Map(st.keyAnnounce);
      aspas = new Map();
    } else {
      const wd = st.vrpWithdraw.build();
      if (wd.duplicates.length > 0) {
        const d = wd.duplicates[0];
        return this.#fatal(
          ErrorCode.WithdrawalOfUnknownRecord,
          `Withdrawal of ${d.prefix} maxLength ${d.maxLength} AS${d.asn} appears twice`,
        );
      }
      const cur = old.vrps;
      for (let j = 0; j < wd.set.size; j++) {
        if (cur.indexOfRecord(wd.set.data, j) < 0) {
          const d = wd.set.at(j);
          return this.#fatal(
            ErrorCode.WithdrawalOfUnknownRecord,
            `Withdrawal of unknown record ${d.prefix} maxLength ${d.maxLength} AS${d.asn}`,
          );
        }
      }
      for (let j = 0; j < ann.set.size; j++) {
        if (cur.indexOfRecord(ann.set.data, j) >= 0 && wd.set.indexOfRecord(ann.set.data, j) < 0) {
          const d = ann.set.at(j);
          return this.#fatal(
            ErrorCode.DuplicateAnnouncement,
            `Duplicate announcement of ${d.prefix} maxLength ${d.maxLength} AS${d.asn}`,
          );
        }
      }
      vrps = cur.apply(ann.set, wd.set);
      keys = new Map(old.routerKeys.map((k) => [routerKeyId(k), k]));
      for (const [id, k] of st.keyWithdraw) {
        if (!keys.delete(id)) {
          return this.#fatal(
            ErrorCode.WithdrawalOfUnknownRecord,
            `Withdrawal of unknown Router Key SKI ${k.ski} AS${k.asn}`,
          );
        }
      }
      for (const [id, k] of st.keyAnnounce) {
        if (keys.has(id)) {
          return this.#fatal(
            ErrorCode.DuplicateAnnouncement,
            `Duplicate announcement of Router Key SKI ${k.ski} AS${k.asn}`,
          );
        }
        keys.set(id, k);
      }
      aspas = new Map(
        old.aspas.filter((a) => !this.#fromLegacy(a.customer)).map((
          a,
        ) => [a.customer, a.providers]),
      );
    }
    for (const [customer, providers] of st.aspa) {
      if (providers) aspas.set(customer, providers);
      else if (!aspas.delete(customer)) {
        return this.#fatal(
          ErrorCode.WithdrawalOfUnknownRecord,
          `Withdrawal of unknown ASPA record for customer AS${customer}`,
        );
      }
    }
    // Legacy layout: records keyed by (customer, AFI); a withdrawal that names a provider list
    // other than the one held is a stale one (StayRTR sends announce-new then withdraw-old).
    for (const op of st.legacyAspa) {
      const key = `${op.customer}:${op.afi}`;
      if (op.announce) legacy.set(key, op.providers);
      else {
        const held = legacy.get(key);
        if (!held && aspas.has(op.customer)) {
          // Resumed from a stored table, which does not remember AFIs.
          if (aspas.get(op.customer)!.join(",") === op.providers.join(",")) {
            aspas.delete(op.customer);
          }
          continue;
        }
        if (!held) {
          return this.#fatal(
            ErrorCode.WithdrawalOfUnknownRecord,
            `Withdrawal of unknown ASPA record for customer AS${op.customer}`,
          );
        }
        if (held.join(",") === op.providers.join(",")) legacy.delete(key);
      }
    }
    for (const [key, providers] of legacy) {
      const customer = Number(key.slice(0, key.indexOf(":")));
      const merged = new Set([...(aspas.get(customer) ?? []), ...providers]);
      aspas.set(customer, [...merged].sort((a, b) => a - b));
    }
    this.#legacy = legacy;
    const table: PayloadTable = {
      vrps,
      routerKeys: [...keys.values()].sort(compareRouterKey),
      aspas: [...aspas].map(([customer, providers]) => ({ customer, providers })).sort(compareAspa),
    };
    return this.#commit(st, eod, old, table, warnings);
  }

  /**
   * Commit the answer to `--serial/--session` with no table of our own: the delta is reported as
   * it came (withdrawals stay withdrawals) and its announcements become the table.
   */
  #commitDeltaOnly(
    st: Staging,
    eod: EndOfDataPdu,
    old: PayloadTable,
    announced: VrpSet,
    warnings: string[],
  ): SessionEvent {
    this.#deltaOnly = false;
    const aspaAnnounced: Aspa[] = [], aspaWithdrawn: Aspa[] = [];
    for (const [customer, providers] of st.aspa) {
      (providers ? aspaAnnounced : aspaWithdrawn).push({ customer, providers: providers ?? [] });
    }
    for (const op of st.legacyAspa) {
      (op.announce ? aspaAnnounced : aspaWithdrawn).push({
        customer: op.customer,
        providers: op.providers,
      });
    }
    const table = {
      vrps: announced,
      routerKeys: [...st.keyAnnounce.values()],
      aspas: aspaAnnounced,
    };
    return this.#commit(st, eod, old, table, warnings, {
      vrps: { announced, withdrawn: st.vrpWithdraw.build().set },
      routerKeys: {
        announced: [...st.keyAnnounce.values()],
        withdrawn: [...st.keyWithdraw.values()],
      },
      aspas: { announced: aspaAnnounced, withdrawn: aspaWithdrawn },
    });
  }

  #fromLegacy(customer: number): boolean {
    for (const k of this.#legacy.keys()) if (k.startsWith(`${customer}:`)) return true;
    return false;
  }

  #commit(
    st: Staging,
    eod: EndOfDataPdu,
    old: PayloadTable,
    table: PayloadTable | { vrps: VrpSet; routerKeys: RouterKey[]; aspas: Aspa[] },
    warnings: string[],
    diff?: TableDiff,
  ): SessionEvent {
    if (eod.version !== 0 && eod.refresh !== undefined) {
      const c = clampTimers({ refresh: eod.refresh, retry: eod.retry!, expire: eod.expire! });
      this.timers = c.timers;
      warnings.push(...c.warnings);
    }
    if (st.hostBits > 0) {
      warnings.push(
        `${st.hostBits} prefix PDU(s) had host bits set beyond the prefix length (masked)`,
      );
    }
    const previousSerial = this.serial ?? undefined;
    this.table = table;
    this.sessionId = st.sessionId;
    this.serial = eod.serial;
    this.haveData = true;
    this.#staging = null;
    this.#outstanding = null;
    return {
      kind: "commit",
      result: {
        reset: st.reset,
        version: st.version,
        sessionId: st.sessionId,
        serial: eod.serial,
        previousSerial: st.reset && previousSerial === undefined ? undefined : previousSerial,
        timers: { ...this.timers },
        table,
        diff: diff ?? diffTables(old, table),
        announced: st.announced,
        withdrawn: st.withdrawn,
        hostBitsMasked: st.hostBits,
        warnings,
      },
    };
  }
}
