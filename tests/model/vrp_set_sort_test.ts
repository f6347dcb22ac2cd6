import { assertEquals as eq } from "../helpers/assert.ts";
import { VrpSetBuilder, W } from "../../lib/model/vrp_set.ts";

/** Deterministic PRNG (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("VrpSetBuilder.build sorts like a comparator sort and finds every duplicate", () => {
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const b = new VrpSetBuilder(4);
    const recs: number[][] = [];
    for (let i = 0; i < 5000; i++) {
      const v6 = r() < 0.3;
      const len = Math.floor(r() * (v6 ? 129 : 33));
      // Few distinct values so that ties and duplicates occur on every key.
      const pick = () => (Math.floor(r() * 4) * 0x40000001) >>> 0;
      const addr = v6 ? [pick(), pick(), pick(), pick()] : [pick(), 0, 0, 0];
      const max = Math.min(len + Math.floor(r() * 3), v6 ? 128 : 32);
      const asn = r() < 0.5 ? Math.floor(r() * 3) : (0xfffffff0 + Math.floor(r() * 3)) >>> 0;
      b.add(v6, addr, len, max, asn);
      recs.push([(v6 ? 0x10000 : 0) | (len << 8) | max, ...addr, asn]);
    }
    const { set, duplicates } = b.build();
    const key = (
      x: number[],
    ) => [x[0] >>> 16, x[1], x[2], x[3], x[4], (x[0] >>> 8) & 255, x[0] & 255, x[5]];
    const cmp = (a: number[], c: number[]) => {
      const ka = key(a), kc = key(c);
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kc[i]) return ka[i] - kc[i];
      return 0;
    };
    recs.sort(cmp);
    const uniq = recs.filter((x, i) => i === 0 || cmp(recs[i - 1], x) !== 0);
    eq(set.size, uniq.length);
    eq(duplicates.length, recs.length - uniq.length);
    const got: number[][] = [];
    for (let i = 0; i < set.size; i++) got.push([...set.data.subarray(i * W, i * W + W)]);
    eq(got, uniq);
  }
});
