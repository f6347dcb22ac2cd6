/** RtrCache with a session id per protocol version (8210bis §5.1), as `rtr serve` runs it. */
import assert from "node:assert/strict";
import { type CacheOutput, RtrCache } from "../../lib/cache/mod.ts";
import { makeTable, VrpSet } from "../../lib/model/mod.ts";
import { encodePdu, type Pdu, PduFramer } from "../../lib/wire/mod.ts";

function decodeAll(out: CacheOutput): Pdu[] {
  const pdus: Pdu[] = [];
  const framer = new PduFramer();
  for (const r of out.send) for (const c of r.chunks) framer.push(c, (p) => pdus.push(p));
  return pdus;
}

function cache(): RtrCache {
  const c = new RtrCache({ sessionId: 9, sessionIds: [7, 8, 9] });
  c.update(makeTable(VrpSet.from([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }]), [], []));
  return c;
}

Deno.test("each version's Cache Response, End of Data and Serial Notify carry its own session id", () => {
  const c = cache();
  for (const v of [0, 1, 2]) {
    const conn = c.connection();
    const pdus = decodeAll(conn.receive(encodePdu({ type: 2, version: v })));
    const ids = pdus.filter((p) => p.type === 3 || p.type === 7).map((p) =>
      (p as { sessionId: number }).sessionId
    );
    assert.deepEqual(ids, [7 + v, 7 + v], `version ${v}`);
    c.update(
      makeTable(
        VrpSet.from([{ prefix: "198.51.100.0/24", maxLength: 24, asn: 64500 + v }]),
        [],
        [],
      ),
    );
    assert.deepEqual(
      conn.notify(),
      encodePdu({ type: 0, version: v, sessionId: 7 + v, serial: 2 + v }),
    );
  }
});

Deno.test("a Serial Query is checked against its own version's session id", () => {
  const c = cache();
  const ok = decodeAll(
    c.connection().receive(encodePdu({ type: 1, version: 1, sessionId: 8, serial: 1 })),
  );
  assert.deepEqual(ok[0], { type: 3, version: 1, sessionId: 8 });
  const conn = c.connection();
  const out = conn.receive(encodePdu({ type: 1, version: 1, sessionId: 9, serial: 1 }));
  const bad = decodeAll(out);
  assert.equal(bad[0].type, 10);
  assert.equal((bad[0] as { errorCode: number }).errorCode, 0);
  assert.match((bad[0] as { text: string }).text, /^Session ID mismatch: got 9, want 8$/);
  assert.equal(out.close, true);
});
