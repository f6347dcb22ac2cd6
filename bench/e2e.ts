/**
 * End-to-end benchmark of a full RTR sync (issue 2, "Performance"): `rtr snapshot` beside the
 * peers (StayRTR `rtrdump`, RTRlib `rtrclient -e`) and the C header-walking floor (`rawrtr`),
 * all syncing the same recorded response from the fast replaying cache in ../shared/bench/.
 *
 * Steps, each cached in bench/out/ (gitignored) and every wait bounded:
 *  1. gen_vrps.py writes the table (`--count`, `--aspa`, `--seed`);
 *  2. rawrtr is compiled with `gcc -O2`;
 *  3. StayRTR serves the table once and rawrtr records its full responses at v1 and v2
 *     (StayRTR 0.5.1 sends ASPA at v2 in the legacy layout);
 *  4. replay_server.py answers every Reset Query with those bytes in one write;
 *  5. each client syncs `--runs` times (interleaved, after `--warmup` discarded runs); wall time
 *     is measured here around the child, peak RSS by `/usr/bin/time` (its `%M`, the child's
 *     ru_maxrss) or, without it, by polling /proc/PID/status VmHWM;
 *  6. every output is checked: the VRP set must equal the generated one (rtr: a mismatch fails
 *     the bench; peers: a warning).
 *
 * Prints a markdown table (medians) and writes bench/out/results.json.
 * Usage: deno task bench:e2e [--count N] [--aspa N] [--runs N] [--only a,b] [--help]
 */
import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url).pathname;

const HELP =
  `bench/e2e.ts: full-sync wall time and peak RSS of rtr snapshot, rtrdump, rtrclient, rawrtr

Usage: deno task bench:e2e [options]

Options:
  --count N       VRPs in the generated table (default 800000)
  --aspa N        ASPA records in it (default 2000)
  --seed N        generator seed (default 42)
  --runs N        measured runs per client; the table shows medians (default 6)
  --warmup N      discarded runs per client before measuring (default 1)
  --only LIST     comma-separated clients (default all):
                  rtr,rtr-ndjson,rtr-v2,rtrdump,rtrclient,rawrtr (and rtr-alt with --alt)
  --timeout S     bound on one client run, in seconds (default 300)
  --out DIR       cache and output directory (default bench/out)
  --shared DIR    directory with gen_vrps.py, rawrtr.c, replay_server.py
                  (default: the first of ../shared/bench, ../../shared/bench from the repo)
  --rtr CMD       how to run rtr, split on spaces (default: deno run --allow-all main.ts);
                  e.g. --rtr ./rtr for a 'deno task compile' binary
  --alt CMD       also measure another rtr (client rtr-alt: JSON, like rtr), e.g. a
                  patched tree: --alt "deno run --allow-all --quiet /tmp/x/main.ts"
  --profile       after measuring, run 'rtr snapshot' once under --cpu-prof and print where the
                  time goes (self and total time by function), plus V8 heap figures
  --rss time|poll how to measure peak RSS: /usr/bin/time (default when present) or polling
                  /proc/PID/status VmHWM every 10 ms
  --fresh         regenerate the table and re-record the responses
  -h, --help      show this help
`;

/** One measured run of a client. */
interface Run {
  wallS: number;
  rssKb: number;
  /** User + system CPU seconds (only with /usr/bin/time; NaN otherwise). */
  cpuS: number;
  code: number;
}

/** What a client's output held. */
interface Check {
  vrps: number;
  aspas?: number;
  routerKeys?: number;
  setEqual?: boolean;
  note?: string;
}

/** A client under test. */
interface Client {
  name: string;
  label: string;
  /** Programs that must be on PATH. */
  needs: string[];
  /** Output file (removed before each run), if any. */
  output?: string;
  /** Whether a wrong VRP set fails the bench (ours) or only warns (peers). */
  strict: boolean;
  argv(port: number): string[];
  check(stdout: string): Promise<Check>;
}

type Key = string;

function die(msg: string): never {
  console.error(`e2e: ${msg}`);
  throw new BenchError(msg);
}

class BenchError extends Error {}

function log(msg: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function hasCommand(name: string): boolean {
  if (name.includes("/")) return exists(name);
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && exists(`${dir}/${name}`)) return true;
  }
  return false;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every descendant of `pid` (children first, deepest last), from /proc/PID/task/T/children. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let tasks: string[] = [];
    try {
      tasks = [...Deno.readDirSync(`/proc/${p}/task`)].map((e) => e.name);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = "";
      try {
        kids = Deno.readTextFileSync(`/proc/${p}/task/${t}/children`);
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) {
        out.push(Number(k));
        walk(Number(k));
      }
    }
  };
  walk(pid);
  return out;
}

/** SIGKILL a process and all its descendants, by id. */
function killTree(pid: number): void {
  for (const p of [...descendants(pid).reverse(), pid]) {
    try {
      Deno.kill(p, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** Children still running (for the final cleanup). */
const live = new Set<Deno.ChildProcess>();

function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const dec = new TextDecoder();
  return (async () => {
    try {
      for await (const c of stream) into.push(dec.decode(c, { stream: true }));
    } catch { /* closed */ }
  })();
}

/** Run a command to completion (bounded); returns code and output. */
async function run(
  argv: string[],
  timeoutS: number,
  opts: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  const out: string[] = [], err: string[] = [];
  const done = Promise.all([collect(child.stdout, out), collect(child.stderr, err)]);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child.pid);
  }, timeoutS * 1000);
  const status = await child.status;
  clearTimeout(timer);
  live.delete(child);
  await done;
  return { code: status.code, stdout: out.join(""), stderr: err.join(""), timedOut };
}

const TIME = "/usr/bin/time";
const RSS_METHODS = {
  time: "/usr/bin/time %M (ru_maxrss of the client)",
  poll: "VmHWM from /proc/PID/status polled every 10 ms (may miss a peak in the last 10 ms)",
};
/** How peak RSS is measured: /usr/bin/time when present, else polling (or `--rss poll`). */
let rssMethod: keyof typeof RSS_METHODS = hasCommand(TIME) ? "time" : "poll";

/** Run one client, measuring wall time (here) and peak RSS. */
async function measure(
  argv: string[],
  timeoutS: number,
  scratch: string,
): Promise<Run & { stdout: string; stderr: string }> {
  const useTime = rssMethod === "time";
  const rssFile = `${scratch}/time.txt`;
  try {
    Deno.removeSync(rssFile);
  } catch { /* none */ }
  // `timeout` bounds the client itself (TERM, then KILL 5 s later; it reaps the client and exits
  // 124); the timer below is the backstop.
  const wrapped = useTime
    ? [TIME, "-f", "%M %U %S", "-o", rssFile, "timeout", "-k", "5", String(timeoutS), ...argv]
    : argv;
  const t0 = performance.now();
  const child = new Deno.Command(wrapped[0], {
    args: wrapped.slice(1),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  const out: string[] = [], err: string[] = [];
  const done = Promise.all([collect(child.stdout, out), collect(child.stderr, err)]);
  let status: Deno.CommandStatus | null = null;
  const statusP = child.status.then((s) => {
    status = s;
    return s;
  });
  let hwm = 0;
  const backstop = setTimeout(
    () => killTree(child.pid),
    (useTime ? timeoutS + 10 : timeoutS) * 1000,
  );
  if (!useTime) {
    while (status === null) {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`));
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch { /* exited */ }
      await Promise.race([statusP, sleep(10)]);
    }
  }
  const st = await statusP;
  const wallS = (performance.now() - t0) / 1000;
  clearTimeout(backstop);
  live.delete(child);
  await done;
  let rssKb = hwm, cpuS = NaN;
  if (useTime) {
    // GNU time may print "Command exited with non-zero status N" first: take the last line.
    const lines = (exists(rssFile) ? Deno.readTextFileSync(rssFile) : "").trim().split("\n");
    const [m, u, s] = lines[lines.length - 1].split(" ").map(Number);
    rssKb = m || 0;
    cpuS = u + s;
  }
  return { wallS, rssKb, cpuS, code: st.code, stdout: out.join(""), stderr: err.join("") };
}

/** A background server started by the bench. */
interface Server {
  port: number;
  child: Deno.ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** Start a server and wait (bounded) until it accepts connections. */
async function startServer(
  argv: string[],
  port: number,
  timeoutS: number,
  ready?: RegExp,
): Promise<Server> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  const out: string[] = [];
  collect(child.stdout, out);
  collect(child.stderr, out);
  let exited = false;
  child.status.then(() => exited = true);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => killTree(child.pid), 3000);
    await child.status;
    clearTimeout(t);
    live.delete(child);
  };
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline && !exited) {
    if ((!ready || ready.test(out.join(""))) && await canConnect(port)) {
      return { port, child, log: () => out.join(""), stop };
    }
    await sleep(100);
  }
  await stop();
  return die(
    `${argv[0]} did not accept connections on 127.0.0.1:${port} within ${timeoutS} s` +
      (exited ? " (it exited)" : "") + `:\n${out.join("").slice(-2000)}`,
  );
}

/** Find ../shared/bench (worktrees sit one level deeper than the main repository). */
function sharedDir(given?: string): string {
  const candidates = given ? [given] : [
    Deno.env.get("RTR_SHARED_BENCH") ?? "",
    `${ROOT}../shared/bench`,
    `${ROOT}../../shared/bench`,
  ].filter(Boolean);
  for (const c of candidates) {
    if (exists(`${c}/gen_vrps.py`)) return Deno.realPathSync(c);
  }
  return die(`gen_vrps.py not found in ${candidates.join(", ")} (use --shared DIR)`);
}

/** The generated table's VRPs as "prefix maxLength asn" keys, and its ASPA count. */
interface Table {
  keys: Set<Key>;
  count: number;
  aspas: number;
}

function vrpKey(prefix: string, maxLength: number | string, asn: number | string): Key {
  return `${prefix} ${maxLength} ${asn}`;
}

async function loadTable(path: string): Promise<Table> {
  const doc = JSON.parse(await Deno.readTextFile(path));
  const keys = new Set<Key>();
  for (const r of doc.roas) keys.add(vrpKey(r.prefix, r.maxLength, r.asn));
  return { keys, count: doc.roas.length, aspas: (doc.aspas ?? []).length };
}

/** Compare a client's VRP keys with the generated table; returns a short difference note. */
function compare(table: Table, got: Iterable<Key>): { equal: boolean; note?: string } {
  let n = 0, missing = 0;
  const extra: Key[] = [];
  const seen = new Set<Key>();
  for (const k of got) {
    n++;
    if (seen.has(k)) continue;
    seen.add(k);
    if (!table.keys.has(k)) extra.push(k);
  }
  for (const k of table.keys) if (!seen.has(k)) missing++;
  if (missing === 0 && extra.length === 0 && n === table.count) return { equal: true };
  const missingSample = [...table.keys].filter((k) => !seen.has(k)).slice(0, 3);
  return {
    equal: false,
    note: `${n} records (${seen.size} distinct), ${missing} missing ` +
      `(e.g. ${JSON.stringify(missingSample)}), ${extra.length} unexpected ` +
      `(e.g. ${JSON.stringify(extra.slice(0, 3))})`,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "800000" },
      aspa: { type: "string", default: "2000" },
      seed: { type: "string", default: "42" },
      runs: { type: "string", default: "6" },
      warmup: { type: "string", default: "1" },
      only: { type: "string" },
      timeout: { type: "string", default: "300" },
      out: { type: "string", default: `${ROOT}bench/out` },
      shared: { type: "string" },
      rtr: { type: "string" },
      alt: { type: "string" },
      profile: { type: "boolean", default: false },
      fresh: { type: "boolean", default: false },
      rss: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const num = (name: string, v: string | undefined, min: number): number => {
    if (!v || !/^\d+$/.test(v) || Number(v) < min) {
      die(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(v)}`);
    }
    return Number(v);
  };
  if (values.rss !== undefined) {
    if (values.rss !== "time" && values.rss !== "poll") {
      die(`--rss must be time or poll, got ${JSON.stringify(values.rss)}`);
    }
    if (values.rss === "time" && !hasCommand(TIME)) die(`--rss time needs ${TIME}`);
    rssMethod = values.rss;
  }
  const loadStart = Deno.loadavg();
  const count = num("count", values.count, 1);
  const aspa = num("aspa", values.aspa, 0);
  const seed = num("seed", values.seed, 0);
  const runs = num("runs", values.runs, 1);
  const warmup = num("warmup", values.warmup, 0);
  const timeoutS = num("timeout", values.timeout, 1);
  const out = values.out!.replace(/\/$/, "");
  Deno.mkdirSync(out, { recursive: true });
  const shared = sharedDir(values.shared);
  const rtrCmd = values.rtr
    ? values.rtr.split(" ").filter(Boolean)
    : [Deno.execPath(), "run", "--allow-all", "--quiet", `${ROOT}main.ts`];
  const altCmd = values.alt ? values.alt.split(" ").filter(Boolean) : undefined;

  // ---- clients ----
  const tableRef: { t?: Table } = {};
  const table = () => tableRef.t!;
  const jsonVrps = async (file: string) => {
    const doc = JSON.parse(await Deno.readTextFile(file));
    const roas = doc.roas ?? [];
    const pa = doc.provider_authorizations;
    const aspas = doc.aspas?.length ??
      (pa ? (pa.ipv4?.length ?? 0) + (pa.ipv6?.length ?? 0) : undefined);
    const c = compare(
      table(),
      roas.map((r: any) => vrpKey(r.prefix, r.maxLength, String(r.asn).replace(/^AS/i, ""))),
    );
    return {
      vrps: roas.length,
      aspas,
      routerKeys: doc.bgpsec_keys?.length,
      setEqual: c.equal,
      note: c.note,
    };
  };
  const rtrClient = (
    name: string,
    label: string,
    version: number,
    format: "json" | "ndjson",
    cmd = rtrCmd,
  ) => {
    const output = `${out}/${name}.${format}`;
    return {
      name,
      label,
      needs: [cmd[0]],
      output,
      strict: true,
      argv: (port: number) => [
        ...cmd,
        "snapshot",
        `127.0.0.1:${port}`,
        "--protocol",
        String(version),
        ...(format === "json" ? [] : ["--format", format]),
        "-o",
        output,
      ],
      check: async (): Promise<Check> => {
        if (format === "json") return await jsonVrps(output);
        const keys: Key[] = [];
        let aspas = 0, routerKeys = 0, syncs = 0;
        for (const line of (await Deno.readTextFile(output)).split("\n")) {
          if (!line) continue;
          const r = JSON.parse(line);
          if (r.type === "vrp") keys.push(vrpKey(r.prefix, r.maxLength, r.asn));
          else if (r.type === "aspa") aspas++;
          else if (r.type === "routerKey") routerKeys++;
          else if (r.type === "sync") syncs++;
        }
        const c = compare(table(), keys);
        const note = [c.note, syncs === 1 ? "" : `${syncs} sync records, want 1`]
          .filter(Boolean).join("; ");
        return {
          vrps: keys.length,
          aspas,
          routerKeys,
          setEqual: c.equal && syncs === 1,
          note: note || undefined,
        };
      },
    };
  };
  const rawrtrBin = `${out}/rawrtr`;
  const all: Client[] = [
    rtrClient("rtr", "`rtr snapshot --protocol 1 -o F` (JSON)", 1, "json"),
    rtrClient("rtr-ndjson", "`rtr snapshot --protocol 1 --format ndjson -o F`", 1, "ndjson"),
    rtrClient("rtr-v2", "`rtr snapshot --protocol 2 -o F` (JSON, + legacy ASPA)", 2, "json"),
    ...(altCmd
      ? [
        rtrClient(
          "rtr-alt",
          "`rtr snapshot --protocol 1 -o F` run by --alt (JSON)",
          1,
          "json",
          altCmd,
        ),
      ]
      : []),
    {
      name: "rtrdump",
      label: "StayRTR `rtrdump -rtr.version 1 -file F` (JSON)",
      needs: ["rtrdump"],
      output: `${out}/rtrdump.json`,
      strict: false,
      argv: (port) => [
        "rtrdump",
        "-connect",
        `127.0.0.1:${port}`,
        "-rtr.version",
        "1",
        "-file",
        `${out}/rtrdump.json`,
      ],
      check: () => jsonVrps(`${out}/rtrdump.json`),
    },
    {
      name: "rtrclient",
      label: "RTRlib `rtrclient -e -t csv -o F`",
      needs: ["rtrclient"],
      output: `${out}/rtrclient.csv`,
      strict: false,
      argv: (port) => [
        "rtrclient",
        "-e",
        "-t",
        "csv",
        "-o",
        `${out}/rtrclient.csv`,
        "tcp",
        "127.0.0.1",
        String(port),
      ],
      check: async () => {
        // rows: "PREFIX, LENGTH, MAXLEN, ASN" (no header; blank lines ignored)
        const keys: Key[] = [];
        for (const line of (await Deno.readTextFile(`${out}/rtrclient.csv`)).split("\n")) {
          const m = /^([0-9a-fA-F:.]+), (\d+), (\d+), (\d+)$/.exec(line.trim());
          if (m) keys.push(vrpKey(`${m[1]}/${m[2]}`, m[3], m[4]));
        }
        const c = compare(table(), keys);
        return { vrps: keys.length, setEqual: c.equal, note: c.note };
      },
    },
    {
      name: "rawrtr",
      label: "`rawrtr` (C, walks headers only: the floor)",
      needs: ["gcc"],
      strict: false,
      argv: (port) => [rawrtrBin, "-v", "1", "127.0.0.1", String(port)],
      check: (stdout) => {
        const f = Object.fromEntries(
          [...stdout.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
        );
        const vrps = Number(f.ipv4 ?? 0) + Number(f.ipv6 ?? 0);
        return Promise.resolve({
          vrps,
          aspas: Number(f.aspa ?? 0),
          note: "counts PDUs only: no set comparison",
        });
      },
    },
  ];
  const names = values.only ? values.only.split(",").map((s) => s.trim()).filter(Boolean) : [
    "rtr",
    "rtr-ndjson",
    "rtr-v2",
    ...(altCmd ? ["rtr-alt"] : []),
    "rtrdump",
    "rtrclient",
    "rawrtr",
  ];
  for (const n of names) {
    if (!all.some((c) => c.name === n)) {
      die(`unknown client ${JSON.stringify(n)} in --only (know: ${all.map((c) => c.name)})`);
    }
  }
  const clients = all.filter((c) => names.includes(c.name));
  for (const c of clients) {
    for (const need of c.needs) if (!hasCommand(need)) die(`${c.name} needs ${need} on PATH`);
  }

  // ---- 1. table ----
  const stem = `${out}/vrps_${count}_a${aspa}_s${seed}`;
  const tableFile = `${stem}.json`;
  if (values.fresh || !exists(tableFile)) {
    log(`generating ${count} VRPs + ${aspa} ASPA (seed ${seed}) -> ${tableFile}`);
    const r = await run([
      "python3",
      `${shared}/gen_vrps.py`,
      "--count",
      String(count),
      "--aspa",
      String(aspa),
      "--seed",
      String(seed),
      "-o",
      `${tableFile}.tmp`,
    ], 1800);
    if (r.code !== 0) die(`gen_vrps.py failed (exit ${r.code}):\n${r.stderr}`);
    Deno.renameSync(`${tableFile}.tmp`, tableFile);
  }
  tableRef.t = await loadTable(tableFile);
  if (table().count !== count || table().keys.size !== count) {
    die(`${tableFile} holds ${table().count} VRPs (${table().keys.size} distinct), want ${count}`);
  }

  // ---- 2. rawrtr ----
  const rawrtrSrc = `${shared}/rawrtr.c`;
  if (
    values.fresh || !exists(rawrtrBin) ||
    Deno.statSync(rawrtrBin).mtime! < Deno.statSync(rawrtrSrc).mtime!
  ) {
    log(`compiling ${rawrtrSrc}`);
    const r = await run(["gcc", "-O2", "-o", rawrtrBin, rawrtrSrc], 120);
    if (r.code !== 0) die(`gcc failed:\n${r.stderr}`);
  }

  // ---- 3. record v1 and v2 responses from StayRTR ----
  const streams: Record<number, string> = { 1: `${stem}.v1.bin`, 2: `${stem}.v2.bin` };
  const recordings: Record<string, string> = {};
  if (values.fresh || !exists(streams[1]) || !exists(streams[2])) {
    if (!hasCommand("stayrtr")) die("stayrtr is needed once to record the responses");
    const port = freePort();
    log(`StayRTR loads ${tableFile} on 127.0.0.1:${port} (about 10 s per 800k VRPs)`);
    const stay = await startServer(
      [
        "stayrtr",
        "-bind",
        `127.0.0.1:${port}`,
        "-cache",
        tableFile,
        "-metrics.addr",
        "",
        "-refresh",
        "86400", // StayRTR panics on -refresh 0: use a large value
        "-checktime=false", // the cached table may be older than StayRTR's 24 h limit
      ],
      port,
      Math.max(120, count / 4000),
      /Server started/,
    );
    try {
      for (const v of [1, 2]) {
        log(`recording the v${v} response (StayRTR writes one PDU per syscall: ~10 s)`);
        const r = await run(
          [rawrtrBin, "-v", String(v), "-o", `${streams[v]}.tmp`, "127.0.0.1", String(port)],
          Math.max(120, count / 4000),
        );
        const f = Object.fromEntries(
          [...r.stdout.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
        );
        const vrps = Number(f.ipv4) + Number(f.ipv6);
        if (r.code !== 0 || vrps !== count || f.resp_version !== String(v)) {
          die(
            `recording v${v} failed: exit ${r.code}, ${vrps} prefixes (want ${count}), ` +
              `version ${f.resp_version}:\n${r.stdout}${r.stderr}`,
          );
        }
        Deno.renameSync(`${streams[v]}.tmp`, streams[v]);
        recordings[`v${v}`] = r.stdout.trim();
      }
    } finally {
      await stay.stop();
    }
  }
  const streamBytes = { v1: Deno.statSync(streams[1]).size, v2: Deno.statSync(streams[2]).size };

  // ---- 4. replay server ----
  const port = freePort();
  const replay = await startServer(
    [
      "python3",
      `${shared}/replay_server.py`,
      "--port",
      String(port),
      "--stream",
      `1=${streams[1]}`,
      "--stream",
      `2=${streams[2]}`,
    ],
    port,
    60,
    /listening/,
  );
  log(
    `replay server on 127.0.0.1:${port}: v1 ${(streamBytes.v1 / 1e6).toFixed(1)} MB, ` +
      `v2 ${(streamBytes.v2 / 1e6).toFixed(1)} MB`,
  );

  // ---- 5. measure (interleaved, so drift of a noisy machine hits every client alike) ----
  const results = new Map<string, { runs: Run[]; check?: Check }>();
  for (const c of clients) results.set(c.name, { runs: [] });
  const scratch = Deno.makeTempDirSync({ prefix: "rtr-bench-" });
  try {
    for (let i = -warmup; i < runs; i++) {
      for (const c of clients) {
        if (c.output) {
          try {
            Deno.removeSync(c.output);
          } catch { /* none */ }
        }
        const r = await measure(c.argv(port), timeoutS, scratch);
        const tag = i < 0 ? `warm-up ${i + warmup + 1}/${warmup}` : `run ${i + 1}/${runs}`;
        log(
          `${c.name.padEnd(10)} ${tag}: ${r.wallS.toFixed(3)} s, ${
            (r.rssKb / 1024).toFixed(1)
          } MB` + (isNaN(r.cpuS) ? "" : `, ${r.cpuS.toFixed(2)} s CPU`) +
            (r.code ? `, exit ${r.code}` : ""),
        );
        if (r.code !== 0) {
          const why = r.code === 124 || r.code === 137 ? ` (timed out after ${timeoutS} s)` : "";
          die(
            `${c.name} exited ${r.code}${why}: ${c.argv(port).join(" ")}\n${r.stderr.slice(-2000)}`,
          );
        }
        if (c.output && !exists(c.output)) die(`${c.name} wrote no ${c.output}`);
        const res = results.get(c.name)!;
        if (!res.check) {
          // check the first output of each client (the remaining runs only need exit 0)
          const chk = await c.check(r.stdout);
          res.check = chk;
          const bad = chk.vrps !== count || chk.setEqual === false;
          if (bad && c.strict) {
            die(
              `${c.name} returned ${chk.vrps} VRPs, want ${count}` +
                (chk.note ? `: ${chk.note}` : ""),
            );
          }
          if (bad) log(`WARNING: ${c.name} returned ${chk.vrps} VRPs, want ${count}: ${chk.note}`);
        }
        if (i >= 0) res.runs.push({ wallS: r.wallS, rssKb: r.rssKb, cpuS: r.cpuS, code: r.code });
      }
    }
  } finally {
    await replay.stop();
    Deno.removeSync(scratch, { recursive: true });
  }

  // ---- 6. report ----
  const rows = clients.map((c) => {
    const res = results.get(c.name)!;
    const walls = res.runs.map((r) => r.wallS);
    const rss = res.runs.map((r) => r.rssKb);
    return {
      client: c.name,
      label: c.label,
      argv: c.argv(0).map((a) => a.replace(ROOT, "")),
      medianWallS: median(walls),
      minWallS: Math.min(...walls),
      maxWallS: Math.max(...walls),
      medianRssMb: median(rss) / 1024,
      medianCpuS: median(res.runs.map((r) => r.cpuS)),
      runs: res.runs,
      check: res.check,
    };
  });
  const ref = rows.find((r) => r.client === "rtrclient");
  const fmtS = (s: number) => s < 1 ? s.toFixed(3) : s.toFixed(2);
  const ratio = (x: number, y: number) =>
    x === y
      ? "1 (reference)"
      : x <= y
      ? `${(y / x).toFixed(1)}× faster`
      : `${(x / y).toFixed(1)}× slower`;
  const lines = [
    `| client | median wall | min – max | median peak RSS | median CPU | vs rtrclient (wall) | RSS ÷ rtrclient |`,
    `|---|---|---|---|---|---|---|`,
    ...rows.map((r) =>
      `| ${r.label} | ${fmtS(r.medianWallS)} s | ${fmtS(r.minWallS)} – ${fmtS(r.maxWallS)} s | ` +
      `${r.medianRssMb.toFixed(1)} MB | ${
        isNaN(r.medianCpuS) ? "–" : fmtS(r.medianCpuS) + " s"
      } | ` +
      `${ref ? ratio(r.medianWallS, ref.medianWallS) : "–"} | ` +
      `${ref ? (r.medianRssMb / ref.medianRssMb).toFixed(2) : "–"} |`
    ),
  ];
  const cpu = (() => {
    try {
      return /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "?";
    } catch {
      return "?";
    }
  })();
  const machine = {
    cpus: navigator.hardwareConcurrency,
    cpu,
    memTotalMb: Math.round(Deno.systemMemoryInfo().total / 2 ** 20),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
  };
  const date = new Date().toISOString().slice(0, 10);
  console.log(
    `\nFull sync of ${count.toLocaleString("en")} VRPs + ${aspa.toLocaleString("en")} ASPA ` +
      `(v1 ${(streamBytes.v1 / 1e6).toFixed(1)} MB on the wire) from replay_server.py; ` +
      `medians of ${runs} runs after ${warmup} warm-up; ${date}, ${machine.cpus} × ${cpu}, ` +
      `Deno ${machine.deno}; load average ${loadStart[0].toFixed(1)} at start, ` +
      `${Deno.loadavg()[0].toFixed(1)} at end. Peak RSS: ${RSS_METHODS[rssMethod]}; ` +
      `CPU: user + system seconds.\n`,
  );
  console.log(lines.join("\n"));
  const checks = rows.map((r) =>
    `${r.client}: ${r.check!.vrps} VRPs` +
    (r.check!.aspas !== undefined ? `, ${r.check!.aspas} ASPA` : "") +
    (r.check!.setEqual === undefined ? "" : r.check!.setEqual ? ", set equal" : ", SET DIFFERS")
  );
  console.log(`\nChecks: ${checks.join("; ")}.`);
  const verdicts: string[] = [];
  const rtr = rows.find((r) => r.client === "rtr");
  if (rtr && ref && count !== 800000) {
    verdicts.push("Target (rtr ≥ 5× faster than rtrclient, < 120 MB) is set for --count 800000");
    console.log(verdicts[0]);
  } else if (rtr && ref) {
    const speedup = ref.medianWallS / rtr.medianWallS;
    const ok = speedup >= 5 && rtr.medianRssMb < 120;
    verdicts.push(
      `Target (rtr ≥ 5× faster than rtrclient, < 120 MB): ${speedup.toFixed(1)}×, ` +
        `${rtr.medianRssMb.toFixed(1)} MB: ${ok ? "MET" : "NOT MET"}`,
    );
    console.log(verdicts[0]);
  }
  const results_ = {
    date: new Date().toISOString(),
    machine,
    params: {
      count,
      aspa,
      seed,
      runs,
      warmup,
      timeoutS,
      rtr: rtrCmd.map((a) => a.replace(ROOT, "")),
      alt: altCmd,
    },
    rssMethod: RSS_METHODS[rssMethod],
    loadAverage: { start: loadStart, end: Deno.loadavg() },
    wallMethod: "performance.now() around spawn → exit of the (wrapped) child",
    streamBytes,
    recordings,
    peers: await peerVersions(),
    rows,
    verdicts,
    table: lines.join("\n"),
  };
  const resFile = `${out}/results.json`;
  await Deno.writeTextFile(`${resFile}.tmp`, JSON.stringify(results_, null, 2) + "\n");
  Deno.renameSync(`${resFile}.tmp`, resFile);
  log(`wrote ${resFile}`);

  if (values.profile) await profile(rtrCmd, port, out, shared, streams, timeoutS);
  return 0;
}

/** Installed versions of the peers (dpkg), for results.json. */
async function peerVersions(): Promise<Record<string, string>> {
  const v: Record<string, string> = {};
  for (const pkg of ["stayrtr", "rtr-tools"]) {
    if (!hasCommand("dpkg-query")) break;
    const r = await run(["dpkg-query", "-W", "-f", "${Version}", pkg], 10);
    if (r.code === 0) v[pkg] = r.stdout.trim();
  }
  return v;
}

/** A V8 .cpuprofile node. */
interface ProfNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self and total time by function from a .cpuprofile; returns printable lines. */
export function summariseCpuProfile(
  prof: { nodes: ProfNode[]; samples: number[]; timeDeltas: number[] },
  top = 25,
): string[] {
  const byId = new Map<number, ProfNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const name = (n: ProfNode) => {
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\//, "").replace(ROOT, "");
    return `${f.functionName || "(anonymous)"} ${file ? `${file}:${f.lineNumber + 1}` : ""}`
      .trim();
  };
  const self = new Map<string, number>(), total = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    all += dt;
    let id: number | undefined = prof.samples[i];
    const leaf = name(byId.get(id)!);
    self.set(leaf, (self.get(leaf) ?? 0) + dt);
    const seen = new Set<string>();
    while (id !== undefined) {
      const k = name(byId.get(id)!);
      if (!seen.has(k)) {
        seen.add(k);
        total.set(k, (total.get(k) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
  const pct = (x: number) => `${(100 * x / all).toFixed(1).padStart(5)} %`;
  const table = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) =>
      `${pct(t)} ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`
    );
  return [
    `sampled ${(all / 1e6).toFixed(2)} s in ${prof.samples.length} samples`,
    "",
    "self time:",
    ...table(self),
    "",
    "total time (inclusive):",
    ...table(total),
  ];
}

/** Run rtr once under --cpu-prof and once with --trace-gc; print where time and heap go. */
async function profile(
  rtrCmd: string[],
  _port: number,
  out: string,
  shared: string,
  streams: Record<number, string>,
  timeoutS: number,
): Promise<void> {
  if (!/(^|\/)deno$/.test(rtrCmd[0]) || rtrCmd[1] !== "run") {
    log("--profile needs rtr run through 'deno run' (not --rtr): skipped");
    return;
  }
  const port = freePort();
  const replay = await startServer(
    [
      "python3",
      `${shared}/replay_server.py`,
      "--port",
      String(port),
      "--stream",
      `1=${streams[1]}`,
      "--stream",
      `2=${streams[2]}`,
    ],
    port,
    60,
    /listening/,
  );
  try {
    const dir = `${out}/prof`;
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* none */ }
    const tail = rtrCmd.slice(2);
    const snap = ["snapshot", `127.0.0.1:${port}`, "--protocol", "1", "-o", `${out}/rtr-prof.json`];
    const r = await run(
      [rtrCmd[0], "run", "--cpu-prof", "--cpu-prof-dir", dir, ...tail, ...snap],
      timeoutS,
    );
    if (r.code !== 0) die(`profiled run exited ${r.code}:\n${r.stderr}`);
    const file = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".cpuprofile"));
    if (!file) die(`no .cpuprofile in ${dir}`);
    const prof = JSON.parse(Deno.readTextFileSync(`${dir}/${file.name}`));
    console.log(`\nCPU profile (${dir}/${file.name}):\n`);
    console.log(summariseCpuProfile(prof).join("\n"));
    const g = await run(
      [rtrCmd[0], "run", "--v8-flags=--trace-gc", ...tail, ...snap],
      timeoutS,
    );
    const gcs = g.stdout.split("\n").filter((l) => /Mark-Compact|Scavenge|Mark-Sweep/.test(l));
    let peak = 0;
    for (const l of gcs) {
      for (const m of l.matchAll(/([\d.]+) \(([\d.]+)\) ->/g)) peak = Math.max(peak, Number(m[2]));
    }
    const mc = gcs.filter((l) => /Mark-Compact|Mark-Sweep/.test(l));
    console.log(
      `\nGC: ${gcs.length} collections (${mc.length} mark-compact); peak V8 heap committed ` +
        `${peak.toFixed(1)} MB. Last mark-compacts:\n${mc.slice(-5).join("\n")}`,
    );
  } finally {
    await replay.stop();
  }
}

/** Kill whatever the bench started and is still running. */
function cleanup(): void {
  for (const c of live) killTree(c.pid);
}

if (import.meta.main) {
  const onSignal = () => {
    cleanup();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 1;
  try {
    code = await main();
  } catch (e) {
    if (!(e instanceof BenchError)) console.error(e);
  } finally {
    cleanup();
  }
  Deno.exit(code);
}
