/**
 * `rtr follow` against `rtr serve` (issue 4 acceptance): after the served file changes, follow
 * receives exactly the change through a Serial Query, not a reset.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import { startServe } from "../helpers/serve.ts";
import { spawnRtr } from "../helpers/child_lines.ts";
import { stayRtrJson } from "../helpers/peers.ts";

Deno.test("follow against rtr serve gets a file change as a Serial Query delta", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/table.json`;
  const a = [
    { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
    { prefix: "2001:db8::/32", maxLength: 48, asn: 64497 },
  ];
  await Deno.writeTextFile(file, stayRtrJson(a));
  const serve = await startServe(file, [
    "--notify-interval",
    "0.1",
    "--refresh",
    "1",
    "--session-id",
    "77",
  ]);
  const f = spawnRtr(["follow", `127.0.0.1:${serve.port}`, "--no-history"]);
  try {
    const isSync = (l: string) => l.startsWith('{"type":"sync"');
    await f.waitFor((l) => l.some(isSync), 15000, "the first sync");
    const n0 = f.lines.length;
    await Deno.writeTextFile(
      `${file}.tmp`,
      stayRtrJson([a[0], { prefix: "198.51.100.0/24", maxLength: 24, asn: 64498 }]),
    );
    await Deno.rename(`${file}.tmp`, file);
    await f.waitFor(
      (l) =>
        l.slice(n0).some((x) =>
          isSync(x) && JSON.parse(x).serial !== JSON.parse(l.find(isSync)!).serial
        ),
      15000,
      "a sync with the new serial",
    );
    const recs = f.lines.slice(n0).map((l) => JSON.parse(l));
    const sync = recs.find((r) => r.type === "sync" && r.announced + r.withdrawn > 0);
    eq(sync.reset, false);
    eq(sync.sessionId, 77);
    eq(
      recs.filter((r) => r.type === "vrp").map((r) => `${r.action} ${r.prefix} ${r.asn}`),
      ["withdraw 2001:db8::/32 64497", "announce 198.51.100.0/24 64498"],
    );
    assertOk(/Serial Query/.test(serve.log()), serve.log());
  } finally {
    await f.stop("SIGKILL");
    await serve.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
