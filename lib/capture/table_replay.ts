/**
 * `replay --table`: applies each captured RTR stream the way a router would, with the client
 * session of lib/session/ (a response staged from Cache Response to End of Data and committed
 * atomically, Cache Reset, reset vs serial responses, withdrawals; 8210bis §11.3). State is kept per
 * router and cache pair across connections, as a router keeps its table when it reconnects;
 * a raw dump is one stream. The router's queries are taken from the capture when it has them;
 * otherwise (raw dumps, captures that start mid-session) a response is taken as an answer to a
 * Serial Query when the session is known, and replayed as a full table if it re-announces
 * records already held.
 */
import { DecodeError } from "../errors.ts";
import { ClientSession, type SyncResult, type Timers } from "../session/mod.ts";
import { decodePdu, ErrorCode, MAX_VERSION, type Pdu } from "../wire/mod.ts";
import type { PayloadTable } from "../model/mod.ts";
import type { CaptureHandler, RtrConnection, RtrStream } from "./flows.ts";
import type { MalformedSpan, PduBytes } from "./pdu_scanner.ts";
import type { Timestamp } from "./timestamp.ts";

/** The table one stream ended with, and how it got there. */
export interface ReplayedTable {
  /** `router>cache:port` for a capture (ports of the router vary per connection), or the file. */
  source: string;
  /** Input file of the last connection. */
  file: string;
  table: PayloadTable;
  version: number | null;
  sessionId: number | null;
  serial: number | null;
  timers: Timers | null;
  /** Capture time of the last commit (null for raw dumps). */
  committedAt: Date | null;
  /** True when the last commit was a full table (answer to a Reset Query). */
  reset: boolean;
  /** Responses committed. */
  commits: number;
  /** Fatal errors a strict router would have dropped the session for, and other notes. */
  notes: string[];
  /** Bytes missing from the capture (the table may be incomplete). */
  gapBytes: number;
}

interface PairState {
  session: ClientSession;
  result: ReplayedTable;
  /** Connection id the state last saw (a new one starts a new transport). */
  connection: RtrConnection | null;
  /** The current connection was dropped after a fatal error: ignore the rest of it. */
  dropped: boolean;
  /** Raw PDUs of a response taken as a serial answer without seeing the query. */
  guessed: Uint8Array[] | null;
  raw: boolean;
}

function toDate(t: Timestamp | null): Date | null {
  if (!t) return null;
  // Years 0000..9999 only, as the records' times (timestamp.ts): a corrupt or odd capture time
  // must not make an invalid Date (toISOString throws).
  const ms = t.sec * 1000 + Math.floor(t.nsec / 1e6);
  return new Date(Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, -62167219200000), 253402300799000));
}

/** A CaptureHandler that rebuilds the table of every stream. */
export class TableReplayer implements CaptureHandler {
  #pairs = new Map<string, PairState>();
  #last: PairState | null = null;

  #key(c: RtrConnection): { key: string; source: string } {
    if (c.flow === null) return { key: `file ${c.file}`, source: c.file };
    const cacheEp = c.flow.slice(c.flow.indexOf(">") + 1);
    const source = `${c.router}>${cacheEp}`;
    return { key: source, source };
  }

  #state(c: RtrConnection): PairState {
    // Fast path: the same connection as last time (every PDU of a stream).
    const last = this.#last;
    if (last && last.connection === c) return last;
    const st = this.#lookup(c);
    this.#last = st;
    return st;
  }

  #lookup(c: RtrConnection): PairState {
    const { key, source } = this.#key(c);
    let st = this.#pairs.get(key);
    if (!st) {
      st = {
        session: new ClientSession({ version: MAX_VERSION }),
        result: {
          source,
          file: c.file,
          table: new ClientSession().table,
          version: null,
          sessionId: null,
          serial: null,
          timers: null,
          committedAt: null,
          reset: true,
          commits: 0,
          notes: [],
          gapBytes: 0,
        },
        connection: c,
        dropped: false,
        guessed: null,
        raw: c.flow === null,
      };
      this.#pairs.set(key, st);
    } else if (st.connection !== c) {
      // A new connection: the version is negotiated again; the table and session stay.
      st.session.disconnected();
      st.connection = c;
      st.dropped = false;
      st.guessed = null;
      st.result.file = c.file;
    }
    return st;
  }

  pdu(stream: RtrStream, pdu: Pdu, at: PduBytes, time: Timestamp | null) {
    const st = this.#state(stream.connection);
    if (st.dropped) return;
    const s = st.session;
    if (stream.direction === "router") {
      // What the router asked decides how the answer is applied.
      s.sent(pdu);
      return;
    }
    if (pdu.type === 3 && !s.busy) {
      // No query seen (raw dump, capture started mid-session): guess like a router would ask.
      s.proposal = Math.max(s.proposal, pdu.version);
      if (s.haveData && s.sessionId === pdu.sessionId) {
        s.query();
        st.guessed = [];
      } else {
        s.resetQuery();
      }
    }
    if (st.guessed) st.guessed.push(at.view().slice());
    // No raw bytes: they only go into Error Reports, which a replay never sends.
    const ev = s.receive(pdu);
    this.#event(st, ev, time, pdu);
  }

  #event(
    st: PairState,
    ev: ReturnType<ClientSession["receive"]>,
    time: Timestamp | null,
    pdu: Pdu,
  ) {
    const s = st.session;
    switch (ev.kind) {
      case "commit":
        st.guessed = null;
        this.#commit(st, ev.result, time);
        break;
      case "fatal": {
        if (
          st.guessed && ev.error instanceof DecodeError &&
          ev.error.code === ErrorCode.DuplicateAnnouncement && pdu.type === 7
        ) {
          // The response re-announced held records: it answered a Reset Query after all.
          const pdus = st.guessed;
          st.guessed = null;
          s.disconnected();
          s.resetQuery();
          for (const r of pdus) {
            const again = s.receive(decodePdu(r), r);
            if (again.kind !== "none") {
              this.#event(st, again, time, decodePdu(r));
              if (again.kind !== "commit") return;
            }
          }
          return;
        }
        st.guessed = null;
        st.result.notes.push(
          `${toDate(time)?.toISOString() ?? "raw"}: ${ev.error.message}${
            ev.flush ? " (a router drops the session and flushes the table)" : ""
          }`,
        );
        if (ev.flush) {
          s.flush();
          st.result.table = s.table;
          st.result.sessionId = null;
          st.result.serial = null;
        }
        s.disconnected();
        // A router closes the connection; a raw dump simply goes on with the next one.
        if (!st.raw) st.dropped = true;
        break;
      }
      case "downgrade":
        s.disconnected();
        s.proposal = ev.version;
        break;
      case "peerError":
        st.result.notes.push(`${toDate(time)?.toISOString() ?? "raw"}: ${ev.error.message}`);
        break;
      default:
        break;
    }
  }

  #commit(st: PairState, r: SyncResult, time: Timestamp | null): void {
    const res = st.result;
    res.table = r.table;
    res.version = r.version;
    res.sessionId = r.sessionId;
    res.serial = r.serial;
    res.timers = r.version === 0 ? null : { ...r.timers };
    res.committedAt = toDate(time);
    res.reset = r.reset;
    res.commits++;
    for (const w of r.warnings) res.notes.push(w);
  }

  malformed(stream: RtrStream, span: MalformedSpan, time: Timestamp | null) {
    if (stream.direction === "router") return;
    const st = this.#state(stream.connection);
    if (st.dropped) return;
    if (span.cause !== "data") {
      // Capture loss or a capture that ends mid-PDU: not what the router saw.
      st.result.notes.push(`${toDate(time)?.toISOString() ?? "raw"}: ${span.message}`);
      return;
    }
    const e = new DecodeError(span.errorCode, span.message, span.bytes);
    this.#event(st, st.session.decodeFailed(e), time, { type: 8, version: 0 });
  }

  gap(stream: RtrStream, _offset: number, length: number, _time: Timestamp | null) {
    if (stream.direction === "router") return;
    this.#state(stream.connection).result.gapBytes += length;
  }

  connectionEnd(connection: RtrConnection) {
    const st = this.#pairs.get(this.#key(connection).key);
    if (st && st.connection === connection && !st.raw) {
      st.session.disconnected();
    }
  }

  /** Every stream's final table, in the order the streams appeared. */
  results(): ReplayedTable[] {
    return [...this.#pairs.values()].map((s) => s.result);
  }
}
