/** `replay --check`: each rule a strict router applies, and clean sessions staying clean. */
import { assertEquals as eq, assertIncludes } from "../helpers/assert.ts";
import { Conversation, frame, ipPacket, pcapFile, timed } from "./synth.ts";
import { replayCheck, response, v4, wire } from "./replay_helpers.ts";
import { orderViolation } from "../../lib/capture/mod.ts";
import type { Pdu } from "../../lib/wire/mod.ts";

/** A pcap of one connection: exchanges of router PDUs then cache PDUs. */
function capture(exchanges: { router?: Pdu[]; cache?: Pdu[] }[]): Uint8Array {
  const c = new Conversation("10.0.0.1", 40000, "10.0.0.2", 8282);
  const segs = [...c.handshake()];
  for (const x of exchanges) {
    if (x.router?.length) segs.push(...c.data(true, wire(...x.router)));
    if (x.cache?.length) segs.push(...c.data(false, wire(...x.cache)));
  }
  segs.push(...c.close());
  return pcapFile(1, timed(segs.map((s) => frame("ethernet", ipPacket(s)))));
}

const rules = (vs: any[]) => vs.map((v) => v.rule);

Deno.test("--check: a clean v1 session has nothing to flag", async () => {
  const vs = await replayCheck(capture([
    { router: [{ type: 2, version: 1 }], cache: response(1, 3, 1, [v4("192.0.2.0/24", 1)]) },
    { cache: [{ type: 0, version: 1, sessionId: 3, serial: 2 }] },
    {
      router: [{ type: 1, version: 1, sessionId: 3, serial: 1 }],
      cache: response(1, 3, 2, [v4("192.0.2.0/24", 1, { withdraw: true }), v4("10.0.0.0/8", 2)]),
    },
  ]));
  eq(vs, []);
});

Deno.test("--check: Serial Notify before negotiation, and a version change after it", async () => {
  const vs = await replayCheck(capture([
    { cache: [{ type: 0, version: 0, sessionId: 3, serial: 1 }] },
    { router: [{ type: 2, version: 1 }], cache: response(1, 3, 1, [v4("192.0.2.0/24", 1)]) },
    { router: [{ type: 1, version: 2, sessionId: 3, serial: 1 }] },
  ]));
  eq(rules(vs), ["notify-before-negotiation", "unexpected-version"]);
  eq(vs[0].direction, "cache");
  eq(vs[0].pduType, 0);
  eq(vs[1].direction, "router");
  eq(vs[1].errorCode, 8);
  eq(vs[1].errorName, "Unexpected Protocol Version");
});

Deno.test("--check: duplicate announcements, unknown withdrawals, withdrawals in a reset response", async () => {
  const vs = await replayCheck(capture([
    {
      router: [{ type: 2, version: 1 }],
      cache: response(1, 3, 1, [
        v4("192.0.2.0/24", 1),
        v4("192.0.2.0/24", 1),
        v4("198.51.100.0/24", 2, { withdraw: true }),
      ]),
    },
    {
      router: [{ type: 1, version: 1, sessionId: 3, serial: 1 }],
      cache: response(1, 3, 2, [
        v4("192.0.2.0/24", 1),
        v4("203.0.113.0/24", 9, { withdraw: true }),
      ]),
    },
  ]));
  eq(rules(vs), [
    "withdrawal-in-reset",
    "duplicate-announcement",
    "duplicate-announcement",
    "unknown-withdrawal",
  ]);
  eq(vs[1].errorCode, 7);
  assertIncludes(vs[1].message, "192.0.2.0/24-24 AS1");
  eq(vs[3].errorCode, 6);
  eq(vs[3].prefix, "203.0.113.0/24");
  eq(vs[3].action, "withdraw");
});

Deno.test("--check: payload outside a response, a session id that changes, a stray Cache Reset", async () => {
  const vs = await replayCheck(capture([
    { cache: [v4("192.0.2.0/24", 1)] },
    {
      router: [{ type: 2, version: 1 }],
      cache: [{ type: 3, version: 1, sessionId: 3 }, {
        type: 7,
        version: 1,
        sessionId: 4,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 7200,
      }],
    },
    { router: [{ type: 2, version: 1 }], cache: [{ type: 8, version: 1 }] },
  ]));
  eq(rules(vs), ["outside-response", "session-mismatch", "unexpected-cache-reset"]);
});

Deno.test("--check: timers outside RFC 8210 §6, malformed PDUs and PDUs from the wrong side", async () => {
  const bad = wire(v4("192.0.2.0/24", 1));
  bad[10] = 8; // maxLength below prefix length
  const eod: Pdu = {
    type: 7,
    version: 1,
    sessionId: 3,
    serial: 1,
    refresh: 0,
    retry: 600,
    expire: 500,
  };
  const c = new Conversation("10.0.0.1", 40000, "10.0.0.2", 8282);
  const segs = [
    ...c.handshake(),
    ...c.data(true, wire({ type: 2, version: 1 })),
    ...c.data(
      false,
      new Uint8Array([...wire({ type: 3, version: 1, sessionId: 3 }), ...bad, ...wire(eod)]),
    ),
    ...c.data(false, wire({ type: 2, version: 1 })),
    ...c.data(true, wire(v4("10.0.0.0/8", 1))),
  ];
  const vs = await replayCheck(pcapFile(1, timed(segs.map((s) => frame("ethernet", ipPacket(s))))));
  eq(rules(vs), ["malformed", "timers", "wrong-direction", "wrong-direction"]);
  eq(vs[0].errorCode, 0);
  eq(
    vs[1].message,
    "End of Data timers: refresh 0 outside 1..86400, expire 500 outside 600..172800, expire 500 not above retry 600",
  );
});

Deno.test("--check: v2 ordering of 8210bis §11.2, reported once per PDU up to ten per response", async () => {
  const body: Pdu[] = [
    v4("10.0.0.0/8", 1, { version: 2 }),
    v4("192.0.2.0/24", 1, { version: 2 }), // ascending address among announcements: wrong
    { type: 11, version: 2, flags: 1, customer: 5, providers: [6] },
    { type: 11, version: 2, flags: 1, customer: 4, providers: [6] }, // customers descending
    v4("10.0.0.0/8", 7, { version: 2 }), // IPv4 after ASPA
  ];
  const vs = await replayCheck(wire(...response(2, 3, 1, body)));
  eq(rules(vs), ["ordering", "ordering", "ordering"]);
  eq(vs[0].errorCode, 11);
  // Nothing is flagged for the same PDUs in a v1 session (order is only a SHOULD there).
  eq(
    await replayCheck(
      wire(...response(1, 3, 1, body.slice(0, 2).map((p) => ({ ...p, version: 1 })))),
    ),
    [],
  );
  // A long unsorted response prints ten violations and one summary line.
  const many = Array.from({ length: 30 }, (_, i) => v4(`10.${i}.0.0/16`, 1, { version: 2 }));
  const vm = await replayCheck(wire(...response(2, 3, 1, many)));
  eq(vm.length, 11);
  eq(vm[10].message, '19 more "ordering" violations in this response');
});

Deno.test("orderViolation() follows 8210bis §11.2: types ascending, announcements first, address order by action", () => {
  const a = (p: string, asn: number, o: { withdraw?: boolean; maxLength?: number } = {}) =>
    v4(p, asn, { ...o, version: 2 });
  const ok: [Pdu, Pdu][] = [
    [a("192.0.2.0/24", 1), a("10.0.0.0/8", 1)],
    [a("10.0.0.0/16", 1, { maxLength: 24 }), a("10.0.0.0/16", 1, { maxLength: 20 })],
    [a("10.0.0.0/8", 5), a("10.0.0.0/8", 0)],
    [a("192.0.2.0/24", 1), a("10.0.0.0/8", 1, { withdraw: true })],
    [a("10.0.0.0/8", 1, { withdraw: true }), a("192.0.2.0/24", 1, { withdraw: true })],
  ];
  for (const [p, c] of ok) eq(orderViolation(p, c), false, JSON.stringify([p, c]));
  for (const [p, c] of ok.slice(0, 3)) eq(orderViolation(c, p), true);
  eq(orderViolation(a("10.0.0.0/8", 1, { withdraw: true }), a("192.0.2.0/24", 1)), true);
});

Deno.test("--check stages like a router: replacing a held record in §11.2 order is no violation", async () => {
  const a = (p: string, asn: number, o: { withdraw?: boolean } = {}) =>
    v4(p, asn, { ...o, version: 2 });
  const vs = await replayCheck(capture([
    { router: [{ type: 2, version: 2 }], cache: response(2, 3, 1, [a("192.0.2.0/24", 1)]) },
    {
      router: [{ type: 1, version: 2, sessionId: 3, serial: 1 }],
      // Announcements come before withdrawals in v2: the same record, announced and withdrawn.
      cache: response(2, 3, 2, [a("192.0.2.0/24", 1), a("192.0.2.0/24", 1, { withdraw: true })]),
    },
    {
      router: [{ type: 1, version: 2, sessionId: 3, serial: 2 }],
      cache: response(2, 3, 3, [a("198.51.100.0/24", 5, { withdraw: true })]),
    },
  ]));
  eq(rules(vs), ["unknown-withdrawal"]);
  eq(vs[0].message, "Withdrawal of unknown record 198.51.100.0/24-24 AS5");
  eq([vs[0].pduType, vs[0].action, vs[0].prefix, vs[0].asn], [4, "withdraw", "198.51.100.0/24", 5]);
});
