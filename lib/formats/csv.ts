/**
 * rpki-client CSV output (also Routinator's `csv`): the header
 * `ASN,IP Prefix,Max Length,Trust Anchor` and rows `AS13335,1.1.1.0/24,24,`. The Trust Anchor
 * column stays empty: RTR does not carry it and we do not invent one; the column is kept so that
 * tools expecting four columns still parse. No `Expires` column (not on the wire either). CSV
 * holds VRPs only: router keys and ASPA have no place in this layout and are left out.
 */
import type { TextSink } from "../io/mod.ts";
import type { PayloadTable } from "../model/mod.ts";
import { writeVrpBytes } from "./text.ts";

/** The header line of our CSV output (without newline). */
export const CSV_HEADER = "ASN,IP Prefix,Max Length,Trust Anchor";

/** Write the VRPs of `table` as rpki-client CSV. */
export async function writeCsv(sink: TextSink, table: PayloadTable): Promise<void> {
  await sink.write(CSV_HEADER + "\n");
  await writeVrpBytes(sink, table.vrps, (o, d, x) => {
    o.buf[o.pos++] = 0x41; // A
    o.buf[o.pos++] = 0x53; // S
    o.uint(d[x + 5]);
    o.buf[o.pos++] = 0x2c;
    o.prefix(d, x);
    o.buf[o.pos++] = 0x2c;
    o.uint(d[x] & 255);
    o.buf[o.pos++] = 0x2c;
    o.buf[o.pos++] = 0x0a;
  });
}
