/**
 * rpki-client JSON output: `metadata`, `roas`, `bgpsec_keys`, `aspas` in that
 * order, one record per line, deterministically sorted (VrpSet order, router keys by ASN/SKI,
 * ASPA by customer). No `ta` or `expires`: an RTR client never learns them. `metadata` keeps
 * `buildtime` and `generated`, without which StayRTR refuses the file.
 */
import type { TextSink } from "../io/mod.ts";
import { type Aspa, type PayloadTable, tableCounts } from "../model/mod.ts";
import type { TableMeta } from "./records.ts";
import { ascii, rfc3339, unixSeconds, writeVrpBytes } from "./text.ts";

const ROA_ASN = ascii('{"asn":');
const ROA_PREFIX = ascii(',"prefix":"');
const ROA_MAXLEN = ascii('","maxLength":');
const ROA_SEP = ascii(",\n");

/** The `metadata` object of our JSON output, keys in their written order. */
export function jsonMetadata(table: PayloadTable, meta: TableMeta): Record<string, unknown> {
  const c = tableCounts(table);
  const m: Record<string, unknown> = {};
  if (meta.source !== undefined) m.source = meta.source;
  if (meta.version !== undefined) m.version = meta.version;
  if (meta.sessionId !== undefined) m.sessionId = meta.sessionId;
  if (meta.serial !== undefined) m.serial = meta.serial;
  if (meta.refresh !== undefined) m.refresh = meta.refresh;
  if (meta.retry !== undefined) m.retry = meta.retry;
  if (meta.expire !== undefined) m.expire = meta.expire;
  if (meta.partialFrom !== undefined) {
    m.partial = true;
    m.partialFrom = meta.partialFrom;
  }
  m.vrps = c.vrps;
  m.uniquevrps = c.vrps;
  m.vrps_ipv4 = c.vrpsIpv4;
  m.vrps_ipv6 = c.vrpsIpv6;
  m.bgpsec_keys = c.routerKeys;
  m.aspas = c.aspas;
  m.buildtime = rfc3339(meta.generated);
  m.generated = unixSeconds(meta.generated);
  return m;
}

function aspaJson(a: Aspa): string {
  return `{"customer_asid":${a.customer},"providers":[${a.providers.join(",")}]}`;
}

async function writeList(sink: TextSink, items: string[]): Promise<void> {
  await sink.write(items.length === 0 ? "[]" : `[\n${items.join(",\n")}\n]`);
}

/** Write `table` as one rpki-client JSON document, streamed in chunks. */
export async function writeJson(
  sink: TextSink,
  table: PayloadTable,
  meta: TableMeta,
): Promise<void> {
  await sink.write(`{"metadata":${JSON.stringify(jsonMetadata(table, meta))},\n"roas":`);
  if (table.vrps.size === 0) await sink.write("[]");
  else {
    await sink.write("[\n");
    await writeVrpBytes(sink, table.vrps, (o, d, x) => {
      o.raw(ROA_ASN);
      o.uint(d[x + 5]);
      o.raw(ROA_PREFIX);
      o.prefix(d, x);
      o.raw(ROA_MAXLEN);
      o.uint(d[x] & 255);
      o.buf[o.pos++] = 0x7d;
    }, { sep: ROA_SEP });
    await sink.write("\n]");
  }
  await sink.write(`,\n"bgpsec_keys":`);
  await writeList(
    sink,
    table.routerKeys.map((k) =>
      `{"asn":${k.asn},"ski":${JSON.stringify(k.ski)},"pubkey":${JSON.stringify(k.pubkey)}}`
    ),
  );
  const aspas = table.aspas.map(aspaJson);
  await sink.write(`,\n"aspas":`);
  await writeList(sink, aspas);
  // StayRTR 0.5.1 reads ASPA only from `provider_authorizations` {ipv4, ipv6} and ignores the
  // top-level `aspas`. RTR's ASPA is not per address family, so both lists are
  // the same: with them StayRTR serves our file including ASPA, and rtrdump output round-trips.
  await sink.write(`,\n"provider_authorizations":{"ipv4":`);
  await writeList(sink, aspas);
  await sink.write(`,"ipv6":`);
  await writeList(sink, aspas);
  await sink.write("}}\n");
}
