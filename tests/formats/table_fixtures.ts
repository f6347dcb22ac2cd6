/** Shared test tables and an in-memory TextSink for the formats tests. */
import { TextSink } from "../../lib/cli/io.ts";
import { parseTableText } from "../../lib/formats/read.ts";
import type { PayloadTable } from "../../lib/model/mod.ts";

/** A real P-256 router key (base64 DER). */
export const KEY =
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhv5HEBGixUjKJTlenvcD1Axyi07rFdVY1KhN4vMPYy5y0Mx6zfaiEqJN27jK/l61xC36Vsaezd7eXAsZ1AEEsQ==";
/** Its SKI, upper case. */
export const SKI = "510F485D29A29DB7B515F9C478F8ED3CB7AA7D23";

/** A small table with IPv4, IPv6, maxLength ≠ length, a 32-bit ASN, a router key and ASPA. */
export function smallTable(): PayloadTable {
  return parseTableText(JSON.stringify({
    roas: [
      { asn: 64496, prefix: "2001:db8::/32", maxLength: 48 },
      { asn: 13335, prefix: "1.1.1.0/24", maxLength: 24 },
      { asn: 4200000000, prefix: "192.0.2.0/24", maxLength: 24 },
      { asn: 64496, prefix: "192.0.2.0/23", maxLength: 24 },
    ],
    bgpsec_keys: [{ asn: 64498, ski: SKI.toLowerCase(), pubkey: KEY }],
    aspas: [
      { customer_asid: 64500, providers: [64502, 64501] },
      { customer_asid: 15562, providers: [8283, 2914] },
    ],
  })).table;
}

/** A TextSink that collects text. */
export function memorySink(): { sink: TextSink; text: () => string } {
  const chunks: Uint8Array[] = [];
  const sink = new TextSink({
    write: (p) => {
      chunks.push(p.slice());
      return Promise.resolve(p.length);
    },
  }, 64);
  const dec = new TextDecoder();
  return { sink, text: () => chunks.map((c) => dec.decode(c, { stream: true })).join("") };
}
