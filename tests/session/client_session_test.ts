import { assertEquals as eq } from "../helpers/assert.ts";
import { ClientSession, describePeerError, type SessionEvent } from "../../lib/session/mod.ts";
import type { Pdu } from "../../lib/wire/mod.ts";
import { VrpSet } from "../../lib/model/mod.ts";

const v4 = (flags: number, a: number, len: number, max: number, asn: number, version = 1): Pdu => ({
  type: 4,
  version,
  flags,
  prefixLength: len,
  maxLength: max,
  addr: [a],
  asn,
});
const cr = (sessionId: number, version = 1): Pdu => ({ type: 3, version, sessionId });
const eod = (sessionId: number, serial: number, version = 1): Pdu =>
  version === 0 ? { type: 7, version, sessionId, serial } : {
    type: 7,
    version,
    sessionId,
    serial,
    refresh: 3600,
    retry: 600,
    expire: 7200,
  };

function feed(s: ClientSession, pdus: Pdu[]): SessionEvent[] {
  return pdus.map((p) => s.receive(p)).filter((e) => e.kind !== "none");
}

function commitOf(evs: SessionEvent[]) {
  const last = evs.at(-1)!;
  if (last.kind !== "commit") throw new Error(`expected commit, got ${JSON.stringify(last)}`);
  return last.result;
}

const NET = 0xc0000200; // 192.0.2.0

Deno.test("ClientSession sends a Reset Query at the proposed version first", () => {
  const s = new ClientSession({ version: 2 });
  eq(s.query(), { type: 2, version: 2 });
});

Deno.test("ClientSession commits a reset response at End of Data only", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  const evs = feed(s, [cr(7), v4(1, NET, 24, 24, 64496), v4(1, NET, 24, 26, 64496)]);
  eq(evs, []);
  eq(s.table.vrps.size, 0);
  const r = commitOf(feed(s, [eod(7, 9)]));
  eq(r.reset, true);
  eq(r.serial, 9);
  eq(r.sessionId, 7);
  eq(r.table.vrps.size, 2);
  eq([...r.table.vrps].map((v) => v.prefix), ["192.0.2.0/24", "192.0.2.0/24"]);
  eq(s.query(), { type: 1, version: 1, sessionId: 7, serial: 9 });
});

Deno.test("ClientSession applies a serial delta and reports the net diff", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  feed(s, [cr(7), v4(1, NET, 24, 24, 64496), v4(1, NET, 24, 24, 64497), eod(7, 1)]);
  s.query();
  const r = commitOf(feed(s, [cr(7), v4(0, NET, 24, 24, 64496), v4(1, NET, 23, 24, 1), eod(7, 2)]));
  eq(r.reset, false);
  eq(r.previousSerial, 1);
  eq([...r.diff.vrps.withdrawn].map((v) => v.asn), [64496]);
  eq([...r.diff.vrps.announced].map((v) => `${v.prefix} ${v.asn}`), ["192.0.2.0/23 1"]);
  eq(r.table.vrps.size, 2);
});

Deno.test("ClientSession rejects a withdrawal of an unknown record with code 6", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  feed(s, [cr(7), v4(1, NET, 24, 24, 64496), eod(7, 1)]);
  s.query();
  const evs = feed(s, [cr(7), v4(0, NET, 24, 24, 1), eod(7, 2)]);
  const ev = evs.at(-1)!;
  eq(ev.kind, "fatal");
  if (ev.kind === "fatal") {
    eq(ev.report?.type, 10);
    if (ev.report?.type === 10) eq(ev.report.errorCode, 6);
  }
  // The committed table is untouched.
  eq(s.table.vrps.size, 1);
});

Deno.test("ClientSession rejects a duplicate announcement with code 7", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  const evs = feed(s, [cr(7), v4(1, NET, 24, 24, 1), v4(1, NET, 24, 24, 1), eod(7, 1)]);
  const ev = evs.at(-1)!;
  eq(ev.kind, "fatal");
  if (ev.kind === "fatal" && ev.report?.type === 10) eq(ev.report.errorCode, 7);
});

Deno.test("ClientSession rejects a withdrawal inside a reset response with code 0", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  const ev = feed(s, [cr(7), v4(0, NET, 24, 24, 1)])[0];
  eq(ev.kind, "fatal");
  if (ev.kind === "fatal" && ev.report?.type === 10) eq(ev.report.errorCode, 0);
});

Deno.test("ClientSession ignores Serial Notify before negotiation, whatever its version", () => {
  const s = new ClientSession({ version: 2 });
  s.query();
  eq(feed(s, [{ type: 0, version: 0, sessionId: 3, serial: 60 }]), []);
  eq(s.version, null);
});

Deno.test("ClientSession accepts a lower-version Cache Response (RFC 8210 §7 case b)", () => {
  const s = new ClientSession({ version: 2 });
  s.query();
  const r = commitOf(feed(s, [cr(5, 1), v4(1, NET, 24, 24, 1, 1), eod(5, 3, 1)]));
  eq(r.version, 1);
  eq(s.version, 1);
});

Deno.test("ClientSession downgrades on Error Report 4 naming a lower version", () => {
  const s = new ClientSession({ version: 2 });
  s.query();
  const ev = s.receive({
    type: 10,
    version: 0,
    errorCode: 4,
    pdu: new Uint8Array(0),
    text: "Bad protocol version",
  });
  eq(ev.kind, "downgrade");
  if (ev.kind === "downgrade") eq(ev.version, 0);
});

Deno.test("ClientSession reports No Data Available as a non-fatal peer error with exit 4", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  const ev = s.receive({
    type: 10,
    version: 1,
    errorCode: 2,
    pdu: new Uint8Array(0),
    text: "No data available",
  });
  eq(ev.kind, "peerError");
  if (ev.kind === "peerError") {
    eq(ev.error.exitCode, 4);
    eq(
      ev.error.message,
      'cache sent Error Report: code 2 (No Data Available): "No data available"',
    );
  }
});

Deno.test("ClientSession fails with code 8 on a version change after negotiation", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  feed(s, [cr(7, 1)]);
  const ev = s.receive(v4(1, NET, 24, 24, 1, 2));
  eq(ev.kind, "fatal");
  if (ev.kind === "fatal" && ev.report?.type === 10) eq(ev.report.errorCode, 8);
});

Deno.test("ClientSession checks the End of Data session id against the Cache Response", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  const ev = feed(s, [cr(7), eod(8, 1)])[0];
  eq(ev.kind, "fatal");
  if (ev.kind === "fatal" && ev.report?.type === 10) eq(ev.report.errorCode, 0);
});

Deno.test("ClientSession answers Cache Reset with a Reset Query", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  feed(s, [cr(7), eod(7, 1)]);
  s.query();
  const ev = s.receive({ type: 8, version: 1 });
  eq(ev.kind, "cacheReset");
  if (ev.kind === "cacheReset") eq(ev.query, { type: 2, version: 1 });
});

Deno.test("ClientSession applies current-layout ASPA: announce replaces, withdraw deletes", () => {
  const s = new ClientSession({ version: 2 });
  s.query();
  const a = (flags: number, customer: number, providers: number[]): Pdu => ({
    type: 11,
    version: 2,
    flags,
    customer,
    providers,
  });
  commitOf(feed(s, [cr(1, 2), a(1, 64500, [64501, 64502]), a(1, 64510, [1]), eod(1, 1, 2)]));
  s.query();
  const r = commitOf(feed(s, [cr(1, 2), a(1, 64500, [64503]), a(0, 64510, []), eod(1, 2, 2)]));
  eq(r.table.aspas, [{ customer: 64500, providers: [64503] }]);
  eq(r.diff.aspas.announced, [{ customer: 64500, providers: [64503] }]);
  eq(r.diff.aspas.withdrawn, [{ customer: 64510, providers: [1] }]);
});

Deno.test("ClientSession applies StayRTR's legacy ASPA change (announce new, withdraw old)", () => {
  const s = new ClientSession({ version: 2 });
  s.query();
  const a = (flags: number, providers: number[], afi = 0): Pdu => ({
    type: 11,
    version: 2,
    flags,
    customer: 64500,
    providers,
    legacyAfi: afi,
  });
  commitOf(feed(s, [cr(1, 2), a(1, [64501]), a(1, [64501], 1), eod(1, 1, 2)]));
  s.query();
  const r = commitOf(
    feed(s, [
      cr(1, 2),
      a(1, [64502]),
      a(1, [64502], 1),
      a(0, [64501]),
      a(0, [64501], 1),
      eod(1, 2, 2),
    ]),
  );
  eq(r.table.aspas, [{ customer: 64500, providers: [64502] }]);
});

Deno.test("ClientSession flush forgets the session so the next query is a Reset Query", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  feed(s, [cr(7), v4(1, NET, 24, 24, 1), eod(7, 1)]);
  const old = s.flush();
  eq(old.vrps.size, 1);
  eq(s.query(), { type: 2, version: 1 });
  eq(s.table.vrps.size, 0);
});

Deno.test("ClientSession resumes with a Serial Query from a stored state", () => {
  const s = new ClientSession({
    resume: {
      version: 1,
      sessionId: 9,
      serial: 41,
      table: { vrps: new VrpSet(), routerKeys: [], aspas: [] },
    },
  });
  eq(s.query(), { type: 1, version: 1, sessionId: 9, serial: 41 });
});

Deno.test("ClientSession clamps out-of-range timers and says so", () => {
  const s = new ClientSession({ version: 1 });
  s.query();
  const r = commitOf(
    feed(s, [cr(7), {
      type: 7,
      version: 1,
      sessionId: 7,
      serial: 1,
      refresh: 0,
      retry: 600,
      expire: 10,
    }]),
  );
  eq(r.timers, { refresh: 1, retry: 600, expire: 600 });
  eq(r.warnings.length, 2);
});

Deno.test("ClientSession fails a response past maxResponseRecords and keeps the previous table", () => {
  const s = new ClientSession({ version: 1, maxResponseRecords: 2 });
  s.query();
  commitOf(feed(s, [cr(7), v4(1, NET, 24, 24, 1), eod(7, 1)]));
  s.query();
  const evs = feed(s, [cr(7), v4(1, NET, 23, 24, 2), v4(1, NET, 22, 24, 3), v4(1, NET, 21, 24, 4)]);
  eq(evs.length, 1);
  const ev = evs[0];
  eq(ev.kind, "fatal");
  if (ev.kind === "fatal") {
    eq(
      ev.error.message,
      "Response exceeds 2 records without End of Data; keeping the previous table",
    );
    eq(ev.flush, false);
    eq(ev.report, undefined);
    eq(ev.error.exitCode, 1);
  }
  eq([...s.table.vrps].map((v) => v.asn), [1]);
  eq(s.busy, false);
  // The cap goes along to a session at another version.
  eq(s.withVersion(0).maxResponseRecords, 2);
});

Deno.test("describePeerError() quotes the cache's text with control characters escaped and cut", () => {
  eq(
    describePeerError(1, 'bad\nSESSION 1 NEW SERIAL 2\x1b[2J\r\t\x7f\x9b\u2028"\\'),
    'cache sent Error Report: code 1 (Internal Error): "bad\\nSESSION 1 NEW SERIAL 2\\x1b[2J\\r\\t\\x7f\\x9b\\u2028\\"\\\\"',
  );
  const long = describePeerError(0, "é".repeat(500));
  eq(long, `cache sent Error Report: code 0 (Corrupt Data): "${"é".repeat(200)}…"`);
  eq(describePeerError(2, ""), "cache sent Error Report: code 2 (No Data Available)");
  // The session's PeerError carries the escaped message; its `text` stays the data received.
  const s = new ClientSession({ version: 1 });
  s.query();
  const ev = s.receive({
    type: 10,
    version: 1,
    errorCode: 0,
    pdu: new Uint8Array(0),
    text: "x\nSESSION 1 NEW SERIAL 2\x1b[2J",
  });
  eq(ev.kind, "fatal");
  if (ev.kind === "fatal") {
    eq(ev.error.message.includes("\n") || ev.error.message.includes("\x1b"), false);
    eq(
      ev.error.message,
      'cache sent Error Report: code 0 (Corrupt Data): "x\\nSESSION 1 NEW SERIAL 2\\x1b[2J"',
    );
  }
});
