/**
 * BIRD 2 configuration include: `roa4 table ROAS4; roa6 table ROAS6;` and one static protocol
 * per family filling them (`route PREFIX max N as ASN;`). ASPA needs BIRD 2.16+: `aspa table
 * ASPAS;` and a static protocol with `route aspa CUSTOMER providers a, b;` (or `route aspa
 * CUSTOMER transit;` for an empty provider list), written only for BIRD 2.16 or later
 * (router_version.ts); by default a comment counts the ASPA records left out, so that the file
 * loads in BIRD 2.0. BIRD has no static syntax for BGPsec router keys: a comment counts them.
 */
import type { TextSink } from "../io/mod.ts";
import type { PayloadTable } from "../model/mod.ts";
import type { TableMeta } from "./records.ts";
import { headerComment } from "./header.ts";
import { ascii, type AsciiBuffer, writeVrpBytes } from "./text.ts";
import { atLeast, BIRD_ASPA, type RouterWriteOptions } from "./router_version.ts";

const ROUTE = ascii("\troute ");
const MAX = ascii(" max ");
const AS = ascii(" as ");

/** Write `table` as a BIRD 2 configuration fragment for the BIRD release in `opts`. */
export async function writeBird(
  sink: TextSink,
  table: PayloadTable,
  meta: TableMeta,
  opts: RouterWriteOptions = {},
): Promise<void> {
  const aspaSyntax = atLeast(opts.routers?.bird, BIRD_ASPA);
  const hasAspa = table.aspas.length > 0 && aspaSyntax;
  await sink.write(headerComment(table, meta));
  if (table.routerKeys.length > 0) {
    await sink.write(
      `# ${table.routerKeys.length} BGPsec router key(s) left out: BIRD has no syntax for them\n`,
    );
  }
  if (table.aspas.length > 0 && !aspaSyntax) {
    await sink.write(
      `# ${table.aspas.length} ASPA record(s) left out: BIRD reads them from 2.16 on (--router-version bird=2.16)\n`,
    );
  }
  await sink.write(
    "roa4 table ROAS4;\nroa6 table ROAS6;\n" +
      (hasAspa ? "aspa table ASPAS;\n" : ""),
  );
  const v4 = table.vrps.ipv4Count;
  const route = (o: AsciiBuffer, d: Uint32Array, x: number) => {
    o.raw(ROUTE);
    o.prefix(d, x);
    o.raw(MAX);
    o.uint(d[x] & 255);
    o.raw(AS);
    o.uint(d[x + 5]);
    o.buf[o.pos++] = 0x3b;
    o.buf[o.pos++] = 0x0a;
  };
  await sink.write("\nprotocol static rtr_roa4 {\n\troa4 { table ROAS4; };\n");
  await writeVrpBytes(sink, table.vrps, route, { to: v4 });
  await sink.write("}\n\nprotocol static rtr_roa6 {\n\troa6 { table ROAS6; };\n");
  await writeVrpBytes(sink, table.vrps, route, { from: v4 });
  await sink.write("}\n");
  if (!hasAspa) return;
  let s = "\nprotocol static rtr_aspa {\n\taspa { table ASPAS; };\n";
  for (const a of table.aspas) {
    s += a.providers.length === 0
      ? `\troute aspa ${a.customer} transit;\n`
      : `\troute aspa ${a.customer} providers ${a.providers.join(", ")};\n`;
  }
  await sink.write(s + "}\n");
}
