import assert from "node:assert/strict";
import { SerialHistory } from "../../lib/cache/mod.ts";
import { makeTable, type PayloadTable, type Vrp, VrpSet } from "../../lib/model/mod.ts";

const v = (i: number): Vrp => ({ prefix: `192.0.${i}.0/24`, maxLength: 24, asn: 64496 + i });

function table(ids: number[], customers: number[] = []): PayloadTable {
  return makeTable(
    VrpSet.from(ids.map(v)),
    [],
    customers.map((c) => ({ customer: c, providers: [c + 1] })),
  );
}

const lines = (s: VrpSet) => [...s].map((x) => `${x.prefix} AS${x.asn}`);

Deno.test("SerialHistory composes the steps since a held serial into one exact change", () => {
  const h = new SerialHistory({ firstSerial: 0xfffffffe });
  h.update(table([1, 2, 3]));
  h.update(table([2, 3, 4])); // -1 +4
  h.update(table([1, 3, 4])); // -2 +1: 1 comes back
  assert.equal(h.serial, 0); // RFC 1982 wrap
  assert.deepEqual(h.heldSerials, [0xfffffffe, 0xffffffff, 0]);
  const c = h.changesSince(0xfffffffe, { routerKeys: true, aspas: true })!;
  assert.deepEqual(lines(c.vrps.announced), ["192.0.4.0/24 AS64500"]);
  assert.deepEqual(lines(c.vrps.withdrawn), ["192.0.2.0/24 AS64498"]);
  const none = h.changesSince(0, { routerKeys: true, aspas: true })!;
  assert.equal(none.vrps.announced.size + none.vrps.withdrawn.size, 0);
});

Deno.test("SerialHistory forgets serials beyond its size and never answers an unknown one", () => {
  const h = new SerialHistory({ historySize: 2 });
  for (let i = 1; i <= 5; i++) h.update(table([i]));
  assert.deepEqual(h.heldSerials, [3, 4, 5]);
  assert.equal(h.changesSince(2, { routerKeys: false, aspas: false }), null);
  assert.equal(h.changesSince(6, { routerKeys: false, aspas: false }), null);
  assert.equal(h.update(table([5])).changed, false);
  assert.equal(h.serial, 5);
});

Deno.test("SerialHistory reports ASPA only when asked, as announcements and gone customers", () => {
  const h = new SerialHistory();
  h.update(table([1], [100, 200]));
  h.update(makeTable(VrpSet.from([v(1)]), [], [{ customer: 100, providers: [7] }]));
  const skip = h.changesSince(1, { routerKeys: false, aspas: false })!;
  assert.deepEqual(skip.aspas, { announced: [], withdrawn: [] });
  const c = h.changesSince(1, { routerKeys: false, aspas: true })!;
  assert.deepEqual(c.aspas.announced, [{ customer: 100, providers: [7] }]);
  assert.deepEqual(c.aspas.withdrawn, [{ customer: 200, providers: [201] }]);
});
