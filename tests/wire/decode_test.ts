/**
 * Strict decoding (8210bis §5 layouts, RFC 8210 §12 error codes): every malformed PDU is a DecodeError carrying the RFC
 * error code and the offending bytes; reserved bits and fields are ignored; host bits are masked
 * and flagged; arbitrary input never crashes the decoder.
 */
import assert from "node:assert/strict";
import { DecodeError } from "../../lib/errors.ts";
import {
  decodeAt,
  decodePdu,
  encodePdu,
  ErrorCode,
  FLAG_ANNOUNCE,
  type Pdu,
} from "../../lib/wire/mod.ts";
import { hexToBytes, loadGoldenPdus, readGolden } from "../helpers/golden.ts";
import { Prng } from "../helpers/prng.ts";

/** A PDU with header fields `version`, `type`, octets 2–3 and a Length that fits `body`. */
function pdu(version: number, type: number, oct23: number, body: string | Uint8Array): Uint8Array {
  const b = typeof body === "string" ? hexToBytes(body) : body;
  const out = new Uint8Array(8 + b.length);
  const v = new DataView(out.buffer);
  out[0] = version;
  out[1] = type;
  v.setUint16(2, oct23);
  v.setUint32(4, out.length);
  out.set(b, 8);
  return out;
}

/** Zero octets of the given count, as hex. */
const zeros = (n: number) => "00".repeat(n);

/** Assert that decoding `bytes` throws a DecodeError with `code`, carrying the bytes. */
function rejects(bytes: Uint8Array, code: number, message?: RegExp): DecodeError {
  let caught: unknown;
  try {
    decodePdu(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DecodeError, `expected a DecodeError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, /^Cannot (decode|frame) /);
  assert.ok(!caught.message.endsWith("."), "messages have no final period");
  if (message) assert.match(caught.message, message);
  return caught;
}

function decodes(bytes: Uint8Array): Pdu {
  return decodePdu(bytes);
}

// --- Length wrong for the type and version: Corrupt Data (0) ---------------------------------

const FIXED_LENGTHS: [name: string, type: number, want: number, versions: number[]][] = [
  ["Serial Notify", 0, 12, [0, 1, 2]],
  ["Serial Query", 1, 12, [0, 1, 2]],
  ["Reset Query", 2, 8, [0, 1, 2]],
  ["Cache Response", 3, 8, [0, 1, 2]],
  ["IPv4 Prefix", 4, 20, [0, 1, 2]],
  ["IPv6 Prefix", 6, 32, [0, 1, 2]],
  ["End of Data", 7, 12, [0]],
  ["End of Data", 7, 24, [1, 2]],
  ["Cache Reset", 8, 8, [0, 1, 2]],
];

for (const [name, type, want, versions] of FIXED_LENGTHS) {
  for (const version of versions) {
    Deno.test(`decodePdu() rejects ${name} v${version} with any length but ${want}`, () => {
      for (const len of [8, 12, 16, 19, 20, 21, 24, 28, 32, 36, 64]) {
        if (len === want) continue;
        const e = rejects(
          pdu(version, type, 0, zeros(len - 8)),
          ErrorCode.CorruptData,
          new RegExp(`length is ${len}, expected ${want}$`),
        );
        assert.equal(e.pdu?.length, len, "the whole offending PDU is carried");
      }
      // Prefix PDUs need valid lengths inside; 0/0 is valid.
      assert.equal(decodes(pdu(version, type, 0, zeros(want - 8))).type, type);
    });
  }
}

Deno.test("decodePdu() rejects End of Data v1 with length 12 and v0 with length 24", () => {
  rejects(pdu(1, 7, 3, "00000009"), 0, /End of Data PDU v1: length is 12, expected 24/);
  rejects(pdu(2, 7, 3, "00000009"), 0, /End of Data PDU v2: length is 12, expected 24/);
  rejects(
    pdu(0, 7, 3, "00000009 00000e10 00000258 00001c20"),
    0,
    /End of Data PDU v0: length is 24, expected 12/,
  );
});

Deno.test("decodePdu() rejects a Router Key shorter than 32 octets plus a DER key", () => {
  for (const len of [8, 12, 28, 31, 32, 33]) rejects(pdu(1, 9, 0x0100, zeros(len - 8)), 0);
  assert.equal(decodes(pdu(1, 9, 0x0100, zeros(26))).type, 9);
});

Deno.test("decodePdu() rejects an Error Report shorter than 16 octets", () => {
  for (const len of [8, 12, 15]) rejects(pdu(1, 10, 0, zeros(len - 8)), 0);
});

Deno.test("decodePdu() rejects a frame whose Length field disagrees with its size", () => {
  const g = readGolden("05-ipv4-prefix-v2.hex").bytes;
  rejects(g.subarray(0, 19), 0, /length field is 20, frame has 19 bytes/);
  const longer = new Uint8Array(21);
  longer.set(g);
  rejects(longer, 0, /length field is 20, frame has 21 bytes/);
  rejects(g.subarray(0, 7), 0, /7 bytes, expected at least 8/);
  rejects(new Uint8Array(0), 0);
});

Deno.test("decodePdu() rejects a Length field below 8 or above 65535", () => {
  rejects(pdu(1, 2, 0, "").map((x, i) => i === 7 ? 7 : x), 0, /length is 7, expected 8 to 65535/);
  const big = new Uint8Array(8);
  big.set([1, 4, 0, 0, 0, 1, 0, 0]);
  rejects(big, 0, /length is 65536, expected 8 to 65535/);
});

// --- Prefix lengths: Corrupt Data (0) ---------------------------------------------------------

/** An IPv4 Prefix body with the given lengths. */
const v4 = (flags: number, plen: number, mlen: number, addr = "c0000200", asn = "0000fbf0") =>
  pdu(2, 4, 0, new Uint8Array([flags, plen, mlen, 0, ...hexToBytes(addr + asn)]));
/** An IPv6 Prefix body with the given lengths. */
const v6 = (
  flags: number,
  plen: number,
  mlen: number,
  addr = "20010db8000000000000000000000000",
) => pdu(2, 6, 0, new Uint8Array([flags, plen, mlen, 0, ...hexToBytes(addr + "0000fbf1")]));

Deno.test("decodePdu() rejects maxLength below the prefix length", () => {
  rejects(v4(1, 24, 23), 0, /IPv4 Prefix PDU: max length is 23, expected 24 to 32/);
  rejects(v4(1, 1, 0, "80000000"), 0, /max length is 0, expected 1 to 32/);
  rejects(v6(1, 48, 32), 0, /IPv6 Prefix PDU: max length is 32, expected 48 to 128/);
});

Deno.test("decodePdu() rejects maxLength above 32 for IPv4 and 128 for IPv6", () => {
  rejects(v4(1, 24, 33), 0, /max length is 33, expected 24 to 32/);
  rejects(v4(1, 24, 255), 0);
  rejects(v6(1, 32, 129), 0, /max length is 129, expected 32 to 128/);
  rejects(v6(1, 32, 255), 0);
});

Deno.test("decodePdu() rejects a prefix length above 32 for IPv4 and 128 for IPv6", () => {
  rejects(v4(1, 33, 33), 0, /prefix length is 33, expected 0 to 32/);
  rejects(v4(1, 255, 255), 0);
  rejects(v6(1, 129, 129), 0, /prefix length is 129, expected 0 to 128/);
});

Deno.test("decodePdu() accepts the boundary prefix and max lengths", () => {
  for (const [p, m] of [[0, 0], [0, 32], [32, 32], [8, 24]]) {
    const d = decodes(v4(1, p, m, "00000000"));
    assert.ok(d.type === 4 && d.prefixLength === p && d.maxLength === m);
  }
  for (const [p, m] of [[0, 0], [0, 128], [128, 128], [32, 48]]) {
    const d = decodes(v6(1, p, m, "00".repeat(16)));
    assert.ok(d.type === 6 && d.prefixLength === p && d.maxLength === m);
  }
});

// --- PDU types and versions --------------------------------------------------------------------

Deno.test("decodePdu() rejects unknown PDU types 5, 12 and 255 with Unsupported PDU Type (5)", () => {
  for (const version of [0, 1, 2]) {
    for (const type of [5, 12, 13, 99, 254, 255]) {
      rejects(pdu(version, type, 0, zeros(4)), 5, new RegExp(`unknown PDU type ${type}$`));
      rejects(pdu(version, type, 0, ""), 5);
    }
  }
});

Deno.test("decodePdu() rejects a Router Key in version 0 with code 5", () => {
  const rk = readGolden("12-router-key-v1.hex").bytes.slice();
  rk[0] = 0;
  rejects(rk, 5, /Router Key PDU: not defined in protocol version 0/);
  rk[0] = 2;
  assert.equal(decodes(rk).type, 9);
});

Deno.test("decodePdu() rejects ASPA in versions 0 and 1 with code 5", () => {
  for (const name of ["17-aspa-v2-announce.hex", "18-aspa-v2-withdraw.hex"]) {
    const a = readGolden(name).bytes.slice();
    for (const version of [0, 1]) {
      a[0] = version;
      rejects(a, 5, new RegExp(`ASPA PDU: not defined in protocol version ${version}`));
    }
  }
});

Deno.test("decodePdu() rejects protocol version 3 (and above) with code 4", () => {
  for (const g of loadGoldenPdus()) {
    for (const version of [3, 4, 255]) {
      const b = g.bytes.slice();
      b[0] = version;
      rejects(b, 4, new RegExp(`protocol version ${version} is not supported`));
    }
  }
  // Version is checked before the type: an unknown type at version 3 is still code 4.
  rejects(pdu(3, 5, 0, ""), 4);
});

// --- ASPA provider-list rules (8210bis §5.12) ---------------------------------------------------

/** A current-layout ASPA: flags in octet 2, customer, providers. */
const aspa = (flags: number, customer: number, ...providers: number[]) => {
  const body = new Uint8Array(4 + 4 * providers.length);
  const v = new DataView(body.buffer);
  v.setUint32(0, customer);
  providers.forEach((p, i) => v.setUint32(4 + 4 * i, p));
  return pdu(2, 11, flags << 8, body);
};

Deno.test("decodePdu() rejects an ASPA announcement without providers with code 9", () => {
  rejects(aspa(1, 64500), 9, /announcement has no providers/);
});

Deno.test("decodePdu() rejects AS0 among several ASPA providers with code 9", () => {
  rejects(aspa(1, 64500, 0, 64501), 9, /AS0 among 2 providers of AS64500/);
  rejects(aspa(1, 64500, 64501, 0), 9);
  // A single AS0 means "no providers" and is legal.
  assert.deepEqual(decodes(aspa(1, 64500, 0)), {
    type: 11,
    version: 2,
    flags: 1,
    customer: 64500,
    providers: [0],
  });
});

Deno.test("decodePdu() rejects ASPA providers that are not strictly increasing with code 9", () => {
  rejects(aspa(1, 64500, 64502, 64501), 9, /not strictly increasing \(AS64501 after AS64502\)/);
  rejects(aspa(1, 64500, 64501, 64501), 9);
  rejects(aspa(1, 64500, 1, 2, 3, 3), 9);
  rejects(aspa(1, 64500, 0xffffffff, 1), 9);
});

Deno.test("decodePdu() accepts the largest ASPA (16380 providers, Length 65532)", () => {
  const providers = Array.from({ length: 16380 }, (_, i) => 1 + i);
  const d = decodes(aspa(1, 64500, ...providers));
  assert.ok(d.type === 11 && d.providers.length === 16380 && d.providers[16379] === 16380);
});

Deno.test("decodePdu() rejects a current ASPA withdrawal whose Length is not 12 with code 0", () => {
  // 13..15: too short for a provider, not legacy-shaped.
  for (const extra of [1, 2, 3]) {
    rejects(pdu(2, 11, 0, "0000fbf4" + zeros(extra)), 0, /withdrawal length is \d+, expected 12/);
  }
  // A reserved flag bit set (octet 2 ≠ 0) rules out the legacy layout: current withdraw, code 0.
  rejects(aspa(2, 64500, 64501), 0, /withdrawal length is 16, expected 12/);
  // Octet 2 = 0 and Length ≥ 16 is the legacy shape; a provider list read as legacy whose count
  // does not fit the Length is still Corrupt Data.
  rejects(aspa(0, 64500, 64501), 0, /legacy layout\): length is 16, expected 16 \+ 4 × 64500/);
  rejects(aspa(0, 64500, 64501, 64502), 0);
});

Deno.test("decodePdu() rejects a current ASPA announcement with a ragged length with code 0", () => {
  for (const extra of [1, 2, 3, 5]) {
    rejects(pdu(2, 11, 0x0100, "0000fbf4" + zeros(extra)), 0);
  }
  rejects(pdu(2, 11, 0x0100, ""), 0, /length is 8, expected at least 12/);
});

Deno.test("decodePdu() rejects a legacy ASPA whose provider count disagrees with Length", () => {
  rejects(pdu(2, 11, 0, "01 00 0003 0000fbf4 0000fbf5 0000fbf6"), 0, /legacy layout/);
  rejects(pdu(2, 11, 0, "01 00 0001 0000fbf4 0000fbf5 0000fbf6"), 0, /legacy layout/);
});

// --- Error Report lengths -----------------------------------------------------------------------

Deno.test("decodePdu() rejects an Error Report whose m and t do not add up with code 0", () => {
  // m larger than the PDU.
  rejects(pdu(1, 10, 0, "00000100 00000000"), 0, /encapsulated PDU length 256 does not fit/);
  rejects(pdu(1, 10, 0, "ffffffff 00000000"), 0, /does not fit/);
  // t too large and too small.
  rejects(pdu(1, 10, 0, "00000000 00000005 41424344"), 0, /expected 16 \+ 0 \+ 5 = 21/);
  rejects(pdu(1, 10, 0, "00000000 00000003 41424344"), 0, /expected 16 \+ 0 \+ 3 = 19/);
  rejects(pdu(1, 10, 0, "00000000 ffffffff 41424344"), 0);
  // m eats the text-length field.
  rejects(pdu(1, 10, 0, "00000006 0102 00000008 00"), 0);
  // Consistent lengths decode.
  assert.deepEqual(decodes(pdu(1, 10, 3, "00000002 0102 00000002 4142")), {
    type: 10,
    version: 1,
    errorCode: 3,
    pdu: new Uint8Array([1, 2]),
    text: "AB",
  });
});

Deno.test("decodePdu() decodes Error Report text as UTF-8 and keeps interior bytes", () => {
  const text = new TextEncoder().encode("Zürich ✓");
  const body = new Uint8Array(8 + text.length);
  new DataView(body.buffer).setUint32(4, text.length);
  body.set(text, 8);
  const d = decodes(pdu(2, 10, 13, body));
  assert.ok(d.type === 10 && d.text === "Zürich ✓" && d.errorCode === 13);
  // Invalid UTF-8 is replaced, never thrown.
  const bad = decodes(pdu(2, 10, 0, "00000000 00000002 c328"));
  assert.ok(bad.type === 10 && bad.text === "\ufffd(");
});

// --- Reserved bits and fields are ignored ---------------------------------------------------------

Deno.test("decodePdu() reads only bit 0 of the flags: 0xFF is announce, 0xFE is withdraw", () => {
  const on = decodes(v4(0xff, 24, 24));
  const off = decodes(v4(0xfe, 24, 24));
  assert.ok(on.type === 4 && off.type === 4);
  assert.equal(on.flags & FLAG_ANNOUNCE, 1);
  assert.equal(off.flags & FLAG_ANNOUNCE, 0);
  assert.deepEqual(on, decodes(v4(1, 24, 24)), "reserved flag bits do not reach the value");
  assert.deepEqual(off, decodes(v4(0, 24, 24)));
  const k = readGolden("12-router-key-v1.hex").bytes.slice();
  k[2] = 0xff;
  assert.deepEqual(decodes(k), decodePdu(readGolden("12-router-key-v1.hex").bytes));
  const a = readGolden("17-aspa-v2-announce.hex").bytes.slice();
  a[2] = 0xff;
  assert.deepEqual(decodes(a), decodePdu(readGolden("17-aspa-v2-announce.hex").bytes));
  const legacy = readGolden("20-aspa-v2-legacy-announce.hex").bytes.slice();
  legacy[8] = 0x81;
  assert.deepEqual(decodes(legacy), decodePdu(readGolden("20-aspa-v2-legacy-announce.hex").bytes));
});

/** Octets that must be sent as zero and ignored on receipt, per golden vector. */
const ZERO_OCTETS: Record<string, number[]> = {
  "03-reset-query-v2.hex": [2, 3],
  "05-ipv4-prefix-v2.hex": [2, 3, 11],
  "06-ipv4-prefix-v2-4octet-asn.hex": [2, 3, 11],
  "07-ipv4-withdraw-v1.hex": [2, 3, 11],
  "08-ipv6-prefix-v2.hex": [2, 3, 11],
  "11-cache-reset-v1.hex": [2, 3],
  "12-router-key-v1.hex": [3],
  "17-aspa-v2-announce.hex": [3],
  "18-aspa-v2-withdraw.hex": [3],
  "19-aspa-v2-rpki-rs.hex": [3],
};

Deno.test("decodePdu() accepts randomised zero fields and decodes the same value", () => {
  const rng = new Prng(0x5eed_0001);
  for (const [name, octets] of Object.entries(ZERO_OCTETS)) {
    const clean = readGolden(name).bytes;
    const want = decodePdu(clean);
    for (let round = 0; round < 50; round++) {
      const b = clean.slice();
      for (const o of octets) b[o] = rng.int(1, 255);
      assert.deepEqual(decodes(b), want, `${name} with zero octets ${octets} randomised`);
      // Re-encoding sends zeros again.
      assert.deepEqual(encodePdu(decodes(b)), clean);
    }
  }
});

// --- Host bits ------------------------------------------------------------------------------------

Deno.test("decodePdu() masks IPv4 host bits beyond the prefix length and flags them", () => {
  const d = decodes(v4(1, 24, 24, "c0000201"));
  assert.deepEqual(d, {
    type: 4,
    version: 2,
    flags: 1,
    prefixLength: 24,
    maxLength: 24,
    addr: [0xc0000200],
    asn: 64496,
    hostBits: true,
  });
  const zero = decodes(v4(1, 0, 8, "ffffffff"));
  assert.ok(zero.type === 4 && zero.addr[0] === 0 && zero.hostBits === true);
  const full = decodes(v4(1, 32, 32, "ffffffff"));
  assert.ok(full.type === 4 && full.addr[0] === 0xffffffff && full.hostBits === undefined);
  const clean = decodes(v4(1, 24, 24));
  assert.ok(clean.type === 4 && !("hostBits" in clean), "clean prefixes carry no flag");
});

Deno.test("decodePdu() masks IPv6 host bits in every word and flags them", () => {
  const d = decodes(v6(1, 32, 48, "20010db8 00000000 00000000 00000001".replace(/ /g, "")));
  assert.ok(d.type === 6 && d.hostBits === true);
  assert.deepEqual(d.addr, [0x20010db8, 0, 0, 0]);
  const mid = decodes(v6(1, 23, 26, "20010db800000002000a0000deadbeef"));
  assert.ok(mid.type === 6 && mid.hostBits === true);
  assert.deepEqual(mid.addr, [0x20010c00, 0, 0, 0]);
  const w3 = decodes(v6(1, 127, 128, "ffffffffffffffffffffffffffffffff"));
  assert.ok(w3.type === 6 && w3.hostBits === true);
  assert.deepEqual(w3.addr, [0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe]);
  const all = decodes(v6(1, 128, 128, "ffffffffffffffffffffffffffffffff"));
  assert.ok(all.type === 6 && all.hostBits === undefined);
});

// --- decodeAt and the offending bytes --------------------------------------------------------

Deno.test("decodeAt() decodes in place at an offset and reports only that PDU's bytes", () => {
  const a = readGolden("05-ipv4-prefix-v2.hex").bytes;
  const b = v4(1, 24, 23);
  const buf = new Uint8Array(3 + a.length + b.length);
  buf.set(a, 3);
  buf.set(b, 3 + a.length);
  const view = new DataView(buf.buffer, 1); // a view that does not start at 0
  const sub = buf.subarray(1);
  assert.deepEqual(decodeAt(sub, view, 2, 20), decodePdu(a));
  try {
    decodeAt(sub, view, 22, 20);
    assert.fail("expected a DecodeError");
  } catch (e) {
    assert.ok(e instanceof DecodeError);
    assert.deepEqual(e.pdu, b);
    assert.notEqual(e.pdu?.buffer, buf.buffer, "the offending bytes are a copy");
  }
});

Deno.test("decoded values copy their bytes and pin no input buffer", () => {
  const rk = readGolden("12-router-key-v1.hex").bytes.slice();
  const d = decodePdu(rk);
  const er = readGolden("13-error-report-v1-withdrawal-of-unknown.hex").bytes.slice();
  const e = decodePdu(er);
  assert.ok(d.type === 9 && e.type === 10);
  assert.notEqual(d.ski.buffer, rk.buffer);
  assert.notEqual(d.spki.buffer, rk.buffer);
  assert.notEqual(e.pdu.buffer, er.buffer);
  rk.fill(0);
  assert.equal(d.asn, 64498);
  assert.equal(d.ski[0], 0x51);
});

// --- Never a crash -----------------------------------------------------------------------------

/** Decode and return null, or the DecodeError; anything else thrown fails the test. */
function tryDecode(b: Uint8Array): DecodeError | null {
  try {
    decodePdu(b);
    return null;
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw new Error(`decodePdu threw a non-DecodeError on ${b}: ${e}`, { cause: e });
  }
}

Deno.test("decodePdu() rejects every truncation of every golden PDU with code 0", () => {
  for (const g of loadGoldenPdus()) {
    for (let n = 0; n < g.bytes.length; n++) {
      const e = tryDecode(g.bytes.subarray(0, n));
      assert.ok(e, `${g.name} cut to ${n} bytes`);
      assert.equal(e.code, 0);
    }
  }
});

Deno.test("decodePdu() survives every single-octet corruption of every golden PDU", () => {
  for (const g of loadGoldenPdus()) {
    for (let i = 0; i < Math.min(g.bytes.length, 40); i++) {
      for (const x of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
        const b = g.bytes.slice();
        b[i] = x;
        tryDecode(b);
      }
    }
  }
});

Deno.test("decodePdu() survives 20000 seeded random frames with valid headers", () => {
  const rng = new Prng(0xdec0de);
  let ok = 0;
  for (let round = 0; round < 20000; round++) {
    const len = rng.int(8, 64);
    const b = rng.bytes(len);
    b[0] = rng.int(0, 3);
    b[1] = rng.int(0, 12);
    new DataView(b.buffer).setUint32(4, len);
    if (tryDecode(b) === null) ok++;
  }
  assert.ok(ok > 100, `some random frames are valid PDUs (${ok})`);
});
