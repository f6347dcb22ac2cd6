import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CacheConnection,
  type CacheOutput,
  composeVrpChanges,
  NotifyLimiter,
  RtrCache,
} from "../../lib/cache/mod.ts";
import {
  type Aspa,
  canonicalPrefix,
  formatPrefix,
  makeTable,
  type PayloadTable,
  type RouterKey,
  toBase64,
  type Vrp,
  VrpSet,
} from "../../lib/model/mod.ts";
import { encodePdu, type Pdu, PduFramer } from "../../lib/wire/mod.ts";

const KEY_A: RouterKey = {
  asn: 64498,
  ski: "510F485D29A29DB7B515F9C478F8ED3CB7AA7D23",
  pubkey: toBase64(new Uint8Array([0x30, 0x03, 1, 2, 3])),
};
const KEY_B: RouterKey = {
  asn: 64499,
  ski: "0102030405060708090A0B0C0D0E0F1011121314",
  pubkey: toBase64(new Uint8Array([0x30, 0x02, 9, 9])),
};

function table(vrps: Vrp[], keys: RouterKey[] = [], aspas: Aspa[] = []): PayloadTable {
  return makeTable(VrpSet.from(vrps), keys, aspas);
}

const T1 = table(
  [
    { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
    { prefix: "198.51.100.0/22", maxLength: 24, asn: 65536 },
    { prefix: "2001:db8::/32", maxLength: 48, asn: 64497 },
    { prefix: "10.0.0.0/8", maxLength: 24, asn: 1 },
    { prefix: "10.0.0.0/16", maxLength: 16, asn: 2 },
    { prefix: "10.0.0.0/16", maxLength: 16, asn: 0 },
  ],
  [KEY_A],
  [{ customer: 64500, providers: [64501, 64502] }],
);

function decodeAll(out: CacheOutput): Pdu[] {
  const pdus: Pdu[] = [];
  const framer = new PduFramer();
  for (const r of out.send) {
    let size = 0;
    for (const c of r.chunks) {
      size += c.length;
      framer.push(c, (p) => pdus.push(p));
    }
    assert.equal(size, r.size, `size of ${r.summary}`);
  }
  assert.equal(framer.buffered, 0);
  return pdus;
}

function resetQuery(version: number): Uint8Array {
  return encodePdu({ type: 2, version });
}

function serialQuery(version: number, sessionId: number, serial: number): Uint8Array {
  return encodePdu({ type: 1, version, sessionId, serial });
}

function newCache(t: PayloadTable | null = T1, opts = {}): RtrCache {
  const c = new RtrCache({ sessionId: 7, ...opts });
  if (t) c.update(t);
  return c;
}

/** VRPs, router-key ids and ASPA of a full response's payload PDUs. */
function payloadOf(pdus: Pdu[]): { vrps: string[]; keys: string[]; aspas: string[] } {
  const vrps: string[] = [], keys: string[] = [], aspas: string[] = [];
  for (const p of pdus) {
    const sign = "flags" in p && (p.flags & 1) === 1 ? "+" : "-";
    if (p.type === 4 || p.type === 6) {
      vrps.push(
        `${sign}${
          formatPrefix(p.type === 4 ? 4 : 6, p.addr, p.prefixLength)
        }-${p.maxLength} AS${p.asn}`,
      );
    } else if (p.type === 9) keys.push(`${sign}AS${p.asn}`);
    else if (p.type === 11) aspas.push(`${sign}AS${p.customer}:${p.providers.join(",")}`);
  }
  return { vrps: vrps.sort(), keys, aspas };
}

function vrpLines(vrps: Vrp[], sign = "+"): string[] {
  return vrps.map((v) => `${sign}${canonicalPrefix(v.prefix)}-${v.maxLength} AS${v.asn}`).sort();
}

/** Independent check of the 8210bis §11.2 order of a response's payload PDUs. */
function assertV2Order(pdus: Pdu[]): void {
  const payload = pdus.filter((p) => p.type === 4 || p.type === 6 || p.type === 9 || p.type === 11);
  const key = (p: Pdu): number[] => {
    const ann = "flags" in p && (p.flags & 1) === 1;
    if (p.type === 4 || p.type === 6) {
      const words = p.type === 4 ? [p.addr[0]] : p.addr;
      const k = [
        ...words.flatMap((w) => [w >>> 16, w & 0xffff]),
        p.maxLength,
        p.prefixLength,
        p.asn,
      ];
      return [p.type, ann ? 0 : 1, ...(ann ? k.map((x) => -x) : k)];
    }
    if (p.type === 9) return [p.type, ann ? 0 : 1, ...p.ski, p.spki.length, ...p.spki, p.asn];
    if (p.type === 11) return [p.type, ann ? 0 : 1, p.customer];
    return [];
  };
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  };
  for (let i = 1; i < payload.length; i++) {
    assert.ok(
      cmp(key(payload[i - 1]), key(payload[i])) < 0,
      `PDU ${i} out of 8210bis order: ${JSON.stringify(payload[i - 1])} before ${
        JSON.stringify(payload[i])
      }`,
    );
  }
}

Deno.test("Reset Query v2 gets the whole table with router keys and ASPA in 8210bis order", () => {
  const conn = newCache().connection();
  const out = conn.receive(resetQuery(2));
  assert.equal(out.close, false);
  const pdus = decodeAll(out);
  assert.deepEqual(pdus[0], { type: 3, version: 2, sessionId: 7 });
  assert.deepEqual(pdus.at(-1), {
    type: 7,
    version: 2,
    sessionId: 7,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 7200,
  });
  const got = payloadOf(pdus);
  assert.deepEqual(got.vrps, vrpLines([...T1.vrps]));
  assert.deepEqual(got.keys, ["+AS64498"]);
  assert.deepEqual(got.aspas, ["+AS64500:64501,64502"]);
  assertV2Order(pdus);
  assert.ok(pdus.every((p) => p.version === 2));
  assert.equal(conn.version, 2);
});

Deno.test("Reset Query v1 gets router keys but no ASPA", () => {
  const pdus = decodeAll(newCache().connection().receive(resetQuery(1)));
  const got = payloadOf(pdus);
  assert.deepEqual(got.keys, ["+AS64498"]);
  assert.deepEqual(got.aspas, []);
  assert.equal(got.vrps.length, 6);
  assertV2Order(pdus);
});

Deno.test("Reset Query v0 gets prefixes only and a 12-byte End of Data", () => {
  const out = newCache().connection().receive(resetQuery(0));
  const pdus = decodeAll(out);
  const got = payloadOf(pdus);
  assert.deepEqual(got.keys, []);
  assert.deepEqual(got.aspas, []);
  assert.equal(got.vrps.length, 6);
  assert.deepEqual(pdus.at(-1), { type: 7, version: 0, sessionId: 7, serial: 1 });
  assert.equal(out.send[0].size, 8 + 5 * 20 + 32 + 12);
  assertV2Order(pdus);
});

Deno.test("prefixes sharing an address are ordered by max length before prefix length", () => {
  const pdus = decodeAll(newCache().connection().receive(resetQuery(2)));
  const tens = pdus.filter((p) => p.type === 4 && p.addr[0] === 0x0a000000) as {
    prefixLength: number;
    maxLength: number;
    asn: number;
  }[];
  assert.deepEqual(tens.map((p) => [p.prefixLength, p.maxLength, p.asn]), [
    [8, 24, 1],
    [16, 16, 2],
    [16, 16, 0],
  ]);
});

Deno.test("a query at version 3 gets Error Report code 4 stamped with version 2, then close", () => {
  const conn = newCache().connection();
  const out = conn.receive(new Uint8Array([3, 2, 0, 0, 0, 0, 0, 8]));
  const pdus = decodeAll(out);
  assert.equal(pdus.length, 1);
  const e = pdus[0];
  assert.equal(e.type, 10);
  assert.equal(e.version, 2);
  if (e.type === 10) {
    assert.equal(e.errorCode, 4);
    assert.deepEqual([...e.pdu], [3, 2, 0, 0, 0, 0, 0, 8]);
  }
  assert.equal(out.close, true);
  assert.equal(conn.receive(resetQuery(2)).send.length, 0, "closed connection ignores input");
});

Deno.test("a cache limited to version 1 answers a v2 query with code 4 at version 1", () => {
  const out = newCache(T1, { maxVersion: 1 }).connection().receive(resetQuery(2));
  const [e] = decodeAll(out);
  assert.equal(e.type, 10);
  assert.equal(e.version, 1);
  if (e.type === 10) assert.equal(e.errorCode, 4);
  assert.equal(out.close, true);
});

Deno.test("a cache limited to version 1 answers a v0 query at version 0", () => {
  const pdus = decodeAll(newCache(T1, { maxVersion: 1 }).connection().receive(resetQuery(0)));
  assert.equal(pdus[0].type, 3);
  assert.equal(pdus[0].version, 0);
});

Deno.test("Serial Query with a wrong session id gets code 0 and close", () => {
  const out = newCache().connection().receive(serialQuery(1, 8, 1));
  const [e] = decodeAll(out);
  assert.equal(e.type, 10);
  if (e.type === 10) {
    assert.equal(e.errorCode, 0);
    assert.match(e.text, /Session ID mismatch: got 8, want 7/);
  }
  assert.equal(out.close, true);
});

Deno.test("Serial Query at the current serial gets an empty response", () => {
  const pdus = decodeAll(newCache().connection().receive(serialQuery(2, 7, 1)));
  assert.deepEqual(pdus.map((p) => p.type), [3, 7]);
});

Deno.test("Serial Query for a held serial gets the minimal merged delta in order", () => {
  const cache = newCache();
  const t2 = table(
    [
      ...[...T1.vrps].filter((v) => v.asn !== 2),
      { prefix: "203.0.113.0/24", maxLength: 24, asn: 64511 },
      { prefix: "2001:db8:1::/48", maxLength: 48, asn: 64512 },
    ],
    [KEY_B],
    [{ customer: 64500, providers: [64501] }, { customer: 64600, providers: [1] }],
  );
  const t3 = table(
    [...t2.vrps].filter((v) => v.asn !== 64512).concat([
      { prefix: "2001:db8:2::/48", maxLength: 48, asn: 64513 },
    ]),
    [KEY_B],
    [{ customer: 64600, providers: [1] }],
  );
  assert.equal(cache.update(t2).serial, 2);
  assert.equal(cache.update(t3).serial, 3);
  const pdus = decodeAll(cache.connection().receive(serialQuery(2, 7, 1)));
  const got = payloadOf(pdus);
  assert.deepEqual(got.vrps, [
    "+2001:db8:2::/48-48 AS64513",
    "+203.0.113.0/24-24 AS64511",
    "-10.0.0.0/16-16 AS2",
  ]);
  assert.deepEqual(got.keys, ["+AS64499", "-AS64498"]);
  assert.deepEqual(got.aspas, ["+AS64600:1", "-AS64500:"]);
  assertV2Order(pdus);
  const eod = pdus.at(-1)!;
  assert.equal(eod.type === 7 && eod.serial, 3);
  // The same query at v1 leaves ASPA out; at v0 router keys too.
  assert.deepEqual(
    payloadOf(decodeAll(cache.connection().receive(serialQuery(1, 7, 1)))).aspas,
    [],
  );
  assert.deepEqual(payloadOf(decodeAll(cache.connection().receive(serialQuery(0, 7, 1)))).keys, []);
});

Deno.test("an ASPA whose providers changed is announced again, not withdrawn", () => {
  const cache = newCache();
  cache.update(table([...T1.vrps], [KEY_A], [{ customer: 64500, providers: [64501, 64503] }]));
  const got = payloadOf(decodeAll(cache.connection().receive(serialQuery(2, 7, 1))));
  assert.deepEqual(got.aspas, ["+AS64500:64501,64503"]);
  assert.deepEqual(got.vrps, []);
});

Deno.test("an unchanged table keeps its serial", () => {
  const cache = newCache();
  const r = cache.update(
    table([...T1.vrps], [KEY_A], [{ customer: 64500, providers: [64502, 64501] }]),
  );
  assert.equal(r.changed, false);
  assert.equal(cache.serial, 1);
});

Deno.test("a stale or future serial gets Cache Reset and the connection stays open", () => {
  const cache = newCache(T1, { historySize: 2 });
  for (let i = 0; i < 4; i++) {
    cache.update(table([{ prefix: `192.0.${i}.0/24`, maxLength: 24, asn: 1 }]));
  }
  assert.equal(cache.serial, 5);
  assert.deepEqual(cache.heldSerials, [3, 4, 5]);
  const conn = cache.connection();
  for (const serial of [1, 2, 6, 1000]) {
    const out = conn.receive(serialQuery(1, 7, serial));
    assert.deepEqual(decodeAll(out), [{ type: 8, version: 1 }], `serial ${serial}`);
    assert.equal(out.close, false);
  }
  assert.deepEqual(decodeAll(conn.receive(serialQuery(1, 7, 3))).map((p) => p.type), [3, 4, 4, 7]);
});

Deno.test("serials wrap around 2^32 and deltas still work", () => {
  const cache = newCache(T1, { firstSerial: 0xffffffff });
  cache.update(table([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 1 }]));
  assert.equal(cache.serial, 0);
  const pdus = decodeAll(cache.connection().receive(serialQuery(1, 7, 0xffffffff)));
  assert.equal(pdus[0].type, 3);
  const eod = pdus.at(-1)!;
  assert.equal(eod.type === 7 && eod.serial, 0);
});

Deno.test("no table yet: No Data Available, connection kept, later queries answered", () => {
  const cache = newCache(null);
  const conn = cache.connection();
  for (const q of [resetQuery(1), serialQuery(1, 7, 1)]) {
    const out = conn.receive(q);
    const [e] = decodeAll(out);
    assert.equal(e.type === 10 && e.errorCode, 2);
    assert.equal(e.type === 10 && e.text, "No data available");
    assert.equal(out.close, false);
  }
  cache.update(T1);
  assert.equal(decodeAll(conn.receive(resetQuery(1)))[0].type, 3);
});

Deno.test("garbage gets an Error Report with the right code and the connection is dropped", () => {
  const cases: [string, Uint8Array, number][] = [
    ["length below 8", new Uint8Array([1, 2, 0, 0, 0, 0, 0, 3]), 0],
    ["length above 65535", new Uint8Array([1, 2, 0, 0, 0, 1, 0, 0]), 0],
    ["unknown type 5", new Uint8Array([1, 5, 0, 0, 0, 0, 0, 8]), 5],
    ["Reset Query of length 12", new Uint8Array([1, 2, 0, 0, 0, 0, 0, 12, 0, 0, 0, 0]), 0],
    ["Cache Response from a router", encodePdu({ type: 3, version: 1, sessionId: 7 }), 3],
  ];
  for (const [name, bytes, code] of cases) {
    const out = newCache().connection().receive(bytes);
    const pdus = decodeAll(out);
    assert.equal(pdus.length, 1, name);
    assert.equal(pdus[0].type === 10 && pdus[0].errorCode, code, name);
    assert.equal(pdus[0].version, 1, name);
    assert.equal(out.close, true, name);
  }
});

Deno.test("a version change mid-session gets code 8 (v1+) or code 0 (v0) and a drop", () => {
  for (const [v, other, code] of [[1, 2, 8], [2, 1, 8], [2, 3, 8], [0, 1, 0]]) {
    const conn = newCache().connection();
    decodeAll(conn.receive(resetQuery(v)));
    const out = conn.receive(
      other === 3 ? new Uint8Array([3, 2, 0, 0, 0, 0, 0, 8]) : serialQuery(other, 7, 1),
    );
    const [e] = decodeAll(out);
    assert.equal(e.type === 10 && e.errorCode, code, `v${v} then v${other}`);
    assert.equal(e.version, v);
    assert.equal(out.close, true);
  }
});

Deno.test("an Error Report from the router is never answered", () => {
  const report = encodePdu({
    type: 10,
    version: 1,
    errorCode: 6,
    pdu: new Uint8Array(0),
    text: "x",
  });
  const out = newCache().connection().receive(report);
  assert.equal(out.send.length, 0);
  assert.equal(out.close, true);
  assert.match(out.events[0], /code 6/);
  // Malformed (text length does not fit) and at an unknown version: dropped silently.
  const bad = report.slice();
  bad[bad.length - 5] = 9;
  for (const b of [bad, new Uint8Array([9, 10, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0])]) {
    const o = newCache().connection().receive(b);
    assert.equal(o.send.length, 0);
    assert.equal(o.close, true);
  }
  // A non-fatal one (No Data Available) keeps the session.
  const nf = newCache().connection().receive(
    encodePdu({ type: 10, version: 1, errorCode: 2, pdu: new Uint8Array(0), text: "" }),
  );
  assert.equal(nf.close, false);
  assert.equal(nf.send.length, 0);
});

Deno.test("queries split byte by byte or packed in one chunk are all answered", () => {
  const conn = newCache().connection();
  const bytes = new Uint8Array([...resetQuery(1), ...serialQuery(1, 7, 1)]);
  const outs: CacheOutput[] = [];
  for (const b of bytes) outs.push(conn.receive(new Uint8Array([b])));
  const types = outs.flatMap((o) => decodeAll(o).map((p) => p.type));
  assert.deepEqual(types, [3, 4, 4, 4, 4, 4, 6, 9, 7, 3, 7]);
  const packed = newCache().connection().receive(bytes);
  assert.equal(packed.send.length, 2);
});

Deno.test("Serial Notify goes only to negotiated routers behind the current serial", () => {
  const cache = newCache();
  const fresh = cache.connection();
  assert.equal(fresh.notify(), null, "not negotiated");
  const conn = cache.connection();
  decodeAll(conn.receive(resetQuery(1)));
  assert.equal(conn.notify(), null, "already current");
  cache.update(table([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 9 }]));
  assert.deepEqual([...conn.notify()!], [1, 0, 0, 7, 0, 0, 0, 12, 0, 0, 0, 2]);
  decodeAll(conn.receive(serialQuery(1, 7, 1)));
  assert.equal(conn.notify(), null);
});

Deno.test("large responses come in bounded chunks that decode to the whole table", () => {
  const vrps: Vrp[] = [];
  for (let i = 0; i < 5000; i++) {
    vrps.push({
      prefix: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`,
      maxLength: 24,
      asn: i,
    });
    vrps.push({ prefix: `2001:db8:${i.toString(16)}::/48`, maxLength: 48, asn: i });
  }
  const t = table(vrps);
  const cache = new RtrCache({ sessionId: 1, chunkSize: 4096 });
  cache.update(t);
  const out = cache.connection().receive(resetQuery(2));
  const chunks = [...out.send[0].chunks];
  assert.ok(chunks.length > 10);
  assert.ok(chunks.every((c) => c.length <= 4096));
  const pdus = decodeAll(out);
  assert.deepEqual(payloadOf(pdus).vrps, vrpLines(vrps));
  assertV2Order(pdus);
  // Reusing one buffer gives the same bytes when each chunk is consumed before the next.
  const reuse = new RtrCache({ sessionId: 1, chunkSize: 4096, reuseChunks: true });
  reuse.update(t);
  const r = reuse.connection().receive(resetQuery(2));
  const seen = new Set<ArrayBufferLike>();
  const copies: Uint8Array[] = [];
  for (const c of r.send[0].chunks) {
    seen.add(c.buffer);
    copies.push(c.slice());
  }
  assert.equal(seen.size, 1);
  const want = concatChunks(out), got = concatChunks({ send: [{ ...r.send[0], chunks: copies }] });
  assert.equal(got.length, want.length);
  assert.ok(got.every((b, i) => b === want[i]), "same bytes");
});

Deno.test("legacy ASPA layout: StayRTR 0.5.1's draft PDU, withdrawals carry the old providers", () => {
  const cache = newCache(T1, { aspaLayout: "legacy" });
  const out = cache.connection().receive(resetQuery(2));
  const bytes = concatChunks(out);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  for (const afi of ["00", "01"]) {
    assert.ok(
      hex.includes(`020b000000000018 01${afi} 0002 0000fbf40000fbf50000fbf6`.replace(/ /g, "")),
    );
  }
  cache.update(table([...T1.vrps], [KEY_A], []));
  const d = decodeAll(cache.connection().receive(serialQuery(2, 7, 1)));
  const aspa = d.filter((p) => p.type === 11);
  assert.deepEqual(
    aspa,
    [0, 1].map((legacyAfi) => ({
      type: 11,
      version: 2,
      flags: 0,
      customer: 64500,
      providers: [64501, 64502],
      legacyAfi,
    })),
  );
});

function concatChunks(out: Pick<CacheOutput, "send">): Uint8Array {
  const parts = out.send.flatMap((r) => [...r.chunks]);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return all;
}

Deno.test("a record that cannot be encoded is refused and the cache keeps its table", () => {
  const cache = newCache();
  // A VRP that no PDU can carry cannot even enter a table (the model refuses it first).
  assert.throws(
    () => table([{ prefix: "192.0.2.0/24", maxLength: 33, asn: 1 }]),
    /Invalid maxLength 33 for 192.0.2.0\/24, expected 24 to 32/,
  );
  assert.throws(
    () => cache.update(table([], [{ asn: 1, ski: "ABCD", pubkey: "AAAA" }])),
    /SKI "ABCD" is not 40 hex digits/,
  );
  assert.equal(cache.serial, 1);
  assert.equal(cache.table, T1);
});

Deno.test("Serial Query deltas from any held serial rebuild the current table (property)", () => {
  const vrpArb = fc.record({
    prefix: fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom(8, 16, 24)).map(([a, l]) =>
        `10.${a}.0.0/${l}`
      ),
      fc.integer({ min: 0, max: 3 }).map((a) => `2001:db8:${a}::/48`),
    ),
    maxLength: fc.constantFrom(24, 48),
    asn: fc.integer({ min: 0, max: 3 }),
  }).map((v) => ({ ...v, maxLength: v.prefix.includes(":") ? 48 : 24 }));
  const aspaArb = fc.array(
    fc.record({
      customer: fc.integer({ min: 1, max: 4 }),
      providers: fc.uniqueArray(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
    }),
    { maxLength: 3 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(vrpArb, { maxLength: 12 }), aspaArb), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.integer({ min: 1, max: 8 }),
      (steps, historySize) => {
        const cache = new RtrCache({ sessionId: 3, historySize });
        const seen = new Map<number, PayloadTable>();
        for (const [vrps, aspas] of steps) {
          const t = table(vrps, [], aspas);
          const r = cache.update(t);
          if (r.changed) seen.set(r.serial, t);
        }
        const current = cache.table!;
        for (const serial of cache.heldSerials) {
          const old = seen.get(serial)!;
          const pdus = decodeAll(cache.connection().receive(serialQuery(2, 3, serial)));
          assertV2Order(pdus);
          const vrps = new Map(
            [...old.vrps].map((v) => [`${v.prefix}-${v.maxLength} AS${v.asn}`, v]),
          );
          const aspas = new Map(old.aspas.map((a) => [a.customer, a.providers.join(",")]));
          for (const p of pdus) {
            if (p.type === 4 || p.type === 6) {
              const k = `${formatPrefix(p.type, p.addr, p.prefixLength)}-${p.maxLength} AS${p.asn}`;
              if (p.flags & 1) {
                assert.ok(!vrps.has(k), `duplicate announce ${k}`);
                vrps.set(k, {} as Vrp);
              } else {
                assert.ok(vrps.delete(k), `withdraw of unknown ${k}`);
              }
            } else if (p.type === 11) {
              if (p.flags & 1) aspas.set(p.customer, p.providers.join(","));
              else assert.ok(aspas.delete(p.customer));
            }
          }
          assert.deepEqual(
            [...vrps.keys()].sort(),
            [...current.vrps].map((v) => `${v.prefix}-${v.maxLength} AS${v.asn}`).sort(),
          );
          assert.deepEqual(
            [...aspas].sort((a, b) => a[0] - b[0]),
            current.aspas.map((a) => [a.customer, a.providers.join(",")]),
          );
        }
      },
    ),
    { seed: 8210, numRuns: 200 },
  );
});

Deno.test("composeVrpChanges() cancels a withdraw followed by a re-announce", () => {
  const a = VrpSet.from([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 1 }]);
  const none = new VrpSet();
  const c = composeVrpChanges({ announced: none, withdrawn: a }, { announced: a, withdrawn: none });
  assert.equal(c.announced.size, 0);
  assert.equal(c.withdrawn.size, 0);
});

Deno.test("NotifyLimiter allows one notification per interval", () => {
  const l = new NotifyLimiter(60_000);
  assert.equal(l.request(1000), 0);
  l.sent(1000);
  assert.equal(l.request(2000), 59_000);
  assert.equal(l.request(61_000), 0);
});

Deno.test("the connection reports a router that left inside a PDU", () => {
  const conn: CacheConnection = newCache().connection();
  conn.receive(new Uint8Array([1, 2, 0]));
  assert.equal(conn.partial, true);
});

Deno.test("a run of equal addresses larger than a chunk is written whole, never as an empty chunk", () => {
  const vrps: Vrp[] = [];
  for (let asn = 0; asn < 12; asn++) {
    vrps.push({ prefix: "192.0.2.0/24", maxLength: 24 + (asn % 3), asn });
    vrps.push({ prefix: "2001:db8::/32", maxLength: 32 + (asn % 3), asn });
  }
  const cache = new RtrCache({ sessionId: 1, chunkSize: 64, reuseChunks: true });
  cache.update(table(vrps));
  const out = cache.connection().receive(resetQuery(2));
  assert.ok([...out.send[0].chunks].every((c) => c.length > 0));
  const pdus = decodeAll(out);
  assert.deepEqual(payloadOf(pdus).vrps, vrpLines(vrps));
  assertV2Order(pdus);
});
