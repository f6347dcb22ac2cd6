/**
 * Session scenarios: session ids are per protocol version (8210bis §5.1), and one session id
 * and serial name one state of the cache's data, so concurrent routers get the same table
 * (RFC 8210 §5.1, 8210bis §5.1).
 */
import { hex } from "./probe_conn.ts";
import {
  classify,
  describeAnswer,
  fail,
  notApplicable,
  pass,
  ProbeFailure,
  type Response,
  type Scenario,
  VersionRefused,
} from "./scenario.ts";

/** FNV-1a of `b`, 32 bits. */
function fnv(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/**
 * A digest of a response that does not depend on the payload's order: session, serial, count
 * and two order-free sums of the PDUs' hashes. Equal tables give equal digests.
 */
function digest(r: Response): { head: string; sum: string } {
  let add = 0, xor = 0;
  for (const f of r.payload) {
    const h = fnv(f.raw);
    add = (add + h) >>> 0;
    xor = (xor ^ Math.imul(h, 0x9e3779b1)) >>> 0;
  }
  return {
    head: `session ${r.sessionId} serial ${r.endOfData.serial}`,
    sum: `${r.payload.length}/${add}/${xor}`,
  };
}

/** The first PDU of `a` missing from `b` (by bytes), if any. */
function firstMissing(a: Response, b: Response): Uint8Array | undefined {
  const have = new Set(b.payload.map((f) => hex(f.raw, 1 << 16)));
  return a.payload.find((f) => !have.has(hex(f.raw, 1 << 16)))?.raw;
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
          const { conn, response } = await ctx.reset(v, "skim");
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
    section: "RFC 8210 §5.1; 8210bis §5.1",
    sends: "Reset Query at the highest shared version on several connections at once",
    passes: "the same session id, serial and payload on every connection",
    async run(ctx) {
      const vs = await ctx.versions();
      if (vs.length === 0) return notApplicable("no version the probe and the cache share");
      const v = vs[vs.length - 1];
      const n = ctx.options.concurrency;
      const conns = await Promise.all(Array.from({ length: n }, () => ctx.open()));
      await Promise.all(conns.map((c) => c.send({ type: 2, version: v })));
      const results = await Promise.all(conns.map(async (c, i): Promise<Response> => {
        const a = await c.answer(undefined, "raw");
        const r = classify(a);
        if (r.kind !== "response") {
          throw new ProbeFailure(
            `connection ${i + 1} of ${n}: ${describeAnswer(a)}`,
            a.frames.at(-1)?.raw,
          );
        }
        return r.response;
      }));
      const digests = results.map(digest);
      const base = digests[0];
      for (let i = 1; i < n; i++) {
        const d = digests[i];
        if (d.head !== base.head) {
          return fail(`connection 1 got ${base.head}, connection ${i + 1} ${d.head}`);
        }
        if (d.sum !== base.sum) {
          const a = results[0], b = results[i];
          const only = [firstMissing(a, b), firstMissing(b, a)].filter((x) => x !== undefined);
          return fail(
            `connections 1 and ${
              i + 1
            } got different payloads (${a.payload.length} and ${b.payload.length} PDUs)`,
            only,
          );
        }
      }
      const count = results[0].payload.length;
      return pass(`${n} sessions at v${v}: ${base.head}, ${count} payload PDUs each`);
    },
  },
];
