/**
 * AS_PATH verification benchmark (`deno task bench:aspa`): a generated AS hierarchy (tier 1 with
 * AS0 records, tier 2, tier 3, stubs; 1–3 providers each, popular providers more popular; ASNs
 * spread as allocated today, below ~402,000, 1 % private 4-byte ones), its ASPA records (about 10 %
 * of the ASes have none, 2 % of the records miss a provider), a VRP set for the origins, and paths
 * as a router sees them: an up-ramp from a stub, often one lateral hop and a down-ramp, prepends,
 * and a few leaks; routes from providers verified downstream, the others upstream.
 *
 * Reports, per million paths: index build time and size; state-only verification
 * (`AspaIndex.verifyState`, allocation-free); the origin check (`RovIndex.stateCode`) on the same
 * routes and both together; the explained NDJSON output (`validate --aspa`'s writer: ROV with its
 * VRPs, every hop, the ramps) rendered to bytes; peak RSS. With `--e2e`, also `rtr validate --aspa`
 * as a process reading the same routes as `bgpdump -m` lines (summary and NDJSON), wall time and
 * peak RSS (GNU time).
 *
 * Size knobs: `--paths N` (default 1000000), `--aspas N` (ASPA records, default 100000),
 * `--runs N` (timed passes, the best is reported, default 3), `--seed N`.
 */
import { parseArgs } from "node:util";
import { ASPA_STATES, AspaIndex, DOWNSTREAM, RovIndex, UPSTREAM } from "../lib/rov/mod.ts";
import { VrpSet } from "../lib/model/vrp_set.ts";
import type { Vrp } from "../lib/model/types.ts";
import { AspaWriter } from "../lib/cli/aspa_writer.ts";
import { type RouteArrays, RouteFeeder } from "./aspa_routes.ts";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    paths: { type: "string", default: "1000000" },
    aspas: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    seed: { type: "string", default: "42" },
    e2e: { type: "boolean", default: false },
  },
});
const PATHS = Number(opt.paths), ASPAS = Number(opt.aspas), RUNS = Number(opt.runs);

/** mulberry32: the same topology and paths on every run. */
let seed = Number(opt.seed) >>> 0;
function rnd(): number {
  let t = (seed = (seed + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rnd() * n);
/** Skewed pick in [0, n): low indices (the popular ASes) come up far more often. */
const skew = (n: number) => Math.floor(n * rnd() * rnd());

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

// --- topology -------------------------------------------------------------------------------

const universe = Math.round(ASPAS / 0.9);
const tier1 = 16, tier2 = Math.round(universe * 0.015), tier3 = Math.round(universe * 0.15);
const stubs = universe - tier1 - tier2 - tier3;
const tierStart = [0, tier1, tier1 + tier2, tier1 + tier2 + tier3, universe];
const asnOf = new Uint32Array(universe);
{
  const used = new Set<number>();
  for (let i = 0; i < universe; i++) {
    let a: number;
    do {
      // As allocated today: 2-byte and public 4-byte ASNs below ~402,000; 1 % private 4-byte.
      a = i < tier1 ? 100 + int(9000) : rnd() < 0.99 ? 1000 + int(401000) : 4200000000 + int(9e7);
    } while (used.has(a));
    used.add(a);
    asnOf[i] = a;
  }
}
const tierOf = (
  i: number,
) => (i < tierStart[1] ? 0 : i < tierStart[2] ? 1 : i < tierStart[3] ? 2 : 3);
const providers: number[][] = Array.from({ length: universe }, () => []);
const customers: number[][] = Array.from({ length: universe }, () => []);
for (let i = tier1; i < universe; i++) {
  const t = tierOf(i);
  // Stubs buy from tier 3 or tier 2, tier 3 from tier 2, tier 2 from tier 1.
  const up = t === 3 && rnd() < 0.3 ? 1 : t - 1;
  const k = 1 + (rnd() < 0.4 ? 1 : 0) + (rnd() < 0.15 ? 1 : 0);
  for (let j = 0; j < k; j++) {
    const p = tierStart[up] + skew(tierStart[up + 1] - tierStart[up]);
    if (!providers[i].includes(p)) {
      providers[i].push(p);
      customers[p].push(i);
    }
  }
}
// ASPA records: tier 1 say AS0; then every other AS until the record count is reached, leaving
// the rest (about 10 %) unregistered; 2 % of records miss one of their providers.
const records: { customer: number; providers: number[] }[] = [];
for (let i = 0; i < tier1 && records.length < ASPAS; i++) {
  records.push({ customer: asnOf[i], providers: [0] });
}
const order = Array.from({ length: universe - tier1 }, (_, k) => tier1 + k);
for (let k = order.length - 1; k > 0; k--) {
  const j = int(k + 1);
  [order[k], order[j]] = [order[j], order[k]];
}
for (const i of order) {
  if (records.length >= ASPAS) break;
  let ps = providers[i].map((p) => asnOf[p]);
  if (ps.length > 1 && rnd() < 0.02) ps = ps.slice(1);
  records.push({ customer: asnOf[i], providers: ps });
}

// --- VRPs and routes ------------------------------------------------------------------------

const prefixOf = new Uint32Array(universe); // one /22 … /24 per origin, address words
const lenOf = new Uint8Array(universe);
const vrps: Vrp[] = [];
for (let i = tier2; i < universe; i++) {
  const len = 22 + int(3);
  const a = ((16 + int(200)) << 24 | int(1 << 24)) >>> 0 & (0xffffffff << (32 - len)) >>> 0;
  prefixOf[i] = a;
  lenOf[i] = len;
  if (rnd() < 0.5) {
    const asn = rnd() < 0.97 ? asnOf[i] : asnOf[int(universe)];
    vrps.push({
      prefix: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}`,
      maxLength: len + (rnd() < 0.3 ? 2 : 0),
      asn,
    });
  }
}

const pathAsns = new Uint32Array(PATHS * 10);
const pathStart = new Int32Array(PATHS + 1);
const pathProc = new Uint8Array(PATHS);
const routeAddr = new Uint32Array(PATHS);
const routeLen = new Uint8Array(PATHS);
let used = 0, hops = 0;
const scratch: number[] = [];
for (let n = 0; n < PATHS; n++) {
  scratch.length = 0;
  let at = rnd() < 0.8 ? tierStart[3] + skew(stubs) : tierStart[2] + skew(tier3);
  const origin = at;
  scratch.push(asnOf[at]);
  if (rnd() < 0.1) { for (let k = 1 + int(2); k > 0; k--) scratch.push(asnOf[at]); }
  // Up-ramp: to a provider, sometimes stopping below tier 1.
  while (providers[at].length > 0 && !(tierOf(at) <= 1 && rnd() < 0.4)) {
    at = providers[at][int(providers[at].length)];
    scratch.push(asnOf[at]);
  }
  let downstream = rnd() < 0.5;
  if (rnd() < 0.6) {
    // One lateral hop, then down one or two customers.
    const t = tierOf(at);
    at = tierStart[t] + int(tierStart[t + 1] - tierStart[t]);
    scratch.push(asnOf[at]);
    for (let d = int(3); d > 0 && customers[at].length > 0; d--) {
      at = customers[at][skew(customers[at].length)];
      scratch.push(asnOf[at]);
    }
    downstream = true;
  }
  if (rnd() < 0.01) scratch.splice(1 + int(scratch.length), 0, asnOf[int(universe)]); // a leak
  pathStart[n] = used;
  // BGP order: neighbour first.
  for (let k = scratch.length - 1; k >= 0; k--) pathAsns[used++] = scratch[k];
  hops += scratch.length;
  pathProc[n] = downstream ? DOWNSTREAM : UPSTREAM;
  const other = rnd() < 0.05;
  routeAddr[n] = other ? (int(224) << 24 | int(1 << 24)) >>> 0 : prefixOf[origin];
  routeLen[n] = other ? 24 : lenOf[origin];
}
pathStart[PATHS] = used;

console.log(
  `# ASPA path verification: ${PATHS.toLocaleString("en")} paths (average length ${
    (hops / PATHS).toFixed(2)
  } with prepends), ${records.length.toLocaleString("en")} ASPA records over ${
    universe.toLocaleString("en")
  } ASes, ${vrps.length.toLocaleString("en")} VRPs\n`,
);

// --- measurements ---------------------------------------------------------------------------

const rows: string[] = [];
/** CPU time of this thread in ms (/proc/thread-self/schedstat), or NaN. */
function cpuMs(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}
/**
 * Run `fn` once to warm up, then RUNS times; report the best pass by wall time and by the
 * thread's CPU time (on a shared machine the CPU time is the steadier figure).
 */
async function best(label: string, fn: () => number | Promise<number>): Promise<number> {
  await fn();
  let bestMs = Infinity, bestCpu = Infinity, result = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now(), c0 = cpuMs();
    result = await fn();
    bestMs = Math.min(bestMs, performance.now() - t0);
    bestCpu = Math.min(bestCpu, cpuMs() - c0);
  }
  const rate = (ms: number) => (PATHS / (ms / 1000) / 1e6).toFixed(2);
  rows.push(
    `| ${label} | ${bestMs.toFixed(0)} ms | ${rate(bestMs)} M/s | ${bestCpu.toFixed(0)} ms | ${
      rate(bestCpu)
    } M/s |`,
  );
  return result;
}

let t0 = performance.now();
const aspa = new AspaIndex(records);
const aspaMs = performance.now() - t0;
t0 = performance.now();
const set = VrpSet.from(vrps);
const rov = new RovIndex(set);
const rovMs = performance.now() - t0;

const stateCounts = new Float64Array(3);
await best("ASPA state only (`verifyRange`, no allocation)", () => {
  stateCounts.fill(0);
  for (let n = 0; n < PATHS; n++) {
    const s = pathStart[n];
    stateCounts[aspa.verifyRange(pathAsns, s, pathStart[n + 1], pathProc[n], pathAsns[s])]++;
  }
  return 0;
});
const addr = [0];
await best("origin check only (`RovIndex.stateCode`)", () => {
  let x = 0;
  for (let n = 0; n < PATHS; n++) {
    addr[0] = routeAddr[n];
    x += rov.stateCode(4, addr, routeLen[n], pathAsns[pathStart[n + 1] - 1]);
  }
  return x;
});
await best("both, state only", () => {
  let x = 0;
  for (let n = 0; n < PATHS; n++) {
    const s = pathStart[n], e = pathStart[n + 1];
    addr[0] = routeAddr[n];
    x += rov.stateCode(4, addr, routeLen[n], pathAsns[e - 1]);
    x += aspa.verifyRange(pathAsns, s, e, pathProc[n], pathAsns[s]);
  }
  return x;
});

// Explained: the real writer of `validate --aspa` into the real byte buffer, drained to nowhere.
let outBytes = 0;
const sink = {
  write: (b: Uint8Array) => {
    outBytes += b.length;
    return Promise.resolve(b.length);
  },
};
const routes: RouteArrays = { pathAsns, pathStart, pathProc, routeAddr, routeLen };
const feeder = new RouteFeeder(routes);
/** Routes per batch (of the single-thread pass between flushes, and of a worker's range). */
const BATCH = 4096;
function explained(format: "ndjson" | "text" | "summary"): () => Promise<number> {
  const w = new AspaWriter(rov, aspa, { format, role: "customer", neighbourAs: -1 }, sink);
  return async () => {
    outBytes = 0;
    for (let n = 0; n < PATHS; n += BATCH) {
      feeder.feed(w, n, Math.min(PATHS, n + BATCH));
      if (w.pending > 1 << 20) await w.flush();
    }
    await w.flush();
    return outBytes;
  };
}
const ndjsonBytes = await best(
  "explained NDJSON (ROV with its VRPs, every hop, ramps; rendered)",
  explained("ndjson"),
);
await best("explained text (a line, and the deciding hop in words)", explained("text"));
await best(
  "explained, not rendered (`--format summary`: explain() and ROV with its VRPs, counted)",
  explained("summary"),
);

/**
 * The explained NDJSON on `k` worker threads, as `validate --aspa --threads k` shares it out:
 * ranges of routes to the least busy worker, at most two in flight per worker, the rendered
 * bytes taken back in input order and drained to nowhere. The workers get copies of the indexes
 * and routes first (not timed: `validate` overlaps that with answering on the main thread).
 */
async function threaded(k: number): Promise<() => Promise<number>> {
  const url = new URL("./aspa_bench_worker.ts", import.meta.url);
  const workers = Array.from({ length: k }, () => new Worker(url, { type: "module" }));
  const waiting = workers.map(() => [] as ((b: Uint8Array) => void)[]);
  await Promise.all(workers.map((wk, i) =>
    new Promise<void>((ready) => {
      wk.onmessage = (ev) => {
        if (ev.data.kind === "ready") ready();
        else waiting[i].shift()!(ev.data.bytes);
      };
      wk.postMessage({
        kind: "init",
        vrps: set.data,
        aspa: aspa.parts,
        routes,
        format: "ndjson",
      });
    })
  ));
  threadPools.push(workers);
  return async () => {
    let bytes = 0;
    const queue: Promise<Uint8Array>[] = [];
    for (let n = 0; n < PATHS; n += BATCH) {
      let i = 0;
      for (let j = 1; j < k; j++) if (waiting[j].length < waiting[i].length) i = j;
      queue.push(new Promise((r) => waiting[i].push(r)));
      workers[i].postMessage({ kind: "range", from: n, to: Math.min(PATHS, n + BATCH) });
      while (queue.length > 2 * k) bytes += (await queue.shift()!).length;
    }
    for (const q of queue) bytes += (await q).length;
    return bytes;
  };
}
const threadPools: Worker[][] = [];
const cores = navigator.hardwareConcurrency;
for (const k of [...new Set([2, cores])].filter((k) => k >= 2)) {
  const bytes = await best(
    `explained NDJSON on ${k} worker threads (${cores} CPUs; the same writer, in input order)`,
    await threaded(k),
  );
  if (bytes !== ndjsonBytes) {
    throw new Error(`${k} threads wrote ${bytes} bytes, one ${ndjsonBytes}`);
  }
}
for (const pool of threadPools) for (const wk of pool) wk.terminate();

console.log(
  `| step | wall | paths/s (wall) | CPU | paths/s (CPU) |\n|---|---|---|---|---|`,
);
console.log(
  `| ASPA index build (${records.length} records) | ${aspaMs.toFixed(0)} ms | ${
    (aspa.byteLength / 1e6).toFixed(1)
  } MB | | |`,
);
console.log(
  `| VRP set + ROV index build (${vrps.length} VRPs) | ${rovMs.toFixed(0)} ms | ${
    (rov.byteLength / 1e6).toFixed(1)
  } MB | | |`,
);
for (const r of rows) console.log(r);
console.log(
  `\nASPA states: ${ASPA_STATES.map((s, i) => `${s} ${stateCounts[i]}`).join(", ")}; NDJSON ${
    (ndjsonBytes / PATHS).toFixed(0)
  } bytes a route; peak RSS of this process ${peakRssMb().toFixed(0)} MB`,
);

// --- end to end -----------------------------------------------------------------------------

if (opt.e2e) {
  const ROOT = new URL("../", import.meta.url).pathname;
  const dir = `${ROOT}bench/out`;
  await Deno.mkdirSync(dir, { recursive: true });
  const table = `${dir}/aspa_table_${ASPAS}.json`;
  await Deno.writeTextFile(
    table,
    JSON.stringify({
      roas: vrps,
      aspas: records.map((r) => ({ customer_asid: r.customer, providers: r.providers })),
    }),
  );
  const ribFile = `${dir}/aspa_rib_${PATHS}.txt`;
  {
    const f = await Deno.open(ribFile, { write: true, create: true, truncate: true });
    const enc = new TextEncoder();
    let chunk = "";
    for (let n = 0; n < PATHS; n++) {
      const s = pathStart[n], e = pathStart[n + 1], a = routeAddr[n];
      const p = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${routeLen[n]}`;
      chunk += `TABLE_DUMP2|1700000000|B|192.0.2.1|${pathAsns[s]}|${p}|${
        Array.from(pathAsns.subarray(s, e)).join(" ")
      }|IGP|192.0.2.1|0|0||NAG||\n`;
      if (chunk.length > 1 << 20) {
        await f.write(enc.encode(chunk));
        chunk = "";
      }
    }
    await f.write(enc.encode(chunk));
    f.close();
  }
  console.log(
    `\n| \`rtr validate --aspa\` on ${PATHS} bgpdump -m lines | wall | peak RSS |\n|---|---|---|`,
  );
  const runs = ["summary", "ndjson"].flatMap((format) =>
    [...new Set([1, Math.min(4, cores)])].map((threads) => ({ format, threads }))
  );
  for (const { format, threads } of runs) {
    const t = performance.now();
    const r = await new Deno.Command("sh", {
      args: [
        "-c",
        `/usr/bin/time -f '%M' ${Deno.execPath()} run --allow-all --quiet ${ROOT}main.ts validate --aspa --from ${table} --format ${format} --threads ${threads} < ${ribFile} > /dev/null`,
      ],
      stderr: "piped",
    }).output();
    const wall = (performance.now() - t) / 1000;
    const err = new TextDecoder().decode(r.stderr).trim().split("\n");
    const rss = Number(err.at(-1)) / 1024;
    console.log(
      `| --format ${format} --threads ${threads} | ${wall.toFixed(2)} s (${
        (PATHS / wall / 1e6).toFixed(2)
      } M lines/s) | ${rss.toFixed(0)} MB |`,
    );
  }
}
