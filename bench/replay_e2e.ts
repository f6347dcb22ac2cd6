/**
 * End-to-end benchmark of `rtr replay` (issue 5): a full-table capture built with PcapWriter
 * from a generated VRP set (../shared/bench/gen_vrps.py, 800k VRPs + 2,000 ASPA by default),
 * replayed to NDJSON and with `--table`, beside `tshark -r FILE -Y rpkirtr -T fields` on the
 * same file. Two captures: the response in 64 KiB segments (one write, as a fast cache sends
 * it), and one packet per PDU (as StayRTR sends it). Reports the median wall time, MB/s and peak
 * RSS of each run (GNU time).
 *
 *   deno run --allow-all bench/replay_e2e.ts [--vrps 800000] [--runs 3] [--dir DIR]
 */
import { parseArgs } from "node:util";
import { PcapWriter } from "../lib/capture/mod.ts";
import { encodedLength, encodeInto, type Pdu } from "../lib/wire/mod.ts";
import { tryParsePrefix } from "../lib/model/mod.ts";

const { values } = parseArgs({
  options: {
    vrps: { type: "string", default: "800000" },
    aspa: { type: "string", default: "2000" },
    runs: { type: "string", default: "3" },
    dir: { type: "string" },
  },
});
const COUNT = Number(values.vrps);
const RUNS = Number(values.runs);
const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;

function sharedDir(): string {
  const env = Deno.env.get("RTR_SHARED");
  if (env) return env.endsWith("/") ? env : env + "/";
  for (const c of ["../../shared/", "../../../shared/"]) {
    const p = new URL(c, import.meta.url).pathname;
    try {
      if (Deno.statSync(`${p}bench/gen_vrps.py`).isFile) return p;
    } catch { /* next */ }
  }
  throw new Error("../shared/bench/gen_vrps.py not found (set RTR_SHARED)");
}

const dir = values.dir ?? await Deno.makeTempDir({ prefix: "rtr-replay-bench-" });
await Deno.mkdir(dir, { recursive: true });
const setPath = `${dir}/vrps-${COUNT}.json`;
try {
  Deno.statSync(setPath);
} catch {
  console.error(`generating ${COUNT} VRPs…`);
  const r = await new Deno.Command("python3", {
    args: [
      `${sharedDir()}bench/gen_vrps.py`,
      "--count",
      String(COUNT),
      "--aspa",
      String(values.aspa),
      "-o",
      setPath,
    ],
  }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

/** The v2 response to a Reset Query for the generated set. */
function responsePdus(doc: any): Pdu[] {
  const pdus: Pdu[] = [{ type: 3, version: 2, sessionId: 4660 }];
  for (const r of doc.roas) {
    const p = tryParsePrefix(r.prefix);
    if (!p) continue;
    pdus.push({
      type: p.family === 4 ? 4 : 6,
      version: 2,
      flags: 1,
      prefixLength: p.length,
      maxLength: r.maxLength,
      addr: p.addr,
      asn: r.asn,
    });
  }
  for (const a of doc.aspas ?? []) {
    pdus.push({
      type: 11,
      version: 2,
      flags: 1,
      customer: a.customer_asid,
      providers: a.providers,
    });
  }
  // The v2 order of 8210bis §11.2 : types ascending, prefixes by address,
  // max length, prefix length and ASN descending; ASPA by customer ascending.
  const rank: Record<number, number> = { 4: 0, 6: 1, 9: 2, 11: 3 };
  const body = pdus.slice(1).sort((a, b) => {
    if (a.type !== b.type) return rank[a.type] - rank[b.type];
    if ((a.type === 4 || a.type === 6) && (b.type === 4 || b.type === 6)) {
      for (let i = 0; i < a.addr.length; i++) {
        if (a.addr[i] !== b.addr[i]) return b.addr[i] - a.addr[i];
      }
      return b.maxLength - a.maxLength || b.prefixLength - a.prefixLength || b.asn - a.asn;
    }
    if (a.type === 11 && b.type === 11) return a.customer - b.customer;
    return 0;
  });
  return [
    pdus[0],
    ...body,
    { type: 7, version: 2, sessionId: 4660, serial: 1, refresh: 3600, retry: 600, expire: 7200 },
  ];
}

async function writeCapture(path: string, pdus: Pdu[], perPdu: boolean): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    const out = new Uint8Array(size);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    let w = 0;
    while (w < out.length) w += f.writeSync(out.subarray(w));
    chunks.length = 0;
    size = 0;
  };
  const w = new PcapWriter((b) => {
    chunks.push(b);
    size += b.length;
    if (size > 1 << 22) flush();
  }, { isn: [1000, 2000] });
  const t = Date.UTC(2026, 0, 1);
  w.connected({ hostname: "192.0.2.1", port: 51234 }, { hostname: "192.0.2.2", port: 8282 }, t);
  const rq = new Uint8Array(8);
  encodeInto({ type: 2, version: 2 }, rq, new DataView(rq.buffer), 0);
  w.sent(rq, t + 1);
  if (perPdu) {
    for (let i = 0; i < pdus.length; i++) {
      const b = new Uint8Array(encodedLength(pdus[i]));
      encodeInto(pdus[i], b, new DataView(b.buffer), 0);
      w.received(b, t + 2 + i * 0.01);
    }
  } else {
    let total = 0;
    for (const p of pdus) total += encodedLength(p);
    const b = new Uint8Array(total);
    const v = new DataView(b.buffer);
    let o = 0;
    for (const p of pdus) o = encodeInto(p, b, v, o);
    w.received(b, t + 2);
  }
  w.closed(t + 10000);
  flush();
  f.close();
}

const doc = JSON.parse(await Deno.readTextFile(setPath));
const pdus = responsePdus(doc);
const files = [
  { name: "segments", path: `${dir}/full-${COUNT}-segments.pcap`, perPdu: false },
  { name: "per-PDU packets", path: `${dir}/full-${COUNT}-per-pdu.pcap`, perPdu: true },
];
for (const f of files) {
  try {
    Deno.statSync(f.path);
  } catch {
    console.error(`writing ${f.path}…`);
    await writeCapture(f.path, pdus, f.perPdu);
  }
}

interface Result {
  wall: number;
  cpu: number;
  rssKb: number;
}

/** Run a shell command with stdout to /dev/null under GNU time; median of RUNS. */
async function measure(cmd: string[]): Promise<Result> {
  const results: Result[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%e %U %S %M", ...cmd],
      stdout: "null",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr).trim().split("\n");
    const [wall, user, sys, rss] = err[err.length - 1].split(" ").map(Number);
    // `--check` exits 1 when it finds violations.
    if (r.code > 1) throw new Error(`${cmd.join(" ")} failed: ${err.join("\n")}`);
    results.push({ wall, cpu: user + sys, rssKb: rss });
  }
  results.sort((a, b) => a.wall - b.wall);
  return results[Math.floor(results.length / 2)];
}

const deno = Deno.execPath();
console.log(
  `\n${pdus.length + 1} PDUs (${COUNT} VRPs, ${
    doc.aspas?.length ?? 0
  } ASPA); median of ${RUNS} runs\n`,
);
console.log("| capture | size | tool | wall | CPU | MB/s | peak RSS |");
console.log("| --- | --: | --- | --: | --: | --: | --: |");
for (const f of files) {
  const mb = Deno.statSync(f.path).size / 1e6;
  const runs: [string, string[]][] = [
    ["rtr replay (NDJSON)", [deno, "run", "-A", "--quiet", MAIN, "replay", f.path]],
    ["rtr replay --table", [deno, "run", "-A", "--quiet", MAIN, "replay", "--table", f.path]],
    ["rtr replay --check", [deno, "run", "-A", "--quiet", MAIN, "replay", "--check", f.path]],
    [
      "tshark -Y rpkirtr -T fields",
      [
        "tshark",
        "-r",
        f.path,
        "-d",
        "tcp.port==8282,rpkirtr",
        "-Y",
        "rpkirtr",
        "-T",
        "fields",
        "-e",
        "rpki-rtr.pdu_type",
      ],
    ],
  ];
  for (const [tool, cmd] of runs) {
    const r = await measure(cmd);
    console.log(
      `| ${f.name} | ${mb.toFixed(1)} MB | ${tool} | ${r.wall.toFixed(2)} s | ${
        r.cpu.toFixed(2)
      } s | ${(mb / r.wall).toFixed(1)} | ${(r.rssKb / 1024).toFixed(0)} MB |`,
    );
  }
}
if (!values.dir) await Deno.remove(dir, { recursive: true });
