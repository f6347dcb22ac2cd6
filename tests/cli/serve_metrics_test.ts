/**
 * `rtr serve --metrics`: the counters seen through the server's `observe` hook over memory pairs
 * (routers by version, bytes and PDUs sent, queries by kind, Cache Resets, Error Reports by
 * code, /clients), and the HTTP endpoints of a running `rtr serve`.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { memoryListener, TestRouter, until } from "../helpers/memory_rtr.ts";
import { startServe } from "../helpers/serve.ts";
import { RtrCache } from "../../lib/cache/mod.ts";
import { RtrServer } from "../../lib/server.ts";
import { ServeMetrics } from "../../lib/cli/serve_metrics.ts";
import { makeTable, type Vrp, VrpSet } from "../../lib/model/mod.ts";
import { PduType } from "../../lib/wire/mod.ts";
import type { RtrConn } from "../../lib/transport.ts";

const TABLE = new URL("../../testdata/interop-table.json", import.meta.url).pathname;

function vrps(n: number): Vrp[] {
  return Array.from({ length: n }, (_, i) => ({
    prefix: `10.${i >> 8}.${i & 255}.0/24`,
    maxLength: 24,
    asn: 64496 + i,
  }));
}

/** The value of the sample `name{labels}` in exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("ServeMetrics: routers by version, bytes and PDUs, queries, Cache Resets, errors and /clients", async () => {
  const cache = new RtrCache({ sessionId: 9, reuseChunks: true });
  const metrics = new ServeMetrics(cache);
  const server = new RtrServer(cache, { clock: new FakeClock(), observe: metrics.observe });
  const listener = memoryListener();
  const serving = server.serve(listener);
  server.publish(makeTable(VrpSet.from(vrps(300)), [], []));
  try {
    const a = new TestRouter(listener.connect());
    await a.send({ type: PduType.ResetQuery, version: 1 });
    const full = await a.response();
    eq(full.length, 302);
    await a.send({ type: PduType.SerialQuery, version: 1, sessionId: 9, serial: 99 });
    eq(await a.response(), [{ type: PduType.CacheReset, version: 1 }]);
    const b = new TestRouter(listener.connect());
    await b.send({ type: PduType.ResetQuery, version: 0 });
    eq((await b.response()).length, 302);
    const c = new TestRouter(listener.connect());
    await c.conn.write(new Uint8Array([2, 9, 0, 0, 0, 0, 0, 8])); // PDU type 9 from a router
    const e = await c.response();
    const report = e[0];
    if (e.length !== 1 || report.type !== PduType.ErrorReport) throw new Error("no Error Report");
    eq(await c.next(), null); // the server shut its side after the fatal report
    c.close();
    await until(() => server.connections === 2, "the bad router to be gone");

    const text = metrics.render();
    eq(sample(text, 'rtr_serve_routers{version="1"}'), 1);
    eq(sample(text, 'rtr_serve_routers{version="0"}'), 1);
    eq(sample(text, 'rtr_serve_routers{version="2"}'), 0);
    eq(sample(text, 'rtr_serve_queries_total{kind="reset"}'), 2);
    eq(sample(text, 'rtr_serve_queries_total{kind="serial"}'), 1);
    eq(sample(text, "rtr_serve_cache_resets_total"), 1);
    const code = report.errorCode;
    const errors = text.split("\n").filter((l) => l.startsWith("rtr_serve_errors_sent_total{"));
    eq(errors.length, 1, text);
    assertOk(errors[0].startsWith(`rtr_serve_errors_sent_total{code="${code}",name="`), errors[0]);
    assertOk(errors[0].endsWith("} 1"), errors[0]);
    eq(sample(text, "rtr_serve_sent_pdus_total"), 302 + 1 + 302 + 1);
    eq(sample(text, 'rtr_serve_records{type="vrp_ipv4"}'), 300);
    eq(sample(text, "rtr_serve_serial"), 1);
    eq(sample(text, 'rtr_serve_session_id{version="2"}'), 9);
    eq(sample(text, "rtr_serve_data_available"), 1);
    eq(sample(text, "rtr_serve_connections_total"), 3);
    const bytes = sample(text, "rtr_serve_sent_bytes_total")!;
    eq(bytes, 8 + 300 * 20 + 24 + 8 + 8 + 300 * 20 + 12 + bytesOf(e));

    const clients = metrics.clients();
    eq(clients.length, 2);
    const ca = clients.find((x) => x.version === 1)!;
    eq(ca.serial, 1);
    eq(ca.lastQuery?.kind, "serial");
    eq(ca.lastQuery?.serial, 99);
    eq(ca.bytesQueued, 0);
    eq(ca.pdusSent, 303);
    assertOk(/^127\.0\.0\.1:4000\d$/.test(ca.address), ca.address);

    // Withdrawn data is said.
    cache.withdraw();
    eq(sample(metrics.render(), "rtr_serve_data_available"), 0);
    a.close();
    b.close();
  } finally {
    await server.stop();
    await serving;
  }
});

/** Wire size of an Error Report as decoded (header 16 + encapsulated PDU + text). */
function bytesOf(pdus: { type: number }[]): number {
  let n = 0;
  for (const p of pdus) {
    if (p.type !== PduType.ErrorReport) continue;
    const r = p as unknown as { pdu: Uint8Array; text: string };
    n += 16 + r.pdu.length + new TextEncoder().encode(r.text).length;
  }
  return n;
}

Deno.test("rtr serve --metrics serves /metrics and /clients over HTTP", async () => {
  const srv = await startServe(TABLE, ["--metrics", "127.0.0.1:0"]);
  try {
    const port = Number((await srv.waitLog(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1]);
    const m = await fetch(`http://127.0.0.1:${port}/metrics`);
    eq(m.status, 200);
    assertIncludes(m.headers.get("content-type") ?? "", "text/plain; version=0.0.4");
    const text = await m.text();
    eq(sample(text, "rtr_serve_data_available"), 1);
    eq(sample(text, 'rtr_serve_records{type="vrp_ipv4"}'), 6);
    const c = await fetch(`http://127.0.0.1:${port}/clients`);
    eq(c.status, 200);
    eq(await c.json(), []);
    const nf = await fetch(`http://127.0.0.1:${port}/nothing`);
    eq(nf.status, 404);
    await nf.body?.cancel();
  } finally {
    eq(await srv.stop(), 0);
  }
});

Deno.test("ServeMetrics counts PDUs and Error Report codes the same whole, byte by byte and at seeded random cuts", async () => {
  // Prefix PDUs, a Cache Reset, an Error Report (code 2, text "x"), End of Data v1.
  const parts: number[][] = [];
  for (let i = 0; i < 50; i++) parts.push([1, 4, 0, 0, 0, 0, 0, 20, ...new Array(12).fill(i)]);
  parts.push([1, 8, 0, 0, 0, 0, 0, 8]);
  parts.push([1, 10, 0, 2, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 1, 120]);
  parts.push([1, 7, 0, 9, 0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
  const bytes = new Uint8Array(parts.flat());
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const cuttings: number[][] = [[bytes.length], new Array(bytes.length).fill(1)];
  for (let k = 0; k < 20; k++) {
    const cuts: number[] = [];
    for (let left = bytes.length; left > 0;) {
      const n = Math.min(left, 1 + Math.floor(rand() * 40));
      cuts.push(n);
      left -= n;
    }
    cuttings.push(cuts);
  }
  const cache = new RtrCache({ sessionId: 9 });
  for (const cuts of cuttings) {
    const m = new ServeMetrics(cache);
    const sink: RtrConn = {
      localAddr: { hostname: "127.0.0.1", port: 8282 },
      remoteAddr: { hostname: "127.0.0.1", port: 40000 },
      read: () => Promise.resolve(null),
      write: (b) => Promise.resolve(b.length),
      closeWrite: () => Promise.resolve(),
      close: () => {},
    };
    const conn = m.observe(sink, cache.connection());
    let off = 0;
    for (const n of cuts) {
      await conn.write(bytes.subarray(off, off + n));
      off += n;
    }
    eq([m.pdus, m.cacheResets, [...m.errorsSent]], [53, 1, [[2, 1]]], `cuts ${cuts.join(",")}`);
    eq(m.bytes, bytes.length);
  }
});
