/** CLI contract of `rtr follow`: stderr lines of the old client, metrics, signals, bad flags. */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { response, samplePrefixes, startFakeCache } from "../helpers/fake_cache.ts";
import { spawnRtr } from "../helpers/child_lines.ts";
import { runRtr } from "../helpers/peers.ts";
import { FollowPrinter } from "../../lib/cli/follow.ts";
import { FollowMetrics } from "../../lib/cli/metrics.ts";
import { HistoryStore } from "../../lib/store/history_store.ts";
import { TextSink } from "../../lib/io/mod.ts";
import { ClientSession } from "../../lib/session/mod.ts";
import type { Pdu } from "../../lib/wire/mod.ts";

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

Deno.test("follow --retry sets the wait after a failed connect and says when the next attempt is due", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close(); // nothing listens: connection refused
  const f = spawnRtr(["follow", `127.0.0.1:${port}`, "--no-history", "--retry", "40"]);
  try {
    await f.waitFor(() => f.stderr().includes("reconnecting in"), 15000, "the retry line");
    const m = /connection refused; reconnecting in ([\d.]+) s \(at (\S+)\)$/m.exec(f.stderr());
    assertOk(m, f.stderr());
    const wait = Number(m[1]);
    assertOk(wait >= 36 && wait <= 44, `jitter ±10% of 40 s, got ${wait}`);
    assertOk(!Number.isNaN(Date.parse(m[2])), m[2]);
    eq(await f.stop("SIGTERM"), 0);
  } finally {
    await f.stop("SIGKILL");
  }
  const bad = await runRtr(["follow", "127.0.0.1:1", "--retry", "soon"]);
  eq(bad.code, 2);
  assertIncludes(bad.stderr, "--retry must be a positive number of seconds");
});

Deno.test("follow prints each Error Report once on stderr", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([{
      type: 10,
      version: 1,
      errorCode: 1,
      pdu: new Uint8Array(0),
      text: "cache is on fire",
    }]);
    c.close();
  });
  const f = spawnRtr([
    "follow",
    `127.0.0.1:${cache.port}`,
    "--protocol",
    "1",
    "--no-history",
    "--retry",
    "600",
  ]);
  try {
    await f.waitFor(() => f.stderr().includes("reconnecting in"), 15000, "the retry line");
    const err = f.stderr();
    eq(err.split("cache is on fire").length - 1, 1, err);
    assertOk(/^rtr: reconnecting in [\d.]+ s \(at \S+\)$/m.test(err), err);
    // The record on stdout still carries the reason.
    await f.waitFor((l) => l.some((x) => x.includes('"type":"disconnected"')), 5000, "record");
    const rec = JSON.parse(f.lines.find((x) => x.includes('"type":"disconnected"'))!);
    assertIncludes(rec.reason, "cache is on fire");
    eq(await f.stop("SIGTERM"), 0);
  } finally {
    await f.stop("SIGKILL");
    await cache.stop();
  }
});

/** Commit results of a real session: a reset at serial 6, then a poll that found serial 6 again. */
function twoSyncs() {
  const s = new ClientSession({ version: 1 });
  const pdus = (serial: number): Pdu[] => [
    { type: 3, version: 1, sessionId: 4660 },
    ...(serial === 6 && s.serial === null ? samplePrefixes(1) : []),
    { type: 7, version: 1, sessionId: 4660, serial, refresh: 60, retry: 30, expire: 7200 },
  ];
  const feed = (serial: number) => {
    s.query();
    let out;
    for (const p of pdus(serial)) {
      const ev = s.receive(p);
      if (ev.kind === "commit") out = ev.result;
    }
    return out!;
  };
  return [feed(6), feed(6)];
}

Deno.test("follow writes the history before the sync record and moves lastSuccess on every End of Data", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await HistoryStore.open(dir, { create: true });
    const seen: { text: string; onDisk: string[] }[] = [];
    const onDisk = () =>
      [...Deno.readDirSync(`${dir}/2026-01`)].map((e) => e.name).filter((n) => !n.startsWith("."));
    const sink = new TextSink({
      write(b) {
        const text = new TextDecoder().decode(b);
        if (text.includes('"type":"sync"')) seen.push({ text, onDisk: onDisk() });
        return Promise.resolve(b.length);
      },
    });
    const printer = new FollowPrinter(
      sink,
      store,
      new FollowMetrics(),
      "127.0.0.1:8282",
      { host: "127.0.0.1", port: 8282 },
      false,
    );
    const [first, again] = twoSyncs();
    const t0 = Date.UTC(2026, 0, 5, 10, 0, 0);
    const commit = (result: typeof first, time: number) =>
      printer.on({ kind: "commit", result, time, durationMs: 1, bytes: 1, pdus: 1 });
    await commit(first, t0);
    eq(seen.length, 1);
    // The per-serial file of serial 6 was on disk when its sync record was written.
    assertOk(
      seen[0].onDisk.some((n) => n.endsWith(".00004660.00000006.json")),
      seen[0].onDisk.join(" "),
    );
    // An hour later a poll finds the same serial: the state's lastSuccess moves on.
    await commit(again, t0 + 3600_000);
    const st = JSON.parse(await Deno.readTextFile(`${dir}/state.json`));
    eq(Date.parse(st.lastSuccess), t0 + 3600_000);
    eq(onDisk().length, 1); // and no second per-serial file for the same serial
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
