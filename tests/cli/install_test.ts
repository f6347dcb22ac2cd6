/**
 * README's one-command install: `deno task install:global` gives an `rtr` command whose
 * permissions suffice. Installed here into a temporary root with the task's own flags.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { runCommand } from "../helpers/peers.ts";
import { startFakeCache } from "../helpers/fake_cache.ts";
import denoJson from "../../deno.json" with { type: "json" };

const ROOT_DIR = new URL("../../", import.meta.url).pathname;

Deno.test("deno task install:global's command installs an rtr that can sync with its permissions", async () => {
  const task: string = denoJson.tasks["install:global"];
  const args = task.split(/\s+/);
  eq(args.slice(0, 3), ["deno", "install", "--global"]);
  const root = await Deno.makeTempDir();
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([
      { type: 3, version: 2, sessionId: 1 },
      {
        type: 4,
        version: 2,
        flags: 1,
        prefixLength: 24,
        maxLength: 24,
        addr: [0xc0000200],
        asn: 64496,
      },
      { type: 7, version: 2, sessionId: 1, serial: 1, refresh: 3600, retry: 600, expire: 7200 },
    ]);
  });
  try {
    const inst = await runCommand(Deno.execPath(), [...args.slice(1), "--root", root], {
      cwd: ROOT_DIR,
      timeoutMs: 120000,
    });
    eq(inst.code, 0, inst.stderr);
    const rtr = `${root}/bin/rtr`;
    const v = await runCommand(rtr, ["-V"]);
    eq(v.code, 0, v.stderr);
    assertOk(v.stdout.startsWith("rtr "));
    const out = `${root}/roas.csv`;
    const s = await runCommand(rtr, [
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--format",
      "csv",
      "-o",
      out,
    ]);
    eq(s.code, 0, s.stderr);
    assertIncludes(await Deno.readTextFile(out), "AS64496,192.0.2.0/24,24,");
  } finally {
    await cache.stop();
    await Deno.remove(root, { recursive: true });
  }
});
