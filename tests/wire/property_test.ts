/**
 * Property tests (fast-check): every valid PDU round-trips encode → decode, through the framer
 * at any cuts too, and no input, however arbitrary, makes decoding or framing throw anything
 * but a DecodeError.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { DecodeError } from "../../lib/errors.ts";
import {
  decodePdu,
  encodedLength,
  encodeInto,
  encodePdu,
  encodePdus,
  type Pdu,
  PduFramer,
} from "../../lib/wire/mod.ts";

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const version = fc.integer({ min: 0, max: 2 });
const flag = fc.integer({ min: 0, max: 1 });

/** Address words with the bits beyond `len` cleared. */
function masked(words: number[], len: number): number[] {
  return words.map((w, i) => {
    const bits = len - 32 * i;
    const m = bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    return (w & m) >>> 0;
  });
}

function arbPrefix(type: 4 | 6): fc.Arbitrary<Pdu> {
  const max = type === 4 ? 32 : 128;
  return fc.record({
    version,
    flags: flag,
    prefixLength: fc.integer({ min: 0, max }),
    extra: fc.integer({ min: 0, max }),
    words: fc.array(u32, { minLength: type === 4 ? 1 : 4, maxLength: type === 4 ? 1 : 4 }),
    asn: u32,
  }).map(({ version, flags, prefixLength, extra, words, asn }) => ({
    type,
    version,
    flags,
    prefixLength,
    maxLength: Math.min(max, prefixLength + extra),
    addr: masked(words, prefixLength),
    asn,
  }));
}

/** Strictly increasing providers without AS0 among several (or the single AS0). */
const arbProviders = fc.oneof(
  { weight: 1, arbitrary: fc.constant([0]) },
  {
    weight: 9,
    arbitrary: fc.uniqueArray(fc.integer({ min: 1, max: 0xffffffff }), {
      minLength: 1,
      maxLength: 40,
    }).map((a) => a.sort((x, y) => x - y)),
  },
);

/** Error Report text: well-formed Unicode without the trailing NUL that decoding strips. */
const arbText = fc.fullUnicodeString({ maxLength: 60 }).filter((s) => !s.endsWith("\0"));

/** Any valid PDU of any type and version. */
const arbPdu: fc.Arbitrary<Pdu> = fc.oneof(
  fc.record({
    type: fc.constantFrom(0 as const, 1 as const),
    version,
    sessionId: u16,
    serial: u32,
  }),
  fc.record({ type: fc.constantFrom(2 as const, 8 as const), version }),
  fc.record({ type: fc.constant(3 as const), version, sessionId: u16 }),
  arbPrefix(4),
  arbPrefix(6),
  fc.record({
    type: fc.constant(7 as const),
    version: fc.constant(0),
    sessionId: u16,
    serial: u32,
  }),
  fc.record({
    type: fc.constant(7 as const),
    version: fc.integer({ min: 1, max: 2 }),
    sessionId: u16,
    serial: u32,
    refresh: u32,
    retry: u32,
    expire: u32,
  }),
  fc.record({
    type: fc.constant(9 as const),
    version: fc.integer({ min: 1, max: 2 }),
    flags: flag,
    ski: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    asn: u32,
    spki: fc.uint8Array({ minLength: 2, maxLength: 300 }),
  }),
  fc.record({
    type: fc.constant(10 as const),
    version,
    errorCode: u16,
    pdu: fc.uint8Array({ maxLength: 64 }),
    text: arbText,
  }),
  fc.record({
    type: fc.constant(11 as const),
    version: fc.constant(2),
    flags: fc.constant(1),
    customer: u32,
    providers: arbProviders,
  }),
  fc.record({
    type: fc.constant(11 as const),
    version: fc.constant(2),
    flags: fc.constant(0),
    customer: u32,
    providers: fc.constant([]),
  }),
  fc.record({
    type: fc.constant(11 as const),
    version: fc.constant(2),
    flags: flag,
    customer: u32,
    providers: fc.array(u32, { maxLength: 20 }),
    legacyAfi: u8,
  }),
) as fc.Arbitrary<Pdu>;

Deno.test("every valid PDU round-trips encode → decode (property)", () => {
  fc.assert(
    fc.property(arbPdu, (pdu) => {
      const bytes = encodePdu(pdu);
      assert.equal(bytes.length, encodedLength(pdu));
      assert.equal(new DataView(bytes.buffer).getUint32(4), bytes.length);
      assert.deepEqual(decodePdu(bytes), pdu);
      assert.deepEqual(encodePdu(decodePdu(bytes)), bytes);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("encodeInto() writes every octet, even into a dirty reused buffer (property)", () => {
  const buf = new Uint8Array(70000);
  const view = new DataView(buf.buffer, 3);
  const at = buf.subarray(3);
  fc.assert(
    fc.property(arbPdu, fc.nat(100), (pdu, off) => {
      buf.fill(0xa5);
      const end = encodeInto(pdu, at, view, off);
      assert.equal(end - off, encodedLength(pdu));
      assert.deepEqual(at.slice(off, end), encodePdu(pdu));
      assert.equal(at[end], 0xa5, "nothing written past the PDU");
      if (off > 0) assert.equal(at[off - 1], 0xa5, "nothing written before it");
    }),
    { numRuns: 3000 },
  );
});

Deno.test("a stream of valid PDUs frames back at arbitrary cuts (property)", () => {
  fc.assert(
    fc.property(
      fc.array(arbPdu, { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (pdus, rawCuts) => {
        const stream = encodePdus(pdus);
        const cuts = rawCuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b);
        const framer = new PduFramer();
        const got: Pdu[] = [];
        let prev = 0;
        for (const c of [...cuts, stream.length]) {
          framer.push(stream.subarray(prev, c), (p) => got.push(p));
          prev = c;
        }
        assert.deepEqual(got, pdus);
        assert.equal(framer.buffered, 0);
      },
    ),
    { numRuns: 1000 },
  );
});

function onlyDecodeErrors(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    assert.ok(Number.isInteger(e.code) && e.code >= 0 && e.code <= 13);
    assert.ok(e.message.length > 0);
  }
}

Deno.test("decodePdu() of arbitrary bytes throws only DecodeError (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      onlyDecodeErrors(() => decodePdu(bytes));
    }),
    { numRuns: 10000 },
  );
});

Deno.test("decodePdu() of arbitrary bodies behind a consistent header throws only DecodeError (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 3 }),
      fc.oneof(fc.integer({ min: 0, max: 12 }), u8),
      u8,
      u8,
      fc.uint8Array({ maxLength: 72 }),
      (v, type, o2, o3, body) => {
        const b = new Uint8Array(8 + body.length);
        b.set([v, type, o2, o3]);
        new DataView(b.buffer).setUint32(4, b.length);
        b.set(body, 8);
        onlyDecodeErrors(() => {
          const pdu = decodePdu(b);
          // Whatever decodes re-encodes to a PDU that decodes to the same value.
          if (pdu.type !== 10 || !/\0$/.test(pdu.text)) {
            assert.deepEqual(decodePdu(encodePdu(pdu)), stripHostBits(pdu));
          }
        });
      },
    ),
    { numRuns: 20000 },
  );
});

/** The value after a masked re-encode: host bits are gone. */
function stripHostBits(p: Pdu): Pdu {
  if ((p.type === 4 || p.type === 6) && p.hostBits) {
    const { hostBits: _, ...rest } = p;
    return rest;
  }
  return p;
}

Deno.test("PduFramer over arbitrary chunks throws only DecodeError (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }), (chunks) => {
      const framer = new PduFramer();
      onlyDecodeErrors(() => {
        for (const c of chunks) framer.push(c, () => {});
      });
    }),
    { numRuns: 5000 },
  );
});
