import { assertEquals as eq, assertIncludes, assertOk } from "./helpers/assert.ts";
import { startFakeCache } from "./helpers/fake_cache.ts";
import { syncOnce } from "../lib/client.ts";
import { PeerError, RtrError, TransportError } from "../lib/errors.ts";
import type { Pdu } from "../lib/wire/mod.ts";

const prefix = (version: number, asn: number): Pdu => ({
  type: 4,
  version,
  flags: 1,
  prefixLength: 24,
  maxLength: 24,
  addr: [0xc0000200],
  asn,
});
const eod = (version: number, serial: number): Pdu =>
  version === 0 ? { type: 7, version, sessionId: 5, serial } : {
    type: 7,
    version,
    sessionId: 5,
    serial,
    refresh: 60,
    retry: 30,
    expire: 900,
  };

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

Deno.test("syncOnce completes a reset exchange and reports bytes and PDUs", async () => {
  const cache = startFakeCache(async (c) => {
    const q = await c.readPdu();
    eq(q, { type: 2, version: 2 });
    await c.write([{ type: 3, version: 2, sessionId: 5 }, prefix(2, 1), prefix(2, 2), eod(2, 10)]);
    await c.readPdu(2000).catch(() => null);
  });
  try {
    const out = await syncOnce({ host: "127.0.0.1", port: cache.port, timeoutSec: 5 });
    eq(out.version, 2);
    eq(out.result?.table.vrps.size, 2);
    eq(out.result?.serial, 10);
    eq(out.result?.timers, { refresh: 60, retry: 30, expire: 900 });
    eq(out.pdus, 4);
    eq(out.bytes, 8 + 20 + 20 + 24);
  } finally {
    await cache.stop();
  }
});

Deno.test("syncOnce reconnects at the version an Error Report 4 names", async () => {
  const cache = startFakeCache(async (c, i) => {
    const q = await c.readPdu();
    if (i === 0) {
      eq(q?.version, 2);
      await c.write([{
        type: 10,
        version: 0,
        errorCode: 4,
        pdu: new Uint8Array(0),
        text: "Bad protocol version",
      }]);
      return;
    }
    eq(q, { type: 2, version: 0 });
    await c.write([{ type: 3, version: 0, sessionId: 5 }, prefix(0, 1), eod(0, 1)]);
  });
  try {
    const out = await syncOnce({ host: "127.0.0.1", port: cache.port, timeoutSec: 5 });
    eq(out.version, 0);
    eq(out.result?.table.vrps.size, 1);
    eq(cache.received.length, 2);
  } finally {
    await cache.stop();
  }
});

Deno.test("syncOnce steps down one version only after the cache hung up twice without answering", async () => {
  const cache = startFakeCache(async (c, i) => {
    const q = await c.readPdu();
    if (i < 2) return; // close without a word, twice at version 2
    eq(q, { type: 2, version: 1 });
    await c.write([{ type: 3, version: 1, sessionId: 5 }, eod(1, 1)]);
  });
  try {
    const notices: string[] = [];
    const out = await syncOnce({
      host: "127.0.0.1",
      port: cache.port,
      timeoutSec: 5,
      notice: (l) => notices.push(l),
    });
    eq(out.version, 1);
    eq(out.downgradedFrom, 2);
    eq(cache.received.map((qs) => qs.map((q) => q.version)), [[2], [2], [1]]);
    eq(notices.length, 1);
    assertIncludes(notices[0], "downgrading to version 1");
  } finally {
    await cache.stop();
  }
});

Deno.test("syncOnce does not step down when a single hang-up is followed by an answer", async () => {
  const cache = startFakeCache(async (c, i) => {
    const q = await c.readPdu();
    if (i === 0) return; // a cache restarting: one hang-up
    eq(q, { type: 2, version: 2 });
    await c.write([{ type: 3, version: 2, sessionId: 5 }, eod(2, 1)]);
  });
  try {
    const out = await syncOnce({ host: "127.0.0.1", port: cache.port, timeoutSec: 5 });
    eq(out.version, 2);
    eq(out.downgradedFrom, undefined);
    eq(cache.received.map((qs) => qs.map((q) => q.version)), [[2], [2]]);
  } finally {
    await cache.stop();
  }
});

Deno.test("syncOnce times out on a cache that stalls before End of Data", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([{ type: 3, version: 2, sessionId: 5 }, prefix(2, 1)]);
    await c.readPdu(5000).catch(() => null);
  });
  try {
    const e = await rejects(syncOnce({ host: "127.0.0.1", port: cache.port, timeoutSec: 0.5 }));
    assertOk(e instanceof TransportError, String(e));
    assertIncludes(e.message, "Timed out after 0.5 s waiting for End of Data");
  } finally {
    await cache.stop();
  }
});

Deno.test("syncOnce answers a malformed PDU with an Error Report and fails", async () => {
  let report: Pdu | null = null;
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    // IPv4 Prefix with maxLength 16 < prefix length 24: Corrupt Data.
    const bad = new Uint8Array([2, 4, 0, 0, 0, 0, 0, 20, 1, 24, 16, 0, 192, 0, 2, 0, 0, 0, 0, 1]);
    await c.write(new Uint8Array([2, 3, 0, 5, 0, 0, 0, 8, ...bad]));
    report = await c.readPdu(3000);
  });
  try {
    const e = await rejects(syncOnce({ host: "127.0.0.1", port: cache.port, timeoutSec: 5 }));
    assertOk(e instanceof RtrError);
    assertIncludes(e.message, "max length is 16, expected 24 to 32");
  } finally {
    await cache.stop();
  }
  const r = report as Pdu | null;
  eq(r?.type, 10);
  if (r?.type === 10) {
    eq(r.errorCode, 0);
    eq(r.pdu.length, 20);
  }
});

Deno.test("syncOnce turns No Data Available into a PeerError with exit code 4", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([{
      type: 10,
      version: 2,
      errorCode: 2,
      pdu: new Uint8Array(0),
      text: "No data available",
    }]);
    await c.readPdu(2000).catch(() => null);
  });
  try {
    const e = await rejects(syncOnce({ host: "127.0.0.1", port: cache.port, timeoutSec: 5 }));
    assertOk(e instanceof PeerError);
    eq(e.exitCode, 4);
    assertIncludes(e.message, "No Data Available");
  } finally {
    await cache.stop();
  }
});

Deno.test("syncOnce reports a refused connection in one line", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const e = await rejects(syncOnce({ host: "127.0.0.1", port, timeoutSec: 5 }));
  assertOk(e instanceof TransportError);
  eq(e.message, `Cannot connect to 127.0.0.1:${port}: connection refused`);
});

Deno.test("syncOnce: --timeout bounds silence, not a response that keeps arriving", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([{ type: 3, version: 2, sessionId: 5 }]);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await c.write([prefix(2, i + 1)]);
    }
    await c.write([eod(2, 1)]);
    await c.readPdu(2000).catch(() => null);
  });
  try {
    // 1.2 s in all, never more than 0.3 s of silence: a 0.8 s timeout must not fire.
    const out = await syncOnce({ host: "127.0.0.1", port: cache.port, timeoutSec: 0.8 });
    eq(out.result?.table.vrps.size, 4);
  } finally {
    await cache.stop();
  }
});
