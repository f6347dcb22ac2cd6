/**
 * The NDJSON records of `rtr monitor` (README "NDJSON records"; `type` first, times ISO 8601 UTC
 * to the second): `disagreement`, `resolved`, `summary`, `stale`, `unreachable`, `recovered`, and
 * the `incident` records of `--report`. Payload fields are those of the `vrp`, `routerKey` and
 * `aspa` records (RFC 8210 §5.6, §5.10, 8210bis §5.12), under `record` naming the kind.
 */
import type { PayloadKind, PayloadRecord } from "./comparison_index.ts";

/** ISO 8601 UTC to the second, the time format of every record. */
export function recordTime(t: number): string {
  return new Date(t).toISOString().replace(/\.\d+Z$/, "Z");
}

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
