/**
 * Soak of `rtr serve` (a benchmark, not a test; bounded in time and count): honest and hostile
 * routers on one server for a few minutes. Hostile clients (bench/swarm.ts: idle, slowloris,
 * garbage, never-reading) reconnect whenever the server drops them, with the server's deadlines
 * set short (first query, started PDU, and 3 × Retry for a router that stops reading, 8210bis
 * §10) and `--max-connections` below honest + hostile, so that honest routers get in only if
 * hostile ones are evicted. The honest routers do a full sync (at most `--sync-concurrency` at
 * once); then, every `--interval` seconds, the table file is replaced, the server sends Serial
 * Notify (RFC 8210 §5.2, §8.2) and every honest router must hold exactly the new table again:
 * count, serial and session, and for the hashing ones a checksum of every record. Between two
 * changes a fraction of the honest routers reconnects with a fresh Reset Query and must be
 * admitted and synced. The server's resident memory is followed throughout and must stay under
 * `--max-rss-mb`.
 *
 * Usage: deno task soak [--routers 1000] [--hostile 1000] [--count 800000] [--seconds 180]
 *        [--version 1] [--timeout 300] [--max-rss-mb 1024] [--interval 25]
 *        [--sync-concurrency 100] [--change 1000] [--reconnect 0.1] [--hash 100]
 *        [--max-connections N] [--first-query-timeout 4] [--pdu-timeout 2] [--retry 5]
 *        [--hostile-pause 1000] [--rtr CMD]
 * The main knobs also come from the environment: RTR_SOAK_ROUTERS, RTR_SOAK_HOSTILE,
 * RTR_SOAK_COUNT, RTR_SOAK_SECONDS, RTR_SOAK_VERSION, RTR_SOAK_TIMEOUT, RTR_SOAK_MAX_RSS_MB,
 * RTR_SOAK_INTERVAL, RTR_SOAK_SYNC_CONCURRENCY (a flag wins). Exit 0 when every honest router
 * held the exact table after the first sync, after every change and at the end, every
 * reconnect was admitted, and the peak RSS stayed under the bound; 1 otherwise, with the
 * reasons. Files go to bench/out/ (git-ignored): the tables, soak_results.json, and the last
 * few MB of the server's log in soak_serve.log.
 */
import { parseArgs } from "node:util";
import { readTableFile } from "../lib/formats/read.ts";
import {
  hostile,
  type HostileKind,
  type HostileStats,
  inWaves,
  locations,
  procCpuS,
  procKb,
  spawnServer,
  SwarmRouter,
  tableFile,
  tableHash,
  until,
  watchRss,
  writeChanged,
} from "./swarm.ts";

const KINDS: HostileKind[] = ["idle", "slowloris", "garbage", "never-reading"];

/** What an honest router must hold. */
interface Expect {
  serial: number;
  session: number;
  count: number;
  hash: number;
}

interface RoundResult {
  round: number;
  serial: number;
  vrps: number;
  routers: number;
  exact: number;
  /** Table file renamed → Serial Notify line of the server, ms. */
  notifyMs: number;
  /** Table file renamed → the last honest router's End of Data, ms. */
  convergeMs: number;
  rssMB: number;
}

interface ReconnectResult {
  round: number;
  started: number;
  admitted: number;
  /** Start → the last reconnected router's End of Data, ms. */
  syncMs: number;
}

/** Counts of the server's log lines that matter here. */
interface ServeEvents {
  accepted: number;
  maxOpen: number;
  refusedFull: number;
  evictedForSlot: number;
  firstQueryTimeout: number;
  pduTimeout: number;
  stalled: number;
  errorReports: number;
  notifies: string[];
  reloads: string[];
  reloadRefused: string[];
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function loadavg(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

async function expectOf(file: string): Promise<{ count: number; hash: number }> {
  const { table } = await readTableFile(file);
  return { count: table.vrps.size, hash: tableHash(table.vrps.data, table.vrps.size) };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      routers: { type: "string" },
      hostile: { type: "string" },
      count: { type: "string" },
      seconds: { type: "string" },
      version: { type: "string" },
      timeout: { type: "string" },
      "max-rss-mb": { type: "string" },
      interval: { type: "string" },
      change: { type: "string", default: "1000" },
      "sync-concurrency": { type: "string" },
      reconnect: { type: "string", default: "0.1" },
      hash: { type: "string" },
      "max-connections": { type: "string" },
      "first-query-timeout": { type: "string", default: "4" },
      "pdu-timeout": { type: "string", default: "2" },
      retry: { type: "string", default: "5" },
      "hostile-pause": { type: "string", default: "1000" },
      rtr: { type: "string" },
    },
  });
  const knob = (flag: keyof typeof values, env: string, def: number): number => {
    const v = (values[flag] as string | undefined) ?? Deno.env.get(env) ?? `${def}`;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new SoakUsage(`bad --${flag} / ${env}: ${v}`);
    return n;
  };
  const n = Math.floor(knob("routers", "RTR_SOAK_ROUTERS", 1000));
  const nHostile = Math.floor(knob("hostile", "RTR_SOAK_HOSTILE", 1000));
  const count = Math.floor(knob("count", "RTR_SOAK_COUNT", 800_000));
  const seconds = knob("seconds", "RTR_SOAK_SECONDS", 180);
  const version = knob("version", "RTR_SOAK_VERSION", 1);
  const timeoutS = knob("timeout", "RTR_SOAK_TIMEOUT", 300);
  const maxRssMB = knob("max-rss-mb", "RTR_SOAK_MAX_RSS_MB", 1024);
  const intervalS = knob("interval", "RTR_SOAK_INTERVAL", 25);
  const change = Number(values.change), reconnectFrac = Number(values.reconnect);
  const syncConcurrency = Math.floor(knob("sync-concurrency", "RTR_SOAK_SYNC_CONCURRENCY", 100));
  const nHash = Math.min(n, Number(values.hash ?? Math.min(n, 100)));
  const firstQueryS = Number(values["first-query-timeout"]), pduS = Number(values["pdu-timeout"]);
  const retryS = Number(values.retry), pauseMs = Number(values["hostile-pause"]);
  const perKind = KINDS.map((_, k) => Math.floor(nHostile / 4) + (k < nHostile % 4 ? 1 : 0));
  const nNeverReading = perKind[3];
  // Honest routers and never-reading ones negotiate a version, so only a stall frees their
  // slots; the others (idle, slowloris, garbage) never negotiate and are evicted for newcomers.
  const maxConn = Number(
    values["max-connections"] ?? Math.min(100_000, n + nNeverReading + Math.ceil(nHostile / 4)),
  );
  const timeoutMs = timeoutS * 1000;
  if (maxConn < n + nNeverReading) {
    console.error(
      `soak: warning: --max-connections ${maxConn} < ${n} honest + ${nNeverReading} ` +
        `never-reading routers: honest routers will be refused by design`,
    );
  }

  // Every wait below is bounded; this is the backstop for all of them together.
  const hardS = seconds + timeoutS + 600;
  let srvPid = 0;
  const hard = setTimeout(() => {
    console.error(`soak: hard deadline of ${hardS} s passed, stopping`);
    if (srvPid) {
      try {
        Deno.kill(srvPid, "SIGKILL");
      } catch { /* gone */ }
    }
    Deno.exit(1);
  }, hardS * 1000);

  const { root, shared } = locations();
  const out = `${root}bench/out`;
  const load0 = loadavg();
  const table = await tableFile(root, shared, count);
  const work = `${out}/soak.json`;
  Deno.copyFileSync(table, work);

  // The tables of the rounds, prepared before the load so the rounds measure the server.
  const rounds = Math.max(0, Math.floor(seconds / intervalS));
  const roundFiles: string[] = [];
  const roundExpect: { count: number; hash: number }[] = [];
  console.error(`soak: preparing ${rounds} changed table(s) of ${change} records each …`);
  for (let k = 1; k <= rounds; k++) {
    const f = `${out}/soak_${count}_c${change}_r${k}.json`;
    try {
      Deno.statSync(f);
    } catch {
      await writeChanged(table, f, change, k);
    }
    roundFiles.push(f);
    roundExpect.push(await expectOf(f));
  }
  const first = await expectOf(table);

  const ev: ServeEvents = {
    accepted: 0,
    maxOpen: 0,
    refusedFull: 0,
    evictedForSlot: 0,
    firstQueryTimeout: 0,
    pduTimeout: 0,
    stalled: 0,
    errorReports: 0,
    notifies: [],
    reloads: [],
    reloadRefused: [],
  };
  // Why the server closed each client port (the last reason logged), to explain a failure.
  const reasons = new Map<SwarmRouter, string>();
  /** Other lines of the server (its start, warnings), the first 100. */
  const other: string[] = [];
  const honestByPort = new Map<number, SwarmRouter>();
  const onLine = (l: string) => {
    const peer = /^rtr serve: 127\.0\.0\.1:(\d+) (.*)$/.exec(l);
    if (peer && !/^(connected|disconnected|negotiated|Reset Query|Serial Query)/.test(peer[2])) {
      const r = honestByPort.get(Number(peer[1]));
      if (r && !reasons.has(r)) reasons.set(r, peer[2]);
    }
    const open = / \((\d+) open\)$/.exec(l);
    if (open) {
      const o = Number(open[1]);
      if (o > ev.maxOpen) ev.maxOpen = o;
      if (l.includes(" connected (")) ev.accepted++;
      return;
    }
    if (l.includes(" refused: ")) ev.refusedFull++;
    else if (l.includes(" evicted: ")) ev.evictedForSlot++;
    else if (l.includes("(--first-query-timeout)")) ev.firstQueryTimeout++;
    else if (l.includes("(--pdu-timeout)")) ev.pduTimeout++;
    else if (l.includes(" stalled: ")) ev.stalled++;
    else if (l.includes("sent Error Report code")) ev.errorReports++;
    else if (l.includes("sent Serial Notify")) ev.notifies.push(l);
    else if (/reloaded .* serial \d+ → \d+/.test(l)) ev.reloads.push(l);
    else if (/^rtr serve: refused |: unchanged, serial stays/.test(l)) ev.reloadRefused.push(l);
    else if (!peer && other.length < 100) other.push(l);
  };

  const rtr = (values.rtr ?? `deno run --allow-all --quiet ${root}main.ts`).split(" ");
  const serveFlags = [
    "--max-connections",
    `${maxConn}`,
    "--notify-interval",
    "1",
    "--first-query-timeout",
    `${firstQueryS}`,
    "--pdu-timeout",
    `${pduS}`,
    "--handshake-timeout",
    `${firstQueryS}`,
    "--retry",
    `${retryS}`,
  ];
  const srv = await spawnServer(
    [...rtr, "serve", work, "--listen", "127.0.0.1:0", ...serveFlags],
    /listening on 127\.0\.0\.1:(\d+)/,
    0,
    timeoutMs,
    onLine,
  );
  srvPid = srv.pid;
  const errors: string[] = [];
  const fail: string[] = [];
  const log = srv.log();
  const served = Number(/loaded .*: (\d+) VRPs/.exec(log)?.[1]);
  const sessM = new RegExp(`(\\d+) \\(v${version}\\)`).exec(log) ?? /session (\d+)/.exec(log);
  const session = Number(sessM?.[1]);
  const serial0 = Number(/loaded .* serial (\d+)/.exec(log)?.[1] ?? 1);
  if (served !== first.count) {
    fail.push(`the server loaded ${served} VRPs, the table file holds ${first.count}`);
  }
  let want: Expect = { serial: serial0, session, count: first.count, hash: first.hash };
  const exact = (r: SwarmRouter, e: Expect) =>
    r.error === "" && r.serial === e.serial && r.sessionId === e.session && r.held === e.count &&
    (!r.hashing || r.sum === e.hash);
  const noteErrors = (rs: SwarmRouter[]) => {
    for (const r of rs) {
      if (!r.error || noted.has(r)) continue;
      noted.add(r);
      const why = reasons.get(r);
      const e = `${r.error}${why ? ` (serve: ${why.replace(/[\d.]+ s/g, "N s")})` : ""}`;
      honestFailures.set(e, (honestFailures.get(e) ?? 0) + 1);
      if (errors.length < 50) {
        errors.push(
          `${r.error}${why ? ` (serve: ${why})` : ""}; connected ${
            (r.connectMs / 1000).toFixed(2)
          } s and its Reset Query written ${
            (r.queryMs / 1000).toFixed(2)
          } s after its connect call; ${r.bytes} bytes, ${r.held} records held, longest wait for a read ${
            (r.maxGapMs / 1000).toFixed(1)
          } s`,
        );
      }
    }
  };
  const honestFailures = new Map<string, number>();
  const noted = new Set<SwarmRouter>();

  const rssLoadedMB = procKb(srv.pid, "VmRSS") / 1024;
  const rss = watchRss(srv.pid, 200);
  const cpu0 = procCpuS(srv.pid), self0 = procCpuS(Deno.pid);
  const tStart = performance.now();
  const soakEnd = tStart + seconds * 1000;
  const hardEnd = tStart + (seconds + timeoutS) * 1000;
  const left = () => Math.max(0, Math.min(timeoutMs, hardEnd - performance.now()));

  // Hostile clients first, so the honest ones arrive at a server already under attack.
  const hstats: HostileStats[] = KINDS.map(() => ({
    connects: 0,
    refused: 0,
    closed: 0,
    heldMs: 0,
  }));
  const kindOf: number[] = [];
  perKind.forEach((m, k) => {
    for (let i = 0; i < m; i++) kindOf.push(k);
  });
  const hostileRuns = await inWaves(kindOf.length, 50, (i) => {
    const k = kindOf[i];
    return hostile(KINDS[k], srv.port, soakEnd, hstats[k], 2000, pauseMs);
  });
  await new Promise((r) => setTimeout(r, 1000));

  // The honest routers' first full sync.
  const routers: SwarmRouter[] = [];
  const runs: Promise<void>[] = [];
  const start = (i: number, hashing: boolean) => {
    const r = new SwarmRouter(version, hashing);
    routers[i] = r;
    runs.push(r.run(srv.port));
    return r;
  };
  // Honest ports for the reasons above (a router's port is known once it has connected).
  const portMap = setInterval(() => {
    for (const r of routers) if (r?.localPort && !r.closed) honestByPort.set(r.localPort, r);
  }, 100);
  /**
   * (Re)start the routers at `indices`, at most `syncConcurrency` fetching a full table at once,
   * each until it holds the exact table or fails; none starts after `deadline`. Returns the
   * routers started. Many more at once make the kernel the bottleneck, not the server: the
   * unread data of 1000 loopback sockets passes the TCP memory limit, segments are dropped and
   * some routers wait seconds for a retransmission (and the server rightly calls them stalled).
   */
  const syncAll = async (indices: number[], hashing: (i: number) => boolean, deadline: number) => {
    const started: SwarmRouter[] = [];
    let next = 0;
    const worker = async () => {
      while (next < indices.length && performance.now() < deadline) {
        const i = indices[next++];
        const h = hashing(i);
        routers[i]?.close();
        const r = start(i, h);
        started.push(r);
        await until(
          () => exact(r, want) || r.error !== "",
          Math.max(0, deadline - performance.now()),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, syncConcurrency) }, worker));
    return started;
  };
  const t0 = performance.now();
  await syncAll([...Array(n).keys()], (i) => i < nHash, performance.now() + left());
  const synced0 = routers.length === n &&
    await until(() => routers.every((r) => exact(r, want) || r.error !== ""), left());
  const firstExact = routers.filter((r) => exact(r, want)).length;
  const firstSyncS = (Math.max(...routers.map((r) => r.eodAt[0] ?? performance.now())) - t0) /
    1000;
  const rssSyncedMB = procKb(srv.pid, "VmRSS") / 1024;
  const maxReadWaitS = Math.max(...routers.map((r) => r.maxGapMs)) / 1000;
  noteErrors(routers);
  if (!synced0 || firstExact !== n) fail.push(`first sync: ${firstExact}/${n} exact`);
  console.error(
    `soak: ${firstExact}/${n} honest routers hold the exact table (${want.count} VRPs) after ${
      firstSyncS.toFixed(1)
    } s; serve RSS ${rssSyncedMB.toFixed(0)} MB`,
  );

  const roundResults: RoundResult[] = [];
  const reconnects: ReconnectResult[] = [];
  let replaced = 0, nextReconnect = 0;
  const sleepUntil = (t: number) =>
    new Promise((r) => setTimeout(r, Math.max(0, Math.min(t, hardEnd) - performance.now())));
  let lastEnd = performance.now();
  for (let k = 1; k <= rounds; k++) {
    const at = lastEnd + intervalS * 1000;
    if (at > soakEnd) break;
    // Half-way: replace routers that failed, and reconnect a fraction with a fresh Reset Query.
    await sleepUntil(lastEnd + intervalS * 500);
    const picks = new Set<number>();
    routers.forEach((r, i) => {
      if (r.error !== "" || r.closed) picks.add(i);
    });
    replaced += picks.size;
    const m = Math.min(n, Math.round(n * reconnectFrac));
    for (let j = 0; j < m; j++) picks.add((nextReconnect + j) % n);
    nextReconnect = (nextReconnect + m) % n;
    if (picks.size > 0) {
      const tr = performance.now();
      const fresh = await syncAll(
        [...picks],
        (i) => routers[i].hashing,
        Math.min(at, performance.now() + left()),
      );
      const admitted = fresh.filter((r) => exact(r, want)).length;
      const last = Math.max(...fresh.map((r) => r.eodAt.at(-1) ?? performance.now()));
      reconnects.push({ round: k, started: fresh.length, admitted, syncMs: last - tr });
      noteErrors(fresh);
      if (admitted !== fresh.length) {
        fail.push(`round ${k}: ${admitted}/${fresh.length} reconnected routers synced`);
      }
    }
    // The change: a new table file, renamed over the served one.
    await sleepUntil(at);
    const reloads = ev.reloads.length, notifies = ev.notifies.length;
    const tw = performance.now();
    Deno.copyFileSync(roundFiles[k - 1], `${work}.tmp`);
    Deno.renameSync(`${work}.tmp`, work);
    const seen = await until(
      () => ev.reloads.length > reloads || ev.reloadRefused.length > 0,
      left(),
    );
    const serial = Number(/→ (\d+)/.exec(ev.reloads.at(-1) ?? "")?.[1]);
    if (!seen || ev.reloadRefused.length > 0) {
      fail.push(`round ${k}: the server did not reload (${ev.reloadRefused.at(-1) ?? "timeout"})`);
      break;
    }
    want = { serial, session, ...roundExpect[k - 1] };
    await until(() => ev.notifies.length > notifies, left());
    const tn = performance.now();
    await until(() => routers.every((r) => exact(r, want) || r.error !== ""), left());
    const good = routers.filter((r) => exact(r, want));
    const lastEod = Math.max(...good.map((r) => r.eodAt.at(-1) ?? tw));
    lastEnd = performance.now();
    const rr: RoundResult = {
      round: k,
      serial,
      vrps: want.count,
      routers: n,
      exact: good.length,
      notifyMs: tn - tw,
      convergeMs: lastEod - tw,
      rssMB: procKb(srv.pid, "VmRSS") / 1024,
    };
    roundResults.push(rr);
    noteErrors(routers);
    if (rr.exact !== n) fail.push(`round ${k}: ${rr.exact}/${n} honest routers exact`);
    console.error(
      `soak: round ${k}: serial ${serial}, ${rr.exact}/${n} exact ${rr.convergeMs.toFixed(0)} ms ` +
        `after the change (Notify after ${rr.notifyMs.toFixed(0)} ms); serve RSS ${
          rr.rssMB.toFixed(0)
        } MB; hostile connections so far ${hstats.reduce((s, h) => s + h.connects, 0)}`,
    );
  }

  // The rest of the soak, then a last check of every honest router.
  await sleepUntil(soakEnd);
  await until(() => routers.every((r) => exact(r, want) || r.error !== ""), 10_000);
  const finalExact = routers.filter((r) => exact(r, want)).length;
  noteErrors(routers);
  if (finalExact !== n) fail.push(`at the end: ${finalExact}/${n} honest routers exact`);
  const soakS = (performance.now() - tStart) / 1000;
  const rssEndMB = procKb(srv.pid, "VmRSS") / 1024;
  const peakMB = Math.max(rss.peakMB(), procKb(srv.pid, "VmHWM") / 1024);
  rss.stop();
  const serveCpuS = procCpuS(srv.pid), soakCpuS = serveCpuS - cpu0;
  const swarmCpuS = procCpuS(Deno.pid) - self0;
  if (!(peakMB <= maxRssMB)) fail.push(`serve peak RSS ${peakMB.toFixed(0)} MB > ${maxRssMB} MB`);
  clearInterval(portMap);
  for (const r of routers) r.close();
  const settle = (ps: Promise<unknown>[]) =>
    Promise.race([Promise.allSettled(ps), new Promise((r) => setTimeout(r, 15_000))]);
  await settle(runs);
  await settle(hostileRuns);
  const code = await srv.stop();
  Deno.writeTextFileSync(`${out}/soak_serve.log`, srv.log());
  if (code !== 0) fail.push(`rtr serve exited ${code} on SIGTERM`);
  clearTimeout(hard);
  const load1 = loadavg();

  const conv = roundResults.map((r) => r.convergeMs);
  const result = {
    honest: n,
    version,
    hashing: nHash,
    hostile: Object.fromEntries(KINDS.map((k, i) => [k, { clients: perKind[i], ...hstats[i] }])),
    vrps: first.count,
    seconds: Number(soakS.toFixed(1)),
    serveFlags: serveFlags.join(" "),
    loadBefore: load0,
    loadAfter: load1,
    firstSync: {
      exact: firstExact,
      seconds: Number(firstSyncS.toFixed(2)),
      concurrency: syncConcurrency,
      maxReadWaitS: Number(maxReadWaitS.toFixed(2)),
    },
    rounds: roundResults,
    roundsConverged: roundResults.filter((r) => r.exact === n).length,
    convergeMedianMs: Math.round(median(conv)),
    convergeMaxMs: Math.round(conv.length ? Math.max(...conv) : NaN),
    reconnects,
    replacedAfterFailure: replaced,
    finalExact,
    serve: {
      ...ev,
      notifies: ev.notifies.length,
      reloads: ev.reloads.length,
      reloadRefused: ev.reloadRefused.length,
      rssLoadedMB: Math.round(rssLoadedMB),
      rssSyncedMB: Math.round(rssSyncedMB),
      rssPeakMB: Math.round(peakMB),
      rssEndMB: Math.round(rssEndMB),
      maxRssMB,
      cpuS: Number(serveCpuS.toFixed(1)),
      soakCpuS: Number(soakCpuS.toFixed(1)),
    },
    swarmCpuS: Number(swarmCpuS.toFixed(1)),
    serveLog: other,
    errors: [...new Set(errors)].slice(0, 5),
    honestFailures: Object.fromEntries(honestFailures),
    ok: fail.length === 0,
    failures: fail,
  };
  Deno.writeTextFileSync(`${out}/soak_results.json`, JSON.stringify(result, null, 2));

  const hsum = (f: keyof HostileStats) => hstats.reduce((s, h) => s + h[f], 0);
  const row = (a: string, b: string) => console.log(`| ${a} | ${b} |`);
  console.log(
    `\nrtr serve soak: ${n} honest routers (protocol ${version}, ${nHash} checking a hash of ` +
      `every record) + ${nHostile} hostile (${
        KINDS.map((k, i) => `${perKind[i]} ${k}`).join(", ")
      }), ${first.count} VRPs, ${soakS.toFixed(0)} s, load ${load0} → ${load1}`,
  );
  console.log(
    `serve ${serveFlags.join(" ")}\n` +
      `  --max-connections ${maxConn} (default 1000): ${maxConn} slots ${
        maxConn < n + nHostile ? "<" : ">="
      } ${n + nHostile} clients, so honest routers get in only when hostile ones are evicted; ` +
      `honest and never-reading ones negotiate (${
        n + nNeverReading
      }) and leave only by the stall ` +
      `deadline (3 × --retry = ${3 * retryS} s), the others are evicted for newcomers or closed ` +
      `by --first-query-timeout ${firstQueryS} s / --pdu-timeout ${pduS} s; --handshake-timeout ` +
      `is for TLS only (unused here)\n`,
  );
  console.log("| figure | value |\n|---|---|");
  row(
    "honest: first full sync",
    `${firstExact}/${n} exact in ${
      firstSyncS.toFixed(1)
    } s (at most ${syncConcurrency} fetching a full table at once; the longest a router waited for a read: ${
      maxReadWaitS.toFixed(2)
    } s)`,
  );
  row(
    "honest: change rounds converged",
    `${result.roundsConverged}/${roundResults.length}, every ${intervalS} s, ${change} records ` +
      `each; file → all exact: median ${result.convergeMedianMs} ms, max ${result.convergeMaxMs} ms`,
  );
  row(
    "honest: reconnects admitted",
    `${reconnects.reduce((s, r) => s + r.admitted, 0)}/${
      reconnects.reduce((s, r) => s + r.started, 0)
    } (${Math.round(reconnectFrac * 100)} % per round; full sync median ${
      median(reconnects.map((r) => r.syncMs)).toFixed(0)
    } ms, max ${
      (reconnects.length ? Math.max(...reconnects.map((r) => r.syncMs)) : NaN).toFixed(0)
    } ms)`,
  );
  row("honest: at the end", `${finalExact}/${n} exact (serial ${want.serial})`);
  row(
    "hostile: connections opened / closed by serve",
    `${hsum("connects")} / ${hsum("closed")} (connect failures ${hsum("refused")})`,
  );
  KINDS.forEach((k, i) => {
    const h = hstats[i];
    row(
      `hostile: ${k} (${perKind[i]})`,
      `${h.connects} opened, ${h.closed} closed by serve, mean ${
        (h.heldMs / Math.max(1, h.connects) / 1000).toFixed(1)
      } s each`,
    );
  });
  row(
    "serve: closes",
    `${ev.firstQueryTimeout} first-query timeout, ${ev.pduTimeout} PDU timeout, ${ev.stalled} ` +
      `stalled, ${ev.evictedForSlot} evicted for a newcomer, ${ev.refusedFull} refused (full), ` +
      `${ev.errorReports} Error Reports; ${ev.accepted} accepted, at most ${ev.maxOpen} open`,
  );
  row(
    "serve: RSS",
    `${rssLoadedMB.toFixed(0)} MB loaded, ${rssSyncedMB.toFixed(0)} MB after the first sync, ${
      peakMB.toFixed(0)
    } MB peak, ${rssEndMB.toFixed(0)} MB at the end (bound ${maxRssMB} MB); by round: ${
      roundResults.map((r) => r.rssMB.toFixed(0)).join(", ")
    }`,
  );
  row("serve: CPU", `${soakCpuS.toFixed(1)} s during the soak (${serveCpuS.toFixed(1)} s in all)`);
  row("routers' CPU (this process)", `${swarmCpuS.toFixed(1)} s`);
  row(
    "honest failures by reason",
    [...honestFailures].map(([e, k]) => `${k} × ${e}`).join("; ") || "none",
  );
  row("errors (first few)", result.errors.join("; ") || "none");
  console.log(`\n${fail.length === 0 ? "PASS" : `FAIL: ${fail.join("; ")}`}`);
  console.log(JSON.stringify(result));
  return fail.length === 0 ? 0 : 1;
}

/** A bad flag or knob: one line on stderr and exit 2, as `rtr` does for usage errors. */
class SoakUsage extends Error {}

if (import.meta.main) {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    if (!(e instanceof SoakUsage || (e instanceof TypeError && "code" in e))) throw e;
    console.error(`soak: ${e.message} (see the usage at the top of bench/soak.ts)`);
    code = 2;
  }
  Deno.exit(code);
}
