/** The NDJSON records of lib/formats/records.ts: `type` first, one time format, one shape each. */
import assert from "node:assert/strict";
import {
  aspaLine,
  cacheResetLine,
  disconnectedLine,
  expiredLine,
  inputErrorLine,
  recordTime,
  routerKeyLine,
  sessionErrorLine,
  syncLine,
  vrpLine,
} from "../../lib/formats/records.ts";
import { emptyTable } from "../../lib/model/mod.ts";
import { tableCounts } from "../../lib/model/mod.ts";

const T = new Date("2026-11-28T12:00:00.123Z");

Deno.test("recordTime() is ISO 8601 UTC to the second", () => {
  assert.equal(recordTime(T), "2026-11-28T12:00:00Z");
  assert.equal(recordTime(T.getTime()), "2026-11-28T12:00:00Z");
});

Deno.test("every record starts with its type and uses the one time format", () => {
  const lines = [
    vrpLine("announce", { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }),
    routerKeyLine("withdraw", { asn: 64498, ski: "AB", pubkey: "MFk=" }),
    aspaLine("announce", { customer: 64500, providers: [64501] }),
    syncLine({ generated: T, source: "c:1" }, tableCounts(emptyTable())),
    cacheResetLine({ source: "c:1", version: 2, sessionId: 4660, serial: 380, time: T }),
    cacheResetLine({ source: "c:1", time: T.getTime() }),
    disconnectedLine({ source: "c:1", reason: "connection closed", retryIn: 600, time: T }),
    sessionErrorLine({
      source: "c:1",
      code: 2,
      name: "No Data Available",
      message: "m",
      fatal: false,
      time: T,
    }),
    expiredLine({
      source: "c:1",
      lastSuccess: T,
      flushed: { vrps: 1, routerKeys: 0, aspas: 0 },
      time: T,
    }),
    inputErrorLine(5, "bad"),
  ];
  for (const l of lines) {
    assert.match(l, /^\{"type":"[a-zA-Z]+"/);
    const r = JSON.parse(l);
    for (const k of ["time", "lastSuccess"]) {
      if (k in r) assert.equal(r[k], "2026-11-28T12:00:00Z", l);
    }
  }
  assert.equal(
    lines[4],
    '{"type":"cacheReset","source":"c:1","version":2,"sessionId":4660,"serial":380,"time":"2026-11-28T12:00:00Z"}',
  );
  assert.equal(lines[5], '{"type":"cacheReset","source":"c:1","time":"2026-11-28T12:00:00Z"}');
});
