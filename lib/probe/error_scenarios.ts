/**
 * Error scenarios (RFC 8210 §5.11, §12; 8210bis §5.11, §12): after a Reset Query at the highest
 * shared version, a PDU the cache must refuse gets the Error Report with the fitting code at the
 * session's version and a close; an Error Report sent to the cache is never answered with one.
 */
import { errorName } from "../wire/mod.ts";
import {
  answerBytes,
  describeAnswer,
  fail,
  notApplicable,
  type Outcome,
  pass,
  type ProbeContext,
  type Scenario,
} from "./scenario.ts";

/** The highest version the probe and the cache share, or null. */
async function topVersion(ctx: ProbeContext): Promise<number | null> {
  const vs = await ctx.versions();
  return vs.length > 0 ? vs[vs.length - 1] : null;
}

/** Open a session at the top version, send `bad(v, sessionId)`, expect one of `codes` and a close. */
async function expectError(
  ctx: ProbeContext,
  bad: (v: number, sessionId: number) => Uint8Array,
  codes: number[],
): Promise<Outcome> {
  const v = await topVersion(ctx);
  if (v === null) return notApplicable("no version the probe and the cache share");
  const { conn, response } = await ctx.reset(v, "skim");
  const bytes = bad(v, response.sessionId);
  await conn.send(bytes);
  const answer = await conn.answer();
  const f = answer.frames[0];
  const want = codes.map((c) => `${c} (${errorName(c)})`).join(" or ");
  if (!f || f.raw[1] !== 10 || !f.pdu || f.pdu.type !== 10) {
    return fail(
      `v${v}: sent ${bytes.length} bytes, got ${
        describeAnswer(answer)
      }, expected Error Report code ${want}`,
      answerBytes(answer),
    );
  }
  const e = f.pdu;
  if (!codes.includes(e.errorCode)) {
    return fail(`v${v}: got Error Report code ${e.errorCode}, expected ${want}`, f.raw);
  }
  if (e.version !== v) {
    return fail(
      `v${v}: Error Report stamped version ${e.version} in a version ${v} session`,
      f.raw,
    );
  }
  const c = await conn.untilClosed(ctx.options.graceMs);
  if (!c.closed) return fail(`v${v}: ${describeAnswer(answer)} but no close`, f.raw);
  return pass(`v${v}: ${describeAnswer(answer)}, then a close`);
}

/** Error scenarios, in run order. */
export const ERROR_SCENARIOS: Scenario[] = [
  {
    id: "error-length",
    group: "error",
    section: "RFC 8210 §5.11, §12; 8210bis §5.11, §12",
    sends: "after a Reset Query, a Reset Query whose Length says 12 (12 octets)",
    passes: "Error Report code 0 (Corrupt Data) at the session's version, then a close",
    run: (ctx) =>
      expectError(ctx, (v) => new Uint8Array([v, 2, 0, 0, 0, 0, 0, 12, 0, 0, 0, 0]), [0]),
  },
  {
    id: "error-type",
    group: "error",
    section: "RFC 8210 §5.11, §12; 8210bis §5.11, §12",
    sends: "after a Reset Query, a PDU of type 99 (never assigned), 8 octets",
    passes: "Error Report code 5 (Unsupported PDU Type) at the session's version, then a close",
    run: (ctx) => expectError(ctx, (v) => new Uint8Array([v, 99, 0, 0, 0, 0, 0, 8]), [5]),
  },
  {
    id: "error-direction",
    group: "error",
    section: "RFC 8210 §5.11, §12; 8210bis §5.11, §12",
    sends: "after a Reset Query, a Cache Response (a PDU only a cache sends)",
    passes: "Error Report code 3 (Invalid Request) or 5 (Unsupported PDU Type) at the " +
      "session's version, then a close",
    run: (ctx) =>
      expectError(
        ctx,
        (v, s) => new Uint8Array([v, 3, s >> 8, s & 0xff, 0, 0, 0, 8]),
        [3, 5],
      ),
  },
  {
    id: "error-report",
    group: "error",
    section: "RFC 8210 §5.11; 8210bis §5.11",
    sends: "after a Reset Query, an Error Report code 1 (Internal Error) with a text",
    passes: "no Error Report back (the cache may close)",
    async run(ctx) {
      const v = await topVersion(ctx);
      if (v === null) return notApplicable("no version the probe and the cache share");
      const { conn } = await ctx.reset(v, "skim");
      await conn.send({
        type: 10,
        version: v,
        errorCode: 1,
        pdu: new Uint8Array(0),
        text: "rtr probe: a test Error Report, do not answer",
      });
      const c = await conn.untilClosed(ctx.options.graceMs);
      const back = c.frames.find((f) => f.raw[1] === 10);
      if (back) {
        return fail(`v${v}: the cache answered an Error Report with one`, back.raw);
      }
      const others = c.frames.length > 0 ? `, ${c.frames.length} other PDUs` : "";
      return pass(`v${v}: no Error Report back${others}${c.closed ? ", the cache closed" : ""}`);
    },
  },
];
