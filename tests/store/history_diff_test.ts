import assert from "node:assert/strict";
import { InputError } from "../../lib/errors.ts";
import type { PayloadTable, TableDiff } from "../../lib/model/mod.ts";
import {
  diffSerials,
  exactDiff,
  HistoryStore,
  serialFilePath,
  tableAtSerial,
} from "../../lib/store/mod.ts";
import { key, Recorder, table, tempDir, type V } from "./fixtures.ts";

/** Tables that change a little each step: VRPs come and go, a key rotates, an ASPA changes. */
function step(n: number): PayloadTable {
  const vrps: V[] = [];
  for (let i = 0; i < 40; i++) {
    if ((i + n) % 3 !== 0) vrps.push([`10.${i}.0.0/16`, 16 + ((i + n) % 2) * 8, 64496 + i]);
  }
  if (n % 2) vrps.push(["2001:db8::/32", 48, 64496]);
  return table(vrps, [key(64498, 1 + (n % 3))], [{
    customer: 64500,
    providers: n % 4 < 2 ? [64501] : [64501, 64502],
  }, ...(n % 5 === 0 ? [] : [{ customer: 64600, providers: [n] }])]);
}

function plain(d: TableDiff) {
  return {
    va: [...d.vrps.announced],
    vw: [...d.vrps.withdrawn],
    ka: d.routerKeys.announced,
    kw: d.routerKeys.withdrawn,
    aa: d.aspas.announced,
    aw: d.aspas.withdrawn,
  };
}

async function withStore(fn: (store: HistoryStore, dir: string) => Promise<void>) {
  const { dir, cleanup } = await tempDir();
  try {
    await fn(await HistoryStore.open(dir, { create: true }), dir);
  } finally {
    await cleanup();
  }
}

Deno.test("diffSerials() composes the recorded deltas over several serials, both ways", async () => {
  await withStore(async (store) => {
    const rec = new Recorder(store);
    const ts: PayloadTable[] = [];
    for (let n = 0; n < 8; n++) {
      ts.push(step(n));
      await rec.sync(ts[n], 100 + n);
    }
    for (const [a, b] of [[100, 107], [101, 106], [103, 104], [106, 102], [105, 105]]) {
      const r = await diffSerials(store, { serial: a }, { serial: b });
      assert.equal(r.method, "deltas");
      assert.deepEqual(plain(r.delta), plain(exactDiff(ts[a - 100], ts[b - 100])), `${a}→${b}`);
    }
    const r = await diffSerials(store, { serial: 101 }, { serial: 106 });
    assert.equal(r.filesRead, 5);
  });
});

Deno.test("diffSerials() follows serials across the wrap-around at 2^32 (RFC 1982)", async () => {
  await withStore(async (store) => {
    // All in the same second, so the file order comes from the serials alone.
    const rec = new Recorder(store);
    const serials = [4294967294, 4294967295, 0, 1, 2];
    const ts: PayloadTable[] = [];
    for (let i = 0; i < serials.length; i++) {
      ts.push(step(i));
      await rec.sync(ts[i], serials[i], { stepMs: 0 });
    }
    assert.deepEqual((await store.listSerials()).map((e) => e.serial), serials);
    const r = await diffSerials(store, { serial: 4294967294 }, { serial: 2 });
    assert.equal(r.method, "deltas");
    assert.deepEqual(plain(r.delta), plain(exactDiff(ts[0], ts[4])));
    const back = await diffSerials(store, { serial: 1 }, { serial: 4294967295 });
    assert.deepEqual(plain(back.delta), plain(exactDiff(ts[3], ts[1])));
  });
});

Deno.test("diffSerials() compares full tables across a reset in the middle", async () => {
  await withStore(async (store) => {
    const rec = new Recorder(store);
    const ts = [step(0), step(1), step(2), step(3), step(4)];
    await rec.sync(ts[0], 10);
    await rec.sync(ts[1], 11);
    await rec.sync(ts[2], 12);
    // The cache restarted: new session, full table, serials from 1 again.
    await rec.sync(ts[3], 1, { sessionId: 999, reset: true });
    await rec.sync(ts[4], 2, { sessionId: 999 });
    const r = await diffSerials(store, { serial: 11 }, { serial: 2 });
    assert.equal(r.method, "tables");
    assert.deepEqual(plain(r.delta), plain(exactDiff(ts[1], ts[4])));
    const within = await diffSerials(store, { serial: 1 }, { serial: 2 });
    assert.equal(within.method, "deltas");
    assert.deepEqual(plain(within.delta), plain(exactDiff(ts[3], ts[4])));
    // A Cache Reset in the same session: the reset file breaks the delta chain.
    await rec.sync(ts[0], 3, { sessionId: 999, reset: true });
    const over = await diffSerials(store, { serial: 2 }, { serial: 3 });
    assert.equal(over.method, "tables");
    assert.deepEqual(plain(over.delta), plain(exactDiff(ts[4], ts[0])));
    assert.deepEqual(
      [...(await tableAtSerial(store, { serial: 12 })).table.vrps],
      [...ts[2].vrps],
    );
  });
});

Deno.test("diffSerials() names the missing serial when the history has a gap", async () => {
  await withStore(async (store, dir) => {
    const rec = new Recorder(store);
    for (let n = 0; n < 5; n++) await rec.sync(step(n), 20 + n);
    const gone = serialFilePath(new Date(Date.UTC(2026, 6, 20, 10, 2)), 4660, 22);
    await Deno.remove(`${dir}/${gone}`);
    await assert.rejects(
      diffSerials(store, { serial: 20 }, { serial: 24 }),
      (e: unknown) =>
        e instanceof InputError &&
        e.message ===
          `History has a gap: serial 22 of session 4660 is missing from ${dir} (serial 23 was recorded as a delta from it)`,
    );
    // Serials on one side of the gap still compare.
    const ok = await diffSerials(store, { serial: 23 }, { serial: 24 });
    assert.deepEqual(plain(ok.delta), plain(exactDiff(step(3), step(4))));
  });
});

Deno.test("diffSerials() names an unknown serial and what the history holds", async () => {
  await withStore(async (store, dir) => {
    const rec = new Recorder(store);
    for (let n = 0; n < 3; n++) await rec.sync(step(n), 380 + n);
    await assert.rejects(
      diffSerials(store, { serial: 379 }, { serial: 381 }),
      (e: unknown) =>
        e instanceof InputError &&
        e.message ===
          `Serial 379 is not in the history: ${dir} holds serials 380 to 382 of session 4660`,
    );
    await assert.rejects(
      diffSerials(store, { serial: 380, sessionId: 1 }, { serial: 381 }),
      /Serial 380 of session 1 is not in the history/,
    );
  });
});

Deno.test("diffSerials() takes the later copy of a serial recorded twice", async () => {
  await withStore(async (store) => {
    const rec = new Recorder(store);
    await rec.sync(step(0), 1);
    await rec.sync(step(1), 2);
    // Recorded again after a restart (the state still said 1): same delta, later time.
    rec.prev = step(0);
    rec.prevSerial = 1;
    await rec.sync(step(1), 2);
    await rec.sync(step(2), 3);
    const r = await diffSerials(store, { serial: 1 }, { serial: 3 });
    assert.equal(r.method, "deltas");
    assert.deepEqual(plain(r.delta), plain(exactDiff(step(0), step(2))));
  });
});

Deno.test("diffSerials() reads the old client's layout: no session in the name, no markers", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await Deno.mkdir(`${dir}/2019-03`);
    const put = (name: string, doc: unknown) =>
      Deno.writeTextFile(`${dir}/2019-03/${name}`, JSON.stringify(doc, null, 2));
    await put("2019-03-01-000000.routes.00000133.json", {
      serial: 133,
      session_id: 4660,
      routes: {
        announce: [
          { ip: "1.0.0.0/24", asn: 13335 },
          { ip: "1.1.0.0/22", asn: 13335, maxlen: 24 },
        ],
        withdraw: [],
      },
    });
    await put("2019-03-01-001000.routes.00000134.json", {
      serial: 134,
      session_id: 4660,
      routes: {
        announce: [{ ip: "2001:db8::/32", asn: 64496 }],
        withdraw: [{ ip: "1.1.0.0/22", asn: 13335, maxlen: 24 }],
      },
    });
    await put("2019-03-01-002000.routes.00000136.json", {
      serial: 136,
      session_id: 4660,
      routes: { announce: [{ ip: "1.1.0.0/22", asn: 13335 }], withdraw: [] },
    });
    const store = await HistoryStore.open(dir);
    const r = await diffSerials(store, { serial: 133 }, { serial: 136 });
    assert.equal(r.method, "deltas");
    assert.deepEqual([...r.delta.vrps.announced].map((v) => `${v.prefix} ${v.maxLength}`), [
      "1.1.0.0/22 22",
      "2001:db8::/32 32",
    ]);
    assert.deepEqual([...r.delta.vrps.withdrawn].map((v) => `${v.prefix} ${v.maxLength}`), [
      "1.1.0.0/22 24",
    ]);
    const t = await tableAtSerial(store, { serial: 134 });
    assert.equal(t.table.vrps.size, 2);
  } finally {
    await cleanup();
  }
});
