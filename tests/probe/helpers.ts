/**
 * Shared setup of the probe tests: probe options against 127.0.0.1:PORT with small bounds
 * (reads end at a deadline; no test asserts wall time), and the failing ids of a run.
 */
import { systemClock } from "../../lib/clock.ts";
import { fromDenoConn } from "../../lib/transport.ts";
import {
  type ProbeOptions,
  runProbe,
  type ScenarioResult,
  selectScenarios,
} from "../../lib/probe/mod.ts";

/** Options for a probe of 127.0.0.1:port; `over` replaces any of them. */
export function probeOptions(port: number, over: Partial<ProbeOptions> = {}): ProbeOptions {
  return {
    dial: async () => fromDenoConn(await Deno.connect({ hostname: "127.0.0.1", port })),
    target: `127.0.0.1:${port}`,
    maxVersion: 2,
    timeoutMs: 8000,
    graceMs: 500,
    notifyTimeoutMs: 10000,
    concurrency: 3,
    clock: systemClock,
    ...over,
  };
}

/** Run the probe (every scenario, or `only`) and return the results. */
export function probe(
  port: number,
  over: Partial<ProbeOptions> = {},
  only?: string[],
): Promise<ScenarioResult[]> {
  return runProbe(probeOptions(port, over), selectScenarios(only));
}

/** Ids of the failed scenarios, in order. */
export function failed(results: ScenarioResult[]): string[] {
  return results.filter((r) => r.status === "fail").map((r) => r.id);
}

/** One result by id. */
export function result(results: ScenarioResult[], id: string): ScenarioResult {
  const r = results.find((x) => x.id === id);
  if (!r) throw new Error(`no result for ${id}`);
  return r;
}

/** A readable dump of results for assertion messages. */
export function dump(results: ScenarioResult[]): string {
  return results.map((r) => `${r.status} ${r.id}: ${r.detail}${r.hex ? ` [${r.hex}]` : ""}`)
    .join("\n");
}
