/** The one staging of a response: strict (a router) and lenient (replay --check), and its cap. */
import { assertEquals as eq } from "../helpers/assert.ts";
import {
  isViolation,
  responseLimits,
  Staging,
  type StagingViolation,
} from "../../lib/session/mod.ts";
import { emptyTable, makeTable, type PayloadTable, VrpSet } from "../../lib/model/mod.ts";
import { encodePdu, type PayloadPdu, type Pdu } from "../../lib/wire/mod.ts";

const NET = 0xc0000200; // 192.0.2.0
const v4 = (announce: boolean, a: number, len: number, asn: number): PayloadPdu => ({
  type: 4,
  version: 1,
  flags: announce ? 1 : 0,
  prefixLength: len,
  maxLength: len,
  addr: [a],
  asn,
});
const key = (announce: boolean, asn: number): PayloadPdu => ({
  type: 9,
  version: 1,
  flags: announce ? 1 : 0,
  ski: new Uint8Array(20).fill(0xab),
  asn,
  spki: new Uint8Array([1, 2, 3]),
});

const held: PayloadTable = makeTable(
  VrpSet.from([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 1 }]),
  [],
  [],
);

/** Stage `pdus` leniently on `base`; returns the violations and the committed table. */
function lenient(reset: boolean, base: PayloadTable, pdus: PayloadPdu[]) {
  const vs: StagingViolation[] = [];
  const st = new Staging(reset, 3, 1, { mode: "lenient", onViolation: (v) => vs.push(v) });
  for (const p of pdus) eq(st.stage(p), null);
  const r = st.commit(base, new Map());
  if (isViolation(r)) throw new Error(`lenient commit failed: ${r.message}`);
  return { vs, table: r.table };
}

Deno.test("Staging (strict) fails a withdrawal in a reset response at once, with code 0", () => {
  const st = new Staging(true, 3, 1);
  const v = st.stage(v4(false, NET, 24, 1));
  eq([v?.rule, v?.code], ["withdrawal-in-reset", 0]);
  eq(v?.message, "Withdrawal (IPv4 Prefix) in the response to a Reset Query");
});

Deno.test("Staging (strict) fails the commit on the first duplicate (7) or unknown withdrawal (6)", () => {
  const dup = new Staging(false, 3, 1);
  eq(dup.stage(v4(true, NET, 24, 1)), null);
  const d = dup.commit(held, new Map());
  eq(isViolation(d) && [d.rule, d.code, d.message], [
    "duplicate-announcement",
    7,
    "Duplicate announcement of 192.0.2.0/24-24 AS1",
  ]);
  const unk = new Staging(false, 3, 1);
  eq(unk.stage(v4(false, NET, 24, 9)), null);
  const u = unk.commit(held, new Map());
  eq(isViolation(u) && [u.rule, u.code, u.message], [
    "unknown-withdrawal",
    6,
    "Withdrawal of unknown record 192.0.2.0/24-24 AS9",
  ]);
  // The PDU is rebuilt from the record, for replay --check's violation record.
  eq(isViolation(u) && u.pdu, v4(false, NET, 24, 9));
});

Deno.test("Staging applies withdrawals before announcements: a re-announced withdrawn record is no duplicate", () => {
  const st = new Staging(false, 3, 1);
  st.stage(v4(true, NET, 24, 1));
  st.stage(v4(false, NET, 24, 1));
  const r = st.commit(held, new Map());
  eq(isViolation(r), false);
  if (!isViolation(r)) eq([...r.table.vrps].map((v) => v.asn), [1]);
});

Deno.test("Staging (strict) fails a router key announced twice in one response, with code 7", () => {
  const st = new Staging(false, 3, 1);
  eq(st.stage(key(true, 5)), null);
  const v = st.stage(key(true, 5));
  eq([v?.rule, v?.code], ["duplicate-announcement", 7]);
});

Deno.test("Staging (lenient) reports every violation and applies what it can", () => {
  const { vs, table } = lenient(false, held, [
    v4(true, NET, 24, 1), // held, not withdrawn: duplicate
    v4(true, NET, 23, 2), // new
    v4(false, NET, 24, 9), // unknown
    v4(false, NET, 22, 8), // unknown
    key(false, 5), // unknown router key
  ]);
  eq(vs.map((v) => [v.rule, v.code]), [
    ["duplicate-announcement", 7],
    ["unknown-withdrawal", 6],
    ["unknown-withdrawal", 6],
    ["unknown-withdrawal", 6],
  ]);
  eq([...table.vrps].map((v) => `${v.prefix} AS${v.asn}`), [
    "192.0.2.0/23 AS2",
    "192.0.2.0/24 AS1",
  ]);
});

Deno.test("Staging (lenient) skips a withdrawal in a reset response and keeps the rest", () => {
  const { vs, table } = lenient(true, emptyTable(), [
    v4(true, NET, 24, 1),
    v4(false, NET, 24, 2),
    v4(true, NET, 24, 1),
  ]);
  eq(vs.map((v) => v.rule), ["withdrawal-in-reset", "duplicate-announcement"]);
  eq(vs[1].message, "Duplicate announcement of 192.0.2.0/24-24 AS1 in a reset response");
  eq(table.vrps.size, 1);
});

Deno.test("Staging (lenient) reports a stale legacy ASPA withdrawal, which a strict router ignores", () => {
  const aspa = (announce: boolean, providers: number[]): PayloadPdu => ({
    type: 11,
    version: 2,
    flags: announce ? 1 : 0,
    customer: 64496,
    providers,
    legacyAfi: 1,
  });
  const legacy = new Map([["64496:1", [1, 2]]]);
  const base = makeTable(new VrpSet(), [], [{ customer: 64496, providers: [1, 2] }]);
  const vs: StagingViolation[] = [];
  const loose = new Staging(false, 3, 2, { mode: "lenient", onViolation: (v) => vs.push(v) });
  loose.stage(aspa(true, [1, 3]));
  loose.stage(aspa(false, [1, 4]));
  loose.commit(base, legacy);
  eq(vs.map((v) => [v.rule, v.code]), [["aspa-stale-withdrawal", null]]);
  const strict = new Staging(false, 3, 2);
  strict.stage(aspa(true, [1, 3]));
  strict.stage(aspa(false, [1, 4]));
  const r = strict.commit(base, legacy);
  eq(isViolation(r), false);
  if (!isViolation(r)) eq(r.table.aspas, [{ customer: 64496, providers: [1, 3] }]);
});

Deno.test("Staging caps a response in records, on the decoded and the fast path alike", () => {
  const limits = { maxRecords: 2, maxBytes: 1 << 20 };
  const st = new Staging(true, 3, 1, { limits });
  eq(st.stage(v4(true, NET, 24, 1)), null);
  const bytes = encodePdu(v4(true, NET, 24, 2) as Pdu);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  eq(st.stagePrefixBytes(bytes, view, 0), true);
  // The third record: the fast path declines, the decoded path fails.
  eq(st.stagePrefixBytes(bytes, view, 0), false);
  const v = st.stage(v4(true, NET, 24, 3));
  eq(v?.rule, "response-too-large");
  eq(v?.message, "Response exceeds 2 records without End of Data; keeping the previous table");
  eq(st.announced, 2);
});

Deno.test("Staging caps a response in bytes", () => {
  const st = new Staging(false, 3, 1, { limits: { maxRecords: 100, maxBytes: 40 } });
  eq(st.stage(v4(true, NET, 24, 1)), null);
  eq(st.stage(v4(true, NET, 24, 2)), null);
  eq(
    st.stage(v4(true, NET, 24, 3))?.message,
    "Response exceeds 40 bytes without End of Data; keeping the previous table",
  );
});

Deno.test("responseLimits() defaults to max(10M, 4 × the previous table); options win", () => {
  eq(responseLimits(emptyTable()).maxRecords, 10_000_000);
  const big = { vrps: { size: 3_000_000, ipv4Count: 3_000_000 }, routerKeys: [], aspas: [] };
  const l = responseLimits(big as unknown as PayloadTable);
  eq(l.maxRecords, 12_000_000);
  eq(l.maxBytes, Math.max(1 << 30, 4 * 20 * 3_000_000));
  eq(responseLimits(emptyTable(), { maxRecords: 5, maxBytes: 6 }), { maxRecords: 5, maxBytes: 6 });
});

Deno.test("Staging reports the cap once, even in lenient mode, and refuses every later record", () => {
  const vs: StagingViolation[] = [];
  const st = new Staging(true, 3, 1, {
    mode: "lenient",
    onViolation: (v) => vs.push(v),
    limits: { maxRecords: 1, maxBytes: 1 << 20 },
  });
  eq(st.stage(v4(true, NET, 24, 1)), null);
  eq(st.stage(v4(true, NET, 24, 2))?.rule, "response-too-large");
  eq(st.stage(v4(true, NET, 24, 3))?.rule, "response-too-large");
  eq(vs.map((v) => v.rule), ["response-too-large"]);
  eq(st.announced, 1);
});
