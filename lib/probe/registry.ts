/**
 * The fixed list of probe scenarios, in run order, and the runner: each scenario on its own
 * connections, each bounded by its deadline (a stalled cache fails that scenario and the next
 * one runs), results handed over as they complete.
 */
import type { TimerHandle } from "../clock.ts";
import { describeError, UsageError } from "../errors.ts";
import { hex } from "./probe_conn.ts";
import {
  type Outcome,
  ProbeContext,
  ProbeFailure,
  type ProbeOptions,
  type Scenario,
  type ScenarioResult,
  type SharedState,
} from "./scenario.ts";
import { VERSION_SCENARIOS } from "./version_scenarios.ts";
import { RESPONSE_SCENARIOS } from "./response_scenarios.ts";
import { SERIAL_SCENARIOS } from "./serial_scenarios.ts";
import { ERROR_SCENARIOS } from "./error_scenarios.ts";
import { SESSION_SCENARIOS } from "./session_scenarios.ts";
import { NOTIFY_SCENARIOS } from "./notify_scenarios.ts";

/** Every scenario, in the order they run (notify last: it changes the cache's data). */
export const SCENARIOS: readonly Scenario[] = [
  ...VERSION_SCENARIOS,
  ...RESPONSE_SCENARIOS,
  ...SERIAL_SCENARIOS,
  ...ERROR_SCENARIOS,
  ...SESSION_SCENARIOS,
  ...NOTIFY_SCENARIOS,
];

/** The scenarios named in `only` (ids, comma-separated or a list; a group name selects it). */
export function selectScenarios(only?: string[]): Scenario[] {
  if (!only || only.length === 0) return [...SCENARIOS];
  const want = new Set(only.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s));
  for (const w of want) {
    if (!SCENARIOS.some((s) => s.id === w || s.group === w)) {
      throw new UsageError(
        `Unknown scenario ${JSON.stringify(w)} (see 'rtr probe --list')`,
      );
    }
  }
  return SCENARIOS.filter((s) => want.has(s.id) || want.has(s.group));
}

/** The bound of the whole probe, ms: each scenario's bound, plus notify's wait, summed. */
export function probeBoundMs(o: ProbeOptions, scenarios: readonly Scenario[]): number {
  return scenarios.reduce((t, s) => t + o.timeoutMs + (s.extraMs?.(o) ?? 0), 0);
}

/** Run one scenario within its deadline; never throws. */
async function runOne(o: ProbeOptions, shared: SharedState, s: Scenario): Promise<Outcome> {
  const budget = o.timeoutMs + (s.extraMs?.(o) ?? 0);
  const ctx = new ProbeContext(o, shared, budget);
  let timer: TimerHandle | undefined;
  // Reads are bounded by the deadline already; this catches a write or a dial that hangs.
  const overrun = new Promise<Outcome>((resolve) => {
    timer = o.clock.setTimer(
      budget,
      () => resolve({ status: "fail", detail: `did not finish within ${budget / 1000} s` }),
    );
  });
  try {
    return await Promise.race([s.run(ctx), overrun]);
  } catch (e) {
    if (e instanceof ProbeFailure) {
      return e.bytes && e.bytes.length > 0
        ? { status: "fail", detail: e.message, hex: hex(e.bytes) }
        : { status: "fail", detail: e.message };
    }
    return { status: "fail", detail: describeError(e) };
  } finally {
    o.clock.clearTimer(timer);
    ctx.closeAll();
  }
}

/** Run `scenarios` one after the other; `onResult` sees each result as it completes. */
export async function runProbe(
  o: ProbeOptions,
  scenarios: readonly Scenario[] = SCENARIOS,
  onResult: (r: ScenarioResult) => void | Promise<void> = () => {},
): Promise<ScenarioResult[]> {
  const shared: SharedState = { refused: new Set() };
  const out: ScenarioResult[] = [];
  for (const s of scenarios) {
    const outcome = await runOne(o, shared, s);
    const r: ScenarioResult = { id: s.id, group: s.group, section: s.section, ...outcome };
    out.push(r);
    await onResult(r);
  }
  return out;
}
