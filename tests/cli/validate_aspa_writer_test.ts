/**
 * The NDJSON writer of `validate --aspa` builds its records as bytes, a few pieces each; this
 * checks it against an independent rendering of the same verdicts with `JSON.stringify`, over
 * seeded random tables and routes (IPv4 and IPv6, prepends, AS_SETs, every neighbour role, ROV
 * lists of every shape), so a piece put in the wrong place cannot pass.
 */
import assert from "node:assert/strict";
import { Prng } from "../helpers/prng.ts";
import { AspaWriter } from "../../lib/cli/aspa_writer.ts";
import {
  ASPA_STATES,
  AspaIndex,
  checksNeighbour,
  DOWNSTREAM,
  HOP_RESULTS,
  NEIGHBOUR_ROLES,
  parsePathLine,
  type PathRoute,
  procedureOf,
  RovIndex,
} from "../../lib/rov/mod.ts";
import { formatPrefix } from "../../lib/model/prefix.ts";
import { VrpSet } from "../../lib/model/vrp_set.ts";
import type { Vrp } from "../../lib/model/types.ts";

/** The record `validate --aspa` promises (README "rtr validate"), built as an object. */
function expected(rov: RovIndex, aspa: AspaIndex, r: PathRoute, role: string): unknown {
  const v = rov.validate(r.route);
  const neighbourAs = r.neighbourAs;
  const e = aspa.explain(r.path, r.path.length, {
    procedure: procedureOf(role as never),
    neighbourAs: checksNeighbour(role as never) ? neighbourAs : -1,
    hasSet: r.hasSet,
  });
  const vrp = (i: number) => {
    const x = rov.vrp(i);
    return { prefix: x.prefix, maxLength: x.maxLength, asn: x.asn };
  };
  const down = e.procedure === DOWNSTREAM;
  const hops = [];
  for (let i = 0; i + 1 < e.n; i++) {
    const h: Record<string, unknown> = {
      from: e.seq[i],
      to: e.seq[i + 1],
      result: HOP_RESULTS[e.up[i]],
    };
    if (down) h.reverse = HOP_RESULTS[e.down[i]];
    hops.push(h);
  }
  const aspaPart: Record<string, unknown> = {
    state: ASPA_STATES[e.state],
    procedure: down ? "downstream" : "upstream",
    reason: e.reason,
    hops,
    maxUpRamp: e.maxUp,
    minUpRamp: e.minUp,
  };
  if (down) {
    aspaPart.maxDownRamp = e.maxDown;
    aspaPart.minDownRamp = e.minDown;
  }
  return {
    type: "validation",
    prefix: formatPrefix(r.route.family, r.route.addr, r.route.length),
    path: r.segments,
    asn: r.originKnown ? r.route.asn : null,
    neighbour: role,
    neighbourAs: neighbourAs >= 0 ? neighbourAs : null,
    rov: {
      state: v.state,
      reason: v.reason,
      matched: v.matched.map(vrp),
      unmatchedAs: v.unmatchedAs.map(vrp),
      unmatchedLength: v.unmatchedLength.map(vrp),
    },
    aspa: aspaPart,
  };
}

Deno.test("validate --aspa's byte-built NDJSON records equal the same verdicts through JSON.stringify", async () => {
  const rnd = new Prng(20261203);
  const asns = [0, 1, 64500, 64501, 64502, 64503, 64504, 65535, 65536, 4200000000, 4294967295];
  const as = () => asns[rnd.int(0, asns.length - 1)];
  const vrps: Vrp[] = [];
  for (let i = 0; i < 60; i++) {
    const v6 = rnd.int(0, 3) === 0;
    const len = v6 ? rnd.int(28, 48) : rnd.int(8, 24);
    vrps.push({
      prefix: v6
        ? `2001:db8:${rnd.int(0, 3).toString(16)}::/${len}`
        : `10.${rnd.int(0, 3)}.0.0/${len}`,
      maxLength: Math.min(v6 ? 128 : 32, len + rnd.int(0, 4)),
      asn: as(),
    });
  }
  const records = [];
  for (let i = 0; i < 8; i++) {
    const ps = Array.from({ length: rnd.int(1, 3) }, as);
    records.push({ customer: as(), providers: rnd.int(0, 5) === 0 ? [0] : ps });
  }
  const rov = new RovIndex(VrpSet.from(vrps));
  const aspa = new AspaIndex(records);
  let out = "";
  const dec = new TextDecoder();
  const sink = {
    write: (b: Uint8Array) => {
      out += dec.decode(b);
      return Promise.resolve(b.length);
    },
  };
  const lines: { text: string; role: string }[] = [];
  for (let n = 0; n < 3000; n++) {
    const v6 = rnd.int(0, 3) === 0;
    const len = v6 ? rnd.int(30, 64) : rnd.int(8, 32);
    const prefix = v6
      ? `2001:db8:${rnd.int(0, 3).toString(16)}::/${len}`
      : `10.${rnd.int(0, 3)}.0.0/${len}`;
    const segs: string[] = [];
    for (let k = rnd.int(0, 6); k > 0; k--) {
      if (rnd.int(0, 30) === 0) segs.push(`{${as()},${as()}}`);
      else {
        const a = as();
        segs.push(String(a));
        if (rnd.int(0, 6) === 0) segs.push(String(a)); // a prepend
      }
    }
    const role = NEIGHBOUR_ROLES[rnd.int(0, NEIGHBOUR_ROLES.length - 1)];
    const nas = rnd.int(0, 2) === 0
      ? ` neighbour-as=${rnd.int(0, 1) || !/^\d+$/.test(segs[0] ?? "") ? as() : segs[0]}`
      : "";
    lines.push({ text: `${prefix} ${segs.join(" ")} neighbour=${role}${nas}`, role });
  }
  const w = new AspaWriter(
    rov,
    aspa,
    { format: "ndjson", role: "customer", neighbourAs: -1 },
    sink,
  );
  const routes: PathRoute[] = [];
  for (const l of lines) {
    const r = parsePathLine(l.text);
    assert.ok(r !== null && typeof r !== "string", `${l.text}: ${r}`);
    routes.push(r);
    w.route(r);
    if (w.pending > 1 << 14) await w.flush();
  }
  await w.flush();
  const got = out.trimEnd().split("\n");
  assert.equal(got.length, lines.length);
  for (let i = 0; i < got.length; i++) {
    const want = expected(rov, aspa, routes[i], lines[i].role) as Record<string, unknown>;
    assert.equal(got[i], JSON.stringify(want), lines[i].text);
  }
});
