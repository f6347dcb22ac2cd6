/**
 * The client (router) side of RTR as a sans-I/O state machine: version negotiation
 * (8210bis §7), Reset and Serial Query exchanges (RFC 8210 §8), a response staged by
 * `Staging` and committed atomically at End of Data (8210bis §11.3), and the checks whose
 * failures are reported to the cache with an Error Report (8210bis §5.11). It never touches a
 * socket or a clock: the driver (lib/client.ts) feeds it PDUs and carries out what it returns.
 */
import { DecodeError, PeerError, quoteText, RtrError } from "../errors.ts";
import {
  type EndOfDataPdu,
  ErrorCode,
  errorCodeFor,
  errorName,
  MAX_VERSION,
  type Pdu,
  pduName,
} from "../wire/mod.ts";
import {
  clampTimers,
  DEFAULT_TIMERS,
  diffTables,
  emptyTable,
  type PayloadTable,
  type TableDiff,
  type Timers,
} from "../model/mod.ts";
import { isViolation, responseLimits, Staging, type StagingViolation } from "./staging.ts";

// The timers moved to lib/model/timers.ts; re-exported here for the drivers that import them
// from the session.
export { clampTimers, DEFAULT_TIMERS, TIMER_LIMITS, type Timers } from "../model/mod.ts";

/** A PDU's bytes, or a function returning them on demand. */
export type RawBytes = Uint8Array | (() => Uint8Array);

/** The event of a PDU that needs nothing done (shared: the hot path allocates none). */
const NONE: SessionEvent = Object.freeze({ kind: "none" });

/** What a committed response changed. */
export interface SyncResult {
  /** True when the response was to a Reset Query (a full table). */
  reset: boolean;
  /** Protocol version of the response. */
  version: number;
  /** Session ID of the committed data. */
  sessionId: number;
  /** Serial Number from End of Data. */
  serial: number;
  /** Serial before this response (undefined for the first sync). */
  previousSerial?: number;
  /** Timers in force after this response, clamped into range (RFC 8210 §6). */
  timers: Timers;
  /** The table after the commit. */
  table: PayloadTable;
  /** Net change from the previous table. */
  diff: TableDiff;
  /** Records announced / withdrawn in the response itself. */
  announced: number;
  /** Records withdrawn in the response itself. */
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
  /** Protocol version the stored session was negotiated at. */
  version: number;
  /** Session ID of the stored data. */
  sessionId: number;
  /** Serial Number of the stored data. */
  serial: number;
  /** Table the stored serial describes. */
  table: PayloadTable;
  /** Timers last received (the defaults when absent). */
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
  /**
   * Most payload records one response may hold before End of Data (issue 16); default the
   * larger of 10,000,000 and 4 × the previous table. Past it the sync fails and the previous
   * table is kept.
   */
  maxResponseRecords?: number;
  /** Most payload bytes one response may hold; default the larger of 1 GiB and 4 × the previous table. */
  maxResponseBytes?: number;
}

/**
 * Text of an Error Report PDU for the user: code, name and the peer's text, quoted with its
 * control characters escaped and cut to 200 characters (the text must never reach a terminal
 * raw, issue 16).
 */
export function describePeerError(code: number, text: string): string {
  return `cache sent Error Report: code ${code} (${errorName(code)})${
    text ? `: ${quoteText(text)}` : ""
  }`;
}

/** The router side of one RTR session. */
export class ClientSession {
  /** Version proposed in the query (the highest still to try). */
  proposal: number;
  /** Negotiated version, once the first response PDU arrived. */
  version: number | null = null;
  /** Session ID of the data held (or of `startFrom`); null when none. */
  sessionId: number | null = null;
  /** Serial Number of the data held (or of `startFrom`); null when none. */
  serial: number | null = null;
  /** Timers in force: the last End of Data's (clamped), else the defaults (RFC 8210 §6). */
  timers: Timers = { ...DEFAULT_TIMERS };
  /** Table of the last commit (or the resumed one); empty before. */
  table: PayloadTable = emptyTable();
  /** Cap on the records of one response (undefined: the default of `responseLimits`). */
  maxResponseRecords: number | undefined;
  /** Cap on the payload bytes of one response (undefined: the default). */
  maxResponseBytes: number | undefined;
  /** Legacy ASPA state keyed `customer:afi` (StayRTR 0.5.1 draft layout). */
  #legacy = new Map<string, number[]>();
  /** True once a table has been committed (or resumed). */
  haveData = false;
  #staging: Staging | null = null;
  #outstanding: "reset" | "serial" | null = null;
  #notifyPending = false;
  #deltaOnly = false;

  /** A session proposing `opts.version` (default the highest), from `resume` or `startFrom`. */
  constructor(opts: SessionOptions = {}) {
    this.proposal = opts.version ?? MAX_VERSION;
    this.maxResponseRecords = opts.maxResponseRecords;
    this.maxResponseBytes = opts.maxResponseBytes;
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
   * (8210bis §7), so it starts with a Reset Query; the table and the caps are kept.
   */
  withVersion(version: number): ClientSession {
    const s = new ClientSession({
      version,
      maxResponseRecords: this.maxResponseRecords,
      maxResponseBytes: this.maxResponseBytes,
    });
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

  /** A staging violation that fails the response, as the event the driver carries out. */
  #failed(v: StagingViolation, raw?: RawBytes): SessionEvent {
    if (v.rule === "response-too-large") {
      // Not the cache's protocol error but our limit: no Error Report, keep the table.
      this.#staging = null;
      this.#outstanding = null;
      return { kind: "fatal", error: new RtrError(v.message), flush: false };
    }
    return this.#fatal(v.code ?? ErrorCode.CorruptData, v.message, raw);
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
        const v = st.stage(pdu);
        return v === null ? NONE : this.#failed(v, raw);
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
    // Ignore every Serial Notify until negotiation completes, whatever its version (8210bis §7).
    if (this.version === null || version !== this.version) return NONE;
    if (this.#outstanding !== null) {
      this.#notifyPending = true;
      return NONE;
    }
    if (sessionId !== this.sessionId) {
      return { kind: "notify", query: this.resetQuery(), serial, sessionId };
    }
    if (serial === this.serial) return NONE;
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
    this.#staging = new Staging(reset, sessionId, this.version!, {
      limits: responseLimits(this.table, {
        maxRecords: this.maxResponseRecords,
        maxBytes: this.maxResponseBytes,
      }),
    });
    return NONE;
  }

  /**
   * Fast path for a whole IPv4/IPv6 Prefix PDU at `off` of `bytes` (see PduFramer.prefixHook):
   * stage it without building a value. Returns false, leaving everything as it was, for any
   * PDU that is not a plain, valid prefix inside a response of this session's version; the
   * normal path then decodes it and reports what is wrong.
   */
  stagePrefixBytes(bytes: Uint8Array, view: DataView, off: number): boolean {
    const st = this.#staging;
    return st !== null && st.stagePrefixBytes(bytes, view, off);
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
    const old = this.table;
    const deltaOnly = this.#deltaOnly;
    const c = deltaOnly ? st.commitDeltaOnly() : st.commit(old, this.#legacy);
    if (isViolation(c)) return this.#failed(c);
    if (deltaOnly) this.#deltaOnly = false;
    else this.#legacy = c.legacy;
    return this.#commit(st, eod, old, c.table, c.diff);
  }

  #commit(
    st: Staging,
    eod: EndOfDataPdu,
    old: PayloadTable,
    table: PayloadTable,
    diff?: TableDiff,
  ): SessionEvent {
    const warnings: string[] = [];
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
