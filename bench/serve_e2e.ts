/**
 * End-to-end benchmark of `rtr serve` (not a test): a full sync of an 800k-VRP table to one
 * client, beside StayRTR 0.5.1 serving the same file. The client is rawrtr (the shared C floor:
 * Reset Query, walk PDU headers to End of Data), so the figures are the server's. Reports wall
 * time per sync (median), bytes per second, and the servers' resident memory after loading
 * and at peak during the syncs (Linux /proc; the peak is reset after loading via clear_refs).
 *
 * Usage: deno run --allow-all bench/serve_e2e.ts [--count 800000] [--runs 5] [--stayrtr-runs 3]
 *        [--version 1] [--no-stayrtr] [--alt DIR]
 * `--alt DIR` also measures `rtr serve` of another tree (DIR/main.ts, e.g. main before a change),
 * both servers up at once and their syncs interleaved, so that both see the same machine load.
 * Files go to bench/out/ (git-ignored).
 */
import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url).pathname;
const SHARED = Deno.env.get("RTR_SHARED") ??
  [`${ROOT}../shared/`, `${ROOT}../../shared/`].find((p) => exists(`${p}bench/rawrtr.c`)) ??
  "/work/shared/";
const OUT = `${ROOT}bench/out`;
const dec = new TextDecoder();

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${dec.decode(r.stderr)}`);
  return dec.decode(r.stdout);
}

function procKb(pid: number, field: string): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s);
  return m ? Number(m[1]) : NaN;
}

function resetPeak(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Server {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function waitFor(pred: () => boolean, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function spawnServer(cmd: string, args: string[], ready: RegExp, port: () => number) {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  let log = "";
  for (const s of [child.stdout, child.stderr]) {
    (async () => {
      for await (const c of s) log += dec.decode(c);
    })();
  }
  await waitFor(() => ready.test(log), `${cmd} to load (log so far: ${log.slice(-500)})`);
  const p = port() || Number(ready.exec(log)?.[1]);
  // StayRTR logs its load before it accepts connections: wait for the port too.
  for (let i = 0; i < 600; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: p })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    pid: child.pid,
    port: p,
    log: () => log,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

async function syncs(rawrtr: string, port: number, version: number, runs: number) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const line = await run(rawrtr, ["-v", `${version}`, "127.0.0.1", `${port}`]);
    const wall = (performance.now() - t0) / 1000;
    const f = Object.fromEntries(line.trim().split(" ").map((kv) => kv.split("=")));
    if (Number(f.eod) !== 1) throw new Error(`rawrtr did not reach End of Data: ${line}`);
    bytes = Number(f.bytes);
    times.push(Number(f.sync_s ?? wall));
  }
  return { times, bytes };
}

/** Start measuring a loaded server: memory now, then one sync per `sync()`, then `finish`. */
function startMeasure(srv: Server) {
  const loadRss = procKb(srv.pid, "VmRSS"), loadPeak = procKb(srv.pid, "VmHWM");
  const reset = resetPeak(srv.pid);
  const times: number[] = [];
  let bytes = 0;
  return {
    async sync(rawrtr: string, version: number) {
      const r = await syncs(rawrtr, srv.port, version, 1);
      times.push(...r.times);
      bytes = r.bytes;
    },
    finish(name: string) {
      const syncPeak = procKb(srv.pid, "VmHWM");
      const t = median(times);
      return {
        name,
        runs: times.length,
        medianS: t,
        minS: Math.min(...times),
        maxS: Math.max(...times),
        bytes,
        mbPerS: bytes / t / 1e6,
        rssAfterLoadMB: loadRss / 1024,
        peakDuringLoadMB: loadPeak / 1024,
        peakDuringSyncsMB: reset ? syncPeak / 1024 : NaN,
        rssAfterSyncsMB: procKb(srv.pid, "VmRSS") / 1024,
      };
    },
  };
}

async function measure(
  name: string,
  srv: Server,
  rawrtr: string,
  version: number,
  runs: number,
) {
  const m = startMeasure(srv);
  for (let i = 0; i < runs; i++) await m.sync(rawrtr, version);
  return m.finish(name);
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "800000" },
      runs: { type: "string", default: "5" },
      "stayrtr-runs": { type: "string", default: "3" },
      version: { type: "string", default: "1" },
      "no-stayrtr": { type: "boolean", default: false },
      alt: { type: "string" },
    },
  });
  const count = Number(values.count), version = Number(values.version);
  await Deno.mkdir(OUT, { recursive: true });
  const rawrtr = `${OUT}/rawrtr`;
  if (!exists(rawrtr)) await run("gcc", ["-O2", "-o", rawrtr, `${SHARED}bench/rawrtr.c`]);
  const file = `${OUT}/vrps_${count}.json`;
  // StayRTR refuses files built more than 24 h ago: regenerate when older than 12 h.
  const st = exists(file) ? Deno.statSync(file) : null;
  if (!st || Date.now() - (st.mtime?.getTime() ?? 0) > 12 * 3600_000) {
    console.error(`generating ${count} VRPs with gen_vrps.py...`);
    await run("python3", [
      `${SHARED}bench/gen_vrps.py`,
      "--count",
      `${count}`,
      "--aspa",
      "2000",
      "-o",
      file,
    ]);
  }
  const results = [];

  // The same VRPs as rpki-client CSV: shows what the JSON parse costs in resident memory.
  const csv = `${OUT}/vrps_${count}.csv`;
  if (!exists(csv) || Deno.statSync(csv).mtime! < Deno.statSync(file).mtime!) {
    const doc = JSON.parse(await Deno.readTextFile(file));
    const rows = doc.roas.map((
      r: { asn: number; prefix: string; maxLength: number; ta?: string },
    ) => `AS${r.asn},${r.prefix},${r.maxLength},${r.ta ?? ""}\n`);
    await Deno.writeTextFile(csv, "ASN,IP Prefix,Max Length,Trust Anchor\n" + rows.join(""));
  }

  const trees: [string, string][] = [["rtr serve", ROOT]];
  if (values.alt) trees.push(["alt rtr serve", `${values.alt.replace(/\/$/, "")}/`]);
  for (const [kind, input] of [["JSON file", file], ["CSV file", csv]]) {
    const servers = [];
    try {
      for (const [who, root] of trees) {
        const t0 = performance.now();
        const srv = await spawnServer(
          Deno.execPath(),
          ["run", "--allow-all", `${root}main.ts`, "serve", input, "--listen", "127.0.0.1:0"],
          /listening on 127\.0\.0\.1:(\d+)/,
          () => 0,
        );
        servers.push({ name: `${who} (${kind})`, srv, loadS: (performance.now() - t0) / 1000 });
      }
      // One sync at a time, round robin over the servers: each sees the same machine load.
      const started = servers.map((x) => startMeasure(x.srv));
      for (let i = 0; i < Number(values.runs); i++) {
        for (const m of started) await m.sync(rawrtr, version);
      }
      servers.forEach((x, i) => results.push({ ...started[i].finish(x.name), loadS: x.loadS }));
    } finally {
      for (const x of servers) await x.srv.stop();
    }
  }

  if (!values["no-stayrtr"]) {
    const port = freePort();
    const t1 = performance.now();
    const stay = await spawnServer(
      "stayrtr",
      [
        "-bind",
        `127.0.0.1:${port}`,
        "-cache",
        file,
        "-metrics.addr",
        "",
        "-refresh",
        "3600",
      ],
      /New update|Updated|fetched/i,
      () => port,
    );
    const loadS2 = (performance.now() - t1) / 1000;
    try {
      results.push({
        ...(await measure(
          "StayRTR 0.5.1",
          stay,
          rawrtr,
          version,
          Number(values["stayrtr-runs"]),
        )),
        loadS: loadS2,
      });
    } finally {
      await stay.stop();
    }
  }

  const fmt = (x: number, d = 2) => Number.isFinite(x) ? x.toFixed(d) : "n/a";
  console.log(
    `Full sync of ${count} VRPs (+2,000 ASPA in the file), protocol v${version}, client rawrtr, ` +
      `${results[0].bytes} bytes on the wire`,
  );
  console.log(
    "| server | sync median (min-max) | MB/s | start+load | RSS after load | peak RSS during syncs |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.name} | ${fmt(r.medianS, 3)} s (${fmt(r.minS, 3)}-${
        fmt(r.maxS, 3)
      }), ${r.runs} runs | ${fmt(r.mbPerS, 0)} | ${fmt(r.loadS, 1)} s | ${
        fmt(r.rssAfterLoadMB, 0)
      } MB | ${fmt(r.peakDuringSyncsMB, 0)} MB |`,
    );
  }
  const stay = results.find((r) => r.name.startsWith("StayRTR"));
  if (stay) console.log(`speed-up over StayRTR: ${fmt(stay.medianS / results[0].medianS, 0)}x`);
  console.log(JSON.stringify(results));
}

if (import.meta.main) await main();
