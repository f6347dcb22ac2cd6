/**
 * Every NDJSON record `rtr` prints (README "NDJSON records": one object per line, `type`
 * first) and the table metadata every writer takes. Payload records: `vrp`,
 * `routerKey`, `aspa` (RFC 8210 §5.6, §5.7, §5.10; the ASPA PDU of 8210bis), each announced or withdrawn; `sync`
 * closes a table or a delta (End of Data, RFC 8210 §5.8). Session events of `follow` and
 * `snapshot --serial`: `cacheReset` (RFC 8210 §5.9), `disconnected`, `error` (§5.11), `expired`
 * (§6). `validate`: `validation` (RFC 6811) and its input `error`. `monitor`: `disagreement`,
 * `resolved`, `summary`, `stale`, `unreachable`, `recovered`. `replay`'s records are built
 * as bytes on its hot path in lib/capture/records.ts.
 *
 * One time format for every record: ISO 8601 UTC to the second, `2026-11-28T12:00:00Z`
 * ({@link recordTime}).
 */
import type { Aspa, RouterKey, TableCounts, Vrp } from "../model/mod.ts";
import { ascii } from "../io/mod.ts";

/** Output formats of `snapshot` (and of anything that writes a whole table). */
export type OutputFormat = "json" | "ndjson" | "csv" | "openbgpd" | "bird";

/** Every OutputFormat, in the order help text lists them. */
export const OUTPUT_FORMATS: OutputFormat[] = ["json", "ndjson", "csv", "openbgpd", "bird"];

/** Provenance of a table: the cache, the session and when it was synced. */
export interface TableMeta {
  /** Where the table came from, e.g. `rtr.rpki.cloudflare.com:8282` or a file name. */
  source?: string;
  /** RTR protocol version negotiated. */
  version?: number;
  /** Session ID of the cache (RFC 8210 §5.1), from Cache Response. */
  sessionId?: number;
  /** Serial Number of the table (RFC 8210 §5.1), from End of Data. */
  serial?: number;
  /** Refresh, Retry and Expire intervals (seconds) from End of Data. */
  refresh?: number;
  /** Retry Interval, seconds (RFC 8210 §6). */
  retry?: number;
  /** Expire Interval, seconds (RFC 8210 §6). */
  expire?: number;
  /** When the table was complete (End of Data), written as `buildtime` and `generated`. */
  generated: Date;
  /** True for a full table (Reset Query); the NDJSON `sync` record says so (default true). */
  reset?: boolean;
  /**
   * Set when the table holds only what changed since this serial (`follow --serial`): the JSON
   * metadata then says `"partial":true,"partialFrom":N`.
   */
  partialFrom?: number;
}

/** The one time format of records and table metadata: ISO 8601 UTC to the second. */
export function recordTime(t: Date | number): string {
  return (typeof t === "number" ? new Date(t) : t).toISOString().replace(/\.\d+Z$/, "Z");
}

/** Whether a record adds or removes something. */
export type Action = "announce" | "withdraw";

/** One `vrp` record, without newline. */
export function vrpLine(action: Action, v: Vrp): string {
  return `{"type":"vrp","action":"${action}","prefix":"${v.prefix}","maxLength":${v.maxLength},"asn":${v.asn}}`;
}

/** The byte pieces of a `vrp` record, for writers that build it from packed records. */
export const VRP_RECORD_BYTES = {
  /** `{"type":"vrp","action":"announce","prefix":"` and the withdraw form. */
  head: {
    announce: ascii('{"type":"vrp","action":"announce","prefix":"'),
    withdraw: ascii('{"type":"vrp","action":"withdraw","prefix":"'),
  },
  maxLength: ascii('","maxLength":'),
  asn: ascii(',"asn":'),
  /** `}` and newline. */
  end: ascii("}\n"),
};

/** One `routerKey` record, without newline. */
export function routerKeyLine(action: Action, k: RouterKey): string {
  return `{"type":"routerKey","action":"${action}","asn":${k.asn},"ski":${
    JSON.stringify(k.ski)
  },"pubkey":${JSON.stringify(k.pubkey)}}`;
}

/** One `aspa` record, without newline (a withdrawal carries the providers it had). */
export function aspaLine(action: Action, a: Aspa): string {
  return `{"type":"aspa","action":"${action}","customer_asid":${a.customer},"providers":[${
    a.providers.join(",")
  }]}`;
}

/** Extra fields of a `sync` record closing a delta (follow) rather than a full table. */
export interface SyncExtra {
  previousSerial?: number;
  /** Records announced / withdrawn by this sync (default: the whole table / 0). */
  announced?: number;
  withdrawn?: number;
  /** The version negotiation started from, when this sync followed a downgrade. */
  downgradedFrom?: number;
}

/**
 * One `sync` record, without newline: source, serial, previousSerial, sessionId, version,
 * reset, announced/withdrawn counts, table totals, timers and time.
 */
export function syncLine(meta: TableMeta, counts: TableCounts, extra: SyncExtra = {}): string {
  const r: Record<string, unknown> = { type: "sync" };
  if (meta.source !== undefined) r.source = meta.source;
  if (meta.serial !== undefined) r.serial = meta.serial;
  if (extra.previousSerial !== undefined) r.previousSerial = extra.previousSerial;
  if (meta.sessionId !== undefined) r.sessionId = meta.sessionId;
  if (meta.version !== undefined) r.version = meta.version;
  if (extra.downgradedFrom !== undefined) r.downgradedFrom = extra.downgradedFrom;
  r.reset = meta.reset ?? true;
  r.announced = extra.announced ?? counts.vrps + counts.routerKeys + counts.aspas;
  r.withdrawn = extra.withdrawn ?? 0;
  r.vrps = counts.vrps;
  r.vrpsIpv4 = counts.vrpsIpv4;
  r.vrpsIpv6 = counts.vrpsIpv6;
  r.routerKeys = counts.routerKeys;
  r.aspas = counts.aspas;
  if (meta.refresh !== undefined) r.refresh = meta.refresh;
  if (meta.retry !== undefined) r.retry = meta.retry;
  if (meta.expire !== undefined) r.expire = meta.expire;
  r.time = recordTime(meta.generated);
  return JSON.stringify(r);
}

/** A `cacheReset` record's fields. */
export interface CacheResetRecord {
  /** The cache, `host:port`. */
  source: string;
  /** Negotiated protocol version, when known. */
  version?: number;
  /** Session and serial of the Serial Query the cache refused, when known. */
  sessionId?: number;
  serial?: number;
  time: Date | number;
}

/** One `cacheReset` record (the one shape for `follow` and `snapshot --serial`), no newline. */
export function cacheResetLine(r: CacheResetRecord): string {
  return JSON.stringify({
    type: "cacheReset",
    source: r.source,
    version: r.version,
    sessionId: r.sessionId,
    serial: r.serial,
    time: recordTime(r.time),
  });
}

/** A `disconnected` record's fields. */
export interface DisconnectedRecord {
  source: string;
  /** What happened, one line. */
  reason: string;
  /** Seconds until the next attempt. */
  retryIn: number;
  time: Date | number;
}

/** One `disconnected` record, without newline. */
export function disconnectedLine(r: DisconnectedRecord): string {
  return JSON.stringify({
    type: "disconnected",
    source: r.source,
    reason: r.reason,
    retryIn: r.retryIn,
    time: recordTime(r.time),
  });
}

/** An `error` record's fields (a protocol error `follow` received or detected). */
export interface SessionErrorRecord {
  source: string;
  /** RFC 8210 §12 error code, when there is one. */
  code?: number;
  /** Its name (`errorName(code)`). */
  name?: string;
  message: string;
  /** True when the connection was dropped for it. */
  fatal: boolean;
  time: Date | number;
}

/** One session `error` record, without newline. */
export function sessionErrorLine(r: SessionErrorRecord): string {
  return JSON.stringify({
    type: "error",
    source: r.source,
    code: r.code,
    name: r.name,
    message: r.message,
    fatal: r.fatal,
    time: recordTime(r.time),
  });
}

/** An `expired` record's fields (Expire passed, RFC 8210 §6: the table was flushed). */
export interface ExpiredRecord {
  source: string;
  /** Time of the last successful sync. */
  lastSuccess: Date | number;
  /** What was flushed. */
  flushed: { vrps: number; routerKeys: number; aspas: number };
  time: Date | number;
}

/** One `expired` record, without newline. */
export function expiredLine(r: ExpiredRecord): string {
  return JSON.stringify({
    type: "expired",
    source: r.source,
    lastSuccess: recordTime(r.lastSuccess),
    flushed: r.flushed,
    time: recordTime(r.time),
  });
}

/** One VRP as `validation` lists it. */
export interface ValidationVrp {
  prefix: string;
  maxLength: number;
  asn: number;
}

/** A `validation` record (RFC 6811 §2): the route, its state and the VRPs that decided it. */
export interface ValidationRecord {
  type: "validation";
  prefix: string;
  asn: number;
  state: "valid" | "invalid" | "not-found";
  /** Why invalid (`as`, `length`, `as-and-length`), else null. */
  reason: string | null;
  matched: ValidationVrp[];
  unmatchedAs: ValidationVrp[];
  unmatchedLength: ValidationVrp[];
  /** With `--more-specifics`: VRPs more specific than the route. */
  moreSpecifics?: ValidationVrp[];
}

/** The byte head of a `validation` record (`{"type":"validation","prefix":"`). */
export const VALIDATION_HEAD: Uint8Array = ascii('{"type":"validation","prefix":"');

/** One `validate` input `error` record (a line that is not a route), without newline. */
export function inputErrorLine(line: number, message: string): string {
  return `{"type":"error","line":${line},"message":${JSON.stringify(message)}}`;
}

// --- `rtr monitor` (lib/monitor/): `disagreement`, `resolved`, `summary`, `stale`,
// `unreachable`, `recovered`. Payload fields are those of the `vrp`, `routerKey` and `aspa`
// records, under `record` naming the kind.

/** The payload types `monitor` compares. */
export type PayloadKind = "vrp" | "routerKey" | "aspa";

/** One payload record, tagged with its kind. */
export type PayloadRecord =
  | { kind: "vrp"; value: Vrp }
  | { kind: "routerKey"; value: RouterKey }
  | { kind: "aspa"; value: Aspa };

/** The fields naming one payload record: `record` (its kind) and the kind's own fields. */
export function payloadFields(r: PayloadRecord): Record<string, unknown> {
  switch (r.kind) {
    case "vrp":
      return {
        record: "vrp",
        prefix: r.value.prefix,
        maxLength: r.value.maxLength,
        asn: r.value.asn,
      };
    case "routerKey":
      return { record: "routerKey", asn: r.value.asn, ski: r.value.ski, pubkey: r.value.pubkey };
    case "aspa":
      return { record: "aspa", customer_asid: r.value.customer, providers: r.value.providers };
  }
}

/** Counts by payload kind, as records print them. */
export interface KindCounts {
  vrps: number;
  routerKeys: number;
  aspas: number;
}

/** A record of the monitor. */
export type MonitorRecord =
  | {
    type: "disagreement";
    payload: PayloadRecord;
    have: string[];
    lack: string[];
    since: number;
    time: number;
  }
  | {
    type: "resolved";
    payload: PayloadRecord;
    since: number;
    /** True when every compared source now holds the record, false when none does. */
    everywhere: boolean;
    time: number;
  }
  | {
    type: "summary";
    a: string;
    b: string;
    onlyA: KindCounts;
    onlyB: KindCounts;
    /** Differing records (both directions, every kind) visible at least N seconds. */
    visible: [number, number][];
    time: number;
  }
  | {
    type: "stale";
    source: string;
    reason: "serial" | "expired";
    serial?: number;
    since: number;
    time: number;
  }
  | { type: "unreachable"; source: string; reason: string; time: number }
  | {
    type: "recovered";
    source: string;
    from: "unreachable" | "stale";
    serial?: number;
    time: number;
  };

/** One monitor record as an NDJSON line, without newline. */
export function monitorLine(r: MonitorRecord): string {
  const t = recordTime(r.time);
  switch (r.type) {
    case "disagreement":
      return JSON.stringify({
        type: r.type,
        ...payloadFields(r.payload),
        have: r.have,
        lack: r.lack,
        since: recordTime(r.since),
        time: t,
      });
    case "resolved":
      return JSON.stringify({
        type: r.type,
        ...payloadFields(r.payload),
        since: recordTime(r.since),
        seconds: Math.round((r.time - r.since) / 1000),
        everywhere: r.everywhere,
        time: t,
      });
    case "summary":
      return JSON.stringify({
        type: r.type,
        a: r.a,
        b: r.b,
        onlyA: r.onlyA,
        onlyB: r.onlyB,
        visible: Object.fromEntries(r.visible.map(([s, n]) => [String(s), n])),
        time: t,
      });
    case "stale":
      return JSON.stringify({
        type: r.type,
        source: r.source,
        reason: r.reason,
        serial: r.serial,
        since: recordTime(r.since),
        time: t,
      });
    case "unreachable":
      return JSON.stringify({ type: r.type, source: r.source, reason: r.reason, time: t });
    case "recovered":
      return JSON.stringify({
        type: r.type,
        source: r.source,
        from: r.from,
        serial: r.serial,
        time: t,
      });
  }
}

/** Counts by kind from a per-kind record. */
export function kindCounts(c: Record<PayloadKind, number>): KindCounts {
  return { vrps: c.vrp, routerKeys: c.routerKey, aspas: c.aspa };
}
