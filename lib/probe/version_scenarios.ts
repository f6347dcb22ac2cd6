/**
 * Version negotiation scenarios (RFC 6810 §7 has none; RFC 8210 §7; 8210bis §7): a Reset Query
 * at each version is answered at that version or refused with Error Report "Unsupported
 * Protocol Version"; a query above the cache's highest version gets that Error Report stamped
 * with the cache's own version; versions no RTR defines (3, 255) get an Error Report, not a
 * silent close.
 */
import { answerBytes, classify, describeAnswer, describePdu } from "./scenario.ts";
import { fail, notApplicable, type Outcome, pass, type ProbeContext } from "./scenario.ts";
import type { Scenario } from "./scenario.ts";
import type { Answer } from "./probe_conn.ts";

/** The header fields of an Error Report frame, read raw (its version may not decode). */
function rawError(a: Answer): { version: number; code: number; raw: Uint8Array } | null {
  const f = a.frames[0];
  if (!f || f.raw[1] !== 10 || f.raw.length < 8) return null;
  return { version: f.raw[0], code: (f.raw[2] << 8) | f.raw[3], raw: f.raw };
}

/** A Reset Query header at any version byte (3 and 255 included). */
function resetQueryAt(version: number): Uint8Array {
  return new Uint8Array([version, 2, 0, 0, 0, 0, 0, 8]);
}

function versionScenario(n: number): Scenario {
  return {
    id: `version-${n}`,
    group: "version",
    section: n === 0
      ? "RFC 6810 §5; 8210bis §7"
      : n === 1
      ? "RFC 8210 §7; 8210bis §7"
      : "8210bis §7",
    sends: `Reset Query at version ${n}`,
    passes: `Cache Response … End of Data at version ${n}, or (refused) Error Report code 4 ` +
      `and a close; not applicable above the cache's highest version`,
    async run(ctx) {
      if (n > ctx.options.maxVersion) {
        return notApplicable(`above --protocol ${ctx.options.maxVersion}`);
      }
      const top = await ctx.cacheVersion();
      if (n > top) return notApplicable(`above the cache's highest version ${top} (version-above)`);
      const { conn, answer } = await ctx.ask({ type: 2, version: n }, "skim");
      const r = classify(answer);
      if (r.kind === "response") {
        // The payload's versions are reset-response's to check.
        const res = r.response;
        const off = [res.answer.frames[0], res.answer.frames.at(-1)!]
          .find((f) => f.raw[0] !== n);
        if (off) {
          return fail(
            `answered a version ${n} query with a version ${off.raw[0]} PDU: ${
              describeAnswer(answer)
            }`,
            off.raw,
          );
        }
        return pass(`${describeAnswer(answer)}`);
      }
      const err = rawError(answer);
      if (err && err.code === 4 && answer.frames.length === 1) {
        ctx.refuse(n);
        const c = await conn.untilClosed(ctx.options.graceMs);
        return c.closed
          ? pass(`refused: ${describeAnswer(answer)}, then a close`)
          : fail(`refused with ${describeAnswer(answer)} but did not close`, err.raw);
      }
      return fail(describeAnswer(answer), answerBytes(answer));
    },
  };
}

/** Judge the answer to a query at a version the cache does not speak. */
async function unsupported(
  ctx: ProbeContext,
  q: number,
  stamp: number | null,
): Promise<Outcome> {
  const { conn, answer } = await ctx.ask(resetQueryAt(q), "skim");
  const first = answer.frames[0];
  if (first?.pdu?.type === 3) {
    if (first.pdu.version === q) {
      return notApplicable(
        `the cache speaks version ${q}: probe it with --protocol ${q} (${describePdu(first.pdu)})`,
      );
    }
    return fail(
      `answered a version ${q} query with ${
        describePdu(first.pdu)
      } instead of Error Report code 4 ` +
        `(RFC 8210 §7 let a cache answer at a lower version; 8210bis §7 does not)`,
      first.raw,
    );
  }
  const err = rawError(answer);
  if (!err) {
    return fail(
      `a version ${q} query got ${describeAnswer(answer)}, expected Error Report code 4`,
      answerBytes(answer),
    );
  }
  if (err.code !== 4) {
    return fail(
      `a version ${q} query got Error Report code ${err.code}, expected 4 (Unsupported Protocol Version)`,
      err.raw,
    );
  }
  if (stamp !== null && err.version !== stamp) {
    return fail(
      `Error Report code 4 stamped version ${err.version}, expected ${stamp} (the cache's highest)`,
      err.raw,
    );
  }
  const c = await conn.untilClosed(ctx.options.graceMs);
  return pass(
    `version ${q}: Error Report v${err.version} code 4${
      c.closed ? ", then a close" : " (left open)"
    }`,
  );
}

/** Version negotiation scenarios, in run order. */
export const VERSION_SCENARIOS: Scenario[] = [
  versionScenario(0),
  versionScenario(1),
  versionScenario(2),
  {
    id: "version-above",
    group: "version",
    section: "8210bis §7",
    sends: "Reset Query at the cache's highest version + 1 (3 for a version 2 cache)",
    passes: "Error Report code 4 (Unsupported Protocol Version) stamped with the cache's " +
      "highest version",
    async run(ctx) {
      const top = await ctx.cacheVersion();
      return await unsupported(ctx, top + 1, top);
    },
  },
  {
    id: "version-unknown",
    group: "version",
    section: "8210bis §7",
    sends: "Reset Query at version 3, then (a new connection) at version 255",
    passes: "each an Error Report code 4, not a silent close nor a response (the version it " +
      "carries is version-above's concern)",
    async run(ctx) {
      const parts: string[] = [];
      for (const q of [3, 255]) {
        const o = await unsupported(ctx, q, null);
        if (o.status !== "pass") return o;
        parts.push(o.detail);
      }
      return pass(parts.join("; "));
    },
  },
];
