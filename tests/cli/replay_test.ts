/** CLI contract of `rtr replay`: stdout records, stderr, exit codes, every flag. */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { runCommand, runRtr } from "../helpers/peers.ts";
import { PcapWriter } from "../../lib/capture/mod.ts";
import { encodePdus, type Pdu } from "../../lib/wire/mod.ts";
import { response, v4 } from "../capture/replay_helpers.ts";

function ndjson(text: string): any[] {
  return text.trim().split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  eq(lines.length, 1, stderr);
  assertOk(!/\bat .*\.ts:\d+/.test(stderr), stderr);
  return lines[0];
}

const RESET = response(1, 9, 1, [
  v4("192.0.2.0/24", 64496),
  v4("198.51.100.0/22", 64497, { maxLength: 24 }),
]);
const DELTA = response(1, 9, 2, [
  v4("192.0.2.0/24", 64496, { withdraw: true }),
  v4("203.0.113.0/24", 64498),
]);

/** A pcap of a router asking and a cache answering, written by PcapWriter. */
function pcap(exchanges: [Pdu[], Pdu[]][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const w = new PcapWriter((b) => parts.push(b.slice()), { isn: [1, 2] });
  const t = Date.UTC(2026, 5, 1, 12, 0, 0);
  w.connected({ hostname: "10.0.0.1", port: 51234 }, { hostname: "10.0.0.2", port: 8282 }, t);
  exchanges.forEach(([q, a], i) => {
    if (q.length) w.sent(encodePdus(q), t + 10 * i + 1);
    if (a.length) w.received(encodePdus(a), t + 10 * i + 2);
  });
  w.closed(t + 1000);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function withFiles(files: Record<string, Uint8Array>, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, b] of Object.entries(files)) await Deno.writeFile(`${dir}/${name}`, b);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const SESSION = pcap([[[{ type: 2, version: 1 }], RESET], [[{
  type: 1,
  version: 1,
  sessionId: 9,
  serial: 1,
}], DELTA]]);

Deno.test("rtr replay --help and rtr help replay print the same help, listing every flag", async () => {
  const a = await runRtr(["replay", "--help"]);
  const b = await runRtr(["help", "replay"]);
  eq(a.code, 0);
  eq(a.stdout, b.stdout);
  for (const f of ["--port N", "--table", "--format F", "--check", "Exit codes"]) {
    assertIncludes(a.stdout, f);
  }
});

Deno.test("rtr replay usage errors exit 2 with one line on stderr", async () => {
  const cases: [string[], string][] = [
    [["replay"], "Missing FILE"],
    [["replay", "--bogus", "x"], "--bogus"],
    [["replay", "--table", "--check", "x"], "cannot be combined"],
    [["replay", "--format", "csv", "x"], "--format only applies with --table"],
    [["replay", "--table", "--format", "yaml", "x"], "--format must be one of"],
    [["replay", "--port", "70000", "x"], "--port must be a whole number"],
  ];
  for (const [args, msg] of cases) {
    const r = await runRtr(args);
    eq(r.code, 2, args.join(" "));
    eq(r.stdout, "");
    assertIncludes(oneLine(r.stderr), msg);
  }
});

Deno.test("rtr replay of a file that cannot be opened exits 1 with one clear line and no output", async () => {
  const r = await runRtr(["replay", "/nonexistent/capture.pcap"]);
  eq(r.code, 1);
  eq(r.stdout, "");
  eq(oneLine(r.stderr), "rtr: Cannot open /nonexistent/capture.pcap: no such file");
  const d = await runRtr(["replay", "/tmp"]);
  eq(d.code, 1);
  assertIncludes(oneLine(d.stderr), "is a directory");
});

Deno.test("rtr replay prints one NDJSON record per PDU with flow, direction and time", async () => {
  await withFiles({ "s.pcap": SESSION }, async (dir) => {
    const r = await runRtr(["replay", `${dir}/s.pcap`]);
    eq(r.code, 0, r.stderr);
    eq(r.stderr, "");
    const recs = ndjson(r.stdout);
    eq(recs.length, 1 + 4 + 1 + 4);
    eq(recs[0], {
      type: "pdu",
      flow: "10.0.0.1:51234>10.0.0.2:8282",
      direction: "router",
      time: "2026-06-01T12:00:00.001000Z",
      version: 1,
      pduType: 2,
      name: "Reset Query",
    });
    eq(recs[3], {
      type: "pdu",
      flow: "10.0.0.1:51234>10.0.0.2:8282",
      direction: "cache",
      time: "2026-06-01T12:00:00.002000Z",
      version: 1,
      pduType: 4,
      name: "IPv4 Prefix",
      action: "announce",
      prefix: "198.51.100.0/22",
      maxLength: 24,
      asn: 64497,
    });
    eq(recs[7].action, "withdraw");
  });
});

Deno.test("rtr replay reads raw dumps, gzip and stdin; several files get a file field", async () => {
  const raw = encodePdus([...RESET, ...DELTA]);
  const gz = new Uint8Array(
    await new Response(
      new Blob([raw as BlobPart]).stream().pipeThrough(new CompressionStream("gzip")),
    )
      .arrayBuffer(),
  );
  await withFiles({ "dump.bin": raw, "dump.bin.gz": gz }, async (dir) => {
    const a = await runRtr(["replay", `${dir}/dump.bin`]);
    const b = await runRtr(["replay", `${dir}/dump.bin.gz`]);
    eq(a.code, 0);
    eq(a.stdout, b.stdout);
    const recs = ndjson(a.stdout);
    eq(recs.length, 8);
    eq(recs[0], {
      type: "pdu",
      direction: "cache",
      version: 1,
      pduType: 3,
      name: "Cache Response",
      sessionId: 9,
    });
    const two = await runRtr(["replay", `${dir}/dump.bin`, `${dir}/dump.bin.gz`]);
    const r2 = ndjson(two.stdout);
    eq(r2.length, 16);
    eq(r2[0].file, `${dir}/dump.bin`);
    eq(r2[15].file, `${dir}/dump.bin.gz`);
    const viaStdin = await runCommand("sh", [
      "-c",
      `${Deno.execPath()} run -A --quiet ${
        new URL("../../main.ts", import.meta.url).pathname
      } replay - < ${dir}/dump.bin.gz`,
    ]);
    eq(viaStdin.stdout, a.stdout);
  });
});

Deno.test("rtr replay reports malformed PDUs and damaged files, and still exits 0", async () => {
  const raw = encodePdus(RESET);
  const bad = new Uint8Array([
    ...raw.subarray(0, 8),
    0x07,
    0x63,
    0,
    0,
    0,
    0,
    0,
    8,
    ...raw.subarray(8),
  ]);
  await withFiles(
    { "bad.bin": bad, "cut.pcap": SESSION.subarray(0, SESSION.length - 7) },
    async (dir) => {
      const r = await runRtr(["replay", `${dir}/bad.bin`]);
      eq(r.code, 0);
      const recs = ndjson(r.stdout);
      eq(recs.map((x) => x.type), ["pdu", "malformed", "pdu", "pdu", "pdu"]);
      eq(recs[1], {
        type: "malformed",
        direction: "cache",
        offset: 8,
        length: 8,
        errorCode: 4,
        errorName: "Unsupported Protocol Version",
        message: "Cannot decode type 99 PDU: protocol version 7 is not supported (0 to 2)",
        hex: "0763000000000008",
      });
      const c = await runRtr(["replay", `${dir}/cut.pcap`]);
      eq(c.code, 0);
      const last = ndjson(c.stdout).pop();
      eq(last.type, "damaged");
      eq(last.format, "pcap");
      assertIncludes(oneLine(c.stderr), "Capture file ends inside record");
    },
  );
});

Deno.test("rtr replay --table prints the final table in every format", async () => {
  await withFiles({ "s.pcap": SESSION }, async (dir) => {
    const j = await runRtr(["replay", "--table", `${dir}/s.pcap`]);
    eq(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    eq(doc.roas.map((r: any) => `${r.prefix} ${r.maxLength} ${r.asn}`), [
      "198.51.100.0/22 24 64497",
      "203.0.113.0/24 24 64498",
    ]);
    eq([doc.metadata.sessionId ?? doc.metadata.session_id, doc.metadata.serial], [9, 2]);
    const csv = await runRtr(["replay", "--table", "--format", "csv", `${dir}/s.pcap`]);
    assertIncludes(csv.stdout, "AS64498,203.0.113.0/24,24");
    const nd = await runRtr(["replay", "--table", "--format", "ndjson", `${dir}/s.pcap`]);
    eq(ndjson(nd.stdout).filter((x) => x.type === "vrp").length, 2);
    const bgpd = await runRtr(["replay", "--table", "--format", "openbgpd", `${dir}/s.pcap`]);
    assertIncludes(bgpd.stdout, "203.0.113.0/24 source-as 64498");
    const bird = await runRtr(["replay", "--table", "--format", "bird", `${dir}/s.pcap`]);
    assertIncludes(bird.stdout, "route 203.0.113.0/24 max 24 as 64498;");
  });
});

Deno.test("rtr replay --check prints violations and exits 1, or nothing and exits 0", async () => {
  const broken = pcap([[[{ type: 2, version: 1 }], [...RESET.slice(0, 2), RESET[1], RESET[3]]]]);
  await withFiles({ "ok.pcap": SESSION, "broken.pcap": broken }, async (dir) => {
    const ok = await runRtr(["replay", "--check", `${dir}/ok.pcap`]);
    eq([ok.code, ok.stdout, ok.stderr], [0, "", ""]);
    const r = await runRtr(["replay", "--check", `${dir}/broken.pcap`]);
    eq(r.code, 1);
    const vs = ndjson(r.stdout);
    eq(vs.map((v) => v.rule), ["duplicate-announcement"]);
    eq(vs[0].type, "violation");
    eq(vs[0].errorCode, 7);
    eq(oneLine(r.stderr), "rtr replay: 1 protocol violation");
  });
});

/** A pcap written by PcapWriter (as `--dump FILE.pcap` does) of one connection on `port`. */
function onPort(port: number, router: Pdu[], cache: Pdu[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const w = new PcapWriter((b) => parts.push(b.slice()));
  w.connected({ hostname: "10.0.0.1", port: 40000 }, { hostname: "10.0.0.2", port }, 0);
  if (router.length) w.sent(encodePdus(router), 1);
  if (cache.length) w.received(encodePdus(cache), 2);
  w.closed(3);
  const file = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((o, p) => (file.set(p, o), o + p.length), 0);
  return file;
}

Deno.test("rtr replay --table --router-version writes ASPA for BIRD 2.16 / OpenBGPD 8 only", async () => {
  const aspa = response(2, 9, 1, [
    v4("192.0.2.0/24", 64496, { version: 2 }),
    { type: 11, version: 2, flags: 1, customer: 64500, providers: [64501] },
  ]);
  await withFiles({ "a.pcap": pcap([[[{ type: 2, version: 2 }], aspa]]) }, async (dir) => {
    const f = `${dir}/a.pcap`;
    const bird = await runRtr(["replay", "--table", "--format", "bird", f]);
    eq(bird.code, 0, bird.stderr);
    assertIncludes(bird.stdout, "# 1 ASPA record(s) left out");
    assertOk(!bird.stdout.includes("route aspa"));
    const b216 = await runRtr([
      "replay",
      "--table",
      "--format",
      "bird",
      "--router-version",
      "bird=2.16",
      f,
    ]);
    assertIncludes(b216.stdout, "\troute aspa 64500 providers 64501;");
    const bgpd = await runRtr(["replay", "--table", "--format", "openbgpd", f]);
    assertOk(!bgpd.stdout.includes("customer-as"));
    const b8 = await runRtr([
      "replay",
      "--table",
      "--format",
      "openbgpd",
      "--router-version",
      "openbgpd=8",
      f,
    ]);
    assertIncludes(b8.stdout, "\tcustomer-as 64500 provider-as { 64501 }");
    const bad = await runRtr([
      "replay",
      "--table",
      "--format",
      "csv",
      "--router-version",
      "bird=2.16",
      f,
    ]);
    eq(bad.code, 2);
    eq(oneLine(bad.stderr), "rtr: --router-version only applies with --format bird or openbgpd");
  });
});

Deno.test("rtr replay finds RTR on a port it has never seen, in every mode", async () => {
  const file = onPort(42820, [{ type: 2, version: 1 }], RESET);
  await withFiles({ "x.pcap": file }, async (dir) => {
    const r = await runRtr(["replay", `${dir}/x.pcap`]);
    eq([r.code, r.stderr], [0, ""]);
    const recs = ndjson(r.stdout);
    eq(recs.map((x) => x.name), [
      "Reset Query",
      "Cache Response",
      "IPv4 Prefix",
      "IPv4 Prefix",
      "End of Data",
    ]);
    eq(recs[0].flow, "10.0.0.1:40000>10.0.0.2:42820");
    const t = await runRtr(["replay", "--table", "--format", "csv", `${dir}/x.pcap`]);
    eq(t.code, 0, t.stderr);
    assertIncludes(t.stdout, "192.0.2.0/24");
    const c = await runRtr(["replay", "--check", `${dir}/x.pcap`]);
    eq([c.code, c.stdout, c.stderr], [0, "", ""]);
  });
});

Deno.test("rtr replay says so on stderr and exits 1 in every mode when no RTR stream is found", async () => {
  // Not RTR (text) on a port that is not forced, and a pcap with no TCP data at all.
  const text = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const parts: Uint8Array[] = [];
  const w = new PcapWriter((b) => parts.push(b.slice()));
  w.connected({ hostname: "10.0.0.1", port: 40000 }, { hostname: "10.0.0.2", port: 8080 }, 0);
  w.sent(text, 1);
  w.closed(2);
  const http = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((o, p) => (http.set(p, o), o + p.length), 0);
  const good = onPort(42820, [{ type: 2, version: 1 }], RESET);
  await withFiles({ "h.pcap": http, "g.pcap": good }, async (dir) => {
    for (const mode of [[], ["--table"], ["--check"]]) {
      const r = await runRtr(["replay", ...mode, `${dir}/h.pcap`]);
      eq([r.code, r.stdout], [1, ""], `${mode}`);
      eq(oneLine(r.stderr), "rtr replay: no RTR stream found", `${mode}`);
      // With several files: the one without RTR is named, the others are still replayed.
      const m = await runRtr(["replay", ...mode, `${dir}/g.pcap`, `${dir}/h.pcap`]);
      eq(m.code, 1, `${mode}`);
      eq(oneLine(m.stderr), `rtr replay: ${dir}/h.pcap: no RTR stream found`, `${mode}`);
      if (mode.length === 0) eq(ndjson(m.stdout).length, 5);
    }
  });
});

Deno.test("rtr replay --port forces a port whose capture starts in the middle of a session", async () => {
  // Only prefixes and End of Data: no first PDU to recognise RTR by.
  const file = onPort(9999, [], RESET.slice(1));
  await withFiles({ "p.pcap": file }, async (dir) => {
    const r = await runRtr(["replay", `${dir}/p.pcap`]);
    eq([r.code, r.stdout], [1, ""]);
    eq(oneLine(r.stderr), "rtr replay: no RTR stream found");
    const f = await runRtr(["replay", "--port", "9999", `${dir}/p.pcap`]);
    eq(f.code, 0, f.stderr);
    eq(ndjson(f.stdout).length, 3);
  });
});
