/**
 * `rtr snapshot`: synchronise once with a cache (Reset Query, or Serial Query with
 * `--serial/--session`), print the table in the chosen format and exit. `-o FILE` is atomic: on
 * any failure an existing FILE is untouched and no new one appears.
 */
import { syncOnce, type SyncOptions } from "../client.ts";
import { RtrError, UsageError } from "../errors.ts";
import {
  OUTPUT_FORMATS,
  type OutputFormat,
  syncLine,
  writeDiff,
  writeTable,
} from "../formats/write.ts";
import { diffCounts } from "../formats/ndjson.ts";
import { cacheResetLine } from "../formats/records.ts";
import { filterDiff, filterTable, type PayloadFilter } from "../model/filter.ts";
import { FILTER_OPTIONS, parseFilter } from "./filter_options.ts";
import { parseRouterVersions, type RouterVersions } from "../formats/router_version.ts";
import { tableCounts } from "../model/mod.ts";
import { errText, type WireTap } from "../transport.ts";
import { createDumpTap } from "./dump.ts";
import { parseCommandArgs, str } from "./args.ts";
import type { Command } from "./command.ts";
import {
  cacheTarget,
  clearProgress,
  CONNECT_HELP,
  CONNECT_OPTIONS,
  ENV_HELP,
  LIMIT_HELP,
  LIMIT_OPTIONS,
  responseCaps,
  sourceName,
  startFromFlags,
  ttyProgress,
  verboseLog,
} from "./common.ts";
import { AtomicFile, type TextSink, warn } from "./io.ts";
import { ndjsonStream } from "../formats/ndjson_stream.ts";
import type { Slurm } from "../model/slurm.ts";
import { SLURM_HELP, slurmFlag, withSlurm } from "./slurm_file.ts";

const help = `Usage: rtr snapshot [HOST[:PORT]] [options]

Connect to an RPKI cache, synchronise once and print what it holds: VRPs, BGPsec router
keys and (protocol 2) ASPA records. The default cache is the old client's,
rtr.rpki.cloudflare.com:8282.

Options:
${CONNECT_HELP}
  --format F        json (default: one rpki-client style document), ndjson, csv,
                    openbgpd, bird
  --router-version R  with openbgpd / bird: the release to write for; bird=2.16 or
                    openbgpd=8 add ASPA (default: BIRD 2.0, OpenBGPD 7, ASPA left out)
  -o, --output FILE write to FILE atomically instead of stdout
  --dump FILE       also write the bytes received (the old client's raw dump format;
                    a name ending in .pcap writes both directions as pcap)
  --serial N        with --session: ask only for the changes since serial N (Serial
                    Query); prints NDJSON announce/withdraw records
  --session S       session id for --serial
  --asn N           only records of AS N: a VRP's origin, a router key's ASN, an
                    ASPA's customer (repeatable: any of them)
  --prefix P        only VRPs with prefix P exactly; P+ for P and every more specific
                    prefix (repeatable: any of them)
  --type T          only records of type T: vrp, routerKey or aspa (repeatable)
${LIMIT_HELP}
${SLURM_HELP}
  -h, --help        show this help

${ENV_HELP}

Exit codes: 0 ok; 1 transport or protocol failure (also: the cache answered Cache Reset
to --serial, or a response went past --max-response-records/-bytes); 2 usage; 3 the
cache sent an Error Report; 4 "No Data Available".
`;

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("snapshot", args, {
    ...CONNECT_OPTIONS,
    format: { type: "string" },
    output: { type: "string", short: "o" },
    dump: { type: "string" },
    serial: { type: "string" },
    session: { type: "string" },
    "router-version": { type: "string", multiple: true },
    slurm: { type: "string" },
    ...FILTER_OPTIONS,
    ...LIMIT_OPTIONS,
  });
  const filter = parseFilter(p);
  const routers = parseRouterVersions((p.values["router-version"] as string[]) ?? []);
  const opts = cacheTarget("snapshot", p);
  const format = (str(p, "format") ?? "json") as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new UsageError(
      `Unknown --format ${JSON.stringify(format)}: use one of ${OUTPUT_FORMATS.join(", ")}`,
    );
  }
  opts.startFrom = startFromFlags(p);
  Object.assign(opts, responseCaps(p));
  if (opts.startFrom && str(p, "format") !== undefined && format !== "ndjson") {
    throw new UsageError("--serial prints a delta, which only --format ndjson can carry");
  }
  if (opts.startFrom && str(p, "slurm") !== undefined) {
    throw new UsageError("--slurm applies to a whole table, not to the delta of --serial");
  }
  const slurm = await slurmFlag(p);
  const output = str(p, "output");
  const dump = str(p, "dump");
  const log = verboseLog(p);
  // Every local check (the -o path, the --dump tap) comes before any network work.
  opts.log = log;
  // Every version downgrade is said, verbose or not.
  opts.notice = (line) => warn(`rtr: ${line}`);
  opts.onProgress = ttyProgress();
  let tap: WireTap | undefined;
  if (dump) tap = await createDumpTap(dump);
  const source = sourceName(opts);
  let out: Output;
  try {
    out = await openOutput(output);
  } catch (e) {
    await tap?.finish().catch(() => {});
    throw e;
  }
  log(`CONNECT ${source} (protocol ${opts.version})`);
  try {
    return await syncAndWrite(opts, source, format, out.sink, tap, log, routers, filter, slurm)
      .then(
        async (code) => {
          if (code === 0) await out.commit();
          else await out.abort();
          return code;
        },
      );
  } catch (e) {
    await out.abort();
    throw e;
  }
}

async function syncAndWrite(
  opts: SyncOptions,
  source: string,
  format: OutputFormat,
  sink: TextSink,
  tap: WireTap | undefined,
  log: (line: string) => void,
  routers: RouterVersions,
  filter: PayloadFilter,
  slurm?: Slurm,
): Promise<number> {
  let outcome;
  try {
    outcome = await syncOnce({ ...opts, tap });
  } finally {
    clearProgress();
    await tap?.finish();
  }
  const meta = {
    source,
    version: outcome.version,
    generated: new Date(),
  };
  if (outcome.cacheReset) {
    const from = opts.startFrom!;
    warn(
      `rtr: cache answered Cache Reset: it has no delta from serial ${from.serial} of session ${from.sessionId}; run without --serial for the full table`,
    );
    await sink.write(
      cacheResetLine({
        source,
        version: outcome.version,
        sessionId: from.sessionId,
        serial: from.serial,
        time: new Date(),
      }) + "\n",
    );
    return 1;
  }
  const r = outcome.result!;
  for (const w of r.warnings) warn(`rtr: warning: ${w}`);
  const full = {
    ...meta,
    sessionId: r.sessionId,
    serial: r.serial,
    refresh: r.version > 0 ? r.timers.refresh : undefined,
    retry: r.version > 0 ? r.timers.retry : undefined,
    expire: r.version > 0 ? r.timers.expire : undefined,
    reset: r.reset,
  };
  {
    if (opts.startFrom) {
      // With a filter, the sync record counts what was printed.
      const diff = filterDiff(filter, r.diff);
      await writeDiff(sink, diff);
      const d = diffCounts(diff);
      await sink.write(
        syncLine({ ...full, reset: false }, tableCounts(filterTable(filter, r.table)), {
          previousSerial: opts.startFrom.serial,
          announced: d.announced,
          withdrawn: d.withdrawn,
          downgradedFrom: outcome.downgradedFrom,
        }) + "\n",
      );
    } else {
      await writeTable(sink, filterTable(filter, withSlurm(r.table, slurm)), format, full, {
        routers,
      });
    }
  }
  log(
    `synced ${r.table.vrps.size} VRPs, ${r.table.routerKeys.length} router keys, ${r.table.aspas.length} ASPA at version ${r.version}, session ${r.sessionId} serial ${r.serial}: ${outcome.pdus} PDUs, ${outcome.bytes} bytes in ${
      (outcome.elapsedMs / 1000).toFixed(2)
    } s`,
  );
  return 0;
}

/** An output: stdout, or an atomic file that appears only on `commit`. */
export interface Output {
  sink: TextSink;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Open `-o FILE` (its temporary name, at once, so a bad path fails before any work) or stdout. */
export async function openOutput(output: string | undefined): Promise<Output> {
  if (output === undefined || output === "-") {
    const out = ndjsonStream(Deno.stdout.writable);
    return { sink: out.sink, commit: () => out.close(), abort: () => out.close().catch(() => {}) };
  }
  try {
    const f = await AtomicFile.create(output);
    return { sink: f.sink, commit: () => f.commit(), abort: () => f.abort() };
  } catch (e) {
    // AtomicFile's errors already say "Cannot write PATH: why".
    throw e instanceof RtrError ? e : new RtrError(`Cannot write ${output}: ${errText(e)}`);
  }
}

/** The `snapshot` subcommand. */
export const command: Command = {
  name: "snapshot",
  summary: "sync once with a cache, print the table, exit",
  help,
  run,
};
