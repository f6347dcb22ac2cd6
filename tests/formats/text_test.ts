import assert from "node:assert/strict";
import fc from "fast-check";
import { AsciiBuffer } from "../../lib/formats/text.ts";
import { formatPrefix, VrpSetBuilder } from "../../lib/model/mod.ts";

function prefixText(v6: boolean, words: number[], length: number): string {
  const b = new VrpSetBuilder(1);
  b.add(v6, words, length, length, 0);
  const { set } = b.build();
  const o = new AsciiBuffer(256);
  o.prefix(set.data, 0);
  return new TextDecoder().decode(o.buf.subarray(0, o.pos));
}

Deno.test("AsciiBuffer.prefix() writes the same text as the model's formatPrefix", () => {
  const word = fc.oneof(
    fc.constant(0),
    fc.constantFrom(0xffff, 0xffff0000, 1, 0x10000, 0x20010db8),
    fc.nat({ max: 0xffffffff }),
  );
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.tuple(word, word, word, word),
      fc.nat({ max: 128 }),
      (v6, w, len) => {
        const words = v6 ? w : [w[0]];
        const length = v6 ? len : len % 33;
        assert.equal(prefixText(v6, words, length), formatPrefix(v6 ? 6 : 4, words, length));
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("AsciiBuffer.uint() writes decimal numbers up to 2^32-1", () => {
  for (
    const n of [
      0,
      9,
      10,
      99,
      100,
      999,
      1000,
      1001,
      10000,
      65535,
      100000,
      1000000000,
      4199999999,
      4294967295,
      4294967000,
    ]
  ) {
    const o = new AsciiBuffer(64);
    o.uint(n);
    assert.equal(new TextDecoder().decode(o.buf.subarray(0, o.pos)), String(n));
  }
});

Deno.test("AsciiBuffer.uint() agrees with String() on random 32-bit numbers", () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffffffff }), (n) => {
      const o = new AsciiBuffer(64);
      o.uint(n);
      assert.equal(new TextDecoder().decode(o.buf.subarray(0, o.pos)), String(n));
    }),
    { numRuns: 5000 },
  );
});
