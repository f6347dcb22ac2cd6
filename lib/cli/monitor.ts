/**
 * `rtr monitor`: follow N caches (RFC 8210 §6 timing, lib/follower.ts) and table files side by
 * side, and say on stdout (NDJSON) when and how they disagree (lib/monitor/); optionally serve
 * Prometheus metrics and `/diff.json`, keep a history of disagreements, and tell its story
 * (`--report`).
 */
import { RtrError, UsageError } from "../errors.ts";
import { sleep, systemClock } from "../clock.ts";
import { ndjsonStream } from "../formats/ndjson_stream.ts";
import { errText } from "../transport.ts";
import { durationFlag, timeFlag } from "../monitor/duration.ts";
import { buildReport, IncidentLog, readIncidents, reportText } from "../monitor/incident_log.ts";
import { diffDocument, renderMonitorMetrics } from "../monitor/metrics.ts";
import { Monitor } from "../monitor/monitor.ts";
import { monitorLine, type MonitorRecord } from "../formats/records.ts";
import { runCacheSource, runFileSource, type SourceSink } from "../monitor/source_runner.ts";
import { MAX_SOURCES } from "../monitor/comparison_index.ts";
import { flag, parseCommandArgs, type Parsed, seconds, splitHostPort, str } from "./args.ts";
import type { Command } from "./command.ts";
import { CONNECT_HELP, CONNECT_OPTIONS, connectOptions, sourceName } from "./common.ts";
import { warn } from "./io.ts";

const help = `Usage: rtr monitor SOURCE SOURCE [SOURCE …] [options]
       rtr monitor --report DIR [--since T] [--until T] [--format ndjson|text]

Watch several RPKI caches and table files at once and say when and how they disagree:
VRPs, router keys (SKI compared case-insensitively) and ASPA (provider sets compared as
sets). A SOURCE is a cache HOST:PORT (or ssh://…), followed with the RFC 8210 timing
like 'rtr follow' (Serial Notify, Refresh, Retry, Expire), or a table file in any
dialect (rpki-client, Routinator, StayRTR, … ; .gz too), re-read whenever it changes.

A record missing from some source for longer than --grace is a disagreement. stdout
carries NDJSON: "disagreement" (which sources have the record, which lack it, since
when), "resolved" (converged), "summary" per pair every --summary-every, "stale" (serial
frozen for --stale-after while another source moved, or data past its Expire),
"unreachable" and "recovered".

Options:
  --grace D          differences younger than D are propagation (default 5m)
  --stale-after D    a source whose serial has not moved for D while another's moved
                     since (within the last D) is stale (default 1h)
  --summary-every D  period of the summary records (default 5m)
  --poll D           look at table files this often when no change event came (default 2s)
  --retry S          wait S seconds after a failed connect (default: the cache's Retry,
                     600 before the first sync)
  --metrics A:P      serve Prometheus metrics on http://A:P/metrics and the current
                     differences on http://A:P/diff.json
  --data-dir DIR     append every disagreement, resolution and source event to
                     DIR/disagreements.ndjson (the history --report reads)
  --report DIR       print the story of DIR's history and exit: one "incident" per record
                     that diverged, the source events, then a "report" total
  --since T, --until T  the time span of --report: ISO 8601 or a duration ago such as 2h
                     (default: everything)
  --format F         for --report: ndjson (default) or text
${CONNECT_HELP.split("\n").filter((l) => !/^\s+--(host|port) /.test(l)).join("\n")}
  -h, --help         show this help

Durations: 250ms, 30s, 5m, 2h, 1d, 1h30m, or plain seconds. Connection options apply to
every cache. Bad sources (duplicates, unreachable caches, unreadable files) are said in
one line on stderr and the others are still watched.

Exit codes: 0 stopped by a signal (or --report done); 1 the data dir or the metrics
address cannot be used, or --report cannot read DIR; 2 usage.
`;

/** A source as given on the command line. */
interface SourceSpec {
  name: string;
  kind: "cache" | "file";
  spec: string;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Files are paths (an existing file, or anything with a slash or a table suffix). */
function classify(spec: string): "cache" | "file" {
  if (spec.includes("://")) return "cache";
  if (isFile(spec)) return "file";
  if (spec.includes("/") || /\.(json|gz|csv|ndjson|txt)$/i.test(spec)) return "file";
  return "cache";
}

async function report(p: Parsed): Promise<number> {
  const dir = str(p, "report")!;
  const now = Date.now();
  const since = str(p, "since"), until = str(p, "until");
  const from = since === undefined ? 0 : timeFlag(since, "since", now);
  const to = until === undefined ? now : timeFlag(until, "until", now);
  const format = str(p, "format") ?? "ndjson";
  if (format !== "ndjson" && format !== "text") {
    throw new UsageError(`--format must be ndjson or text, got ${JSON.stringify(format)}`);
  }
  const recs = buildReport(await readIncidents(dir), from, to);
  const text = recs.map((r) => format === "text" ? reportText(r) : JSON.stringify(r)).join("\n");
  await Deno.stdout.write(new TextEncoder().encode(text + "\n"));
  return 0;
}

async function run(args: string[]): Promise<number> {
  const { host: _h, port: _p, ...connect } = CONNECT_OPTIONS;
  const p = parseCommandArgs("monitor", args, {
    ...connect,
    grace: { type: "string" },
    "stale-after": { type: "string" },
    "summary-every": { type: "string" },
    poll: { type: "string" },
    retry: { type: "string" },
    metrics: { type: "string" },
    "data-dir": { type: "string" },
    report: { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    format: { type: "string" },
  });
  if (str(p, "report") !== undefined) {
    if (p.positionals.length > 0) throw new UsageError("--report takes no sources");
    return await report(p);
  }
  for (const f of ["since", "until", "format"]) {
    if (str(p, f) !== undefined) throw new UsageError(`--${f} goes with --report`);
  }
  const graceMs = durationFlag(str(p, "grace"), "grace", 300_000);
  const staleAfterMs = durationFlag(str(p, "stale-after"), "stale-after", 3_600_000);
  const summaryEveryMs = durationFlag(str(p, "summary-every"), "summary-every", 300_000);
  const pollMs = durationFlag(str(p, "poll"), "poll", 2000);
  const retrySec = str(p, "retry") !== undefined ? seconds(p, "retry", 0) : undefined;
  const metricsAt = str(p, "metrics");
  const metricsAddr = metricsAt ? splitHostPort(metricsAt, 9848, 0) : undefined;

  // Sources: each parsed on its own; a duplicate is said once and dropped.
  const specs: SourceSpec[] = [];
  const conns: ReturnType<typeof connectOptions>[] = [];
  const seen = new Set<string>();
  for (const spec of p.positionals) {
    const kind = classify(spec);
    let name: string, key: string;
    let opts: ReturnType<typeof connectOptions> | null = null;
    if (kind === "cache") {
      opts = connectOptions(p, spec);
      name = sourceName(opts);
      key = `cache ${name}`;
    } else {
      name = spec;
      let real = spec;
      try {
        real = Deno.realPathSync(spec);
      } catch { /* not there yet: compared by name */ }
      key = `file ${real}`;
    }
    if (seen.has(key)) {
      warn(`rtr: duplicate source ${spec} ignored`);
      continue;
    }
    seen.add(key);
    specs.push({ name, kind, spec });
    conns.push(opts!);
  }
  if (specs.length < 2) {
    throw new UsageError(
      `Expected at least two different sources, got ${specs.length} (see 'rtr monitor --help')`,
    );
  }
  if (specs.length > MAX_SOURCES) {
    throw new UsageError(`At most ${MAX_SOURCES} sources, got ${specs.length}`);
  }

  const log = str(p, "data-dir") ? await IncidentLog.open(str(p, "data-dir")!) : null;
  const ac = new AbortController();
  const stop = () => ac.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  const out = ndjsonStream(Deno.stdout.writable);
  const clock = systemClock;

  // Records are written in order, one batch at a time: stdout, then the history.
  let queue: MonitorRecord[] = [];
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return writing;
    writing = writing.then(async () => {
      const lines = batch.map(monitorLine);
      await out.sink.write(lines.join("\n") + "\n");
      await out.sink.flush();
      await log?.append(lines.filter((_, i) => batch[i].type !== "summary"));
    });
    return writing;
  };
  const mon = new Monitor({
    sources: specs.map((s) => ({ name: s.name, kind: s.kind })),
    graceMs,
    staleAfterMs,
    summaryEveryMs,
    emit: (r) => queue.push(r),
  });

  let kick: () => void = () => {};
  const verbose = flag(p, "verbose");
  // A diagnostic repeated at every retry is said once, until the source syncs again.
  const said: (string | null)[] = specs.map(() => null);
  const say = (i: number, line: string) => {
    if (said[i] === line) return;
    said[i] = line;
    warn(`rtr: ${specs[i].name}: ${line}`);
  };
  const sinkFor = (i: number): SourceSink => ({
    connected: () => mon.connected(i),
    sync: async (sync, time) => {
      said[i] = null;
      mon.sync(i, sync, time);
      if (verbose) warn(`rtr: ${specs[i].name}: serial ${sync.serial ?? "-"}`);
      kick();
      await flush();
    },
    lost: async (reason, time) => {
      const was = mon.sources[i].unreachable;
      mon.lost(i, reason, time);
      if (!was) say(i, reason);
      kick();
      await flush();
    },
    expired: async (time) => {
      mon.expired(i, time);
      warn(`rtr: ${specs[i].name}: Expire passed without a successful sync, table dropped`);
      kick();
      await flush();
    },
    warn: (line) => say(i, line),
  });

  if (metricsAddr) {
    try {
      const port = await new Promise<number>((resolve, reject) => {
        try {
          Deno.serve({
            hostname: metricsAddr.host,
            port: metricsAddr.port,
            signal: ac.signal,
            onListen: (a) => resolve((a as Deno.NetAddr).port),
            onError: () => new Response("internal error\n", { status: 500 }),
          }, (req) => {
            const path = new URL(req.url).pathname;
            if (path === "/metrics") {
              return new Response(renderMonitorMetrics(mon, clock.now()), {
                headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
              });
            }
            if (path === "/diff.json") {
              return new Response(JSON.stringify(diffDocument(mon, clock.now())) + "\n", {
                headers: { "content-type": "application/json" },
              });
            }
            return new Response("not found\n", { status: 404 });
          });
        } catch (e) {
          reject(e);
        }
      });
      warn(`rtr: metrics on http://${metricsAddr.host}:${port}/metrics`);
    } catch (e) {
      for (const s of signals) Deno.removeSignalListener(s, stop);
      await log?.close();
      throw new RtrError(`Cannot serve metrics on ${metricsAt}: ${errText(e)}`);
    }
  }

  const runners = specs.map((s, i) =>
    (s.kind === "cache"
      ? runCacheSource({ ...conns[i], retrySec, clock, signal: ac.signal }, sinkFor(i))
      : runFileSource(s.spec, sinkFor(i), { signal: ac.signal, clock, pollMs })).catch((e) => {
        if (!ac.signal.aborted) warn(`rtr: ${s.name}: ${errText(e)}`);
      })
  );

  // The clock of the judgement: due disagreements, stale sources, summaries.
  try {
    while (!ac.signal.aborted) {
      const wake = new AbortController();
      kick = () => wake.abort();
      const now = clock.now();
      const due = mon.nextDue(now);
      await sleep(clock, Math.max(0, due - now), AbortSignal.any([ac.signal, wake.signal]));
      if (ac.signal.aborted) break;
      mon.tick(clock.now());
      await flush();
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    ac.abort();
    await Promise.all(runners);
    await flush().catch(() => {});
    await out.close().catch(() => {});
    await log?.close();
  }
  return 0;
}

/** The `monitor` subcommand. */
export const command: Command = {
  name: "monitor",
  summary: "watch several caches and files, report when and how they disagree",
  help,
  run,
};
