import assert from "node:assert/strict";
import fc from "fast-check";
import { VrpSet, VrpSetBuilder } from "../../lib/model/mod.ts";

Deno.test("VrpSetBuilder.build() sorts, drops and reports duplicates, sorted input or not", () => {
  const rec = fc.record({
    v6: fc.boolean(),
    a: fc.nat({ max: 3 }),
    len: fc.nat({ max: 2 }),
    extra: fc.nat({ max: 1 }),
    asn: fc.nat({ max: 2 }),
  });
  fc.assert(
    fc.property(fc.array(rec, { maxLength: 60 }), fc.boolean(), (items, presort) => {
      const vrps = items.map((r) => ({
        prefix: r.v6 ? `2001:db8:${r.a + 1}::/${48 + r.len}` : `10.${r.a}.0.0/${16 + r.len}`,
        maxLength: (r.v6 ? 48 : 16) + r.len + r.extra,
        asn: r.asn,
      }));
      const key = (v: { prefix: string; maxLength: number; asn: number }) =>
        `${v.prefix} ${v.maxLength} ${v.asn}`;
      if (presort) vrps.sort((x, y) => VrpSet.from([x]).indexOfRecord(VrpSet.from([y]).data, 0));
      const b = new VrpSetBuilder(4);
      for (const v of vrps) b.addVrp(v);
      const { set, duplicates } = b.build();
      const unique = new Set(vrps.map(key));
      assert.equal(set.size, unique.size);
      assert.equal(duplicates.length, vrps.length - unique.size);
      assert.deepEqual(new Set([...set].map(key)), unique);
      for (let i = 1; i < set.size; i++) {
        assert.ok(set.indexOfRecord(set.data, i) === i, "sorted and unique");
      }
    }),
    { numRuns: 500 },
  );
});
