/** The packed, sorted VRP set (lib/model/vrp_set.ts): build, membership, diff and apply. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../lib/errors.ts";
import { formatIpv4, formatIpv6 } from "../../lib/model/prefix.ts";
import type { Vrp } from "../../lib/model/types.ts";
import { VrpSet, VrpSetBuilder, W } from "../../lib/model/vrp_set.ts";
import { Prng } from "../helpers/prng.ts";

const vrp = (prefix: string, maxLength: number, asn: number): Vrp => ({ prefix, maxLength, asn });

/** The documented order, written independently: IPv4 first, address, length, maxLength, ASN. */
function referenceSort(vrps: Vrp[]): Vrp[] {
  const key = (v: Vrp) => {
    const [addr, len] = v.prefix.split("/");
    const v6 = addr.includes(":");
    const words = v6 ? expand6(addr) : [ipv4(addr)];
    while (words.length < 4) words.push(0);
    return [v6 ? 1 : 0, ...words, Number(len), v.maxLength, v.asn];
  };
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
  };
  const sorted = vrps.map((v) => ({ v, k: key(v) })).sort((a, b) => cmp(a.k, b.k));
  return sorted.filter((x, i) => i === 0 || cmp(sorted[i - 1].k, x.k) !== 0).map((x) => x.v);
}

function ipv4(s: string): number {
  return s.split(".").reduce((w, p) => w * 256 + Number(p), 0);
}

function expand6(s: string): number[] {
  const [h, t] = s.includes("::") ? s.split("::") : [s, undefined];
  const head = h ? h.split(":") : [];
  const tail = t === undefined ? [] : t ? t.split(":") : [];
  const groups = [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail].map((g) =>
    parseInt(g, 16)
  );
  return [0, 1, 2, 3].map((i) => groups[2 * i] * 65536 + groups[2 * i + 1]);
}

Deno.test("VrpSetBuilder.build() sorts IPv4 first, then address, lengths and ASN, unsigned", () => {
  const input = [
    vrp("2001:db8::/32", 48, 1),
    vrp("255.0.0.0/8", 8, 1),
    vrp("10.0.0.0/8", 24, 1),
    vrp("10.0.0.0/8", 8, 4294967295),
    vrp("10.0.0.0/8", 8, 2),
    vrp("10.0.0.0/16", 16, 1),
    vrp("128.0.0.0/1", 1, 1),
    vrp("::/0", 0, 0),
    vrp("ffff::/16", 16, 1),
    vrp("2001:db8::/32", 32, 1),
    vrp("0.0.0.0/0", 0, 0),
  ];
  const b = new VrpSetBuilder();
  for (const v of input) b.addVrp(v);
  const { set, duplicates } = b.build();
  assert.deepEqual(duplicates, []);
  assert.deepEqual([...set], [
    vrp("0.0.0.0/0", 0, 0),
    vrp("10.0.0.0/8", 8, 2),
    vrp("10.0.0.0/8", 8, 4294967295),
    vrp("10.0.0.0/8", 24, 1),
    vrp("10.0.0.0/16", 16, 1),
    vrp("128.0.0.0/1", 1, 1),
    vrp("255.0.0.0/8", 8, 1),
    vrp("::/0", 0, 0),
    vrp("2001:db8::/32", 32, 1),
    vrp("2001:db8::/32", 48, 1),
    vrp("ffff::/16", 16, 1),
  ]);
  assert.equal(set.ipv4Count, 7);
  assert.equal(set.ipv6Count, 4);
});

Deno.test("VrpSetBuilder.build() drops duplicates and returns each extra copy", () => {
  const b = new VrpSetBuilder(1);
  b.addVrp(vrp("192.0.2.0/24", 24, 64496));
  b.addVrp(vrp("2001:db8::/32", 48, 64497));
  b.addVrp(vrp("192.0.2.0/24", 24, 64496));
  b.addVrp(vrp("192.0.2.77/24", 24, 64496)); // the same once host bits are masked
  b.addVrp(vrp("2001:0DB8::/32", 48, 64497));
  b.addVrp(vrp("192.0.2.0/24", 25, 64496)); // not a duplicate: other maxLength
  const { set, duplicates } = b.build();
  assert.equal(set.size, 3);
  assert.deepEqual(duplicates, [
    vrp("192.0.2.0/24", 24, 64496),
    vrp("192.0.2.0/24", 24, 64496),
    vrp("2001:db8::/32", 48, 64497),
  ]);
});

Deno.test("VrpSetBuilder.addVrp() rejects values that do not fit a packed record", () => {
  const b = new VrpSetBuilder();
  const bad: Vrp[] = [
    vrp("10.0.0.0/8", 7, 1),
    vrp("10.0.0.0/8", 33, 1),
    vrp("10.0.0.0/8", 256, 1),
    vrp("2001:db8::/32", 129, 1),
    vrp("10.0.0.0/8", 8.5, 1),
    vrp("10.0.0.0/8", 8, -1),
    vrp("10.0.0.0/8", 8, 4294967296),
    vrp("10.0.0.0/8", 8, 1.5),
    vrp("10.0.0.0/33", 33, 1),
  ];
  for (const v of bad) {
    assert.throws(() => b.addVrp(v), (e) => e instanceof InputError, JSON.stringify(v));
  }
  assert.equal(b.length, 0);
  b.addVrp(vrp("2001:db8::/32", 128, 4294967295));
  assert.deepEqual([...b.build().set], [vrp("2001:db8::/32", 128, 4294967295)]);
});

Deno.test("VrpSetBuilder.build() resets the builder for reuse", () => {
  const b = new VrpSetBuilder();
  b.addVrp(vrp("192.0.2.0/24", 24, 1));
  assert.equal(b.length, 1);
  assert.equal(b.build().set.size, 1);
  assert.equal(b.length, 0);
  assert.equal(b.build().set.size, 0);
  b.addVrp(vrp("10.0.0.0/8", 8, 1));
  assert.deepEqual([...b.build().set], [vrp("10.0.0.0/8", 8, 1)]);
});

Deno.test("VrpSetBuilder.add() takes address words and grows past its capacity", () => {
  const b = new VrpSetBuilder(1);
  for (let i = 0; i < 1000; i++) b.add(false, [(i << 8) >>> 0], 24, 24, i);
  b.add(true, new Uint32Array([0x20010db8, 0, 0, 0]), 32, 32, 7);
  const { set } = b.build();
  assert.equal(set.size, 1001);
  assert.equal(set.data.length, 1001 * W);
  assert.deepEqual(set.at(0), vrp("0.0.0.0/24", 24, 0));
  assert.deepEqual(set.at(999), vrp("0.3.231.0/24", 24, 999));
  assert.deepEqual(set.at(1000), vrp("2001:db8::/32", 32, 7));
});

/** Random VRPs in a small space so that duplicates and shared prefixes happen. */
const arbVrp: fc.Arbitrary<Vrp> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 3 }), fc.nat(3)).map((
    [a, l, asn],
  ) => {
    const len = [0, 8, 24, 32][l];
    const w = ([0, 0x0a000000, 0x80000000, 0xc0000200, 0xffffff00, 0x0a010000, 0xc0000000, 1][a] &
      (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0)) >>> 0;
    return vrp(`${formatIpv4(w)}/${len}`, Math.min(32, len + asn), [0, 1, 64496, 4294967295][asn]);
  }),
  fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }), fc.nat(3)).map((
    [a, l, asn],
  ) => {
    const len = [0, 32, 48, 128][l];
    const words = [
      [0, 0, 0, 0],
      [0x20010db8, 0, 0, 0],
      [0x20010db8, 0x10000, 0, 0],
      [
        0xffff0000,
        0,
        0,
        0,
      ],
      [0x20010db8, 0, 0, 1],
      [0x2a030000, 0, 0, 0],
    ][a].map((w, i) => {
      const bits = len - 32 * i;
      return (w & (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0)) >>>
        0;
    });
    return vrp(`${formatIpv6(words)}/${len}`, Math.min(128, len + asn), [0, 1, 64497, 65536][asn]);
  }),
);

Deno.test("VrpSetBuilder.build() agrees with a reference sort and dedup (property)", () => {
  fc.assert(
    fc.property(fc.array(arbVrp, { maxLength: 60 }), (vrps) => {
      const b = new VrpSetBuilder(4);
      for (const v of vrps) b.addVrp(v);
      const { set, duplicates } = b.build();
      const want = referenceSort(vrps);
      assert.deepEqual([...set], want);
      assert.equal(set.size + duplicates.length, vrps.length);
      assert.equal(set.ipv4Count, want.filter((v) => !v.prefix.includes(":")).length);
      // Building again from the sorted output (the already-sorted path) changes nothing.
      assert.deepEqual([...VrpSet.from(set)], want);
    }),
    { numRuns: 500 },
  );
});

Deno.test("VrpSetBuilder.build() sorts a large random table like the reference", () => {
  const rng = new Prng(42);
  const vrps: Vrp[] = [];
  for (let i = 0; i < 20000; i++) {
    if (rng.int(0, 4) === 0) {
      const w = [rng.u32(), rng.int(0, 3), 0, rng.int(0, 1)];
      vrps.push(vrp(`${formatIpv6(w)}/128`, 128, rng.int(0, 5)));
    } else {
      vrps.push(vrp(`${formatIpv4(rng.u32())}/32`, 32, rng.int(0, 3) * 0x40000000 + rng.int(0, 1)));
    }
  }
  vrps.push(...vrps.slice(0, 100)); // some duplicates
  const b = new VrpSetBuilder();
  for (const v of vrps) b.addVrp(v);
  const { set, duplicates } = b.build();
  assert.equal(duplicates.length, 100);
  const got = [...set].map((v) => JSON.stringify(v));
  const want = referenceSort(vrps).map((v) => JSON.stringify(v));
  const firstDiff = got.findIndex((g, i) => g !== want[i]);
  assert.equal(
    firstDiff,
    -1,
    `first difference at ${firstDiff}: ${got[firstDiff]} vs ${want[firstDiff]}`,
  );
  assert.equal(got.length, want.length);
});

Deno.test("VrpSet.has() finds members, canonicalising the prefix text", () => {
  const set = VrpSet.from([vrp("192.0.2.0/24", 24, 64496), vrp("2001:db8::/32", 48, 64497)]);
  assert.equal(set.has(vrp("192.0.2.0/24", 24, 64496)), true);
  assert.equal(set.has(vrp("192.0.2.1/24", 24, 64496)), true);
  assert.equal(set.has(vrp("2001:0DB8:0::/32", 48, 64497)), true);
  assert.equal(set.has(vrp("192.0.2.0/24", 25, 64496)), false);
  assert.equal(set.has(vrp("192.0.2.0/24", 24, 64497)), false);
  assert.equal(set.has(vrp("192.0.3.0/24", 24, 64496)), false);
  assert.equal(new VrpSet().has(vrp("192.0.2.0/24", 24, 64496)), false);
});

Deno.test("VrpSet.ipv4Count counts IPv4 records for all-IPv4, all-IPv6, mixed and empty sets", () => {
  assert.equal(new VrpSet().ipv4Count, 0);
  assert.equal(new VrpSet().size, 0);
  assert.equal(VrpSet.from([vrp("10.0.0.0/8", 8, 1), vrp("11.0.0.0/8", 8, 1)]).ipv4Count, 2);
  assert.equal(VrpSet.from([vrp("::/0", 0, 1)]).ipv4Count, 0);
  const mixed = VrpSet.from(
    Array.from(
      { length: 101 },
      (_, i) => vrp(i % 3 ? `10.${i}.0.0/16` : `2001:db8:${i}::/48`, 48, 1),
    )
      .map((v) => v.prefix.includes(":") ? v : { ...v, maxLength: 16 }),
  );
  assert.equal(mixed.ipv4Count, 67);
  assert.equal(mixed.ipv6Count, 34);
});

Deno.test("VrpSet.diff() returns what was announced and withdrawn", () => {
  const a = VrpSet.from([
    vrp("10.0.0.0/8", 8, 1),
    vrp("192.0.2.0/24", 24, 64496),
    vrp("2001:db8::/32", 48, 64497),
  ]);
  const b = VrpSet.from([
    vrp("192.0.2.0/24", 24, 64496),
    vrp("198.51.100.0/24", 24, 64496),
    vrp("2001:db8::/32", 48, 64497),
    vrp("2001:db8::/32", 64, 64497),
  ]);
  const d = VrpSet.diff(a, b);
  assert.deepEqual([...d.announced], [
    vrp("198.51.100.0/24", 24, 64496),
    vrp("2001:db8::/32", 64, 64497),
  ]);
  assert.deepEqual([...d.withdrawn], [vrp("10.0.0.0/8", 8, 1)]);
  const same = VrpSet.diff(a, a);
  assert.equal(same.announced.size + same.withdrawn.size, 0);
  const fromEmpty = VrpSet.diff(new VrpSet(), b);
  assert.deepEqual([...fromEmpty.announced], [...b]);
  assert.equal(fromEmpty.withdrawn.size, 0);
});

Deno.test("VrpSet.apply() withdraws then announces, ignoring unknown and repeated records", () => {
  const base = VrpSet.from([vrp("10.0.0.0/8", 8, 1), vrp("192.0.2.0/24", 24, 64496)]);
  const next = base.apply(
    VrpSet.from([vrp("192.0.2.0/24", 24, 64496), vrp("2001:db8::/32", 48, 1)]),
    VrpSet.from([vrp("10.0.0.0/8", 8, 1), vrp("172.16.0.0/12", 12, 1)]),
  );
  assert.deepEqual([...next], [vrp("192.0.2.0/24", 24, 64496), vrp("2001:db8::/32", 48, 1)]);
  // A record both withdrawn and announced in one delta stays.
  const again = base.apply(
    VrpSet.from([vrp("10.0.0.0/8", 8, 1)]),
    VrpSet.from([vrp("10.0.0.0/8", 8, 1)]),
  );
  assert.deepEqual([...again], [...base]);
  assert.deepEqual([...base], [vrp("10.0.0.0/8", 8, 1), vrp("192.0.2.0/24", 24, 64496)]);
  assert.deepEqual([...new VrpSet().apply(base, new VrpSet())], [...base]);
  assert.equal(base.apply(new VrpSet(), base).size, 0);
});

Deno.test("a.apply(diff(a, b)) equals b (property)", () => {
  fc.assert(
    fc.property(
      fc.array(arbVrp, { maxLength: 40 }),
      fc.array(arbVrp, { maxLength: 40 }),
      (x, y) => {
        const a = VrpSet.from(x), b = VrpSet.from(y);
        const d = VrpSet.diff(a, b);
        assert.deepEqual([...a.apply(d.announced, d.withdrawn)], [...b]);
        assert.deepEqual(a.apply(d.announced, d.withdrawn).data, b.data);
        const back = VrpSet.diff(b, a);
        assert.deepEqual([...back.announced], [...d.withdrawn]);
        for (const v of d.announced) assert.ok(b.has(v) && !a.has(v));
        for (const v of d.withdrawn) assert.ok(a.has(v) && !b.has(v));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("VrpSet.indexOfRecord() gives the insertion point of a missing record", () => {
  const set = VrpSet.from([vrp("10.0.0.0/8", 8, 1), vrp("12.0.0.0/8", 8, 1)]);
  const probe = (v: Vrp) => set.indexOfRecord(VrpSet.from([v]).data, 0);
  assert.equal(probe(vrp("10.0.0.0/8", 8, 1)), 0);
  assert.equal(probe(vrp("12.0.0.0/8", 8, 1)), 1);
  assert.equal(probe(vrp("9.0.0.0/8", 8, 1)), -1);
  assert.equal(probe(vrp("11.0.0.0/8", 8, 1)), -2);
  assert.equal(probe(vrp("::/0", 0, 1)), -3);
});

Deno.test("VrpSetBuilder.build() sorts more than 2^20 records (coarser sort keys)", () => {
  const rng = new Prng(77);
  const n = (1 << 20) + 50_000;
  const b = new VrpSetBuilder(n);
  const a = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const v6 = (i & 7) === 0;
    a[0] = v6 ? 0x20010db8 : rng.u32() & 0xfffff000; // IPv6 share a word: long runs to refine
    a[1] = v6 ? rng.u32() & 0xffff0000 : 0;
    b.add(v6, a, v6 ? 48 : 20, v6 ? 48 : 24, rng.int(0, 3));
  }
  const { set, duplicates } = b.build();
  assert.equal(set.size + duplicates.length, n);
  const d = set.data;
  for (let i = 1; i < set.size; i++) {
    const x = (i - 1) * W, y = i * W;
    let c = (d[x] >>> 16) - (d[y] >>> 16);
    for (let k = 1; c === 0 && k <= 4; k++) c = d[x + k] - d[y + k];
    if (c === 0) c = ((d[x] >>> 8) & 255) - ((d[y] >>> 8) & 255);
    if (c === 0) c = (d[x] & 255) - (d[y] & 255);
    if (c === 0) c = d[x + 5] - d[y + 5];
    if (c >= 0) assert.fail(`records ${i - 1} and ${i} are out of order or equal`);
  }
});
