/**
 * `rtr serve` with two StayRTR upstreams: `--combine merge` serves the union, `--combine any`
 * serves the first and fails over to the second when the first is killed; an unreachable
 * upstream and one that answers garbage each cost one line on stderr, and a router already
 * served keeps its session.
 */
import assert from "node:assert/strict";
import { parseTableText } from "../../lib/formats/read.ts";
import type { PayloadTable } from "../../lib/model/mod.ts";
import { freePort, requirePeers, runRtr, startStayRtr, stayRtrJson } from "../helpers/peers.ts";
import { RawRtr, startServe } from "../helpers/serve.ts";
import { PduType } from "../../lib/wire/mod.ts";

const A = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "198.51.100.0/24", maxLength: 24, asn: 64497 },
  { prefix: "2001:db8::/32", maxLength: 48, asn: 64496 },
];
const B = [
  { prefix: "198.51.100.0/24", maxLength: 24, asn: 64497 },
  { prefix: "203.0.113.0/24", maxLength: 24, asn: 64498 },
  { prefix: "2001:db8:1::/48", maxLength: 48, asn: 64499 },
];
const ASPA_A = [{ customer_asid: 64496, providers: [64510] }];
const ASPA_B = [{ customer_asid: 64496, providers: [64511] }, {
  customer_asid: 64499,
  providers: [64512],
}];

function lines(t: PayloadTable): string[] {
  return [
    ...[...t.vrps].map((v) => `${v.prefix} ${v.maxLength} AS${v.asn}`),
    ...t.aspas.map((a) => `aspa AS${a.customer} ${a.providers}`),
  ].sort();
}

function expected(roas: typeof A, aspas: { customer_asid: number; providers: number[] }[]) {
  const byCustomer = new Map<number, Set<number>>();
  for (const a of aspas) {
    const s = byCustomer.get(a.customer_asid) ?? new Set();
    for (const p of a.providers) s.add(p);
    byCustomer.set(a.customer_asid, s);
  }
  return [
    ...new Set(roas.map((v) => `${v.prefix} ${v.maxLength} AS${v.asn}`)),
    ...[...byCustomer].map(([c, s]) => `aspa AS${c} ${[...s].sort((x, y) => x - y)}`),
  ].sort();
}

async function snapshot(port: number): Promise<string[]> {
  const r = await runRtr(["snapshot", `127.0.0.1:${port}`, "--protocol", "2"], {
    timeoutMs: 20000,
  });
  assert.equal(r.code, 0, r.stderr);
  return lines(parseTableText(r.stdout, "snapshot").table);
}

/** Snapshot until it equals `want` (bounded); returns the last one. */
async function eventually(port: number, want: string[]): Promise<string[]> {
  const deadline = Date.now() + 20000;
  let got = await snapshot(port);
  while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    got = await snapshot(port);
  }
  return got;
}

async function twoCaches(dir: string) {
  await Deno.writeTextFile(`${dir}/a.json`, stayRtrJson(A, [], ASPA_A));
  await Deno.writeTextFile(`${dir}/b.json`, stayRtrJson(B, [], ASPA_B));
  return [await startStayRtr(`${dir}/a.json`), await startStayRtr(`${dir}/b.json`)];
}

Deno.test("interop: two StayRTR upstreams with --combine merge serve the union", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const [a, b] = await twoCaches(dir);
  try {
    const srv = await startServe(`--upstream=127.0.0.1:${a.port}`, [
      "--upstream",
      `127.0.0.1:${b.port}`,
      "--combine",
      "merge",
    ]);
    try {
      const want = expected([...A, ...B], [...ASPA_A, ...ASPA_B]);
      assert.deepEqual(await eventually(srv.port, want), want);
      await srv.waitLog(/serving the union of 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: --combine any serves the first StayRTR and fails over to the second when it is killed", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const [a, b] = await twoCaches(dir);
  try {
    const srv = await startServe(`--upstream=127.0.0.1:${a.port}`, [
      "--upstream",
      `127.0.0.1:${b.port}`,
      "--combine",
      "any",
      "--upstream-retry",
      "0.5",
    ]);
    try {
      const wantA = expected(A, ASPA_A), wantB = expected(B, ASPA_B);
      await srv.waitLog(
        /upstream 127\.0\.0\.1:\d+: synced.*\n(.*\n)*.*upstream 127\.0\.0\.1:\d+: synced/,
      );
      assert.deepEqual(await eventually(srv.port, wantA), wantA);
      a.child.kill("SIGKILL");
      await a.child.status;
      assert.deepEqual(await eventually(srv.port, wantB), wantB);
      await srv.waitLog(new RegExp(`serving upstream 127\\.0\\.0\\.1:${b.port}`));
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: an unreachable upstream and one that answers garbage each get one line; the others are served", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/b.json`, stayRtrJson(B, [], ASPA_B));
  const good = await startStayRtr(`${dir}/b.json`);
  // Answers anything with an HTTP error, as a web server on the wrong port would.
  const garbage = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const garbagePort = (garbage.addr as Deno.NetAddr).port;
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const c of garbage) {
      conns.push(c);
      (async () => {
        const buf = new Uint8Array(1024);
        try {
          while ((await c.read(buf)) !== null) {
            await c.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
          }
        } catch { /* closed */ }
      })();
    }
  })();
  const nobody = freePort();
  try {
    const srv = await startServe(`--upstream=127.0.0.1:${nobody}`, [
      "--upstream",
      `127.0.0.1:${garbagePort}`,
      "--upstream",
      `127.0.0.1:${good.port}`,
      "--combine",
      "merge",
      "--upstream-retry",
      "0.2",
    ]);
    try {
      const want = expected(B, ASPA_B);
      // A router served before the bad upstreams are retried keeps its session throughout.
      await srv.waitLog(/serving serial 1 /);
      const r = await RawRtr.connect(srv.port);
      await r.send(new Uint8Array([1, 2, 0, 0, 0, 0, 0, 8]));
      const first = await r.read();
      assert.equal(first.pdus.at(-1)?.type, PduType.EndOfData);
      // Several retries of each bad upstream.
      const deadline = Date.now() + 20000;
      while (Date.now() < deadline && (srv.log().match(/connection refused/g) ?? []).length < 1) {
        await new Promise((res) => setTimeout(res, 100));
      }
      await new Promise((res) => setTimeout(res, 1500));
      assert.deepEqual(await snapshot(srv.port), want);
      const about = (port: number) =>
        srv.log().split("\n").filter((l) => l.startsWith(`rtr serve: upstream 127.0.0.1:${port}`));
      assert.deepEqual(about(nobody), [
        `rtr serve: upstream 127.0.0.1:${nobody}: Cannot connect to 127.0.0.1:${nobody}: connection refused`,
      ]);
      const bad = about(garbagePort);
      assert.equal(bad.length, 1, bad.join("\n"));
      // The router's session is still open and answers.
      const serial = first.pdus.at(-1)!.type === PduType.EndOfData ? 1 : 0;
      const end = first.pdus.at(-1)!;
      const session = end.type === PduType.EndOfData ? end.sessionId : -1;
      const q = new Uint8Array(12);
      new DataView(q.buffer).setUint32(0, (1 << 24) | (1 << 16) | session);
      new DataView(q.buffer).setUint32(4, 12);
      new DataView(q.buffer).setUint32(8, serial);
      await r.send(q);
      const again = await r.read();
      assert.deepEqual(again.pdus.map((p) => p.type), [PduType.CacheResponse, PduType.EndOfData]);
      r.close();
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    garbage.close();
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await serving.catch(() => {});
    await good.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: rtr serve FILE --upstream serves the file's table and StayRTR's together", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/a.json`, stayRtrJson(A, [], ASPA_A));
  await Deno.writeTextFile(`${dir}/b.json`, stayRtrJson(B, [], ASPA_B));
  const b = await startStayRtr(`${dir}/b.json`);
  try {
    const srv = await startServe(`${dir}/a.json`, ["--upstream", `127.0.0.1:${b.port}`]);
    try {
      const want = expected([...A, ...B], [...ASPA_A, ...ASPA_B]);
      assert.deepEqual(await eventually(srv.port, want), want);
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
