/**
 * `rtr show`: the original Python client's `rtr_show` table over any table
 * source: for each prefix a header `ROUTE ROA MaxLen ASN` and one row per VRP with exactly that
 * prefix, or (`-l`) with that prefix or a more specific one, printed with `%-16s %-16s %6s %s`.
 * MaxLen is blank when it equals the VRP's prefix length, `/N` otherwise. `--asn` and `--prefix`
 * (lib/model/filter.ts) narrow the rows, or select them when no PREFIX is given. `--aspa` and
 * `--providers-of` print ASPA records first (show_aspa.ts).
 */
import { UsageError } from "../errors.ts";
import { filterIsEmpty, matchVrpRecord } from "../model/filter.ts";
import { FILTER_OPTIONS, parseFilter } from "./filter_options.ts";
import { formatPrefix, tryParsePrefix } from "../model/prefix.ts";
import { W } from "../model/vrp_set.ts";
import { RovIndex } from "../rov/mod.ts";
import { flag, parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { stdoutSink, warn } from "./io.ts";
import { loadSource, SOURCE_HELP, SOURCE_OPTIONS } from "./table_source.ts";
import {
  checkAspaFlags,
  SHOW_ASPA_HELP,
  SHOW_ASPA_OPTIONS,
  showAspa,
  wantsAspa,
} from "./show_aspa.ts";
import { ENV_HELP } from "./common.ts";

const help = `Usage: rtr show PREFIX... [-l] [options]
       rtr show --asn N | --prefix P[+] [options]
       rtr show --aspa AS | --providers-of AS [options]

The old rtr_show table: the VRPs (ROAs) whose prefix is exactly PREFIX, or with -l also
those more specific than it. A header line per PREFIX, then one row per VRP:

  ROUTE            ROA              MaxLen ASN
  1.37.0.0/16      1.37.0.0/16         /17 AS4775

MaxLen is blank when the VRP's maxLength equals its prefix length. Without PREFIX, --prefix P
(P+: and more specific) or --asn N select the rows, under one header.

Options:
  -l, --long        also show VRPs more specific than PREFIX
  --asn N           only VRPs with origin AS N (repeatable: any of them)
  --prefix P        only VRPs with prefix P exactly; P+ for P and every more specific
                    prefix (repeatable: any of them)
${SHOW_ASPA_HELP}
${SOURCE_HELP}
  -h, --help        show this help

${ENV_HELP}

Exit codes: 0 ok (also when a prefix has no VRP); 1 the table could not be loaded; 2 usage
(no prefix, a malformed prefix); 3 / 4 the cache sent an Error Report / "No Data Available".
`;

/** One row of the old table. */
function row(route: string, roa: string, maxLen: string, asn: string): string {
  return `${route.padEnd(16)} ${roa.padEnd(16)} ${maxLen.padStart(6)} ${asn}\n`;
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("show", args, {
    ...SOURCE_OPTIONS,
    long: { type: "boolean", short: "l" },
    asn: FILTER_OPTIONS.asn,
    prefix: FILTER_OPTIONS.prefix,
    ...SHOW_ASPA_OPTIONS,
  });
  checkAspaFlags(p);
  const filter = parseFilter(p, []);
  if (p.positionals.length === 0 && filterIsEmpty(filter) && !wantsAspa(p)) {
    throw new UsageError("Expected at least one PREFIX, --asn or --prefix (see 'rtr show --help')");
  }
  const prefixes = p.positionals.map((text) => {
    const q = tryParsePrefix(text);
    if (!q || !text.includes("/")) {
      throw new UsageError(
        `Invalid prefix ${JSON.stringify(text)}, expected ADDRESS/LENGTH (see 'rtr show --help')`,
      );
    }
    const canonical = formatPrefix(q.family, q.addr, q.length);
    if (q.hostBits) warn(`rtr: ${text} has host bits set; showing ${canonical}`);
    return { ...q, canonical };
  });
  const long = flag(p, "long");
  const { table } = await loadSource(p, "show");
  const ix = new RovIndex(table.vrps);
  const d = table.vrps.data;
  const sink = stdoutSink();
  if (wantsAspa(p)) await showAspa(p, table, sink);
  const filtered = !filterIsEmpty(filter);
  const vrpRow = (route: string | null, i: number) => {
    const x = i * W, len = (d[x] >>> 8) & 255, max = d[x] & 255;
    const roa = formatPrefix(d[x] >>> 16 === 1 ? 6 : 4, d.subarray(x + 1, x + 5), len);
    return row(route ?? roa, roa, max === len ? "" : `/${max}`, `AS${d[x + 5]}`);
  };
  for (const q of prefixes) {
    await sink.write(row("ROUTE", "ROA", "MaxLen", "ASN"));
    const [f, e] = ix.within(q.family, q.addr, q.length, long);
    for (let i = f; i < e; i++) {
      if (filtered && !matchVrpRecord(filter, d, i)) continue;
      await sink.write(vrpRow(q.canonical, i));
    }
  }
  if (prefixes.length === 0 && filtered) {
    // Rows chosen by the filter alone: each VRP is its own route.
    await sink.write(row("ROUTE", "ROA", "MaxLen", "ASN"));
    const n = table.vrps.size;
    for (let i = 0; i < n; i++) if (matchVrpRecord(filter, d, i)) await sink.write(vrpRow(null, i));
  }
  await sink.flush();
  return 0;
}

/** The `show` subcommand. */
export const command: Command = {
  name: "show",
  summary: "the old rtr_show table: VRPs for given prefixes",
  help,
  run,
};
