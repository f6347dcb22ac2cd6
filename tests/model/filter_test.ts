/** Record filters: ASN, exact and covering prefixes, types, on tables and diffs. */
import { assertEquals as eq } from "../helpers/assert.ts";
import {
  filterDiff,
  filterIsEmpty,
  filterTable,
  matchVrp,
  parsePrefixMatch,
  type PayloadFilter,
} from "../../lib/model/filter.ts";
import { diffTables, makeTable, VrpSet } from "../../lib/model/mod.ts";

const KEY = { asn: 64496, ski: "AB".repeat(20), pubkey: "AAAA" };
const T = makeTable(
  VrpSet.from([
    { prefix: "10.0.0.0/8", maxLength: 24, asn: 64496 },
    { prefix: "10.1.0.0/16", maxLength: 16, asn: 64497 },
    { prefix: "11.0.0.0/8", maxLength: 8, asn: 64496 },
    { prefix: "2001:db8::/32", maxLength: 48, asn: 64496 },
    { prefix: "2001:db8:8000::/33", maxLength: 48, asn: 64498 },
    { prefix: "2001:db9::/32", maxLength: 32, asn: 64498 },
  ]),
  [KEY, { ...KEY, asn: 64499 }],
  [{ customer: 64496, providers: [1] }, { customer: 64497, providers: [64496] }],
);

function prefixes(f: PayloadFilter): string[] {
  return [...filterTable(f, T).vrps].map((v) => `${v.prefix} AS${v.asn}`);
}

const p = (s: string) => parsePrefixMatch(s)!;

Deno.test("parsePrefixMatch reads P and P+, masks host bits and rejects bare addresses", () => {
  eq(p("10.1.2.3/8"), { family: 4, addr: [0x0a000000], length: 8, orMore: false });
  eq(p("2001:db8::/32+").orMore, true);
  eq(parsePrefixMatch("10.0.0.0"), null);
  eq(parsePrefixMatch("10.0.0.0/33"), null);
  eq(parsePrefixMatch("x/8+"), null);
});

Deno.test("filterTable by exact prefix, covering prefix, ASN and type", () => {
  eq(filterIsEmpty({}), true);
  eq(filterTable({}, T), T);
  eq(prefixes({ prefixes: [p("10.0.0.0/8")] }), ["10.0.0.0/8 AS64496"]);
  eq(prefixes({ prefixes: [p("10.0.0.0/8+")] }), ["10.0.0.0/8 AS64496", "10.1.0.0/16 AS64497"]);
  eq(prefixes({ prefixes: [p("2001:db8::/32+")] }), [
    "2001:db8::/32 AS64496",
    "2001:db8:8000::/33 AS64498",
  ]);
  // A more specific criterion does not match the less specific VRP; families never mix.
  eq(prefixes({ prefixes: [p("2001:db8:8000::/33+")] }), ["2001:db8:8000::/33 AS64498"]);
  eq(prefixes({ prefixes: [p("0.0.0.0/0+")] }).length, 3);
  eq(prefixes({ prefixes: [p("::/0+")] }).length, 3);
  eq(prefixes({ asns: [64498] }), ["2001:db8:8000::/33 AS64498", "2001:db9::/32 AS64498"]);
  eq(prefixes({ asns: [64496], prefixes: [p("0.0.0.0/0+")] }), [
    "10.0.0.0/8 AS64496",
    "11.0.0.0/8 AS64496",
  ]);
  const byAsn = filterTable({ asns: [64496] }, T);
  eq(byAsn.routerKeys, [KEY]);
  eq(byAsn.aspas, [{ customer: 64496, providers: [1] }]);
  // A prefix criterion selects VRPs only.
  const byPrefix = filterTable({ prefixes: [p("0.0.0.0/0+")] }, T);
  eq([byPrefix.routerKeys.length, byPrefix.aspas.length], [0, 0]);
  const aspa = filterTable({ types: ["aspa"] }, T);
  eq([aspa.vrps.size, aspa.routerKeys.length, aspa.aspas.length], [0, 0, 2]);
  const keys = filterTable({ types: ["routerKey", "vrp"] }, T);
  eq([keys.vrps.size, keys.routerKeys.length, keys.aspas.length], [6, 2, 0]);
  eq(matchVrp({ asns: [64497] }, { prefix: "10.1.0.0/16", maxLength: 16, asn: 64497 }), true);
  eq(matchVrp({ types: ["aspa"] }, { prefix: "10.1.0.0/16", maxLength: 16, asn: 64497 }), false);
});

Deno.test("filterDiff keeps the same changes as diffing the filtered tables", () => {
  const U = makeTable(
    VrpSet.from([
      { prefix: "10.0.0.0/8", maxLength: 24, asn: 64496 },
      { prefix: "10.2.0.0/16", maxLength: 16, asn: 64497 },
      { prefix: "2001:db9::/32", maxLength: 32, asn: 64498 },
    ]),
    [KEY],
    [{ customer: 64496, providers: [1, 2] }],
  );
  const filters: PayloadFilter[] = [
    { asns: [64497] },
    { asns: [64496] },
    { prefixes: [p("10.0.0.0/8+")] },
    { types: ["aspa"] },
    { types: ["routerKey"], asns: [64499] },
  ];
  for (const f of filters) {
    const a = filterDiff(f, diffTables(T, U));
    const b = diffTables(filterTable(f, T), filterTable(f, U));
    eq([...a.vrps.announced], [...b.vrps.announced], JSON.stringify(f));
    eq([...a.vrps.withdrawn], [...b.vrps.withdrawn], JSON.stringify(f));
    eq(a.routerKeys, b.routerKeys, JSON.stringify(f));
    eq(a.aspas, b.aspas, JSON.stringify(f));
  }
});
