/** CLI contract of `rtr follow`: stderr lines of the old client, metrics, signals, bad flags. */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { response, samplePrefixes, startFakeCache } from "../helpers/fake_cache.ts";
import { spawnRtr } from "../helpers/child_lines.ts";
import { runRtr } from "../helpers/peers.ts";

Deno.test("follow prints the old client's stderr lines, serves metrics and exits 0 on SIGINT", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(response(1, 4660, 6, samplePrefixes(1)));
    await c.readPdu(15000).catch(() => null);
  });
  const dir = await Deno.makeTempDir();
  const f = spawnRtr([
    "follow",
    `127.0.0.1:${cache.port}`,
    "--protocol",
    "1",
    "--data-dir",
    `${dir}/d`,
    "--metrics",
    "127.0.0.1:0",
  ]);
  try {
    await f.waitFor((l) => l.some((x) => x.includes('"type":"sync"')), 15000, "the first sync");
    // The stderr lines follow the history write: wait for them too.
    await f.waitFor(() => f.stderr().includes("DUMP ROUTES"), 15000, "the DUMP ROUTES line");
    const err = f.stderr();
    assertOk(/^\d{4}-\d{2}-\d{2}-\d{6}: CONNECT 127\.0\.0\.1\.\d+$/m.test(err), err);
    assertOk(/: SESSION 4660 NEW SERIAL none->6$/m.test(err), err);
    assertOk(/: DUMP ROUTES: session_id=4660 serial=6 announce=2\/withdraw=0$/m.test(err), err);
    const url = /metrics on (http:\S+)/.exec(err)?.[1];
    assertOk(url, err);
    const text = await (await fetch(url)).text();
    assertIncludes(text, "rtr_serial 6\n");
    assertIncludes(text, "rtr_session_id 4660\n");
    assertIncludes(text, 'rtr_records{type="vrp_ipv4"} 1\n');
    assertIncludes(text, 'rtr_records{type="vrp_ipv6"} 1\n');
    assertIncludes(text, "rtr_connected 1\n");
    assertIncludes(text, "rtr_received_pdus_total 4\n");
    eq(await f.stop("SIGINT"), 0);
    const hist = [...Deno.readDirSync(`${dir}/d`)].map((e) => e.name).sort();
    assertOk(hist.includes("routingtable.json") && hist.includes("state.json"), hist.join(" "));
  } finally {
    await f.stop("SIGKILL");
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("follow rejects bad flags with exit 2", async () => {
  const r = await runRtr(["follow", "127.0.0.1:1", "--serial", "5"]);
  eq(r.code, 2);
  assertIncludes(r.stderr, "--serial and --session go together");
  const m = await runRtr(["follow", "127.0.0.1:1", "--metrics", "127.0.0.1:99999"]);
  eq(m.code, 2);
});
