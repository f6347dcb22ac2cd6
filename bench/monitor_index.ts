/**
 * `rtr monitor`'s comparison index (`deno task bench:monitor [--size N] [--delta K] [--sources S]
 * [--rounds R]`): S sources of N VRPs each (default 3 × 800,000, seeded, 80% IPv4), the same
 * table but for a few hundred records each. Prints the time of the initial comparison (each
 * source joining; the last join merges every table), then of R delta comparisons of K records
 * (default 1,000: half withdrawn, half new) on one source against the others — first the delta
 * that makes K records differ, then the other sources following it so that they resolve — and
 * the RSS with every table and the index held.
 */
import { ComparisonIndex } from "../lib/monitor/comparison_index.ts";
import { type VrpSet, VrpSetBuilder } from "../lib/model/vrp_set.ts";
import { makeTable, type PayloadTable } from "../lib/model/table.ts";

function arg(name: string, def: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : def;
}

const SIZE = arg("size", 800_000);
const DELTA = arg("delta", 1000);
const SOURCES = arg("sources", 3);
const ROUNDS = arg("rounds", 20);

let seed = 42;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed ^ (seed >>> 15);
}

/** `n` random records, 8 words each (v6 flag, 4 address words, prefix length, maxLength, ASN). */
function randomRecords(n: number): Uint32Array {
  const out = new Uint32Array(n * 8);
  for (let i = 0, x = 0; i < n; i++, x += 8) {
    if (rnd() % 10 < 8) {
      const len = 16 + (rnd() % 9);
      out[x + 1] = (rnd() & (0xffffffff << (32 - len))) >>> 0;
      out[x + 5] = len;
      out[x + 6] = len + (rnd() % 3 === 0 ? 0 : Math.min(32 - len, 2));
    } else {
      const len = 32 + (rnd() % 17);
      out[x] = 1;
      out[x + 1] = (0x20010000 | (rnd() & 0xffff)) >>> 0;
      out[x + 2] = len >= 64 ? rnd() : (rnd() & (0xffffffff << (64 - len))) >>> 0;
      out[x + 5] = len;
      out[x + 6] = len;
    }
    out[x + 7] = rnd();
  }
  return out;
}

function setOf(...parts: Uint32Array[]): VrpSet {
  const b = new VrpSetBuilder(parts.reduce((n, p) => n + p.length / 8, 0));
  for (const r of parts) {
    for (let x = 0; x < r.length; x += 8) {
      b.addWords(r[x] === 1, r[x + 1], r[x + 2], r[x + 3], r[x + 4], r[x + 5], r[x + 6], r[x + 7]);
    }
  }
  return b.build().set;
}

/** A full GC between steps when run with --v8-flags=--expose-gc (so a step is not billed for the garbage of the table updates around it). */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function rss(): number {
  return Math.round(Deno.memoryUsage().rss / 1e6);
}

function ms(t0: number): number {
  return Math.round((performance.now() - t0) * 100) / 100;
}

const rss0 = rss();
let base = randomRecords(SIZE);
const tables: PayloadTable[] = [];
for (let s = 0; s < SOURCES; s++) {
  // Each source differs from the common table by 200 records of its own.
  const own = randomRecords(200);
  tables.push(makeTable(setOf(base.subarray(0, (SIZE - 200) * 8), own), [], []));
}
base = new Uint32Array(0);
const ix = new ComparisonIndex({ sources: SOURCES, graceMs: 300_000 });
let now = 0;
const joins: number[] = [];
for (let s = 0; s < SOURCES; s++) {
  const t0 = performance.now();
  ix.setTable(s, tables[s], now);
  joins.push(ms(t0));
}
const heldRss = rss();
console.log(
  `monitor index: ${SOURCES} sources × ${tables[0].vrps.size} VRPs, ${ix.size} records differ`,
);
console.log(
  `initial comparison (each join, ms): ${
    joins.join(", ")
  }; RSS with every table and the index: ${heldRss} MB (process start ${rss0} MB)`,
);

const diverge: number[] = [], follow: number[] = [], apply: number[] = [];
let peak = heldRss;
for (let r = 0; r < ROUNDS; r++) {
  now += 1000;
  const t = tables[0].vrps;
  // Half the delta withdrawn from the table, half new records.
  const gone = new VrpSetBuilder(DELTA / 2);
  const step = Math.max(1, Math.floor(t.size / (DELTA / 2)));
  for (let i = 0; i < DELTA / 2; i++) {
    const x = ((i * step + r) % t.size) * 6;
    const d = t.data;
    gone.addWords(
      d[x] >>> 16 === 1,
      d[x + 1],
      d[x + 2],
      d[x + 3],
      d[x + 4],
      (d[x] >>> 8) & 255,
      d[x] & 255,
      d[x + 5],
    );
  }
  const withdrawn = gone.build().set;
  const announced = setOf(randomRecords(DELTA / 2));
  const delta = { announced, withdrawn };
  // What the session does at End of Data (not the monitor's cost): the new table.
  let t0 = performance.now();
  const next = makeTable(t.apply(announced, withdrawn), [], []);
  apply.push(ms(t0));
  collect();
  t0 = performance.now();
  ix.setTable(0, next, now, delta);
  diverge.push(ms(t0));
  if (Deno.args.includes("--verbose")) console.log(`round ${r}: ${diverge.at(-1)} ms`);
  tables[0] = next;
  // The others follow: the same delta on each; the records resolve.
  t0 = performance.now();
  for (let s = 1; s < SOURCES; s++) {
    const n2 = makeTable(tables[s].vrps.apply(announced, withdrawn), [], []);
    collect();
    const t1 = performance.now();
    ix.setTable(s, n2, now, delta);
    if (s === SOURCES - 1) follow.push(ms(t1));
    tables[s] = n2;
  }
  peak = Math.max(peak, rss());
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs: number[]) => Math.max(...xs);
console.log(
  `delta comparison, ${DELTA} records on one source (ms): median ${med(diverge)}, max ${
    max(diverge)
  }; the last source following (resolving them): median ${med(follow)}, max ${max(follow)}`,
);
console.log(
  `for scale, the session's own table update (VrpSet.apply): median ${med(apply)} ms`,
);
console.log(`differing records at the end: ${ix.size}; peak RSS ${peak} MB`);

// --e2e: the real process. Three `rtr serve` serving one generated table of --size VRPs (with
// router keys and ASPA), `rtr monitor` following all three: time to the first summary of every
// pair (three full syncs and the initial comparison) and the monitor's peak RSS (VmHWM).
if (Deno.args.includes("--e2e")) {
  const root = new URL("../", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  const deno = Deno.execPath();
  const run = (args: string[]) =>
    new Deno.Command(deno, {
      args: ["run", "-A", "--quiet", ...args],
      stdout: "piped",
      stderr: "piped",
    });
  const gen = await run([
    `${root}tools/gen_table.ts`,
    "--count",
    String(SIZE),
    "--keys",
    "20",
    "--aspa",
    "2000",
    "--buildtime",
    "now",
    "-o",
    `${dir}/table.json`,
  ]).output();
  if (!gen.success) throw new Error(new TextDecoder().decode(gen.stderr));
  const serves: { child: Deno.ChildProcess; port: number }[] = [];
  for (let i = 0; i < SOURCES; i++) {
    const child = run([`${root}main.ts`, "serve", `${dir}/table.json`, "--listen", "127.0.0.1:0"])
      .spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let log = "";
    const deadline = Date.now() + 120_000;
    while (!/127\.0\.0\.1:(\d+)/.test(log) && Date.now() < deadline) {
      const r = await reader.read();
      if (r.done) break;
      log += r.value;
    }
    const m = /127\.0\.0\.1:(\d+)/.exec(log);
    if (!m) throw new Error(`rtr serve did not start: ${log}`);
    reader.releaseLock();
    child.stderr.cancel().catch(() => {});
    serves.push({ child, port: Number(m[1]) });
  }
  const probe = await run([
    `${root}main.ts`,
    "check",
    `127.0.0.1:${serves[0].port}`,
    "--format",
    "json",
  ])
    .output();
  const served = JSON.parse(new TextDecoder().decode(probe.stdout));
  console.log(
    `e2e: each rtr serve holds ${served.vrps} VRPs, ${served.routerKeys} router keys, ${served.aspas} ASPA`,
  );
  const t0 = performance.now();
  const mon = run([
    `${root}main.ts`,
    "monitor",
    ...serves.map((s) => `127.0.0.1:${s.port}`),
    "--summary-every",
    "1s",
    "--timeout",
    "120",
  ]).spawn();
  const lines = mon.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "", firstMs = 0;
  const pairs = (SOURCES * (SOURCES - 1)) / 2;
  const seen = new Set<string>();
  const deadline = Date.now() + 300_000;
  while (seen.size < pairs && Date.now() < deadline) {
    const r = await lines.read();
    if (r.done) break;
    buf += r.value;
    for (const l of buf.split("\n")) {
      if (l.startsWith('{"type":"summary"') && l.endsWith("}")) {
        const s = JSON.parse(l);
        seen.add(`${s.a} ${s.b}`);
      }
    }
  }
  firstMs = performance.now() - t0;
  const status = await Deno.readTextFile(`/proc/${mon.pid}/status`).catch(() => "");
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
  const now = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
  console.log(
    `e2e: rtr monitor over ${SOURCES} × rtr serve of ${SIZE} VRPs: first summary of every pair after ${
      Math.round(firstMs)
    } ms (process start, ${SOURCES} full syncs, the initial comparison); RSS ${
      Math.round(now)
    } MB, peak ${Math.round(hwm)} MB`,
  );
  mon.kill("SIGTERM");
  await mon.status;
  for (const s of serves) {
    s.child.kill("SIGTERM");
    await s.child.status;
  }
  await Deno.remove(dir, { recursive: true });
}
