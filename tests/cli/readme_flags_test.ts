/**
 * README.md and `--help` name the same flags, for the commands whose README sections this test
 * guards (`diff`, `validate` with `--aspa`, `show` with `--aspa`, `probe`): a flag added to one
 * and not the other fails here.
 */
import assert from "node:assert/strict";
import { command as diff } from "../../lib/cli/diff.ts";
import { command as validate } from "../../lib/cli/validate.ts";
import { command as show } from "../../lib/cli/show.ts";
import { command as probe } from "../../lib/cli/probe.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

/** The README text between `<!-- section:NAME -->` and the next section marker. */
function section(name: string): string {
  const parts = README.split(/<!-- section:([\w-]+) -->/);
  const i = parts.indexOf(name);
  assert.ok(i > 0 && i % 2 === 1, `README has no section:${name}`);
  return parts[i + 1];
}

/** Every `--long` and `-x` flag a text names. */
function flags(text: string): Set<string> {
  return new Set(
    [...text.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b/g)].map((m) => m[1]),
  );
}

/** Flags README names in a section that belong to another command (`probe` on `rtr serve`). */
const ELSEWHERE: Record<string, string[]> = { probe: ["--aspa-layout", "--session-id"] };

for (const cmd of [diff, validate, show, probe]) {
  Deno.test(`README section ${cmd.name} and 'rtr help ${cmd.name}' name the same flags`, () => {
    const help = flags(cmd.help), readme = flags(section(cmd.name));
    for (const f of ["-h", "--help"]) help.delete(f);
    for (const f of ELSEWHERE[cmd.name] ?? []) readme.delete(f);
    assert.deepEqual([...help].filter((f) => !readme.has(f)), [], "in --help, not in README");
    assert.deepEqual([...readme].filter((f) => !help.has(f)), [], "in README, not in --help");
  });
}
