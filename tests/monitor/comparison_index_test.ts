/**
 * The comparison index and the monitor's judgement, in virtual time: grace, disagreement naming
 * exactly the differing records, resolution, router keys by SKI case-insensitively, ASPA provider
 * sets as sets, pair counts by visibility bucket, stale and unreachable sources.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import { ComparisonIndex, type IndexEvent } from "../../lib/monitor/comparison_index.ts";
import { Monitor } from "../../lib/monitor/monitor.ts";
import { monitorLine, type MonitorRecord } from "../../lib/formats/records.ts";
import { makeTable, type PayloadTable, type Vrp, VrpSet } from "../../lib/model/mod.ts";
import { diffTables } from "../../lib/model/table.ts";

const v = (prefix: string, maxLength: number, asn: number): Vrp => ({ prefix, maxLength, asn });
const BASE = [v("192.0.2.0/24", 24, 64496), v("2001:db8::/32", 48, 64497)];
const EXTRA = v("198.51.100.0/24", 24, 64498);
const table = (vrps: Vrp[], keys: any[] = [], aspas: any[] = []) =>
  makeTable(VrpSet.from(vrps), keys, aspas);
const SKI = "0123456789ABCDEF0123456789ABCDEF01234567";
const KEY = { asn: 64496, ski: SKI, pubkey: "AAAA" };

function names(evs: IndexEvent[]) {
  return evs.map((e) => {
    const r = e.record;
    const what = r.kind === "vrp"
      ? `${r.value.prefix} ${r.value.maxLength} ${r.value.asn}`
      : r.kind === "routerKey"
      ? `key ${r.value.ski}`
      : `aspa ${r.value.customer}:${r.value.providers}`;
    return e.kind === "disagreement"
      ? `disagreement ${what} have ${e.have} lack ${e.lack}`
      : `resolved ${what} ${e.everywhere ? "everywhere" : "nowhere"}`;
  });
}

/** Set a source's table through the delta path (as a commit would). */
function commit(ix: ComparisonIndex, s: number, t: PayloadTable, now: number) {
  const before = ix.table(s);
  return ix.setTable(s, t, now, before ? diffTables(before, t).vrps : undefined);
}

Deno.test("ComparisonIndex: identical tables differ in nothing; a difference shorter than the grace is not reported", () => {
  const ix = new ComparisonIndex({ sources: 3, graceMs: 60_000 });
  for (let s = 0; s < 3; s++) eq(ix.setTable(s, table(BASE), 1000), []);
  eq(ix.size, 0);
  eq(commit(ix, 1, table([...BASE, EXTRA]), 2000), []);
  eq(ix.size, 1);
  eq(ix.tick(61_999), []);
  // The others follow before the grace ends: nothing is ever said.
  eq(commit(ix, 0, table([...BASE, EXTRA]), 30_000), []);
  eq(commit(ix, 2, table([...BASE, EXTRA]), 40_000), []);
  eq(ix.size, 0);
  eq(ix.tick(200_000), []);
});

Deno.test("ComparisonIndex: a record missing past the grace is a disagreement naming who has and lacks it, resolved when the others follow", () => {
  const ix = new ComparisonIndex({ sources: 3, graceMs: 60_000 });
  for (let s = 0; s < 3; s++) ix.setTable(s, table(BASE), 1000);
  commit(ix, 1, table([BASE[0], EXTRA]), 2000);
  eq(names(ix.tick(61_999)), []);
  eq(names(ix.tick(62_000)).sort(), [
    "disagreement 198.51.100.0/24 24 64498 have 1 lack 0,2",
    "disagreement 2001:db8::/32 48 64497 have 0,2 lack 1",
  ]);
  eq(ix.tick(70_000), []);
  const d = ix.differences();
  eq(d.map((x) => [x.since, x.reported]), [[2000, true], [2000, true]]);
  // Source 0 follows: the holders of both records change, each said again.
  eq(names(commit(ix, 0, table([BASE[0], EXTRA]), 80_000)).sort(), [
    "disagreement 198.51.100.0/24 24 64498 have 0,1 lack 2",
    "disagreement 2001:db8::/32 48 64497 have 2 lack 0,1",
  ]);
  eq(names(commit(ix, 2, table([BASE[0], EXTRA]), 90_000)).sort(), [
    "resolved 198.51.100.0/24 24 64498 everywhere",
    "resolved 2001:db8::/32 48 64497 nowhere",
  ]);
  eq(ix.size, 0);
});

Deno.test("ComparisonIndex: router keys differing only by SKI case are the same key; ASPA provider sets compare as sets", () => {
  const ix = new ComparisonIndex({ sources: 2, graceMs: 0 });
  ix.setTable(0, table(BASE, [KEY], [{ customer: 64500, providers: [3, 1, 2] }]), 1000);
  eq(
    ix.setTable(
      1,
      table(BASE, [{ ...KEY, ski: SKI.toLowerCase() }], [{
        customer: 64500,
        providers: [2, 1, 3, 1],
      }]),
      1000,
    ),
    [],
  );
  eq(ix.size, 0);
  // A different provider set is a difference of two ASPA records.
  const t1 = table(BASE, [KEY], [{ customer: 64500, providers: [1, 2] }]);
  eq(names(commit(ix, 1, t1, 2000)).sort(), [
    "disagreement aspa 64500:1,2 have 1 lack 0",
    "disagreement aspa 64500:1,2,3 have 0 lack 1",
  ]);
  const t2 = table(BASE, [{ ...KEY, pubkey: "BBBB" }], [{ customer: 64500, providers: [1, 2] }]);
  eq(names(commit(ix, 0, t2, 3000)).sort(), [
    "disagreement key " + SKI + " have 0 lack 1",
    "disagreement key " + SKI + " have 1 lack 0",
    "resolved aspa 64500:1,2 everywhere",
    "resolved aspa 64500:1,2,3 nowhere",
  ]);
});

Deno.test("ComparisonIndex: the delta path and a full comparison agree on random tables", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pool: Vrp[] = [];
  for (let i = 0; i < 300; i++) {
    pool.push(
      i % 3 === 0
        ? v(`2001:db8:${i.toString(16)}::/48`, 48, 64496 + (i % 5))
        : v(`10.${i % 256}.${i >> 8}.0/24`, 24 + (i % 3), 64496 + (i % 7)),
    );
  }
  const pick = () => pool.filter(() => rnd() < 0.8);
  const ix = new ComparisonIndex({ sources: 3, graceMs: 0 });
  const tabs = [0, 1, 2].map(() => table(pick()));
  tabs.forEach((t, s) => ix.setTable(s, t, 0));
  for (let round = 1; round <= 20; round++) {
    const s = round % 3;
    tabs[s] = table(pick());
    commit(ix, s, tabs[s], round);
    const fresh = new ComparisonIndex({ sources: 3, graceMs: 0 });
    tabs.forEach((t, k) => fresh.setTable(k, t, 0));
    const key = (d: ReturnType<ComparisonIndex["differences"]>) =>
      d.map((x) => `${JSON.stringify(x.record.value)} ${x.have}`).sort();
    eq(key(ix.differences()), key(fresh.differences()));
    // Cross-check with the pairwise set difference.
    const only01 = VrpSet.diff(tabs[1].vrps, tabs[0].vrps).announced.size;
    eq(ix.pairCounts(round, [0])[0][1]!.byKind.vrp, only01);
  }
});

Deno.test("ComparisonIndex: pair counts by visibility bucket; a source leaving the comparison resolves what only it lacked", () => {
  const ix = new ComparisonIndex({ sources: 3, graceMs: 1000 });
  ix.setTable(0, table([...BASE, EXTRA]), 0);
  ix.setTable(1, table(BASE), 0);
  ix.setTable(2, table([...BASE, EXTRA]), 0);
  const pc = ix.pairCounts(120_000, [0, 60, 300]);
  eq(pc[0][1]!.byKind, { vrp: 1, routerKey: 0, aspa: 0 });
  eq(pc[0][1]!.visible.vrp, [1, 1, 0]);
  eq(pc[1][0]!.byKind.vrp, 0);
  eq(pc[0][2]!.byKind.vrp, 0);
  eq(pc[0][0], null);
  eq(names(ix.tick(120_000)), ["disagreement 198.51.100.0/24 24 64498 have 0,2 lack 1"]);
  eq(names(ix.dropTable(1, 130_000)), ["resolved 198.51.100.0/24 24 64498 everywhere"]);
  eq(ix.pairCounts(130_000, [0])[0][1], null);
});

Deno.test("Monitor: unreachable, recovered, stale after a frozen serial while another moved, and summaries", () => {
  const recs: MonitorRecord[] = [];
  const m = new Monitor({
    sources: [{ name: "a", kind: "cache" }, { name: "b", kind: "cache" }],
    graceMs: 10_000,
    staleAfterMs: 60_000,
    summaryEveryMs: 30_000,
    emit: (r) => recs.push(r),
  });
  const lines = () => recs.splice(0).map((r) => JSON.parse(monitorLine(r)));
  m.sync(0, { table: table(BASE), serial: 1, sessionId: 7 }, 0);
  m.lost(1, "Connection refused", 0);
  m.lost(1, "Connection refused", 5000);
  eq(lines().map((r) => [r.type, r.source, r.reason]), [
    ["unreachable", "b", "Connection refused"],
  ]);
  m.sync(1, { table: table(BASE), serial: 1, sessionId: 9 }, 6000);
  eq(lines().map((r) => [r.type, r.source, r.from]), [["recovered", "b", "unreachable"]]);
  m.tick(30_000);
  const s = lines();
  eq(s.map((r) => r.type), ["summary"]);
  eq(s[0].onlyA, { vrps: 0, routerKeys: 0, aspas: 0 });
  // b moves on, a stays: no stale before stale-after, then stale once.
  m.sync(1, {
    table: table([...BASE, EXTRA]),
    vrpDelta: diffTables(table(BASE), table([...BASE, EXTRA])).vrps,
    serial: 2,
    sessionId: 9,
  }, 40_000);
  m.tick(50_000);
  const d = lines();
  eq(d.map((r) => r.type), ["disagreement"]);
  eq([d[0].prefix, d[0].have, d[0].lack, d[0].since], [
    "198.51.100.0/24",
    ["b"],
    ["a"],
    "1970-01-01T00:00:40Z",
  ]);
  m.tick(59_999);
  eq(lines(), []);
  m.tick(60_000);
  eq(lines().map((r) => [r.type, r.source, r.reason, r.serial]), [
    ["stale", "a", "serial", 1],
    ["summary", undefined, undefined, undefined],
  ]);
  m.tick(61_000);
  eq(lines(), []);
  m.sync(0, {
    table: table([...BASE, EXTRA]),
    vrpDelta: diffTables(table(BASE), table([...BASE, EXTRA])).vrps,
    serial: 2,
    sessionId: 7,
  }, 62_000);
  eq(lines().map((r) => [r.type, r.source ?? r.prefix]), [
    ["recovered", "a"],
    ["resolved", "198.51.100.0/24"],
  ]);
  m.expired(1, 70_000);
  eq(lines().map((r) => [r.type, r.source, r.reason]), [["stale", "b", "expired"]]);
  assertOk(m.index.active === 1);
});

Deno.test("Monitor: quiet sources are not stale, and a passed stale deadline never makes the next wake-up now", () => {
  const recs: MonitorRecord[] = [];
  const m = new Monitor({
    sources: [{ name: "a", kind: "cache" }, { name: "b", kind: "cache" }],
    graceMs: 10_000,
    staleAfterMs: 60_000,
    summaryEveryMs: 1_000_000,
    emit: (r) => recs.push(r),
  });
  m.sync(0, { table: table(BASE), serial: 1, sessionId: 7 }, 0);
  m.sync(1, { table: table(BASE), serial: 1, sessionId: 9 }, 1000);
  // Both quiet for an hour: b moved after a, but not recently; nobody is stale.
  for (let t = 0; t <= 3_600_000; t += 30_000) m.tick(t);
  eq(recs.filter((r) => r.type === "stale"), []);
  const now = 3_600_000;
  assertOk(m.nextDue(now) > now, `next wake-up ${m.nextDue(now)} at ${now}`);
  // b moves now: a (frozen an hour) is stale at once.
  m.sync(1, { table: table(BASE), serial: 2, sessionId: 9 }, now);
  m.tick(now);
  eq(recs.filter((r) => r.type === "stale").map((r) => (r as any).source), ["a"]);
});
