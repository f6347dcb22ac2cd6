/**
 * `rtr man`: the manual page rtr(1) in roff on stdout, built at run time from the top-level help
 * and every registered command's `--help` text (lib/cli/help_parse.ts), so it never drifts from
 * what the commands print. `rtr man | man -l -` shows it.
 */
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { type CommandHelp, registryHelps } from "./help_parse.ts";
import { ndjsonStream } from "../formats/ndjson_stream.ts";
import { UsageError } from "../errors.ts";

const help = `Usage: rtr man

Print the manual page rtr(1) in roff on stdout, made from the same help text every
command prints with --help. Read it with 'rtr man | man -l -', or install it:
'rtr man > ~/.local/share/man/man1/rtr.1'.

Options:
  -h, --help        show this help

Exit codes: 0 ok; 2 usage.
`;

/** Text for roff: backslashes and hyphens escaped, no line starting with a control character. */
export function roffText(s: string): string {
  return s.replace(/\\/g, "\\e").replace(/-/g, "\\-").split("\n").map((l) =>
    /^[.']/.test(l) ? `\\&${l}` : l
  ).join("\n");
}

/** A paragraph: indented blocks (examples, tables) kept as they are, prose filled. */
function paragraph(p: string): string {
  const lines = p.split("\n");
  if (lines.some((l) => /^\s{2,}\S/.test(l))) {
    return `.PP\n.nf\n${roffText(p)}\n.fi`;
  }
  return `.PP\n${roffText(lines.join(" "))}`;
}

function commandSection(c: CommandHelp): string {
  const out = [`.SS "rtr ${c.name}"`];
  if (c.parsed.usage.length) {
    out.push(".nf", ...c.parsed.usage.map((u) => `\\fB${roffText(u)}\\fR`), ".fi");
  }
  for (const p of c.parsed.description) out.push(paragraph(p));
  for (const o of c.parsed.options) {
    const flags = o.flags.map((f) => `\\fB${roffText(f)}\\fR`).join(", ");
    out.push(".TP", o.arg ? `${flags} \\fI${roffText(o.arg)}\\fR` : flags, roffText(o.description));
  }
  for (const p of c.parsed.after) out.push(paragraph(p));
  return out.join("\n");
}

/** The whole page. */
export function manPage(main: string, commands: CommandHelp[], version: string): string {
  const mainParts = main.split("\n\n").map((s) => s.trim()).filter((s) => s !== "");
  const extra = mainParts.filter((s) => /^(Environment|Exit codes):/.test(s));
  return [
    `.TH RTR 1 "" "rtr ${roffText(version)}" "User Commands"`,
    ".SH NAME",
    "rtr \\- an RPKI\\-to\\-Router (RTR) client for the command line",
    ".SH SYNOPSIS",
    ".B rtr",
    "\\fIcommand\\fR [\\fIoptions\\fR]",
    ".br",
    ".B rtr help",
    "\\fIcommand\\fR",
    ".SH DESCRIPTION",
    ".PP",
    roffText(
      "rtr speaks the RPKI-to-Router protocol (RFC 6810, RFC 8210, draft-ietf-sidrops-8210bis): it syncs with RPKI caches, follows them, compares tables, decodes captures, serves tables and validates routes. Commands:",
    ),
    ...commands.flatMap((c) => [".TP", `\\fB${c.name}\\fR`, roffText(c.summary)]),
    ".SH COMMANDS",
    ...commands.map(commandSection),
    ...extra.map((p) => {
      const [head, ...rest] = p.split(":");
      return `.SH ${head === "Exit codes" ? "EXIT STATUS" : head.toUpperCase()}\n.PP\n${
        roffText(rest.join(":").replace(/\n/g, " ").trim())
      }`;
    }),
  ].join("\n") + "\n";
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("man", args, {});
  if (p.positionals.length > 0) {
    throw new UsageError("rtr man takes no arguments (see 'rtr man --help')");
  }
  const { main, commands } = await registryHelps();
  const { VERSION } = await import("./mod.ts");
  const out = ndjsonStream(Deno.stdout.writable);
  await out.sink.write(manPage(main, commands, VERSION));
  await out.close();
  return 0;
}

/** The `man` subcommand. */
export const command: Command = { name: "man", summary: "print the manual page (roff)", help, run };
