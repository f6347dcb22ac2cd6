import { assertEquals as eq, assertOk } from "./helpers/assert.ts";
import { startFakeCache } from "./helpers/fake_cache.ts";
import { type Clock, follow, type FollowEvent } from "../lib/follower.ts";
import { encodePdus, type Pdu, PduFramer } from "../lib/wire/mod.ts";
import { memoryPair, type RtrConn } from "../lib/transport.ts";
import { emptyTable } from "../lib/model/mod.ts";

/**
 * Virtual time: a sleep of `ms` advances it by `ms` after a real pause of ms/1000 (1 to 2000 ms),
 * so real I/O that is due (a Notify already sent) wins over a long timer, as it would for real.
 */
function fakeClock(start = 1_000_000): Clock & { t: number } {
  const c = {
    t: start,
    now: () => c.t,
    setTimer: (ms: number, fn: () => void) =>
      setTimeout(() => {
        c.t += ms;
        fn();
      }, Math.min(2000, Math.max(1, ms / 1000))),
    clearTimer: (h: unknown) => clearTimeout(h as number),
  };
  return c;
}

const p4 = (flags: number, asn: number): Pdu => ({
  type: 4,
  version: 1,
  flags,
  prefixLength: 24,
  maxLength: 24,
  addr: [0xc0000200],
  asn,
});
const cr: Pdu = { type: 3, version: 1, sessionId: 5 };
const eod = (serial: number, refresh = 100): Pdu => ({
  type: 7,
  version: 1,
  sessionId: 5,
  serial,
  refresh,
  retry: 10,
  expire: 1000,
});

async function run(
  port: number,
  stopWhen: (evs: FollowEvent[]) => boolean,
  clock = fakeClock(),
): Promise<FollowEvent[]> {
  const evs: FollowEvent[] = [];
  const ac = new AbortController();
  const guard = setTimeout(() => ac.abort(), 8000);
  await follow({
    host: "127.0.0.1",
    port,
    version: 1,
    // The silence limit is virtual time too (a real pause of 1/1000 of it): 2000 s lets a loaded
    // machine take up to 2 s of real time to answer, so no answer is mistaken for a stall.
    timeoutSec: 2000,
    clock,
    random: () => 0.5,
    signal: ac.signal,
    onEvent: (ev) => {
      evs.push(ev);
      if (stopWhen(evs)) ac.abort();
    },
  });
  clearTimeout(guard);
  return evs;
}

Deno.test("follow sends a Serial Query at Refresh and streams the delta", async () => {
  const cache = startFakeCache(async (c) => {
    eq(await c.readPdu(), { type: 2, version: 1 });
    await c.write([cr, p4(1, 1), eod(1)]);
    eq(await c.readPdu(), { type: 1, version: 1, sessionId: 5, serial: 1 });
    await c.write([cr, p4(0, 1), p4(1, 2), eod(2)]);
    await c.readPdu(3000).catch(() => null);
  });
  try {
    const evs = await run(cache.port, (e) => e.filter((x) => x.kind === "commit").length === 2);
    const commits = evs.filter((e) => e.kind === "commit");
    eq(commits.length, 2);
    const second = commits[1];
    if (second.kind === "commit") {
      eq(second.result.reset, false);
      eq(second.result.previousSerial, 1);
      eq([...second.result.diff.vrps.announced].map((v) => v.asn), [2]);
      eq([...second.result.diff.vrps.withdrawn].map((v) => v.asn), [1]);
    }
  } finally {
    await cache.stop();
  }
});

Deno.test("follow answers Serial Notify at once and Cache Reset with a Reset Query", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    // A long Refresh (3.6 s of real pause): the Notify, not the timer, must trigger the query.
    await c.write([cr, p4(1, 1), eod(1, 3600)]);
    await c.write([{ type: 0, version: 1, sessionId: 5, serial: 2 }]);
    eq(await c.readPdu(), { type: 1, version: 1, sessionId: 5, serial: 1 });
    await c.write([{ type: 8, version: 1 }]);
    eq(await c.readPdu(), { type: 2, version: 1 });
    await c.write([cr, p4(1, 3), eod(7, 3600)]);
    await c.readPdu(3000).catch(() => null);
  });
  try {
    const evs = await run(cache.port, (e) => e.filter((x) => x.kind === "commit").length === 2);
    const kinds = evs.map((e) => e.kind).filter((k) => k !== "connected");
    eq(kinds, ["commit", "notify", "cacheReset", "commit"]);
    const last = evs.at(-1)!;
    if (last.kind === "commit") {
      eq(last.result.reset, true);
      eq([...last.result.diff.vrps.announced].map((v) => v.asn), [3]);
      eq([...last.result.diff.vrps.withdrawn].map((v) => v.asn), [1]);
    }
  } finally {
    await cache.stop();
  }
});

Deno.test("follow reconnects after Retry and resumes with a Serial Query", async () => {
  const cache = startFakeCache(async (c, i) => {
    if (i === 0) {
      await c.readPdu();
      await c.write([cr, p4(1, 1), eod(1)]);
      return; // hang up
    }
    eq(await c.readPdu(), { type: 1, version: 1, sessionId: 5, serial: 1 });
    await c.write([cr, eod(1)]);
    await c.readPdu(3000).catch(() => null);
  });
  try {
    const clock = fakeClock();
    const evs = await run(
      cache.port,
      (e) => e.filter((x) => x.kind === "commit").length === 2,
      clock,
    );
    const d = evs.find((e) => e.kind === "disconnected");
    assertOk(d && d.kind === "disconnected");
    eq(d.retryInSec, 10); // Retry from End of Data, jitter 0 with random() = 0.5
    const last = evs.at(-1)!;
    assertOk(last.kind === "commit" && last.result.reset === false);
  } finally {
    await cache.stop();
  }
});

Deno.test("follow flushes the table when Expire passes without a successful sync", async () => {
  const cache = startFakeCache(async (c, i) => {
    if (i === 0) {
      await c.readPdu();
      await c.write([cr, p4(1, 1), eod(1)]);
      return;
    }
    // Later connections: accept and say nothing, so every query times out.
    await c.readPdu(3000).catch(() => null);
  });
  try {
    const clock = fakeClock();
    const evs = await run(cache.port, (e) => e.some((x) => x.kind === "expired"), clock);
    const ex = evs.find((e) => e.kind === "expired");
    assertOk(ex && ex.kind === "expired");
    eq(ex.dropped.vrps.size, 1);
    assertOk(ex.time - ex.lastSuccess >= 1000 * 1000);
  } finally {
    await cache.stop();
  }
});

/** A clock whose sleeps advance virtual time after one macrotask: in-memory I/O due wins. */
function instantClock(start = 1_000_000): Clock & { t: number } {
  const c = {
    t: start,
    now: () => c.t,
    setTimer: (ms: number, fn: () => void) =>
      setTimeout(() => {
        c.t += ms;
        fn();
      }, 0),
    clearTimer: (h: unknown) => clearTimeout(h as number),
  };
  return c;
}

/** The cache's end of a memory pair: read whole PDUs, write PDUs. */
function cacheEnd(conn: RtrConn) {
  const framer = new PduFramer();
  const got: Pdu[] = [];
  const buf = new Uint8Array(4096);
  return {
    async readPdu(): Promise<Pdu | null> {
      while (got.length === 0) {
        const n = await conn.read(buf);
        if (n === null) return null;
        framer.push(buf.subarray(0, n), (p) => got.push(p));
      }
      return got.shift()!;
    },
    write: (pdus: Pdu[]) => conn.write(encodePdus(pdus)),
    close: () => conn.close(),
  };
}

Deno.test("follower over a memory pair: No Data Available, then a Serial Notify is answered at once with a Reset Query", async () => {
  const clock = instantClock();
  const ac = new AbortController();
  const evs: FollowEvent[] = [];
  let cache: ReturnType<typeof cacheEnd> | undefined;
  const script = Promise.withResolvers<Pdu[]>();
  const dialer = (): Promise<RtrConn> => {
    const [mine, theirs] = memoryPair();
    cache = cacheEnd(theirs);
    (async () => {
      const c = cache!;
      const seen: Pdu[] = [(await c.readPdu())!];
      await c.write([{ type: 10, version: 1, errorCode: 2, pdu: new Uint8Array(0), text: "" }]);
      const before = clock.now();
      await c.write([{ type: 0, version: 1, sessionId: 5, serial: 1 }]);
      seen.push((await c.readPdu())!);
      // Answered without waiting for Retry (which would be at least a minute of virtual time).
      assertOk(clock.now() - before < 60_000, `answered after ${clock.now() - before} ms`);
      await c.write([cr, p4(1, 1), eod(1)]);
      script.resolve(seen);
    })().catch(script.reject);
    return Promise.resolve(mine);
  };
  const run = follow({
    host: "127.0.0.1",
    port: 8282,
    version: 1,
    clock,
    dialer,
    random: () => 0.5,
    signal: ac.signal,
    onEvent: (ev) => {
      evs.push(ev);
      if (ev.kind === "commit") ac.abort();
    },
  });
  const seen = await script.promise;
  await run;
  eq(seen, [{ type: 2, version: 1 }, { type: 2, version: 1 }]);
  eq(evs.map((e) => e.kind), ["connected", "error", "notify", "commit"]);
});

Deno.test("follower over a memory pair: --retry sets the wait after a failed connect", async () => {
  const clock = instantClock();
  const ac = new AbortController();
  const evs: FollowEvent[] = [];
  const dialer = (): Promise<RtrConn> => Promise.reject(new Error("connection refused"));
  await follow({
    host: "127.0.0.1",
    port: 8282,
    clock,
    dialer,
    retrySec: 7,
    random: () => 0.5,
    signal: ac.signal,
    onEvent: (ev) => {
      evs.push(ev);
      if (evs.length === 2) ac.abort();
    },
  });
  const d = evs.filter((e) => e.kind === "disconnected");
  eq(d.length, 2);
  if (d[0].kind === "disconnected" && d[1].kind === "disconnected") {
    eq(d[0].retryInSec, 7);
    eq(d[1].time - d[0].time, 7000); // the second attempt came 7 s (virtual) later
  }
});

Deno.test("follower over a memory pair: Session ID mismatch on a resumed session reconnects at once with a Reset Query", async () => {
  const clock = instantClock();
  const ac = new AbortController();
  const evs: FollowEvent[] = [];
  const queries: { q: Pdu; t: number }[] = [];
  let dials = 0;
  const dialer = (): Promise<RtrConn> => {
    const [mine, theirs] = memoryPair();
    const c = cacheEnd(theirs);
    const i = dials++;
    (async () => {
      queries.push({ q: (await c.readPdu())!, t: clock.now() });
      if (i === 0) {
        await c.write([{
          type: 10,
          version: 1,
          errorCode: 0,
          pdu: new Uint8Array(0),
          text: "Session ID mismatch: client is desynchronized",
        }]);
        c.close();
        return;
      }
      await c.write([{ ...cr, sessionId: 5 }, p4(1, 1), eod(1)]);
    })();
    return Promise.resolve(mine);
  };
  await follow({
    host: "127.0.0.1",
    port: 8282,
    version: 1,
    clock,
    dialer,
    random: () => 0.5,
    signal: ac.signal,
    resume: {
      version: 1,
      sessionId: 9,
      serial: 40,
      table: emptyTable(),
      timers: { refresh: 100, retry: 300, expire: 7200 },
      lastSuccess: clock.now(),
    },
    onEvent: (ev) => {
      evs.push(ev);
      if (ev.kind === "commit") ac.abort();
    },
  });
  eq(queries.map((x) => x.q), [
    { type: 1, version: 1, sessionId: 9, serial: 40 },
    { type: 2, version: 1 },
  ]);
  eq(queries[1].t - queries[0].t, 0); // not after Retry (300 s)
  eq(evs.filter((e) => e.kind === "error").length, 1);
  const d = evs.find((e) => e.kind === "disconnected");
  assertOk(d && d.kind === "disconnected" && d.retryInSec === 0 && d.afterError);
});
