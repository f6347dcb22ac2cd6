/**
 * `rtr completions` and `rtr man` are built from the registry and each command's help: every
 * subcommand and every option line's flags appear; the bash script parses and completes.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { hasCommand, runCommand, runRtr } from "../helpers/peers.ts";
import { COMMANDS } from "../../lib/cli/mod.ts";
import { parseHelp } from "../../lib/cli/help_parse.ts";

/** Flags at the head of each option line of a help text, found independently of help_parse.ts. */
function optionLineFlags(help: string): string[] {
  const out: string[] = [];
  for (
    const m of help.matchAll(/^ {2,4}(-[A-Za-z]), (--[a-z][a-z0-9-]*)|^ {2,4}(--[a-z][a-z0-9-]*)/gm)
  ) {
    for (const f of [m[1], m[2], m[3]]) if (f) out.push(f);
  }
  return out;
}

async function helps(): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const [name, e] of Object.entries(COMMANDS)) out.push([name, (await e.load()).command.help]);
  return out;
}

async function bashComplete(script: string, words: string[]): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/rtr.bash`, script);
    const quoted = words.map((w) => `'${w}'`).join(" ");
    const r = await runCommand("bash", [
      "-c",
      `source ${dir}/rtr.bash; COMP_WORDS=(${quoted}); COMP_CWORD=${
        words.length - 1
      }; _rtr; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ], { timeoutMs: 10000 });
    eq(r.code, 0, r.stderr);
    return r.stdout.split("\n").filter((l) => l !== "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("help_parse reads every option line of every command's help", async () => {
  for (const [name, help] of await helps()) {
    const parsed = parseHelp(help).options.flatMap((o) => o.flags);
    for (const f of optionLineFlags(help)) assertOk(parsed.includes(f), `${name}: ${f}`);
    assertOk(parsed.includes("--help"), name);
  }
  const o = parseHelp(
    "Usage: x\n\nOptions:\n  -o, --output FILE write it\n                    atomically\n",
  ).options;
  eq(o, [{ flags: ["-o", "--output"], arg: "FILE", description: "write it atomically" }]);
});

Deno.test("rtr completions bash is valid bash, offers every subcommand and every snapshot flag", async () => {
  const r = await runRtr(["completions", "bash"]);
  eq(r.code, 0, r.stderr);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/rtr.bash`, r.stdout);
  const syntax = await runCommand("bash", ["-n", `${dir}/rtr.bash`], { timeoutMs: 10000 });
  await Deno.remove(dir, { recursive: true });
  eq(syntax.code, 0, syntax.stderr);
  const subs = await bashComplete(r.stdout, ["rtr", ""]);
  for (const name of Object.keys(COMMANDS)) assertOk(subs.includes(name), `${name} in ${subs}`);
  assertOk(subs.includes("completions") && subs.includes("man") && subs.includes("help"));
  const flags = await bashComplete(r.stdout, ["rtr", "snapshot", "--"]);
  const help = (await runRtr(["snapshot", "--help"])).stdout;
  const want = optionLineFlags(help).filter((f) => f.startsWith("--"));
  assertOk(want.length > 20, want.join(" "));
  for (const f of want) assertOk(flags.includes(f), `${f} offered`);
  const fmt = await bashComplete(r.stdout, ["rtr", "snapshot", "--max-r"]);
  eq(fmt.sort(), ["--max-response-bytes", "--max-response-records"]);
});

Deno.test("rtr completions zsh and fish name every subcommand and flag; an unknown shell is usage", async () => {
  const all = await helps();
  for (const shell of ["zsh", "fish"]) {
    const r = await runRtr(["completions", shell]);
    eq(r.code, 0, r.stderr);
    for (const [name, help] of all) {
      assertIncludes(r.stdout, name);
      for (const f of optionLineFlags(help)) {
        const needle = shell === "fish"
          ? (f.startsWith("--") ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`)
          : `'${f}[`;
        assertIncludes(r.stdout, needle, `${shell} ${name} ${f}`);
      }
    }
  }
  if (hasCommand("zsh")) {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/_rtr`, (await runRtr(["completions", "zsh"])).stdout);
    const z = await runCommand("zsh", ["-n", `${dir}/_rtr`], { timeoutMs: 10000 });
    eq(z.code, 0, z.stderr);
    await Deno.remove(dir, { recursive: true });
  }
  const bad = await runRtr(["completions", "tcsh"]);
  eq(bad.code, 2);
  assertIncludes(bad.stderr, 'Unknown shell "tcsh"');
  eq((await runRtr(["completions"])).code, 2);
});

Deno.test("rtr man is roff with every command and every flag of every help, and man renders it", async () => {
  const r = await runRtr(["man"]);
  eq(r.code, 0, r.stderr);
  assertOk(/^\.TH RTR 1 /.test(r.stdout), r.stdout.slice(0, 80));
  for (const sec of ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "EXIT STATUS"]) {
    assertOk(new RegExp(`^\\.SH ${sec}$`, "m").test(r.stdout), sec);
  }
  // No text line may start with a roff control character unless it is a request we wrote.
  for (const line of r.stdout.split("\n")) {
    if (/^[.']/.test(line)) assertOk(/^\.(TH|SH|SS|TP|PP|nf|fi|B|br) ?/.test(line), line);
  }
  for (const [name, help] of await helps()) {
    assertIncludes(r.stdout, `.SS "rtr ${name}"`);
    for (const f of optionLineFlags(help)) {
      assertIncludes(r.stdout, `\\fB${f.replace(/-/g, "\\-")}\\fR`, `${name} ${f}`);
    }
  }
  if (hasCommand("man")) {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/rtr.1`, r.stdout);
    const shown = await runCommand("man", ["-l", `${dir}/rtr.1`], {
      timeoutMs: 20000,
      env: { MANPAGER: "cat", PAGER: "cat", MANWIDTH: "100" },
    });
    await Deno.remove(dir, { recursive: true });
    eq(shown.code, 0, shown.stderr);
    assertIncludes(shown.stdout, "--max-response-records");
    assertIncludes(shown.stdout, "rtr snapshot");
  } else console.log("SKIPPED: man not installed; roff checked by pattern only");
});
