import assert from "node:assert/strict";
import fc from "fast-check";
import { parseTableText } from "../../lib/formats/read.ts";
import {
  formatIpv4,
  formatIpv6,
  formatPrefix,
  topMask,
  tryParsePrefix,
  type Vrp,
  VrpSet,
} from "../../lib/model/mod.ts";

/** Canonical text of VRPs read from `text`. */
function vrps(text: string): string[] {
  return [...parseTableText(text).table.vrps].map((v) => `${v.prefix} ${v.maxLength} ${v.asn}`);
}

Deno.test("the in-place reader falls back to JSON.parse for odd but valid entries", () => {
  const text = `{"roas":[
    {"asn":1,"prefix":"10.0.0.0\\/8","maxLength":8},
    {"asn":2.0,"prefix":"11.0.0.0/8","maxLength":1e1},
    {"asn":"as3","prefix":"12.0.0.0/8","maxLength":null},
    {"asn":4,"prefix":"::ffff:1.2.3.0/120","maxLength":128},
    {"prefix":"13.0.0.0/8","asn":5,"maxLength":9,"asn":6},
    {"asn":7,"prefix":"14.0.0.0/08","maxLength":"8"},
    {"origin":8,"prefix":"15.0.0.0/8","maxlen":8}
  ],"metadata":{"note":"caf\\u00e9 ☕"}}`;
  assert.deepEqual(vrps(text), [
    "10.0.0.0/8 8 1",
    "11.0.0.0/8 10 2",
    "12.0.0.0/8 8 3",
    "13.0.0.0/8 9 6",
    "14.0.0.0/8 8 7",
    "15.0.0.0/8 8 8",
    "::ffff:1.2.3.0/120 128 4",
  ]);
  assert.deepEqual(parseTableText(text).metadata, { note: "café ☕" });
});

Deno.test("the in-place reader rejects malformed JSON with JSON.parse's verdict", () => {
  for (
    const text of [
      '{"roas":[{"asn":1,"prefix":"10.0.0.0/8"},]}',
      '{"roas":[{"asn":1,"prefix":"10.0.0.0/8"}]} x',
      '{"roas":[{"asn":1 "prefix":"10.0.0.0/8"}]}',
      '{"roas":[{"asn":01,"prefix":"10.0.0.0/8"}]}',
      '{"roas":[{"asn":1,"prefix":"10.0.0.0/8\n"}]}',
      '[{"prefix":"1.0.0.0","length":"8","maxlen":"8","origin":"1"}',
    ]
  ) {
    assert.throws(() => parseTableText(text, "bad.json"), (e: Error) => {
      assert.equal(e.name, "InputError");
      assert.match(e.message, /^Cannot read bad\.json: not valid JSON \(/);
      return true;
    }, text);
  }
});

Deno.test("the in-place reader names the entry of an invalid VRP like JSON.parse would", () => {
  const text = '{"metadata":{},"roas":[{"asn":1,"prefix":"10.0.0.0/8"},' +
    '{"asn":1,"prefix":"2001:db8::/32","maxLength":129}]}';
  assert.throws(() => parseTableText(text, "f"), {
    message: "Cannot read f: roas[1]: maxLength is 129, expected 32..128 for 2001:db8::/32",
  });
  assert.throws(() => parseTableText('{"roas":[1]}', "f"), {
    message: "Cannot read f: roas[0]: expected an object",
  });
  assert.throws(() => parseTableText('{"roas":{}}', "f"), {
    message: "Cannot read f: roas is not an array",
  });
});

/** Text forms of an IPv6 address: compressed, full, upper case, leading zeros. */
function ipv6Forms(words: number[]): string[] {
  const g = [];
  for (const w of words) g.push(w >>> 16, w & 0xffff);
  return [
    formatIpv6(words),
    formatIpv6(words).toUpperCase(),
    g.map((x) => x.toString(16)).join(":"),
    g.map((x) => x.toString(16).padStart(4, "0")).join(":"),
  ];
}

Deno.test("byte-level prefix parsing agrees with the model's parser on random tables", () => {
  const vrpArb = fc.oneof(
    fc.record({
      v6: fc.constant(false),
      words: fc.tuple(fc.nat({ max: 0xffffffff })),
      length: fc.integer({ min: 0, max: 32 }),
      extra: fc.integer({ min: 0, max: 32 }),
      asn: fc.nat({ max: 0xffffffff }),
      form: fc.nat({ max: 3 }),
    }),
    fc.record({
      v6: fc.constant(true),
      words: fc.tuple(
        fc.nat({ max: 0xffffffff }),
        fc.constantFrom(0, 1, 0xffff0000),
        fc.constantFrom(0, 0x10000, 7),
        fc.nat({ max: 0xffffffff }),
      ),
      length: fc.integer({ min: 0, max: 128 }),
      extra: fc.integer({ min: 0, max: 128 }),
      asn: fc.nat({ max: 0xffffffff }),
      form: fc.nat({ max: 3 }),
    }),
  );
  fc.assert(
    fc.property(fc.array(vrpArb, { maxLength: 40 }), fc.boolean(), (items, pretty) => {
      const roas: Record<string, unknown>[] = [];
      const want: Vrp[] = [];
      for (const it of items) {
        const max = it.v6 ? 128 : 32;
        const ml = Math.min(max, it.length + it.extra);
        const addrText = it.v6 ? ipv6Forms(it.words)[it.form] : formatIpv4(it.words[0]);
        const masked = it.words.map((w, k) => (w & topMask(it.length - 32 * k)) >>> 0);
        want.push({
          prefix: `${it.v6 ? formatIpv6(masked) : formatIpv4(masked[0])}/${it.length}`,
          maxLength: ml,
          asn: it.asn,
        });
        const asn = it.form === 1 ? `AS${it.asn}` : it.asn;
        roas.push(
          ml === it.length && it.form === 2
            ? { asn, prefix: `${addrText}/${it.length}` }
            : { asn, prefix: `${addrText}/${it.length}`, maxLength: ml, ta: "x" },
        );
      }
      const text = JSON.stringify({ metadata: { n: 1 }, roas }, null, pretty ? 2 : undefined);
      assert.deepEqual(parseTableText(text).table.vrps, VrpSet.from(want));
    }),
    { numRuns: 300 },
  );
});

Deno.test("random prefix text is accepted exactly when the model's parser accepts it", () => {
  const chars = "0123456789abcdefABCDEF:./ x".split("");
  const text = fc.array(fc.constantFrom(...chars), { maxLength: 24 }).map((a) => a.join(""));
  const likely = fc.oneof(
    text,
    fc.tuple(text, fc.constantFrom("/8", "/24", "/32", "/48", "/129", "/", "/033")).map(([a, b]) =>
      a + b
    ),
    fc.constantFrom("1.2.3.4/32", "::/0", "1::2::3/64", "1:2:3:4:5:6:7:8/128", ":1::/16"),
  );
  fc.assert(
    fc.property(likely, fc.boolean(), (prefix, ndjson) => {
      const input = ndjson
        ? JSON.stringify({ type: "vrp", action: "announce", prefix, asn: 1 })
        : JSON.stringify({ roas: [{ asn: 1, prefix }] });
      const model = prefix.includes("/") && prefix.trim() === prefix
        ? tryParsePrefix(prefix)
        : null;
      let got: string[] | Error;
      try {
        got = vrps(input);
      } catch (e) {
        got = e as Error;
      }
      if (model === null) {
        assert.ok(got instanceof Error && got.name === "InputError", `${prefix} accepted`);
      } else {
        const canon = formatPrefix(model.family, model.addr, model.length);
        assert.deepEqual(got, [`${canon} ${model.length} 1`], prefix);
      }
    }),
    { numRuns: 2000 },
  );
});
