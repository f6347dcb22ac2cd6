/**
 * Flags `snapshot` and `follow` share: the record filters (`--asn`, `--prefix`, `--type`), the
 * response caps (`--max-response-records`), `--data-dir`'s default, and the session records
 * built by lib/formats/records.ts.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { response, samplePrefixes, startFakeCache } from "../helpers/fake_cache.ts";
import { spawnRtr } from "../helpers/child_lines.ts";
import { runRtr } from "../helpers/peers.ts";
import { FollowPrinter } from "../../lib/cli/follow.ts";
import { FollowMetrics } from "../../lib/cli/metrics.ts";
import { TextSink } from "../../lib/io/mod.ts";
import { emptyTable } from "../../lib/model/mod.ts";
import type { Pdu } from "../../lib/wire/mod.ts";

function records(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test("snapshot --asn and --type narrow the table; the sync record counts what was printed", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(response(1, 7, 3, samplePrefixes(1)));
  });
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--format",
      "ndjson",
      "--asn",
      "AS64497",
    ]);
    eq(r.code, 0, r.stderr);
    const recs = records(r.stdout);
    eq(recs.filter((x) => x.type === "vrp").map((x) => x.asn), [64497]);
    const sync = recs.at(-1)!;
    eq(sync.type, "sync");
    eq(sync.vrps, 1);
    const bad = await runRtr(["snapshot", `127.0.0.1:${cache.port}`, "--type", "roa"]);
    eq(bad.code, 2);
    assertIncludes(bad.stderr, "--type must be");
  } finally {
    await cache.stop();
  }
});

Deno.test("snapshot --serial with --prefix prints only the matching changes", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(response(1, 9, 3, samplePrefixes(1)));
  });
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--serial",
      "2",
      "--session",
      "9",
      "--prefix",
      "192.0.2.0/24",
    ]);
    eq(r.code, 0, r.stderr);
    const recs = records(r.stdout);
    eq(recs.filter((x) => x.type === "vrp").map((x) => x.prefix), ["192.0.2.0/24"]);
    eq(recs.at(-1)!.announced, 1);
  } finally {
    await cache.stop();
  }
});

Deno.test("snapshot --serial answered by Cache Reset prints a cacheReset record with a time", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([{ type: 8, version: 1 }]);
  });
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--serial",
      "2",
      "--session",
      "9",
    ]);
    eq(r.code, 1);
    const rec = JSON.parse(r.stdout);
    eq(Object.keys(rec), ["type", "source", "version", "sessionId", "serial", "time"]);
    eq([rec.type, rec.sessionId, rec.serial], ["cacheReset", 9, 2]);
    assertOk(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(rec.time), rec.time);
  } finally {
    await cache.stop();
  }
});

/** A cache that answers with prefixes and never sends End of Data (until the client gives up). */
function endlessCache() {
  return startFakeCache(async (c) => {
    await c.readPdu();
    const pdus: Pdu[] = [{ type: 3, version: 1, sessionId: 1 }];
    for (let i = 0; i < 50; i++) {
      pdus.push({
        type: 4,
        version: 1,
        flags: 1,
        prefixLength: 24,
        maxLength: 24,
        addr: [0x0a000000 + (i << 8)],
        asn: 64496,
      });
    }
    await c.write(pdus);
    await c.readPdu(10000).catch(() => null);
  });
}

Deno.test("snapshot --max-response-records stops a response that has no End of Data: exit 1, no file", async () => {
  const cache = endlessCache();
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/t.json`;
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--max-response-records",
      "10",
      "-o",
      out,
    ]);
    eq(r.code, 1, r.stderr);
    assertIncludes(r.stderr, "Response exceeds 10 records without End of Data");
    eq(r.stderr.trim().split("\n").length, 1, r.stderr);
    eq(await exists(out), false);
    eq([...Deno.readDirSync(dir)].length, 0);
    const bad = await runRtr(["snapshot", "127.0.0.1:1", "--max-response-records", "0"]);
    eq(bad.code, 2);
    assertIncludes(bad.stderr, "--max-response-records must be a whole number from 1");
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("follow --max-response-records drops the oversized response with an error record", async () => {
  const cache = endlessCache();
  const f = spawnRtr([
    "follow",
    `127.0.0.1:${cache.port}`,
    "--protocol",
    "1",
    "--no-history",
    "--max-response-records",
    "10",
    "--retry",
    "600",
  ]);
  try {
    await f.waitFor((l) => l.some((x) => x.includes('"type":"disconnected"')), 15000, "drop");
    const recs = f.lines.map((l) => JSON.parse(l));
    const err = recs.find((x) => x.type === "error");
    assertOk(err, f.lines.join("\n"));
    assertIncludes(String(err.message), "Response exceeds 10 records without End of Data");
    eq(recs.some((x) => x.type === "sync"), false);
  } finally {
    await f.stop("SIGKILL");
    await cache.stop();
  }
});

Deno.test("follow --asn filters stdout while the history on disk stays whole", async () => {
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
    "--asn",
    "64496",
  ]);
  try {
    await f.waitFor((l) => l.some((x) => x.includes('"type":"sync"')), 15000, "the first sync");
    const recs = f.lines.map((l) => JSON.parse(l));
    eq(recs.filter((x) => x.type === "vrp").map((x) => x.asn), [64496]);
    eq(recs.find((x) => x.type === "sync")!.vrps, 1);
    const table = JSON.parse(await Deno.readTextFile(`${dir}/d/routingtable.json`));
    const text = JSON.stringify(table);
    assertIncludes(text, "64496");
    assertIncludes(text, "64497");
  } finally {
    await f.stop("SIGKILL");
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("follow's --data-dir defaults to $RTR_DATA_DIR, and its help says so", async () => {
  const h = await runRtr(["follow", "--help"]);
  assertIncludes(h.stdout, "--data-dir DIR    keep the history here (default $RTR_DATA_DIR, else");
  assertIncludes(h.stdout, "RTR_CACHE");
  const dir = await Deno.makeTempDir();
  // A data dir that cannot be used fails at once (exit 1), naming the directory from the variable.
  await Deno.writeTextFile(`${dir}/file`, "");
  const r = await runRtr(["follow", "127.0.0.1:1"], {
    env: { RTR_DATA_DIR: `${dir}/file` },
    cwd: dir,
    timeoutMs: 20000,
  });
  eq(r.code, 1, r.stderr);
  assertIncludes(r.stderr, `Cannot use data dir ${dir}/file`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("follow's session records come from records.ts: source first after type, time to the second", async () => {
  const lines: string[] = [];
  const sink = new TextSink({
    write(b) {
      lines.push(...new TextDecoder().decode(b).split("\n").filter((l) => l !== ""));
      return Promise.resolve(b.length);
    },
  });
  const p = new FollowPrinter(sink, null, new FollowMetrics(), "c:1", {
    host: "c",
    port: 1,
  }, false);
  const time = Date.UTC(2026, 10, 28, 12, 0, 0, 123);
  await p.on({ kind: "cacheReset", time } as never);
  await p.on({
    kind: "disconnected",
    time,
    reason: "connection refused",
    retryInSec: 600,
    retryAt: time + 600_000,
    afterError: true,
  } as never);
  await p.on({ kind: "error", time, code: 2, message: "No Data Available", fatal: false } as never);
  await p.on(
    { kind: "expired", time, lastSuccess: time - 7200_000, dropped: emptyTable() } as never,
  );
  eq(lines, [
    '{"type":"cacheReset","source":"c:1","time":"2026-11-28T12:00:00Z"}',
    '{"type":"disconnected","source":"c:1","reason":"connection refused","retryIn":600,"time":"2026-11-28T12:00:00Z"}',
    '{"type":"error","source":"c:1","code":2,"name":"No Data Available","message":"No Data Available","fatal":false,"time":"2026-11-28T12:00:00Z"}',
    '{"type":"expired","source":"c:1","lastSuccess":"2026-11-28T10:00:00Z","flushed":{"vrps":0,"routerKeys":0,"aspas":0},"time":"2026-11-28T12:00:00Z"}',
  ]);
});
