import assert from "node:assert/strict";
import fc from "fast-check";
import { parseRouteLine, type Route, RovIndex, type RovResult } from "../../lib/rov/mod.ts";
import { parsePrefix, topMask } from "../../lib/model/prefix.ts";
import { VrpSet, W } from "../../lib/model/vrp_set.ts";
import type { Vrp } from "../../lib/model/types.ts";

function route(prefix: string, asn: number): Route {
  const p = parsePrefix(prefix);
  return { family: p.family, addr: p.addr, length: p.length, asn };
}

function index(vrps: Vrp[]): RovIndex {
  return new RovIndex(VrpSet.from(vrps));
}

/** The result with record indices replaced by VRP values, for readable assertions. */
function named(ix: RovIndex, r: RovResult) {
  const v = (l: readonly number[]) => l.map((i) => ix.vrp(i));
  return {
    state: r.state,
    reason: r.reason,
    matched: v(r.matched),
    unmatchedAs: v(r.unmatchedAs),
    unmatchedLength: v(r.unmatchedLength),
  };
}

function check(ix: RovIndex, prefix: string, asn: number) {
  const rt = route(prefix, asn);
  const r = ix.validate(rt);
  const code = ix.stateCode(rt.family, rt.addr, rt.length, rt.asn);
  assert.equal(code, { valid: 0, "not-found": 1, invalid: 2 }[r.state], `stateCode ${prefix}`);
  return named(ix, r);
}

const V = (prefix: string, maxLength: number, asn: number): Vrp => ({ prefix, maxLength, asn });

Deno.test("validate() finds an exact VRP with the same ASN valid", () => {
  const ix = index([V("192.0.2.0/24", 24, 64496)]);
  assert.deepEqual(check(ix, "192.0.2.0/24", 64496), {
    state: "valid",
    reason: null,
    matched: [V("192.0.2.0/24", 24, 64496)],
    unmatchedAs: [],
    unmatchedLength: [],
  });
});

Deno.test("validate() says not-found when no VRP covers the route", () => {
  const ix = index([V("192.0.2.0/24", 24, 64496), V("2001:db8::/32", 48, 64496)]);
  assert.equal(check(ix, "198.51.100.0/24", 64496).state, "not-found");
  assert.equal(check(ix, "192.0.3.0/24", 64496).state, "not-found");
  // A less specific route than the VRP is not covered.
  assert.equal(check(ix, "192.0.0.0/16", 64496).state, "not-found");
  assert.equal(check(ix, "2001:db9::/32", 64496).state, "not-found");
  assert.equal(check(ix, "2001:d00::/24", 64496).state, "not-found");
});

Deno.test("validate() gives reason length when the right ASN's maxLength is too short", () => {
  const ix = index([V("192.0.2.0/24", 24, 64496)]);
  assert.deepEqual(check(ix, "192.0.2.128/25", 64496), {
    state: "invalid",
    reason: "length",
    matched: [],
    unmatchedAs: [],
    unmatchedLength: [V("192.0.2.0/24", 24, 64496)],
  });
});

Deno.test("validate() gives reason as when only other ASNs cover the route", () => {
  const ix = index([V("192.0.2.0/23", 25, 64497)]);
  const r = check(ix, "192.0.2.0/24", 64496);
  assert.equal(r.state, "invalid");
  assert.equal(r.reason, "as");
  assert.deepEqual(r.unmatchedAs, [V("192.0.2.0/23", 25, 64497)]);
});

Deno.test("validate() gives reason as-and-length when both kinds of VRP cover the route", () => {
  const ix = index([V("192.0.2.0/23", 25, 64497), V("192.0.2.0/24", 24, 64496)]);
  const r = check(ix, "192.0.2.0/26", 64496);
  assert.equal(r.state, "invalid");
  assert.equal(r.reason, "as-and-length");
  assert.deepEqual(r.unmatchedAs, [V("192.0.2.0/23", 25, 64497)]);
  assert.deepEqual(r.unmatchedLength, [V("192.0.2.0/24", 24, 64496)]);
});

Deno.test("validate() is valid when one of several covering VRPs matches (RFC 6811 §2)", () => {
  const ix = index([
    V("10.0.0.0/8", 8, 64500), // other AS, less specific
    V("10.1.0.0/16", 16, 64501), // right AS, too short
    V("10.1.0.0/16", 24, 64501), // right AS, long enough: this one decides
    V("10.1.2.0/24", 24, 64502), // other AS, exact
  ]);
  assert.deepEqual(check(ix, "10.1.2.0/24", 64501), {
    state: "valid",
    reason: null,
    matched: [V("10.1.0.0/16", 24, 64501)],
    unmatchedAs: [V("10.0.0.0/8", 8, 64500), V("10.1.2.0/24", 24, 64502)],
    unmatchedLength: [V("10.1.0.0/16", 16, 64501)],
  });
});

Deno.test("validate() never matches AS0: an AS0 VRP makes covered routes invalid (RFC 6483, RFC 9319)", () => {
  const ix = index([V("198.51.100.0/24", 32, 0)]);
  for (const asn of [0, 64496]) {
    const r = check(ix, "198.51.100.0/24", asn);
    assert.equal(r.state, "invalid", `origin ${asn}`);
    assert.equal(r.reason, "as");
    assert.deepEqual(r.unmatchedAs, [V("198.51.100.0/24", 32, 0)]);
  }
  assert.equal(check(ix, "198.51.100.7/32", 0).state, "invalid");
});

Deno.test("validate() leaves AS0 VRPs beside a matching VRP valid", () => {
  const ix = index([V("198.51.100.0/22", 24, 0), V("198.51.100.0/24", 24, 64496)]);
  const r = check(ix, "198.51.100.0/24", 64496);
  assert.equal(r.state, "valid");
  assert.deepEqual(r.unmatchedAs, [V("198.51.100.0/22", 24, 0)]);
});

Deno.test("validate() never matches a route with origin AS0 even against an AS0 VRP", () => {
  const ix = index([V("203.0.113.0/24", 24, 0), V("203.0.113.0/24", 24, 64496)]);
  const r = check(ix, "203.0.113.0/24", 0);
  assert.equal(r.state, "invalid");
  assert.equal(r.reason, "as");
  assert.deepEqual(r.matched, []);
});

Deno.test("validate() applies maxLength inclusively", () => {
  const ix = index([V("192.0.2.0/24", 26, 64496)]);
  assert.equal(check(ix, "192.0.2.0/24", 64496).state, "valid");
  assert.equal(check(ix, "192.0.2.64/26", 64496).state, "valid");
  assert.equal(check(ix, "192.0.2.64/27", 64496).reason, "length");
  assert.equal(check(ix, "192.0.2.255/32", 64496).reason, "length");
});

Deno.test("validate() treats /0 VRPs as covering every route of their family", () => {
  const ix = index([V("0.0.0.0/0", 32, 64496), V("::/0", 0, 64497)]);
  assert.equal(check(ix, "0.0.0.0/0", 64496).state, "valid");
  assert.equal(check(ix, "255.255.255.255/32", 64496).state, "valid");
  assert.equal(check(ix, "8.8.8.0/24", 1).reason, "as");
  assert.equal(check(ix, "::/0", 64497).state, "valid");
  assert.equal(check(ix, "2001:db8::/32", 64497).reason, "length");
  // Families never mix: the IPv4 /0 does not cover IPv6 routes.
  assert.deepEqual(check(ix, "2001:db8::/32", 64496).unmatchedAs, [V("::/0", 0, 64497)]);
});

Deno.test("validate() handles IPv6 prefixes across word boundaries", () => {
  const ix = index([
    V("2001:db8::/32", 48, 64496),
    V("2001:db8:0:1::/64", 64, 64497),
    V("2001:db8:0:1:8000::/65", 128, 64498),
    V("2001:db8:0:1::1/128", 128, 64499),
  ]);
  assert.equal(check(ix, "2001:db8:ffff::/48", 64496).state, "valid");
  assert.equal(check(ix, "2001:db8:ffff::/49", 64496).reason, "length");
  assert.equal(check(ix, "2001:db8:0:1::/64", 64497).state, "valid");
  assert.deepEqual(check(ix, "2001:db8:0:1:8000::5/128", 64498).unmatchedAs, [
    V("2001:db8::/32", 48, 64496),
    V("2001:db8:0:1::/64", 64, 64497),
  ]);
  assert.equal(check(ix, "2001:db8:0:1::1/128", 64499).state, "valid");
  // ::2/128 is beside the ::1/128 VRP, not under it.
  assert.equal(check(ix, "2001:db8:0:1::2/128", 64499).unmatchedAs.length, 2);
  // A /127 less specific than the /128 VRP is not covered by it.
  assert.equal(check(ix, "2001:db8:0:1::/127", 64499).reason, "as");
  assert.equal(check(ix, "2001:db9::/48", 64496).state, "not-found");
});

Deno.test("validate() ignores host bits beyond the route length", () => {
  const ix = index([V("192.0.2.0/24", 24, 64496)]);
  // 192.0.2.77/24 is the route 192.0.2.0/24 written with host bits.
  const rt: Route = { family: 4, addr: [0xc000024d], length: 24, asn: 64496 };
  assert.equal(ix.validate(rt).state, "valid");
  assert.equal(ix.stateCode(4, [0xc000024d], 24, 64496), 0);
  const r6: Route = { family: 6, addr: [0x20010db8, 0, 0, 7], length: 32, asn: 1 };
  assert.equal(index([V("2001:db8::/32", 32, 1)]).validate(r6).state, "valid");
});

Deno.test("validate() on an empty set says not-found for both families", () => {
  const ix = index([]);
  assert.equal(check(ix, "192.0.2.0/24", 1).state, "not-found");
  assert.equal(check(ix, "::/0", 1).state, "not-found");
  assert.equal(ix.prefixCount, 0);
});

Deno.test("validate() handles ASNs above 2^31", () => {
  const ix = index([V("192.0.2.0/24", 24, 4200000000)]);
  assert.equal(check(ix, "192.0.2.0/24", 4200000000).state, "valid");
  assert.equal(check(ix, "192.0.2.0/24", 4200000001).reason, "as");
});

Deno.test("within() finds the exact prefix, or it and its more specifics", () => {
  const vrps = [
    V("10.0.0.0/8", 8, 1),
    V("10.0.0.0/16", 24, 2),
    V("10.0.0.0/16", 16, 3),
    V("10.0.5.0/24", 24, 4),
    V("10.1.0.0/16", 16, 5),
    V("11.0.0.0/8", 8, 6),
    V("10.0.0.0/16", 16, 7),
  ];
  const ix = index(vrps);
  const list = (p: string, more: boolean) => {
    const q = parsePrefix(p);
    const [f, e] = ix.within(q.family, q.addr, q.length, more);
    const out: Vrp[] = [];
    for (let i = f; i < e; i++) out.push(ix.vrp(i));
    return out;
  };
  assert.deepEqual(list("10.0.0.0/16", false), [
    V("10.0.0.0/16", 16, 3),
    V("10.0.0.0/16", 16, 7),
    V("10.0.0.0/16", 24, 2),
  ]);
  assert.deepEqual(list("10.0.0.0/16", true), [
    V("10.0.0.0/16", 16, 3),
    V("10.0.0.0/16", 16, 7),
    V("10.0.0.0/16", 24, 2),
    V("10.0.5.0/24", 24, 4),
  ]);
  assert.equal(list("10.0.0.0/8", true).length, 6);
  assert.deepEqual(list("10.0.0.0/12", false), []);
  assert.equal(list("0.0.0.0/0", true).length, 7);
  assert.deepEqual(list("::/0", true), []);
});

// ---------------------------------------------------------------------------------------------
// Property tests against a brute-force reading of RFC 6811 over every record.

function naive(set: VrpSet, rt: Route): { state: string; m: number[]; a: number[]; l: number[] } {
  const d = set.data, m: number[] = [], a: number[] = [], l: number[] = [];
  for (let i = 0; i < set.size; i++) {
    const x = i * W;
    if ((d[x] >>> 16 === 1) !== (rt.family === 6)) continue;
    const len = (d[x] >>> 8) & 255;
    if (len > rt.length) continue;
    let covers = true;
    for (let k = 0; k < (rt.family === 4 ? 1 : 4); k++) {
      const bits = len - 32 * k;
      if (bits <= 0) break;
      const mask = topMask(bits);
      if (((d[x + 1 + k] & mask) >>> 0) !== ((rt.addr[k] & mask) >>> 0)) covers = false;
    }
    if (!covers) continue;
    const asn = d[x + 5];
    if (asn !== rt.asn || asn === 0) a.push(i);
    else if (rt.length > (d[x] & 255)) l.push(i);
    else m.push(i);
  }
  const state = m.length ? "valid" : a.length + l.length ? "invalid" : "not-found";
  return { state, m, a, l };
}

/** Small address space so that random prefixes overlap often. */
const arbV4Prefix = fc.record({
  top: fc.constantFrom(0x0a000000, 0x0a010000, 0xc0000200, 0),
  low: fc.integer({ min: 0, max: 0xffff }),
  length: fc.integer({ min: 0, max: 32 }),
}).map(({ top, low, length }) => ({
  family: 4 as const,
  addr: [((top | low) & topMask(length)) >>> 0],
  length,
}));

const arbV6Prefix = fc.record({
  w1: fc.constantFrom(0, 0x0db80000, 0x0db8ffff),
  w3: fc.constantFrom(0, 1, 0x80000000),
  length: fc.integer({ min: 0, max: 128 }),
}).map(({ w1, w3, length }) => {
  const addr = [0x20010000 | (w1 >>> 16), w1 << 16 >>> 0, 0, w3].map((w, k) => {
    const bits = length - 32 * k;
    return bits <= 0 ? 0 : (w & topMask(bits)) >>> 0;
  });
  return { family: 6 as const, addr, length };
});

const arbPrefix = fc.oneof(arbV4Prefix, arbV6Prefix);
const arbAsn = fc.constantFrom(0, 1, 2, 3, 4294967295);

Deno.test("validate(), stateCode() and within() agree with a brute-force RFC 6811 reading", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ p: arbPrefix, extra: fc.integer({ min: 0, max: 8 }), asn: arbAsn }),
        { maxLength: 60 },
      ),
      fc.array(fc.record({ p: arbPrefix, asn: arbAsn }), { minLength: 1, maxLength: 30 }),
      (vs, routes) => {
        const set = VrpSet.from(vs.map(({ p, extra, asn }) => ({
          prefix: fmt(p),
          maxLength: Math.min(p.length + extra, p.family === 4 ? 32 : 128),
          asn,
        })));
        const ix = new RovIndex(set);
        for (const { p, asn } of routes) {
          const rt: Route = { ...p, asn };
          const want = naive(set, rt);
          const got = ix.validate(rt);
          assert.equal(got.state, want.state);
          assert.deepEqual([...got.matched].sort(), [...want.m].sort());
          assert.deepEqual([...got.unmatchedAs].sort(), [...want.a].sort());
          assert.deepEqual([...got.unmatchedLength].sort(), [...want.l].sort());
          assert.equal(
            ix.stateCode(rt.family, rt.addr, rt.length, rt.asn),
            { valid: 0, "not-found": 1, invalid: 2 }[got.state],
          );
          // within(): every record inside the prefix, and nothing else.
          const [f, e] = ix.within(p.family, p.addr, p.length, true);
          const inside: number[] = [];
          for (let i = 0; i < set.size; i++) {
            const q = parsePrefix(set.at(i).prefix);
            if (q.family !== p.family || q.length < p.length) continue;
            let ok = true;
            for (let k = 0; k < q.addr.length; k++) {
              const bits = p.length - 32 * k;
              if (bits <= 0) break;
              const mask = topMask(bits);
              if (((q.addr[k] & mask) >>> 0) !== p.addr[k]) ok = false;
            }
            if (ok) inside.push(i);
          }
          assert.deepEqual(Array.from({ length: e - f }, (_, k) => f + k), inside);
        }
      },
    ),
    { numRuns: 400, seed: 6811 },
  );
});

function fmt(p: { family: 4 | 6; addr: number[]; length: number }): string {
  if (p.family === 4) {
    const w = p.addr[0];
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${p.length}`;
  }
  const g: string[] = [];
  for (const w of p.addr) g.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
  return `${g.join(":")}/${p.length}`;
}

Deno.test("parseRouteLine() reads PREFIX ASN and IP MASKLEN ASN, masking host bits", () => {
  assert.deepEqual(parseRouteLine("192.0.2.0/24 AS64496"), {
    family: 4,
    addr: [0xc0000200],
    length: 24,
    asn: 64496,
    addrText: "192.0.2.0",
  });
  assert.deepEqual(parseRouteLine("  192.0.2.77\t24   as4294967295 "), {
    family: 4,
    addr: [0xc0000200],
    length: 24,
    asn: 4294967295,
    addrText: "192.0.2.77",
  });
  const v6 = parseRouteLine("2001:db8::1/32 64496");
  assert.ok(typeof v6 !== "string");
  assert.deepEqual(v6.addr, [0x20010db8, 0, 0, 0]);
  assert.equal(v6.family, 6);
});

Deno.test("parseRouteLine() says what is wrong with a bad line", () => {
  const bad: [string, RegExp][] = [
    ["192.0.2.0/24", /expected PREFIX ASN or IP MASKLEN ASN/],
    ["192.0.2.0 64496", /expected PREFIX ASN/],
    ["192.0.2.0/24 24 64496", /expected PREFIX ASN/],
    ["192.0.2.0/33 1", /invalid prefix length "33", expected 0 to 32/],
    ["2001:db8::/129 1", /expected 0 to 128/],
    ["192.0.2/24 1", /invalid IP address "192.0.2"/],
    ["1.2.3.4.5/8 1", /invalid IP address/],
    ["192.0.2.0/24 4294967296", /invalid AS number/],
    ["192.0.2.0/24 AS", /invalid AS number/],
    ["192.0.2.0/x 1", /invalid prefix length/],
  ];
  for (const [line, re] of bad) {
    const r = parseRouteLine(line);
    assert.equal(typeof r, "string", line);
    assert.match(r as string, re, line);
  }
});

Deno.test("validate() agrees with the brute-force reading on a 5,000-VRP table (many first-stride slots)", () => {
  let s = 42;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const vrps: Vrp[] = [];
  const pick = (v6: boolean, length: number) => {
    const addr = v6
      ? [0x20010000 | (rnd() & 0x3f), rnd() & 0xff00ffff, rnd(), rnd()]
      : [((rnd() % 6 + 10) << 24 | (rnd() & 0x00ffffff)) >>> 0];
    return addr.map((w, k) => {
      const bits = length - 32 * k;
      return bits <= 0 ? 0 : (w & topMask(bits)) >>> 0;
    });
  };
  for (let i = 0; i < 5000; i++) {
    const v6 = rnd() % 4 === 0;
    const length = v6 ? 16 + rnd() % 49 : 6 + rnd() % 27;
    const max = Math.min(v6 ? 128 : 32, length + rnd() % 6);
    vrps.push({
      prefix: fmt({ family: v6 ? 6 : 4, addr: pick(v6, length), length }),
      maxLength: max,
      asn: rnd() % 30,
    });
  }
  const set = VrpSet.from(vrps);
  const ix = new RovIndex(set);
  for (let i = 0; i < 5000; i++) {
    const v6 = rnd() % 4 === 0;
    const length = v6 ? rnd() % 129 : rnd() % 33;
    const rt: Route = { family: v6 ? 6 : 4, addr: pick(v6, 128), length, asn: rnd() % 30 };
    const want = naive(set, rt);
    const got = ix.validate(rt);
    assert.equal(got.state, want.state);
    assert.deepEqual([...got.matched].sort(), [...want.m].sort());
    assert.deepEqual([...got.unmatchedAs].sort(), [...want.a].sort());
    assert.deepEqual([...got.unmatchedLength].sort(), [...want.l].sort());
    assert.equal(
      ix.stateCode(rt.family, rt.addr, rt.length, rt.asn),
      { valid: 0, "not-found": 1, invalid: 2 }[got.state],
    );
  }
});

Deno.test("parseRouteLine() quotes a bad line cut short and with control characters escaped", () => {
  // A megabyte of binary garbage on stdin must not come back as a megabyte of error record, and
  // a C1 control (CSI, U+009B) or a bidi override must not reach the terminal of `--format text`.
  const long = parseRouteLine("x".repeat(100_000) + " 1 2 3") as string;
  assert.equal(typeof long, "string");
  assert.ok(long.length < 300, `${long.length} characters`);
  assert.match(long, /^expected PREFIX ASN or IP MASKLEN ASN, got "x+…"$/);
  const ctl = parseRouteLine("192.0.2.0/24 \u009b31m\u202e") as string;
  assert.match(ctl, /invalid AS number "\\x9b31m\\u202e"/);
  const addr = parseRouteLine("\u001b[2J/24 1") as string;
  assert.match(addr, /invalid IP address "\\x1b\[2J"/);
});
