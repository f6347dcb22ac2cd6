/** `rtr snapshot --format bird|openbgpd [--router-version R]`: ASPA only for releases that read it. */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { runRtr } from "../helpers/peers.ts";
import { startFakeCache } from "../helpers/fake_cache.ts";

Deno.test("rtr snapshot --router-version adds ASPA to bird and openbgpd output; the default leaves it out", async () => {
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
      { type: 11, version: 2, flags: 1, customer: 64500, providers: [64501] },
      { type: 7, version: 2, sessionId: 1, serial: 1, refresh: 3600, retry: 600, expire: 7200 },
    ]);
  });
  try {
    const at = `127.0.0.1:${cache.port}`;
    const bird = await runRtr(["snapshot", at, "--format", "bird"]);
    eq(bird.code, 0, bird.stderr);
    assertIncludes(bird.stdout, "route 192.0.2.0/24 max 24 as 64496;");
    assertOk(!bird.stdout.includes("route aspa"), bird.stdout);
    const b = await runRtr(["snapshot", at, "--format", "bird", "--router-version", "bird=2.16"]);
    assertIncludes(b.stdout, "\troute aspa 64500 providers 64501;");
    const o = await runRtr([
      "snapshot",
      at,
      "--format",
      "openbgpd",
      "--router-version",
      "openbgpd=8",
    ]);
    assertIncludes(o.stdout, "\tcustomer-as 64500 provider-as { 64501 }");
    const bad = await runRtr(["snapshot", at, "--format", "bird", "--router-version", "bird"]);
    eq(bad.code, 2);
  } finally {
    await cache.stop();
  }
});
