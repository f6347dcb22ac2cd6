/**
 * `replay --check`: what a strict router would flag in a captured RTR session, as `violation`
 * records. Checks version negotiation (Serial Notify before it, a different version after it;
 * 8210bis §7, protocol.md §3), the response structure (payload only between Cache Response and
 * End of Data, session ids, no withdrawals in a reset response; §4.3), duplicate announcements
 * and withdrawals of unknown records against the table held so far (§4.6), the v2 ordering of
 * §4.8 (8210bis §11.2) and timer ranges (§4.4), plus every malformed PDU. Unlike a router it
 * does not stop at the first problem: it applies what it can leniently and goes on, so one
 * capture yields every violation in it.
 */
import { errorCodeFor, errorName, type Pdu, pduName } from "../wire/mod.ts";
import { formatPrefix, toBase64, toHex, VrpSet, VrpSetBuilder, W } from "../model/mod.ts";
import type { CaptureHandler, RtrConnection, RtrStream } from "./flows.ts";
import type { MalformedSpan, PduBytes } from "./pdu_scanner.ts";
import { pduFields, streamFields } from "./records.ts";
import type { Timestamp } from "./timestamp.ts";

/** Rules `--check` applies, with what each means. */
export const CHECK_RULES: Record<string, string> = {
  "malformed": "a PDU that cannot be decoded (wrong length, field out of range, unknown type)",
  "notify-before-negotiation": "Serial Notify before the version was negotiated (§3 rule 6)",
  "unexpected-version": "a PDU whose version differs from the negotiated one (§3 rule 7)",
  "wrong-direction": "a PDU type that this side never sends (§1.2)",
  "outside-response": "payload or End of Data outside Cache Response … End of Data (§4.3)",
  "unexpected-response": "Cache Response while another response is open (§4.3)",
  "unexpected-cache-reset": "Cache Reset that does not answer a Serial Query (§4.3)",
  "session-mismatch": "session id differs from the Cache Response or the session (§4.3, §4.6)",
  "withdrawal-in-reset": "a withdrawal in the response to a Reset Query (§4.3)",
  "duplicate-announcement": "announcement of a record already held (§4.6, error 7)",
  "unknown-withdrawal": "withdrawal of a record not held (§4.6, error 6)",
  "aspa-stale-withdrawal": "legacy ASPA withdrawal naming other providers than held (§7)",
  "ordering": "v2 payload order of §4.8 not kept (error 11)",
  "host-bits": "v2 prefix with bits set beyond its length (§1.3)",
  "timers": "End of Data timers outside §4.4 ranges, or Expire not above Refresh and Retry",
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

interface Staging {
  reset: boolean;
  sessionId: number;
  version: number;
  /** Reset: announcements collected; duplicates found when built. */
  builder: VrpSetBuilder;
  /** Serial: net presence per record key. */
  vrps: Map<string, { present: boolean; rec: Uint32Array }>;
  keys: Map<string, boolean>;
  keyValues: Map<string, RouterKeyValue>;
  aspa: Map<number, number[] | null>;
  legacy: Map<string, number[] | null>;
  prev: Pdu | null;
  counts: Map<string, number>;
}

interface RouterKeyValue {
  asn: number;
  ski: string;
  pubkey: string;
}

interface ConnState {
  /** Negotiated version on this connection, once the cache answered. */
  version: number | null;
  /** The router's last query on this connection ("reset" / "serial"), if seen. */
  query: "reset" | "serial" | null;
  staging: Staging | null;
}

interface PairState {
  vrps: VrpSet;
  keys: Map<string, RouterKeyValue>;
  aspa: Map<number, number[]>;
  legacy: Map<string, number[]>;
  sessionId: number | null;
  conns: Map<RtrConnection, ConnState>;
}

const scratch = new Uint32Array(W);

function packPrefix(p: Pdu & { type: 4 | 6 }, out: Uint32Array): void {
  out[0] = (p.type === 6 ? 0x10000 : 0) | (p.prefixLength << 8) | p.maxLength;
  out[1] = p.addr[0];
  out[2] = p.type === 6 ? p.addr[1] : 0;
  out[3] = p.type === 6 ? p.addr[2] : 0;
  out[4] = p.type === 6 ? p.addr[3] : 0;
  out[5] = p.asn;
}

function describePrefix(p: Pdu & { type: 4 | 6 }): string {
  return `${formatPrefix(p.type === 4 ? 4 : 6, p.addr, p.prefixLength)}-${p.maxLength} AS${p.asn}`;
}

function cmpU(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const TYPE_RANK: Record<number, number> = { 4: 0, 6: 1, 9: 2, 11: 3 };

/** >0 when `cur` must not follow `prev` in a v2 response (§4.8); 0 when equal. */
export function orderViolation(prev: Pdu, cur: Pdu): boolean {
  const rp = TYPE_RANK[prev.type], rc = TYPE_RANK[cur.type];
  if (rp !== rc) return rp > rc;
  const ap = "flags" in prev ? prev.flags & 1 : 1, ac = "flags" in cur ? cur.flags & 1 : 1;
  if (ap !== ac) return ap < ac; // announcements (1) first
  if ((prev.type === 4 || prev.type === 6) && (cur.type === 4 || cur.type === 6)) {
    let c = 0;
    for (let i = 0; i < prev.addr.length && c === 0; i++) c = cmpU(prev.addr[i], cur.addr[i]);
    if (c === 0) c = prev.maxLength - cur.maxLength;
    if (c === 0) c = prev.prefixLength - cur.prefixLength;
    if (c === 0) c = cmpU(prev.asn, cur.asn);
    // Announcements descending, withdrawals ascending.
    return ac === 1 ? c < 0 : c > 0;
  }
  if (prev.type === 9 && cur.type === 9) {
    let c = cmpBytes(prev.ski, cur.ski);
    if (c === 0) c = prev.spki.length - cur.spki.length;
    if (c === 0) c = cmpBytes(prev.spki, cur.spki);
    if (c === 0) c = cmpU(prev.asn, cur.asn);
    return c > 0;
  }
  if (prev.type === 11 && cur.type === 11) return prev.customer > cur.customer;
  return false;
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
      p = {
        vrps: new VrpSet(),
        keys: new Map(),
        aspa: new Map(),
        legacy: new Map(),
        sessionId: null,
        conns: new Map(),
      };
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
    st?: Staging | null,
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
          errorCodeFor(pdu.version, 5),
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
          errorCodeFor(v, 8),
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
        errorCodeFor(v ?? pdu.version, 5),
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
      if (!(pdu.type === 10 && pdu.errorCode === 4)) c.version = pdu.version;
    } else if (pdu.version !== v) {
      this.#flag(
        "unexpected-version",
        `Cache sent ${pduName(pdu.type)} PDU at version ${pdu.version} in a version ${v} session`,
        errorCodeFor(v, 8),
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
        this.#payload(p, c, stream, pdu, time);
        break;
      case 7:
        this.#endOfData(p, c, stream, pdu, time);
        break;
      case 8:
        if (c.staging || c.query === "reset") {
          this.#flag(
            "unexpected-cache-reset",
            c.staging ? "Cache Reset inside a response" : "Cache Reset in answer to a Reset Query",
            errorCodeFor(c.version ?? 0, 0),
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
        0,
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
        0,
        stream,
        time,
        pdu,
      );
    }
    c.query = null;
    c.staging = {
      reset,
      sessionId,
      version: pdu.version,
      builder: new VrpSetBuilder(reset ? 1 << 14 : 16),
      vrps: new Map(),
      keys: new Map(),
      keyValues: new Map(),
      aspa: new Map(),
      legacy: new Map(),
      prev: null,
      counts: new Map(),
    };
  }

  #payload(p: PairState, c: ConnState, stream: RtrStream, pdu: Pdu, time: Timestamp | null) {
    const st = c.staging;
    if (!st) {
      this.#flag(
        "outside-response",
        `${pduName(pdu.type)} PDU outside Cache Response … End of Data`,
        0,
        stream,
        time,
        pdu,
      );
      return;
    }
    const announce = "flags" in pdu ? (pdu.flags & 1) === 1 : true;
    if (st.reset && !announce) {
      this.#flag(
        "withdrawal-in-reset",
        `Withdrawal (${pduName(pdu.type)}) in the response to a Reset Query`,
        0,
        stream,
        time,
        pdu,
        st,
      );
      return;
    }
    if (st.version === 2 && st.prev && orderViolation(st.prev, pdu)) {
      this.#flag(
        "ordering",
        `${pduName(pdu.type)} PDU out of the §4.8 order after ${pduName(st.prev.type)} PDU`,
        11,
        stream,
        time,
        pdu,
        st,
      );
    }
    st.prev = pdu;
    if (pdu.type === 4 || pdu.type === 6) {
      if (pdu.hostBits && st.version === 2) {
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
      if (st.reset) {
        st.builder.add(pdu.type === 6, pdu.addr, pdu.prefixLength, pdu.maxLength, pdu.asn);
        return;
      }
      packPrefix(pdu, scratch);
      const key = scratch.join(",");
      const had = st.vrps.get(key);
      const present = had ? had.present : p.vrps.indexOfRecord(scratch, 0) >= 0;
      if (announce && present) {
        this.#flag(
          "duplicate-announcement",
          `Duplicate announcement of ${describePrefix(pdu)}`,
          7,
          stream,
          time,
          pdu,
          st,
        );
      } else if (!announce && !present) {
        this.#flag(
          "unknown-withdrawal",
          `Withdrawal of unknown record ${describePrefix(pdu)}`,
          6,
          stream,
          time,
          pdu,
          st,
        );
      }
      st.vrps.set(key, { present: announce, rec: had?.rec ?? scratch.slice() });
      return;
    }
    if (pdu.type === 9) {
      const k: RouterKeyValue = { asn: pdu.asn, ski: toHex(pdu.ski), pubkey: toBase64(pdu.spki) };
      const id = `${k.ski} ${k.asn} ${k.pubkey}`;
      const present = st.keys.get(id) ?? (!st.reset && p.keys.has(id));
      if (announce && present) {
        this.#flag(
          "duplicate-announcement",
          `Duplicate announcement of Router Key SKI ${k.ski} AS${k.asn}`,
          7,
          stream,
          time,
          pdu,
          st,
        );
      } else if (!announce && !present) {
        this.#flag(
          "unknown-withdrawal",
          `Withdrawal of unknown Router Key SKI ${k.ski} AS${k.asn}`,
          6,
          stream,
          time,
          pdu,
          st,
        );
      }
      st.keys.set(id, announce);
      st.keyValues.set(id, k);
      return;
    }
    if (pdu.type === 11) {
      if (pdu.legacyAfi !== undefined) {
        const key = `${pdu.customer}:${pdu.legacyAfi}`;
        const providers = [...new Set(pdu.providers)].sort((a, b) => a - b);
        const held = st.legacy.has(key)
          ? st.legacy.get(key)!
          : st.reset
          ? null
          : p.legacy.get(key) ?? null;
        if (announce) st.legacy.set(key, providers);
        else if (!held) {
          this.#flag(
            "unknown-withdrawal",
            `Withdrawal of unknown ASPA record for customer AS${pdu.customer} (AFI ${pdu.legacyAfi})`,
            6,
            stream,
            time,
            pdu,
            st,
          );
        } else if (held.join(",") !== providers.join(",")) {
          this.#flag(
            "aspa-stale-withdrawal",
            `ASPA withdrawal for customer AS${pdu.customer} names providers ${
              providers.join(",")
            }, held are ${held.join(",")}`,
            null,
            stream,
            time,
            pdu,
            st,
          );
        } else st.legacy.set(key, null);
        return;
      }
      const held = st.aspa.has(pdu.customer)
        ? st.aspa.get(pdu.customer) !== null
        : !st.reset && p.aspa.has(pdu.customer);
      if (!announce && !held) {
        this.#flag(
          "unknown-withdrawal",
          `Withdrawal of unknown ASPA record for customer AS${pdu.customer}`,
          6,
          stream,
          time,
          pdu,
          st,
        );
      }
      st.aspa.set(pdu.customer, announce ? pdu.providers : null);
    }
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
        0,
        stream,
        time,
        pdu,
      );
      return;
    }
    if (pdu.sessionId !== st.sessionId) {
      this.#flag(
        "session-mismatch",
        `End of Data session id is ${pdu.sessionId}, expected ${st.sessionId} from the Cache Response`,
        0,
        stream,
        time,
        pdu,
      );
    }
    if (pdu.refresh !== undefined) {
      const r = pdu.refresh, t = pdu.retry!, e = pdu.expire!;
      const bad: string[] = [];
      if (r < 1 || r > 86400) bad.push(`refresh ${r} outside 1..86400`);
      if (t < 1 || t > 7200) bad.push(`retry ${t} outside 1..7200`);
      if (e < 600 || e > 172800) bad.push(`expire ${e} outside 600..172800`);
      if (e <= r) bad.push(`expire ${e} not above refresh ${r}`);
      if (e <= t) bad.push(`expire ${e} not above retry ${t}`);
      if (bad.length > 0) {
        this.#flag("timers", `End of Data timers: ${bad.join(", ")}`, null, stream, time, pdu);
      }
    }
    // Apply leniently.
    if (st.reset) {
      const built = st.builder.build();
      for (const d of built.duplicates) {
        this.#flag(
          "duplicate-announcement",
          `Duplicate announcement of ${d.prefix}-${d.maxLength} AS${d.asn} in a reset response`,
          7,
          stream,
          time,
          null,
          st,
        );
      }
      p.vrps = built.set;
      p.keys = new Map();
      p.aspa = new Map();
      p.legacy = new Map();
    } else {
      const ann = new VrpSetBuilder(16), wd = new VrpSetBuilder(16);
      for (const { present, rec } of st.vrps.values()) {
        const base = p.vrps.indexOfRecord(rec, 0) >= 0;
        if (present === base) continue;
        (present ? ann : wd).add(
          (rec[0] >>> 16) === 1,
          rec.subarray(1, 5),
          (rec[0] >>> 8) & 255,
          rec[0] & 255,
          rec[5],
        );
      }
      p.vrps = p.vrps.apply(ann.build().set, wd.build().set);
    }
    for (const [id, present] of st.keys) {
      if (present) p.keys.set(id, st.keyValues.get(id)!);
      else p.keys.delete(id);
    }
    for (const [customer, providers] of st.aspa) {
      if (providers) p.aspa.set(customer, providers);
      else p.aspa.delete(customer);
    }
    for (const [key, providers] of st.legacy) {
      if (providers) p.legacy.set(key, providers);
      else p.legacy.delete(key);
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
    p.sessionId = st.sessionId;
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
