/**
 * `rtr probe` in virtual time: the project's cache responder over in-memory connections, the
 * probe's deadlines on a FakeClock that moves only when nothing else can happen. A cache that
 * never answers fails every scenario at its deadline, and the whole probe ends within the
 * documented bound of virtual time; a stall in one scenario fails that one alone.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { fakeTable } from "../helpers/broken_cache.ts";
import { RtrCache } from "../../lib/cache/mod.ts";
import { memoryPair, type RtrConn } from "../../lib/transport.ts";
import {
  probeBoundMs,
  type ProbeOptions,
  runProbe,
  type ScenarioResult,
  SCENARIOS,
} from "../../lib/probe/mod.ts";
import { dump, failed, result } from "./helpers.ts";

/** Serve `cache` on one end of a memory pair; bytes matching `stall` are never answered. */
function serveMemory(cache: RtrCache, end: RtrConn, stall: (b: Uint8Array) => boolean): void {
  const conn = cache.connection();
  (async () => {
    const buf = new Uint8Array(65536);
    let stalled = false;
    while (true) {
      const n = await end.read(buf);
      if (n === null) break;
      const bytes = buf.slice(0, n);
      if (stalled || stall(bytes)) {
        stalled = true; // swallow everything from now on, answer nothing
        continue;
      }
      const out = conn.receive(bytes);
      for (const r of out.send) for (const c of r.chunks) await end.write(c.slice());
      if (out.close) break;
    }
    end.close();
  })();
}

/** Run the probe against an in-memory cache on `clock`, moving virtual time while it is idle. */
async function probeInMemory(
  stall: (b: Uint8Array) => boolean,
): Promise<{ results: ScenarioResult[]; elapsed: number; bound: number }> {
  const cache = new RtrCache({ sessionId: 9, sessionIds: [7, 8, 9] });
  cache.update(fakeTable());
  const clock = new FakeClock();
  const options: ProbeOptions = {
    dial: () => {
      const [router, cacheEnd] = memoryPair();
      serveMemory(cache, cacheEnd, stall);
      return Promise.resolve(router);
    },
    target: "memory",
    maxVersion: 2,
    timeoutMs: 2000,
    graceMs: 500,
    notifyTimeoutMs: 75_000,
    concurrency: 3,
    clock,
  };
  const start = clock.now();
  let done = false;
  const run = runProbe(options).finally(() => done = true);
  // Everything in memory settles within a macrotask turn; only then does virtual time move.
  while (!done) {
    await new Promise((r) => setTimeout(r, 0));
    clock.advance(100);
  }
  return {
    results: await run,
    elapsed: clock.now() - start,
    bound: probeBoundMs(options, SCENARIOS),
  };
}

Deno.test("probe in virtual time: a conforming in-memory cache passes, in far less than the bound", async () => {
  const { results, elapsed, bound } = await probeInMemory(() => false);
  eq(failed(results), [], dump(results));
  // Only the silences the scenarios wait for (an Error Report not answered) cost time.
  assertOk(elapsed < bound / 10, `${elapsed} of ${bound}`);
});

Deno.test("probe in virtual time: a cache that never answers fails every scenario within the bound", async () => {
  const { results, elapsed, bound } = await probeInMemory(() => true);
  eq(results.filter((r) => r.status !== "fail").map((r) => r.id), ["notify"]);
  for (const r of results.filter((r) => r.status === "fail")) {
    assertOk(/no answer before the scenario's time ran out/.test(r.detail), `${r.id}: ${r.detail}`);
  }
  assertOk(elapsed <= bound, `${elapsed} > ${bound}`);
});

Deno.test("probe in virtual time: a stall in one scenario fails it at its deadline, the rest pass", async () => {
  // A Serial Query far in the future (serial-future) is never answered.
  const { results, elapsed, bound } = await probeInMemory((b) => b[1] === 1 && (b[8] & 0x80) !== 0);
  eq(failed(results), ["serial-future"], dump(results));
  assertOk(
    /^v0: Serial Query at serial 2147483648 .*no answer before the scenario's time ran out$/.test(
      result(results, "serial-future").detail,
    ),
    result(results, "serial-future").detail,
  );
  assertOk(elapsed <= bound && elapsed >= 1900, `${elapsed}`);
});
