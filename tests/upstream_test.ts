/**
 * Upstream caches behind a server, over memory pairs in virtual time: `any` fails over and back,
 * `merge` serves the union, an upstream's new session reaches the routers as a delta of the
 * server's own session, and when every upstream is gone past its Expire the routers get No Data
 * Available (Reset Query) and Cache Reset (Serial Query).
 */
import { assertEquals as eq, assertOk } from "./helpers/assert.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import {
  MemoryNetwork,
  payloadLines,
  TestRouter,
  until,
  virtualFollowClock,
} from "./helpers/memory_rtr.ts";
import { RtrCache } from "../lib/cache/mod.ts";
import { RtrServer } from "../lib/server.ts";
import { ServePayload } from "../lib/serve_payload.ts";
import { type CombineMode, unionTables, UpstreamSet } from "../lib/upstream.ts";
import { makeTable, type PayloadTable, type Vrp, VrpSet } from "../lib/model/mod.ts";
import { type Pdu, PduType } from "../lib/wire/mod.ts";
import { parseSlurm } from "../lib/model/slurm.ts";

const OURS = 7;

function vrps(asns: number[]): Vrp[] {
  return asns.map((a) => ({ prefix: `10.${a >> 8 & 255}.${a & 255}.0/24`, maxLength: 24, asn: a }));
}

function table(asns: number[], aspa: { customer: number; providers: number[] }[] = []) {
  return makeTable(VrpSet.from(vrps(asns)), [], aspa);
}

function lines(asns: number[], sign = "+"): string[] {
  return vrps(asns).map((v) => `${sign}${v.prefix}-${v.maxLength} AS${v.asn}`).sort();
}

/** An upstream cache: an RtrServer on the memory network, with short timers. */
class Upstream {
  readonly server: RtrServer;
  readonly done: Promise<void>;
  constructor(net: MemoryNetwork, readonly name: string, sessionId: number, t: PayloadTable) {
    const cache = new RtrCache({ sessionId, refresh: 100, retry: 10, expire: 1000 });
    this.server = new RtrServer(cache, { clock: new FakeClock(), notifyIntervalMs: 0 });
    this.server.publish(t);
    this.done = this.server.serve(net.listen(name));
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.done;
  }
}

/** Our server fed by an UpstreamSet, and a router on it. */
function front(net: MemoryNetwork, names: string[], combine: CombineMode, version = 1) {
  const cache = new RtrCache({ sessionId: OURS, refresh: 100, retry: 10, expire: 1000 });
  const server = new RtrServer(cache, { clock: new FakeClock(), notifyIntervalMs: 0 });
  const listener = net.listen("127.0.0.1:8282");
  const serving = server.serve(listener);
  const payload = new ServePayload(server);
  const log: string[] = [];
  const ups = new UpstreamSet(
    names.map((n) => ({
      host: n.split(":")[0],
      port: Number(n.split(":")[1]),
      version,
      timeoutSec: 2000,
      dialer: net.dialer,
    })),
    {
      combine,
      clock: virtualFollowClock(),
      random: () => 0.5,
      log: (l) => log.push(l),
      onChange: (t) => payload.set("upstream", t),
    },
  );
  ups.start();
  return {
    cache,
    server,
    ups,
    log,
    router: () => new TestRouter(listener.connect()),
    async stop() {
      await ups.stop();
      await server.stop();
      await serving;
    },
  };
}

/** The next response after a Serial Notify: Serial Query for `serial`, answer read. */
async function notified(r: TestRouter, serial: number): Promise<Pdu[]> {
  const n = await r.next();
  eq(n?.type, PduType.SerialNotify, `expected Serial Notify, got ${JSON.stringify(n)}`);
  await r.send({ type: PduType.SerialQuery, version: 1, sessionId: OURS, serial });
  return await r.response();
}

function endSerial(pdus: Pdu[]): number {
  const end = pdus.at(-1)!;
  if (end.type !== PduType.EndOfData) throw new Error(`no End of Data: ${JSON.stringify(end)}`);
  eq(end.sessionId, OURS);
  return end.serial;
}

Deno.test("serve upstream any: fails over when the first is gone, back when it returns with a new session, all as deltas", async () => {
  const net = new MemoryNetwork();
  let a = new Upstream(net, "127.0.0.1:9001", 100, table([1, 2, 3]));
  const b = new Upstream(net, "127.0.0.1:9002", 200, table([3, 4]));
  const f = front(net, ["127.0.0.1:9001", "127.0.0.1:9002"], "any");
  try {
    await until(() => f.cache.serial !== undefined, "the first table");
    const r = f.router();
    await r.send({ type: PduType.ResetQuery, version: 1 });
    const full = await r.response();
    eq(payloadLines(full), lines([1, 2, 3]));
    let serial = endSerial(full);

    // The upstream changes: the router gets the delta through a Serial Notify.
    a.server.publish(table([1, 2, 3, 5]));
    let d = await notified(r, serial);
    eq(payloadLines(d), lines([5]));
    serial = endSerial(d);

    // The first upstream goes away: fail over to the second, as a delta.
    await a.stop();
    d = await notified(r, serial);
    eq(payloadLines(d), [...lines([4]), ...lines([1, 2, 5], "-")].sort());
    serial = endSerial(d);
    assertOk(f.log.some((l) => l === "serving upstream 127.0.0.1:9002"), f.log.join("\n"));

    // It comes back with a new session and other data: back to it, still a delta.
    a = new Upstream(net, "127.0.0.1:9001", 101, table([1, 6]));
    d = await notified(r, serial);
    eq(payloadLines(d), [...lines([1, 6]), ...lines([3, 4], "-")].sort());
    endSerial(d);
    eq(f.ups.status.map((s) => [s.state, s.sessionId, s.selected]), [
      ["up", 101, true],
      ["up", 200, false],
    ]);
    r.close();
  } finally {
    await f.stop();
    await a.stop();
    await b.stop();
  }
});

Deno.test("serve upstream merge: the union of every upstream not expired; one that goes away keeps its records until its Expire", async () => {
  const net = new MemoryNetwork();
  const a = new Upstream(
    net,
    "127.0.0.1:9001",
    100,
    table([1, 2], [{ customer: 9, providers: [1] }]),
  );
  const b = new Upstream(
    net,
    "127.0.0.1:9002",
    200,
    table([2, 3], [{ customer: 9, providers: [2] }]),
  );
  const f = front(net, ["127.0.0.1:9001", "127.0.0.1:9002"], "merge", 2);
  try {
    await until(() => f.ups.status.every((s) => s.state === "up"), "both upstreams");
    await until(() => f.cache.table?.vrps.size === 3, "the union");
    eq(f.cache.table!.aspas, [{ customer: 9, providers: [1, 2] }]);
    const r = f.router();
    await r.send({ type: PduType.ResetQuery, version: 1 });
    const full = await r.response();
    eq(payloadLines(full), lines([1, 2, 3]));
    const serial = endSerial(full);

    // One goes away: its records stay served while its data has not expired.
    await b.stop();
    await until(() => f.ups.status[1].state === "stale", "the upstream to be gone");
    eq(f.cache.serial, serial);
    eq(f.cache.table!.vrps.size, 3);
    // Its Expire passes: its own records are withdrawn, the shared one stays.
    const d = await notified(r, serial);
    eq(payloadLines(d), lines([3], "-"));
    eq(f.ups.status.map((s) => s.state), ["up", "expired"]);
    r.close();
  } finally {
    await f.stop();
    await a.stop();
    await b.stop();
  }
});

Deno.test("serve upstream: every upstream gone past its Expire → No Data Available and Cache Reset, data again when one returns", async () => {
  const net = new MemoryNetwork();
  let a = new Upstream(net, "127.0.0.1:9001", 100, table([1, 2]));
  const f = front(net, ["127.0.0.1:9001", "127.0.0.1:9009"], "any");
  try {
    await until(() => f.cache.serial !== undefined, "the first table");
    const r = f.router();
    await r.send({ type: PduType.ResetQuery, version: 1 });
    const serial = endSerial(await r.response());
    // 9009 never answers: one line about it, however often it is retried.
    await until(() => f.ups.status[1].failures >= 3, "retries of the unreachable upstream");
    eq(f.log.filter((l) => l.startsWith("upstream 127.0.0.1:9009")), [
      "upstream 127.0.0.1:9009: Cannot connect to 127.0.0.1:9009: connection refused",
    ]);

    await a.stop();
    // Gone but not expired: its data is still served.
    await until(() => f.ups.status[0].state === "stale", "the upstream to be gone");
    assertOk(f.cache.hasData);
    await until(() => f.ups.status[0].state === "expired", "Expire to pass", 20_000);
    assertOk(f.cache.withdrawn);
    assertOk(
      f.log.includes("every upstream is gone past its Expire: serving no data until one is back"),
      f.log.join("\n"),
    );
    await r.send({ type: PduType.SerialQuery, version: 1, sessionId: OURS, serial });
    eq(await r.response(), [{ type: PduType.CacheReset, version: 1 }]);
    await r.send({ type: PduType.ResetQuery, version: 1 });
    const nd = await r.response();
    eq(nd.map((p) => p.type === PduType.ErrorReport && p.errorCode), [2]);

    // It returns: data again, under our session, with a serial after the old one.
    a = new Upstream(net, "127.0.0.1:9001", 102, table([2, 7]));
    await until(() => f.cache.hasData, "data again", 20_000);
    const r2 = f.router();
    await r2.send({ type: PduType.SerialQuery, version: 1, sessionId: OURS, serial });
    const d = await r2.response();
    eq(payloadLines(d), [...lines([7]), ...lines([1], "-")].sort());
    assertOk(endSerial(d) > serial);
    r.close();
    r2.close();
  } finally {
    await f.stop();
    await a.stop();
  }
});

Deno.test("serve upstream: an upstream sending garbage costs one line and nobody else their data", async () => {
  const net = new MemoryNetwork();
  const good = new Upstream(net, "127.0.0.1:9002", 200, table([4]));
  // A "cache" that answers every query with bytes that are no RTR.
  const bad = net.listen("127.0.0.1:9001");
  const badServing = (async () => {
    for await (const c of bad) {
      (async () => {
        const buf = new Uint8Array(1024);
        try {
          while (await c.read(buf) !== null) {
            await c.write(new TextEncoder().encode("HTTP/1.1 400"));
          }
        } catch { /* closed */ }
      })();
    }
  })();
  const f = front(net, ["127.0.0.1:9001", "127.0.0.1:9002"], "merge");
  try {
    await until(() => f.cache.table?.vrps.size === 1, "the good upstream's table");
    await until(() => f.ups.status[0].failures >= 2, "the bad upstream to be retried");
    const badLines = f.log.filter((l) => l.startsWith("upstream 127.0.0.1:9001"));
    eq(badLines.length, 1, badLines.join("\n"));
    eq(f.ups.status.map((s) => s.state)[1], "up");
  } finally {
    await f.stop();
    bad.close();
    await badServing;
    await good.stop();
  }
});

Deno.test("unionTables: VRPs and router keys of every table, ASPA providers united", () => {
  const t = unionTables([
    table([1, 2], [{ customer: 5, providers: [3] }]),
    table([2, 3], [{ customer: 5, providers: [1] }, { customer: 6, providers: [2] }]),
  ]);
  eq([...t.vrps].map((v) => v.asn), [1, 2, 3]);
  eq(t.aspas, [{ customer: 5, providers: [1, 3] }, { customer: 6, providers: [2] }]);
});

Deno.test("ServePayload: a table file beside upstreams is united with them, SLURM applied last, data withdrawn only when no source holds any", () => {
  const cache = new RtrCache({ sessionId: OURS });
  const server = new RtrServer(cache, { clock: new FakeClock(), notifyIntervalMs: 0 });
  const payload = new ServePayload(server);
  const asns = () => [...cache.table!.vrps].map((v) => v.asn);
  const r1 = payload.set("file", table([1, 2]));
  eq(r1.kind === "published" && r1.serial, 1);
  payload.set("upstream", table([2, 3]));
  eq(asns(), [1, 2, 3]);
  const slurm = parseSlurm({
    slurmVersion: 1,
    validationOutputFilters: { prefixFilters: [{ asn: 2 }], bgpsecFilters: [] },
    locallyAddedAssertions: {
      prefixAssertions: [{ asn: 9, prefix: "10.0.9.0/24" }],
      bgpsecAssertions: [],
    },
  });
  eq(payload.setSlurm(slurm).kind, "published");
  eq(asns(), [1, 3, 9]);
  // The upstreams expire: the file still serves (with the SLURM).
  payload.set("upstream", null);
  eq(asns(), [1, 9]);
  assertOk(cache.hasData);
  // No source at all: withdrawn, history kept; back with the next table.
  payload.set("file", null);
  eq(cache.hasData, false);
  eq(cache.withdrawn, true);
  const r = payload.set("upstream", table([1, 4]));
  eq(r.kind === "published" && [r.changed, r.previous, r.serial], [true, 4, 5]);
  eq(cache.withdrawn, false);
  eq(asns(), [1, 4, 9]);
  eq(cache.heldSerials.includes(1), true);
});
