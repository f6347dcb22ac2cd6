/**
 * `rtr probe` against a fake cache that is correct but for one deliberate breakage: each
 * breakage is reported by the scenario meant for it, and only by it; a cache that stalls or
 * hangs up mid-scenario fails that scenario with a clear reason while the rest still run.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import { type Breakage, startBrokenCache } from "../helpers/broken_cache.ts";
import { dump, failed, probe, result } from "./helpers.ts";

Deno.test("probe: a conforming fake cache passes every applicable scenario", async () => {
  const cache = startBrokenCache("none");
  try {
    const rs = await probe(cache.port);
    eq(failed(rs), [], dump(rs));
    eq(rs.filter((r) => r.status === "not-applicable").map((r) => r.id), ["notify"]);
    assertOk(rs.length >= 21);
  } finally {
    await cache.stop();
  }
});

const CASES: [Breakage, string, RegExp, string][] = [
  ["error4-version", "version-above", /stamped version 0, expected 2/, "000a0004"],
  [
    "unsorted",
    "reset-order",
    /v2: 203\.0\.113\.0\/24-24 AS64499 \(IPv4 Prefix\) after 198\.51\.100\.0\/22-24 AS65536/,
    "0204",
  ],
  ["duplicate", "reset-unique", /v0: 203\.0\.113\.0\/24-24 AS64499 announced twice/, "00040000"],
  ["timer", "reset-timers", /v1: End of Data refresh 0 outside 1\.\.86400/, "01071231"],
  [
    "uneven",
    "concurrent",
    /^connections 1 and [23] got different payloads \((7 and 6 PDUs; 1 only on 1, 0|6 and 7 PDUs; 0 only on 1, 1) only on [23]\)$/,
    "",
  ],
  [
    "eod-length",
    "reset-response",
    /^v1: Cannot decode End of Data PDU v1: length is 12, expected 24$/,
    "0107",
  ],
  [
    "session",
    "serial-current",
    /Cache Response session id \d+, expected \d+ \(the session queried\)/,
    "0003",
  ],
];

for (const [breakage, id, detail, hexStart] of CASES) {
  Deno.test(`probe: a cache with breakage ${breakage} fails ${id} and nothing else`, async () => {
    const cache = startBrokenCache(breakage);
    try {
      const rs = await probe(cache.port);
      eq(failed(rs), [id], dump(rs));
      const r = result(rs, id);
      assertOk(detail.test(r.detail), r.detail);
      if (hexStart) assertOk(r.hex !== undefined && r.hex.startsWith(hexStart), `${r.hex}`);
      else eq(r.hex, undefined);
    } finally {
      await cache.stop();
    }
  });
}

Deno.test("probe: a cache that stalls fails that scenario with the reason, the rest run", async () => {
  const cache = startBrokenCache("stall");
  try {
    const rs = await probe(cache.port, { timeoutMs: 3000, graceMs: 200 });
    eq(failed(rs), ["serial-future"], dump(rs));
    assertOk(
      /v0: Serial Query at serial 2147483648 .* no answer before the scenario's time ran out/
        .test(result(rs, "serial-future").detail),
      result(rs, "serial-future").detail,
    );
    // The scenarios after it ran and passed.
    eq(result(rs, "concurrent").status, "pass");
  } finally {
    await cache.stop();
  }
});

Deno.test("probe: a cache that hangs up mid-answer fails that scenario, the rest run", async () => {
  const cache = startBrokenCache("close");
  try {
    const rs = await probe(cache.port, { timeoutMs: 3000, graceMs: 200 });
    eq(failed(rs), ["serial-current"], dump(rs));
    const r = result(rs, "serial-current");
    eq(
      r.detail,
      "v0: Serial Query at the current serial 1 got Cache Response v0 session 4656, " +
        "undecodable PDU (The cache closed the connection inside a PDU: 10 of 12 bytes)",
    );
    eq(r.hex, "0003123000000008" + "000712300000000c0000");
  } finally {
    await cache.stop();
  }
});

Deno.test("probe: an unreachable cache fails every scenario with one clear reason", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const rs = await probe(port, { timeoutMs: 1000, graceMs: 100 }, ["version", "concurrent"]);
  eq(rs.map((r) => r.status), rs.map(() => "fail"));
  for (const r of rs) assertOk(/^Cannot connect: connection refused/.test(r.detail), r.detail);
});
