/**
 * Fan-out benchmark of `rtr serve` (not a test): many routers sync one table from one server at
 * once, then a Serial Notify round. The routers live in this process (bench/swarm.ts: each walks
 * the PDU headers and keeps a count of the records it holds); the server is a separate process,
 * so its resident memory and CPU time are its own. Reports the aggregate send rate, the time
 * until every router holds the full table, the server's peak RSS and CPU, and the time from
 * the Serial Notify until every router holds the changed table. `--stayrtr N` runs the same
 * full sync with StayRTR serving the same file to N routers, beside.
 *
 * Usage: deno task bench:fanout [--routers 1000] [--count 800000] [--version 1] [--change 1000]
 *        [--stayrtr 100] [--no-stayrtr] [--rtr CMD] [--profile] [--timeout 600]
 * Files go to bench/out/ (git-ignored).
 */
import { parseArgs } from "node:util";
import {
  freePort,
  inWaves,
  locations,
  procCpuS,
  procKb,
  type ServerProcess,
  spawnServer,
  SwarmRouter,
  tableFile,
  until,
  watchRss,
  writeChanged,
} from "./swarm.ts";
import { summariseCpuProfile } from "./e2e.ts";

interface Round {
  server: string;
  routers: number;
  synced: number;
  bytes: number;
  seconds: number;
  aggregateMBps: number;
  peakRssMB: number;
  rssAfterLoadMB: number;
  cpuS: number;
  /** CPU seconds of this process (the routers) during the sync. */
  clientCpuS: number;
  notifyMs?: number;
  notified?: number;
  reloadMs?: number;
  errors: string[];
}

/** Sync `n` routers from `srv`; then, if `change`, one Serial Notify round. */
async function fanout(
  name: string,
  srv: ServerProcess,
  n: number,
  version: number,
  want: number,
  timeoutMs: number,
  change?: { file: string; from: string; records: number; notifyRe: RegExp },
): Promise<Round> {
  const rssAfterLoadMB = procKb(srv.pid, "VmRSS") / 1024;
  const rss = watchRss(srv.pid);
  const cpu0 = procCpuS(srv.pid), self0 = procCpuS(Deno.pid);
  const routers: SwarmRouter[] = [];
  const t0 = performance.now();
  const runs = await inWaves(n, 50, () => {
    const r = new SwarmRouter(version);
    routers.push(r);
    return r.run(srv.port);
  });
  const ok = await until(
    () => routers.every((r) => (r.held === want && r.serial >= 0) || r.error !== ""),
    timeoutMs,
  );
  const t1 = performance.now();
  const synced = routers.filter((r) => r.held === want).length;
  const bytes = routers.reduce((s, r) => s + r.bytes, 0);
  const seconds = (t1 - t0) / 1000;
  const round: Round = {
    server: name,
    routers: n,
    synced,
    bytes,
    seconds,
    aggregateMBps: bytes / seconds / 1e6,
    peakRssMB: 0,
    rssAfterLoadMB,
    cpuS: procCpuS(srv.pid) - cpu0,
    clientCpuS: procCpuS(Deno.pid) - self0,
    errors: [...new Set(routers.map((r) => r.error).filter((e) => e))].slice(0, 5),
  };
  if (!ok) round.errors.push(`not all synced within ${timeoutMs / 1000} s`);
  console.error(
    `${name}: ${synced}/${n} routers hold ${want} records after ${seconds.toFixed(2)} s`,
  );
  if (change && synced === n) {
    const serial = routers[0].serial;
    const logLen = srv.log().length;
    const tw = performance.now();
    const next = await writeChanged(change.from, change.file, change.records);
    const wantNext = want + next - JSON.parse(await Deno.readTextFile(change.from)).roas.length;
    const seen = await until(() => change.notifyRe.test(srv.log().slice(logLen)), timeoutMs);
    const tn = performance.now();
    const done = await until(
      () => routers.every((r) => r.serial !== serial && r.held === wantNext),
      timeoutMs,
    );
    const last = Math.max(...routers.map((r) => r.eodAt.at(-1) ?? 0));
    const first = Math.min(...routers.map((r) => r.notifyAt.at(-1) ?? Infinity));
    round.reloadMs = tn - tw;
    round.notified = routers.filter((r) => r.serial !== serial && r.held === wantNext).length;
    // From the first router's Serial Notify to the last router's End of Data.
    round.notifyMs = last - first;
    if (!seen || !done) round.errors.push("the Notify round did not reach every router");
    console.error(
      `${name}: Notify round: ${round.notified}/${n} routers hold serial ${routers[0].serial} ${
        round.notifyMs.toFixed(0)
      } ms after the Notify (file → Notify ${round.reloadMs.toFixed(0)} ms)`,
    );
  }
  round.peakRssMB = Math.max(rss.peakMB(), procKb(srv.pid, "VmHWM") / 1024);
  rss.stop();
  for (const r of routers) r.close();
  await Promise.allSettled(runs);
  return round;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      routers: { type: "string", default: "1000" },
      count: { type: "string", default: "800000" },
      version: { type: "string", default: "1" },
      change: { type: "string", default: "1000" },
      stayrtr: { type: "string", default: "100" },
      "no-stayrtr": { type: "boolean", default: false },
      rtr: { type: "string" },
      profile: { type: "boolean", default: false },
      timeout: { type: "string", default: "600" },
    },
  });
  const { root, shared } = locations();
  const n = Number(values.routers), version = Number(values.version);
  const timeoutMs = Number(values.timeout) * 1000;
  const table = await tableFile(root, shared, Number(values.count));
  const work = `${root}bench/out/fanout.json`;
  Deno.copyFileSync(table, work);
  const results: Round[] = [];

  const profDir = `${root}bench/out/prof-fanout`;
  const rtr = (values.rtr ?? `deno run --allow-all --quiet ${root}main.ts`).split(" ");
  const cmd = [
    ...(values.profile
      ? [rtr[0], rtr[1], "--cpu-prof", "--cpu-prof-dir", profDir]
      : rtr.slice(0, 2)),
    ...rtr.slice(2),
    "serve",
    work,
    "--listen",
    "127.0.0.1:0",
    "--max-connections",
    `${n + 100}`,
    "--notify-interval",
    "1",
  ];
  if (values.profile) {
    try {
      Deno.removeSync(profDir, { recursive: true });
    } catch { /* none yet */ }
  }
  const srv = await spawnServer(cmd, /listening on 127\.0\.0\.1:(\d+)/, 0);
  try {
    const want = Number(/loaded .*: (\d+) VRPs/.exec(srv.log())?.[1]);
    results.push(
      await fanout("rtr serve", srv, n, version, want, timeoutMs, {
        file: work,
        from: table,
        records: Number(values.change),
        notifyRe: /sent Serial Notify for serial 2/,
      }),
    );
  } finally {
    await srv.stop();
  }
  if (values.profile) {
    const f = [...Deno.readDirSync(profDir)].find((e) => e.name.endsWith(".cpuprofile"));
    if (f) {
      const prof = JSON.parse(Deno.readTextFileSync(`${profDir}/${f.name}`));
      console.error(summariseCpuProfile(prof, 15).join("\n"));
    }
  }

  if (!values["no-stayrtr"]) {
    const m = Number(values.stayrtr);
    const port = freePort();
    let stay: ServerProcess | null = null;
    try {
      stay = await spawnServer(
        [
          "stayrtr",
          "-bind",
          `127.0.0.1:${port}`,
          "-cache",
          table,
          "-metrics.addr",
          "",
          "-refresh",
          "3600",
        ],
        /New update|Updated|fetched/i,
        port,
      );
    } catch (e) {
      console.error(`SKIPPED StayRTR: ${e instanceof Error ? e.message : e}`);
    }
    if (stay) {
      try {
        const want = Number(JSON.parse(await Deno.readTextFile(table)).roas.length);
        results.push(await fanout("StayRTR", stay, m, version, want, timeoutMs));
      } finally {
        await stay.stop();
      }
    }
  }

  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(`\nrtr serve fan-out, ${values.count} VRPs, protocol ${version}, load ${load}\n`);
  console.log(
    "| server | routers | synced | all synced (s) | aggregate (MB/s) | server CPU (s) | routers' CPU (s) | peak RSS (MB) | RSS loaded (MB) | Notify round (ms) |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const r of results) {
    console.log(
      `| ${r.server} | ${r.routers} | ${r.synced} | ${r.seconds.toFixed(2)} | ${
        r.aggregateMBps.toFixed(0)
      } | ${r.cpuS.toFixed(1)} | ${r.clientCpuS.toFixed(1)} | ${r.peakRssMB.toFixed(0)} | ${
        r.rssAfterLoadMB.toFixed(0)
      } | ${
        r.notifyMs === undefined ? "–" : `${r.notifyMs.toFixed(0)} (${r.notified}/${r.routers})`
      } |`,
    );
    for (const e of r.errors) console.log(`  ${r.server}: ${e}`);
  }
  Deno.writeTextFileSync(`${root}bench/out/fanout_results.json`, JSON.stringify(results, null, 2));
  if (results.some((r) => r.synced !== r.routers)) Deno.exit(1);
}

if (import.meta.main) await main();
