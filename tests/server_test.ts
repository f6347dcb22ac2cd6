import { assert, assertEquals as eq, assertOk } from "./helpers/assert.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { RtrCache } from "../lib/cache/mod.ts";
import { RtrServer } from "../lib/server.ts";
import { memoryPair, type RtrConn, type RtrListener } from "../lib/transport.ts";
import { formatPrefix, makeTable, type PayloadTable, type Vrp, VrpSet } from "../lib/model/mod.ts";
import { encodePdu, type Pdu, PduFramer, PduType } from "../lib/wire/mod.ts";

const SESSION = 4242;

/** `n` VRPs 10.x.y.0/24 AS(asn0 + i), distinct per `base`. */
function vrps(n: number, base = 0, asn0 = 64496): Vrp[] {
  const out: Vrp[] = [];
  for (let i = 0; i < n; i++) {
    const k = base + i;
    out.push({ prefix: `10.${(k >> 8) & 255}.${k & 255}.0/24`, maxLength: 24, asn: asn0 + i });
  }
  return out;
}

function table(list: Vrp[]): PayloadTable {
  return makeTable(VrpSet.from(list), [], []);
}

/** A listener fed by the test: `connect()` gives the router's end of a new memory pair. */
function memoryListener(): RtrListener & { connect(wrap?: (c: RtrConn) => RtrConn): RtrConn } {
  const queue: RtrConn[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let port = 40000;
  return {
    addr: { hostname: "127.0.0.1", port: 8282 },
    close() {
      closed = true;
      wake?.();
    },
    connect(wrap = (c) => c) {
      const [router, server] = memoryPair({ hostname: "127.0.0.1", port: port++ });
      queue.push(wrap(server));
      wake?.();
      return router;
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        while (queue.length === 0 && !closed) await new Promise<void>((r) => wake = r);
        if (closed) return;
        yield queue.shift()!;
      }
    },
  };
}

/**
 * The server's end of a router that reads `budget` bytes and then nothing: writes beyond it
 * never complete (a full socket), until the connection is closed, when they fail.
 */
function stopsReading(conn: RtrConn, budget: number): RtrConn {
  let left = budget;
  const blocked: Array<(e: Error) => void> = [];
  return {
    ...conn,
    write(bytes) {
      if (left <= 0) {
        return new Promise<number>((_, reject) => blocked.push(reject));
      }
      const n = Math.min(left, bytes.length);
      left -= n;
      return conn.write(bytes.subarray(0, n));
    },
    close() {
      conn.close();
      for (const r of blocked.splice(0)) r(new Deno.errors.BrokenPipe("connection closed"));
    },
  };
}

/** A test router: sends queries, reads PDUs (every wait bounded in real time). */
class Router {
  readonly conn: RtrConn;
  readonly #framer = new PduFramer();
  readonly #pdus: Pdu[] = [];
  readonly #buf = new Uint8Array(64 * 1024);
  constructor(conn: RtrConn) {
    this.conn = conn;
  }

  send(pdu: Pdu): Promise<number> {
    return this.conn.write(encodePdu(pdu));
  }

  /** The next PDU, or null at end of stream. */
  async next(): Promise<Pdu | null> {
    while (this.#pdus.length === 0) {
      const n = await bounded(this.conn.read(this.#buf), "a PDU from the server");
      if (n === null) return null;
      this.#framer.push(this.#buf.subarray(0, n), (p) => this.#pdus.push(p));
    }
    return this.#pdus.shift()!;
  }

  /** PDUs up to and including End of Data, Cache Reset or Error Report. */
  async response(): Promise<Pdu[]> {
    const out: Pdu[] = [];
    while (true) {
      const p = await this.next();
      if (!p) throw new Error(`stream ended after ${out.length} PDUs`);
      out.push(p);
      if (p.type === PduType.EndOfData || p.type === PduType.CacheReset) return out;
      if (p.type === PduType.ErrorReport) return out;
    }
  }
}

async function bounded<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wait (bounded, yielding to the event loop) until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  assertOk(cond(), `timed out waiting for ${what}`);
}

/** Announced (+) and withdrawn (-) VRPs of a response, sorted. */
function payload(pdus: Pdu[]): string[] {
  const out: string[] = [];
  for (const p of pdus) {
    if (p.type !== 4 && p.type !== 6) continue;
    const prefix = formatPrefix(p.type === 4 ? 4 : 6, p.addr, p.prefixLength);
    out.push(`${p.flags & 1 ? "+" : "-"}${prefix}-${p.maxLength} AS${p.asn}`);
  }
  return out.sort();
}

function lines(list: Vrp[], sign: string): string[] {
  return list.map((v) => `${sign}${v.prefix}-${v.maxLength} AS${v.asn}`);
}

function setup(
  opts: { retry?: number; maxConnections?: number; sessionId?: number; history?: number } = {},
) {
  const clock = new FakeClock();
  const cache = new RtrCache({
    sessionId: opts.sessionId ?? SESSION,
    retry: opts.retry ?? 600,
    reuseChunks: true,
    historySize: opts.history,
  });
  const log: string[] = [];
  const server = new RtrServer(cache, {
    clock,
    log: (l) => log.push(l),
    maxConnections: opts.maxConnections,
    notifyIntervalMs: 60_000,
    handshakeMs: 5_000,
    firstQueryMs: 20_000,
    pduMs: 10_000,
  });
  const listener = memoryListener();
  const accepting = server.serve(listener);
  const stop = () => stopServer(server, clock);
  return { clock, cache, server, listener, log, accepting, stop };
}

/**
 * `server.stop()` for routers that do not close on their own: virtual time moves on (in steps,
 * yielding to the event loop) until the linger and drain bounds have let every connection go.
 */
async function stopServer(server: RtrServer, clock: FakeClock): Promise<void> {
  let done = false;
  const p = server.stop().then(() => done = true);
  for (let i = 0; i < 200 && !done; i++) {
    await new Promise((r) => setTimeout(r, 1));
    clock.advance(100);
  }
  await bounded(p, "the server to stop");
}

Deno.test("RtrServer: a Reset Query over a memory pair gets the full table", async () => {
  const { server, listener, accepting, log, stop } = setup();
  const t = vrps(3000);
  server.publish(table(t));
  const r = new Router(listener.connect());
  await r.send({ type: PduType.ResetQuery, version: 2 });
  const pdus = await r.response();
  eq(pdus[0], { type: PduType.CacheResponse, version: 2, sessionId: SESSION });
  eq(payload(pdus), lines(t, "+").sort());
  const end = pdus.at(-1)!;
  eq(end.type === PduType.EndOfData && [end.serial, end.retry], [1, 600]);
  await stop();
  await accepting;
  const bye = await r.next();
  eq(bye?.type === PduType.ErrorReport && bye.errorCode, 13);
  eq(await r.next(), null);
  assertOk(
    log.some((l) => /^127\.0\.0\.1:40000 disconnected after [\d.]+ s, [\d.]+ kB sent/.test(l)),
  );
});

Deno.test("RtrServer: a change sends Serial Notify at most once per interval, and a Serial Query gets exactly the delta", async () => {
  const { clock, server, listener, accepting, log, stop } = setup();
  const t1 = vrps(100), t2 = [...vrps(90), ...vrps(5, 500)], t3 = [...t2, ...vrps(1, 900)];
  server.publish(table(t1));
  const r = new Router(listener.connect());
  await r.send({ type: PduType.ResetQuery, version: 1 });
  eq((await r.response()).length, 102);

  // The first table's notify round (to nobody) was at this instant: the next waits a minute.
  eq(server.publish(table(t2)).serial, 2);
  clock.advance(59_999);
  eq(log.filter((l) => l.startsWith("sent Serial Notify")).length, 0);
  clock.advance(1);
  eq(await r.next(), { type: PduType.SerialNotify, version: 1, sessionId: SESSION, serial: 2 });
  eq(log.filter((l) => l.startsWith("sent Serial Notify")), [
    "sent Serial Notify for serial 2 to 1 router(s)",
  ]);

  await r.send({ type: PduType.SerialQuery, version: 1, sessionId: SESSION, serial: 1 });
  const delta = await r.response();
  eq(delta[0].type, PduType.CacheResponse);
  eq(payload(delta), [...lines(vrps(5, 500), "+"), ...lines(vrps(10, 90, 64496 + 90), "-")].sort());
  const end = delta.at(-1)!;
  eq(end.type === PduType.EndOfData && end.serial, 2);

  // Another change right after a round: no notify now (the next PDU is our query's answer).
  server.publish(table(t3));
  await r.send({ type: PduType.SerialQuery, version: 1, sessionId: SESSION, serial: 2 });
  const d3 = await r.response();
  eq(d3[0].type, PduType.CacheResponse);
  eq(payload(d3), lines(vrps(1, 900), "+"));
  // When the deferred round comes the router is up to date: nothing is sent to it.
  clock.advance(60_000);
  await r.send({ type: PduType.SerialQuery, version: 1, sessionId: SESSION, serial: 3 });
  const d4 = await r.response();
  eq(d4.map((p) => p.type), [PduType.CacheResponse, PduType.EndOfData]);
  eq(log.filter((l) => l.startsWith("sent Serial Notify")).length, 1);
  await stop();
  await accepting;
});

Deno.test("RtrServer: a router that never reads is dropped after 3 × Retry without slowing another", async () => {
  const { clock, server, listener, accepting, log, stop } = setup({ retry: 10 });
  const t = vrps(5000);
  server.publish(table(t));
  // Reads 16 KiB of its ~100 kB answer, then nothing.
  const stuck = new Router(listener.connect((c) => stopsReading(c, 16 * 1024)));
  await stuck.send({ type: PduType.ResetQuery, version: 1 });
  await until(() => log.some((l) => l.includes("40000 Reset Query →")), "the stuck query");

  const other = new Router(listener.connect());
  await other.send({ type: PduType.ResetQuery, version: 1 });
  eq(payload(await other.response()), lines(t, "+").sort());
  eq(server.connections, 2);

  clock.advance(29_999);
  eq(server.connections, 2);
  assertOk(!log.some((l) => l.includes("stalled")));
  clock.advance(1);
  assertOk(log.includes("127.0.0.1:40000 stalled: not reading for 30 s, closing"), log.join("\n"));
  await until(() => server.connections === 1, "the stuck router to be dropped");
  assertOk(
    log.some((l) => /^127\.0\.0\.1:40000 disconnected after 30\.0 s, 16\.4 kB sent/.test(l)),
    log.join("\n"),
  );

  // The other router is still served.
  await other.send({ type: PduType.SerialQuery, version: 1, sessionId: SESSION, serial: 1 });
  eq((await other.response()).map((p) => p.type), [PduType.CacheResponse, PduType.EndOfData]);
  await stop();
  await accepting;
});

Deno.test("RtrServer: a Serial Query for a serial not held gets Cache Reset, then a Reset Query works", async () => {
  const { server, listener, accepting, stop } = setup();
  server.publish(table(vrps(10)));
  const r = new Router(listener.connect());
  await r.send({ type: PduType.SerialQuery, version: 2, sessionId: SESSION, serial: 77 });
  eq(await r.response(), [{ type: PduType.CacheReset, version: 2 }]);
  await r.send({ type: PduType.ResetQuery, version: 2 });
  eq((await r.response()).length, 12);
  await stop();
  await accepting;
});

Deno.test("RtrServer: after a fatal Error Report the server lingers, then closes on its clock", async () => {
  const { clock, server, listener, accepting, log, stop } = setup();
  server.publish(table(vrps(10)));
  const r = new Router(listener.connect());
  await r.conn.write(new Uint8Array([1, 5, 0, 0, 0, 0, 0, 8]));
  const e = await r.response();
  eq(e.length, 1);
  eq(e[0].type === PduType.ErrorReport && e[0].errorCode, 5);
  eq(await r.next(), null); // our side is shut, theirs still open: the server lingers
  eq(server.connections, 1);
  clock.advance(999);
  eq(server.connections, 1);
  clock.advance(1);
  await until(() => server.connections === 0, "the linger to end");
  assertOk(log.some((l) => l.startsWith("127.0.0.1:40000 disconnected")));
  await stop();
  await accepting;
});

Deno.test("RtrServer: two listeners share one cache and one connection bound", async () => {
  const { server, listener, accepting, log, stop } = setup({ maxConnections: 2 });
  const second = memoryListener();
  const accepting2 = server.serve(second);
  server.publish(table(vrps(4)));
  const a = new Router(listener.connect());
  const b = new Router(second.connect());
  await a.send({ type: PduType.ResetQuery, version: 0 });
  await b.send({ type: PduType.ResetQuery, version: 2 });
  eq((await a.response()).length, 6);
  eq((await b.response()).length, 6);
  const c = new Router(second.connect());
  eq(await c.next(), null);
  assertOk(log.some((l) => l.endsWith("refused: 2 connections open (--max-connections 2)")));
  await stop();
  await Promise.all([accepting, accepting2]);
  eq(await a.next(), null);
  eq((await b.next())?.type, PduType.ErrorReport);
  eq(await b.next(), null);
  assert.equal(server.connections, 0);
});

/** Wait until the router sees the end of the stream (bounded); the PDUs before it. */
async function untilClosed(r: Router): Promise<Pdu[]> {
  const out: Pdu[] = [];
  while (true) {
    const p = await r.next();
    if (p === null) return out;
    out.push(p);
  }
}

Deno.test("RtrServer: stop sends a version 2 router Cache Shutdown (code 13) before the close, v0/v1 and unnegotiated routers a clean close", async () => {
  const { server, listener, accepting, log, stop } = setup();
  server.publish(table(vrps(20)));
  const routers: Router[] = [];
  for (const v of [0, 1, 2]) {
    const r = new Router(listener.connect());
    await r.send({ type: PduType.ResetQuery, version: v });
    eq((await r.response()).length, 22);
    routers.push(r);
  }
  const idle = new Router(listener.connect());
  await until(() => server.connections === 4, "four connections");
  const stopping = stop();
  const [v0, v1, v2] = await Promise.all(routers.map(untilClosed));
  eq(v0, []);
  eq(v1, []);
  eq(v2.length, 1);
  const e = v2[0];
  eq(e.type === PduType.ErrorReport && [e.version, e.errorCode, e.text], [
    2,
    13,
    "Cache shutting down",
  ]);
  eq(await untilClosed(idle), []);
  for (const r of [...routers, idle]) r.conn.close();
  await stopping;
  await accepting;
  eq(server.connections, 0);
  assertOk(log.includes("127.0.0.1:40002 sent Error Report code 13 (Cache Shutdown), closing"));
});

Deno.test("RtrServer: a connection that never sends a query is closed at the first-query deadline", async () => {
  const { clock, server, listener, accepting, log, stop } = setup();
  server.publish(table(vrps(5)));
  const idle = new Router(listener.connect());
  await until(() => server.connections === 1, "the idle connection");
  clock.advance(19_999);
  eq(server.connections, 1);
  clock.advance(1);
  eq(await untilClosed(idle), []);
  await until(() => server.connections === 0, "the idle connection to go");
  assertOk(log.includes("127.0.0.1:40000 no query within 20 s (--first-query-timeout), closing"));
  // A router that queries at once is not touched by the deadline.
  const r = new Router(listener.connect());
  await r.send({ type: PduType.ResetQuery, version: 1 });
  eq((await r.response()).length, 7);
  clock.advance(60_000);
  eq(server.connections, 1);
  await r.send({ type: PduType.SerialQuery, version: 1, sessionId: SESSION, serial: 1 });
  eq((await r.response()).map((p) => p.type), [PduType.CacheResponse, PduType.EndOfData]);
  await stop();
  await accepting;
});

Deno.test("RtrServer: a PDU left unfinished gets an Error Report at the PDU deadline (Transport Error at v2, Corrupt Data at v1)", async () => {
  const { clock, server, listener, accepting, log, stop } = setup();
  server.publish(table(vrps(5)));
  const want = [[2, 10], [1, 0]];
  for (const [v, code] of want) {
    let read = 0;
    const r = new Router(listener.connect((c) => ({
      ...c,
      read: async (buf) => {
        const n = await c.read(buf);
        read += n ?? 0;
        return n;
      },
    })));
    await r.send({ type: PduType.ResetQuery, version: v });
    eq((await r.response()).length, 7);
    // Slowloris: a Serial Query's bytes one by one, never the last four.
    const q = encodePdu({ type: PduType.SerialQuery, version: v, sessionId: SESSION, serial: 1 });
    for (let i = 0; i < 8; i++) {
      await r.conn.write(q.subarray(i, i + 1));
      await until(() => read === 9 + i, "the byte to be read");
      await new Promise((r) => setTimeout(r, 1));
      clock.advance(1_000);
    }
    clock.advance(1_999);
    eq(server.connections, 1);
    clock.advance(1);
    const pdus = await untilClosed(r);
    eq(pdus.length, 1);
    const e = pdus[0];
    eq(e.type === PduType.ErrorReport && [e.version, e.errorCode, e.text], [
      v,
      code,
      "PDU not completed within 10 s",
    ]);
    r.conn.close();
    await until(() => server.connections === 0, "the slow router to go");
  }
  assertOk(
    log.some((l) =>
      l.endsWith(
        "PDU not completed within 10 s (--pdu-timeout): sent Error Report code 10 (Transport Error), closing",
      )
    ),
  );
  // Before any version is negotiated a half PDU is closed without a word.
  const half = new Router(listener.connect());
  await half.conn.write(new Uint8Array([2, 2, 0]));
  await until(() => server.connections === 1, "the half query");
  await new Promise((r) => setTimeout(r, 5));
  clock.advance(10_000);
  eq(await untilClosed(half), []);
  assertOk(log.some((l) => l.endsWith("(--pdu-timeout), no version negotiated, closing")));
  await stop();
  await accepting;
});

Deno.test("RtrServer: a TLS connection that never completes its handshake is closed at its deadline, then a router is served", async () => {
  const { clock, server, listener, accepting, log, stop } = setup({ maxConnections: 1 });
  server.publish(table(vrps(5)));
  let handshakes = 0;
  const silent = listener.connect((c) => ({
    ...c,
    handshake: () => {
      handshakes++;
      return new Promise<void>(() => {});
    },
  }));
  await until(() => handshakes === 1, "the handshake to start");
  clock.advance(4_999);
  eq(server.connections, 1);
  clock.advance(1);
  await until(() => server.connections === 0, "the silent TLS connection to go");
  assertOk(
    log.includes(
      "127.0.0.1:40000 TLS handshake not done within 5 s (--handshake-timeout), closing",
    ),
  );
  eq(await new Router(silent).next(), null);
  const r = new Router(listener.connect((c) => ({ ...c, handshake: () => Promise.resolve() })));
  await r.send({ type: PduType.ResetQuery, version: 2 });
  eq((await r.response()).length, 7);
  await stop();
  await accepting;
});

Deno.test("RtrServer: with every slot taken, the oldest never-negotiated connection makes room; negotiated routers are never evicted", async () => {
  const { server, listener, accepting, log, stop } = setup({ maxConnections: 2 });
  server.publish(table(vrps(5)));
  const idle1 = new Router(listener.connect());
  const idle2 = new Router(listener.connect());
  await until(() => server.connections === 2, "two idle connections");
  const a = new Router(listener.connect());
  eq(await untilClosed(idle1), []);
  assertOk(
    log.some((l) => l.startsWith("127.0.0.1:40000 evicted: no query after")),
    log.join("\n"),
  );
  await a.send({ type: PduType.ResetQuery, version: 1 });
  eq((await a.response()).length, 7);
  const b = new Router(listener.connect());
  eq(await untilClosed(idle2), []);
  await b.send({ type: PduType.ResetQuery, version: 1 });
  eq((await b.response()).length, 7);
  // Both slots hold negotiated routers now: the newest is refused, as before.
  const c = new Router(listener.connect());
  eq(await c.next(), null);
  assertOk(log.some((l) => l.endsWith("refused: 2 connections open (--max-connections 2)")));
  await a.send({ type: PduType.SerialQuery, version: 1, sessionId: SESSION, serial: 1 });
  eq((await a.response()).map((p) => p.type), [PduType.CacheResponse, PduType.EndOfData]);
  await stop();
  await accepting;
});

Deno.test("RtrServer: after a restart that lost the history, the old session gets Corrupt Data and a Reset Query the table; a kept session id gets Cache Reset", async () => {
  // The first run: the router syncs serial 1 of session 4242.
  const first = setup();
  first.server.publish(table(vrps(10)));
  const r1 = new Router(first.listener.connect());
  await r1.send({ type: PduType.ResetQuery, version: 2 });
  eq((await r1.response()).length, 12);
  await first.stop();
  await first.accepting;

  // A restart picks a new session id (the default): the old one is refused (RFC 8210 §5.1).
  const second = setup({ sessionId: 999 });
  second.server.publish(table(vrps(12)));
  const r2 = new Router(second.listener.connect());
  await r2.send({ type: PduType.SerialQuery, version: 2, sessionId: SESSION, serial: 1 });
  const pdus = await untilClosed(r2);
  eq(pdus.length, 1);
  const e = pdus[0];
  eq(e.type === PduType.ErrorReport && [e.errorCode, e.text], [
    0,
    "Session ID mismatch: got 4242, want 999",
  ]);
  const r3 = new Router(second.listener.connect());
  await r3.send({ type: PduType.ResetQuery, version: 2 });
  const full = await r3.response();
  eq(payload(full), lines(vrps(12), "+").sort());
  eq(full.at(-1)!.type === PduType.EndOfData && full.at(-1), {
    type: PduType.EndOfData,
    version: 2,
    sessionId: 999,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 7200,
  });
  await second.stop();
  await second.accepting;

  // A restart with the same --session-id but no history: serial 5 is not held, Cache Reset.
  const third = setup();
  third.server.publish(table(vrps(12)));
  const r4 = new Router(third.listener.connect());
  await r4.send({ type: PduType.SerialQuery, version: 1, sessionId: SESSION, serial: 5 });
  eq(await r4.response(), [{ type: PduType.CacheReset, version: 1 }]);
  await third.stop();
  await third.accepting;
});
