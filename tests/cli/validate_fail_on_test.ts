/** `rtr validate --fail-on`: exit 1 for CI when a route has the given state, in every format. */
import assert from "node:assert/strict";
import { runRtr, stayRtrJson } from "../helpers/peers.ts";

const ROAS = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "2001:db8::/32", maxLength: 48, asn: 64496 },
];

async function withTable<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "rtr-validate-fail-on-" });
  try {
    await Deno.writeTextFile(`${dir}/table.json`, stayRtrJson(ROAS));
    return await fn(`${dir}/table.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const VALID = "192.0.2.0/24 64496\n";
const INVALID = "192.0.2.0/24 64497\n";
const NOT_FOUND = "203.0.113.0/24 64496\n";

Deno.test("rtr validate --fail-on invalid|not-found exits 1 when a route has that state", async () => {
  await withTable(async (file) => {
    for (const format of ["ndjson", "text", "rov"]) {
      const run = (stdin: string, ...flags: string[]) =>
        runRtr(["validate", "--from", file, "--format", format, ...flags], { stdin });
      const all = VALID + INVALID + NOT_FOUND;
      // Without --fail-on every state is a normal answer.
      assert.equal((await run(all)).code, 0, format);
      const inv = await run(all, "--fail-on", "invalid");
      assert.equal(inv.code, 1, format);
      assert.equal(inv.stderr, "rtr: 1 route is invalid (--fail-on invalid)\n", format);
      // Every route is still answered.
      assert.equal(inv.stdout.trim().split("\n").length, format === "text" ? 4 : 3, format);
      assert.equal((await run(VALID + NOT_FOUND, "--fail-on", "invalid")).code, 0, format);
      const nf = await run(VALID + NOT_FOUND + NOT_FOUND, "--fail-on", "not-found");
      assert.equal(nf.code, 1, format);
      assert.equal(nf.stderr, "rtr: 2 routes are not-found (--fail-on not-found)\n", format);
      assert.equal((await run(VALID + INVALID, "--fail-on", "not-found")).code, 0, format);
      const both = await run(all, "--fail-on", "invalid,not-found");
      assert.equal(both.code, 1, format);
      assert.equal(both.stderr.trim().split("\n").length, 2, format);
      assert.equal((await run(VALID, "--fail-on", "invalid", "--fail-on", "not-found")).code, 0);
    }
    // A single route from the arguments.
    const one = await runRtr([
      "validate",
      "192.0.2.0/24",
      "AS64497",
      "--from",
      file,
      "--fail-on",
      "invalid",
    ]);
    assert.equal(one.code, 1);
    const bad = await runRtr([
      "validate",
      "192.0.2.0/24",
      "AS64497",
      "--from",
      file,
      "--fail-on",
      "valid",
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fail-on must be invalid or not-found, got "valid"/);
  });
});
