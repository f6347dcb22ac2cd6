/**
 * Session scenarios: session ids are per protocol version (8210bis §5.1), and one session id
 * and serial name one state of the cache's data, so concurrent routers get the same table
 * (RFC 8210 §5.1, 8210bis §5.1).
 */
import {
  classify,
  describeAnswer,
  fail,
  notApplicable,
  pass,
  ProbeFailure,
  type Scenario,
  VersionRefused,
} from "./scenario.ts";

/** FNV-1a of `b`, 32 bits. */
function fnv(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** How many hashes of `a` are not matched in `b` (both sorted ascending; a multiset difference). */
function unmatched(a: Uint32Array, b: Uint32Array): number {
  let i = 0, j = 0, n = 0;
  while (i < a.length) {
    if (j >= b.length || a[i] < b[j]) {
      n++;
      i++;
    } else if (a[i] > b[j]) j++;
    else {
      i++;
      j++;
    }
  }
  return n;
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
      // Each table is kept as the sorted hashes of its PDUs: equal tables, equal lists.
      const results = await Promise.all(conns.map(async (c, i) => {
        const hashes: number[] = [];
        const a = await c.answer(undefined, "raw", (f) => hashes.push(fnv(f.raw)));
        const r = classify(a);
        if (r.kind !== "response") {
          throw new ProbeFailure(
            `connection ${i + 1} of ${n}: ${describeAnswer(a)}`,
            a.frames.at(-1)?.raw,
          );
        }
        const head = `session ${r.response.sessionId} serial ${r.response.endOfData.serial}`;
        return { head, hashes: Uint32Array.from(hashes).sort() };
      }));
      const base = results[0];
      for (let i = 1; i < n; i++) {
        const r = results[i];
        if (r.head !== base.head) {
          return fail(`connection 1 got ${base.head}, connection ${i + 1} ${r.head}`);
        }
        const only1 = unmatched(base.hashes, r.hashes), only2 = unmatched(r.hashes, base.hashes);
        if (only1 > 0 || only2 > 0) {
          return fail(
            `connections 1 and ${
              i + 1
            } got different payloads (${base.hashes.length} and ${r.hashes.length} PDUs; ${only1} only on 1, ${only2} only on ${
              i + 1
            })`,
          );
        }
      }
      const count = base.hashes.length;
      return pass(`${n} sessions at v${v}: ${base.head}, ${count} payload PDUs each`);
    },
  },
];
