/**
 * `rtr serve --upstream` in front of StayRTR: RTRlib's rtrclient (v1), StayRTR's rtrdump (v0,
 * v1) and `rtr snapshot` (v2) behind it get exactly what each gets from StayRTR itself; StayRTR's
 * file changing reaches a router as a delta after a Serial Notify; StayRTR restarted (a new
 * session, other data) reaches it as a delta of our session, never a Cache Reset; a tls://
 * upstream is followed with --upstream-ca and refused without it.
 */
import assert from "node:assert/strict";
import { parseTableText, readTableFile } from "../../lib/formats/read.ts";
import type { PayloadTable } from "../../lib/model/mod.ts";
import { generateTable, tableJson } from "../../tools/gen_table.ts";
import {
  freePort,
  requirePeers,
  runCommand,
  runRtr,
  startStayRtr,
  startStayRtrOn,
  waitForPort,
} from "../helpers/peers.ts";
import { RawRtr, startServe } from "../helpers/serve.ts";
import { type Pdu, PduType } from "../../lib/wire/mod.ts";
import { formatPrefix } from "../../lib/model/mod.ts";

async function writeTable(file: string, count: number, seed: number): Promise<void> {
  const t = await generateTable({ count, seed, routerKeys: 3, aspas: 12, buildtime: "now" });
  await Deno.writeTextFile(`${file}.tmp`, tableJson(t));
  await Deno.rename(`${file}.tmp`, file);
}

/** A table as sorted text lines, limited to what `version` carries. */
function linesOf(t: PayloadTable, version: number): string[] {
  const out = [...t.vrps].map((v) => `vrp ${v.prefix} ${v.maxLength} AS${v.asn}`);
  if (version >= 1) {
    for (const k of t.routerKeys) out.push(`key AS${k.asn} ${k.ski.toUpperCase()} ${k.pubkey}`);
  }
  if (version >= 2) { for (const a of t.aspas) out.push(`aspa AS${a.customer} ${a.providers}`); }
  return out.sort();
}

/** What each tool gets from the cache at `port`, by tool name. */
async function viewsOf(port: number, dir: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const rc = await runCommand("rtrclient", ["-e", "-t", "csv", "tcp", "127.0.0.1", `${port}`], {
    timeoutMs: 20000,
  });
  assert.equal(rc.code, 0, rc.stderr);
  out.rtrclient = linesOf(parseTableText(rc.stdout, "rtrclient").table, 0);
  for (const v of [0, 1]) {
    const file = `${dir}/rtrdump-${port}-${v}.json`;
    const rd = await runCommand("rtrdump", [
      "-connect",
      `127.0.0.1:${port}`,
      "-rtr.version",
      `${v}`,
      "-file",
      file,
    ], { timeoutMs: 20000 });
    assert.equal(rd.code, 0, rd.stderr);
    out[`rtrdump v${v}`] = linesOf((await readTableFile(file)).table, v);
  }
  const r = await runRtr(["snapshot", `127.0.0.1:${port}`, "--protocol", "2"], {
    timeoutMs: 20000,
  });
  assert.equal(r.code, 0, r.stderr);
  out["rtr snapshot v2"] = linesOf(parseTableText(r.stdout, "snapshot").table, 2);
  return out;
}

Deno.test("interop: behind rtr serve --upstream, rtrclient, rtrdump v0/v1 and rtr snapshot v2 get exactly StayRTR's table", async () => {
  if (!requirePeers("stayrtr", "rtrclient", "rtrdump")) return;
  const dir = await Deno.makeTempDir();
  const file = `${dir}/table.json`;
  await writeTable(file, 500, 11);
  const stay = await startStayRtr(file);
  try {
    const srv = await startServe(`--upstream=127.0.0.1:${stay.port}`);
    try {
      await srv.waitLog(/serving serial 1 /);
      const theirs = await viewsOf(stay.port, dir);
      const ours = await viewsOf(srv.port, dir);
      assert.ok(theirs["rtr snapshot v2"].length > 500, "StayRTR served the table");
      assert.ok(theirs["rtr snapshot v2"].some((l) => l.startsWith("aspa ")), "with ASPA");
      assert.deepEqual(ours, theirs);
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    await stay.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** `+192.0.2.0/24-24 AS1` lines of the prefix PDUs, sorted. */
function payload(pdus: Pdu[]): string[] {
  return pdus.filter((p) => p.type === 4 || p.type === 6).map((p) => {
    if (p.type !== 4 && p.type !== 6) return "";
    const prefix = formatPrefix(p.type === 4 ? 4 : 6, p.addr, p.prefixLength);
    return `${p.flags & 1 ? "+" : "-"}${prefix}-${p.maxLength} AS${p.asn}`;
  }).sort();
}

function vrpLines(t: PayloadTable, sign: string): string[] {
  return [...t.vrps].map((v) => `${sign}${v.prefix}-${v.maxLength} AS${v.asn}`);
}

/** The delta from table `a` to `b`, as `payload` writes it. */
function deltaLines(a: PayloadTable, b: PayloadTable): string[] {
  const x = new Set(vrpLines(a, "")), y = new Set(vrpLines(b, ""));
  return [
    ...[...y].filter((l) => !x.has(l)).map((l) => `+${l}`),
    ...[...x].filter((l) => !y.has(l)).map((l) => `-${l}`),
  ].sort();
}

Deno.test("interop: StayRTR's file change and restart with a new session reach a router behind rtr serve as deltas after Serial Notify", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const file = `${dir}/table.json`;
  await writeTable(file, 200, 21);
  // StayRTR re-reads its file every second.
  let stay = await startStayRtr(file, ["-refresh", "1"]);
  let srv;
  try {
    srv = await startServe(`--upstream=127.0.0.1:${stay.port}`, [
      "--upstream-retry",
      "0.5",
      "--notify-interval",
      "0.1",
    ]);
    await srv.waitLog(/serving serial 1 /);
    const r = await RawRtr.connect(srv.port);
    try {
      await r.send(new Uint8Array([1, 2, 0, 0, 0, 0, 0, 8])); // Reset Query v1
      const first = await r.read();
      const eod = first.pdus.at(-1)!;
      const session = eod.type === PduType.EndOfData ? eod.sessionId : -1;
      const t1 = (await readTableFile(file)).table;
      assert.deepEqual(payload(first.pdus), vrpLines(t1, "+").sort());

      const sync = async (serial: number): Promise<Pdu[]> => {
        const n = await r.read((p) => p.type === PduType.SerialNotify, 30000);
        assert.equal(n.pdus.at(-1)?.type, PduType.SerialNotify);
        const q = new Uint8Array(12);
        new DataView(q.buffer).setUint32(0, (1 << 24) | (1 << 16) | session);
        new DataView(q.buffer).setUint32(4, 12);
        new DataView(q.buffer).setUint32(8, serial);
        await r.send(q);
        const d = await r.read();
        assert.equal(d.pdus[0].type, PduType.CacheResponse, JSON.stringify(d.pdus[0]));
        const end = d.pdus.at(-1)!;
        assert.ok(end.type === PduType.EndOfData && end.sessionId === session);
        return d.pdus;
      };

      // The file changes: StayRTR notifies us, we notify the router, it gets the delta.
      await writeTable(file, 200, 22);
      const t2 = (await readTableFile(file)).table;
      let d = await sync(1);
      assert.deepEqual(payload(d), deltaLines(t1, t2));

      // StayRTR restarts (a new session) with other data: a delta, no reset.
      const port = stay.port;
      await stay.stop();
      await writeTable(file, 200, 23);
      const t3 = (await readTableFile(file)).table;
      stay = await startStayRtrOn(port, file, ["-refresh", "1"]);
      d = await sync(2);
      assert.deepEqual(payload(d), deltaLines(t2, t3));
      await srv.waitLog(/upstream 127\.0\.0\.1:\d+: new session/);
      assert.doesNotMatch(srv.log(), /Cache Reset/);
    } finally {
      r.close();
    }
  } finally {
    if (srv) assert.equal(await srv.stop(), 0);
    await stay.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

async function openssl(dir: string, args: string[]) {
  const r = await runCommand("openssl", args, { cwd: dir, timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** A throwaway CA and a server certificate for 127.0.0.1 signed by it. */
async function makePki(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(
    dir,
    ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]
      .concat(["-subj", "/CN=rtr test CA"]),
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
  );
  await openssl(
    dir,
    ["req", ...ec, "-keyout", "server.key", "-out", "server.csr"]
      .concat(["-subj", "/CN=127.0.0.1"]),
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
}

Deno.test("interop: rtr serve --upstream tls:// follows StayRTR's TLS port with --upstream-ca and serves its table over TCP", async () => {
  if (!requirePeers("stayrtr", "openssl")) return;
  const dir = await Deno.makeTempDir();
  await makePki(dir);
  const file = `${dir}/table.json`;
  await writeTable(file, 100, 31);
  const tlsPort = freePort();
  const stay = await startStayRtr(file, [
    "-tls.bind",
    `127.0.0.1:${tlsPort}`,
    "-tls.cert",
    `${dir}/server.pem`,
    "-tls.key",
    `${dir}/server.key`,
  ]);
  try {
    await waitForPort(tlsPort);
    const srv = await startServe(`--upstream=tls://127.0.0.1:${tlsPort}`, [
      "--upstream-ca",
      `${dir}/ca.pem`,
    ]);
    try {
      await srv.waitLog(/serving serial 1 /);
      const r = await runRtr(["snapshot", `127.0.0.1:${srv.port}`, "--protocol", "1"]);
      assert.equal(r.code, 0, r.stderr);
      const { table } = await readTableFile(file);
      assert.deepEqual(linesOf(parseTableText(r.stdout, "snapshot").table, 1), linesOf(table, 1));
      assert.match(srv.log(), new RegExp(`upstream tls://127\\.0\\.0\\.1:${tlsPort}: synced`));
    } finally {
      assert.equal(await srv.stop(), 0);
    }
    // Without the CA the certificate is refused: one line, nothing served.
    const untrusted = await startServe(`--upstream=tls://127.0.0.1:${tlsPort}`);
    try {
      await untrusted.waitLog(
        new RegExp(`upstream tls://127\\.0\\.0\\.1:${tlsPort}: Cannot connect`),
      );
      const r = await runRtr(["snapshot", `127.0.0.1:${untrusted.port}`]);
      assert.equal(r.code, 4, r.stderr);
    } finally {
      assert.equal(await untrusted.stop(), 0);
    }
  } finally {
    await stay.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
