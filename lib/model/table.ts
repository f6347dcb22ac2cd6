/**
 * PayloadTable: the full state learned from one cache (VRPs, router keys, ASPA), and the changes
 * between two tables. Tables are immutable values: a session builds a new one at End of Data.
 */
import { type Aspa, compareAspa, compareRouterKey, type RouterKey, routerKeyId } from "./types.ts";
import { VrpSet } from "./vrp_set.ts";

/** Everything a cache told us, canonical and sorted. */
export interface PayloadTable {
  /** Validated ROA Payloads, sorted. */
  vrps: VrpSet;
  /** Sorted by ASN, SKI, key. */
  routerKeys: RouterKey[];
  /** Sorted by customer ASN, one per customer. */
  aspas: Aspa[];
}

/** The empty table. */
export function emptyTable(): PayloadTable {
  return { vrps: new VrpSet(), routerKeys: [], aspas: [] };
}

/** Build a table from values in any order (duplicates merged, keys upper-cased, ASPA sorted). */
export function makeTable(
  vrps: VrpSet,
  routerKeys: Iterable<RouterKey>,
  aspas: Iterable<Aspa>,
): PayloadTable {
  const keys = new Map<string, RouterKey>();
  for (const k of routerKeys) {
    const c = { asn: k.asn, ski: k.ski.toUpperCase(), pubkey: k.pubkey };
    keys.set(routerKeyId(c), c);
  }
  const byCustomer = new Map<number, Set<number>>();
  for (const a of aspas) {
    let s = byCustomer.get(a.customer);
    if (!s) byCustomer.set(a.customer, s = new Set());
    for (const p of a.providers) s.add(p);
  }
  const asp: Aspa[] = [...byCustomer].map(([customer, s]) => ({
    customer,
    providers: [...s].sort((x, y) => x - y),
  }));
  return {
    vrps,
    routerKeys: [...keys.values()].sort(compareRouterKey),
    aspas: asp.sort(compareAspa),
  };
}

/** Counts of a table, as reported in metadata and sync records. */
export interface TableCounts {
  /** Number of VRPs, both families. */
  vrps: number;
  /** Number of IPv4 VRPs. */
  vrpsIpv4: number;
  /** Number of IPv6 VRPs. */
  vrpsIpv6: number;
  /** Number of BGPsec router keys. */
  routerKeys: number;
  /** Number of ASPA records (one per customer). */
  aspas: number;
}

/** Count the records of a table. */
export function tableCounts(t: PayloadTable): TableCounts {
  const v4 = t.vrps.ipv4Count;
  return {
    vrps: t.vrps.size,
    vrpsIpv4: v4,
    vrpsIpv6: t.vrps.size - v4,
    routerKeys: t.routerKeys.length,
    aspas: t.aspas.length,
  };
}

/** The net change from one table to another. */
export interface TableDiff {
  /** VRPs added (`announced`) and removed (`withdrawn`). */
  vrps: { announced: VrpSet; withdrawn: VrpSet };
  /** Router keys added (`announced`) and removed (`withdrawn`). */
  routerKeys: { announced: RouterKey[]; withdrawn: RouterKey[] };
  /** `announced` holds new and changed customers (an ASPA announce replaces); `withdrawn` removed ones. */
  aspas: { announced: Aspa[]; withdrawn: Aspa[] };
}

/** Compute what changed from `a` to `b` (router keys compared by SKI case-insensitively). */
export function diffTables(a: PayloadTable, b: PayloadTable): TableDiff {
  const ka = new Map(a.routerKeys.map((k) => [routerKeyId(k), k]));
  const kb = new Map(b.routerKeys.map((k) => [routerKeyId(k), k]));
  const aa = new Map(a.aspas.map((x) => [x.customer, x]));
  const ab = new Map(b.aspas.map((x) => [x.customer, x]));
  return {
    vrps: VrpSet.diff(a.vrps, b.vrps),
    routerKeys: {
      announced: b.routerKeys.filter((k) => !ka.has(routerKeyId(k))),
      withdrawn: a.routerKeys.filter((k) => !kb.has(routerKeyId(k))),
    },
    aspas: {
      announced: b.aspas.filter((x) => {
        const old = aa.get(x.customer);
        return !old || old.providers.join(",") !== x.providers.join(",");
      }),
      withdrawn: a.aspas.filter((x) => !ab.has(x.customer)),
    },
  };
}

/** True when a diff holds no change. */
export function diffIsEmpty(d: TableDiff): boolean {
  return d.vrps.announced.size === 0 && d.vrps.withdrawn.size === 0 &&
    d.routerKeys.announced.length === 0 && d.routerKeys.withdrawn.length === 0 &&
    d.aspas.announced.length === 0 && d.aspas.withdrawn.length === 0;
}
