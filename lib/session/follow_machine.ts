/**
 * The long-lived router side as a sans-I/O machine (RFC 8210 §6, 8210bis §6): Serial Query every
 * Refresh; Serial Notify answered at once when idle, after the query in flight otherwise;
 * Cache Reset answered with a Reset Query; a new session id answered with a Reset Query and a
 * full replacement; a lost connection retried after Retry (±10% jitter), resuming with a Serial
 * Query; data flushed when Expire passes without a successful sync; and version negotiation
 * (8210bis §7) through the one policy of ./negotiation.ts. Events in (`connected`, `received`,
 * `closed`, `connectFailed`, `tick`), actions out; it never touches a socket or a clock.
 */
import { PeerError, type RtrError } from "../errors.ts";
import type { PduBatch } from "../wire/decode_stream.ts";
import { ErrorCode, type Pdu } from "../wire/mod.ts";
import {
  ClientSession,
  DEFAULT_TIMERS,
  type ResumeState,
  type SessionEvent,
  type SyncResult,
} from "./client_session.ts";
import { VersionNegotiation } from "./negotiation.ts";
import { receiveBatch } from "./receive_batch.ts";

/** Events a follower reports to its user. */
export type FollowEvent =
  | { kind: "connected"; time: number }
  | {
    kind: "commit";
    result: SyncResult;
    time: number;
    durationMs: number;
    bytes: number;
    pdus: number;
    /** The version negotiation started from, when this sync followed a downgrade. */
    downgradedFrom?: number;
  }
  | { kind: "cacheReset"; time: number }
  | { kind: "notify"; serial: number; sessionId: number; time: number }
  | {
    kind: "disconnected";
    reason: string;
    time: number;
    retryInSec: number;
    /** When the next connection attempt is due (ms since the epoch). */
    retryAt: number;
    /** True when the reason was already reported by an `error` event. */
    afterError: boolean;
  }
  | { kind: "error"; code?: number; message: string; fatal: boolean; time: number }
  | { kind: "expired"; time: number; lastSuccess: number; dropped: SyncResult["table"] }
  | { kind: "downgrade"; from: number; to: number; message: string; time: number }
  | { kind: "warning"; message: string; time: number };

/** What the driver must do. */
export type FollowAction =
  /** Write this PDU on the open connection. */
  | { kind: "send"; pdu: Pdu }
  /** Tell the user (records and stderr lines). */
  | { kind: "emit"; event: FollowEvent }
  /** A response was committed: tell the user (the `commit` event). */
  | { kind: "commit"; event: Extract<FollowEvent, { kind: "commit" }> }
  /** Call `tick` at this time (ms); replaces any earlier timer. */
  | { kind: "setTimer"; at: number }
  /** Send `report` if any (ignoring failures), then close the connection. */
  | { kind: "close"; report?: Pdu }
  /** Open a new connection at this time (ms), then call `connected` or `connectFailed`. */
  | { kind: "reconnectAt"; at: number };

/** Options of a follow machine. */
export interface FollowMachineOptions {
  /** Highest version to propose (default 2). */
  version?: number;
  /** Resume with a Serial Query from a stored state. */
  resume?: ResumeState & { lastSuccess?: number };
  /** Ask for the delta since this serial of this session. */
  startFrom?: { sessionId: number; serial: number };
  /** How long the cache may stay silent while a query is answered (ms, default 30 s). */
  timeoutMs?: number;
  /** Seconds to wait after a failed connect or query, overriding the cache's Retry. */
  retrySec?: number;
  /** Randomness for the jitter, in [0, 1) (default Math.random). */
  random?: () => number;
  /** Caps on one response (records, payload bytes); default: the session's. */
  maxResponseRecords?: number;
  /** Bytes one response may hold before End of Data. */
  maxResponseBytes?: number;
}

type Phase = "waiting" | "open";

/** The timing and state of one long-lived RTR session, as data. */
export class FollowMachine {
  /** The current session; replaced by a new one when the version to propose changes. */
  session: ClientSession;
  /** Version negotiation across this machine's connections (8210bis §7). */
  readonly negotiation: VersionNegotiation;
  readonly #timeoutMs: number;
  readonly #retrySec?: number;
  readonly #random: () => number;
  #phase: Phase = "waiting";
  #lastSuccess: number | null;
  #everSynced: boolean;
  #reconnectAt = 0;
  #queryStarted = 0;
  #lastActivity = 0;
  #idleSince = 0;
  #peerWaitUntil: number | null = null;
  /** Type of the query in flight (1 Serial, 2 Reset). */
  #lastQuery = 2;
  #bytes = 0;
  #pdus = 0;
  /** The quick reconnect (session lost on a resumed connection) was used since the last success. */
  #quickUsed = false;
  /** Set when the Reset Query in flight answers a Cache Reset. */
  #resetAfterLoss = false;
  #out: FollowAction[] = [];
  #events: SessionEvent[] = [];

  /** A machine waiting to connect, from `opts.resume` or `opts.startFrom` if given. */
  constructor(opts: FollowMachineOptions = {}) {
    const r = opts.resume;
    this.negotiation = new VersionNegotiation(opts.version, r?.version);
    this.session = new ClientSession({
      version: r?.version ?? this.negotiation.version,
      resume: r,
      startFrom: opts.startFrom,
      maxResponseRecords: opts.maxResponseRecords,
      maxResponseBytes: opts.maxResponseBytes,
    });
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#retrySec = opts.retrySec;
    this.#random = opts.random ?? Math.random;
    this.#lastSuccess = r ? (r.lastSuccess ?? null) : null;
    this.#everSynced = r !== undefined;
  }

  /** True while a connection is open. */
  get open(): boolean {
    return this.#phase === "open";
  }

  /** Time of the last successful End of Data (ms), or null. */
  get lastSuccess(): number | null {
    return this.#lastSuccess;
  }

  /** Begin: connect now. */
  start(now: number): FollowAction[] {
    if (this.#lastSuccess === null && this.#everSynced) this.#lastSuccess = now;
    this.#expireCheck(now);
    this.#reconnectAt = now;
    this.#out.push({ kind: "reconnectAt", at: now });
    return this.#finish();
  }

  /** The connection opened: send the first query. */
  connected(now: number): FollowAction[] {
    this.#phase = "open";
    this.#bytes = 0;
    this.#pdus = 0;
    this.#peerWaitUntil = null;
    const s = this.session;
    if (!s.haveData && s.sessionId === null && s.proposal !== this.negotiation.version) {
      this.session = s.withVersion(this.negotiation.version);
    }
    this.#emit({ kind: "connected", time: now });
    this.#query(now, this.session.query());
    return this.#finish();
  }

  /** The connection could not be opened. */
  connectFailed(now: number, reason: string): FollowAction[] {
    this.#phase = "waiting";
    this.#lost(now, reason, false);
    return this.#finish();
  }

  /** The PDUs one socket chunk completed (`length` bytes of them). */
  received(batch: PduBatch, length: number, now: number): FollowAction[] {
    if (this.#phase !== "open") return [];
    this.#lastActivity = now;
    this.#bytes += length;
    this.#pdus += batch.count;
    const evs = this.#events;
    evs.length = 0;
    receiveBatch(this.session, batch, evs);
    for (const ev of evs) {
      if (this.#phase !== "open") break;
      this.#onSession(ev, now);
    }
    evs.length = 0;
    if (this.#peerWaitUntil !== null && this.#phase === "open") {
      this.#notifyWhileWaiting(batch, now);
    }
    return this.#finish();
  }

  /** Bytes that completed no PDU (a PDU straddling chunks) still count as activity. */
  activity(length: number, now: number): FollowAction[] {
    if (this.#phase !== "open") return [];
    this.#lastActivity = now;
    this.#bytes += length;
    return this.#finish();
  }

  /** The cache closed the connection (or it broke: `reason`). */
  closed(now: number, reason?: string): FollowAction[] {
    if (this.#phase !== "open") return [];
    this.#phase = "waiting";
    const s = this.session;
    const proposed = s.proposal;
    const silent = this.#bytes === 0 && s.busy && s.version === null;
    s.disconnected();
    if (silent) {
      const step = this.negotiation.hungUp(proposed);
      if (step.kind === "reconnect") {
        if (step.downgrade) {
          this.session = s.withVersion(step.version);
          this.#emit({
            kind: "downgrade",
            from: proposed,
            to: step.version,
            message: step.message,
            time: now,
          });
        } else this.#emit({ kind: "warning", message: step.message, time: now });
        this.#reconnect(now, 0, step.message, true);
        return this.#finish();
      }
    }
    const why = reason ?? "connection closed by the cache";
    if (this.#lastQuery === 2 && !this.#quickUsed && this.#resetAfterLoss) {
      // The cache told us to start over (Cache Reset) and hung up: do so at once, once.
      this.#quickUsed = true;
      this.#reconnect(now, 0, why, false);
      return this.#finish();
    }
    this.#lost(now, why, false);
    return this.#finish();
  }

  /** The timer set by `setTimer` fired (or any time: it acts on what is due). */
  tick(now: number): FollowAction[] {
    this.#expireCheck(now);
    if (this.#phase === "open") {
      const s = this.session;
      if (s.busy) {
        if (now - Math.max(this.#queryStarted, this.#lastActivity) >= this.#timeoutMs) {
          this.#close();
          this.#lost(
            now,
            `timed out after ${this.#timeoutMs / 1000} s waiting for End of Data`,
            false,
          );
        }
      } else if (this.#peerWaitUntil !== null) {
        if (now >= this.#peerWaitUntil) {
          this.#peerWaitUntil = null;
          this.#query(now, s.query());
        }
      } else if (now >= this.#idleSince + s.timers.refresh * 1000) {
        this.#query(now, s.query());
      }
    }
    return this.#finish();
  }

  /** Milliseconds to wait after a failure: the Retry interval with ±10% jitter. */
  retryMs(): number {
    // RFC 8210 §6: never synced → the default Retry; jitter so that routers do not gang up.
    const base = this.#retrySec ??
      (this.#everSynced ? this.session.timers.retry : DEFAULT_TIMERS.retry);
    return Math.round(base * 1000 * (0.9 + 0.2 * this.#random()));
  }

  #onSession(ev: SessionEvent, now: number): void {
    const s = this.session;
    switch (ev.kind) {
      case "commit": {
        const r = ev.result;
        this.#lastSuccess = now;
        this.#everSynced = true;
        this.#quickUsed = false;
        this.#resetAfterLoss = false;
        const implicit = r.version < s.proposal;
        this.negotiation.answered(s.proposal, r.version);
        const from = this.negotiation.takeDowngrade(r.version);
        if (implicit) {
          this.#emit({
            kind: "downgrade",
            from: s.proposal,
            to: r.version,
            message:
              `cache answered a version ${s.proposal} query at version ${r.version}; using version ${r.version}`,
            time: now,
          });
        }
        for (const w of r.warnings) this.#emit({ kind: "warning", message: w, time: now });
        this.#out.push({
          kind: "commit",
          event: {
            kind: "commit",
            result: r,
            time: now,
            durationMs: now - this.#queryStarted,
            bytes: this.#bytes,
            pdus: this.#pdus,
            downgradedFrom: from,
          },
        });
        if (s.takePendingNotify()) this.#query(now, s.query());
        else this.#idleSince = now;
        break;
      }
      case "cacheReset":
        this.#emit({ kind: "cacheReset", time: now });
        // The cache has no delta for us: should this connection fail, the next one resets too.
        s.forgetSession();
        this.#resetAfterLoss = true;
        this.#query(now, ev.query);
        break;
      case "notify":
        this.#emit({ kind: "notify", serial: ev.serial, sessionId: ev.sessionId, time: now });
        this.#peerWaitUntil = null;
        this.#query(now, ev.query);
        break;
      case "downgrade": {
        const step = this.negotiation.unsupported(s.proposal, ev.version, ev.reason);
        this.#close();
        if (step.kind === "reconnect") {
          this.session = s.withVersion(step.version);
          this.#emit({
            kind: "downgrade",
            from: s.proposal,
            to: step.version,
            message: step.message,
            time: now,
          });
          this.#reconnect(now, 0, step.message, true);
        } else {
          this.#emitError(new PeerError(ErrorCode.UnsupportedProtocolVersion, "", ev.reason), now);
          this.negotiation.restart();
          this.#lost(now, step.kind === "fail" ? step.message : ev.reason, true);
        }
        break;
      }
      case "fatal": {
        this.#emitError(ev.error, now);
        this.#close(ev.report);
        // 8210bis §5.11: after a fatal error the session's data is not to be trusted; start
        // over with a Reset Query, at the highest version again (the table stays for diffing).
        const resumed = this.#lastQuery === 1;
        s.forgetSession();
        this.negotiation.restart();
        if (ev.error instanceof PeerError && resumed && !this.#quickUsed) {
          // The cache refused our Serial Query (e.g. "Session ID mismatch"): reset at once.
          this.#quickUsed = true;
          this.#reconnect(now, 0, ev.error.message, true);
        } else this.#lost(now, ev.error.message, true);
        break;
      }
      case "peerError": {
        // No Data Available / Cache Restart: ask again after Retry on the same connection; a
        // Serial Notify meanwhile is answered at once (RFC 8210 §5.2).
        this.#emitError(ev.error, now);
        const wait = this.#retrySec !== undefined
          ? this.retryMs()
          : Math.max(60_000, this.retryMs());
        this.#peerWaitUntil = now + wait;
        break;
      }
    }
  }

  /**
   * After No Data Available the version is not negotiated yet, so the session ignores Serial
   * Notify (8210bis §7); but a Notify at our version from a cache that just answered us at it
   * means data is there now: ask at once (RFC 8210 §5.2), not after Retry.
   */
  #notifyWhileWaiting(batch: PduBatch, now: number): void {
    const s = this.session;
    if (s.busy) return;
    const all = batch.straddled ? [batch.straddled, ...batch.pdus] : batch.pdus;
    for (const p of all) {
      if (p.type === 0 && p.version === s.proposal) {
        this.#emit({ kind: "notify", serial: p.serial, sessionId: p.sessionId, time: now });
        this.#peerWaitUntil = null;
        this.#query(now, s.query());
        return;
      }
    }
  }

  #emitError(error: RtrError, now: number): void {
    // The RFC error code, where the error carries one (PeerError, DecodeError).
    const code = (error as RtrError & { code?: number }).code;
    const fatal = !(error instanceof PeerError) ||
      (error.code !== ErrorCode.NoDataAvailable && error.code !== ErrorCode.CacheRestart);
    this.#emit({ kind: "error", code, message: error.message, fatal, time: now });
  }

  #query(now: number, pdu: Pdu): void {
    this.#lastQuery = pdu.type;
    this.#queryStarted = now;
    this.#lastActivity = now;
    this.#out.push({ kind: "send", pdu });
  }

  #close(report?: Pdu): void {
    this.#out.push({ kind: "close", report });
    this.#phase = "waiting";
    this.session.disconnected();
  }

  /** A failed connect or query: wait Retry (with jitter), then reconnect. */
  #lost(now: number, reason: string, afterError: boolean): void {
    this.#reconnect(now, this.retryMs(), reason, afterError);
  }

  #reconnect(now: number, ms: number, reason: string, afterError: boolean): void {
    this.#reconnectAt = now + ms;
    this.#emit({
      kind: "disconnected",
      reason,
      time: now,
      retryInSec: ms / 1000,
      retryAt: now + ms,
      afterError,
    });
    this.#out.push({ kind: "reconnectAt", at: now + ms });
  }

  /** Flush when Expire has passed since the last success. */
  #expireCheck(now: number): void {
    const last = this.#lastSuccess;
    if (last === null || now - last < this.session.timers.expire * 1000) return;
    const dropped = this.session.flush();
    this.negotiation.restart();
    this.#emit({ kind: "expired", time: now, lastSuccess: last, dropped });
    this.#lastSuccess = null;
  }

  #emit(event: FollowEvent): void {
    this.#out.push({ kind: "emit", event });
  }

  /** The next time something is due. */
  #deadline(): number {
    let at = Infinity;
    if (this.#phase === "open") {
      const s = this.session;
      if (s.busy) at = Math.max(this.#queryStarted, this.#lastActivity) + this.#timeoutMs;
      else if (this.#peerWaitUntil !== null) at = this.#peerWaitUntil;
      else at = this.#idleSince + s.timers.refresh * 1000;
    } else at = this.#reconnectAt;
    if (this.#lastSuccess !== null) {
      at = Math.min(at, this.#lastSuccess + this.session.timers.expire * 1000);
    }
    return at;
  }

  #finish(): FollowAction[] {
    const out = this.#out;
    this.#out = [];
    const at = this.#deadline();
    if (Number.isFinite(at)) out.push({ kind: "setTimer", at });
    return out;
  }
}
