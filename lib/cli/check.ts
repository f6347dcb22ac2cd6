/**
 * `rtr check`: one sync with a cache (RFC 8210 §5.3–5.8), then a verdict in the monitoring-plugins
 * convention (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one line of text with perfdata) for
 * cron, Nagios, Icinga and Checkmk. Thresholds: VRP count, data age, a frozen serial (with a
 * state file), the difference from a second cache, the negotiated protocol version.
 */
import { syncOnce, type SyncOptions } from "../client.ts";
import { describeError, InputError, PeerError, RtrError, UsageError } from "../errors.ts";
import { readTableFile } from "../formats/read.ts";
import {
  type PayloadTable,
  routerKeyId,
  type TableCounts,
  tableCounts,
  VrpSet,
} from "../model/mod.ts";
import { aspaValueId } from "../model/delta.ts";
import { parseDurationMs, shortDuration } from "../monitor/duration.ts";
import { recordTime } from "../formats/records.ts";
import { parseCommandArgs, type Parsed, str } from "./args.ts";
import type { Command } from "./command.ts";
import { CONNECT_HELP, CONNECT_OPTIONS, connectOptions, sourceName } from "./common.ts";
import { writeFileAtomic } from "./io.ts";

const help = `Usage: rtr check [HOST[:PORT]] [thresholds] [options]

Sync once with a cache and give a verdict the way monitoring plugins do: one line of
text with perfdata, and the exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Works
unchanged from cron, Nagios, Icinga and Checkmk.

  RTR OK - serial 381, 386320 VRPs, 0 router keys, 80 ASPA, age 4m | vrps=386320;…

Thresholds (W warns, C is critical; give one or both as W[,C]):
  --min-vrps W[,C]      fewer VRPs than W (C) is a warning (critical)
  --max-age W[,C]       data older than W (C): the age is taken from --data-file when
                        given, else from --state (since the serial was first seen)
  --serial-stuck W[,C]  with --state: the serial has not changed for W (C)
  --against HOST2       also sync HOST2 (same connection options) and compare tables
  --max-diff W[,C]      with --against: more than W (C) records differ (VRPs, router keys
                        by SKI case-insensitively, ASPA provider sets as sets; default 0)
  --protocol N          propose version N (default 2); a cache that negotiates lower is a
                        warning

Options:
  --state FILE          remember serial and session between runs (written atomically)
  --data-file FILE      the table file the cache serves (any dialect), for --max-age
  --format F            text (default) or json (one "check" record on stdout)
${
  CONNECT_HELP.split("\n").filter((l) => !/^\s+--protocol |^\s+the cache may negotiate/.test(l))
    .join("\n")
}
  -h, --help            show this help

Durations: 30s, 5m, 2h, 1d or plain seconds.

Exit codes (monitoring-plugins convention, unlike the other commands): 0 OK; 1 WARNING;
2 CRITICAL, also when the cache refuses the connection, times out or sends an Error
Report; 3 UNKNOWN, also for a bad flag.
`;

/** Verdicts, by exit code. */
const STATUS = ["OK", "WARNING", "CRITICAL", "UNKNOWN"] as const;

/** Severity order: OK < WARNING < UNKNOWN < CRITICAL. */
const RANK = [0, 1, 3, 2];

interface Problem {
  check: string;
  code: number;
  message: string;
}

/** A `W[,C]` threshold; `parse` reads one value. */
function threshold<T>(
  p: Parsed,
  name: string,
  parse: (s: string) => T | null,
): { warn?: T; crit?: T } | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const parts = v.split(",");
  const vals = parts.map((x) => x === "" ? undefined : parse(x));
  if (parts.length > 2 || vals.some((x) => x === null) || vals.every((x) => x === undefined)) {
    throw new UsageError(`--${name} must be W[,C], got ${JSON.stringify(v)}`);
  }
  return { warn: vals[0] ?? undefined, crit: vals[1] ?? undefined };
}

const count = (s: string) => /^\d+$/.test(s) ? Number(s) : null;
const duration = (s: string) => {
  const ms = parseDurationMs(s);
  return ms !== null && ms > 0 ? ms : null;
};

interface State {
  source: string;
  sessionId: number;
  serial: number;
  /** When a check first saw this serial. */
  serialSince: string;
  lastCheck: string;
}

async function readState(path: string): Promise<State | null> {
  try {
    const s = JSON.parse(await Deno.readTextFile(path));
    if (typeof s?.serial === "number" && typeof s?.serialSince === "string") return s as State;
    return null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    if (e instanceof SyntaxError) return null;
    throw new InputError(`Cannot read state file ${path}: ${describeError(e)}`);
  }
}

/** Records of `a` missing from `b` plus those of `b` missing from `a`, every payload type. */
export function tableDifference(a: PayloadTable, b: PayloadTable): number {
  const v = VrpSet.diff(a.vrps, b.vrps);
  const ka = new Set(a.routerKeys.map(routerKeyId)), kb = new Set(b.routerKeys.map(routerKeyId));
  const aa = new Set(a.aspas.map(aspaValueId)), ab = new Set(b.aspas.map(aspaValueId));
  let n = v.announced.size + v.withdrawn.size;
  for (const k of ka) if (!kb.has(k)) n++;
  for (const k of kb) if (!ka.has(k)) n++;
  for (const x of aa) if (!ab.has(x)) n++;
  for (const x of ab) if (!aa.has(x)) n++;
  return n;
}

interface Verdict {
  code: number;
  summary: string;
  perfdata: string[];
  fields: Record<string, unknown>;
  problems: Problem[];
}

function worst(problems: Problem[]): number {
  let code = 0;
  for (const p of problems) if (RANK[p.code] > RANK[code]) code = p.code;
  return code;
}

function perf(label: string, value: number, unit = "", warn?: number, crit?: number): string {
  const w = warn === undefined ? "" : String(warn), c = crit === undefined ? "" : String(crit);
  return `${label}=${value}${unit};${w};${c};0;`;
}

async function evaluate(p: Parsed): Promise<Verdict> {
  if (p.positionals.length > 1) {
    throw new UsageError(`Expected at most one HOST[:PORT], got ${p.positionals.length}`);
  }
  const minVrps = threshold(p, "min-vrps", count);
  const maxAge = threshold(p, "max-age", duration);
  const stuck = threshold(p, "serial-stuck", duration);
  const maxDiff = threshold(p, "max-diff", count);
  const statePath = str(p, "state");
  const dataFile = str(p, "data-file");
  const against = str(p, "against");
  const format = str(p, "format") ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`--format must be text or json, got ${JSON.stringify(format)}`);
  }
  if (stuck && !statePath) throw new UsageError("--serial-stuck needs --state FILE");
  if (maxAge && !statePath && !dataFile) {
    throw new UsageError("--max-age needs --data-file FILE or --state FILE");
  }
  if (maxDiff && !against) throw new UsageError("--max-diff needs --against HOST2");
  const opts: SyncOptions = connectOptions(p, p.positionals[0]);
  const againstOpts = against ? connectOptions(p, against) : undefined;
  const source = sourceName(opts);
  const problems: Problem[] = [];
  const started = Date.now();

  let outcome;
  try {
    outcome = await syncOnce(opts);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const what = e instanceof PeerError ? "Error Report" : "cannot sync";
    return {
      code: 2,
      summary: `${source}: ${what}: ${describeError(e)}`,
      perfdata: [],
      fields: { source },
      problems: [{ check: "sync", code: 2, message: describeError(e) }],
    };
  }
  const elapsed = (Date.now() - started) / 1000;
  const r = outcome.result!;
  const now = Date.now();
  const c: TableCounts = tableCounts(r.table);

  // State: when was this serial first seen?
  let state: State | null = null;
  let serialSince = now;
  if (statePath) {
    state = await readState(statePath);
    if (
      state && state.source === source && state.sessionId === r.sessionId &&
      state.serial === r.serial && Number.isFinite(Date.parse(state.serialSince))
    ) {
      serialSince = Date.parse(state.serialSince);
    }
    const next: State = {
      source,
      sessionId: r.sessionId,
      serial: r.serial,
      serialSince: recordTime(serialSince),
      lastCheck: recordTime(now),
    };
    try {
      await writeFileAtomic(statePath, JSON.stringify(next, null, 2) + "\n");
    } catch (e) {
      problems.push({
        check: "state",
        code: 3,
        message: `cannot write state file ${statePath}: ${describeError(e)}`,
      });
    }
  }

  // Age of the data: the served file's own time, else how long the serial has been the same.
  let ageMs: number | undefined;
  if (dataFile) {
    try {
      const m = (await readTableFile(dataFile)).metadata;
      const t = typeof m.buildtime === "string"
        ? Date.parse(m.buildtime)
        : typeof m.generated === "number"
        ? m.generated * 1000
        : typeof m.generated === "string"
        ? Date.parse(m.generated)
        : NaN;
      if (Number.isFinite(t)) ageMs = Math.max(0, now - t);
      else {problems.push({
          check: "max-age",
          code: 3,
          message: `${dataFile} says not when it was built`,
        });}
    } catch (e) {
      problems.push({ check: "max-age", code: 3, message: describeError(e) });
    }
  } else if (statePath) ageMs = now - serialSince;

  if (minVrps) {
    if (minVrps.crit !== undefined && c.vrps < minVrps.crit) {
      problems.push({
        check: "min-vrps",
        code: 2,
        message: `${c.vrps} VRPs (below ${minVrps.crit})`,
      });
    } else if (minVrps.warn !== undefined && c.vrps < minVrps.warn) {
      problems.push({
        check: "min-vrps",
        code: 1,
        message: `${c.vrps} VRPs (below ${minVrps.warn})`,
      });
    }
  }
  if (maxAge && ageMs !== undefined) {
    const age = shortDuration(ageMs);
    if (maxAge.crit !== undefined && ageMs > maxAge.crit) {
      problems.push({
        check: "max-age",
        code: 2,
        message: `data ${age} old (over ${shortDuration(maxAge.crit)})`,
      });
    } else if (maxAge.warn !== undefined && ageMs > maxAge.warn) {
      problems.push({
        check: "max-age",
        code: 1,
        message: `data ${age} old (over ${shortDuration(maxAge.warn)})`,
      });
    }
  }
  if (stuck) {
    const frozen = now - serialSince;
    const msg = (lim: number) =>
      `serial ${r.serial} unchanged for ${shortDuration(frozen)} (over ${shortDuration(lim)})`;
    if (stuck.crit !== undefined && frozen >= stuck.crit) {
      problems.push({ check: "serial-stuck", code: 2, message: msg(stuck.crit) });
    } else if (stuck.warn !== undefined && frozen >= stuck.warn) {
      problems.push({ check: "serial-stuck", code: 1, message: msg(stuck.warn) });
    }
  }
  const wanted = opts.version ?? 2;
  if (r.version < wanted) {
    problems.push({
      check: "protocol",
      code: 1,
      message: `protocol ${r.version} (asked for ${wanted})`,
    });
  }
  let diff: number | undefined;
  if (againstOpts) {
    const other = sourceName(againstOpts);
    try {
      const o = await syncOnce(againstOpts);
      diff = tableDifference(r.table, o.result!.table);
      const lim = maxDiff ?? { warn: 0 };
      if (lim.crit !== undefined && diff > lim.crit) {
        problems.push({
          check: "max-diff",
          code: 2,
          message: `${diff} records differ from ${other} (over ${lim.crit})`,
        });
      } else if (lim.warn !== undefined && diff > lim.warn) {
        problems.push({
          check: "max-diff",
          code: 1,
          message: `${diff} records differ from ${other} (over ${lim.warn})`,
        });
      }
    } catch (e) {
      problems.push({
        check: "against",
        code: 3,
        message: `cannot compare with ${other}: ${describeError(e)}`,
      });
    }
  }

  const parts = [
    `serial ${r.serial}`,
    `${c.vrps} VRPs`,
    `${c.routerKeys} router keys`,
    `${c.aspas} ASPA`,
  ];
  if (ageMs !== undefined) parts.push(`age ${shortDuration(ageMs)}`);
  if (diff !== undefined) parts.push(`${diff} differ from ${against}`);
  const code = worst(problems);
  const summary = [...problems.map((x) => x.message), ...parts].join(", ");
  const perfdata = [
    perf("vrps", c.vrps, "", minVrps?.warn, minVrps?.crit),
    perf("router_keys", c.routerKeys),
    perf("aspas", c.aspas),
    `serial=${r.serial}`,
  ];
  if (ageMs !== undefined) {
    perfdata.push(
      perf("age", Math.round(ageMs / 1000), "s", sec(maxAge?.warn), sec(maxAge?.crit)),
    );
  }
  if (diff !== undefined) perfdata.push(perf("diff", diff, "", maxDiff?.warn, maxDiff?.crit));
  perfdata.push(`time=${elapsed.toFixed(3)}s`);
  return {
    code,
    summary,
    perfdata,
    problems,
    fields: {
      source,
      serial: r.serial,
      sessionId: r.sessionId,
      version: r.version,
      vrps: c.vrps,
      routerKeys: c.routerKeys,
      aspas: c.aspas,
      ageSeconds: ageMs === undefined ? undefined : Math.round(ageMs / 1000),
      diff,
      seconds: Number(elapsed.toFixed(3)),
    },
  };
}

function sec(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms / 1000);
}

async function run(args: string[]): Promise<number> {
  let v: Verdict;
  // Known before parsing, so that a bad flag is answered in the format asked for.
  const json = args.includes("--format=json") ||
    args.some((a, i) => a === "--format" && args[i + 1] === "json");
  try {
    const p = parseCommandArgs("check", args, {
      ...CONNECT_OPTIONS,
      "min-vrps": { type: "string" },
      "max-age": { type: "string" },
      "serial-stuck": { type: "string" },
      against: { type: "string" },
      "max-diff": { type: "string" },
      state: { type: "string" },
      "data-file": { type: "string" },
      format: { type: "string" },
    });
    v = await evaluate(p);
  } catch (e) {
    // A bad flag or an unexpected failure: UNKNOWN, as monitoring plugins answer.
    const msg = describeError(e);
    v = {
      code: 3,
      summary: msg,
      perfdata: [],
      fields: {},
      problems: [{
        check: e instanceof UsageError ? "usage" : e instanceof RtrError ? "input" : "internal",
        code: 3,
        message: msg,
      }],
    };
  }
  const line = json
    ? JSON.stringify({
      type: "check",
      status: STATUS[v.code],
      code: v.code,
      ...v.fields,
      problems: v.problems,
      summary: v.summary,
      time: recordTime(Date.now()),
    })
    : `RTR ${STATUS[v.code]} - ${v.summary}${
      v.perfdata.length ? ` | ${v.perfdata.join(" ")}` : ""
    }`;
  await Deno.stdout.write(new TextEncoder().encode(line + "\n"));
  return v.code;
}

/** The `check` subcommand. */
export const command: Command = {
  name: "check",
  summary: "one sync, a monitoring-plugin verdict",
  help,
  run,
};
