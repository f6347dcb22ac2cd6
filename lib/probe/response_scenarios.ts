/**
 * Scenarios on the response to a Reset Query, at every version the probe and the cache share:
 * its shape (RFC 8210 §5, §8.1; 8210bis §5, §8.1), the End of Data timers (RFC 8210 §6,
 * 8210bis §6), duplicates (RFC 8210 §5.6, §5.7, §5.10; 8210bis §5.12), the version 2 order
 * (8210bis §11.2) and the ASPA PDU (8210bis §5.12). Each checks only its own rule, so one
 * broken property of a cache is reported once.
 */
import { formatPrefix, orderViolation, timerProblems } from "../model/mod.ts";
import { ErrorCode, type Pdu, pduName, typeInVersion } from "../wire/mod.ts";
import { type Frame, hex } from "./probe_conn.ts";
import {
  describeFrame,
  fail,
  notApplicable,
  type Outcome,
  pass,
  perVersion,
  type Scenario,
} from "./scenario.ts";

/** The identity of a payload record (RFC 8210 §5.6 ff.; legacy ASPA per customer and AFI). */
export function recordKey(p: Pdu): string | null {
  switch (p.type) {
    case 4:
    case 6:
      return `${
        formatPrefix(p.type === 4 ? 4 : 6, p.addr, p.prefixLength)
      }-${p.maxLength} AS${p.asn}`;
    case 9:
      return `router key AS${p.asn} SKI ${hex(p.ski, 20).toUpperCase()} key ${
        hex(p.spki, 1 << 16)
      }`;
    case 11:
      return p.legacyAfi === undefined
        ? `ASPA customer AS${p.customer}`
        : `ASPA customer AS${p.customer} AFI ${p.legacyAfi}`;
    default:
      return null;
  }
}

/** A short name of a record for messages. */
function recordName(p: Pdu): string {
  const k = recordKey(p) ?? pduName(p.type);
  return p.type === 9 ? `router key AS${p.asn} SKI ${hex(p.ski, 20).toUpperCase()}` : k;
}

/** What is wrong with one payload PDU of a version `v` Reset Query response, or null. */
function checkPayload(f: Frame, v: number): Outcome | null {
  const t = f.raw[1];
  if (f.raw[0] !== v) return fail(`${describeFrame(f)} in a version ${v} response`, f.raw);
  if (!typeInVersion(t, v)) {
    return fail(`${pduName(t)} PDU in a version ${v} response`, f.raw);
  }
  // A provider list the decoder refuses is aspa-shape's to report.
  if (f.error && !(t === 11 && f.error.code === ErrorCode.AspaProviderListError)) {
    return fail(f.error.message, f.raw);
  }
  if (f.pdu && "flags" in f.pdu && (f.pdu.flags & 1) === 0) {
    return fail(`withdrawal in a Reset Query response: ${recordName(f.pdu)}`, f.raw);
  }
  return null;
}

/** Reset response scenarios, in run order. */
export const RESPONSE_SCENARIOS: Scenario[] = [
  {
    id: "reset-response",
    group: "response",
    section: "RFC 6810 §5; RFC 8210 §5, §8.1; 8210bis §5, §8.1",
    sends: "Reset Query at each shared version",
    passes: "Cache Response, payload PDUs, End of Data, all at the query's version; every " +
      "length exact for its type and version (End of Data 12 octets in version 0, 24 after); " +
      "no type the version lacks (Router Key before 1, ASPA before 2); only announcements; " +
      "End of Data with the Cache Response's session id",
    run: (ctx) =>
      perVersion(ctx, () => true, async (v) => {
        let bad: Outcome | null = null;
        const { response: r } = await ctx.reset(v, "decode", (f) => {
          bad ??= checkPayload(f, v);
        });
        const ends = [r.answer.frames[0], r.answer.frames.at(-1)!];
        for (const f of [ends[0], ...r.payload, ends[1]]) {
          if (f.raw[0] !== v) {
            return fail(`${describeFrame(f)} in a version ${v} response`, f.raw);
          }
        }
        for (const f of ends) if (f.error) return fail(f.error.message, f.raw);
        // Payload PDUs went to the visitor; what is left between the ends is not payload.
        const odd = r.payload[0];
        if (odd) return fail(`${describeFrame(odd)} inside the response`, odd.raw);
        if (bad) return bad;
        if (r.endOfData.sessionId !== r.sessionId) {
          return fail(
            `End of Data session id ${r.endOfData.sessionId} differs from the Cache Response's ${r.sessionId}`,
            [r.answer.frames[0].raw, r.endRaw],
          );
        }
        return pass(
          `session ${r.sessionId}, ${r.payloadCount} payload PDUs, serial ${r.endOfData.serial}`,
        );
      }),
  },
  {
    id: "reset-timers",
    group: "response",
    section: "RFC 8210 §6; 8210bis §6",
    sends: "Reset Query at each shared version from 1",
    passes: "End of Data Refresh 1–86400, Retry 1–7200, Expire 600–172800, Expire above " +
      "Refresh and Retry",
    run: (ctx) =>
      perVersion(ctx, (v) => v >= 1, async (v) => {
        const { response: r } = await ctx.reset(v, "skim");
        const e = r.endOfData;
        if (e.refresh === undefined) return notApplicable("no timers in End of Data");
        const bad = timerProblems({ refresh: e.refresh, retry: e.retry!, expire: e.expire! });
        if (bad.length > 0) return fail(`End of Data ${bad.join(", ")}`, r.endRaw);
        return pass(`refresh ${e.refresh}, retry ${e.retry}, expire ${e.expire}`);
      }),
  },
  {
    id: "reset-unique",
    group: "response",
    section: "RFC 8210 §5.6, §5.7, §5.10; 8210bis §5.12",
    sends: "Reset Query at each shared version",
    passes: "no record twice: a prefix by (prefix, length, max length, ASN), a router key by " +
      "(SKI, ASN, key), an ASPA by customer (by customer and AFI in the legacy layout)",
    run: (ctx) =>
      perVersion(ctx, () => true, async (v) => {
        // Only keys are kept: a duplicate prefix or router key has the same bytes as the first
        // (its key is every field), so the duplicate's bytes show both.
        const seen = new Set<string>();
        let dup: Outcome | null = null;
        await ctx.reset(v, "decode", (f) => {
          if (dup || !f.pdu) return;
          const k = recordKey(f.pdu);
          if (k === null) return;
          if (seen.has(k)) dup = fail(`${recordName(f.pdu)} announced twice`, f.raw);
          seen.add(k);
        });
        return dup ?? pass(`${seen.size} distinct records`);
      }),
  },
  {
    id: "reset-order",
    group: "response",
    section: "8210bis §11.2",
    sends: "Reset Query at version 2",
    passes: "payload by type (IPv4, IPv6, Router Key, ASPA), announcements first, prefixes by " +
      "address, max length, length and ASN descending, router keys by SKI, key length, key " +
      "and ASN, ASPA by customer ascending",
    run: (ctx) =>
      perVersion(ctx, (v) => v === 2, async (v) => {
        let prev: { pdu: Pdu; raw: Uint8Array } | null = null;
        let bad: Outcome | null = null;
        const { response: r } = await ctx.reset(v, "decode", (f) => {
          if (bad || !f.pdu) return;
          if (prev && orderViolation(prev.pdu, f.pdu)) {
            bad = fail(
              `${recordName(f.pdu)} (${pduName(f.pdu.type)}) after ${recordName(prev.pdu)} (${
                pduName(prev.pdu.type)
              })`,
              [prev.raw, f.raw],
            );
          }
          prev = { pdu: f.pdu, raw: f.raw };
        });
        return bad ?? pass(`${r.payloadCount} payload PDUs in order`);
      }),
  },
  {
    id: "aspa-shape",
    group: "response",
    section: "8210bis §5.12",
    sends: "Reset Query at version 2",
    passes: "every ASPA PDU in the current layout (flags in octet 2, providers from octet 12), " +
      "providers strictly increasing, at least one, AS0 only alone; the legacy draft layout " +
      "is reported by name and fails (a current router cannot read it)",
    run: (ctx) =>
      perVersion(ctx, (v) => v === 2, async (v) => {
        const aspa: Frame[] = [];
        await ctx.reset(v, "decode", (f) => {
          if (f.raw[1] === 11) aspa.push(f);
        });
        if (aspa.length === 0) return notApplicable("no ASPA PDU in the table");
        for (const f of aspa) {
          if (f.error) return fail(f.error.message, f.raw);
          const p = f.pdu as Pdu & { type: 11 };
          if (p.legacyAfi !== undefined) {
            // 8210bis §5.12 (since -14) has one ASPA layout: flags in the header, no AFI, no
            // count. A router that follows it reads this PDU's zero octet 2 as a withdrawal whose
            // length is not 12 (Corrupt Data), so the legacy layout is a failure, named.
            const sorted = p.providers.every((x, i) => i === 0 || x > p.providers[i - 1]);
            return fail(
              `legacy draft ASPA layout (flags ${p.flags}, AFI ${p.legacyAfi}, provider count ` +
                `${p.providers.length} in the body), not the 8210bis §5.12 one; providers ` +
                `${
                  sorted ? "sorted and unique" : "not strictly increasing"
                } (${aspa.length} ASPA PDUs)`,
              f.raw,
            );
          }
        }
        return pass(`${aspa.length} ASPA PDUs in the current layout, providers sorted and unique`);
      }),
  },
];
