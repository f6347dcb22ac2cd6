/**
 * Session scenarios: session ids are per protocol version (8210bis §5.1), and one serial names
 * one state of the cache's data, so concurrent routers get the same table (RFC 8210 §5.1,
 * 8210bis §5.1, §10).
 */
import { hex } from "./probe_conn.ts";
import {
  fail,
  notApplicable,
  pass,
  ProbeFailure,
  type Response,
  type Scenario,
  VersionRefused,
} from "./scenario.ts";

/** A comparable digest of a response: session, serial and the sorted payload bytes. */
function digest(r: Response): { head: string; payload: string[] } {
  return {
    head: `session ${r.sessionId} serial ${r.endOfData.serial}`,
    payload: r.payload.map((f) => hex(f.raw, 1 << 16)).sort(),
  };
}

/** Session scenarios, in run order. */
export const SESSION_SCENARIOS: Scenario[] = [
  {
    id: "session-per-version",
    group: "session",
    section: "8210bis §5.1",
    sends: "Reset Query at each shared version, each on its own connection",
    passes: "the version 2 session id differs from the version 0 and 1 ones",
    async run(ctx) {
      const versions = await ctx.versions();
      if (!versions.includes(2) || versions.length < 2) {
        return notApplicable("needs version 2 and a lower version");
      }
      const ids = new Map<number, { id: number; raw: Uint8Array }>();
      for (const v of versions) {
        try {
          const { conn, response } = await ctx.reset(v);
          conn.close();
          ids.set(v, { id: response.sessionId, raw: response.answer.frames[0].raw });
        } catch (e) {
          if (!(e instanceof VersionRefused)) throw e;
        }
      }
      const v2 = ids.get(2);
      if (!v2 || ids.size < 2) return notApplicable("needs version 2 and a lower version");
      for (const [v, s] of ids) {
        if (v !== 2 && s.id === v2.id) {
          return fail(
            `version ${v} and version 2 sessions share session id ${s.id}`,
            [s.raw, v2.raw],
          );
        }
      }
      return pass([...ids].map(([v, s]) => `v${v}: session ${s.id}`).join(", "));
    },
  },
  {
    id: "concurrent",
    group: "session",
    section: "RFC 8210 §5.1; 8210bis §5.1, §10",
    sends: "Reset Query at the highest shared version on several connections at once",
    passes: "the same session id, serial and payload on every connection",
    async run(ctx) {
      const vs = await ctx.versions();
      if (vs.length === 0) return notApplicable("no version the probe and the cache share");
      const v = vs[vs.length - 1];
      const n = ctx.options.concurrency;
      const conns = await Promise.all(Array.from({ length: n }, () => ctx.open()));
      await Promise.all(conns.map((c) => c.send({ type: 2, version: v })));
      const results = await Promise.all(conns.map(async (c, i) => {
        const a = await c.answer();
        const first = a.frames[0], last = a.frames.at(-1);
        if (first?.pdu?.type !== 3 || last?.pdu?.type !== 7 || a.end !== "pdu") {
          throw new ProbeFailure(
            `connection ${i + 1} of ${n}: no complete response (${a.frames.length} PDUs, ${a.end})`,
            last?.raw,
          );
        }
        return digest({
          answer: a,
          sessionId: first.pdu.sessionId,
          version: first.pdu.version,
          payload: a.frames.slice(1, -1),
          endOfData: last.pdu,
          endRaw: last.raw,
        });
      }));
      const base = results[0];
      for (let i = 1; i < n; i++) {
        const r = results[i];
        if (r.head !== base.head) {
          return fail(`connection 1 got ${base.head}, connection ${i + 1} ${r.head}`);
        }
        const a = new Set(base.payload), b = new Set(r.payload);
        const only1 = base.payload.find((x) => !b.has(x));
        const only2 = r.payload.find((x) => !a.has(x));
        if (only1 !== undefined || only2 !== undefined || a.size !== b.size) {
          return fail(
            `connections 1 and ${
              i + 1
            } got different payloads (${base.payload.length} and ${r.payload.length} PDUs)`,
            [only1, only2].filter((x): x is string => x !== undefined).map(fromHex),
          );
        }
      }
      return pass(`${n} sessions at v${v}: ${base.head}, ${base.payload.length} payload PDUs each`);
    },
  },
];

function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
