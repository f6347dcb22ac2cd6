/**
 * Serial Notify after a change (RFC 8210 §5.2, §8.2; 8210bis §5.2, §8.2): with `--change-cmd`,
 * a session that holds the current serial is told about the next one, at its own version and
 * session id, and a Serial Query from the old serial then returns the change.
 */
import { serialLt } from "../serial.ts";
import { describePdu, fail, notApplicable, pass, type Scenario } from "./scenario.ts";
import { answerBytes, classify, describeAnswer } from "./scenario.ts";

/** Notify scenarios, in run order (last: it changes the cache's data). */
export const NOTIFY_SCENARIOS: Scenario[] = [
  {
    id: "notify",
    group: "notify",
    section: "RFC 8210 §5.2, §8.2; 8210bis §5.2, §8.2",
    sends: "Reset Query at the highest shared version, runs --change-cmd, waits for Serial " +
      "Notify, then Serial Query from the first serial",
    passes: "a Serial Notify with the session's version and id and a later serial (RFC 1982), " +
      "then a delta ending at that serial or later that holds the change (a Notify whose " +
      "delta is empty is noted and the wait goes on); not applicable without --change-cmd",
    extraMs: (o) => o.change ? o.notifyTimeoutMs : 0,
    async run(ctx) {
      const change = ctx.options.change;
      if (!change) return notApplicable("no --change-cmd given");
      const vs = await ctx.versions();
      if (vs.length === 0) return notApplicable("no version the probe and the cache share");
      const v = vs[vs.length - 1];
      const { conn, response } = await ctx.reset(v, "skim");
      const sessionId = response.sessionId, serial = response.endOfData.serial;
      const done = await change();
      if (!done.ok) return fail(`--change-cmd failed: ${done.detail}`);
      // Wait for the Notify; anything else arriving meanwhile is a failure of this session. A
      // Notify whose delta turns out empty (a cache that bumps its serial on every reload, before
      // it read the change) is noted and the wait goes on.
      let held = serial;
      const empty: string[] = [];
      while (true) {
        // A Notify that arrived while a delta was read was set aside: take it first.
        const f = conn.notifies.shift() ?? await conn.next(undefined, true);
        if (typeof f === "string") {
          const also = empty.length > 0 ? ` (only empty deltas: ${empty.join(", ")})` : "";
          return fail(
            f === "timeout"
              ? `no Serial Notify with a change within ${
                ctx.options.notifyTimeoutMs / 1000
              } s of the change${also}`
              : `no Serial Notify: ${
                f === "closed" ? "the cache closed the connection" : f
              }${also}`,
          );
        }
        if (f.pdu?.type !== 0) {
          return fail(
            `unexpected ${describeAnswer({ frames: [f], end: "pdu", skipped: 0 })} while idle`,
            f.raw,
          );
        }
        const n = f.pdu;
        if (n.version !== v || n.sessionId !== sessionId) {
          return fail(
            `${describePdu(n)} in a version ${v} session with id ${sessionId}`,
            f.raw,
          );
        }
        if (n.serial === held) continue; // a Notify for what we hold: keep waiting
        if (!serialLt(held, n.serial)) {
          return fail(`${describePdu(n)}: serial not after ${held}`, f.raw);
        }
        await conn.send({ type: 1, version: v, sessionId, serial });
        const answer = await conn.answer();
        const r = classify(answer);
        if (r.kind !== "response") {
          return fail(
            `Serial Query from ${serial} after ${describePdu(n)} got ${describeAnswer(answer)}`,
            answerBytes(answer),
          );
        }
        const eod = r.response.endOfData;
        if (serialLt(eod.serial, n.serial)) {
          return fail(
            `delta ends at serial ${eod.serial}, before the notified ${n.serial}`,
            r.response.endRaw,
          );
        }
        if (r.response.payload.length === 0) {
          empty.push(`${serial} → ${eod.serial}`);
          held = eod.serial;
          continue;
        }
        return pass(
          `${describePdu(n)}; delta ${serial} → ${eod.serial} of ${r.response.payload.length} PDUs`,
        );
      }
    },
  },
];
