/** RFC 1982 serial number arithmetic with SERIAL_BITS = 32 (RFC 8210 §5.1 and RFC 1982 §3.2). */
import assert from "node:assert/strict";
import fc from "fast-check";
import { serialAdd, serialCompare, serialGt, serialLt } from "../lib/serial.ts";

const HALF = 0x80000000;
const u32 = fc.integer({ min: 0, max: 0xffffffff });

Deno.test("serialAdd() wraps at 2^32", () => {
  assert.equal(serialAdd(1, 1), 2);
  assert.equal(serialAdd(0xffffffff, 1), 0);
  assert.equal(serialAdd(0xfffffff0, 0x20), 0x10);
  assert.equal(serialAdd(0, HALF - 1), HALF - 1);
  assert.equal(serialAdd(HALF, HALF - 1), 0xffffffff);
});

Deno.test("serialLt() orders nearby serials and is irreflexive", () => {
  assert.equal(serialLt(1, 2), true);
  assert.equal(serialLt(2, 1), false);
  assert.equal(serialLt(7, 7), false);
  assert.equal(serialGt(2, 1), true);
  assert.equal(serialGt(1, 2), false);
  assert.equal(serialGt(0, 0), false);
});

Deno.test("serialLt() follows wrap-around: 2^32 - 1 precedes 0", () => {
  assert.equal(serialLt(0xffffffff, 0), true);
  assert.equal(serialLt(0, 0xffffffff), false);
  assert.equal(serialLt(0xfffffff0, 5), true);
  assert.equal(serialGt(5, 0xfffffff0), true);
  assert.equal(serialCompare(0xffffffff, 0), -1);
  assert.equal(serialCompare(0, 0xffffffff), 1);
});

Deno.test("serialLt() at distance 2^31 - 1 is defined, at exactly 2^31 it is neither", () => {
  assert.equal(serialLt(0, HALF - 1), true);
  assert.equal(serialLt(HALF - 1, 0), false);
  // RFC 1982 §3.2: s1 and s1 + 2^31 are not comparable.
  for (const a of [0, 1, 12345, HALF, 0xffffffff]) {
    const b = (a + HALF) >>> 0;
    assert.equal(serialLt(a, b), false, `${a} < ${b}`);
    assert.equal(serialLt(b, a), false, `${b} < ${a}`);
    assert.equal(serialGt(a, b), false);
    assert.equal(serialGt(b, a), false);
    assert.equal(serialCompare(a, b), 0);
    assert.notEqual(a, b);
  }
  // Just past the half way point the order flips.
  assert.equal(serialLt(0, HALF + 1), false);
  assert.equal(serialLt(HALF + 1, 0), true);
});

Deno.test("serialCompare() is -1, 0 or 1 and antisymmetric (property)", () => {
  fc.assert(
    fc.property(u32, u32, (a, b) => {
      const c = serialCompare(a, b);
      assert.ok(c === -1 || c === 0 || c === 1);
      assert.equal(serialCompare(b, a), -c || 0);
      assert.equal(c === -1, serialLt(a, b));
      assert.equal(c === 1, serialGt(a, b));
      assert.equal(c === 0, a === b || ((b - a) >>> 0) === HALF);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("serialAdd(a, n) follows a for every 0 < n < 2^31 (property)", () => {
  fc.assert(
    fc.property(u32, fc.integer({ min: 1, max: HALF - 1 }), (a, n) => {
      const b = serialAdd(a, n);
      assert.ok(b >= 0 && b <= 0xffffffff && Number.isInteger(b));
      assert.equal(serialLt(a, b), true);
      assert.equal(serialGt(b, a), true);
      assert.equal(serialLt(b, a), false);
    }),
    { numRuns: 2000 },
  );
});
