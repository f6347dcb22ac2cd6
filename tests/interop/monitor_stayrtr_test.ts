/**
 * `rtr monitor` and `rtr check` against three real StayRTR caches serving the real 2017 weekly
 * VRP sets (issue 10 acceptance): all agree → only summaries; one cache a week ahead →
 * disagreements naming exactly the differing VRPs after the grace, resolved once the others
 * follow; the metrics and /diff.json match the records; a frozen cache while the others move →
 * stale; a killed cache → unreachable, restarted → recovered; the history tells the story; and
 * check's verdicts and exit codes. Real time with short durations, every wait bounded.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import {
  freePort,
  requirePeers,
  requireSharedData,
  runRtr,
  SHARED,
  startStayRtr,
  startStayRtrOn,
} from "../helpers/peers.ts";
import { spawnRtr } from "../helpers/child_lines.ts";
import { readTableFile } from "../../lib/formats/read.ts";
import { VrpSet } from "../../lib/model/mod.ts";

const WEEKS = `${SHARED}data/vrps_2017_weekly/`;
const FILES = [
  "authenticated-2017-04-13T17:02:02Z.vrps.json.gz",
  "authenticated-2017-04-20T17:27:01Z.vrps.json.gz",
  "authenticated-2017-04-27T14:26:07Z.vrps.json.gz",
];

/** Write week `w` as the StayRTR file `path` with a fresh buildtime, atomically. */
async function serveWeek(path: string, w: number): Promise<void> {
  const gz = (await Deno.open(WEEKS + FILES[w])).readable.pipeThrough(
    new DecompressionStream("gzip"),
  );
  const doc = JSON.parse(await new Response(gz).text());
  const now = new Date();
  doc.metadata.buildtime = now.toISOString().replace(/\.\d+Z$/, "Z");
  doc.metadata.generated = Math.floor(now.getTime() / 1000);
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(doc));
  await Deno.rename(`${path}.tmp`, path);
}

const recs = (lines: string[]) => lines.map((l) => JSON.parse(l));
const vkey = (r: any) => `${r.prefix} ${r.maxLength} ${r.asn}`;
const STAYRTR_ARGS = ["-refresh", "1", "-rtr.refresh", "1", "-rtr.retry", "1"];

async function scrape(url: string): Promise<string> {
  const r = await fetch(url);
  return await r.text();
}

function metric(text: string, name: string, labels: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{${labels}}`)) return Number(line.split(" ").pop());
  }
  return undefined;
}

Deno.test("monitor watches three StayRTR caches: agreement, disagreement and resolution, stale, unreachable and recovered; check gives its verdicts", async () => {
  if (!requirePeers("stayrtr") || !requireSharedData("vrps_2017_weekly")) return;
  const dir = await Deno.makeTempDir();
  const week = await Promise.all(FILES.map((f) => readTableFile(WEEKS + f)));
  const d01 = VrpSet.diff(week[0].table.vrps, week[1].table.vrps);
  const ahead = [...d01.announced].map(vkey).sort();
  const behind = [...d01.withdrawn].map(vkey).sort();
  assertOk(ahead.length > 0 && behind.length > 0);
  const paths = [0, 1, 2].map((i) => `${dir}/cache${i}.json`);
  for (const p of paths) await serveWeek(p, 0);
  const caches = await Promise.all(paths.map((p) => startStayRtr(p, STAYRTR_ARGS)));
  const name = (i: number) => `127.0.0.1:${caches[i].port}`;
  const dataDir = `${dir}/history`;
  const mon = spawnRtr([
    "monitor",
    name(0),
    name(1),
    name(2),
    "--grace",
    "2s",
    "--summary-every",
    "1s",
    "--stale-after",
    "8s",
    "--retry",
    "1",
    "--metrics",
    "127.0.0.1:0",
    "--data-dir",
    dataDir,
  ]);
  const since = (n: number) => recs(mon.lines.slice(n));
  try {
    // 1. All agree: summaries for the three pairs with nothing differing, and nothing else.
    await mon.waitFor(
      (l) => recs(l).filter((r) => r.type === "summary").length >= 6,
      30000,
      "summaries of the three pairs",
    );
    const all = recs(mon.lines);
    eq([...new Set(all.map((r) => r.type))], ["summary"]);
    for (const s of all.filter((r) => r.type === "summary").slice(-3)) {
      eq([s.onlyA.vrps, s.onlyB.vrps, s.visible["0"]], [0, 0, 0]);
    }
    const port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(mon.stderr())![1]);
    const base = `http://127.0.0.1:${port}`;
    const m0 = await scrape(`${base}/metrics`);
    eq(
      metric(m0, "rtr_monitor_records", `source="${name(0)}",type="vrp"`),
      week[0].table.vrps.size,
    );
    eq(metric(m0, "rtr_monitor_connected", `source="${name(2)}"`), 1);

    // 2. Cache 0 serves the next week: exactly the differing VRPs, after the grace.
    let n = mon.lines.length;
    await serveWeek(paths[0], 1);
    const want = ahead.length + behind.length;
    await mon.waitFor(
      (l) => recs(l.slice(n)).filter((r) => r.type === "disagreement").length >= want,
      30000,
      `${want} disagreement records`,
    );
    const dis = since(n).filter((r) => r.type === "disagreement");
    eq(dis.length, want);
    const firstSeen = Date.parse(dis[0].since);
    for (const r of dis) {
      assertOk(Date.parse(r.time) - Date.parse(r.since) >= 2000, JSON.stringify(r));
    }
    eq(
      dis.filter((r) => r.have.length === 1 && r.have[0] === name(0)).map(vkey).sort(),
      ahead,
    );
    eq(
      dis.filter((r) => r.lack.length === 1 && r.lack[0] === name(0)).map(vkey).sort(),
      behind,
    );
    eq(dis.every((r) => r.record === "vrp"), true);
    // The metrics and /diff.json say the same.
    const m1 = await scrape(`${base}/metrics`);
    for (const other of [1, 2]) {
      eq(
        metric(
          m1,
          "rtr_monitor_diff",
          `source="${name(0)}",lacking="${name(other)}",type="vrp",visibility_seconds="0"`,
        ),
        ahead.length,
      );
      eq(
        metric(
          m1,
          "rtr_monitor_diff",
          `source="${name(other)}",lacking="${name(0)}",type="vrp",visibility_seconds="0"`,
        ),
        behind.length,
      );
    }
    eq(
      metric(
        m1,
        "rtr_monitor_diff",
        `source="${name(1)}",lacking="${name(2)}",type="vrp",visibility_seconds="0"`,
      ),
      0,
    );
    const doc = await (await fetch(`${base}/diff.json`)).json();
    eq(doc.differences.length, want);
    eq(doc.differences.map(vkey).sort(), [...ahead, ...behind].sort());
    assertOk(doc.differences.every((d: any) => Date.parse(d.since) === firstSeen));
    await mon.waitFor(
      (l) => recs(l.slice(n)).some((r) => r.type === "summary" && r.onlyA.vrps > 0),
      10000,
      "a summary with the difference",
    );
    const sum = since(n).filter((r) => r.type === "summary" && r.a === name(0)).pop();
    eq([sum.onlyA.vrps, sum.onlyB.vrps], [ahead.length, behind.length]);

    // 3. The others follow: every disagreement resolved.
    n = mon.lines.length;
    await serveWeek(paths[1], 1);
    await serveWeek(paths[2], 1);
    await mon.waitFor(
      (l) => recs(l.slice(n)).filter((r) => r.type === "resolved").length >= want,
      30000,
      `${want} resolved records`,
    );
    const res = since(n).filter((r) => r.type === "resolved");
    eq(res.map(vkey).sort(), [...ahead, ...behind].sort());
    eq(res.filter((r) => r.everywhere).map(vkey).sort(), ahead);
    eq((await (await fetch(`${base}/diff.json`)).json()).differences, []);

    // 4. Caches 0 and 1 move on, cache 2 stays on its file: stale.
    n = mon.lines.length;
    await serveWeek(paths[0], 2);
    await serveWeek(paths[1], 2);
    await mon.waitFor(
      (l) => recs(l.slice(n)).some((r) => r.type === "stale"),
      30000,
      "a stale record",
    );
    const stale = since(n).filter((r) => r.type === "stale");
    eq(stale.map((r) => [r.source, r.reason]), [[name(2), "serial"]]);
    const m2 = await scrape(`${base}/metrics`);
    eq(metric(m2, "rtr_monitor_stale", `source="${name(2)}"`), 1);
    eq(metric(m2, "rtr_monitor_stale", `source="${name(0)}"`), 0);

    // 5. Cache 1 killed: unreachable; restarted on its port: recovered.
    n = mon.lines.length;
    const port1 = caches[1].port;
    await caches[1].stop();
    await mon.waitFor(
      (l) => recs(l.slice(n)).some((r) => r.type === "unreachable"),
      20000,
      "an unreachable record",
    );
    eq(since(n).filter((r) => r.type === "unreachable").map((r) => r.source), [name(1)]);
    eq(metric(await scrape(`${base}/metrics`), "rtr_monitor_connected", `source="${name(1)}"`), 0);
    caches[1] = await startStayRtrOn(port1, paths[1], STAYRTR_ARGS);
    await mon.waitFor(
      (l) => recs(l.slice(n)).some((r) => r.type === "recovered" && r.from === "unreachable"),
      20000,
      "a recovered record",
    );
    eq(
      since(n).filter((r) => r.type === "recovered").map((r) => [r.source, r.from]),
      [[name(1), "unreachable"]],
    );
    // `rtr check` while the caches run.
    const ok = await runRtr(["check", name(0)]);
    eq(ok.code, 0, ok.stdout + ok.stderr);
    assertOk(
      ok.stdout.startsWith(`RTR OK - serial `) &&
        ok.stdout.includes(`${week[2].table.vrps.size} VRPs`) &&
        ok.stdout.includes(`| vrps=${week[2].table.vrps.size};`),
      ok.stdout,
    );
    const warnV = await runRtr(["check", name(0), "--min-vrps", "100000"]);
    eq(warnV.code, 1, warnV.stdout);
    assertOk(warnV.stdout.startsWith("RTR WARNING - "), warnV.stdout);
    const crit = await runRtr(["check", name(0), "--min-vrps", "100000,90000"]);
    eq(crit.code, 2, crit.stdout);
    const diffCheck = await runRtr([
      "check",
      name(0),
      "--against",
      name(2),
      "--max-diff",
      "0",
      "--format",
      "json",
    ]);
    eq(diffCheck.code, 1, diffCheck.stdout);
    const j = JSON.parse(diffCheck.stdout);
    const d12 = VrpSet.diff(week[1].table.vrps, week[2].table.vrps);
    eq([j.type, j.status, j.diff], ["check", "WARNING", d12.announced.size + d12.withdrawn.size]);
    const same = await runRtr(["check", name(0), "--against", name(1)]);
    eq(same.code, 0, same.stdout);
    const state = `${dir}/check-state.json`;
    eq((await runRtr(["check", name(2), "--state", state, "--serial-stuck", "1s"])).code, 0);
    await new Promise((r) => setTimeout(r, 1100));
    const stuck = await runRtr(["check", name(2), "--state", state, "--serial-stuck", "1s"]);
    eq(stuck.code, 1, stuck.stdout);
    assertOk(stuck.stdout.includes("unchanged for"), stuck.stdout);
    const refused = await runRtr(["check", `127.0.0.1:${freePort()}`]);
    eq(refused.code, 2, refused.stdout);
    assertOk(refused.stdout.startsWith("RTR CRITICAL - "), refused.stdout);
    const bad = await runRtr(["check", name(0), "--no-such-flag"]);
    eq(bad.code, 3, bad.stdout);
    assertOk(bad.stdout.startsWith("RTR UNKNOWN - "), bad.stdout);
  } finally {
    eq(await mon.stop("SIGTERM"), 0);
    for (const c of caches) await c.stop();
  }
  try {
    // 6. The history tells the story.
    const rep = await runRtr(["monitor", "--report", dataDir, "--since", "1h"]);
    eq(rep.code, 0, rep.stderr);
    const story = recs(rep.stdout.trim().split("\n"));
    const total = story.pop();
    eq(total.type, "report");
    const inc = story.filter((r) => r.type === "incident");
    eq(inc.filter((r) => !r.open).length >= ahead.length + behind.length, true);
    assertOk(story.some((r) => r.type === "stale"));
    assertOk(story.some((r) => r.type === "unreachable"));
    const text = await runRtr(["monitor", "--report", dataDir, "--format", "text"]);
    eq(text.code, 0, text.stderr);
    assertOk(/held by .*, missing from /.test(text.stdout), text.stdout.slice(0, 500));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
