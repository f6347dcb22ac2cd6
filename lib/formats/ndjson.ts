/**
 * NDJSON output of tables and deltas, with the records of records.ts: `snapshot --format ndjson`
 * writes the whole table as announcements then one `sync` with `"reset":true`; `follow` and
 * `diff` write deltas with writeDiff. VRP records are built as bytes from the packed set.
 */
import type { TextSink } from "../io/mod.ts";
import { type PayloadTable, tableCounts, type TableDiff, type VrpSet } from "../model/mod.ts";
import {
  type Action,
  aspaLine,
  routerKeyLine,
  syncLine,
  type TableMeta,
  VRP_RECORD_BYTES as VRP,
} from "./records.ts";
import { type AsciiBuffer, writeVrpBytes } from "./text.ts";

export {
  type Action,
  aspaLine,
  routerKeyLine,
  type SyncExtra,
  syncLine,
  vrpLine,
} from "./records.ts";

async function writeVrpRecords(sink: TextSink, set: VrpSet, action: Action): Promise<void> {
  const head = VRP.head[action];
  await writeVrpBytes(sink, set, (o: AsciiBuffer, d: Uint32Array, x: number) => {
    o.raw(head);
    o.prefix(d, x);
    o.raw(VRP.maxLength);
    o.uint(d[x] & 255);
    o.raw(VRP.asn);
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
