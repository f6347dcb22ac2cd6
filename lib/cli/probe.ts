/**
 * `rtr probe`: checks an RTR cache against RFC 6810, RFC 8210 and 8210bis the way a strict
 * router would, one scenario per connection (lib/probe), and reports pass / fail / not
 * applicable with the section and what was seen, as text, NDJSON or JUnit XML.
 */
import { systemClock } from "../clock.ts";
import { UsageError } from "../errors.ts";
import {
  probeBoundMs,
  type ProbeOptions,
  REPORT_FORMATS,
  type ReportFormat,
  reportWriter,
  runProbe,
  SCENARIOS,
  selectScenarios,
  summarize,
} from "../probe/mod.ts";
import { connect, describeTarget } from "../transport.ts";
import { flag, int, parseCommandArgs, seconds, splitHostPort, str } from "./args.ts";
import type { Command } from "./command.ts";
import { DEFAULT_PORT } from "./common.ts";
import { stdoutSink, warn } from "./io.ts";

/** The scenario list as the help prints it. */
function scenarioList(): string {
  return SCENARIOS.map((s) =>
    `  ${s.id}\n${wrap(`sends: ${s.sends}`)}\n${wrap(`passes: ${s.passes}`)}\n${
      wrap(`(${s.section})`)
    }`
  ).join("\n");
}

/** `text` in lines of at most `width` columns, indented 6 (continuations 8). */
function wrap(text: string, width = 92): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const indent = lines.length === 0 ? 6 : 8;
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => " ".repeat(i === 0 ? 6 : 8) + l).join("\n");
}

const help = `Usage: rtr probe HOST[:PORT] [--protocol N] [--only IDS] [--format text|ndjson|junit]
                 [--timeout S] [--change-cmd CMD [--notify-timeout S]] [--tls …] [--list]

A conformance test of an RTR cache: a fixed list of scenarios, each on its own connection(s)
and bounded in time, checked the way a strict router would against RFC 6810 (version 0),
RFC 8210 (version 1) and draft-ietf-sidrops-8210bis (version 2). Each scenario passes, fails
(with the section and the bytes seen) or is not applicable (a version the cache or --protocol
does not cover, no ASPA in the table, no --change-cmd).

Options:
  --protocol N        highest version to probe: 0, 1 or 2 (default 2)
  --only IDS          run only these scenarios (comma-separated ids or group names;
                      repeatable): version, response, serial, error, session, notify
  --format F          text (default), ndjson (one "scenario" record each, then "summary"),
                      junit (JUnit XML, not-applicable as skipped)
  --timeout S         bound of each scenario in seconds (default 10; raise it for a big
                      table from a slow cache); "no answer" and "then a close" wait up to
                      2 s (a quarter of S when that is less)
  --change-cmd CMD    a shell command that changes the cache's data (e.g. rewrites its
                      file), run by the notify scenario
  --notify-timeout S  how long the notify scenario waits for Serial Notify after CMD
                      (default 75: a cache may notify once a minute)
  --tls, --ca FILE, --cert FILE, --key FILE
                      probe over TLS, as for snapshot
  --list              print the scenario ids and exit
  -h, --help          show this help

The whole probe ends within (number of scenarios) × --timeout, plus --notify-timeout when
--change-cmd is given.

Scenarios, in run order:
${scenarioList()}

Exit codes: 0 every applicable scenario passed; 1 a scenario failed (an unreachable cache
fails them all); 2 usage.
`;

/** Run `cmd` with sh, bounded by `timeoutMs`; its output goes to stderr. */
async function runChange(cmd: string, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const child = new Deno.Command("sh", {
    args: ["-c", cmd],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "";
  return out.success ? { ok: true, detail: "ok" } : {
    ok: false,
    detail: `exit ${out.code}${out.signal ? ` (${out.signal})` : ""}${text ? `: ${text}` : ""}`,
  };
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("probe", args, {
    protocol: { type: "string" },
    only: { type: "string", multiple: true },
    format: { type: "string" },
    timeout: { type: "string" },
    "change-cmd": { type: "string" },
    "notify-timeout": { type: "string" },
    tls: { type: "boolean" },
    ca: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    list: { type: "boolean" },
  });
  if (flag(p, "list")) {
    const sink = stdoutSink();
    for (const s of SCENARIOS) await sink.write(`${s.id}\t${s.group}\t${s.section}\n`);
    await sink.flush();
    return 0;
  }
  if (p.positionals.length !== 1) {
    throw new UsageError(
      `Expected one HOST[:PORT], got ${p.positionals.length} (see 'rtr probe --help')`,
    );
  }
  const { host, port } = splitHostPort(p.positionals[0], DEFAULT_PORT);
  const format = (str(p, "format") ?? "text") as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) {
    throw new UsageError(
      `--format must be one of ${REPORT_FORMATS.join(", ")}, got ${JSON.stringify(format)}`,
    );
  }
  const tls = flag(p, "tls");
  const caFile = str(p, "ca"), certFile = str(p, "cert"), keyFile = str(p, "key");
  if (!tls && (caFile || certFile || keyFile)) {
    throw new UsageError("--ca, --cert and --key need --tls");
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const only = p.values.only as string[] | undefined;
  const scenarios = selectScenarios(only);
  const timeoutMs = seconds(p, "timeout", 10) * 1000;
  const notifyTimeoutMs = seconds(p, "notify-timeout", 75) * 1000;
  const changeCmd = str(p, "change-cmd");
  if (str(p, "notify-timeout") !== undefined && changeCmd === undefined) {
    throw new UsageError("--notify-timeout needs --change-cmd");
  }
  const target = describeTarget({ host, port });
  const options: ProbeOptions = {
    dial: (ms) => connect({ host, port, tls, caFile, certFile, keyFile, timeoutMs: ms }),
    target,
    maxVersion: int(p, "protocol", 2, 0, 2),
    timeoutMs,
    graceMs: Math.min(2000, timeoutMs / 4),
    notifyTimeoutMs,
    change: changeCmd === undefined ? undefined : () => runChange(changeCmd, timeoutMs),
    concurrency: 3,
    clock: systemClock,
  };
  warn(
    `rtr probe: ${target}, ${scenarios.length} scenarios, at most ${
      Math.ceil(probeBoundMs(options, scenarios) / 1000)
    } s`,
  );
  const sink = stdoutSink();
  const writer = reportWriter(format);
  const results = await runProbe(options, scenarios, async (r) => {
    const chunk = writer.result(r);
    if (chunk) {
      await sink.write(chunk);
      await sink.flush();
    }
  });
  const summary = summarize(target, results);
  await sink.write(writer.end(results, summary));
  await sink.flush();
  if (format !== "text") {
    warn(
      `rtr probe: ${summary.passed} passed, ${summary.failed} failed, ${summary.notApplicable} not applicable`,
    );
  }
  return summary.failed > 0 ? 1 : 0;
}

/** The `probe` subcommand. */
export const command: Command = {
  name: "probe",
  summary: "test a cache's conformance to the RFCs",
  help,
  run,
};
