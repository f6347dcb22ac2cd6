import assert from "node:assert/strict";
import { generateTable, tableJson } from "../../tools/gen_table.ts";
import { readTableFile } from "../../lib/formats/read.ts";
import { encodePdu, type Pdu } from "../../lib/wire/mod.ts";
import { formatPrefix } from "../../lib/model/mod.ts";
import { runRtr } from "../helpers/peers.ts";
import { RawRtr, startServe } from "../helpers/serve.ts";

const resetQuery = (version: number) => encodePdu({ type: 2, version });
const serialQuery = (version: number, sessionId: number, serial: number) =>
  encodePdu({ type: 1, version, sessionId, serial });

async function writeTable(path: string, count: number, seed = 1, extra = {}): Promise<void> {
  const t = await generateTable({ count, seed, routerKeys: 2, aspas: 5, ...extra });
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, tableJson(t));
  await Deno.rename(tmp, path);
}

/** Payload of PDUs as sorted lines: `+prefix-max ASn`, `+key ASn`, `+aspa ASc:p,q`. */
function lines(pdus: Pdu[]): string[] {
  const out: string[] = [];
  for (const p of pdus) {
    const s = "flags" in p && (p.flags & 1) === 1 ? "+" : "-";
    if (p.type === 4 || p.type === 6) {
      out.push(`${s}${formatPrefix(p.type, p.addr, p.prefixLength)}-${p.maxLength} AS${p.asn}`);
    } else if (p.type === 9) out.push(`${s}key AS${p.asn}`);
    else if (p.type === 11) out.push(`${s}aspa AS${p.customer}:${p.providers.join(",")}`);
  }
  return out.sort();
}

async function fileLines(path: string, version = 2): Promise<string[]> {
  const { table } = await readTableFile(path);
  const out = [...table.vrps].map((v) => `+${v.prefix}-${v.maxLength} AS${v.asn}`);
  if (version >= 1) { for (const k of table.routerKeys) out.push(`+key AS${k.asn}`); }
  if (version >= 2) {
    for (const a of table.aspas) out.push(`+aspa AS${a.customer}:${a.providers.join(",")}`);
  }
  return out.sort();
}

function eodOf(pdus: Pdu[]): { sessionId: number; serial: number } {
  const e = pdus.at(-1)!;
  assert.equal(e.type, 7, `last PDU is End of Data: ${JSON.stringify(e)}`);
  if (e.type !== 7) throw new Error("unreachable");
  return { sessionId: e.sessionId, serial: e.serial };
}

Deno.test("rtr serve prints its address, serves the file at each version, logs, exits 0 on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/table.json`;
  await writeTable(file, 400);
  const srv = await startServe(file, ["--session-id", "4242"]);
  try {
    for (const v of [0, 1, 2]) {
      const c = await RawRtr.connect(srv.port);
      await c.send(resetQuery(v));
      const { pdus } = await c.read();
      c.close();
      assert.deepEqual(pdus[0], { type: 3, version: v, sessionId: 4242 });
      assert.ok(pdus.every((p) => p.version === v));
      assert.deepEqual(lines(pdus), await fileLines(file, v));
      assert.equal(eodOf(pdus).serial, 1);
    }
    await srv.waitLog(/disconnected.*\n(.|\n)*disconnected.*\n(.|\n)*disconnected/);
  } finally {
    assert.equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
  const log = srv.log();
  assert.match(log, /loaded .*table\.json \(rpki-client|stayrtr.*400 VRPs/);
  assert.match(log, /127\.0\.0\.1:\d+ connected \(1 open\)/);
  assert.match(log, /negotiated version 0/);
  assert.match(log, /Reset Query → Cache Response v2, \d+ payload PDUs .*, \d+ bytes/);
  assert.match(log, /disconnected after [\d.]+ s, [\d.]+ (bytes|kB) sent/);
  assert.match(log, /SIGTERM: closing/);
});

Deno.test("rtr serve: version 3 gets code 4 at version 2, wrong session code 0, stale serial Cache Reset", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.json`;
  await writeTable(file, 50);
  const srv = await startServe(file, ["--session-id", "7"]);
  try {
    const a = await RawRtr.connect(srv.port);
    await a.send(new Uint8Array([3, 2, 0, 0, 0, 0, 0, 8]));
    const ra = await a.read();
    assert.equal(ra.pdus.length, 1);
    const e = ra.pdus[0];
    assert.equal(e.type, 10);
    assert.equal(e.version, 2);
    assert.equal(e.type === 10 && e.errorCode, 4);
    assert.ok(await a.closed(), "closed after code 4");
    a.close();

    const b = await RawRtr.connect(srv.port);
    await b.send(serialQuery(1, 8, 1));
    const [eb] = (await b.read()).pdus;
    assert.equal(eb.type === 10 && eb.errorCode, 0);
    assert.ok(await b.closed(), "closed after code 0");
    b.close();

    const c = await RawRtr.connect(srv.port);
    await c.send(serialQuery(1, 7, 12345));
    assert.deepEqual((await c.read()).pdus, [{ type: 8, version: 1 }]);
    await c.send(resetQuery(1));
    assert.equal(eodOf((await c.read()).pdus).serial, 1, "connection kept after Cache Reset");
    c.close();
  } finally {
    assert.equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: a changed file becomes a new serial, a Serial Notify and a delta; a broken one is refused", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.json`;
  await writeTable(file, 200, 1);
  const srv = await startServe(file, ["--notify-interval", "0.1"]);
  try {
    const c = await RawRtr.connect(srv.port);
    await c.send(resetQuery(2));
    const full = await c.read();
    const before = lines(full.pdus);
    const { sessionId, serial } = eodOf(full.pdus);

    // Drop two VRPs, add one, change nothing else.
    const t = JSON.parse(await Deno.readTextFile(file));
    const dropped = t.roas.splice(0, 2);
    t.roas.push({ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 });
    await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(t));
    await Deno.rename(`${file}.tmp`, file);

    const notify = await c.read((p) => p.type === 0);
    assert.deepEqual(notify.pdus, [{ type: 0, version: 2, sessionId, serial: serial + 1 }]);
    await c.send(serialQuery(2, sessionId, serial));
    const delta = await c.read();
    assert.equal(delta.pdus[0].type, 3, "a delta, not a Cache Reset");
    const wd = dropped.map((r: { prefix: string; maxLength: number; asn: number }) =>
      `-${r.prefix}-${r.maxLength} AS${r.asn}`
    );
    assert.deepEqual(lines(delta.pdus), ["+192.0.2.0/24-24 AS64496", ...wd].sort());
    assert.equal(eodOf(delta.pdus).serial, serial + 1);
    await srv.waitLog(/serial \d+ → \d+ \(1 announced, 2 withdrawn\)/);

    // Same table, other formatting: no new serial (SIGHUP reloads too).
    await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(t, null, 1));
    await Deno.rename(`${file}.tmp`, file);
    await srv.waitLog(/unchanged, serial stays \d+/);
    srv.child.kill("SIGHUP");
    await srv.waitLog(/\(SIGHUP\): unchanged/);

    // A broken file is refused and the previous table is still served.
    await Deno.writeTextFile(file, '{"roas": [{"prefix": "192.0.2.0/24", "maxLen');
    await srv.waitLog(/refused .*t\.json \(file changed\): .*; still serving serial \d+/);
    await c.send(resetQuery(2));
    const again = await c.read();
    assert.equal(eodOf(again.pdus).serial, serial + 1);
    const gone = wd.map((l: string) => `+${l.slice(1)}`);
    const want = before.filter((l) => !gone.includes(l)).concat("+192.0.2.0/24-24 AS64496").sort();
    assert.deepEqual(lines(again.pdus), want);
    c.close();
  } finally {
    assert.equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: no file yet means No Data Available on a kept connection, then data", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/later.json`;
  const srv = await startServe(file, ["--notify-interval", "0.1"]);
  try {
    assert.match(srv.log(), /refused .*later\.json \(start\): .*no such file.*No Data Available/);
    const c = await RawRtr.connect(srv.port);
    await c.send(resetQuery(1));
    const r = await c.read();
    assert.equal(r.pdus.length, 1);
    const e = r.pdus[0];
    assert.equal(e.type === 10 && e.errorCode, 2);
    assert.equal(e.type === 10 && e.text, "No data available");
    await writeTable(file, 30);
    await srv.waitLog(/loaded .*later\.json/);
    await c.send(resetQuery(1));
    assert.deepEqual(lines((await c.read()).pdus), await fileLines(file, 1));
    c.close();
  } finally {
    assert.equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: a router that never reads does not stop another from syncing", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/big.json`;
  await writeTable(file, 100_000, 3, { routerKeys: 0, aspas: 0 });
  const srv = await startServe(file);
  try {
    // 40 Reset Queries (~90 MB of answers) and never a read: its writes block on a full socket.
    const stuck = await RawRtr.connect(srv.port);
    const q = new Uint8Array(40 * 8);
    for (let i = 0; i < 40; i++) q.set(resetQuery(1), i * 8);
    await stuck.send(q);
    await srv.waitLog(/Reset Query → /);
    const t0 = Date.now();
    const c = await RawRtr.connect(srv.port);
    await c.send(resetQuery(1));
    const r = await c.read(undefined, 15000);
    assert.equal(r.pdus.length, 100_002);
    assert.ok(Date.now() - t0 < 15000);
    c.close();
    assert.doesNotMatch(srv.log(), /127\.0\.0\.1:\d+ disconnected.*\(1 open\)/);
    stuck.close();
  } finally {
    assert.equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: garbage gets its Error Report even when the router keeps sending", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.json`;
  await writeTable(file, 10);
  const srv = await startServe(file);
  try {
    const c = await RawRtr.connect(srv.port);
    // Half a megabyte right behind the bad PDU, mostly unread when the cache closes.
    const bytes = new Uint8Array(8 + 512 * 1024).fill(7);
    bytes.set([1, 5, 0, 0, 0, 0, 0, 8]);
    await c.send(bytes).catch(() => {});
    await srv.waitLog(/sent Error Report code 5/);
    await new Promise((r) => setTimeout(r, 100));
    const r = await c.read();
    assert.equal(r.pdus.length, 1);
    const e = r.pdus[0];
    assert.equal(e.type === 10 && e.errorCode, 5);
    assert.ok(await c.closed());
    c.close();
  } finally {
    assert.equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: --max-connections refuses routers beyond the bound", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.json`;
  await writeTable(file, 10);
  const srv = await startServe(file, ["--max-connections", "1"]);
  try {
    const a = await RawRtr.connect(srv.port);
    await srv.waitLog(/connected \(1 open\)/);
    // A negotiated router is never evicted to make room (an idle one would be).
    await a.send(resetQuery(1));
    assert.equal((await a.read()).pdus[0].type, 3);
    const b = await RawRtr.connect(srv.port);
    assert.ok(await b.closed(), "second router closed");
    await srv.waitLog(/refused: 1 connections open \(--max-connections 1\)/);
    await a.send(resetQuery(1));
    assert.equal((await a.read()).pdus[0].type, 3);
    a.close();
    b.close();
  } finally {
    assert.equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: SIGINT with a router connected exits 0", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.json`;
  await writeTable(file, 10);
  const srv = await startServe(file);
  const c = await RawRtr.connect(srv.port);
  await c.send(resetQuery(2));
  await c.read();
  try {
    assert.equal(await srv.stop("SIGINT"), 0);
    assert.ok(await c.closed(), "router connection closed");
  } finally {
    c.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: TLS with --tls --cert --key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gen = new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
      ],
      stdout: "null",
      stderr: "null",
    });
    let ok = false;
    try {
      ok = (await gen.output()).success;
    } catch { /* no openssl */ }
    if (!ok) {
      console.warn("SKIPPED: openssl not available to make a test certificate");
      return;
    }
    const file = `${dir}/t.json`;
    await writeTable(file, 20);
    const srv = await startServe(file, [
      "--tls",
      "--cert",
      `${dir}/cert.pem`,
      "--key",
      `${dir}/key.pem`,
    ]);
    try {
      assert.match(srv.log(), /listening on 127\.0\.0\.1:\d+ \(TLS\)/);
      const r = await runRtr([
        "snapshot",
        `localhost:${srv.port}`,
        "--tls",
        "--ca",
        `${dir}/cert.pem`,
        "--format",
        "ndjson",
      ], { timeoutMs: 20000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split("\n").filter((l) => l.includes('"type":"vrp"')).length, 20);
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: bad flags are usage errors (exit 2)", async () => {
  for (
    const args of [
      ["serve"],
      ["serve", "a.json", "--aspa-layout", "old"],
      ["serve", "a.json", "--refresh", "9000", "--expire", "8000"],
      ["serve", "a.json", "--protocol", "3"],
      ["serve", "a.json", "--cert", "c.pem"],
      ["serve", "a.json", "--listen", "127.0.0.1:99999"],
    ]
  ) {
    const r = await runRtr(args, { timeoutMs: 20000 });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^rtr: /);
  }
});

Deno.test("rtr serve: on SIGTERM a v2 router gets Error Report code 13 before the close, a v1 router a clean close; exit 0", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.json`;
  await writeTable(file, 30);
  const srv = await startServe(file);
  const v1 = await RawRtr.connect(srv.port);
  const v2 = await RawRtr.connect(srv.port);
  try {
    await v1.send(resetQuery(1));
    await v2.send(resetQuery(2));
    assert.equal(eodOf((await v1.read()).pdus).serial, 1);
    assert.equal(eodOf((await v2.read()).pdus).serial, 1);
    const code = srv.stop("SIGTERM");
    const a = await v2.read(() => false);
    assert.equal(a.closed, true);
    assert.equal(a.pdus.length, 1);
    const e = a.pdus[0];
    assert.deepEqual(e.type === 10 && [e.version, e.errorCode, e.text], [
      2,
      13,
      "Cache shutting down",
    ]);
    const b = await v1.read(() => false);
    assert.deepEqual(b, { pdus: [], closed: true });
    v1.close();
    v2.close();
    assert.equal(await code, 0);
    assert.match(srv.log(), /sent Error Report code 13 \(Cache Shutdown\), closing/);
  } finally {
    v1.close();
    v2.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: SIGTERM right after the listening line exits 0, every time", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.json`;
  await writeTable(file, 5);
  try {
    const codes: number[] = [];
    // 20 starts, 4 at a time: the signal lands as soon as "listening" is read.
    for (let round = 0; round < 5; round++) {
      codes.push(
        ...await Promise.all(
          [0, 1, 2, 3].map(async () => (await startServe(file)).stop("SIGTERM")),
        ),
      );
    }
    assert.deepEqual(codes, new Array(20).fill(0));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: idle and slowloris connections are closed at their deadlines, a full server evicts an idle one, and a router is served", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.json`;
  await writeTable(file, 20);
  const srv = await startServe(file, [
    "--first-query-timeout",
    "0.5",
    "--pdu-timeout",
    "0.5",
    "--max-connections",
    "2",
  ]);
  const open: RawRtr[] = [];
  try {
    const idle = await RawRtr.connect(srv.port);
    open.push(idle);
    assert.ok(await idle.closed(5000), "idle connection closed");
    await srv.waitLog(/no query within 0\.5 s \(--first-query-timeout\), closing/);

    // A router that negotiated and then sends half a Serial Query is told why.
    const slow = await RawRtr.connect(srv.port);
    open.push(slow);
    await slow.send(resetQuery(2));
    const { sessionId } = eodOf((await slow.read()).pdus);
    await slow.send(serialQuery(2, sessionId, 1).subarray(0, 5));
    const r = await slow.read(() => false, 5000);
    assert.equal(r.closed, true);
    const e = r.pdus[0];
    assert.deepEqual(e.type === 10 && [e.errorCode, e.text], [
      10,
      "PDU not completed within 0.5 s",
    ]);
    await srv.waitLog(/\(--pdu-timeout\): sent Error Report code 10 \(Transport Error\)/);

    // Two idle connections fill both slots: a router still gets in, the oldest idle one goes.
    const a = await RawRtr.connect(srv.port);
    const b = await RawRtr.connect(srv.port);
    open.push(a, b);
    await srv.waitLog(/connected \(2 open\)(.|\n)*connected \(2 open\)/);
    const c = await RawRtr.connect(srv.port);
    open.push(c);
    await c.send(resetQuery(1));
    assert.deepEqual(lines((await c.read()).pdus), await fileLines(file, 1));
    assert.match(srv.log(), /evicted: no query after [\d.]+ s and every slot is taken/);
    assert.ok(await a.closed(), "the oldest idle connection was evicted");
  } finally {
    for (const c of open) c.close();
    assert.equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: a TLS connection that never starts its handshake is closed at --handshake-timeout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    if (!await makeCert(dir)) return;
    const file = `${dir}/t.json`;
    await writeTable(file, 20);
    const srv = await startServe(file, [
      "--tls",
      "--cert",
      `${dir}/cert.pem`,
      "--key",
      `${dir}/key.pem`,
      "--handshake-timeout",
      "0.5",
    ]);
    try {
      const silent = await RawRtr.connect(srv.port);
      await srv.waitLog(/connected \(1 open\)/);
      // Deno keeps a TLS socket whose handshake never started open until the peer sends or
      // leaves; the deadline frees the slot and says so.
      await srv.waitLog(/TLS handshake not done within 0\.5 s \(--handshake-timeout\), closing/);
      await srv.waitLog(/disconnected after [\d.]+ s, 0 bytes sent \(0 open\)/);
      const r = await runRtr([
        "snapshot",
        `localhost:${srv.port}`,
        "--tls",
        "--ca",
        `${dir}/cert.pem`,
        "--format",
        "ndjson",
      ], { timeoutMs: 20000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split("\n").filter((l) => l.includes('"type":"vrp"')).length, 20);
      silent.close();
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A self-signed certificate for localhost in DIR; false (after a SKIPPED line) without openssl. */
async function makeCert(dir: string): Promise<boolean> {
  const gen = new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`, "-days", "1"],
      ...["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
      ...["-addext", "basicConstraints=critical,CA:FALSE"],
    ],
    stdout: "null",
    stderr: "null",
  });
  try {
    if ((await gen.output()).success) return true;
  } catch { /* no openssl */ }
  console.warn("SKIPPED: openssl not available to make a test certificate");
  return false;
}

/** `n` rpki-client CSV rows, 10.x.y.0/24 from `base`. */
function csvRows(n: number, base = 0): string {
  let out = "ASN,IP Prefix,Max Length,Trust Anchor\n";
  for (let i = base; i < base + n; i++) {
    out += `AS${64496 + i},10.${(i >> 8) & 255}.${i & 255}.0/24,24,ripe\n`;
  }
  return out;
}

Deno.test("rtr serve: a table rewritten in place that reads short, or as empty, is refused (--max-drop); --allow-large-drop accepts it", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/t.csv`;
  await Deno.writeTextFile(file, csvRows(400));
  const srv = await startServe(file, ["--notify-interval", "0.1"]);
  try {
    await srv.waitLog(/loaded .*t\.csv.*400 VRPs/);
    // A rewrite caught at a line boundary: 150 of the 400 rows.
    await Deno.writeTextFile(file, csvRows(150));
    await srv.waitLog(
      /refused .*t\.csv \(file changed\): 150 records would replace 400, a drop of 62\.5 % \(above 50 %\), see --max-drop; still serving serial 1/,
    );
    await Deno.writeTextFile(`${file}.tmp`, "[]");
    await Deno.rename(`${file}.tmp`, file);
    await srv.waitLog(/0 records would replace 400, a drop of 100 %/);
    const c = await RawRtr.connect(srv.port);
    await c.send(resetQuery(1));
    const full = await c.read();
    assert.equal(eodOf(full.pdus).serial, 1);
    assert.equal(lines(full.pdus).length, 400);
    // Within the bound (write, then rename): served.
    await Deno.writeTextFile(`${file}.tmp`, csvRows(300, 250));
    await Deno.rename(`${file}.tmp`, file);
    await srv.waitLog(/serial 1 → 2 \(150 announced, 250 withdrawn\)/);
    c.close();
  } finally {
    assert.equal(await srv.stop(), 0);
  }
  const lenient = await startServe(file, ["--allow-large-drop"]);
  try {
    await Deno.writeTextFile(`${file}.tmp`, csvRows(10));
    await Deno.rename(`${file}.tmp`, file);
    await lenient.waitLog(/serial 1 → 2 \(10 announced, 300 withdrawn\)/);
  } finally {
    assert.equal(await lenient.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve: bad hardening flags are usage errors (exit 2)", async () => {
  for (
    const args of [
      ["serve", "a.json", "--max-drop", "120%"],
      ["serve", "a.json", "--max-drop", "half"],
      ["serve", "a.json", "--pdu-timeout", "0"],
      ["serve", "a.json", "--first-query-timeout", "-1"],
    ]
  ) {
    const r = await runRtr(args, { timeoutMs: 20000 });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^rtr: /);
  }
});
