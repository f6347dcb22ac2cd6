/** Payload value helpers (lib/model/types.ts): hex, base64, identities and orders. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compareAspa,
  compareRouterKey,
  fromBase64,
  fromHex,
  routerKeyId,
  toBase64,
  toHex,
} from "../../lib/model/types.ts";

Deno.test("toHex() writes upper-case hex and fromHex() reads any case", () => {
  assert.equal(toHex(new Uint8Array([0x51, 0x0f, 0x00, 0xff])), "510F00FF");
  assert.equal(toHex(new Uint8Array(0)), "");
  assert.deepEqual(fromHex("510f00FF"), new Uint8Array([0x51, 0x0f, 0x00, 0xff]));
  assert.deepEqual(fromHex(""), new Uint8Array(0));
});

Deno.test("fromHex() returns null for odd lengths and non-hex characters", () => {
  for (const s of ["0", "abc", "0g", "0x00", " 00", "00 ", "+1"]) {
    assert.equal(fromHex(s), null, JSON.stringify(s));
  }
});

Deno.test("toBase64() and fromBase64() round-trip any bytes, large ones too (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      assert.deepEqual(fromBase64(toBase64(b)), b);
    }),
  );
  const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 255);
  assert.deepEqual(fromBase64(toBase64(big)), big);
});

Deno.test("fromBase64() accepts URL-safe text and whitespace, rejects garbage", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xbe]);
  assert.equal(toBase64(bytes), "+/++");
  assert.deepEqual(fromBase64("-_--"), bytes);
  assert.deepEqual(fromBase64("+/+\n+"), bytes);
  assert.equal(fromBase64("@@@@"), null);
  assert.equal(fromBase64("a"), null);
});

Deno.test("routerKeyId() ignores SKI case and includes ASN and key", () => {
  const k = { asn: 64498, ski: "510f485d29a29db7b515f9c478f8ed3cb7aa7d23", pubkey: "MFkw" };
  assert.equal(routerKeyId(k), routerKeyId({ ...k, ski: k.ski.toUpperCase() }));
  assert.notEqual(routerKeyId(k), routerKeyId({ ...k, asn: 64499 }));
  assert.notEqual(routerKeyId(k), routerKeyId({ ...k, pubkey: "MFkx" }));
});

Deno.test("compareRouterKey() orders by ASN, then SKI (any case), then key", () => {
  const keys = [
    { asn: 2, ski: "AA", pubkey: "x" },
    { asn: 1, ski: "bb", pubkey: "x" },
    { asn: 1, ski: "AA", pubkey: "y" },
    { asn: 1, ski: "aa", pubkey: "x" },
    { asn: 4294967295, ski: "00", pubkey: "x" },
  ];
  assert.deepEqual(keys.sort(compareRouterKey), [
    { asn: 1, ski: "aa", pubkey: "x" },
    { asn: 1, ski: "AA", pubkey: "y" },
    { asn: 1, ski: "bb", pubkey: "x" },
    { asn: 2, ski: "AA", pubkey: "x" },
    { asn: 4294967295, ski: "00", pubkey: "x" },
  ]);
  assert.equal(compareRouterKey(keys[0], { ...keys[0], ski: "AA" }), 0);
});

Deno.test("compareAspa() orders by customer ASN, 32-bit values included", () => {
  const a = [{ customer: 4294967295, providers: [] }, { customer: 0, providers: [] }, {
    customer: 65536,
    providers: [],
  }];
  assert.deepEqual(a.sort(compareAspa).map((x) => x.customer), [0, 65536, 4294967295]);
});
