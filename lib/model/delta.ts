/**
 * Delta algebra for the history: exact deltas (what one serial changed, RFC 8210 §5.5–5.7
 * announce / withdraw semantics), composed over several serials, inverted, applied to a table.
 *
 * An "exact" delta is a TableDiff in which every entry is a whole value that was added or
 * removed: VRPs by (prefix, maxLength, ASN), router keys by (SKI case-insensitive, ASN, key), and
 * ASPA by (customer, provider set). A changed ASPA is therefore a withdrawal of the old value plus
 * an announcement of the new one. That makes composition a set identity — for consecutive deltas
 * d1 = (a1, w1) and d2 = (a2, w2): announced = (a1 − w2) ∪ (a2 − w1), withdrawn = (w1 − a2) ∪
 * (w2 − a1) — and inversion a swap. {@link netDiff} turns an exact delta into the TableDiff shape
 * the rest of the program prints (a changed ASPA only as its new announcement). The one owner of
 * this algebra: the history store and the cache's serial history both compose through it.
 */
import { makeTable, type PayloadTable, type TableDiff } from "./table.ts";
import { type Aspa, compareRouterKey, type RouterKey, routerKeyId } from "./types.ts";
import { VrpSet } from "./vrp_set.ts";

/** A delta that changes nothing. */
export function emptyDelta(): TableDiff {
  return {
    vrps: { announced: new VrpSet(), withdrawn: new VrpSet() },
    routerKeys: { announced: [], withdrawn: [] },
    aspas: { announced: [], withdrawn: [] },
  };
}

/** The whole table as one delta from the empty table (what a reset file holds). */
export function tableAsDelta(t: PayloadTable): TableDiff {
  return {
    vrps: { announced: t.vrps, withdrawn: new VrpSet() },
    routerKeys: { announced: [...t.routerKeys], withdrawn: [] },
    aspas: { announced: [...t.aspas], withdrawn: [] },
  };
}

/** Identity of an ASPA value (customer and provider set). */
export function aspaValueId(a: Aspa): string {
  return `${a.customer}:${a.providers.join(",")}`;
}

const EMPTY_SET = new VrpSet();

/** A change of VRPs: records announced and records withdrawn. */
export interface VrpChange {
  announced: VrpSet;
  withdrawn: VrpSet;
}

/** Records of `x` that are not in `y` (`x` itself when either is empty: sets are immutable). */
export function minusVrps(x: VrpSet, y: VrpSet): VrpSet {
  if (x.size === 0 || y.size === 0) return x;
  return VrpSet.diff(y, x).announced;
}

/** Records in `x` or `y` (one of them itself when the other is empty). */
export function unionVrps(x: VrpSet, y: VrpSet): VrpSet {
  if (y.size === 0) return x;
  if (x.size === 0) return y;
  return x.apply(y, EMPTY_SET);
}

/** The exact VRP change of applying `first` then `second` (each exact). */
export function composeVrpChanges(first: VrpChange, second: VrpChange): VrpChange {
  return {
    announced: unionVrps(
      minusVrps(first.announced, second.withdrawn),
      minusVrps(second.announced, first.withdrawn),
    ),
    withdrawn: unionVrps(
      minusVrps(first.withdrawn, second.announced),
      minusVrps(second.withdrawn, first.announced),
    ),
  };
}

function minusBy<T>(x: T[], y: T[], id: (v: T) => string): T[] {
  const ys = new Set(y.map(id));
  return x.filter((v) => !ys.has(id(v)));
}

function unionBy<T>(x: T[], y: T[], id: (v: T) => string): T[] {
  const out = new Map<string, T>();
  for (const v of x) out.set(id(v), v);
  for (const v of y) if (!out.has(id(v))) out.set(id(v), v);
  return [...out.values()];
}

function composeLists<T>(
  a1: T[],
  w1: T[],
  a2: T[],
  w2: T[],
  id: (v: T) => string,
): { announced: T[]; withdrawn: T[] } {
  return {
    announced: unionBy(minusBy(a1, w2, id), minusBy(a2, w1, id), id),
    withdrawn: unionBy(minusBy(w1, a2, id), minusBy(w2, a1, id), id),
  };
}

function byAspa(a: Aspa, b: Aspa): number {
  return a.customer - b.customer || aspaValueId(a).localeCompare(aspaValueId(b));
}

/** The exact delta of `d1` followed by `d2` (both exact). */
export function composeDeltas(d1: TableDiff, d2: TableDiff): TableDiff {
  const keys = composeLists(
    d1.routerKeys.announced,
    d1.routerKeys.withdrawn,
    d2.routerKeys.announced,
    d2.routerKeys.withdrawn,
    routerKeyId,
  );
  const aspas = composeLists(
    d1.aspas.announced,
    d1.aspas.withdrawn,
    d2.aspas.announced,
    d2.aspas.withdrawn,
    aspaValueId,
  );
  return {
    vrps: composeVrpChanges(d1.vrps, d2.vrps),
    routerKeys: {
      announced: keys.announced.sort(compareRouterKey),
      withdrawn: keys.withdrawn.sort(compareRouterKey),
    },
    aspas: {
      announced: aspas.announced.sort(byAspa),
      withdrawn: aspas.withdrawn.sort(byAspa),
    },
  };
}

/** The exact delta that undoes `d`. */
export function invertDelta(d: TableDiff): TableDiff {
  return {
    vrps: { announced: d.vrps.withdrawn, withdrawn: d.vrps.announced },
    routerKeys: { announced: d.routerKeys.withdrawn, withdrawn: d.routerKeys.announced },
    aspas: { announced: d.aspas.withdrawn, withdrawn: d.aspas.announced },
  };
}

/** `t` with the exact delta `d` applied (withdrawals first, then announcements). */
export function applyDelta(t: PayloadTable, d: TableDiff): PayloadTable {
  const gone = new Set(d.routerKeys.withdrawn.map(routerKeyId));
  const keys: RouterKey[] = t.routerKeys.filter((k) => !gone.has(routerKeyId(k)));
  const aspas = new Map(t.aspas.map((a) => [a.customer, a]));
  for (const a of d.aspas.withdrawn) aspas.delete(a.customer);
  for (const a of d.aspas.announced) aspas.set(a.customer, a);
  return makeTable(
    t.vrps.apply(d.vrps.announced, d.vrps.withdrawn),
    [...keys, ...d.routerKeys.announced],
    aspas.values(),
  );
}

/**
 * The exact change from table `a` to table `b` (like diffTables, but a changed ASPA also appears
 * under `withdrawn` with its old providers).
 */
export function exactDiff(a: PayloadTable, b: PayloadTable): TableDiff {
  const ka = new Set(a.routerKeys.map(routerKeyId));
  const kb = new Set(b.routerKeys.map(routerKeyId));
  const aa = new Set(a.aspas.map(aspaValueId));
  const ab = new Set(b.aspas.map(aspaValueId));
  return {
    vrps: VrpSet.diff(a.vrps, b.vrps),
    routerKeys: {
      announced: b.routerKeys.filter((k) => !ka.has(routerKeyId(k))),
      withdrawn: a.routerKeys.filter((k) => !kb.has(routerKeyId(k))),
    },
    aspas: {
      announced: b.aspas.filter((x) => !aa.has(aspaValueId(x))),
      withdrawn: a.aspas.filter((x) => !ab.has(aspaValueId(x))),
    },
  };
}

/**
 * Turn a net TableDiff (diffTables' shape: a changed ASPA only under `announced`) into an exact
 * delta, given the ASPA records held before the change. An announced ASPA for a customer that
 * had the very same providers is dropped (it changed nothing).
 */
export function exactFromNet(d: TableDiff, before: readonly Aspa[]): TableDiff {
  const old = new Map(before.map((a) => [a.customer, a]));
  const withdrawn = new Map(d.aspas.withdrawn.map((a) => [a.customer, old.get(a.customer) ?? a]));
  const announced: Aspa[] = [];
  for (const a of d.aspas.announced) {
    const prev = old.get(a.customer);
    if (prev && aspaValueId(prev) === aspaValueId(a)) continue;
    if (prev) withdrawn.set(a.customer, prev);
    announced.push(a);
  }
  return {
    vrps: d.vrps,
    routerKeys: d.routerKeys,
    aspas: { announced, withdrawn: [...withdrawn.values()].sort(byAspa) },
  };
}

/** The net TableDiff of an exact delta: an ASPA both withdrawn and announced is a change. */
export function netDiff(d: TableDiff): TableDiff {
  const re = new Set(d.aspas.announced.map((a) => a.customer));
  return {
    vrps: d.vrps,
    routerKeys: d.routerKeys,
    aspas: {
      announced: d.aspas.announced,
      withdrawn: d.aspas.withdrawn.filter((a) => !re.has(a.customer)),
    },
  };
}
