/** The README's library example runs as written and prints what the server served. */
import { assertEquals as eq, assertIncludes } from "./helpers/assert.ts";
import { runCommand } from "./helpers/peers.ts";

const EXAMPLE = new URL("../examples/serve_and_sync.ts", import.meta.url).pathname;

Deno.test("examples/serve_and_sync.ts serves a table and syncs it back over TCP", async () => {
  const r = await runCommand(Deno.execPath(), ["run", "--quiet", "--allow-net", EXAMPLE]);
  eq(r.code, 0, r.stderr);
  assertIncludes(r.stdout, "version 2, serial 1:");
  assertIncludes(r.stdout, 'prefix: "2001:db8::/32", maxLength: 48, asn: 64497');
  assertIncludes(r.stdout, "aspas: 1");
});
