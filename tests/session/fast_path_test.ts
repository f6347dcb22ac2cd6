import { assertEquals as eq } from "../helpers/assert.ts";
import { ClientSession, type SessionEvent } from "../../lib/session/mod.ts";
import { DecodeError } from "../../lib/errors.ts";
import { encodePdus, type Pdu, PduFramer } from "../../lib/wire/mod.ts";
import { Prng } from "../helpers/prng.ts";

/** Feed `bytes` to a fresh session, with or without the framer's prefix fast path. */
function run(bytes: Uint8Array, fast: boolean, version: number): SessionEvent[] {
  const s = new ClientSession({ version });
  s.query();
  const f = new PduFramer();
  if (fast) f.prefixHook = (b, v, o) => s.stagePrefixBytes(b, v, o);
  const evs: SessionEvent[] = [];
  try {
    for (let off = 0; off < bytes.length; off += 97) {
      f.push(bytes.subarray(off, off + 97), (p: Pdu) => {
        const e = s.receive(p);
        if (e.kind !== "none") evs.push(e);
      });
    }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    evs.push(s.decodeFailed(e));
  }
  return evs;
}

/** Comparable form of events: tables as text. */
function view(evs: SessionEvent[]) {
  return evs.map((e) => {
    if (e.kind === "commit") {
      const r = e.result;
      return {
        kind: e.kind,
        vrps: [...r.table.vrps].map((v) => `${v.prefix} ${v.maxLength} ${v.asn}`),
        announced: r.announced,
        withdrawn: r.withdrawn,
        hostBits: r.hostBitsMasked,
      };
    }
    if (e.kind === "fatal") return { kind: e.kind, message: e.error.message, report: e.report };
    return { kind: e.kind };
  });
}

Deno.test("the prefix fast path stages exactly what the decoding path stages", () => {
  const rng = new Prng(11);
  const next = () => rng.u32() / 0x100000000;
  for (let round = 0; round < 200; round++) {
    const version = Math.floor(next() * 3);
    const pdus: Pdu[] = [{ type: 3, version, sessionId: 1 }];
    const n = 1 + Math.floor(next() * 40);
    for (let i = 0; i < n; i++) {
      const v6 = next() < 0.3;
      const max = v6 ? 128 : 32;
      const len = Math.floor(next() * (max + 1));
      // Mostly valid; sometimes a bad maxLength, a withdrawal, another version, host bits.
      const maxLength = next() < 0.05
        ? Math.max(0, len - 1)
        : Math.min(max, len + Math.floor(next() * 4));
      const word = () => Math.floor(next() * 2 ** 32) >>> 0;
      pdus.push({
        type: v6 ? 6 : 4,
        version: next() < 0.03 ? (version + 1) % 3 : version,
        flags: next() < 0.05 ? 0 : 1,
        prefixLength: len,
        maxLength,
        addr: v6 ? [word(), word(), word(), word()] : [word()],
        asn: Math.floor(next() * 70000),
      });
    }
    pdus.push(
      version === 0 ? { type: 7, version, sessionId: 1, serial: 1 } : {
        type: 7,
        version,
        sessionId: 1,
        serial: 1,
        refresh: 60,
        retry: 60,
        expire: 900,
      },
    );
    const bytes = encodePdus(pdus);
    eq(view(run(bytes, true, version)), view(run(bytes, false, version)), `round ${round}`);
  }
});
