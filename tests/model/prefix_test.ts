/** Prefix parsing and RFC 5952 formatting (lib/model/prefix.ts). */
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../lib/errors.ts";
import {
  canonicalPrefix,
  formatIpv4,
  formatIpv6,
  formatPrefix,
  parseIpv4,
  parseIpv6,
  parsePrefix,
  putIpv6,
  scanIpv4,
  scanIpv6,
  scannedTo,
  topMask,
  tryParsePrefix,
} from "../../lib/model/prefix.ts";

Deno.test("topMask() sets the top bits of a word, clamped to 0..32", () => {
  assert.equal(topMask(-5), 0);
  assert.equal(topMask(0), 0);
  assert.equal(topMask(1), 0x80000000);
  assert.equal(topMask(24), 0xffffff00);
  assert.equal(topMask(31), 0xfffffffe);
  assert.equal(topMask(32), 0xffffffff);
  assert.equal(topMask(100), 0xffffffff);
});

Deno.test("parseIpv4() reads dotted quads", () => {
  assert.equal(parseIpv4("192.0.2.1"), 0xc0000201);
  assert.equal(parseIpv4("0.0.0.0"), 0);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  assert.equal(parseIpv4("10.0.0.0"), 0x0a000000);
});

Deno.test("parseIpv4() returns null for malformed addresses", () => {
  for (
    const s of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.1",
      "1.2.3.256",
      "1..2.3",
      "1.2.3.",
      ".1.2.3",
      "a.b.c.d",
      "1.2.3.-4",
      "+1.2.3.4",
      "1.2.3.4 ",
      " 1.2.3.4",
      "0x1.2.3.4",
      "1.2.3.4/24",
      "1234.1.1.1",
      "1.2.3.1e1",
      "٣.2.3.4", // Arabic-Indic digit
      "010.0.0.1", // leading zeros are ambiguous (octal in inet_aton), rejected like inet_pton
      "1.2.3.04",
    ]
  ) {
    assert.equal(parseIpv4(s), null, JSON.stringify(s));
  }
});

Deno.test("parseIpv6() reads every RFC 4291 text form", () => {
  const cases: [string, number[]][] = [
    ["::", [0, 0, 0, 0]],
    ["::1", [0, 0, 0, 1]],
    ["1::", [0x00010000, 0, 0, 0]],
    ["2001:db8::", [0x20010db8, 0, 0, 0]],
    ["2001:DB8::1", [0x20010db8, 0, 0, 1]],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", [0x20010db8, 0, 0, 1]],
    ["2001:db8:0:0:1:0:0:1", [0x20010db8, 0, 0x00010000, 1]],
    ["1:2:3:4:5:6:7:8", [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
    ["1:2:3:4:5:6:7::", [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ["::2:3:4:5:6:7:8", [0x00000002, 0x00030004, 0x00050006, 0x00070008]],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]],
    // Embedded IPv4 (RFC 4291 §2.2 form 3).
    ["::ffff:192.0.2.1", [0, 0, 0xffff, 0xc0000201]],
    ["::192.0.2.1", [0, 0, 0, 0xc0000201]],
    ["64:ff9b::192.0.2.33", [0x0064ff9b, 0, 0, 0xc0000221]],
    ["1:2:3:4:5:6:192.0.2.1", [0x00010002, 0x00030004, 0x00050006, 0xc0000201]],
    ["0:0:0:0:0:ffff:255.255.255.255", [0, 0, 0xffff, 0xffffffff]],
  ];
  for (const [s, want] of cases) assert.deepEqual(parseIpv6(s), want, s);
});

Deno.test("parseIpv6() returns null for malformed addresses", () => {
  for (
    const s of [
      "",
      ":",
      ":::",
      "1::2::3",
      "::1::",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "::1:2:3:4:5:6:7:8",
      "12345::",
      "g::",
      ":1::",
      "1::2:",
      ":1:2:3:4:5:6:7:8",
      "1:2:3:4:5:6:7:8:",
      "fe80::1%eth0",
      "[::1]",
      "::ffff:256.1.1.1",
      "::ffff:1.2.3",
      "::ffff:01.2.3.4",
      "1.2.3.4::", // IPv4 is allowed only as the last 32 bits
      "1.2.3.4::1",
      "::1.2.3.4:5",
      "1:2:3:4:5:6:7:1.2.3.4", // nine groups' worth
      "1:2:3:4:5:6:7:8:1.2.3.4",
      "1.2.3.4",
      " ::1",
      "::1 ",
      "0000:0000:0000:0000:0000:ffff:255.255.255.255:0",
    ]
  ) {
    assert.equal(parseIpv6(s), null, JSON.stringify(s));
  }
});

Deno.test("formatIpv4() writes dotted quads", () => {
  assert.equal(formatIpv4(0xc0000201), "192.0.2.1");
  assert.equal(formatIpv4(0), "0.0.0.0");
  assert.equal(formatIpv4(0xffffffff), "255.255.255.255");
});

Deno.test("formatIpv6() follows RFC 5952 §4", () => {
  const p = (s: string) => parseIpv6(s)!;
  // §4.1 leading zeros suppressed; §4.3 lower case.
  assert.equal(formatIpv6(p("2001:0DB8:0000:0000:0000:0000:0000:0001")), "2001:db8::1");
  assert.equal(formatIpv6(p("2001:DB8:ABCD:12::")), "2001:db8:abcd:12::");
  // §4.2.1 "::" as long as possible.
  assert.equal(formatIpv6(p("2001:db8:0:0:0:0:2:1")), "2001:db8::2:1");
  // §4.2.2 a single zero group is not shortened.
  assert.equal(formatIpv6(p("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
  // §4.2.3 the longest run, and the first of equal runs.
  assert.equal(formatIpv6(p("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");
  assert.equal(formatIpv6(p("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  // Edges.
  assert.equal(formatIpv6([0, 0, 0, 0]), "::");
  assert.equal(formatIpv6([0, 0, 0, 1]), "::1");
  assert.equal(formatIpv6([0x00010000, 0, 0, 0]), "1::");
  assert.equal(formatIpv6(p("1:2:3:4:5:6:7:8")), "1:2:3:4:5:6:7:8");
  assert.equal(formatIpv6(p("1:0:3:4:5:6:7:0")), "1:0:3:4:5:6:7:0");
  assert.equal(formatIpv6(p("0:0:3:4:5:6:7:8")), "::3:4:5:6:7:8");
  assert.equal(formatIpv6(p("1:2:3:4:5:6:0:0")), "1:2:3:4:5:6::");
  assert.equal(formatIpv6(p("fe80::1")), "fe80::1");
});

Deno.test("formatIpv6() writes IPv4-mapped addresses in mixed notation (RFC 5952 §5)", () => {
  assert.equal(formatIpv6(parseIpv6("::ffff:192.0.2.1")!), "::ffff:192.0.2.1");
  assert.equal(formatIpv6(parseIpv6("::ffff:c000:201")!), "::ffff:192.0.2.1");
  assert.equal(formatIpv6(parseIpv6("::ffff:0:0")!), "::ffff:0.0.0.0");
  // Other embeddings keep hex: IPv4-compatible is deprecated, NAT64 has no special form here.
  assert.equal(formatIpv6(parseIpv6("::192.0.2.1")!), "::c000:201");
  assert.equal(formatIpv6(parseIpv6("64:ff9b::192.0.2.33")!), "64:ff9b::c000:221");
  assert.equal(formatIpv6(parseIpv6("1::ffff:192.0.2.1")!), "1::ffff:c000:201");
});

Deno.test("formatIpv6() output parses back to the same words (property)", () => {
  const word = fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffffffff }),
  );
  fc.assert(
    fc.property(fc.tuple(word, word, word, word), (a) => {
      const s = formatIpv6(a);
      assert.deepEqual(parseIpv6(s), a, s);
      assert.equal(s, s.toLowerCase());
      assert.ok(!/(^|:)0[0-9a-f]/.test(s), `no leading zeros in ${s}`);
      assert.ok(!s.includes(":::"));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("tryParsePrefix() parses addr/len for both families", () => {
  assert.deepEqual(tryParsePrefix("192.0.2.0/24"), {
    family: 4,
    addr: [0xc0000200],
    length: 24,
    hostBits: false,
  });
  assert.deepEqual(tryParsePrefix("2001:DB8::/32"), {
    family: 6,
    addr: [0x20010db8, 0, 0, 0],
    length: 32,
    hostBits: false,
  });
  assert.deepEqual(tryParsePrefix(" 10.0.0.0/8 "), {
    family: 4,
    addr: [0x0a000000],
    length: 8,
    hostBits: false,
  });
  assert.equal(tryParsePrefix("0.0.0.0/0")?.length, 0);
  assert.equal(tryParsePrefix("::/0")?.length, 0);
  assert.equal(tryParsePrefix("::ffff:192.0.2.0/120")?.length, 120);
});

Deno.test("tryParsePrefix() masks host bits and says so", () => {
  assert.deepEqual(tryParsePrefix("192.0.2.1/24"), {
    family: 4,
    addr: [0xc0000200],
    length: 24,
    hostBits: true,
  });
  assert.deepEqual(tryParsePrefix("2001:db8::1/32"), {
    family: 6,
    addr: [0x20010db8, 0, 0, 0],
    length: 32,
    hostBits: true,
  });
  assert.deepEqual(tryParsePrefix("255.255.255.255/0")?.addr, [0]);
  assert.deepEqual(tryParsePrefix("ffff::ffff/127")?.addr, [0xffff0000, 0, 0, 0xfffe]);
});

Deno.test("tryParsePrefix() uses the default length for a bare address", () => {
  assert.equal(tryParsePrefix("192.0.2.1")?.length, 32);
  assert.equal(tryParsePrefix("2001:db8::1")?.length, 128);
  assert.equal(tryParsePrefix("192.0.2.0", 24)?.length, 24);
});

Deno.test("tryParsePrefix() returns null for malformed prefixes", () => {
  for (
    const s of [
      "",
      "/24",
      "192.0.2.0/",
      "192.0.2.0/33",
      "192.0.2.0/-1",
      "192.0.2.0/+8",
      "192.0.2.0/1000",
      "192.0.2.0/24/8",
      "192.0.2.0/2 4",
      "192.0.2.0/0x8",
      "192.0.2/24",
      "::/129",
      "2001:db8::/200",
      "2001:db8:::/32",
      "hello/8",
      "192.0.2.0 /24",
    ]
  ) {
    assert.equal(tryParsePrefix(s), null, JSON.stringify(s));
  }
});

Deno.test("parsePrefix() throws InputError quoting the bad text", () => {
  assert.throws(
    () => parsePrefix("10.0.0.0/33"),
    (e) => e instanceof InputError && e.message === 'Invalid prefix "10.0.0.0/33"',
  );
});

Deno.test("formatPrefix() and canonicalPrefix() write the canonical text", () => {
  assert.equal(formatPrefix(4, [0xc0000200], 24), "192.0.2.0/24");
  assert.equal(formatPrefix(6, [0x20010db8, 0, 0, 0], 32), "2001:db8::/32");
  assert.equal(
    formatPrefix(6, new Uint32Array([0, 0, 0xffff, 0xc0000200]), 120),
    "::ffff:192.0.2.0/120",
  );
  assert.equal(canonicalPrefix("2001:0DB8:0::/32"), "2001:db8::/32");
  assert.equal(canonicalPrefix("192.0.2.77/24"), "192.0.2.0/24");
  assert.equal(canonicalPrefix("2001:db8:0:0:1:0:0:1/128"), "2001:db8::1:0:0:1/128");
});

Deno.test("canonicalPrefix() is idempotent on arbitrary prefixes (property)", () => {
  const v4 = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
    .map(([a, l]) => `${formatIpv4(a)}/${l}`);
  const v6 = fc.tuple(
    fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }),
    fc.integer({ min: 0, max: 128 }),
  ).map(([a, l]) => `${formatIpv6(a)}/${l}`);
  fc.assert(
    fc.property(fc.oneof(v4, v6), (s) => {
      const c = canonicalPrefix(s);
      assert.equal(canonicalPrefix(c), c);
      assert.equal(tryParsePrefix(c)?.hostBits, false);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("parseIpv6() reads RFC 4291 §2.2 text: groups, one ::, an IPv4 tail", () => {
  const ok: [string, number[]][] = [
    ["::", [0, 0, 0, 0]],
    ["::1", [0, 0, 0, 1]],
    ["1::", [0x10000, 0, 0, 0]],
    ["2001:DB8::8:800:200C:417A", [0x20010db8, 0, 0x80800, 0x200c417a]],
    ["::ffff:1.2.3.4", [0, 0, 0xffff, 0x01020304]],
    ["1:2:3:4:5:6:1.2.3.4", [0x10002, 0x30004, 0x50006, 0x01020304]],
    ["::1.2.3.4", [0, 0, 0, 0x01020304]],
  ];
  for (const [s, w] of ok) assert.deepEqual(parseIpv6(s), w, s);
  for (
    const s of [
      "",
      ":",
      ":1::",
      "1:",
      "1:::2",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4::5:6:7:8",
      "12345::",
      "::1.2.3",
      "::1.2.3.4:5",
      "1:2:3:4:5:6:7:1.2.3.4",
      "::01.2.3.4",
      "fe80::1%eth0",
      "::1/128",
      "1.2.3.4",
    ]
  ) assert.equal(parseIpv6(s), null, s);
});

Deno.test("parseIpv4() rejects what inet_pton rejects, and a length", () => {
  assert.equal(parseIpv4("192.0.2.1"), 0xc0000201);
  for (const s of ["010.0.0.1", "1.2.3", "1.2.3.4.5", "256.0.0.0", "1.2.3.4/24", "", "1..2.3"]) {
    assert.equal(parseIpv4(s), null, s);
  }
});

Deno.test("scanIpv4() and scanIpv6() stop at a / and say where", () => {
  const b = new TextEncoder().encode("192.0.2.0/24 2001:db8::/32 ::ffff:1.2.3.4/128");
  assert.equal(scanIpv4(b, 0, 12), 0xc0000200);
  assert.equal(scannedTo(), 9);
  const w = [0, 0, 0, 0];
  assert.ok(scanIpv6(b, 13, 26, w));
  assert.equal(scannedTo(), 23);
  assert.deepEqual(w, [0x20010db8, 0, 0, 0]);
  assert.ok(scanIpv6(b, 27, b.length, w));
  assert.deepEqual(w, [0, 0, 0xffff, 0x01020304]);
  assert.equal(scannedTo(), 41);
});

Deno.test("putIpv6() and formatIpv6() are one RFC 5952 writer, and parseIpv6() reads it back", () => {
  const buf = new Uint8Array(64);
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let k = 0; k < 20000; k++) {
    const w = [0, 1, 2, 3].map(() => (next() % 3 === 0 ? 0 : next()) >>> 0);
    if (k % 5 === 0) [w[0], w[1], w[2]] = [0, 0, 0xffff];
    const text = formatIpv6(w);
    const n = putIpv6(buf, 0, w);
    assert.equal(new TextDecoder().decode(buf.subarray(0, n)), text);
    assert.deepEqual(parseIpv6(text), w, text);
    assert.equal(text, text.toLowerCase());
  }
  assert.equal(formatIpv6([0, 0, 0xffff, 0x01020304]), "::ffff:1.2.3.4");
});
