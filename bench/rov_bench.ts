/**
 * Route origin validation benchmark: an 800k-VRP table (../shared/bench/gen_vrps.py, seed 42,
 * cached in bench/out/ like bench/e2e.ts) and 1,000,000 routes around it (exact VRP prefixes,
 * more and less specifics, wrong origins, AS0, uncovered space).
 *
 * - `deno bench --allow-all bench/rov_bench.ts`: micro benchmarks of index building, the
 *   allocation-free state lookup, the explained lookup and route parsing.
 * - `deno run --allow-all bench/rov_bench.ts`: the report: table load time, index build time and
 *   size, lookups per second, peak RSS, then `rtr validate --format rov` beside RTRlib's
 *   `rpki-rov` (talking RTR to StayRTR serving the same table) on the same 1,000,000 lines, with
 *   wall time, time to the first answer, peak RSS, and a check that every answer's state agrees.
 *
 * Environment: ROV_TABLE (a table file instead of the generated one), ROV_ROUTES (how many
 * routes, default 1000000), ROV_SHARED (directory holding gen_vrps.py).
 */
import { readTableFile } from "../lib/formats/read.ts";
import { parseRouteLine, RovIndex } from "../lib/rov/mod.ts";
import { topMask } from "../lib/model/prefix.ts";
import { type VrpSet, W } from "../lib/model/vrp_set.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}bench/out`;
const ROUTES = Number(Deno.env.get("ROV_ROUTES") ?? 1_000_000);

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

function sharedBench(): string {
  const env = Deno.env.get("ROV_SHARED");
  const candidates = env ? [env] : [`${ROOT}../shared/bench`, `${ROOT}../../shared/bench`];
  for (const c of candidates) if (exists(`${c}/gen_vrps.py`)) return c;
  throw new Error(`gen_vrps.py not found in ${candidates.join(", ")} (set ROV_SHARED)`);
}

/** The table file: ROV_TABLE, or the 800k set bench/e2e.ts also uses, generated once. */
async function tablePath(): Promise<string> {
  const env = Deno.env.get("ROV_TABLE");
  if (env) return env;
  const path = `${OUT}/vrps_800000_a2000_s42.json`;
  if (!exists(path)) {
    await Deno.mkdir(OUT, { recursive: true });
    console.error(`generating ${path} (about 15 s)…`);
    const r = await new Deno.Command("python3", {
      args: [
        `${sharedBench()}/gen_vrps.py`,
        "--count",
        "800000",
        "--aspa",
        "2000",
        "--seed",
        "42",
        "-o",
        `${path}.tmp`,
      ],
      stderr: "inherit",
      stdout: "null",
    }).output();
    if (!r.success) throw new Error("gen_vrps.py failed");
    await Deno.rename(`${path}.tmp`, path);
  }
  return path;
}

/** A deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Packed routes: per route `family << 16 | length`, four address words, origin. */
interface Routes {
  n: number;
  data: Uint32Array;
}

/** One million routes around the table, packed, plus the same routes as rpki-rov input text. */
function makeRoutes(set: VrpSet, n: number): { routes: Routes; text: string } {
  const rnd = prng(20250101);
  const d = set.data, size = set.size;
  const data = new Uint32Array(n * 6);
  const lines: string[] = [];
  const a = [0, 0, 0, 0];
  for (let k = 0; k < n; k++) {
    const i = rnd() % size, x = i * W;
    const v6 = d[x] >>> 16 === 1, plen = (d[x] >>> 8) & 255, max = d[x] & 255;
    const top = v6 ? 128 : 32;
    let len = plen, asn = d[x + 5];
    const kind = rnd() % 10;
    if (kind < 3) { /* exact prefix, own origin */ }
    else if (kind < 5) len = Math.min(top, plen + 1 + (rnd() % (max - plen + 2)));
    else if (kind < 6) len = Math.max(0, plen - 1 - (rnd() % 4));
    else if (kind < 8) asn = 1 + (rnd() % 400000);
    else if (kind < 9) asn = 0;
    for (let w = 0; w < 4; w++) {
      const bits = plen - 32 * w;
      const keep = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : topMask(bits);
      a[w] = w > 0 && !v6 ? 0 : ((d[x + 1 + w] & keep) | (rnd() & ~keep)) >>> 0;
    }
    if (kind === 9) {
      // Uncovered: IPv4 240/4, IPv6 3fff::/16 hold no generated VRP.
      if (v6) a[0] = (0x3fff0000 | (a[0] & 0xffff)) >>> 0;
      else a[0] = (0xf0000000 | (a[0] & 0x0fffffff)) >>> 0;
    }
    for (let w = 0; w < 4; w++) {
      const bits = len - 32 * w;
      a[w] = bits <= 0 ? 0 : (a[w] & topMask(bits)) >>> 0;
    }
    if (asn >= 2 ** 31) asn = asn & 0x7fffffff; // rpki-rov reads the origin as a C int
    data.set([(v6 ? 6 << 16 : 4 << 16) | len, a[0], a[1], a[2], a[3], asn], k * 6);
    lines.push(`${v6 ? fmt6(a) : fmt4(a[0])} ${len} ${asn}`);
  }
  return { routes: { n, data }, text: lines.join("\n") + "\n" };
}

function fmt4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

function fmt6(a: number[]): string {
  const g: string[] = [];
  for (let w = 0; w < 4; w++) g.push((a[w] >>> 16).toString(16), (a[w] & 0xffff).toString(16));
  return g.join(":");
}

const SCRATCH = new Uint32Array(4);

function runStateCodes(ix: RovIndex, r: Routes): number[] {
  const counts = [0, 0, 0], d = r.data;
  for (let k = 0, o = 0; k < r.n; k++, o += 6) {
    SCRATCH[0] = d[o + 1];
    SCRATCH[1] = d[o + 2];
    SCRATCH[2] = d[o + 3];
    SCRATCH[3] = d[o + 4];
    counts[ix.stateCode(d[o] >>> 16 === 6 ? 6 : 4, SCRATCH, d[o] & 0xffff, d[o + 5])]++;
  }
  return counts;
}

function runValidate(ix: RovIndex, r: Routes): number {
  let matched = 0;
  const d = r.data;
  for (let k = 0, o = 0; k < r.n; k++, o += 6) {
    SCRATCH[0] = d[o + 1];
    SCRATCH[1] = d[o + 2];
    SCRATCH[2] = d[o + 3];
    SCRATCH[3] = d[o + 4];
    matched += ix.validate({
      family: d[o] >>> 16 === 6 ? 6 : 4,
      addr: SCRATCH,
      length: d[o] & 0xffff,
      asn: d[o + 5],
    }).matched.length;
  }
  return matched;
}

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

// ------------------------------------------------------------------------------------------
// deno bench

if (!import.meta.main) {
  const path = await tablePath();
  const { table } = await readTableFile(path);
  const set = table.vrps;
  const ix = new RovIndex(set);
  const { routes, text } = makeRoutes(set, ROUTES);
  const lines = text.split("\n");
  lines.pop();

  Deno.bench({
    name: `build the index from ${set.size} VRPs`,
    n: 10,
    warmup: 2,
    fn: () => void new RovIndex(set),
  });
  Deno.bench({
    name: `stateCode() ${ROUTES} routes`,
    n: 10,
    warmup: 2,
    fn: () => void runStateCodes(ix, routes),
  });
  Deno.bench({
    name: `validate() ${ROUTES} routes, explained`,
    n: 10,
    warmup: 2,
    fn: () => void runValidate(ix, routes),
  });
  Deno.bench({
    name: `parseRouteLine() ${ROUTES} lines`,
    n: 10,
    warmup: 2,
    fn: () => {
      for (const l of lines) parseRouteLine(l);
    },
  });
}

// ------------------------------------------------------------------------------------------
// deno run: the report

interface RunFigures {
  wallS: number;
  firstAnswerS: number;
  peakRssMb: number;
  lines: string[];
}

/**
 * Run `cmd` under GNU time, send it the first line, wait for its answer (the table is then
 * loaded or synced), send the rest and collect every answer.
 */
async function timedRun(cmd: string[], input: string, expect: number): Promise<RunFigures> {
  const timeFile = await Deno.makeTempFile({ prefix: "rov-time-" });
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %M", "-o", timeFile, ...cmd],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const started = performance.now();
  const killer = setTimeout(() => child.kill("SIGKILL"), 600_000);
  const enc = new TextEncoder();
  const writer = child.stdin.getWriter();
  const firstNl = input.indexOf("\n") + 1;
  await writer.write(enc.encode(input.slice(0, firstNl)));
  let firstAnswer = 0;
  const out: string[] = [];
  const reading = (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      if (firstAnswer === 0) firstAnswer = performance.now();
      const t = rest + dec.decode(chunk, { stream: true });
      const parts = t.split("\n");
      rest = parts.pop()!;
      for (const p of parts) out.push(p);
    }
    if (rest) out.push(rest);
  })();
  while (firstAnswer === 0) await new Promise((r) => setTimeout(r, 5));
  const body = enc.encode(input.slice(firstNl));
  for (let off = 0; off < body.length; off += 1 << 16) {
    await writer.write(body.subarray(off, off + (1 << 16)));
  }
  await writer.close();
  await reading;
  await child.status;
  clearTimeout(killer);
  const wall = (performance.now() - started) / 1000;
  const [, kb] = (await Deno.readTextFile(timeFile)).trim().split(/\s+/).slice(-2).map(Number);
  await Deno.remove(timeFile);
  const answers = out.filter((l) => l.includes("|"));
  if (answers.length !== expect) {
    console.error(`warning: ${cmd[0]} gave ${answers.length} answers, expected ${expect}`);
  }
  return {
    wallS: wall,
    firstAnswerS: (firstAnswer - started) / 1000,
    peakRssMb: kb / 1024,
    lines: answers,
  };
}

async function startStayRtr(table: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const child = new Deno.Command("stayrtr", {
    args: [
      "-bind",
      `127.0.0.1:${port}`,
      "-cache",
      table,
      "-checktime=false",
      "-metrics.addr",
      "",
      "-refresh",
      "86400",
    ],
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const deadline = Date.now() + 120_000; // it listens only once the table is loaded
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("stayrtr did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function report(): Promise<void> {
  const path = await tablePath();
  let t = performance.now();
  const { table } = await readTableFile(path);
  const loadMs = performance.now() - t;
  const set = table.vrps;
  const builds: number[] = [];
  let ix!: RovIndex;
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    ix = new RovIndex(set);
    builds.push(performance.now() - t);
  }
  const { routes, text } = makeRoutes(set, ROUTES);
  const fast: number[] = [], explained: number[] = [];
  let counts: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    counts = runStateCodes(ix, routes);
    fast.push(performance.now() - t);
    t = performance.now();
    runValidate(ix, routes);
    explained.push(performance.now() - t);
  }
  const lines = text.split("\n");
  lines.pop();
  t = performance.now();
  for (const l of lines) parseRouteLine(l);
  const parseMs = performance.now() - t;
  const perS = (ms: number) => Math.round(ROUTES / (ms / 1000)).toLocaleString("en-US");
  console.log(`table: ${path}`);
  console.log(
    `  ${set.size.toLocaleString("en-US")} VRPs (${set.ipv4Count} IPv4), ${
      ROUTES.toLocaleString("en-US")
    } routes: ${counts[0]} valid, ${counts[1]} not found, ${counts[2]} invalid\n`,
  );
  console.log("| in process | figure |\n| --- | --- |");
  console.log(`| load the table file (readTableFile) | ${(loadMs / 1000).toFixed(2)} s |`);
  console.log(
    `| build the index (median of 5) | ${
      median(builds).toFixed(0)
    } ms, ${ix.prefixCount} prefixes, ${(ix.byteLength / 1e6).toFixed(1)} MB (+ ${
      (set.data.byteLength / 1e6).toFixed(1)
    } MB packed set) |`,
  );
  console.log(
    `| stateCode(), allocation-free (median of 5) | ${perS(median(fast))} lookups/s |`,
  );
  console.log(
    `| validate(), explained (median of 5) | ${perS(median(explained))} lookups/s |`,
  );
  console.log(`| parseRouteLine() | ${perS(parseMs)} lines/s |`);
  console.log(`| peak RSS of this process | ${peakRssMb().toFixed(0)} MB |\n`);

  const routesFile = `${OUT}/rov_routes_${ROUTES}.txt`;
  await Deno.mkdir(OUT, { recursive: true });
  await Deno.writeTextFile(routesFile, text);
  const rtrCmd = [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--quiet",
    `${ROOT}main.ts`,
    "validate",
    "--from",
    path,
  ];
  const rows: [string, RunFigures][] = [];
  rows.push([
    "rtr validate --format rov",
    await timedRun([...rtrCmd, "--format", "rov"], text, ROUTES),
  ]);
  const ndjson = await timedRun([...rtrCmd, "--format", "ndjson"], text, 0);
  rows.push(["rtr validate (ndjson)", ndjson]);
  let peer: RunFigures | undefined;
  try {
    const stay = await startStayRtr(path);
    try {
      peer = await timedRun(["rpki-rov", "127.0.0.1", String(stay.port)], text, ROUTES);
      rows.push(["rpki-rov via StayRTR", peer]);
    } finally {
      await stay.stop();
    }
  } catch (e) {
    console.error(`rpki-rov / stayrtr not run: ${(e as Error).message}`);
  }
  console.log(
    "| end to end, same 1M lines on stdin | wall | first answer (load / sync) | answering | peak RSS |",
  );
  console.log("| --- | --- | --- | --- | --- |");
  for (const [name, f] of rows) {
    console.log(
      `| ${name} | ${f.wallS.toFixed(2)} s | ${f.firstAnswerS.toFixed(2)} s | ${
        (f.wallS - f.firstAnswerS).toFixed(2)
      } s | ${f.peakRssMb.toFixed(0)} MB |`,
    );
  }
  if (peer) {
    const ours = rows[0][1].lines;
    let same = 0, differ = 0;
    for (let i = 0; i < Math.min(ours.length, peer.lines.length); i++) {
      if (
        ours[i].slice(ours[i].lastIndexOf("|")) ===
          peer.lines[i].slice(peer.lines[i].lastIndexOf("|"))
      ) {
        same++;
      } else if (differ++ < 5) console.error(`differs: ${ours[i]}\n    vs: ${peer.lines[i]}`);
    }
    console.log(`\nstates agree with rpki-rov on ${same} of ${ROUTES} routes (${differ} differ)`);
    if (differ > 0 || same !== ROUTES) Deno.exitCode = 1;
  }
  console.log(`routes file: ${routesFile}`);
}

if (import.meta.main) await report();
