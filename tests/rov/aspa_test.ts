/**
 * AS_PATH verification (draft-ietf-sidrops-aspa-verification-19): the hop check, the upstream and
 * downstream procedures, the neighbour check and the explanation, in our own table-driven cases
 * (labelled "ours"), plus property tests against a brute-force reading of the draft's ramps. The
 * published cases of RTRlib, BIRD (with the draft authors' examples) and OpenBGPD are in
 * aspa_published_test.ts.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ASPA_INVALID,
  ASPA_STATES,
  AspaExplanation,
  AspaIndex,
  describeExplanation,
  DOWNSTREAM,
  HOP_NO_ATTESTATION,
  HOP_NOT_PROVIDER,
  HOP_PROVIDER,
  HOP_RESULTS,
  UPSTREAM,
} from "../../lib/rov/mod.ts";
import type { Aspa } from "../../lib/model/types.ts";

/** `{customer: [providers]}` to records (keys are ASNs). */
function records(o: Record<number, number[]>): Aspa[] {
  return Object.entries(o).map(([c, p]) => ({ customer: Number(c), providers: p }));
}

/** A path in BGP order from text (`64502 64501 64500`). */
function path(s: string): number[] {
  return s.trim() === "" ? [] : s.trim().split(/\s+/).map(Number);
}

function state(ix: AspaIndex, p: string, procedure: number, neighbourAs = -1): string {
  const a = path(p);
  const fast = ASPA_STATES[ix.verifyState(a, a.length, procedure, neighbourAs)];
  const e = ix.explain(a, a.length, { procedure, neighbourAs });
  assert.equal(ASPA_STATES[e.state], fast, `verifyState and explain disagree on ${p}`);
  return fast;
}

// One table for the hand-written cases (ours). Roles, from the origin up:
// 64500 -> 64501 -> {64502, 64503}; 64502 -> 64510; 64503 has no providers (AS0);
// 64504 has no ASPA; 64505 has two records, {64506} and {64507} (their union counts).
const TABLE = new AspaIndex(
  records({
    64500: [64501],
    64501: [64502, 64503],
    64502: [64510],
    64503: [0],
    64505: [64506],
    64530: [64520],
    64540: [64541],
    64541: [64549],
    64542: [64543],
    64543: [64550],
  }).concat([{ customer: 64505, providers: [64507] }]),
);

Deno.test("hop check: provider+, not provider+, no attestation; several records are one union; AS0 means no providers", () => {
  // ours (draft "Hop-Check Function")
  const cases: [number, number, number][] = [
    [64500, 64501, HOP_PROVIDER],
    [64500, 64502, HOP_NOT_PROVIDER],
    [64504, 64500, HOP_NO_ATTESTATION],
    [64505, 64506, HOP_PROVIDER],
    [64505, 64507, HOP_PROVIDER],
    [64505, 64508, HOP_NOT_PROVIDER],
    [64503, 64502, HOP_NOT_PROVIDER],
    [64503, 0, HOP_NOT_PROVIDER],
  ];
  for (const [c, p, want] of cases) {
    assert.equal(HOP_RESULTS[TABLE.hop(c, p)], HOP_RESULTS[want], `hop(${c}, ${p})`);
  }
  assert.deepEqual([...TABLE.providersOf(64505)!], [64506, 64507]);
  assert.deepEqual([...TABLE.providersOf(64503)!], []);
  assert.equal(TABLE.providersOf(64504), null);
  assert.deepEqual(TABLE.customersOf(64502), [64501]);
});

Deno.test("property: the hop check is set membership in the union of a customer's records, for every provider count and every 32-bit ASN", () => {
  // The index keeps up to two providers inside the hash entry and longer lists apart (searched
  // linearly up to 8, by halves beyond): every count, AS0 and ASNs past 2^31 must read alike.
  const asn = fc.oneof(
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 2 ** 31 - 3, max: 2 ** 31 + 3 }),
    fc.integer({ min: 2 ** 32 - 6, max: 2 ** 32 - 1 }),
  );
  const rec = fc.record({
    customer: asn,
    providers: fc.oneof(fc.constant([0]), fc.uniqueArray(asn, { maxLength: 14 })),
  });
  fc.assert(
    fc.property(fc.array(rec, { maxLength: 30 }), fc.array(fc.tuple(asn, asn)), (recs, probes) => {
      const ix = new AspaIndex(recs);
      const union = new Map<number, Set<number>>();
      for (const r of recs) {
        const s = union.get(r.customer) ?? new Set<number>();
        for (const q of r.providers) if (q !== 0) s.add(q);
        union.set(r.customer, s);
      }
      const all = [...union.keys()].flatMap((
        c,
      ) => [[c, 0], ...[...union.get(c)!].map((q) => [c, q])]);
      for (const [c, q] of [...probes, ...all]) {
        const s = union.get(c);
        const want = !s ? HOP_NO_ATTESTATION : s.has(q) ? HOP_PROVIDER : HOP_NOT_PROVIDER;
        assert.equal(HOP_RESULTS[ix.hop(c, q)], HOP_RESULTS[want], `hop(${c}, ${q})`);
        const ps = ix.providersOf(c);
        assert.deepEqual(ps && [...ps], s ? [...s].sort((x, y) => x - y) : null);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("upstream verification: valid, unknown and invalid paths (ours)", () => {
  const cases: [string, string, string][] = [
    ["one AS", "64500", "valid"],
    ["two ASes, attested", "64501 64500", "valid"],
    ["three ASes, attested", "64502 64501 64500", "valid"],
    ["four ASes, attested", "64510 64502 64501 64500", "valid"],
    ["prepends collapse", "64502 64502 64501 64500 64500 64500", "valid"],
    ["origin without ASPA", "64499 64504", "unknown"],
    ["an AS without ASPA above one that rejects it", "64498 64504 64501 64500", "invalid"],
    ["no attestation above an attested ramp", "64499 64510 64502 64501 64500", "unknown"],
    ["not provider+ at the origin", "64504 64500", "invalid"],
    ["not provider+ above no attestation", "64520 64500 64504", "invalid"],
    ["AS0 record: no providers at all", "64502 64503", "invalid"],
    ["union of two records", "64507 64505", "valid"],
    ["union of two records, other AS", "64508 64505", "invalid"],
    ["empty path", "", "invalid"],
    ["a loop keeps its hops", "64501 64500 64501 64500", "invalid"], // hop(64501, 64500) is nP+
  ];
  for (const [name, p, want] of cases) assert.equal(state(TABLE, p, UPSTREAM), want, name);
});

Deno.test("downstream verification: up-ramp, one lateral hop, down-ramp (ours)", () => {
  const cases: [string, string, string][] = [
    ["one AS", "64500", "valid"],
    ["two ASes, whatever they are", "64599 64598", "valid"],
    ["an up-ramp only", "64502 64501 64500", "valid"],
    ["a down-ramp only", "64501 64502 64510", "valid"],
    ["up, one lateral hop, down", "64530 64520 64501 64500", "valid"],
    ["up, lateral, down with an unattested top", "64531 64520 64501 64500", "unknown"],
    ["valley: two lateral hops", "64543 64542 64541 64540", "invalid"],
    ["an AS without ASPA between two rejecting ramps", "64543 64599 64541 64540", "invalid"],
    ["empty path", "", "invalid"],
  ];
  for (const [name, p, want] of cases) assert.equal(state(TABLE, p, DOWNSTREAM), want, name);
});

Deno.test("neighbour check: the path's most recent AS must be the neighbour's", () => {
  // ours (draft "AS_PATH Verification": the neighbour check precedes both procedures)
  assert.equal(state(TABLE, "64502 64501 64500", UPSTREAM, 64502), "valid");
  assert.equal(state(TABLE, "64502 64501 64500", UPSTREAM, 64503), "invalid");
  assert.equal(state(TABLE, "64502 64501 64500", DOWNSTREAM, 64503), "invalid");
  const e = TABLE.explain(path("64502 64501 64500"), 3, {
    procedure: UPSTREAM,
    neighbourAs: 64503,
  });
  assert.equal(e.reason, "neighbour");
  assert.equal(
    describeExplanation(e),
    "Invalid: the neighbour is AS64503 but the path's most recent AS is AS64502",
  );
});

Deno.test("explain() gives every hop, the ramps and the first failing hop in words", () => {
  const e = new AspaExplanation();
  const p = path("64504 64502 64501 64500");
  TABLE.explain(p, p.length, { procedure: UPSTREAM, neighbourAs: -1 }, e);
  assert.equal(ASPA_STATES[e.state], "invalid");
  assert.deepEqual([...e.seq.subarray(0, e.n)], [64500, 64501, 64502, 64504]);
  assert.deepEqual([...e.up.subarray(0, e.n - 1)].map((h) => HOP_RESULTS[h]), [
    "provider+",
    "provider+",
    "not-provider+",
  ]);
  assert.deepEqual([e.maxUp, e.minUp], [3, 3]);
  assert.equal(
    describeExplanation(e),
    "Invalid: AS64502 has an ASPA and AS64504 is not among its providers",
  );

  const q = path("64499 64504");
  TABLE.explain(q, q.length, { procedure: UPSTREAM, neighbourAs: -1 }, e);
  assert.equal(describeExplanation(e), "Unknown: AS64504 has no ASPA (is AS64499 its provider?)");

  const v = path("64543 64542 64541 64540");
  TABLE.explain(v, v.length, { procedure: DOWNSTREAM, neighbourAs: -1 }, e);
  assert.deepEqual([e.maxUp, e.minUp, e.maxDown, e.minDown], [2, 2, 1, 1]);
  assert.deepEqual([...e.down.subarray(0, 3)].map((h) => HOP_RESULTS[h]), [
    "not-provider+", // hop(64541, 64540)
    "not-provider+", // hop(64542, 64541)
    "not-provider+", // hop(64543, 64542)
  ]);
  assert.equal(
    describeExplanation(e),
    "Invalid: AS64541 has an ASPA and AS64542 is not among its providers; AS64543 has an ASPA and AS64542 is not among its providers (up-ramp at most 2 + down-ramp at most 1 < 4 ASes)",
  );

  TABLE.explain([64501, 64510], 2, { procedure: UPSTREAM, neighbourAs: -1, hasSet: true }, e);
  assert.equal(e.reason, "as-set");
  assert.equal(describeExplanation(e), "Invalid: the AS path holds an AS_SET");
});

/**
 * The draft's procedures read literally, by search over every ramp split: a path (collapsed,
 * origin first) is Valid when some up-ramp of length u and down-ramp of length v with u + v ≥ N
 * (u = N, v = 0 only for upstream) are proven by provider+ hops; Invalid when no split exists even
 * counting no-attestation hops as provider+; Unknown otherwise.
 */
function reference(t: Map<number, Set<number>>, bgp: number[], downstream: boolean): string {
  if (bgp.length === 0) return "invalid";
  const s: number[] = [];
  for (let i = bgp.length - 1; i >= 0; i--) {
    if (s.length === 0 || s.at(-1) !== bgp[i]) s.push(bgp[i]);
  }
  const n = s.length;
  const hop = (c: number, p: number) => !t.has(c) ? "na" : t.get(c)!.has(p) && p !== 0 ? "p" : "np";
  const fits = (ok: (h: string) => boolean) => {
    for (let u = 1; u <= n; u++) {
      for (let v = 0; v <= (downstream ? n : 0); v++) {
        if (u + v < n) continue;
        let good = true;
        for (let i = 0; i + 1 < u && good; i++) good = ok(hop(s[i], s[i + 1]));
        for (let j = n - v; j + 1 < n && good; j++) good = ok(hop(s[j + 1], s[j]));
        if (good) return true;
      }
    }
    return false;
  };
  if (!fits((h) => h !== "np")) return "invalid";
  return fits((h) => h === "p") ? "valid" : "unknown";
}

const asn = fc.integer({ min: 1, max: 12 }).map((x) => 64500 + x);

Deno.test("property: verifyState and explain agree with the draft's ramps searched by brute force", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(asn, fc.array(fc.oneof(asn, fc.constant(0)), { maxLength: 4 })), {
        maxLength: 10,
      }),
      fc.array(asn, { maxLength: 8 }),
      fc.boolean(),
      (recs, p, down) => {
        const t = new Map<number, Set<number>>();
        for (const [c, ps] of recs) {
          if (!t.has(c)) t.set(c, new Set());
          for (const x of ps) t.get(c)!.add(x);
        }
        const ix = new AspaIndex(recs.map(([customer, providers]) => ({ customer, providers })));
        const proc = down ? DOWNSTREAM : UPSTREAM;
        assert.equal(ASPA_STATES[ix.verifyState(p, p.length, proc, -1)], reference(t, p, down));
        assert.equal(
          ASPA_STATES[ix.explain(p, p.length, { procedure: proc, neighbourAs: -1 }).state],
          reference(t, p, down),
        );
      },
    ),
    { numRuns: 3000 },
  );
});

/** Distinct ASNs for a path of 1 … 10 ASes, origin first. */
const chain = fc.uniqueArray(fc.integer({ min: 1, max: 4_000_000_000 }), {
  minLength: 1,
  maxLength: 10,
});

Deno.test("property: a path of only provider+ hops is Valid upstream; one not-provider+ hop makes it Invalid", () => {
  fc.assert(
    fc.property(
      chain,
      fc.nat(),
      fc.array(fc.integer({ min: 1, max: 4_000_000_000 }), { maxLength: 3 }),
      (seq, pick, extra) => {
        // Every AS attests the next one up as a provider, among other providers.
        const recs: Aspa[] = seq.slice(0, -1).map((c, i) => ({
          customer: c,
          providers: [seq[i + 1], ...extra],
        }));
        const bgp = [...seq].reverse();
        assert.equal(
          ASPA_STATES[new AspaIndex(recs).verifyState(bgp, bgp.length, UPSTREAM, bgp[0])],
          "valid",
        );
        if (seq.length < 2) return;
        const i = pick % (seq.length - 1);
        const others = extra.filter((x) => x !== seq[i + 1]);
        recs[i] = { customer: seq[i], providers: others.length > 0 ? others : [0] };
        assert.equal(
          ASPA_STATES[new AspaIndex(recs).verifyState(bgp, bgp.length, UPSTREAM, bgp[0])],
          "invalid",
        );
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("property: an AS without ASPA is never what makes a path Invalid", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(asn, fc.array(asn, { maxLength: 4 })), { maxLength: 12 }),
      fc.array(asn, { minLength: 1, maxLength: 8 }),
      fc.nat(),
      fc.boolean(),
      (recs, p, pick, down) => {
        const proc = down ? DOWNSTREAM : UPSTREAM;
        const x = p[pick % p.length];
        const without = recs.filter(([c]) => c !== x).map(([customer, providers]) => ({
          customer,
          providers,
        }));
        const ix = new AspaIndex(without);
        const e = ix.explain(p, p.length, { procedure: proc, neighbourAs: -1 });
        for (let i = 0; i + 1 < e.n; i++) {
          if (e.seq[i] === x) assert.equal(e.up[i], HOP_NO_ATTESTATION);
        }
        // Attesting every one of x's hops instead (a record listing them all) never helps a path
        // out of Invalid: so x without a record did not make it Invalid.
        const all = new Set<number>();
        for (let i = 0; i < e.n; i++) {
          if (e.seq[i] === x) {
            if (i > 0) all.add(e.seq[i - 1]);
            if (i + 1 < e.n) all.add(e.seq[i + 1]);
          }
        }
        const withAll = new AspaIndex([...without, { customer: x, providers: [...all] }]);
        if (e.state === ASPA_INVALID) {
          assert.equal(ASPA_STATES[withAll.verifyState(p, p.length, proc, -1)], "invalid");
        }
      },
    ),
    { numRuns: 3000 },
  );
});
