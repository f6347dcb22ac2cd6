/**
 * Writing a whole table in any output format of `snapshot` (see README "rtr snapshot"):
 * rpki-client JSON, NDJSON records, rpki-client CSV, OpenBGPD and BIRD 2 configuration. Every
 * writer streams to a TextSink in chunks and sorts deterministically (VrpSet order).
 */
import type { TextSink } from "../io/mod.ts";
import { UsageError } from "../errors.ts";
import type { PayloadTable } from "../model/mod.ts";
import { writeBird } from "./bird.ts";
import { writeCsv } from "./csv.ts";
import { writeJson } from "./json.ts";
import { OUTPUT_FORMATS, type OutputFormat, type TableMeta } from "./records.ts";
import { writeNdjson } from "./ndjson.ts";
import { writeOpenbgpd } from "./openbgpd.ts";
import type { RouterWriteOptions } from "./router_version.ts";

export { OUTPUT_FORMATS } from "./records.ts";
export type { OutputFormat, TableMeta } from "./records.ts";
export { aspaLine, routerKeyLine, syncLine, vrpLine, writeDiff } from "./ndjson.ts";

/** Write `table` to `sink` in `format`, then flush the sink; `opts` for openbgpd and bird. */
export async function writeTable(
  sink: TextSink,
  table: PayloadTable,
  format: OutputFormat,
  meta: TableMeta,
  opts: RouterWriteOptions = {},
): Promise<void> {
  switch (format) {
    case "json":
      await writeJson(sink, table, meta);
      break;
    case "ndjson":
      await writeNdjson(sink, table, meta);
      break;
    case "csv":
      await writeCsv(sink, table);
      break;
    case "openbgpd":
      await writeOpenbgpd(sink, table, meta, opts);
      break;
    case "bird":
      await writeBird(sink, table, meta, opts);
      break;
    default:
      throw new UsageError(
        `Unknown output format ${JSON.stringify(format satisfies never)}, expected one of ${
          OUTPUT_FORMATS.join(", ")
        }`,
      );
  }
  await sink.flush();
}
