/**
 * BIRD 2 configuration include (formats.md §4): `roa4 table ROAS4; roa6 table ROAS6;` and one
 * static protocol per family filling them (`route PREFIX max N as ASN;`). ASPA needs BIRD 2.16+:
 * `aspa table ASPAS;` and a static protocol with `route aspa CUSTOMER providers a, b;` (or
 * `route aspa CUSTOMER transit;` for an empty provider list); both are written only when the
 * table holds ASPA, so the file also works with older BIRD 2. BIRD has no static syntax for
 * BGPsec router keys: the header comment counts them.
 */
import type { TextSink } from "../io/mod.ts";
import type { PayloadTable } from "../model/mod.ts";
import type { TableMeta } from "./meta.ts";
import { headerComment } from "./header.ts";
import { ascii, type AsciiBuffer, writeVrpBytes } from "./text.ts";

const ROUTE = ascii("\troute ");
const MAX = ascii(" max ");
const AS = ascii(" as ");

/** Write `table` as a BIRD 2 configuration fragment. */
export async function writeBird(
  sink: TextSink,
  table: PayloadTable,
  meta: TableMeta,
): Promise<void> {
  const hasAspa = table.aspas.length > 0;
  await sink.write(headerComment(table, meta));
  if (table.routerKeys.length > 0) {
    await sink.write(
      `# ${table.routerKeys.length} BGPsec router key(s) left out: BIRD has no syntax for them\n`,
    );
  }
  await sink.write(
    "roa4 table ROAS4;\nroa6 table ROAS6;\n" +
      (hasAspa ? "aspa table ASPAS; # BIRD 2.16 or later\n" : ""),
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
