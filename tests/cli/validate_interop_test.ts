/**
 * Acceptance: `rtr validate --format rov` gives the same answers as RTRlib's `rpki-rov` talking
 * RTR to StayRTR serving the same table: the same state for every route, and the same VRPs in
 * the explanation (RTRlib's order within one prefix follows the cache's, so those are compared
 * as sets).
 */
import assert from "node:assert/strict";
import { parsePrefix, topMask } from "../../lib/model/prefix.ts";
import { Prng } from "../helpers/prng.ts";
import {
  requirePeers,
  requireSharedData,
  runCommand,
  runRtr,
  SHARED,
  startStayRtr,
  stayRtrJson,
} from "../helpers/peers.ts";

interface Roa {
  prefix: string;
  maxLength: number;
  asn: number;
}

function fmt4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

function fmt6(a: number[]): string {
  const g: string[] = [];
  for (const w of a) g.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
  return g.join(":");
}

function mask(addr: number[], length: number): number[] {
  return addr.map((w, k) => {
    const bits = length - 32 * k;
    return bits <= 0 ? 0 : (w & topMask(bits)) >>> 0;
  });
}

/** A generated table: nested prefixes, several ASNs per prefix, AS0, IPv6, a /0-free mix. */
function generatedRoas(rng: Prng): Roa[] {
  const roas: Roa[] = [];
  for (let i = 0; i < 1500; i++) {
    const v6 = rng.int(0, 4) === 0;
    const len = v6 ? rng.int(16, 64) : rng.int(8, 24);
    const addr = v6
      ? mask([0x20010000 | rng.int(0, 15), rng.u32(), rng.u32(), rng.u32()], len)
      : mask([((rng.int(1, 40) << 24) | (rng.u32() & 0xffffff)) >>> 0], len);
    const text = `${v6 ? fmt6(addr) : fmt4(addr[0])}/${len}`;
    const max = Math.min(len + rng.int(0, 8), v6 ? 128 : 32);
    const asn = rng.int(0, 20) === 0 ? 0 : rng.int(64496, 64520);
    roas.push({ prefix: text, maxLength: max, asn });
    if (rng.int(0, 3) === 0) roas.push({ prefix: text, maxLength: len, asn: asn + 1 });
  }
  return roas;
}

/** Routes around the table: exact, more and less specific, wrong origins, AS0, uncovered. */
function routesFor(roas: Roa[], rng: Prng, count: number): string[] {
  const lines: string[] = [];
  while (lines.length < count) {
    const roa = roas[rng.int(0, roas.length - 1)];
    const p = parsePrefix(roa.prefix);
    const max = p.family === 4 ? 32 : 128;
    let len = p.length, asn = roa.asn;
    switch (rng.int(0, 7)) {
      case 0: // exact, own origin
        break;
      case 1: // more specific, up to two bits past maxLength
        len = Math.min(max, p.length + rng.int(1, Math.max(1, roa.maxLength - p.length + 2)));
        break;
      case 2: // less specific
        len = Math.max(0, p.length - rng.int(1, 4));
        break;
      case 3: // wrong origin
        asn = rng.int(1, 64495);
        break;
      case 4: // AS0 origin
        asn = 0;
        break;
      case 5: // uncovered space (IPv4 240/4 and IPv6 3fff::/16 are in no generated VRP)
        if (p.family === 4) {
          lines.push(`${fmt4(((0xf0 << 24) | (rng.u32() & 0xffffff)) >>> 0)} 24 ${asn}`);
        } else lines.push(`3fff:${rng.int(0, 0xffff).toString(16)}:: 32 ${asn}`);
        continue;
      case 6: // more specific with a neighbour's origin
        len = Math.min(max, p.length + rng.int(0, 3));
        asn = asn + 1;
        break;
      case 7: // host bits set in the route (RTRlib echoes them; validation ignores them)
        len = Math.min(max, p.length + rng.int(0, 2));
        break;
    }
    const addr = p.addr.slice();
    // Random bits under the route's length keep more-specifics inside the VRP.
    for (let k = 0; k < addr.length; k++) {
      const bits = p.length - 32 * k;
      const keep = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : topMask(bits);
      addr[k] = ((addr[k] & keep) | (rng.u32() & ~keep)) >>> 0;
    }
    const shown = rng.int(0, 7) === 7 ? addr : mask(addr, len);
    // rpki-rov reads the origin with strtol into an int: keep it below 2^31.
    if (asn >= 2 ** 31) continue;
    lines.push(`${p.family === 4 ? fmt4(shown[0]) : fmt6(shown)} ${len} ${asn}`);
  }
  return lines;
}

interface Answer {
  state: string;
  reasons: string[];
}

function parseAnswers(text: string): Map<string, Answer> {
  const out = new Map<string, Answer>();
  for (const line of text.split("\n")) {
    const m = /^(.+? \d+ -?\d+)\|(.*)\|(\d)$/.exec(line);
    if (!m) continue;
    out.set(m[1], { state: m[3], reasons: m[2] === "" ? [] : m[2].split(",").sort() });
  }
  return out;
}

async function compareWithRpkiRov(roas: Roa[], routes: string[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rtr-rov-" });
  const file = `${dir}/table.json`;
  await Deno.writeTextFile(file, stayRtrJson(roas));
  const stay = await startStayRtr(file);
  try {
    const input = routes.join("\n") + "\n";
    const [theirs, ours] = await Promise.all([
      runCommand("rpki-rov", ["127.0.0.1", String(stay.port)], {
        stdin: input,
        timeoutMs: 30000,
      }),
      runRtr(["validate", "--from", file, "--format", "rov"], { stdin: input, timeoutMs: 30000 }),
    ]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.ok(!theirs.timedOut, "rpki-rov timed out");
    const want = parseAnswers(theirs.stdout), got = parseAnswers(ours.stdout);
    assert.ok(want.size > routes.length * 0.8, `rpki-rov answered only ${want.size} lines`);
    const states = { "0": 0, "1": 0, "2": 0 } as Record<string, number>;
    let compared = 0;
    for (const [q, w] of want) {
      const g = got.get(q);
      assert.ok(g, `no answer from rtr for ${q}`);
      assert.equal(g.state, w.state, `state of ${q}`);
      assert.deepEqual(g.reasons, w.reasons, `VRPs explaining ${q}`);
      states[w.state]++;
      compared++;
    }
    // Every kind of answer was exercised.
    assert.ok(states["0"] > 100 && states["1"] > 100 && states["2"] > 100, JSON.stringify(states));
    assert.equal(ours.stdout.trim().split("\n").length, routes.length);
    assert.ok(compared > 0);
  } finally {
    await stay.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("rtr validate --format rov answers like rpki-rov via StayRTR on a generated table", async () => {
  if (!requirePeers("stayrtr", "rpki-rov")) return;
  const rng = new Prng(6811);
  const roas = generatedRoas(rng);
  await compareWithRpkiRov(roas, routesFor(roas, rng, 3000));
});

Deno.test("rtr validate --format rov answers like rpki-rov via StayRTR on a real 2017 table", async () => {
  if (!requirePeers("stayrtr", "rpki-rov") || !requireSharedData("vrps_2017_weekly")) return;
  const gz = await Deno.readFile(
    `${SHARED}data/vrps_2017_weekly/authenticated-2017-04-13T17:02:02Z.vrps.json.gz`,
  );
  const text = await new Response(
    new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).text();
  const roas = (JSON.parse(text).roas as Roa[]).map(({ prefix, maxLength, asn }) => ({
    prefix,
    maxLength,
    asn,
  }));
  await compareWithRpkiRov(roas, routesFor(roas, new Prng(9319), 4000));
});
