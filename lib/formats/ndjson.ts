/**
 * NDJSON records (design.md convention 6: one object per line, `type` first): `vrp`,
 * `routerKey` and `aspa` with `"action":"announce"` or `"withdraw"`, and the `sync` record
 * that closes a table or a delta. `snapshot --format ndjson` writes the whole table as
 * announcements then one `sync` with `"reset":true`; `follow`, `diff` and `replay` use the
 * line builders and writeDiff.
 */
import type { TextSink } from "../io/mod.ts";
import {
  type Aspa,
  type PayloadTable,
  type RouterKey,
  type TableCounts,
  tableCounts,
  type TableDiff,
  type Vrp,
  type VrpSet,
} from "../model/mod.ts";
import type { TableMeta } from "./meta.ts";
import { ascii, type AsciiBuffer, rfc3339, writeVrpBytes } from "./text.ts";

/** Whether a record adds or removes something. */
export type Action = "announce" | "withdraw";

/** One `vrp` record, without newline. */
export function vrpLine(action: Action, v: Vrp): string {
  return `{"type":"vrp","action":"${action}","prefix":"${v.prefix}","maxLength":${v.maxLength},"asn":${v.asn}}`;
}

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
  r.time = rfc3339(meta.generated);
  return JSON.stringify(r);
}

const VRP_HEAD = {
  announce: ascii('{"type":"vrp","action":"announce","prefix":"'),
  withdraw: ascii('{"type":"vrp","action":"withdraw","prefix":"'),
};
const VRP_MAXLEN = ascii('","maxLength":');
const VRP_ASN = ascii(',"asn":');

async function writeVrpRecords(sink: TextSink, set: VrpSet, action: Action): Promise<void> {
  const head = VRP_HEAD[action];
  await writeVrpBytes(sink, set, (o: AsciiBuffer, d: Uint32Array, x: number) => {
    o.raw(head);
    o.prefix(d, x);
    o.raw(VRP_MAXLEN);
    o.uint(d[x] & 255);
    o.raw(VRP_ASN);
    o.uint(d[x + 5]);
    o.buf[o.pos++] = 0x7d;
    o.buf[o.pos++] = 0x0a;
  });
}

async function writeLines(sink: TextSink, lines: string[]): Promise<void> {
  if (lines.length > 0) await sink.write(lines.join("\n") + "\n");
}

/** Write the whole table as announcements, then one `sync` record (`"reset":true` by default). */
export async function writeNdjson(
  sink: TextSink,
  table: PayloadTable,
  meta: TableMeta,
): Promise<void> {
  await writeVrpRecords(sink, table.vrps, "announce");
  await writeLines(sink, table.routerKeys.map((k) => routerKeyLine("announce", k)));
  await writeLines(sink, table.aspas.map((a) => aspaLine("announce", a)));
  await sink.write(syncLine(meta, tableCounts(table)) + "\n");
}

/**
 * Write a diff as records: withdrawals first (VRPs, router keys, ASPA), then announcements. The
 * caller writes the closing `sync` record and flushes.
 */
export async function writeDiff(sink: TextSink, d: TableDiff): Promise<void> {
  await writeVrpRecords(sink, d.vrps.withdrawn, "withdraw");
  await writeLines(sink, d.routerKeys.withdrawn.map((k) => routerKeyLine("withdraw", k)));
  await writeLines(sink, d.aspas.withdrawn.map((a) => aspaLine("withdraw", a)));
  await writeVrpRecords(sink, d.vrps.announced, "announce");
  await writeLines(sink, d.routerKeys.announced.map((k) => routerKeyLine("announce", k)));
  await writeLines(sink, d.aspas.announced.map((a) => aspaLine("announce", a)));
}

/** Number of records a diff holds (announced and withdrawn). */
export function diffCounts(d: TableDiff): { announced: number; withdrawn: number } {
  return {
    announced: d.vrps.announced.size + d.routerKeys.announced.length + d.aspas.announced.length,
    withdrawn: d.vrps.withdrawn.size + d.routerKeys.withdrawn.length + d.aspas.withdrawn.length,
  };
}
