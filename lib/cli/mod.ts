/**
 * Command dispatch and top-level help. Subcommands load lazily, one module each under lib/cli/.
 * Errors become one line on stderr and an exit code (README "Exit codes"); main.ts exits.
 */
import { describeError, RtrError, UsageError } from "../errors.ts";
import type { Command } from "./command.ts";
import { nearestName, nearestOption } from "./args.ts";
import { fileErrorText, warn } from "./io.ts";
import { isDenoPermissionError } from "../io/mod.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** Version of rtr. */
export const VERSION: string = denoJson.version;

/** The registry of subcommands (completions and the man page are built from it). */
export const COMMANDS: Record<
  string,
  { summary: string; load: () => Promise<{ command: Command }> }
> = {
  snapshot: {
    summary: "sync once with a cache, print the table, exit",
    load: () => import("./snapshot.ts"),
  },
  follow: {
    summary: "stay in sync with a cache, stream every change, keep a history",
    load: () => import("./follow.ts"),
  },
  diff: {
    summary: "what changed between two serials, files or caches",
    load: () => import("./diff.ts"),
  },
  replay: {
    summary: "decode raw dumps, pcap and pcapng captures of RTR sessions",
    load: () => import("./replay.ts"),
  },
  serve: { summary: "serve a table as a small RTR cache", load: () => import("./serve.ts") },
  validate: {
    summary: "RFC 6811 route origin validation against a table",
    load: () => import("./validate.ts"),
  },
  show: {
    summary: "the old rtr_show table: VRPs for given prefixes",
    load: () => import("./show.ts"),
  },
  probe: { summary: "test a cache's conformance to the RFCs", load: () => import("./probe.ts") },
  monitor: { summary: "watch caches, say when they disagree", load: () => import("./monitor.ts") },
  check: { summary: "one sync, a monitoring-plugin verdict", load: () => import("./check.ts") },
  completions: {
    summary: "print a shell completion script (bash, zsh, fish)",
    load: () => import("./completions.ts"),
  },
  man: { summary: "print the manual page (roff)", load: () => import("./man.ts") },
};

/** Top-level help text. */
export function mainHelp(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length));
  return `rtr ${VERSION}: an RPKI-to-Router (RTR) client for the command line

Usage: rtr <command> [options]

Commands:
${names.map((n) => `  ${n.padEnd(w)}  ${COMMANDS[n].summary}`).join("\n")}
  help      show help for a command

Options:
  -h, --help     show this help
  -V, --version  print the version

Environment: RTR_CACHE is the default cache HOST[:PORT], RTR_DATA_DIR the default data
directory; NO_COLOR keeps escape sequences off the terminal progress line (rtr prints no
colour). "-" is stdin or stdout wherever a file is read or written.

Exit codes: 0 ok; 1 runtime, transport or protocol failure; 2 usage; 3 the cache sent an
Error Report; 4 the cache has no data ("No Data Available"); diff: 0 same, 1 different, 2 trouble.

Run 'rtr help <command>' for the options of a command.
`;
}

async function loadCommand(name: string): Promise<Command> {
  const entry = COMMANDS[name];
  if (!entry) {
    const near = nearestName(name, Object.keys(COMMANDS));
    throw new UsageError(
      `Unknown command ${JSON.stringify(name)} ${
        near ? `(did you mean ${near}?)` : "(see 'rtr --help')"
      }`,
    );
  }
  return (await entry.load()).command;
}

/** Run the program with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const [first, ...rest] = args;
    if (first === undefined) {
      // No command is a usage error: the help goes to stderr, stdout stays empty.
      await Deno.stderr.write(new TextEncoder().encode(mainHelp()));
      return 2;
    }
    if (first === "-h" || first === "--help") {
      await Deno.stdout.write(new TextEncoder().encode(mainHelp()));
      return 0;
    }
    if (first === "-V" || first === "--version") {
      await Deno.stdout.write(new TextEncoder().encode(`rtr ${VERSION}\n`));
      return 0;
    }
    if (first === "help") {
      if (rest.length === 0) {
        await Deno.stdout.write(new TextEncoder().encode(mainHelp()));
        return 0;
      }
      const cmd = await loadCommand(rest[0]);
      await Deno.stdout.write(new TextEncoder().encode(cmd.help));
      return 0;
    }
    if (first.startsWith("-")) {
      const near = nearestOption(first, { version: { type: "boolean" } });
      throw new UsageError(
        `Unknown option ${first} ${near ? `(did you mean ${near}?)` : "(see 'rtr --help')"}`,
      );
    }
    const cmd = await loadCommand(first);
    if (rest.includes("-h") || rest.includes("--help")) {
      await Deno.stdout.write(new TextEncoder().encode(cmd.help));
      return 0;
    }
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return 0;
    if (isDenoPermissionError(e)) {
      // Never pass on Deno's "run again with --allow-…" hint: say what could not be opened.
      const path = /"([^"]*)"/.exec((e as Error).message)?.[1];
      warn(`rtr: Cannot open ${path ?? "a file"}: ${fileErrorText(e)}`);
      return 1;
    }
    warn(`rtr: ${describeError(e)}`);
    if (e instanceof RtrError) return e.exitCode;
    return 1;
  }
}
