import { assert, assertEquals as eq } from "../helpers/assert.ts";
import { RtrCache } from "../../lib/cache/mod.ts";
import { makeTable, type Vrp, VrpSet } from "../../lib/model/mod.ts";

function table(n: number, base = 0) {
  const list: Vrp[] = [];
  for (let i = base; i < base + n; i++) {
    list.push({ prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`, maxLength: 24, asn: 64496 + i });
  }
  return makeTable(VrpSet.from(list), [], []);
}

/** The bytes of a response (each chunk copied as it comes: a reused buffer changes after). */
function bytes(chunks: Iterable<Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const c of chunks) parts.push(c.slice());
  const out = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of parts) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

Deno.test("RtrCache sharedBytes: routers read the same chunks, encoded once, with the bytes of a per-router encode", () => {
  const shared = new RtrCache({ sessionId: 7, chunkSize: 4096, sharedBytes: 1 << 20 });
  const plain = new RtrCache({ sessionId: 7, chunkSize: 4096, reuseChunks: true });
  shared.update(table(1000));
  plain.update(table(1000));
  const a = shared.resetResponse(2), b = shared.resetResponse(2);
  assert.equal(a, b);
  // Interleaved readers: B runs ahead, A catches up, both see the very same chunk objects.
  const ia = a.chunks[Symbol.iterator](), ib = b.chunks[Symbol.iterator]();
  const b0 = ib.next().value, b1 = ib.next().value;
  const a0 = ia.next().value, a1 = ia.next().value;
  assert.ok(a0 === b0 && a1 === b1 && a0 !== a1);
  eq(bytes(a.chunks), bytes(plain.resetResponse(2).chunks));
  eq(bytes(shared.resetResponse(1).chunks), bytes(plain.resetResponse(1).chunks));
  assert.notEqual(shared.resetResponse(1), a);

  // A new serial drops them; deltas are shared too.
  shared.update(table(1000, 10));
  plain.update(table(1000, 10));
  const r2 = shared.resetResponse(2);
  assert.notEqual(r2, a);
  eq(bytes(r2.chunks), bytes(plain.resetResponse(2).chunks));
  const d = shared.deltaResponse(2, 1)!;
  assert.equal(shared.deltaResponse(2, 1), d);
  eq(bytes(d.chunks), bytes(plain.deltaResponse(2, 1)!.chunks));
  eq(
    d.summary,
    "Cache Response v2, 20 payload PDUs (10 announced, 10 withdrawn), End of Data serial 2",
  );
});

Deno.test("RtrCache sharedBytes: beyond the budget, responses are per router", () => {
  const cache = new RtrCache({ sessionId: 7, sharedBytes: 30_000 });
  cache.update(table(1000)); // about 20 kB per full response
  assert.equal(cache.resetResponse(2), cache.resetResponse(2));
  const v1 = cache.resetResponse(1);
  assert.notEqual(cache.resetResponse(1), v1);
  eq(bytes(v1.chunks), bytes(cache.resetResponse(1).chunks));
});
