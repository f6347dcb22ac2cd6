/**
 * OpenBGPD `bgpd.conf` include: one `roa-set` with `PREFIX [maxlen N] source-as ASN` lines
 * (`maxlen` left out when it equals the prefix length) and, for OpenBGPD 8.0 or later
 * (router_version.ts), one `aspa-set` with `customer-as N provider-as { a, b }` lines; by default
 * a comment counts the ASPA records left out, so that the file loads in OpenBGPD 7. bgpd.conf has
 * no syntax for BGPsec router keys: a comment counts them. An empty set is left out (a comment
 * says so); a customer with an empty provider list cannot be written as `provider-as { }` and
 * becomes a comment.
 */
import type { TextSink } from "../io/mod.ts";
import type { PayloadTable } from "../model/mod.ts";
import type { TableMeta } from "./records.ts";
import { headerComment } from "./header.ts";
import { ascii, writeVrpBytes } from "./text.ts";
import { atLeast, OPENBGPD_ASPA, type RouterWriteOptions } from "./router_version.ts";

const MAXLEN = ascii(" maxlen ");
const SOURCE_AS = ascii(" source-as ");

/** Write `table` as an OpenBGPD configuration fragment for the release in `opts`. */
export async function writeOpenbgpd(
  sink: TextSink,
  table: PayloadTable,
  meta: TableMeta,
  opts: RouterWriteOptions = {},
): Promise<void> {
  await sink.write(headerComment(table, meta));
  if (table.routerKeys.length > 0) {
    await sink.write(
      `# ${table.routerKeys.length} BGPsec router key(s) left out: bgpd.conf has no syntax for them\n`,
    );
  }
  if (table.vrps.size === 0) await sink.write("# no VRPs: roa-set left out\n");
  else {
    await sink.write("roa-set {\n");
    await writeVrpBytes(sink, table.vrps, (o, d, x) => {
      const meta = d[x];
      o.buf[o.pos++] = 0x09;
      o.prefix(d, x);
      if (((meta >>> 8) & 255) !== (meta & 255)) {
        o.raw(MAXLEN);
        o.uint(meta & 255);
      }
      o.raw(SOURCE_AS);
      o.uint(d[x + 5]);
      o.buf[o.pos++] = 0x0a;
    });
    await sink.write("}\n");
  }
  if (table.aspas.length === 0) {
    await sink.write("# no ASPA: aspa-set left out\n");
    return;
  }
  if (!atLeast(opts.routers?.openbgpd, OPENBGPD_ASPA)) {
    await sink.write(
      `# ${table.aspas.length} ASPA record(s) left out: OpenBGPD reads aspa-set from 8.0 on (--router-version openbgpd=8)\n`,
    );
    return;
  }
  let s = "aspa-set {\n";
  for (const a of table.aspas) {
    s += a.providers.length === 0
      ? `\t# customer-as ${a.customer} has an empty provider list, left out\n`
      : `\tcustomer-as ${a.customer} provider-as { ${a.providers.join(", ")} }\n`;
  }
  await sink.write(s + "}\n");
}
