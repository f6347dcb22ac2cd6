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

function setup(opts: { retry?: number; maxConnections?: number } = {}) {
  const clock = new FakeClock();
  const cache = new RtrCache({ sessionId: SESSION, retry: opts.retry ?? 600, reuseChunks: true });
  const log: string[] = [];
  const server = new RtrServer(cache, {
    clock,
    log: (l) => log.push(l),
    maxConnections: opts.maxConnections,
    notifyIntervalMs: 60_000,
  });
  const listener = memoryListener();
  const accepting = server.serve(listener);
  return { clock, cache, server, listener, log, accepting };
}

Deno.test("RtrServer: a Reset Query over a memory pair gets the full table", async () => {
  const { server, listener, accepting, log } = setup();
  const t = vrps(3000);
  server.publish(table(t));
  const r = new Router(listener.connect());
  await r.send({ type: PduType.ResetQuery, version: 2 });
  const pdus = await r.response();
  eq(pdus[0], { type: PduType.CacheResponse, version: 2, sessionId: SESSION });
  eq(payload(pdus), lines(t, "+").sort());
  const end = pdus.at(-1)!;
  eq(end.type === PduType.EndOfData && [end.serial, end.retry], [1, 600]);
  await server.stop();
  await accepting;
  eq(await r.next(), null);
  assertOk(
    log.some((l) => /^127\.0\.0\.1:40000 disconnected after 0\.0 s, [\d.]+ kB sent/.test(l)),
  );
});

Deno.test("RtrServer: a change sends Serial Notify at most once per interval, and a Serial Query gets exactly the delta", async () => {
  const { clock, server, listener, accepting, log } = setup();
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
  await server.stop();
  await accepting;
});

Deno.test("RtrServer: a router that never reads is dropped after 3 × Retry without slowing another", async () => {
  const { clock, server, listener, accepting, log } = setup({ retry: 10 });
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
  await server.stop();
  await accepting;
});

Deno.test("RtrServer: a Serial Query for a serial not held gets Cache Reset, then a Reset Query works", async () => {
  const { server, listener, accepting } = setup();
  server.publish(table(vrps(10)));
  const r = new Router(listener.connect());
  await r.send({ type: PduType.SerialQuery, version: 2, sessionId: SESSION, serial: 77 });
  eq(await r.response(), [{ type: PduType.CacheReset, version: 2 }]);
  await r.send({ type: PduType.ResetQuery, version: 2 });
  eq((await r.response()).length, 12);
  await server.stop();
  await accepting;
});

Deno.test("RtrServer: after a fatal Error Report the server lingers, then closes on its clock", async () => {
  const { clock, server, listener, accepting, log } = setup();
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
  await server.stop();
  await accepting;
});

Deno.test("RtrServer: two listeners share one cache and one connection bound", async () => {
  const { server, listener, accepting, log } = setup({ maxConnections: 2 });
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
  await server.stop();
  await Promise.all([accepting, accepting2]);
  eq(await a.next(), null);
  eq(await b.next(), null);
  assert.equal(server.connections, 0);
});
