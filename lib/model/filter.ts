/**
 * Selecting payload records: by ASN (a VRP's origin, RFC 6811 §2; a router key's ASN, RFC 8210
 * §5.10; an ASPA's customer, 8210bis §5.12), by prefix (a VRP's prefix exactly, or `P+`: P and
 * every more specific prefix) and by type. Within one kind the criteria are alternatives (any
 * ASN given), across kinds all must hold; a prefix criterion selects VRPs only. Works on the
 * packed VRP records directly, so filtering a large table builds no object per VRP.
 */
import { topMask, tryParsePrefix } from "./prefix.ts";
import { type Aspa, compareAspa, type RouterKey, type Vrp } from "./types.ts";
import type { PayloadTable, TableDiff } from "./table.ts";
import { VrpSet, W } from "./vrp_set.ts";

/** The kinds of payload record. */
export const PAYLOAD_TYPES = ["vrp", "routerKey", "aspa"] as const;

/** A kind of payload record. */
export type PayloadType = (typeof PAYLOAD_TYPES)[number];

/** A prefix criterion: exactly this prefix, or (`orMore`) it and every more specific one. */
export interface PrefixMatch {
  family: 4 | 6;
  /** Address words (1 for IPv4, 4 for IPv6), host bits masked. */
  addr: number[];
  length: number;
  orMore: boolean;
}

/** What to keep; an absent or empty list does not restrict. */
export interface PayloadFilter {
  asns?: number[];
  prefixes?: PrefixMatch[];
  types?: PayloadType[];
}

/** `P` or `P+` as a prefix criterion (host bits masked); null when malformed. */
export function parsePrefixMatch(text: string): PrefixMatch | null {
  const orMore = text.endsWith("+");
  const body = orMore ? text.slice(0, -1) : text;
  if (!body.includes("/")) return null;
  const p = tryParsePrefix(body);
  if (!p) return null;
  return { family: p.family, addr: p.addr, length: p.length, orMore };
}

/** True when the filter keeps everything. */
export function filterIsEmpty(f: PayloadFilter): boolean {
  return !f.asns?.length && !f.prefixes?.length && !f.types?.length;
}

function typeKept(f: PayloadFilter, t: PayloadType): boolean {
  return !f.types?.length || f.types.includes(t);
}

/** True when the packed VRP record `i` of `d` (vrp_set.ts layout) passes the filter. */
export function matchVrpRecord(f: PayloadFilter, d: Uint32Array, i: number): boolean {
  if (!typeKept(f, "vrp")) return false;
  const x = i * W;
  if (f.asns?.length && !f.asns.includes(d[x + 5])) return false;
  if (!f.prefixes?.length) return true;
  const family = d[x] >>> 16 === 1 ? 6 : 4, len = (d[x] >>> 8) & 255;
  for (const p of f.prefixes) {
    if (p.family !== family || len < p.length || (!p.orMore && len !== p.length)) continue;
    let ok = true;
    for (let k = 0; k < p.addr.length && ok; k++) {
      ok = ((d[x + 1 + k] & topMask(p.length - 32 * k)) >>> 0) === p.addr[k];
    }
    if (ok) return true;
  }
  return false;
}

/** True when a VRP passes the filter. */
export function matchVrp(f: PayloadFilter, v: Vrp): boolean {
  const s = VrpSet.from([v]);
  return matchVrpRecord(f, s.data, 0);
}

/** True when a router key passes the filter (a prefix criterion excludes it). */
export function matchRouterKey(f: PayloadFilter, k: RouterKey): boolean {
  return typeKept(f, "routerKey") && !f.prefixes?.length &&
    (!f.asns?.length || f.asns.includes(k.asn));
}

/** True when an ASPA passes the filter (by customer; a prefix criterion excludes it). */
export function matchAspa(f: PayloadFilter, a: Aspa): boolean {
  return typeKept(f, "aspa") && !f.prefixes?.length &&
    (!f.asns?.length || f.asns.includes(a.customer));
}

/** The VRPs of a set that pass the filter, still sorted. */
export function filterVrps(f: PayloadFilter, s: VrpSet): VrpSet {
  if (filterIsEmpty(f)) return s;
  const d = s.data, n = s.size;
  if (!typeKept(f, "vrp")) return new VrpSet();
  const out = new Uint32Array(d.length);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (!matchVrpRecord(f, d, i)) continue;
    out.set(d.subarray(i * W, i * W + W), m * W);
    m++;
  }
  return m === n ? s : new VrpSet(out.slice(0, m * W));
}

/** The records of a table that pass the filter. */
export function filterTable(f: PayloadFilter, t: PayloadTable): PayloadTable {
  if (filterIsEmpty(f)) return t;
  return {
    vrps: filterVrps(f, t.vrps),
    routerKeys: t.routerKeys.filter((k) => matchRouterKey(f, k)),
    aspas: t.aspas.filter((a) => matchAspa(f, a)).sort(compareAspa),
  };
}

/** The changes of a diff that pass the filter. */
export function filterDiff(f: PayloadFilter, d: TableDiff): TableDiff {
  if (filterIsEmpty(f)) return d;
  return {
    vrps: {
      announced: filterVrps(f, d.vrps.announced),
      withdrawn: filterVrps(f, d.vrps.withdrawn),
    },
    routerKeys: {
      announced: d.routerKeys.announced.filter((k) => matchRouterKey(f, k)),
      withdrawn: d.routerKeys.withdrawn.filter((k) => matchRouterKey(f, k)),
    },
    aspas: {
      announced: d.aspas.announced.filter((a) => matchAspa(f, a)),
      withdrawn: d.aspas.withdrawn.filter((a) => matchAspa(f, a)),
    },
  };
}
