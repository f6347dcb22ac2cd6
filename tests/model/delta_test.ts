import assert from "node:assert/strict";
import fc from "fast-check";
import { diffTables, type PayloadTable, type TableDiff } from "../../lib/model/mod.ts";
import {
  applyDelta,
  composeDeltas,
  emptyDelta,
  exactDiff,
  exactFromNet,
  invertDelta,
  netDiff,
} from "../../lib/model/delta.ts";
import { key, table, type V } from "../store/fixtures.ts";

/** A small universe, so that random tables overlap a lot. */
const UNIVERSE_VRPS: V[] = [
  ["192.0.2.0/24", 24, 64496],
  ["192.0.2.0/24", 24, 64497],
  ["192.0.2.0/23", 24, 64496],
  ["198.51.100.0/22", 24, 64496],
  ["2001:db8::/32", 48, 64496],
  ["2001:db8::/32", 32, 64496],
  ["2001:db8:1::/48", 48, 64499],
];
const UNIVERSE_KEYS = [key(64498, 1), key(64498, 2), key(64499, 1)];
const PROVIDER_SETS = [[64501], [64501, 64502], [64503]];

const tableArb = fc.record({
  vrps: fc.subarray(UNIVERSE_VRPS),
  keys: fc.subarray(UNIVERSE_KEYS),
  aspas: fc.array(fc.option(fc.constantFrom(...PROVIDER_SETS), { nil: undefined }), {
    minLength: 3,
    maxLength: 3,
  }),
}).map(({ vrps, keys, aspas }) =>
  table(
    vrps,
    keys,
    aspas.flatMap((p, i) => p ? [{ customer: 64510 + i, providers: p }] : []),
  )
);

function plain(t: PayloadTable) {
  return { vrps: [...t.vrps], keys: t.routerKeys, aspas: t.aspas };
}

function plainDiff(d: TableDiff) {
  const sortA = (x: { customer: number; providers: number[] }[]) =>
    [...x].sort((a, b) =>
      a.customer - b.customer || a.providers.join().localeCompare(b.providers.join())
    );
  return {
    va: [...d.vrps.announced],
    vw: [...d.vrps.withdrawn],
    ka: d.routerKeys.announced.map((k) => k.ski + k.asn).sort(),
    kw: d.routerKeys.withdrawn.map((k) => k.ski + k.asn).sort(),
    aa: sortA(d.aspas.announced),
    aw: sortA(d.aspas.withdrawn),
  };
}

Deno.test("composeDeltas() of consecutive exact deltas equals the diff of the end tables", () => {
  fc.assert(
    fc.property(fc.array(tableArb, { minLength: 2, maxLength: 8 }), (ts) => {
      let d = emptyDelta();
      for (let i = 1; i < ts.length; i++) d = composeDeltas(d, exactDiff(ts[i - 1], ts[i]));
      const direct = exactDiff(ts[0], ts[ts.length - 1]);
      assert.deepEqual(plainDiff(d), plainDiff(direct));
      assert.deepEqual(plain(applyDelta(ts[0], d)), plain(ts[ts.length - 1]));
      assert.deepEqual(plain(applyDelta(ts[ts.length - 1], invertDelta(d))), plain(ts[0]));
    }),
    { numRuns: 300, seed: 20260720 },
  );
});

Deno.test("exactFromNet() turns diffTables() into the exact delta; netDiff() turns it back", () => {
  fc.assert(
    fc.property(tableArb, tableArb, (a, b) => {
      const net = diffTables(a, b);
      const exact = exactFromNet(net, a.aspas);
      assert.deepEqual(plainDiff(exact), plainDiff(exactDiff(a, b)));
      assert.deepEqual(plainDiff(netDiff(exact)), plainDiff(net));
    }),
    { numRuns: 300, seed: 7 },
  );
});

Deno.test("a changed ASPA is withdrawn with its old providers and announced with the new", () => {
  const a = table([], [], [{ customer: 1, providers: [2] }, { customer: 5, providers: [6] }]);
  const b = table([], [], [{ customer: 1, providers: [2, 3] }]);
  const d = exactDiff(a, b);
  assert.deepEqual(d.aspas.announced, [{ customer: 1, providers: [2, 3] }]);
  assert.deepEqual(d.aspas.withdrawn, [
    { customer: 1, providers: [2] },
    { customer: 5, providers: [6] },
  ]);
  assert.deepEqual(netDiff(d).aspas.withdrawn, [{ customer: 5, providers: [6] }]);
});

Deno.test("router keys differing only in SKI case are the same key", () => {
  const k = key(64498, 0xabc);
  const a = table([], [k]);
  const b = table([], [{ ...k, ski: k.ski.toLowerCase() }]);
  const d = exactDiff(a, b);
  assert.equal(d.routerKeys.announced.length + d.routerKeys.withdrawn.length, 0);
});
