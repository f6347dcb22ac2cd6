/**
 * The follow machine (RFC 8210 §6, 8210bis §6–§7) as data: every timer is a `setTimer` action
 * and every step a `tick(now)` with an invented time, so nothing here sleeps or opens a socket.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import {
  type FollowAction,
  type FollowEvent,
  FollowMachine,
  type FollowMachineOptions,
} from "../../lib/session/follow_machine.ts";
import { type PduBatch, PduDecodeStream } from "../../lib/wire/decode_stream.ts";
import { encodePdus, type Pdu } from "../../lib/wire/mod.ts";
import { emptyTable } from "../../lib/model/mod.ts";

const T0 = 1_000_000_000;
const S = 1000;

const p4 = (flags: number, asn: number, version = 1): Pdu => ({
  type: 4,
  version,
  flags,
  prefixLength: 24,
  maxLength: 24,
  addr: [0xc0000200 + asn],
  asn,
});
const cr = (sessionId = 5, version = 1): Pdu => ({ type: 3, version, sessionId });
const eod = (serial: number, sessionId = 5, version = 1): Pdu => ({
  type: 7,
  version,
  sessionId,
  serial,
  refresh: 100,
  retry: 10,
  expire: 1000,
});
const notify = (serial: number, sessionId = 5, version = 1): Pdu => ({
  type: 0,
  version,
  sessionId,
  serial,
});
const errorReport = (errorCode: number, text: string, version = 1): Pdu => ({
  type: 10,
  version,
  errorCode,
  pdu: new Uint8Array(0),
  text,
});

/** One socket chunk carrying `pdus`, decoded as the driver would see it. */
async function batch(pdus: Pdu[]): Promise<PduBatch> {
  const s = new PduDecodeStream();
  const w = s.writable.getWriter();
  w.write(encodePdus(pdus));
  const r = await s.readable.getReader().read();
  return r.value!;
}

/** Feed a chunk of PDUs at `now`. */
async function recv(m: FollowMachine, pdus: Pdu[], now: number): Promise<FollowAction[]> {
  const b = await batch(pdus);
  return m.received(b, b.bytes.length, now);
}

const sends = (a: FollowAction[]) =>
  a.filter((x) => x.kind === "send").map((x) => (x as { pdu: Pdu }).pdu);
const emits = (a: FollowAction[]) =>
  a.filter((x) => x.kind === "emit").map((x) => (x as { event: FollowEvent }).event);
const kinds = (a: FollowAction[]) => emits(a).map((e) => e.kind);
const timer = (a: FollowAction[]) =>
  (a.findLast((x) => x.kind === "setTimer") as { at: number } | undefined)?.at;
const reconnectAt = (a: FollowAction[]) =>
  (a.find((x) => x.kind === "reconnectAt") as { at: number } | undefined)?.at;
const commitOf = (a: FollowAction[]) =>
  (a.find((x) => x.kind === "commit") as Extract<FollowAction, { kind: "commit" }> | undefined)
    ?.event;
const disconnected = (a: FollowAction[]) =>
  emits(a).find((e) => e.kind === "disconnected") as
    | Extract<FollowEvent, { kind: "disconnected" }>
    | undefined;

function machine(o: FollowMachineOptions = {}): FollowMachine {
  return new FollowMachine({ version: 1, timeoutMs: 30 * S, random: () => 0.5, ...o });
}

/** A machine that has synced serial 1 of session 5 at T0 (one VRP, AS1). */
async function synced(o: FollowMachineOptions = {}): Promise<FollowMachine> {
  const m = machine(o);
  eq(reconnectAt(m.start(T0)), T0);
  eq(sends(m.connected(T0)), [{ type: 2, version: o.version ?? 1 }]);
  const v = o.version ?? 1;
  const a = await recv(m, [cr(5, v), p4(1, 1, v), eod(1, 5, v)], T0);
  assertOk(commitOf(a), "the first sync commits");
  return m;
}

Deno.test("follow machine: Serial Query every Refresh, Expire timer beside it", async () => {
  const m = machine();
  m.start(T0);
  m.connected(T0);
  const a = await recv(m, [cr(), p4(1, 1), eod(1)], T0 + 2 * S);
  const c = commitOf(a)!;
  eq(c.result.serial, 1);
  eq(c.durationMs, 2 * S);
  eq(timer(a), T0 + 102 * S); // Refresh 100 s after End of Data
  eq(sends(m.tick(T0 + 101 * S)), []); // not yet
  eq(sends(m.tick(T0 + 102 * S)), [{ type: 1, version: 1, sessionId: 5, serial: 1 }]);
});

Deno.test("follow machine: a lost connection waits Retry with ±10% jitter and resumes with a Serial Query", async () => {
  for (const [r, wait] of [[0, 9 * S], [0.5, 10 * S], [0.999999, 11 * S]] as const) {
    const m = await synced({ random: () => r });
    const a = m.closed(T0 + 5 * S);
    eq(reconnectAt(a), T0 + 5 * S + wait);
    eq(disconnected(a)!.retryAt, T0 + 5 * S + wait);
    eq(disconnected(a)!.afterError, false);
    eq(sends(m.connected(T0 + 5 * S + wait)), [{
      type: 1,
      version: 1,
      sessionId: 5,
      serial: 1,
    }]);
  }
  // Never synced: the RFC 8210 §6 default Retry, 600 s.
  const fresh = machine();
  fresh.start(T0);
  eq(reconnectAt(fresh.connectFailed(T0, "connection refused")), T0 + 600 * S);
});

Deno.test("follow machine: --retry overrides the cache's Retry and the default", async () => {
  const fresh = machine({ retrySec: 3 });
  fresh.start(T0);
  eq(reconnectAt(fresh.connectFailed(T0, "connection refused")), T0 + 3 * S);
  const m = await synced({ retrySec: 3, random: () => 0 });
  eq(reconnectAt(m.closed(T0 + S)), T0 + S + 2700);
});

Deno.test("follow machine: a query the cache does not answer within the timeout is given up", async () => {
  const m = await synced();
  m.tick(T0 + 100 * S); // Serial Query
  eq(m.tick(T0 + 129 * S).filter((x) => x.kind === "close").length, 0);
  const a = m.tick(T0 + 130 * S);
  eq(a.filter((x) => x.kind === "close").length, 1);
  assertOk(disconnected(a)!.reason.includes("timed out after 30 s"));
});

Deno.test("follow machine: Expire flushes the table when no sync succeeded for Expire", async () => {
  const m = await synced();
  const lost = m.closed(T0 + 5 * S);
  eq(timer(lost), T0 + 15 * S); // the reconnection comes before Expire
  m.connectFailed(T0 + 15 * S, "connection refused");
  eq(kinds(m.tick(T0 + 999 * S)), []);
  const a = m.tick(T0 + 1000 * S);
  const ex = emits(a).find((e) => e.kind === "expired");
  assertOk(ex && ex.kind === "expired");
  eq(ex.lastSuccess, T0);
  eq(ex.dropped.vrps.size, 1);
  eq(m.session.table.vrps.size, 0);
  // Expired data is not resumed: the next connection starts with a Reset Query.
  eq(sends(m.connected(T0 + 1001 * S)), [{ type: 2, version: 1 }]);
});

Deno.test("follow machine: Serial Notify is answered at once when idle, after the query in flight otherwise", async () => {
  const m = await synced();
  const idle = await recv(m, [notify(2)], T0 + 10 * S);
  eq(kinds(idle), ["notify"]);
  eq(sends(idle), [{ type: 1, version: 1, sessionId: 5, serial: 1 }]);
  // Busy now: a second Notify is remembered, not answered with a second query.
  eq(sends(await recv(m, [notify(3)], T0 + 11 * S)), []);
  const done = await recv(m, [cr(), p4(1, 2), eod(2)], T0 + 12 * S);
  eq(commitOf(done)!.result.serial, 2);
  eq(sends(done), [{ type: 1, version: 1, sessionId: 5, serial: 2 }]);
});

Deno.test("follow machine: Cache Reset is answered with a Reset Query and a full replacement", async () => {
  const m = await synced();
  m.tick(T0 + 100 * S);
  const a = await recv(m, [{ type: 8, version: 1 }], T0 + 101 * S);
  eq(kinds(a), ["cacheReset"]);
  eq(sends(a), [{ type: 2, version: 1 }]);
  const c = commitOf(await recv(m, [cr(), p4(1, 3), eod(9)], T0 + 102 * S))!;
  eq(c.result.reset, true);
  eq([...c.result.diff.vrps.withdrawn].map((v) => v.asn), [1]);
  eq([...c.result.diff.vrps.announced].map((v) => v.asn), [3]);
});

Deno.test("follow machine: a Notify naming a new session id brings a Reset Query and a full replacement", async () => {
  const m = await synced();
  const a = await recv(m, [notify(1, 77)], T0 + 10 * S);
  eq(sends(a), [{ type: 2, version: 1 }]);
  const c = commitOf(await recv(m, [cr(77), p4(1, 4), eod(1, 77)], T0 + 11 * S))!;
  eq([c.result.reset, c.result.sessionId], [true, 77]);
  eq([...c.result.diff.vrps.withdrawn].map((v) => v.asn), [1]);
  // Later polls are Serial Queries of the new session.
  eq(sends(m.tick(T0 + 111 * S)), [{ type: 1, version: 1, sessionId: 77, serial: 1 }]);
});

Deno.test("follow machine: a Serial Notify after No Data Available is answered at once with a Reset Query (RFC 8210 §5.2)", async () => {
  const m = machine();
  m.start(T0);
  m.connected(T0);
  const nd = await recv(m, [errorReport(2, "")], T0 + S);
  eq(kinds(nd), ["error"]);
  eq(sends(nd), []);
  assertOk(timer(nd)! >= T0 + 61 * S, "asks again after Retry (at least a minute)");
  const a = await recv(m, [notify(1)], T0 + 2 * S);
  eq(sends(a), [{ type: 2, version: 1 }]);
  assertOk(commitOf(await recv(m, [cr(), p4(1, 1), eod(1)], T0 + 3 * S)));
});

Deno.test("follow machine: a resumed session refused with Session ID mismatch resets at once, not after Retry", async () => {
  const m = machine({
    resume: { version: 1, sessionId: 5, serial: 1, table: emptyTable(), lastSuccess: T0 - S },
  });
  m.start(T0);
  eq(sends(m.connected(T0)), [{ type: 1, version: 1, sessionId: 5, serial: 1 }]);
  const a = await recv(
    m,
    [errorReport(0, "Session ID mismatch: client is desynchronized")],
    T0 + S,
  );
  eq(kinds(a), ["error", "disconnected"]);
  const err = emits(a)[0];
  assertOk(err.kind === "error" && err.code === 0 && err.fatal);
  eq(a.filter((x) => x.kind === "close").length, 1);
  eq(reconnectAt(a), T0 + S);
  eq(disconnected(a)!.afterError, true); // the error is said once, by the error event
  eq(sends(m.connected(T0 + S)), [{ type: 2, version: 1 }]);
  // Only once: a second refusal waits Retry.
  const again = await recv(m, [errorReport(0, "Session ID mismatch")], T0 + 2 * S);
  assertOk(reconnectAt(again)! > T0 + 2 * S + 5 * S);
});

Deno.test("follow machine: a cache that hangs up after Cache Reset is asked again at once with a Reset Query", async () => {
  const m = await synced();
  m.tick(T0 + 100 * S);
  await recv(m, [{ type: 8, version: 1 }], T0 + 101 * S);
  eq(reconnectAt(m.closed(T0 + 101 * S)), T0 + 101 * S);
  eq(sends(m.connected(T0 + 101 * S)), [{ type: 2, version: 1 }]);
});

Deno.test("follow machine: version fallback on Error Report 4 is said, recorded once, and tried upwards again on the next reset", async () => {
  const m = machine({ version: 2 });
  m.start(T0);
  eq(sends(m.connected(T0)), [{ type: 2, version: 2 }]);
  const a = await recv(m, [errorReport(4, "only up to v1", 1)], T0 + S);
  const dg = emits(a).find((e) => e.kind === "downgrade");
  assertOk(dg && dg.kind === "downgrade");
  eq([dg.from, dg.to], [2, 1]);
  eq(reconnectAt(a), T0 + S); // a downgrade skips Retry
  eq(sends(m.connected(T0 + S)), [{ type: 2, version: 1 }]);
  const c = commitOf(await recv(m, [cr(), p4(1, 1), eod(1)], T0 + S))!;
  eq([c.result.version, c.downgradedFrom], [1, 2]);
  // Polls stay at version 1 (the session's version) and are not marked again.
  m.tick(T0 + 101 * S);
  const c2 = commitOf(await recv(m, [cr(), eod(1)], T0 + 101 * S))!;
  eq(c2.downgradedFrom, undefined);
  // A fatal error forgets the session: the next reset proposes version 2 again.
  const f = await recv(m, [{
    type: 7,
    version: 1,
    sessionId: 5,
    serial: 2,
    refresh: 100,
    retry: 10,
    expire: 1000,
  }], T0 + 102 * S);
  assertOk(emits(f).some((e) => e.kind === "error" && e.fatal));
  eq(sends(m.connected(reconnectAt(f)!)), [{ type: 2, version: 2 }]);
});

Deno.test("follow machine: a silent hang-up is a downgrade hint only the second time, at a version never answered", async () => {
  const m = machine({ version: 2 });
  m.start(T0);
  m.connected(T0);
  const once = m.closed(T0 + S);
  eq(kinds(once), ["warning", "disconnected"]);
  eq(reconnectAt(once), T0 + S);
  eq(sends(m.connected(T0 + S)), [{ type: 2, version: 2 }]); // same version again
  const twice = m.closed(T0 + 2 * S);
  assertOk(emits(twice).some((e) => e.kind === "downgrade"));
  eq(sends(m.connected(T0 + 2 * S)), [{ type: 2, version: 1 }]);
  const c = commitOf(await recv(m, [cr(), eod(1)], T0 + 3 * S))!;
  eq(c.downgradedFrom, 2);

  // A cache that already answered at the version: a hang-up is an ordinary lost connection.
  const r = machine({
    version: 2,
    resume: { version: 2, sessionId: 5, serial: 1, table: emptyTable(), lastSuccess: T0 },
  });
  r.start(T0);
  r.connected(T0);
  const lost = r.closed(T0 + S);
  eq(kinds(lost), ["disconnected"]);
  eq(reconnectAt(lost), T0 + S + 10 * S * 60); // Retry of the stored state: 600 s default
  eq(sends(r.connected(reconnectAt(lost)!)), [{ type: 1, version: 2, sessionId: 5, serial: 1 }]);
});

Deno.test("follow machine: a lower-version answer is an implicit downgrade, said and recorded", async () => {
  const m = machine({ version: 2 });
  m.start(T0);
  m.connected(T0);
  const a = await recv(m, [cr(5, 1), p4(1, 1), eod(1)], T0 + S);
  assertOk(emits(a).some((e) => e.kind === "downgrade"));
  eq(commitOf(a)!.downgradedFrom, 2);
});
