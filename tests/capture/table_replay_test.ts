/** `replay --table`: streams applied the way a router applies them (lib/session.ts). */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { Conversation, frame, ipPacket, pcapFile, pcapngFile, timed } from "./synth.ts";
import { replayTables, response, v4, wire } from "./replay_helpers.ts";
import type { Pdu } from "../../lib/wire/mod.ts";

const vrps = (
  t: { table: { vrps: Iterable<{ prefix: string; maxLength: number; asn: number }> } },
) => [...t.table.vrps].map((v) => `${v.prefix}-${v.maxLength} AS${v.asn}`);

/** A pcap of one or more connections of the same router to the same cache. */
function capture(...connections: { router: Pdu[]; cache: Pdu[] }[][]): Uint8Array {
  const frames: Uint8Array[] = [];
  connections.forEach((exchanges, i) => {
    const c = new Conversation("10.0.0.1", 40000 + i, "10.0.0.2", 8282, [1000 * i, 7000 * i]);
    const segs = [...c.handshake()];
    for (const x of exchanges) {
      if (x.router.length) segs.push(...c.data(true, wire(...x.router)));
      if (x.cache.length) segs.push(...c.data(false, wire(...x.cache), 100));
    }
    segs.push(...c.close());
    frames.push(...segs.map((s) => frame("ethernet", ipPacket(s))));
  });
  return pcapFile(1, timed(frames));
}

const RQ: Pdu = { type: 2, version: 1 };
const sq = (sessionId: number, serial: number): Pdu => ({ type: 1, version: 1, sessionId, serial });

Deno.test("--table: a reset response then a serial delta give the table a router holds", async () => {
  const file = capture([
    {
      router: [RQ],
      cache: response(1, 9, 1, [
        v4("192.0.2.0/24", 1),
        v4("198.51.100.0/24", 2),
        v4("203.0.113.0/24", 3),
      ]),
    },
    { router: [], cache: [{ type: 0, version: 1, sessionId: 9, serial: 2 }] },
    {
      router: [sq(9, 1)],
      cache: response(1, 9, 2, [
        v4("10.0.0.0/8", 4, { maxLength: 16 }),
        v4("198.51.100.0/24", 2, { withdraw: true }),
      ]),
    },
  ]);
  const [t] = await replayTables(file);
  eq(t.source, "10.0.0.1>10.0.0.2:8282");
  eq(vrps(t), ["10.0.0.0/8-16 AS4", "192.0.2.0/24-24 AS1", "203.0.113.0/24-24 AS3"]);
  eq([t.version, t.sessionId, t.serial, t.commits, t.reset], [1, 9, 2, 2, false]);
  eq(t.timers, { refresh: 3600, retry: 600, expire: 7200 });
  eq(t.committedAt!.toISOString(), "2023-11-14T22:13:20.007Z");
  eq(t.notes, []);
});

Deno.test("--table: the table survives a reconnection (Serial Query on the new connection)", async () => {
  const file = capture(
    [{ router: [RQ], cache: response(1, 9, 1, [v4("192.0.2.0/24", 1)]) }],
    [{ router: [sq(9, 1)], cache: response(1, 9, 2, [v4("198.51.100.0/24", 2)]) }],
  );
  const tables = await replayTables(file);
  eq(tables.length, 1);
  eq(vrps(tables[0]), ["192.0.2.0/24-24 AS1", "198.51.100.0/24-24 AS2"]);
});

Deno.test("--table: Cache Reset leads to a Reset Query whose answer replaces the table", async () => {
  const file = capture([
    { router: [RQ], cache: response(1, 9, 1, [v4("192.0.2.0/24", 1)]) },
    { router: [sq(9, 1)], cache: [{ type: 8, version: 1 }] },
    { router: [RQ], cache: response(1, 10, 5, [v4("203.0.113.0/24", 3)]) },
  ]);
  const [t] = await replayTables(file);
  eq(vrps(t), ["203.0.113.0/24-24 AS3"]);
  eq([t.sessionId, t.serial, t.reset], [10, 5, true]);
});

Deno.test("--table: a withdrawal of an unknown record makes a router drop the session and flush", async () => {
  const file = capture([
    { router: [RQ], cache: response(1, 9, 1, [v4("192.0.2.0/24", 1)]) },
    {
      router: [sq(9, 1)],
      cache: response(1, 9, 2, [v4("198.51.100.0/24", 2, { withdraw: true })]),
    },
    // Whatever the cache sends afterwards on this connection, the router no longer listens.
    { router: [], cache: response(1, 9, 3, [v4("10.0.0.0/8", 3)]) },
  ]);
  const [t] = await replayTables(file);
  eq(vrps(t), []);
  eq(t.notes.length, 1);
  assertIncludes(t.notes[0], "Withdrawal of unknown record 198.51.100.0/24");
  assertIncludes(t.notes[0], "flushes the table");
});

Deno.test("--table: a raw dump is applied without the queries, a repeated full table is recognised", async () => {
  // The old client's dump: a reset, a delta, then (after a restart) a full table again.
  const raw = wire(
    ...response(1, 9, 1, [v4("192.0.2.0/24", 1), v4("198.51.100.0/24", 2)]),
    { type: 0, version: 1, sessionId: 9, serial: 2 },
    ...response(1, 9, 2, [v4("198.51.100.0/24", 2, { withdraw: true })]),
    ...response(1, 9, 7, [v4("192.0.2.0/24", 1), v4("203.0.113.0/24", 3)]),
  );
  const [t] = await replayTables(raw);
  eq(t.source, "test");
  eq(vrps(t), ["192.0.2.0/24-24 AS1", "203.0.113.0/24-24 AS3"]);
  eq([t.commits, t.serial, t.reset, t.committedAt], [3, 7, true, null]);
  eq(t.notes, []);
});

Deno.test("--table: router keys and ASPA (current and StayRTR's legacy layout) end up in the table", async () => {
  const ski = new Uint8Array(20).fill(0xab);
  const spki = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]);
  const raw = wire(
    ...response(2, 4, 1, [
      v4("192.0.2.0/24", 1, { version: 2 }),
      { type: 9, version: 2, flags: 1, ski, asn: 65001, spki },
      { type: 11, version: 2, flags: 1, customer: 64500, providers: [64501, 64502] },
      { type: 11, version: 2, flags: 1, customer: 64510, providers: [64511], legacyAfi: 0 },
    ]),
  );
  const [t] = await replayTables(raw);
  eq(t.table.routerKeys, [{ asn: 65001, ski: "AB".repeat(20), pubkey: "MAMCAQU=" }]);
  eq(t.table.aspas, [{ customer: 64500, providers: [64501, 64502] }, {
    customer: 64510,
    providers: [64511],
  }]);
});

Deno.test("--table: bytes missing from the capture are counted and a cut PDU is not held against the cache", async () => {
  const c = new Conversation("10.0.0.1", 40000, "10.0.0.2", 8282);
  const segs = [
    ...c.handshake(),
    ...c.data(true, wire(RQ)),
    ...c.data(
      false,
      wire(...response(1, 9, 1, [v4("192.0.2.0/24", 1), v4("198.51.100.0/24", 2)])),
      10,
    ),
  ];
  segs.splice(5, 1); // lose bytes 10..19 of the response: inside the first prefix (8..27)
  const file = pcapFile(1, timed(segs.map((s) => frame("ethernet", ipPacket(s)))));
  const [t] = await replayTables(file);
  eq(t.gapBytes, 10);
  eq(vrps(t), ["198.51.100.0/24-24 AS2"]);
  assertOk(t.notes.some((n) => n.includes("cut by a capture gap")));
});

Deno.test("--table: capture times beyond what a Date holds are clamped as in records", async () => {
  // pcapng with a resolution of whole seconds lets a 64-bit timestamp go far past year 275760.
  const c = new Conversation("10.0.0.1", 40000, "10.0.0.2", 8282);
  const segs = [
    ...c.handshake(),
    ...c.data(true, wire(RQ)),
    ...c.data(false, wire(...response(1, 9, 1, [v4("192.0.2.0/24", 1)]))),
    // A malformed PDU, for a note that carries the time too.
    ...c.data(false, new Uint8Array([1, 4, 0, 0, 0, 0, 0, 20, 9, 9, 9, 9, 9, 9, 9, 9])),
  ];
  const frames = segs.map((s) => frame("ethernet", ipPacket(s)));
  for (const sec of [1e14, -1e14]) {
    const file = pcapngFile([{
      ifaces: [{ linkType: 1, tsresol: 0, tsoffset: sec < 0 ? -2e14 : 0 }],
      packets: frames.map((data) => ({ data, sec, nsec: 0 })),
    }]);
    const [t] = await replayTables(file);
    eq(
      t.committedAt!.toISOString(),
      sec > 0 ? "9999-12-31T23:59:59.000Z" : "0000-01-01T00:00:00.000Z",
    );
    eq(vrps(t), ["192.0.2.0/24-24 AS1"]);
  }
});
