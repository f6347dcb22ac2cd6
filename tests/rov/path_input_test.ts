/** Reading routes with AS paths: `PREFIX AS_PATH` lines and `bgpdump -m` lines. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parsePathLine, type PathRoute } from "../../lib/rov/mod.ts";

function ok(line: string): PathRoute {
  const r = parsePathLine(line);
  assert.ok(r && typeof r !== "string", `${line}: ${r}`);
  return r;
}

Deno.test("parsePathLine() reads PREFIX AS_PATH, neighbour first and origin last", () => {
  const r = ok("192.0.2.77/24 64502 AS64501 64500 64500");
  assert.deepEqual([r.route.family, Array.from(r.route.addr), r.route.length], [
    4,
    [0xc0000200],
    24,
  ]);
  assert.deepEqual(r.path, [64502, 64501, 64500, 64500]);
  assert.deepEqual(r.segments, [64502, 64501, 64500, 64500]);
  assert.equal(r.route.asn, 64500);
  assert.equal(r.originKnown, true);
  assert.equal(r.hasSet, false);
  assert.equal(r.neighbourAs, -1);
  assert.equal(r.role, null);
});

Deno.test("parsePathLine() reads an AS_SET in braces; a final AS_SET leaves no origin (RFC 6811 §2)", () => {
  const r = ok("2001:db8::/32\t64502 {64510, 64511}");
  assert.deepEqual(r.segments, [64502, [64510, 64511]]);
  assert.equal(r.hasSet, true);
  assert.deepEqual(r.path, []);
  assert.equal(r.originKnown, false);
  assert.equal(r.route.asn, 0);
  const mid = ok("192.0.2.0/24 64502 {64510,64511} 64500");
  assert.equal(mid.hasSet, true);
  assert.equal(mid.route.asn, 64500);
});

Deno.test("parsePathLine() takes per-line neighbour= and neighbour-as= fields", () => {
  const r = ok("192.0.2.0/24 64502 64500 neighbour=provider neighbour-as=AS64502");
  assert.equal(r.role, "provider");
  assert.equal(r.neighbourAs, 64502);
  assert.deepEqual(r.path, [64502, 64500]);
});

Deno.test("parsePathLine() reads an empty path as an empty path", () => {
  const r = ok("192.0.2.0/24");
  assert.deepEqual(r.path, []);
  assert.equal(r.originKnown, false);
});

Deno.test("parsePathLine() reads bgpdump -m lines: peer AS is the neighbour; withdrawals are no route", () => {
  const r = ok(
    "TABLE_DUMP2|1700000000|B|192.0.2.1|64502|198.51.100.0/24|64502 64501 (65001 65002) 64500|IGP|192.0.2.1|0|0||NAG||",
  );
  assert.equal(r.neighbourAs, 64502);
  assert.deepEqual(r.path, [64502, 64501, 64500]);
  const u = ok(
    "BGP4MP|1700000000|A|2001:db8::1|64502|2001:db8:1::/48|64502 {64510}|IGP|::|0|0||NAG||",
  );
  assert.equal(u.hasSet, true);
  assert.equal(parsePathLine("BGP4MP|1700000000|W|192.0.2.1|64502|198.51.100.0/24"), null);
  assert.equal(parsePathLine("BGP4MP|1700000000|STATE|192.0.2.1|64502|1|2"), null);
});

Deno.test("parsePathLine() says what is wrong with a bad line", () => {
  const cases: [string, RegExp][] = [
    ["192.0.2.0 64500", /expected PREFIX AS_PATH/],
    ["192.0.2.300/24 64500", /invalid IP address/],
    ["192.0.2.0/33 64500", /invalid prefix length/],
    ["192.0.2.0/24 64500 x1", /invalid AS number "x1"/],
    ["192.0.2.0/24 64500 4294967296", /invalid AS number/],
    ["192.0.2.0/24 {64500", /unclosed \{/],
    ["192.0.2.0/24 64500 neighbour=cousin", /invalid neighbour "cousin"/],
    ["192.0.2.0/24 64500 colour=red", /unknown field "colour"/],
    ["TABLE_DUMP2|1|B|192.0.2.1|x|192.0.2.0/24|1|IGP", /invalid peer AS/],
    ["TABLE_DUMP2|1|B|192.0.2.1", /expected at least 7/],
    ["FOO|1|B", /expected a bgpdump -m line/],
  ];
  for (const [line, re] of cases) {
    const r = parsePathLine(line);
    assert.equal(typeof r, "string", line);
    assert.match(r as string, re, line);
  }
});

Deno.test("property: parsePathLine() reads back any path written as PREFIX AS_PATH or as a bgpdump -m line", () => {
  const seg = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
    {
      weight: 1,
      arbitrary: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 3 }),
    },
  );
  fc.assert(
    fc.property(
      fc.array(seg, { maxLength: 8 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 0xffffffff }),
      (segs, dump, peer) => {
        const text = segs.map((s) => typeof s === "number" ? `${s}` : `{${s.join(",")}}`).join(" ");
        const line = dump
          ? `TABLE_DUMP2|1700000000|B|2001:db8::1|${peer}|2001:db8:1::/48|${text}|IGP|::|0|0||NAG||`
          : `2001:db8:1::/48 ${text}`;
        const r = parsePathLine(line);
        assert.ok(r && typeof r !== "string", `${line}: ${r}`);
        assert.deepEqual(r.segments, segs);
        const hasSet = segs.some((s) => typeof s !== "number");
        assert.equal(r.hasSet, hasSet);
        assert.deepEqual(r.path, hasSet ? [] : segs);
        assert.equal(r.originKnown, typeof segs.at(-1) === "number");
        assert.equal(r.neighbourAs, dump ? peer : -1);
        assert.deepEqual([r.route.family, r.route.length], [6, 48]);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("parsePathLine() quotes a bad line cut short and with control characters escaped", () => {
  const long = parsePathLine("y".repeat(100_000)) as string;
  assert.equal(typeof long, "string");
  assert.ok(long.length < 300, `${long.length} characters`);
  assert.match(long, /^expected PREFIX AS_PATH, got "y+…"$/);
  const ctl = parsePathLine("192.0.2.0/24 64500 6\u009b1") as string;
  assert.match(ctl, /invalid AS number "6\\x9b1" in AS path/);
  const peer = parsePathLine("TABLE_DUMP2|1|B|192.0.2.1|\u202e1|192.0.2.0/24|1|IGP") as string;
  assert.match(peer, /invalid peer AS "\\u202e1"/);
});
