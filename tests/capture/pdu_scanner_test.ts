/** Tolerant RTR framing: malformed PDUs, resynchronisation after damage and gaps. */
import { assertEquals as eq, assertIncludes } from "../helpers/assert.ts";
import { Prng } from "../helpers/prng.ts";
import { type MalformedSpan, PduScanner } from "../../lib/capture/mod.ts";
import { encodePdus, type Pdu } from "../../lib/wire/mod.ts";
import { response, v4, wire } from "./replay_helpers.ts";

function scan(chunks: Uint8Array[], gaps: Map<number, number> = new Map()) {
  const out: (string | MalformedSpan)[] = [];
  const s = new PduScanner({
    pdu: (p, at) => out.push(`${at.offset} ${p.type}`),
    malformed: (m) => out.push(m),
  });
  let off = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (gaps.has(i)) {
      s.gap(off, gaps.get(i)!);
      off += gaps.get(i)!;
    }
    s.push(chunks[i], off);
    off += chunks[i].length;
  }
  s.end();
  return out;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const PDUS: Pdu[] = [
  { type: 0, version: 1, sessionId: 1, serial: 2 },
  ...response(1, 1, 3, [v4("192.0.2.0/24", 1), v4("10.0.0.0/8", 2, { maxLength: 24 })]),
  { type: 10, version: 1, errorCode: 2, pdu: new Uint8Array(0), text: "No data" },
];
const GOOD = encodePdus(PDUS);
const OFFSETS = ["0 0", "12 3", "20 4", "40 4", "60 7", "84 10"];

Deno.test("PduScanner frames the same PDUs whole, byte by byte and at seeded random cuts", () => {
  eq(scan([GOOD]), OFFSETS);
  eq(scan([...GOOD].map((b) => new Uint8Array([b]))), OFFSETS);
  for (let seed = 1; seed <= 10; seed++) {
    const rnd = new Prng(seed);
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < GOOD.length;) {
      const n = rnd.int(1, 30);
      chunks.push(GOOD.subarray(o, o + n));
      o += n;
    }
    eq(scan(chunks), OFFSETS, `seed ${seed}`);
  }
});

Deno.test("PduScanner reports a PDU with a sound header but a bad body and goes on after it", () => {
  const bad = wire(v4("192.0.2.0/24", 1));
  bad[10] = 20; // maxLength 20 < prefix length 24
  const out = scan([cat(GOOD.subarray(0, 12), bad, GOOD.subarray(12))]);
  const m = out[1] as MalformedSpan;
  eq(m.offset, 12);
  eq(m.length, 20);
  eq(m.errorCode, 0);
  eq(m.cause, "data");
  assertIncludes(m.message, "max length is 20, expected 24 to 32");
  eq(m.bytes, bad);
  eq(out.slice(2), ["32 3", "40 4", "60 4", "80 7", "104 10"]);
});

Deno.test("PduScanner resynchronises after a header it cannot trust and reports exactly the skipped bytes", () => {
  const cases: [Uint8Array, number, string][] = [
    [wire({ type: 2, version: 3 } as Pdu), 4, "protocol version 3 is not supported"],
    [new Uint8Array([1, 5, 0, 0, 0, 0, 0, 8]), 5, "unknown PDU type 5"],
    [
      new Uint8Array([1, 11, 0, 0, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 2]),
      5,
      "not defined in protocol version 1",
    ],
    [cat(wire(v4("192.0.2.0/24", 1)), new Uint8Array(4)), 0, "length is 24, expected 20"],
    [new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0x01]), 4, "version 222"],
  ];
  for (const [junk, code, msg] of cases) {
    if (junk[1] === 4 && junk.length === 24) new DataView(junk.buffer).setUint32(4, 24);
    const out = scan([cat(GOOD.subarray(0, 12), junk, GOOD.subarray(12))]);
    const m = out[1] as MalformedSpan;
    eq([m.offset, m.length, m.errorCode], [12, junk.length, code], msg);
    assertIncludes(m.message, msg);
    eq(m.bytes, junk);
    eq(out.length, 7, msg);
    eq(out[2], `${12 + junk.length} 3`);
  }
});

Deno.test("PduScanner does not resynchronise on a plausible header that no plausible header follows", () => {
  // Garbage holding a Reset Query header (8 bytes) followed by more garbage.
  const junk = new Uint8Array([
    0xff,
    0xff,
    1,
    2,
    0,
    0,
    0,
    0,
    0,
    8,
    0xee,
    0xee,
    0xee,
    0xee,
    0xee,
    0xee,
    0xee,
    0xee,
    0xee,
  ]);
  const out = scan([cat(junk, GOOD)]);
  eq((out[0] as MalformedSpan).length, junk.length);
  eq(out.slice(1), OFFSETS.map((o) => o.replace(/^\d+/, (n) => String(Number(n) + junk.length))));
});

Deno.test("PduScanner reports the PDU a gap cuts, skips to the next plausible header after it", () => {
  // Gap inside the second IPv4 Prefix (bytes 40..59): 10 bytes of it were captured, then 15
  // bytes are lost; the capture resumes 5 bytes into End of Data (60..83).
  const before = GOOD.subarray(0, 50);
  const after = GOOD.subarray(65);
  const out = scan([before, after], new Map([[1, 15]]));
  eq(out.slice(0, 3), ["0 0", "12 3", "20 4"]);
  const cut = out[3] as MalformedSpan;
  eq([cut.offset, cut.length, cut.cause], [40, 10, "gap"]);
  assertIncludes(cut.message, "cut by a capture gap after 10 of 20 bytes");
  const skipped = out[4] as MalformedSpan;
  eq([skipped.offset, skipped.length, skipped.cause], [65, 19, "gap"]);
  eq(out.slice(5), ["84 10"]);
  // A gap right at a PDU boundary costs nothing more.
  eq(scan([GOOD.subarray(0, 20), GOOD.subarray(40)], new Map([[1, 20]])), [
    "0 0",
    "12 3",
    "40 4",
    "60 7",
    "84 10",
  ]);
});

Deno.test("PduScanner reports a stream that ends inside a PDU", () => {
  const out = scan([GOOD.subarray(0, 30)]);
  eq(out.slice(0, 2), ["0 0", "12 3"]);
  const m = out[2] as MalformedSpan;
  eq([m.offset, m.length, m.cause], [20, 10, "end"]);
  assertIncludes(m.message, "IPv4 Prefix PDU: stream ended after 10 of 20 bytes");
});

Deno.test("PduScanner keeps at most 1024 bytes of a long malformed span", () => {
  const junk = new Prng(5).bytes(5000).map((b) => b | 0x80); // versions ≥ 128: never plausible
  const out = scan([cat(junk, GOOD)]);
  const m = out[0] as MalformedSpan;
  eq(m.length, 5000);
  eq(m.bytes.length, 1024);
  eq(out.length, 7);
});
