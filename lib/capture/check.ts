/**
 * `replay --check`: what a strict router would flag in a captured RTR session, as `violation`
 * records. Checks version negotiation (Serial Notify before it, a different version after it;
 * 8210bis §7), the response structure (payload only between Cache Response and End of Data,
 * session ids, no withdrawals in a reset response; RFC 8210 §5), duplicate announcements and
 * withdrawals of unknown records against the table held so far (8210bis §5.6, §11.3), the v2
 * ordering of 8210bis §11.2 and the timer ranges of RFC 8210 §6, plus every malformed PDU. The
 * response is staged by the router's own `Staging` in lenient mode: unlike a router it does not
 * stop at the first problem but applies what it can and goes on, so one capture yields every
 * violation in it.
 */
import { ErrorCode, errorCodeFor, errorName, type Pdu, pduName } from "../wire/mod.ts";
import {
  emptyTable,
  formatPrefix,
  orderViolation,
  type PayloadTable,
  timerProblems,
} from "../model/mod.ts";
import { isViolation, Staging, type StagingViolation } from "../session/mod.ts";
import type { CaptureHandler, RtrConnection, RtrStream } from "./flows.ts";
import type { MalformedSpan, PduBytes } from "./pdu_scanner.ts";
import { pduFields, streamFields } from "./records.ts";
import type { Timestamp } from "./timestamp.ts";

export { orderViolation };

/** Rules `--check` applies, with what each means. */
export const CHECK_RULES: Record<string, string> = {
  "malformed": "a PDU that cannot be decoded (wrong length, field out of range, unknown type)",
  "notify-before-negotiation": "Serial Notify before the version was negotiated (8210bis §7)",
  "unexpected-version": "a PDU whose version differs from the negotiated one (8210bis §7, error 8)",
  "wrong-direction": "a PDU type that this side never sends (RFC 8210 §5, error 5)",
  "outside-response": "payload or End of Data outside Cache Response … End of Data (RFC 8210 §8)",
  "unexpected-response": "Cache Response while another response is open (RFC 8210 §8)",
  "unexpected-cache-reset": "Cache Reset that does not answer a Serial Query (RFC 8210 §5.9)",
  "session-mismatch": "session id differs from the Cache Response or the session (RFC 8210 §5.1)",
  "withdrawal-in-reset": "a withdrawal in the response to a Reset Query (RFC 8210 §5.6)",
  "duplicate-announcement": "announcement of a record already held (8210bis §5.6, error 7)",
  "unknown-withdrawal": "withdrawal of a record not held (8210bis §5.6, error 6)",
  "aspa-stale-withdrawal":
    "legacy ASPA withdrawal naming other providers than held (StayRTR 0.5.1)",
  "ordering": "v2 payload order of 8210bis §11.2 not kept (error 11)",
  "host-bits": "v2 prefix with bits set beyond its length (8210bis §5.6)",
  "timers": "End of Data timers outside RFC 8210 §6 ranges, or Expire not above Refresh and Retry",
};

/** One violation found. */
export interface Violation {
  rule: string;
  message: string;
  /** RFC error code a router would send, when there is one. */
  errorCode: number | null;
  stream: RtrStream;
  time: Timestamp | null;
  pdu: Pdu | null;
}

/** Violations of one rule printed per response before they are only counted. */
const PER_RESPONSE = 10;

/** Payload PDU types. */
type PayloadType = { type: 4 | 6 | 9 | 11 };

/** One open response on a connection. */
interface OpenResponse {
  staging: Staging;
  /** The previous payload PDU (for the §11.2 order). */
  prev: Pdu | null;
  /** Violations per rule in this response. */
  counts: Map<string, number>;
}

interface ConnState {
  /** Negotiated version on this connection, once the cache answered. */
  version: number | null;
  /** The router's last query on this connection ("reset" / "serial"), if seen. */
  query: "reset" | "serial" | null;
  staging: OpenResponse | null;
}

interface PairState {
  table: PayloadTable;
  /** Legacy-layout ASPA state, as the router session keeps it. */
  legacy: Map<string, number[]>;
  sessionId: number | null;
  conns: Map<RtrConnection, ConnState>;
}

function describePrefix(p: Pdu & { type: 4 | 6 }): string {
  return `${formatPrefix(p.type === 4 ? 4 : 6, p.addr, p.prefixLength)}-${p.maxLength} AS${p.asn}`;
}

/** A CaptureHandler that finds protocol violations. */
export class ProtocolChecker implements CaptureHandler {
  #pairs = new Map<string, PairState>();
  #lastConn: RtrConnection | null = null;
  #lastPair: PairState | null = null;
  #lastState: ConnState | null = null;
  #emit: (v: Violation) => void;
  /** Violations found (including those only counted). */
  count = 0;

  constructor(emit: (v: Violation) => void) {
    this.#emit = emit;
  }

  #pair(c: RtrConnection): PairState {
    const key = c.flow === null
      ? `file ${c.file}`
      : `${c.router}>${c.flow.slice(c.flow.indexOf(">") + 1)}`;
    let p = this.#pairs.get(key);
    if (!p) {
      p = { table: emptyTable(), legacy: new Map(), sessionId: null, conns: new Map() };
      this.#pairs.set(key, p);
    }
    return p;
  }

  #conn(p: PairState, c: RtrConnection): ConnState {
    let s = p.conns.get(c);
    if (!s) {
      s = { version: null, query: null, staging: null };
      p.conns.set(c, s);
    }
    return s;
  }

  #flag(
    rule: string,
    message: string,
    code: number | null,
    stream: RtrStream,
    time: Timestamp | null,
    pdu: Pdu | null,
    st?: OpenResponse | null,
  ): void {
    this.count++;
    if (st) {
      const n = (st.counts.get(rule) ?? 0) + 1;
      st.counts.set(rule, n);
      if (n > PER_RESPONSE) return;
    }
    this.#emit({ rule, message, errorCode: code, stream, time, pdu });
  }

  pdu(stream: RtrStream, pdu: Pdu, _at: PduBytes, time: Timestamp | null) {
    let p: PairState, c: ConnState;
    if (this.#lastConn === stream.connection) {
      p = this.#lastPair!;
      c = this.#lastState!;
    } else {
      p = this.#pair(stream.connection);
      c = this.#conn(p, stream.connection);
      this.#lastConn = stream.connection;
      this.#lastPair = p;
      this.#lastState = c;
    }
    const v = c.version;
    if (stream.direction === "router") {
      if (pdu.type !== 1 && pdu.type !== 2 && pdu.type !== 10) {
        this.#flag(
          "wrong-direction",
          `Router sent ${pduName(pdu.type)} PDU, which only a cache sends`,
          errorCodeFor(pdu.version, ErrorCode.UnsupportedPduType),
          stream,
          time,
          pdu,
        );
        return;
      }
      if (v !== null && pdu.version !== v) {
        this.#flag(
          "unexpected-version",
          `Router sent ${
            pduName(pdu.type)
          } PDU at version ${pdu.version} in a version ${v} session`,
          errorCodeFor(v, ErrorCode.UnexpectedProtocolVersion),
          stream,
          time,
          pdu,
        );
      }
      if (pdu.type === 2) c.query = "reset";
      else if (pdu.type === 1) c.query = "serial";
      return;
    }
    // Cache side.
    if (pdu.type === 1 || pdu.type === 2) {
      this.#flag(
        "wrong-direction",
        `Cache sent ${pduName(pdu.type)} PDU, which only a router sends`,
        errorCodeFor(v ?? pdu.version, ErrorCode.UnsupportedPduType),
        stream,
        time,
        pdu,
      );
      return;
    }
    if (pdu.type === 0 && v === null) {
      this.#flag(
        "notify-before-negotiation",
        `Serial Notify (version ${pdu.version}, serial ${pdu.serial}) before the version was negotiated`,
        null,
        stream,
        time,
        pdu,
      );
      return;
    }
    if (v === null) {
      // The first answer fixes the version (an Error Report "unsupported version" does not).
      if (!(pdu.type === 10 && pdu.errorCode === ErrorCode.UnsupportedProtocolVersion)) {
        c.version = pdu.version;
      }
    } else if (pdu.version !== v) {
      this.#flag(
        "unexpected-version",
        `Cache sent ${pduName(pdu.type)} PDU at version ${pdu.version} in a version ${v} session`,
        errorCodeFor(v, ErrorCode.UnexpectedProtocolVersion),
        stream,
        time,
        pdu,
        c.staging,
      );
    }
    switch (pdu.type) {
      case 3:
        this.#cacheResponse(p, c, stream, pdu.sessionId, pdu, time);
        break;
      case 4:
      case 6:
      case 9:
      case 11:
        this.#payload(c, stream, pdu, time);
        break;
      case 7:
        this.#endOfData(p, c, stream, pdu, time);
        break;
      case 8:
        if (c.staging || c.query === "reset") {
          this.#flag(
            "unexpected-cache-reset",
            c.staging ? "Cache Reset inside a response" : "Cache Reset in answer to a Reset Query",
            ErrorCode.CorruptData,
            stream,
            time,
            pdu,
          );
        }
        c.staging = null;
        c.query = null;
        break;
      default:
        break;
    }
  }

  #cacheResponse(
    p: PairState,
    c: ConnState,
    stream: RtrStream,
    sessionId: number,
    pdu: Pdu,
    time: Timestamp | null,
  ): void {
    if (c.staging) {
      this.#flag(
        "unexpected-response",
        "Cache Response while the previous response has no End of Data",
        ErrorCode.CorruptData,
        stream,
        time,
        pdu,
      );
    }
    // Without the query in the capture: a known session means a Serial Query was likely.
    const reset = c.query === "reset" ||
      (c.query === null && (p.sessionId === null || p.sessionId !== sessionId));
    if (!reset && p.sessionId !== null && sessionId !== p.sessionId) {
      this.#flag(
        "session-mismatch",
        `Cache Response session id is ${sessionId}, expected ${p.sessionId} in answer to a Serial Query`,
        ErrorCode.CorruptData,
        stream,
        time,
        pdu,
      );
    }
    c.query = null;
    const open: OpenResponse = {
      staging: new Staging(reset, sessionId, pdu.version, {
        mode: "lenient",
        onViolation: (v) => this.#staged(v, open),
      }),
      prev: null,
      counts: new Map(),
    };
    c.staging = open;
  }

  /** Where a staging violation is reported: the stream and time of the PDU being handled. */
  #atStream: RtrStream | null = null;
  #atTime: Timestamp | null = null;

  #staged(v: StagingViolation, open: OpenResponse): void {
    this.#flag(v.rule, v.message, v.code, this.#atStream!, this.#atTime, v.pdu, open);
  }

  #payload(c: ConnState, stream: RtrStream, pdu: Pdu & PayloadType, time: Timestamp | null) {
    const st = c.staging;
    if (!st) {
      this.#flag(
        "outside-response",
        `${pduName(pdu.type)} PDU outside Cache Response … End of Data`,
        ErrorCode.CorruptData,
        stream,
        time,
        pdu,
      );
      return;
    }
    this.#atStream = stream;
    this.#atTime = time;
    const version = st.staging.version;
    if (st.staging.reset && (pdu.flags & 1) === 0) {
      st.staging.stage(pdu); // "withdrawal-in-reset", and the PDU is skipped
      return;
    }
    if (version === 2 && st.prev && orderViolation(st.prev, pdu)) {
      this.#flag(
        "ordering",
        `${pduName(pdu.type)} PDU out of the §11.2 order after ${pduName(st.prev.type)} PDU`,
        ErrorCode.OrderingError,
        stream,
        time,
        pdu,
        st,
      );
    }
    st.prev = pdu;
    if ((pdu.type === 4 || pdu.type === 6) && pdu.hostBits && version === 2) {
      this.#flag(
        "host-bits",
        `Prefix ${describePrefix(pdu)} had bits set beyond its length`,
        null,
        stream,
        time,
        pdu,
        st,
      );
    }
    st.staging.stage(pdu);
  }

  #endOfData(
    p: PairState,
    c: ConnState,
    stream: RtrStream,
    pdu: Pdu & { type: 7 },
    time: Timestamp | null,
  ): void {
    const st = c.staging;
    if (!st) {
      this.#flag(
        "outside-response",
        "End of Data outside a response",
        ErrorCode.CorruptData,
        stream,
        time,
        pdu,
      );
      return;
    }
    const staging = st.staging;
    if (pdu.sessionId !== staging.sessionId) {
      this.#flag(
        "session-mismatch",
        `End of Data session id is ${pdu.sessionId}, expected ${staging.sessionId} from the Cache Response`,
        ErrorCode.CorruptData,
        stream,
        time,
        pdu,
      );
    }
    if (pdu.refresh !== undefined) {
      const bad = timerProblems({ refresh: pdu.refresh, retry: pdu.retry!, expire: pdu.expire! });
      if (bad.length > 0) {
        this.#flag("timers", `End of Data timers: ${bad.join(", ")}`, null, stream, time, pdu);
      }
    }
    // Apply leniently: every violation is reported through #staged.
    this.#atStream = stream;
    this.#atTime = time;
    const r = staging.commit(p.table, p.legacy);
    if (!isViolation(r)) {
      p.table = r.table;
      p.legacy = r.legacy;
    }
    const more = [...st.counts].filter(([, n]) => n > PER_RESPONSE);
    for (const [rule, n] of more) {
      this.#emit({
        rule,
        message: `${n - PER_RESPONSE} more "${rule}" violations in this response`,
        errorCode: null,
        stream,
        time,
        pdu: null,
      });
    }
    p.sessionId = staging.sessionId;
    c.staging = null;
  }

  malformed(stream: RtrStream, span: MalformedSpan, time: Timestamp | null) {
    if (span.cause !== "data") return;
    const c = this.#conn(this.#pair(stream.connection), stream.connection);
    this.#flag("malformed", span.message, span.errorCode, stream, time, null, c.staging);
  }

  gap() {}

  connectionEnd(connection: RtrConnection) {
    const p = this.#pair(connection);
    p.conns.delete(connection);
    if (this.#lastConn === connection) this.#lastConn = null;
  }
}

/** The NDJSON line of a violation (with newline). */
export function violationLine(v: Violation, withFile: boolean): string {
  let s = `{"type":"violation","rule":"${v.rule}"${streamFields(v.stream, v.time, withFile)}`;
  if (v.errorCode !== null) {
    s += `,"errorCode":${v.errorCode},"errorName":${JSON.stringify(errorName(v.errorCode))}`;
  }
  s += `,"message":${JSON.stringify(v.message)}`;
  if (v.pdu) {
    s += `,"version":${v.pdu.version},"pduType":${v.pdu.type},"name":${
      JSON.stringify(pduName(v.pdu.type))
    }${pduFields(v.pdu)}`;
  }
  return s + "}\n";
}
