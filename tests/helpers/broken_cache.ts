/**
 * A conforming fake cache with one chosen breakage, for `rtr probe` tests: the project's cache
 * responder (lib/cache, a session id per version) behind the scripted fake cache, its output
 * rewritten PDU by PDU for the breakage under test.
 */
import { RtrCache } from "../../lib/cache/mod.ts";
import { makeTable, toBase64, VrpSet } from "../../lib/model/mod.ts";
import { type FakeCache, type FakeConn, startFakeCache } from "./fake_cache.ts";

/** What the fake cache gets wrong (none: a conforming cache). */
export type Breakage =
  | "none"
  | "error4-version"
  | "unsorted"
  | "duplicate"
  | "timer"
  | "session"
  | "eod-length"
  | "uneven"
  | "stall"
  | "close";

/** The table every fake serves: IPv4 and IPv6 VRPs, a router key, two ASPA. */
export function fakeTable() {
  return makeTable(
    VrpSet.from([
      { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
      { prefix: "198.51.100.0/22", maxLength: 24, asn: 65536 },
      { prefix: "203.0.113.0/24", maxLength: 24, asn: 64499 },
      { prefix: "2001:db8::/32", maxLength: 48, asn: 64497 },
    ]),
    [{
      asn: 64498,
      ski: "510F485D29A29DB7B515F9C478F8ED3CB7AA7D23",
      pubkey: toBase64(new Uint8Array([0x30, 0x03, 1, 2, 3])),
    }],
    [{ customer: 64500, providers: [64501, 64502] }, { customer: 64510, providers: [64511] }],
  );
}

/** Split concatenated PDUs by their Length fields. */
function split(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off + 8 <= b.length) {
    const len = new DataView(b.buffer, b.byteOffset + off).getUint32(4);
    if (len < 8 || off + len > b.length) break;
    out.push(b.slice(off, off + len));
    off += len;
  }
  return out;
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Apply `breakage` to the PDUs answering `query` (the raw query PDU). */
function breakOutput(breakage: Breakage, query: Uint8Array, pdus: Uint8Array[]): Uint8Array[] {
  const qType = query[1];
  switch (breakage) {
    case "error4-version":
      for (const p of pdus) if (p[1] === 10 && p[3] === 4) p[0] = 0;
      return pdus;
    case "unsorted": {
      if (qType !== 2 || query[0] !== 2) return pdus;
      const i = pdus.findIndex((p) => p[1] === 4);
      if (i > 0 && pdus[i + 1]?.[1] === 4) [pdus[i], pdus[i + 1]] = [pdus[i + 1], pdus[i]];
      return pdus;
    }
    case "duplicate": {
      if (qType !== 2) return pdus;
      const i = pdus.findIndex((p) => p[1] === 4);
      if (i > 0) pdus.splice(i + 1, 0, pdus[i].slice());
      return pdus;
    }
    case "timer":
      for (const p of pdus) {
        if (p[1] === 7 && p.length === 24) new DataView(p.buffer).setUint32(12, 0);
      }
      return pdus;
    case "eod-length":
      return pdus.map((p) => {
        if (p[1] !== 7 || p.length !== 24) return p;
        const short = p.slice(0, 12);
        short[7] = 12;
        return short;
      });
    case "session":
      if (qType === 1) { for (const p of pdus) if (p[1] === 3) p[3] ^= 0x10; }
      return pdus;
    default:
      return pdus;
  }
}

/** Start a fake cache (versions 0 to 2) with `breakage`. */
export function startBrokenCache(breakage: Breakage = "none"): FakeCache {
  const cache = new RtrCache({ sessionId: 0x1232, sessionIds: [0x1230, 0x1231, 0x1232] });
  cache.update(fakeTable());
  return startFakeCache(async (c: FakeConn, index: number) => {
    const conn = cache.connection();
    while (true) {
      const chunk = await c.readChunk(30000);
      if (chunk === null) return;
      const queries = split(chunk);
      const query = queries[0] ?? chunk;
      if (breakage === "stall" && query[1] === 1 && (query[8] & 0x80) !== 0) {
        await c.readChunk(30000).catch(() => null); // a far-future serial: never answer
        return;
      }
      const out = conn.receive(queries.length > 0 ? join(queries) : chunk);
      const bytes = join(out.send.flatMap((r) => [...r.chunks]));
      const pdus = split(bytes);
      if (breakage === "close" && query[1] === 1 && query[8] === 0 && query[11] === 1) {
        // Cache Response and 10 bytes of End of Data, then hang up mid-answer.
        await c.write(join([pdus[0], pdus[pdus.length - 1].slice(0, 10)]));
        return;
      }
      if (breakage === "uneven" && index % 3 === 1 && query[1] === 2) {
        // One connection in three misses its first IPv6 prefix: tables differ between routers.
        const i = pdus.findIndex((p) => p[1] === 6);
        if (i > 0) pdus.splice(i, 1);
      }
      await c.write(join(breakOutput(breakage, query, pdus)));
      if (out.close) return;
    }
  });
}
