/**
 * NDJSON table input: the records `rtr snapshot --format ndjson` writes (`vrp`, `routerKey`,
 * `aspa` with `"action":"announce"`, then `sync`). Event records of `follow` (`sync`,
 * `cacheReset`, `expired`, `disconnected`, `error`) are skipped; a `withdraw` cannot appear in
 * a full table and is an error. The last `sync` record becomes the table's metadata. `vrp`
 * lines are read in place from the bytes; any other line goes through JSON.parse.
 */
import type { TableAccumulator } from "./accumulate.ts";
import { ascii as asciiBytes } from "../io/mod.ts";
import { JsonScanner, JsonSyntax, stringIs, uintAt } from "./json_scan.ts";

const EVENT_TYPES = new Set(["sync", "cacheReset", "expired", "disconnected", "error"]);
const KEYS = ["type", "action", "prefix", "maxLength", "asn"].map(asciiBytes);
const VRP = asciiBytes("vrp");
const ANNOUNCE = asciiBytes("announce");
const DECODER = new TextDecoder();

/** Handle one parsed record; returns the record's fields when it is a `sync`. */
function record(r: any, lineNo: number, acc: TableAccumulator): Record<string, unknown> | null {
  if (r === null || typeof r !== "object" || Array.isArray(r)) {
    acc.fail("line", lineNo, "expected a JSON object");
  }
  const type = r.type;
  if (type === "vrp" || type === "routerKey" || type === "aspa") {
    const action = r.action ?? "announce";
    if (action === "withdraw") {
      acc.fail("line", lineNo, `${type} withdraw record in a full table, expected announce only`);
    }
    if (action !== "announce") {
      acc.fail("line", lineNo, `action is ${JSON.stringify(action)}, expected "announce"`);
    }
    if (type === "vrp") acc.vrp("line", lineNo, r.prefix, undefined, r.maxLength, r.asn);
    else if (type === "routerKey") acc.routerKey("line", lineNo, r.asn, r.ski, r.pubkey);
    else acc.aspa("line", lineNo, r.customer_asid ?? r.customer, r.providers);
    return null;
  }
  if (EVENT_TYPES.has(type)) {
    if (type !== "sync") return null;
    const { type: _t, ...rest } = r;
    return rest;
  }
  acc.fail(
    "line",
    lineNo,
    `type is ${JSON.stringify(type)}, expected vrp, routerKey, aspa or sync`,
  );
}

/** Feed the NDJSON records in bytes `start..` to `acc`; returns the last `sync` record's fields. */
export function readNdjsonBytes(
  b: Uint8Array,
  start: number,
  acc: TableAccumulator,
): Record<string, unknown> {
  let metadata: Record<string, unknown> = {};
  const s = new JsonScanner(b);
  const R = new Int32Array(KEYS.length * 2);
  let lineNo = 0;
  let pos = start;
  const n = b.length;
  // Lines before `start` were blank (the caller skipped leading whitespace): count them.
  for (let i = 0; i < start; i++) if (b[i] === 0x0a) lineNo++;
  while (pos < n) {
    let end = b.indexOf(0x0a, pos);
    if (end < 0) end = n;
    lineNo++;
    const ls = pos;
    pos = end + 1;
    let le = end;
    if (le > ls && b[le - 1] === 0x0d) le--;
    s.pos = ls;
    s.ws();
    if (s.pos >= le) continue;
    try {
      s.scanMembers(KEYS, R);
      let p = s.pos;
      while (p < le && (b[p] === 0x20 || b[p] === 0x09)) p++;
      if (
        p === le && stringIs(b, R[0], R[1], VRP) &&
        (R[2] < 0 || stringIs(b, R[2], R[3], ANNOUNCE)) && R[4] >= 0 && b[R[4]] === 0x22
      ) {
        const asn = R[8] >= 0 ? uintAt(b, R[8], R[9], true) : -1;
        let ml = -1, ok = true;
        if (R[6] >= 0) {
          ml = uintAt(b, R[6], R[7], false);
          ok = ml >= 0;
        }
        if (ok && acc.vrpBytes("line", lineNo, b, R[4] + 1, R[5] - 1, -1, ml, asn)) continue;
      }
    } catch (e) {
      if (!(e instanceof JsonSyntax)) throw e;
    }
    let r: unknown;
    try {
      r = JSON.parse(DECODER.decode(b.subarray(ls, le)));
    } catch (e) {
      acc.fail("line", lineNo, `not valid JSON (${(e as Error).message})`);
    }
    const sync = record(r, lineNo, acc);
    if (sync) metadata = sync;
  }
  return metadata;
}
