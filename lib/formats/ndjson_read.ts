/**
 * NDJSON table input: the records `rtr snapshot --format ndjson` writes (`vrp`, `routerKey`,
 * `aspa` with `"action":"announce"`, then `sync`). Event records of `follow` (`sync`,
 * `cacheReset`, `expired`, `disconnected`, `error`) are skipped; a `withdraw` cannot appear in
 * a full table and is an error. The last `sync` record becomes the table's metadata.
 */
import type { TableAccumulator } from "./accumulate.ts";

const EVENT_TYPES = new Set(["sync", "cacheReset", "expired", "disconnected", "error"]);

/** Feed NDJSON records to `acc`; returns the metadata of the last `sync` record. */
export function readNdjsonInto(text: string, acc: TableAccumulator): Record<string, unknown> {
  let metadata: Record<string, unknown> = {};
  let lineNo = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = n;
    lineNo++;
    const line = text.slice(pos, end);
    pos = end + 1;
    if (line.trim() === "") continue;
    let r: any;
    try {
      r = JSON.parse(line);
    } catch (e) {
      acc.fail("line", lineNo, `not valid JSON (${(e as Error).message})`);
    }
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
    } else if (EVENT_TYPES.has(type)) {
      if (type === "sync") {
        const { type: _t, ...rest } = r;
        metadata = rest;
      }
    } else {
      acc.fail(
        "line",
        lineNo,
        `type is ${JSON.stringify(type)}, expected vrp, routerKey, aspa or sync`,
      );
    }
  }
  return metadata;
}
