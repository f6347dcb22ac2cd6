/**
 * Every golden vector (testdata/pdus/*.hex, see its README) decodes to its documented value and
 * re-encodes byte-identically.
 */
import assert from "node:assert/strict";
import { decodePdu, encodePdu, encodePdus, type Pdu } from "../../lib/wire/mod.ts";
import { bytesToHex, hexToBytes, loadGoldenPdus, readGolden } from "../helpers/golden.ts";

const SPKI_12 = "3059301306072a8648ce3d020106082a8648ce3d03010703420004e05c49af49f66eec" +
  "75b97d44be5f905b0658bc869d3e32ee157da6c6a2ae0065212a7afb54b2c382b13efa5f69e5e1f69164cd54" +
  "0376d85514ddd6ff44aa44db";

/** The documented decoding of each vector, by vector number. */
const EXPECTED: Record<number, Pdu> = {
  1: { type: 0, version: 1, sessionId: 3, serial: 9 },
  2: { type: 1, version: 1, sessionId: 3, serial: 8 },
  3: { type: 2, version: 2 },
  4: { type: 3, version: 2, sessionId: 3 },
  5: {
    type: 4,
    version: 2,
    flags: 1,
    prefixLength: 24,
    maxLength: 24,
    addr: [0xc0000200],
    asn: 64496,
  },
  6: {
    type: 4,
    version: 2,
    flags: 1,
    prefixLength: 22,
    maxLength: 24,
    addr: [0xc6336400],
    asn: 65536,
  },
  7: {
    type: 4,
    version: 1,
    flags: 0,
    prefixLength: 24,
    maxLength: 24,
    addr: [0xc0000200],
    asn: 64496,
  },
  8: {
    type: 6,
    version: 2,
    flags: 1,
    prefixLength: 32,
    maxLength: 48,
    addr: [0x20010db8, 0, 0, 0],
    asn: 64497,
  },
  9: { type: 7, version: 1, sessionId: 3, serial: 9, refresh: 3600, retry: 600, expire: 7200 },
  10: { type: 7, version: 0, sessionId: 3, serial: 4 },
  11: { type: 8, version: 1 },
  12: {
    type: 9,
    version: 1,
    flags: 1,
    ski: hexToBytes("510f485d29a29db7b515f9c478f8ed3cb7aa7d23"),
    asn: 64498,
    spki: hexToBytes(SPKI_12),
  },
  13: {
    type: 10,
    version: 1,
    errorCode: 6,
    pdu: hexToBytes("0104000000000014001818 00c0000200 0000fbf0"),
    text: "withdrawal of unknown record",
  },
  14: {
    type: 10,
    version: 0,
    errorCode: 4,
    pdu: hexToBytes("0102000000000008"),
    text: "only up to v0",
  },
  15: { type: 10, version: 0, errorCode: 4, pdu: new Uint8Array(0), text: "Bad protocol version" },
  16: { type: 10, version: 1, errorCode: 2, pdu: new Uint8Array(0), text: "No data available" },
  17: { type: 11, version: 2, flags: 1, customer: 64500, providers: [64501, 64502] },
  18: { type: 11, version: 2, flags: 0, customer: 64500, providers: [] },
  19: { type: 11, version: 2, flags: 1, customer: 65551, providers: [65549, 65550] },
  20: {
    type: 11,
    version: 2,
    flags: 1,
    customer: 64500,
    providers: [64501, 64502],
    legacyAfi: 0,
  },
  21: { type: 11, version: 2, flags: 0, customer: 64510, providers: [64511], legacyAfi: 1 },
};

/** Vectors whose text carries StayRTR's trailing NUL, which decoding strips. */
const TRAILING_NUL = new Set([15, 16]);

const golden = loadGoldenPdus();

Deno.test("testdata/pdus holds exactly the 21 golden vectors", () => {
  assert.deepEqual(golden.map((g) => g.vector), Array.from({ length: 21 }, (_, i) => i + 1));
  for (const g of golden) {
    assert.match(g.comments[0], new RegExp(`^vector ${g.vector}:`), g.name);
    assert.ok(g.comments.some((c) => c.startsWith("decoded:")), `${g.name} documents its fields`);
    // The Length field covers the whole file.
    assert.equal(new DataView(g.bytes.buffer).getUint32(4), g.bytes.length, g.name);
  }
});

for (const g of golden) {
  Deno.test(`decodePdu() decodes vector ${g.vector} (${g.name}) to its documented value`, () => {
    assert.deepEqual(decodePdu(g.bytes), EXPECTED[g.vector]);
  });

  if (TRAILING_NUL.has(g.vector)) {
    Deno.test(`vector ${g.vector} (${g.name}) round-trips once the stripped NUL is re-added`, () => {
      const pdu = decodePdu(g.bytes);
      assert.equal(pdu.type, 10);
      if (pdu.type !== 10) return;
      assert.ok(!pdu.text.includes("\0"), "the decoded text holds no NUL");
      // With the NUL back in the text the bytes are identical.
      assert.equal(bytesToHex(encodePdu({ ...pdu, text: pdu.text + "\0" })), bytesToHex(g.bytes));
      // Re-encoded as decoded, we send the same report without the NUL: t and Length drop by 1.
      const plain = encodePdu(pdu);
      assert.equal(plain.length, g.bytes.length - 1);
      assert.equal(bytesToHex(plain), bytesToHex(fixLengths(g.bytes.subarray(0, -1))));
      assert.deepEqual(decodePdu(plain), pdu);
    });
  } else {
    Deno.test(`encodePdu() re-encodes vector ${g.vector} (${g.name}) byte-identically`, () => {
      assert.equal(bytesToHex(encodePdu(decodePdu(g.bytes))), bytesToHex(g.bytes));
      assert.equal(bytesToHex(encodePdu(EXPECTED[g.vector])), bytesToHex(g.bytes));
    });
  }
}

Deno.test("decodePdu() treats the legacy ASPA layout by its shape, not as a current ASPA", () => {
  // A current-layout parser would read vector 20 as customer 0x01000002.
  const pdu = decodePdu(readGolden("20-aspa-v2-legacy-announce.hex").bytes);
  assert.equal(pdu.type, 11);
  if (pdu.type === 11) {
    assert.equal(pdu.customer, 64500);
    assert.equal(pdu.legacyAfi, 0);
  }
});

Deno.test("encodePdus() packs all vectors back into the concatenated golden stream", () => {
  const values = golden.map((g) => decodePdu(g.bytes)).map((p, i) =>
    TRAILING_NUL.has(golden[i].vector) && p.type === 10 ? { ...p, text: p.text + "\0" } : p
  );
  const joined = golden.map((g) => bytesToHex(g.bytes)).join("");
  assert.equal(bytesToHex(encodePdus(values)), joined);
});

/** An Error Report without an encapsulated PDU with its t and Length fields set to fit. */
function fixLengths(b: Uint8Array): Uint8Array {
  const out = b.slice();
  const v = new DataView(out.buffer);
  v.setUint32(4, out.length);
  v.setUint32(12, out.length - 16);
  return out;
}
