/** PayloadTable construction, counts and diffs (lib/model/table.ts). */
import assert from "node:assert/strict";
import {
  diffIsEmpty,
  diffTables,
  emptyTable,
  makeTable,
  type PayloadTable,
  tableCounts,
} from "../../lib/model/table.ts";
import type { Aspa, RouterKey, Vrp } from "../../lib/model/types.ts";
import { VrpSet } from "../../lib/model/vrp_set.ts";

const SKI_A = "510F485D29A29DB7B515F9C478F8ED3CB7AA7D23";
const SKI_B = "0102030405060708090A0B0C0D0E0F1011121314";
const key = (asn: number, ski: string, pubkey = "MFkwEwYH"): RouterKey => ({ asn, ski, pubkey });
const vrp = (prefix: string, maxLength: number, asn: number): Vrp => ({ prefix, maxLength, asn });

Deno.test("emptyTable() holds nothing", () => {
  const t = emptyTable();
  assert.deepEqual(tableCounts(t), { vrps: 0, vrpsIpv4: 0, vrpsIpv6: 0, routerKeys: 0, aspas: 0 });
});

Deno.test("makeTable() upper-cases SKIs, merges duplicate keys and sorts by ASN, SKI, key", () => {
  const t = makeTable(new VrpSet(), [
    key(64500, SKI_A.toLowerCase(), "B"),
    key(64499, SKI_A),
    key(64500, SKI_A, "B"), // the same key, other case
    key(64500, SKI_B, "B"),
    key(64500, SKI_A, "A"), // same SKI and ASN, another key: kept (SKIs can collide)
  ], []);
  assert.deepEqual(t.routerKeys, [
    key(64499, SKI_A),
    key(64500, SKI_B, "B"),
    key(64500, SKI_A, "A"),
    key(64500, SKI_A, "B"),
  ]);
});

Deno.test("makeTable() merges ASPA records per customer and sorts providers and customers", () => {
  const aspas: Aspa[] = [
    { customer: 65000, providers: [3, 1] },
    { customer: 64500, providers: [64502, 64501] },
    { customer: 65000, providers: [2, 3] },
    { customer: 4294967295, providers: [10] },
  ];
  const t = makeTable(new VrpSet(), [], aspas);
  assert.deepEqual(t.aspas, [
    { customer: 64500, providers: [64501, 64502] },
    { customer: 65000, providers: [1, 2, 3] },
    { customer: 4294967295, providers: [10] },
  ]);
  assert.deepEqual(aspas[0].providers, [3, 1], "the input is not modified");
});

Deno.test("tableCounts() counts each kind and each address family", () => {
  const t = makeTable(
    VrpSet.from([
      vrp("192.0.2.0/24", 24, 1),
      vrp("198.51.100.0/24", 24, 1),
      vrp("2001:db8::/32", 48, 1),
    ]),
    [key(1, SKI_A)],
    [{ customer: 1, providers: [2] }, { customer: 3, providers: [4] }],
  );
  assert.deepEqual(tableCounts(t), { vrps: 3, vrpsIpv4: 2, vrpsIpv6: 1, routerKeys: 1, aspas: 2 });
});

function table(vrps: Vrp[], keys: RouterKey[], aspas: Aspa[]): PayloadTable {
  return makeTable(VrpSet.from(vrps), keys, aspas);
}

Deno.test("diffTables() of a table with itself is empty", () => {
  const t = table([vrp("192.0.2.0/24", 24, 1)], [key(1, SKI_A)], [{ customer: 1, providers: [2] }]);
  const d = diffTables(t, t);
  assert.equal(diffIsEmpty(d), true);
  assert.equal(diffIsEmpty(diffTables(emptyTable(), emptyTable())), true);
});

Deno.test("diffTables() reports announced and withdrawn VRPs, keys and ASPA", () => {
  const a = table(
    [vrp("192.0.2.0/24", 24, 1), vrp("2001:db8::/32", 48, 2)],
    [key(1, SKI_A), key(2, SKI_B)],
    [
      { customer: 1, providers: [2] },
      { customer: 5, providers: [6, 7] },
      { customer: 9, providers: [10] },
    ],
  );
  const b = table(
    [vrp("192.0.2.0/24", 24, 1), vrp("198.51.100.0/24", 24, 3)],
    [key(1, SKI_A), key(3, SKI_B)],
    [
      { customer: 1, providers: [2] },
      { customer: 5, providers: [6] },
      { customer: 11, providers: [0] },
    ],
  );
  const d = diffTables(a, b);
  assert.deepEqual([...d.vrps.announced], [vrp("198.51.100.0/24", 24, 3)]);
  assert.deepEqual([...d.vrps.withdrawn], [vrp("2001:db8::/32", 48, 2)]);
  assert.deepEqual(d.routerKeys, { announced: [key(3, SKI_B)], withdrawn: [key(2, SKI_B)] });
  // A changed provider list is an announcement (it replaces); a gone customer is withdrawn.
  assert.deepEqual(d.aspas, {
    announced: [{ customer: 5, providers: [6] }, { customer: 11, providers: [0] }],
    withdrawn: [{ customer: 9, providers: [10] }],
  });
  assert.equal(diffIsEmpty(d), false);
});

Deno.test("diffTables() compares router key SKIs case-insensitively", () => {
  const lower: PayloadTable = { ...emptyTable(), routerKeys: [key(1, SKI_A.toLowerCase())] };
  const upper = table([], [key(1, SKI_A)], []);
  assert.equal(diffIsEmpty(diffTables(lower, upper)), true);
});

Deno.test("diffIsEmpty() sees a change in any one part", () => {
  const base = emptyTable();
  assert.equal(diffIsEmpty(diffTables(base, table([vrp("10.0.0.0/8", 8, 1)], [], []))), false);
  assert.equal(diffIsEmpty(diffTables(table([vrp("10.0.0.0/8", 8, 1)], [], []), base)), false);
  assert.equal(diffIsEmpty(diffTables(base, table([], [key(1, SKI_A)], []))), false);
  assert.equal(diffIsEmpty(diffTables(table([], [key(1, SKI_A)], []), base)), false);
  assert.equal(
    diffIsEmpty(diffTables(base, table([], [], [{ customer: 1, providers: [2] }]))),
    false,
  );
  assert.equal(
    diffIsEmpty(diffTables(table([], [], [{ customer: 1, providers: [2] }]), base)),
    false,
  );
});
