import assert from "node:assert/strict";
import { RtrCache } from "../../lib/cache/mod.ts";
import { makeTable, VrpSet, W } from "../../lib/model/mod.ts";
import { encodePdus, type Pdu, PduFramer, PREFIX_RECORD_WORDS } from "../../lib/wire/mod.ts";

Deno.test("the wire's packed prefix record is the model's VrpSet record", () => {
  assert.equal(PREFIX_RECORD_WORDS, W);
});

Deno.test("a response encoded from packed words equals encodePdu of its own PDU values", () => {
  const vrps = [];
  for (let i = 0; i < 700; i++) {
    vrps.push({ prefix: `10.${i >> 8}.${i & 255}.0/24`, maxLength: 24 + (i % 9), asn: i });
    vrps.push({ prefix: `2001:db8:${i.toString(16)}::/48`, maxLength: 64, asn: 4_200_000_000 + i });
  }
  const cache = new RtrCache({ sessionId: 9, chunkSize: 4096 });
  cache.update(makeTable(VrpSet.from(vrps), [], []));
  for (const version of [0, 1, 2]) {
    const r = cache.resetResponse(version);
    const parts = [...r.chunks].map((c) => c.slice());
    const bytes = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of parts) bytes.set(c, (off += c.length) - c.length);
    const pdus: Pdu[] = [];
    new PduFramer().push(bytes, (p) => pdus.push(p));
    assert.equal(pdus.length, vrps.length + 2);
    assert.deepEqual(encodePdus(pdus), bytes, `version ${version}`);
  }
});
