/**
 * `rtr follow` against real StayRTR rewriting its file (issue 3 acceptance): exact change records,
 * the data dir, resume after kill -9 without a reset, and a reset after the cache restarts.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import {
  requirePeers,
  requireSharedData,
  runRtr,
  SHARED,
  startStayRtr,
  stayRtrJson,
} from "../helpers/peers.ts";
import { spawnRtr } from "../helpers/child_lines.ts";

type Roa = { prefix: string; maxLength: number; asn: number };
const A: Roa[] = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "198.51.100.0/24", maxLength: 24, asn: 64497 },
  { prefix: "2001:db8::/32", maxLength: 48, asn: 64498 },
];
const B: Roa[] = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "203.0.113.0/24", maxLength: 24, asn: 64499 },
  { prefix: "2001:db8::/32", maxLength: 64, asn: 64498 },
];

const recs = (lines: string[]) => lines.map((l) => JSON.parse(l));
const syncs = (lines: string[]) => recs(lines).filter((r) => r.type === "sync");
const key = (r: any) => `${r.action} ${r.prefix} ${r.maxLength} ${r.asn}`;

/** Write the StayRTR file atomically (StayRTR must never read half a file). */
async function writeCache(path: string, roas: Roa[]) {
  await Deno.writeTextFile(`${path}.tmp`, stayRtrJson(roas));
  await Deno.rename(`${path}.tmp`, path);
}

/**
 * The per-serial files of a data dir, oldest first. Only real serial files: a write in progress
 * (a dot-named temporary file) would sort first and is not part of the history.
 */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const m of Deno.readDir(dir)) {
    if (m.isDirectory && /^\d{4}-\d{2}$/.test(m.name)) {
      for await (const f of Deno.readDir(`${dir}/${m.name}`)) {
        if (/^\d{4}-\d{2}-\d{2}-\d{6}\.routes\./.test(f.name)) out.push(`${m.name}/${f.name}`);
      }
    }
  }
  return out.sort();
}

Deno.test("follow streams exactly the change of a rewritten StayRTR file, keeps the history and resumes after kill -9", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const cacheFile = `${dir}/cache.json`;
  const dataDir = `${dir}/data`;
  await writeCache(cacheFile, A);
  const cache = await startStayRtr(cacheFile, ["-refresh", "1", "-rtr.refresh", "1"]);
  let f = spawnRtr(["follow", `127.0.0.1:${cache.port}`, "--data-dir", dataDir]);
  try {
    await f.waitFor((l) => syncs(l).length >= 1, 20000, "the first sync");
    const first = syncs(f.lines)[0];
    eq(first.reset, true);
    eq(
      recs(f.lines).filter((r) => r.type === "vrp").map(key).sort(),
      A.map((r) => key({ action: "announce", ...r })).sort(),
    );
    const n0 = f.lines.length;
    await writeCache(cacheFile, B);
    await f.waitFor(
      (l) => syncs(l.slice(n0)).some((s) => s.serial !== first.serial),
      20000,
      "a sync with a new serial",
    );
    const after = recs(f.lines.slice(n0));
    const changed = after.filter((r) => r.type === "vrp").map(key).sort();
    eq(changed, [
      "announce 2001:db8::/32 64 64498",
      "announce 203.0.113.0/24 24 64499",
      "withdraw 198.51.100.0/24 24 64497",
      "withdraw 2001:db8::/32 48 64498",
    ]);
    const newSync = after.find((r) => r.type === "sync" && r.serial !== first.serial);
    eq(newSync.reset, false);
    eq(newSync.announced, 2);
    eq(newSync.withdrawn, 2);
    // History on disk: every file parses; the first is marked as a full table.
    const hist = await files(dataDir);
    assertOk(hist.length >= 2, hist.join(" "));
    for (const h of hist) JSON.parse(await Deno.readTextFile(`${dataDir}/${h}`));
    const firstFile = JSON.parse(await Deno.readTextFile(`${dataDir}/${hist[0]}`));
    eq(firstFile.reset, true);
    eq(firstFile.session_id, first.sessionId);
    const table = JSON.parse(await Deno.readTextFile(`${dataDir}/routingtable.json`));
    eq(table.roas.length, B.length);
    // rtr diff between the first and the last serial gives the same net change.
    const d = await runRtr(["diff", `${first.serial}`, `${newSync.serial}`, "--data-dir", dataDir]);
    eq(d.code, 1, d.stderr);
    eq(recs(d.stdout.trim().split("\n")).map(key).sort(), changed);
    const same = await runRtr([
      "diff",
      `${newSync.serial}`,
      `${newSync.serial}`,
      "--data-dir",
      dataDir,
    ]);
    eq([same.code, same.stdout], [0, ""]);

    // kill -9, restart on the same data dir: the first sync is a Serial Query answer, not a reset.
    eq(await f.stop("SIGKILL"), 137);
    f = spawnRtr(["follow", `127.0.0.1:${cache.port}`, "--data-dir", dataDir]);
    await f.waitFor((l) => syncs(l).length >= 1, 20000, "the first sync after restart");
    eq(syncs(f.lines)[0].reset, false);
    eq(recs(f.lines).filter((r) => r.type === "vrp").length, 0);
    for (const h of await files(dataDir)) JSON.parse(await Deno.readTextFile(`${dataDir}/${h}`));
    eq(await f.stop("SIGTERM"), 0);
  } finally {
    await f.stop("SIGKILL");
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("follow resets when StayRTR restarts with a new session id", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const cacheFile = `${dir}/cache.json`;
  await writeCache(cacheFile, A);
  let cache = await startStayRtr(cacheFile, [
    "-refresh",
    "1",
    "-rtr.refresh",
    "1",
    "-rtr.retry",
    "1",
  ]);
  const port = cache.port;
  const f = spawnRtr(["follow", `127.0.0.1:${port}`, "--no-history"]);
  try {
    await f.waitFor((l) => syncs(l).length >= 1, 20000, "the first sync");
    const first = syncs(f.lines)[0];
    // StayRTR derives its session id from the start time in seconds: restart in a later second.
    await new Promise((r) => setTimeout(r, 1500));
    await cache.stop();
    // Same port, new process: StayRTR picks a new session id.
    const { startStayRtrOn } = await import("../helpers/peers.ts");
    cache = await startStayRtrOn(port, cacheFile, [
      "-refresh",
      "1",
      "-rtr.refresh",
      "1",
      "-rtr.retry",
      "1",
    ]);
    await f.waitFor(
      (l) => syncs(l).some((s) => s.sessionId !== first.sessionId),
      30000,
      "a sync with the new session id",
    );
    const again = syncs(f.lines).find((s) => s.sessionId !== first.sessionId);
    eq(again.reset, true);
    // Same table: the net change across the reset is empty.
    eq(again.announced, 0);
    eq(again.withdrawn, 0);
    assertOk(recs(f.lines).some((r) => r.type === "disconnected"));
  } finally {
    await f.stop("SIGKILL");
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("follow over two real 2017 VRP sets served in turn: rtr diff between the serials equals the set difference", async () => {
  if (!requirePeers("stayrtr") || !requireSharedData("vrps_2017_weekly")) return;
  const setDir = `${SHARED}data/vrps_2017_weekly`;
  const names = [...Deno.readDirSync(setDir)].map((e) => e.name).filter((n) =>
    n.endsWith(".json.gz")
  ).sort();
  const load = async (name: string): Promise<Roa[]> => {
    const gz = await Deno.readFile(`${setDir}/${name}`);
    const text = await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).text();
    return JSON.parse(text).roas.map((r: any) => ({
      prefix: r.prefix,
      maxLength: r.maxLength,
      asn: Number(String(r.asn).replace(/^AS/i, "")),
    }));
  };
  const [s1, s2] = [await load(names[7]), await load(names[8])];
  const dir = await Deno.makeTempDir();
  const cacheFile = `${dir}/cache.json`, dataDir = `${dir}/data`;
  await writeCache(cacheFile, s1);
  const cache = await startStayRtr(cacheFile, ["-refresh", "1", "-rtr.refresh", "1"]);
  const f = spawnRtr(["follow", `127.0.0.1:${cache.port}`, "--data-dir", dataDir]);
  try {
    await f.waitFor((l) => l.some((x) => x.startsWith('{"type":"sync"')), 30000, "the first sync");
    const first = syncs(f.lines.filter((x) => x.startsWith('{"type":"sync"')))[0];
    await writeCache(cacheFile, s2);
    await f.waitFor(
      (l) => l.some((x) => x.startsWith('{"type":"sync"') && JSON.parse(x).serial !== first.serial),
      30000,
      "the second set",
    );
    const last = syncs(f.lines.filter((x) => x.startsWith('{"type":"sync"'))).at(-1);
    const d = await runRtr(["diff", `${first.serial}`, `${last.serial}`, "--data-dir", dataDir], {
      timeoutMs: 60000,
    });
    eq(d.code, 1, d.stderr);
    const got = d.stdout.trim().split("\n").map((l) => key(JSON.parse(l))).sort();
    const canon = (r: Roa) => `${r.prefix} ${r.maxLength} ${r.asn}`;
    const a = new Set(s1.map(canon)), b = new Set(s2.map(canon));
    const want = [
      ...[...b].filter((x) => !a.has(x)).map((x) => `announce ${x}`),
      ...[...a].filter((x) => !b.has(x)).map((x) => `withdraw ${x}`),
    ].sort();
    assertOk(want.length > 100, `${want.length} changes`);
    eq(got, want);
  } finally {
    await f.stop("SIGKILL");
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
