/**
 * Serial Query scenarios (RFC 6810 §5.3, §6.2–§6.3; RFC 8210 §5.3, §8.2–§8.3; 8210bis §5.3,
 * §8.2–§8.3; serial arithmetic RFC 1982 with SERIAL_BITS 32): after a Reset Query on the same
 * connection, a Serial Query at the current serial, at an older one, with another session id
 * and far in the future.
 */
import { serialAdd } from "../serial.ts";
import type { ProbeConn } from "./probe_conn.ts";
import {
  answerBytes,
  classify,
  describeAnswer,
  describePdu,
  fail,
  type Outcome,
  pass,
  perVersion,
  type ProbeContext,
  type Reply,
  type Scenario,
} from "./scenario.ts";

/** Reset Query at `v`, then a Serial Query built from the session and serial it gave. */
async function afterReset(
  ctx: ProbeContext,
  v: number,
  query: (sessionId: number, serial: number) => { sessionId: number; serial: number },
  judge: (
    r: Reply,
    at: { sessionId: number; serial: number; asked: { sessionId: number; serial: number } },
    conn: ProbeConn,
  ) => Promise<Outcome> | Outcome,
): Promise<Outcome> {
  const { conn, response } = await ctx.reset(v, "skim");
  const at = { sessionId: response.sessionId, serial: response.endOfData.serial };
  const asked = query(at.sessionId, at.serial);
  await conn.send({ type: 1, version: v, ...asked });
  const answer = await conn.answer();
  return await judge(classify(answer), { ...at, asked }, conn);
}

/** Serial Query scenarios, in run order. */
export const SERIAL_SCENARIOS: Scenario[] = [
  {
    id: "serial-current",
    group: "serial",
    section: "RFC 8210 §5.3, §8.2; 8210bis §5.3, §8.2",
    sends: "Reset Query, then Serial Query with the session id and serial of its End of Data",
    passes: "Cache Response with that session id, no payload, End of Data with the same " +
      "session id and serial",
    run: (ctx) =>
      perVersion(
        ctx,
        () => true,
        (v) =>
          afterReset(ctx, v, (sessionId, serial) => ({ sessionId, serial }), (r, at) => {
            if (r.kind !== "response") {
              return fail(
                `Serial Query at the current serial ${at.serial} got ${describeAnswer(r.answer)}`,
                answerBytes(r.answer),
              );
            }
            const res = r.response;
            const head = res.answer.frames[0];
            if (res.sessionId !== at.sessionId) {
              return fail(
                `Cache Response session id ${res.sessionId}, expected ${at.sessionId} (the session queried)`,
                head.raw,
              );
            }
            if (res.endOfData.sessionId !== at.sessionId) {
              return fail(
                `End of Data session id ${res.endOfData.sessionId}, expected ${at.sessionId}`,
                res.endRaw,
              );
            }
            if (res.payload.length > 0) {
              return fail(
                `${res.payload.length} payload PDUs in the delta from the current serial`,
                res.payload.slice(0, 4).map((f) => f.raw),
              );
            }
            if (res.endOfData.serial !== at.serial) {
              return fail(
                `End of Data serial ${res.endOfData.serial}, expected ${at.serial}`,
                res.endRaw,
              );
            }
            return pass(`empty delta, End of Data serial ${at.serial}`);
          }),
      ),
  },
  {
    id: "serial-old",
    group: "serial",
    section: "RFC 8210 §8.2, §8.3; 8210bis §8.2, §8.3",
    sends: "Reset Query, then Serial Query at its serial − 1",
    passes: "a delta (Cache Response with the session id … End of Data) or Cache Reset",
    run: (ctx) =>
      perVersion(ctx, () => true, (v) =>
        afterReset(
          ctx,
          v,
          (sessionId, serial) => ({ sessionId, serial: (serial - 1) >>> 0 }),
          (r, at) => {
            if (r.kind === "cache-reset") return pass(`serial ${at.asked.serial}: Cache Reset`);
            if (r.kind === "response") {
              const res = r.response;
              if (res.sessionId !== at.sessionId || res.endOfData.sessionId !== at.sessionId) {
                return fail(
                  `delta with session id ${res.sessionId}/${res.endOfData.sessionId}, expected ${at.sessionId}`,
                  [res.answer.frames[0].raw, res.endRaw],
                );
              }
              return pass(
                `serial ${at.asked.serial}: delta of ${res.payload.length} PDUs to serial ${res.endOfData.serial}`,
              );
            }
            return fail(
              `Serial Query at serial ${at.asked.serial} got ${describeAnswer(r.answer)}`,
              answerBytes(r.answer),
            );
          },
        )),
  },
  {
    id: "serial-session",
    group: "serial",
    section: "RFC 6810 §5.1, §6.3; RFC 8210 §5.1, §8.3; 8210bis §5.1, §8.3",
    sends: "Reset Query, then Serial Query at its serial with another session id",
    passes: "Error Report code 0 (Corrupt Data) and a close, as §5.1 of every version says, " +
      "or Cache Reset (a cache may always decline a delta); never a delta",
    run: (ctx) =>
      perVersion(ctx, () => true, (v) =>
        afterReset(
          ctx,
          v,
          (sessionId, serial) => ({ sessionId: (sessionId ^ 0x8000) & 0xffff, serial }),
          async (r, at, conn) => {
            if (r.kind === "cache-reset") {
              return pass(`session ${at.asked.sessionId}: Cache Reset`);
            }
            if (r.kind === "error" && r.pdu.errorCode === 0) {
              const c = await conn.untilClosed(ctx.options.graceMs);
              if (!c.closed) {
                return fail(`${describePdu(r.pdu)} but the connection stayed open`, r.raw);
              }
              return pass(`session ${at.asked.sessionId}: ${describePdu(r.pdu)}, then a close`);
            }
            return fail(
              `Serial Query with session id ${at.asked.sessionId} (the cache's is ${at.sessionId}) got ${
                describeAnswer(r.answer)
              }`,
              answerBytes(r.answer),
            );
          },
        )),
  },
  {
    id: "serial-future",
    group: "serial",
    section: "RFC 1982 §3.2; RFC 8210 §8.3; 8210bis §8.3",
    sends: "Reset Query, then Serial Query at serial + 2^31 − 1 (ahead by RFC 1982), then at " +
      "serial + 2^31 (no order by RFC 1982)",
    passes: "Cache Reset to both",
    run: (ctx) =>
      perVersion(ctx, () => true, async (v) => {
        const { conn, response } = await ctx.reset(v, "skim");
        const sessionId = response.sessionId, base = response.endOfData.serial;
        const seen: string[] = [];
        for (const d of [0x7fffffff, 0x80000000]) {
          const serial = d === 0x80000000 ? (base ^ 0x80000000) >>> 0 : serialAdd(base, d);
          await conn.send({ type: 1, version: v, sessionId, serial });
          const answer = await conn.answer();
          const r = classify(answer);
          if (r.kind !== "cache-reset") {
            return fail(
              `Serial Query at serial ${serial} (current ${base} + ${d}) got ${
                describeAnswer(answer)
              }`,
              answerBytes(answer),
            );
          }
          seen.push(`${serial}: Cache Reset`);
        }
        return pass(seen.join(", "));
      }),
  },
];
