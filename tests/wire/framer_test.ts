/**
 * PduFramer and pduStream() (RFC 8210 §5.1: the Length field frames the stream): PDUs are framed by Length alone, across any chunk
 * boundaries; a Length below 8 or above 65535 is rejected as soon as the 8-octet header is seen,
 * before anything is buffered; a stream that ends inside a PDU is an error.
 */
import assert from "node:assert/strict";
import { DecodeError } from "../../lib/errors.ts";
import {
  decodePdu,
  encodePdu,
  MAX_PDU_LENGTH,
  type Pdu,
  PduFramer,
  pduStream,
} from "../../lib/wire/mod.ts";
import { goldenStream, loadGoldenPdus } from "../helpers/golden.ts";
import { Prng } from "../helpers/prng.ts";

const golden = loadGoldenPdus();

/** The largest PDUs: an ASPA with 16380 providers and an Error Report of exactly 65535 octets. */
const bigAspa = encodePdu({
  type: 11,
  version: 2,
  flags: 1,
  customer: 64500,
  providers: Array.from({ length: 16380 }, (_, i) => 65536 + i),
});
const bigError = encodePdu({
  type: 10,
  version: 2,
  errorCode: 0,
  pdu: golden[4].bytes,
  text: "x".repeat(MAX_PDU_LENGTH - 16 - golden[4].bytes.length),
});

/** A byte stream and the frames and values it holds. */
interface Case {
  frames: Uint8Array[];
  stream: Uint8Array;
  expected: Pdu[];
}

function makeCase(frames: Uint8Array[]): Case {
  return { frames, stream: concat(frames), expected: frames.map((f) => decodePdu(f)) };
}

/** The 21 golden PDUs. */
const SMALL = makeCase(golden.map((g) => g.bytes));
/** Every golden PDU, then the two biggest, then every golden PDU again. */
const FULL = makeCase([...SMALL.frames, bigAspa, bigError, ...SMALL.frames]);
const { stream, expected } = FULL;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Cut `bytes` at the given sorted offsets. */
function cutAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.slice(prev, c));
    prev = c;
  }
  return out;
}

/** Seeded random cut points: `n` offsets in [0, len]. */
function randomCuts(rng: Prng, len: number, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(0, len)).sort((a, b) => a - b);
}

/** Push every chunk through a fresh framer; return the PDUs and copies of the raw bytes. */
function frameAll(chunks: Uint8Array[]): { pdus: Pdu[]; raw: Uint8Array[]; framer: PduFramer } {
  const framer = new PduFramer();
  const pdus: Pdu[] = [];
  const raw: Uint8Array[] = [];
  for (const c of chunks) {
    framer.push(c, (p, r) => {
      pdus.push(p);
      raw.push(r.slice());
    });
  }
  return { pdus, raw, framer };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function assertAll(chunks: Uint8Array[], label: string, c: Case = FULL): void {
  const { pdus, raw, framer } = frameAll(chunks);
  assert.equal(pdus.length, c.expected.length, label);
  assert.deepEqual(pdus, c.expected, label);
  assert.ok(raw.every((r, i) => sameBytes(r, c.frames[i])), `${label}: raw bytes`);
  assert.equal(framer.buffered, 0, label);
  assert.equal(framer.pdus, c.expected.length);
  assert.equal(framer.bytes, c.stream.length);
}

Deno.test("PduFramer frames all vectors from one whole chunk", () => {
  assertAll([stream], "whole");
});

Deno.test("PduFramer frames all vectors fed byte by byte", () => {
  const chunks = Array.from(stream, (b) => new Uint8Array([b]));
  assertAll(chunks, "byte by byte");
});

Deno.test("PduFramer frames the vectors cut once at every offset", () => {
  for (let c = 0; c <= SMALL.stream.length; c++) {
    assertAll(cutAt(SMALL.stream, [c]), `cut at ${c}`, SMALL);
  }
});

Deno.test("PduFramer frames the vectors cut twice at every pair of offsets in a window", () => {
  for (let a = 0; a <= 160; a++) {
    for (let b = a; b <= Math.min(a + 20, SMALL.stream.length); b++) {
      assertAll(cutAt(SMALL.stream, [a, b]), `cuts at ${a}, ${b}`, SMALL);
    }
  }
});

Deno.test("PduFramer frames all vectors at seeded random cuts", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rng = new Prng(seed);
    const cuts = randomCuts(rng, SMALL.stream.length, rng.int(1, 60));
    assertAll(cutAt(SMALL.stream, cuts), `small, seed ${seed}`, SMALL);
  }
  for (let seed = 1; seed <= 30; seed++) {
    const rng = new Prng(seed);
    const cuts = randomCuts(rng, stream.length, rng.int(1, 300));
    assertAll(cutAt(stream, cuts), `full, seed ${seed}`);
  }
});

Deno.test("PduFramer accepts empty chunks anywhere", () => {
  const rng = new Prng(7);
  const cuts = randomCuts(rng, stream.length, 50);
  const chunks = cutAt(stream, [...cuts, ...cuts].sort((a, b) => a - b));
  assert.ok(chunks.some((c) => c.length === 0));
  assertAll([new Uint8Array(0), ...chunks], "empty chunks");
});

Deno.test("PduFramer frames chunks that are views into a larger buffer", () => {
  const big = new Uint8Array(stream.length + 10);
  big.set(stream, 5);
  const rng = new Prng(99);
  const cuts = randomCuts(rng, stream.length, 40);
  let prev = 0;
  const chunks: Uint8Array[] = [];
  for (const c of [...cuts, stream.length]) {
    chunks.push(big.subarray(5 + prev, 5 + c));
    prev = c;
  }
  assertAll(chunks, "subarray chunks");
});

Deno.test("PduFramer's decoded values do not change when the chunk is reused", () => {
  const framer = new PduFramer();
  const buf = new Uint8Array(4096);
  const pdus: Pdu[] = [];
  const src = goldenStream();
  for (let off = 0; off < src.length; off += 37) {
    const n = Math.min(37, src.length - off);
    buf.set(src.subarray(off, off + n));
    framer.push(buf.subarray(0, n), (p) => pdus.push(p));
    buf.fill(0xee); // a socket reusing its read buffer
  }
  assert.deepEqual(pdus, golden.map((g) => decodePdu(g.bytes)));
});

Deno.test("PduFramer gives raw bytes to two-parameter callbacks and through raw()", () => {
  const rng = new Prng(2024);
  const chunks = cutAt(stream, randomCuts(rng, stream.length, 200));
  const viaArg: Uint8Array[] = [];
  const viaMethod: Uint8Array[] = [];
  const a = new PduFramer();
  for (const c of chunks) a.push(c, (_p, raw) => viaArg.push(raw.slice()));
  const b = new PduFramer();
  for (const c of chunks) b.push(c, (_p) => viaMethod.push(b.raw().slice()));
  assert.equal(viaArg.length, FULL.frames.length);
  assert.ok(viaArg.every((r, i) => sameBytes(r, FULL.frames[i])));
  assert.ok(viaMethod.every((r, i) => sameBytes(r, FULL.frames[i])));
  assert.equal(b.raw().length, 0, "raw() is empty outside a callback");
});

Deno.test("PduFramer reports how much of a straddling PDU it holds", () => {
  const framer = new PduFramer();
  framer.push(bigAspa.subarray(0, 5), () => {});
  assert.deepEqual([framer.buffered, framer.expected], [5, 8]);
  framer.push(bigAspa.subarray(5, 1000), () => {});
  assert.deepEqual([framer.buffered, framer.expected], [1000, bigAspa.length]);
  framer.push(bigAspa.subarray(1000), () => {});
  assert.deepEqual([framer.buffered, framer.expected], [0, 0]);
});

// --- Length bounds, before buffering ----------------------------------------------------------

/** A header with the given Length (a Reset Query otherwise). */
function header(length: number): Uint8Array {
  const h = new Uint8Array([2, 2, 0, 0, 0, 0, 0, 0]);
  new DataView(h.buffer).setUint32(4, length >>> 0);
  return h;
}

const BAD_LENGTHS = [0, 1, 7, MAX_PDU_LENGTH + 1, 0x10000, 0x7fffffff, 0xffffffff];

function assertRejected(fn: () => void, length: number): DecodeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DecodeError, String(e));
    assert.equal(e.code, 0);
    assert.match(e.message, new RegExp(`length is ${length}, expected 8 to 65535$`));
    return e;
  }
  assert.fail(`Length ${length} was accepted`);
}

Deno.test("PduFramer rejects Length < 8 or > 65535 in a whole chunk, buffering nothing", () => {
  for (const len of BAD_LENGTHS) {
    const framer = new PduFramer();
    const chunk = concat([header(len), new Uint8Array(100_000)]);
    const e = assertRejected(() => framer.push(chunk, () => assert.fail("no PDU")), len);
    assert.deepEqual(e.pdu, header(len), "the error carries the 8 header octets");
    assert.equal(framer.buffered, 0);
  }
});

Deno.test("PduFramer rejects a bad Length as soon as its 8th header octet arrives", () => {
  for (const len of BAD_LENGTHS) {
    const framer = new PduFramer();
    const h = header(len);
    for (let i = 0; i < 7; i++) framer.push(h.subarray(i, i + 1), () => assert.fail("no PDU"));
    assert.equal(framer.buffered, 7, "only the partial header is held");
    const e = assertRejected(() => framer.push(h.subarray(7, 8), () => {}), len);
    assert.deepEqual(e.pdu, h);
    assert.equal(framer.buffered, 0, "nothing is buffered after the rejection");
  }
});

Deno.test("PduFramer rejects a bad Length whose header straddles two chunks", () => {
  for (const len of BAD_LENGTHS) {
    for (let cut = 1; cut < 8; cut++) {
      const framer = new PduFramer();
      const h = header(len);
      framer.push(h.subarray(0, cut), () => {});
      assertRejected(
        () => framer.push(concat([h.subarray(cut), new Uint8Array(1000)]), () => {}),
        len,
      );
      assert.equal(framer.buffered, 0);
    }
  }
});

Deno.test("PduFramer delivers the good PDUs before a bad Length in the same chunk", () => {
  const framer = new PduFramer();
  const seen: Pdu[] = [];
  const good = golden.slice(0, 5).map((g) => g.bytes);
  assertRejected(() => framer.push(concat([...good, header(3)]), (p) => seen.push(p)), 3);
  assert.deepEqual(seen, good.map((g) => decodePdu(g)));
});

Deno.test("PduFramer is unusable after an error", () => {
  const framer = new PduFramer();
  assertRejected(() => framer.push(header(4), () => {}), 4);
  assert.throws(() => framer.push(golden[0].bytes, () => assert.fail("no PDU")), DecodeError);
  const bad = new PduFramer();
  const corrupt = golden[4].bytes.slice();
  corrupt[10] = 0; // maxLength below prefix length
  assert.throws(() => bad.push(corrupt, () => {}), DecodeError);
  assert.throws(() => bad.push(golden[0].bytes, () => assert.fail("no PDU")), DecodeError);
});

Deno.test("PduFramer accepts Length 8 and 65535 and waits for the rest", () => {
  const framer = new PduFramer();
  const seen: Pdu[] = [];
  framer.push(bigError.subarray(0, 8), (p) => seen.push(p));
  assert.equal(framer.buffered, 8);
  framer.push(bigError.subarray(8, 30000), (p) => seen.push(p));
  assert.equal(framer.buffered, 30000);
  framer.push(concat([bigError.subarray(30000), golden[2].bytes]), (p) => seen.push(p));
  assert.equal(seen.length, 2);
  assert.equal(seen[1].type, 2);
  assert.equal(framer.buffered, 0);
});

Deno.test("PduFramer reports a PDU error with that PDU's code across chunk boundaries", () => {
  const bad = golden[9].bytes.slice(); // End of Data v0, made v1: Length 12 is wrong for v1
  bad[0] = 1;
  for (let cut = 1; cut < bad.length; cut++) {
    const framer = new PduFramer();
    framer.push(concat([golden[0].bytes, bad.subarray(0, cut)]), () => {});
    try {
      framer.push(bad.subarray(cut), () => {});
      assert.fail("expected a DecodeError");
    } catch (e) {
      assert.ok(e instanceof DecodeError);
      assert.equal(e.code, 0);
      assert.deepEqual(e.pdu, bad);
    }
  }
});

// --- pduStream() ------------------------------------------------------------------------------

async function collect(chunks: Uint8Array[]): Promise<{ pdus: Pdu[]; error?: unknown }> {
  const source = ReadableStream.from(chunks);
  const pdus: Pdu[] = [];
  try {
    for await (const p of source.pipeThrough(pduStream())) pdus.push(p);
  } catch (e) {
    return { pdus, error: e };
  }
  return { pdus };
}

Deno.test("pduStream() yields all vectors whole, byte by byte and at seeded random cuts", async () => {
  assert.deepEqual((await collect([stream])).pdus, expected);
  const bytes = Array.from(stream.subarray(0, 2000), (b) => new Uint8Array([b]));
  const r = await collect(bytes);
  assert.deepEqual(r.pdus, expected.slice(0, r.pdus.length));
  assert.ok(r.error instanceof DecodeError, "2000 bytes end inside the big ASPA");
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new Prng(seed * 7919);
    const got = await collect(cutAt(stream, randomCuts(rng, stream.length, 100)));
    assert.equal(got.error, undefined);
    assert.deepEqual(got.pdus, expected);
  }
});

Deno.test("pduStream() errors when the stream ends inside a PDU, after the whole ones", async () => {
  const g = goldenStream();
  const lastStart = g.length - golden[20].bytes.length;
  for (const end of [lastStart + 1, lastStart + 7, lastStart + 8, g.length - 1]) {
    const { pdus, error } = await collect(cutAt(g.subarray(0, end), [3, end - 1]));
    assert.equal(pdus.length, 20);
    assert.ok(error instanceof DecodeError);
    assert.equal(error.code, 0);
    assert.match(error.message, new RegExp(`${end - lastStart} bytes left over, expected`));
  }
});

Deno.test("pduStream() errors on a bad Length without waiting for more input", async () => {
  const { pdus, error } = await collect([golden[0].bytes, header(0xffffffff)]);
  assert.equal(pdus.length, 1);
  assert.ok(error instanceof DecodeError);
  assert.match(error.message, /length is 4294967295/);
});
