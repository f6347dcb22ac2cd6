/**
 * Local exceptions to RPKI data: SLURM (RFC 8416) with its ASPA entries. Parses and checks a
 * SLURM document (strictly: RFC 8416 §3.1 makes every deviation an error) and applies it to a
 * payload table: filters first, then assertions (RFC 8416 §4.1, §4.2).
 *
 * `slurmVersion` 1 is RFC 8416. `slurmVersion` 2 adds ASPA as draft-maditimbru-sidrops-rfc8416-bis-02
 * §4.3.3 and §4.4.3 define it (the SLURM v2 revision that absorbed draft-ietf-sidrops-aspa-slurm):
 * `aspaFilters` with `customerAsid` and/or `providers`, `aspaAssertions` with `customerAsid` and
 * `providers`. The older member name `providerAsids` of draft-ietf-sidrops-aspa-slurm is read as
 * `providers`. BGPsec SKIs and keys are base64url without padding (RFC 8416 §3.3.2), and plain
 * base64 with padding is accepted too, as StayRTR writes it.
 */
import { InputError } from "../errors.ts";
import { formatPrefix, tryParsePrefix } from "./prefix.ts";
import { makeTable, type PayloadTable } from "./table.ts";
import { type Aspa, fromBase64, type RouterKey, toBase64, toHex, type Vrp } from "./types.ts";
import { VrpSet, VrpSetBuilder, W } from "./vrp_set.ts";

/** A prefix filter (RFC 8416 §3.3.1): VRPs covered by `prefix` and/or of `asn` are removed. */
export interface PrefixFilter {
  /** Prefix whose covered VRPs are removed, canonical `addr/len`. */
  prefix?: string;
  /** Origin AS whose VRPs are removed. */
  asn?: number;
  /** The entry's `comment`. */
  comment?: string;
}

/** A BGPsec filter (RFC 8416 §3.3.2): router keys of `asn` and/or with `ski` (hex) are removed. */
export interface BgpsecFilter {
  /** AS whose router keys are removed. */
  asn?: number;
  /** SKI of the keys removed, 40 upper-case hex digits. */
  ski?: string;
  /** The entry's `comment`. */
  comment?: string;
}

/** An ASPA filter: a customer's record, or some providers (of one customer or of all). */
export interface AspaFilter {
  /** Customer AS (`customerAsid`) the filter applies to; absent: every customer. */
  customer?: number;
  /** Providers removed from the record; absent: the whole record. */
  providers?: number[];
  /** The entry's `comment`. */
  comment?: string;
}

/** A parsed, checked SLURM document. */
export interface Slurm {
  /** `slurmVersion`: 1 (RFC 8416) or 2 (with ASPA). */
  version: 1 | 2;
  /** `validationOutputFilters.prefixFilters` (RFC 8416 §3.3.1). */
  prefixFilters: PrefixFilter[];
  /** `validationOutputFilters.bgpsecFilters` (RFC 8416 §3.3.2). */
  bgpsecFilters: BgpsecFilter[];
  /** `validationOutputFilters.aspaFilters` (version 2 only). */
  aspaFilters: AspaFilter[];
  /** `locallyAddedAssertions.prefixAssertions` as VRPs (RFC 8416 §3.4.1). */
  prefixAssertions: Vrp[];
  /** `locallyAddedAssertions.bgpsecAssertions` as router keys (RFC 8416 §3.4.2). */
  bgpsecAssertions: RouterKey[];
  /** `locallyAddedAssertions.aspaAssertions` as ASPA records (version 2 only). */
  aspaAssertions: Aspa[];
}

/** Counts of what a SLURM document holds, for logs. */
export function slurmCounts(s: Slurm): string {
  const f = s.prefixFilters.length + s.bgpsecFilters.length + s.aspaFilters.length;
  const a = s.prefixAssertions.length + s.bgpsecAssertions.length + s.aspaAssertions.length;
  return `${f} filter${f === 1 ? "" : "s"}, ${a} assertion${a === 1 ? "" : "s"}`;
}

/** Parse and check a SLURM document; throws InputError naming the offending member. */
export function parseSlurm(doc: unknown): Slurm {
  const top = object(doc, "the document");
  const version = top.slurmVersion;
  if (version !== 1 && version !== 2) {
    throw new InputError(
      `Invalid SLURM: slurmVersion is ${
        JSON.stringify(version)
      }, expected 1 (RFC 8416) or 2 (with ASPA)`,
    );
  }
  members(top, "the document", [
    "slurmVersion",
    "validationOutputFilters",
    "locallyAddedAssertions",
  ]);
  const filterKeys = version === 2
    ? ["prefixFilters", "bgpsecFilters", "aspaFilters"]
    : ["prefixFilters", "bgpsecFilters"];
  const assertKeys = version === 2
    ? ["prefixAssertions", "bgpsecAssertions", "aspaAssertions"]
    : ["prefixAssertions", "bgpsecAssertions"];
  const filters = object(top.validationOutputFilters, "validationOutputFilters");
  members(filters, "validationOutputFilters", filterKeys);
  const asserts = object(top.locallyAddedAssertions, "locallyAddedAssertions");
  members(asserts, "locallyAddedAssertions", assertKeys);

  const s: Slurm = {
    version,
    prefixFilters: [],
    bgpsecFilters: [],
    aspaFilters: [],
    prefixAssertions: [],
    bgpsecAssertions: [],
    aspaAssertions: [],
  };
  each(filters.prefixFilters, "prefixFilters", (o, at) => {
    members(o, at, ["prefix", "asn", "comment"]);
    if (o.prefix === undefined && o.asn === undefined) {
      throw new InputError(`Invalid SLURM: ${at} has neither prefix nor asn`);
    }
    s.prefixFilters.push({
      prefix: o.prefix === undefined ? undefined : prefix(o.prefix, `${at}.prefix`),
      asn: o.asn === undefined ? undefined : asn(o.asn, `${at}.asn`),
      comment: comment(o.comment, at),
    });
  });
  each(filters.bgpsecFilters, "bgpsecFilters", (o, at) => {
    members(o, at, ["asn", "SKI", "comment"]);
    if (o.asn === undefined && o.SKI === undefined) {
      throw new InputError(`Invalid SLURM: ${at} has neither asn nor SKI`);
    }
    s.bgpsecFilters.push({
      asn: o.asn === undefined ? undefined : asn(o.asn, `${at}.asn`),
      ski: o.SKI === undefined ? undefined : ski(o.SKI, `${at}.SKI`),
      comment: comment(o.comment, at),
    });
  });
  if (version === 2) {
    each(filters.aspaFilters, "aspaFilters", (o, at) => {
      members(o, at, ["customerAsid", "providers", "providerAsids", "comment"]);
      const providers = providerList(o, at, false);
      if (o.customerAsid === undefined && providers === undefined) {
        throw new InputError(`Invalid SLURM: ${at} has neither customerAsid nor providers`);
      }
      s.aspaFilters.push({
        customer: o.customerAsid === undefined
          ? undefined
          : asn(o.customerAsid, `${at}.customerAsid`),
        providers,
        comment: comment(o.comment, at),
      });
    });
  }
  each(asserts.prefixAssertions, "prefixAssertions", (o, at) => {
    members(o, at, ["prefix", "asn", "maxPrefixLength", "comment"]);
    if (o.prefix === undefined || o.asn === undefined) {
      throw new InputError(`Invalid SLURM: ${at} needs both prefix and asn`);
    }
    const p = prefix(o.prefix, `${at}.prefix`);
    const length = Number(p.slice(p.indexOf("/") + 1));
    const max = p.includes(":") ? 128 : 32;
    let maxLength = length;
    if (o.maxPrefixLength !== undefined) {
      const m = o.maxPrefixLength;
      if (typeof m !== "number" || !Number.isInteger(m) || m < length || m > max) {
        throw new InputError(
          `Invalid SLURM: ${at}.maxPrefixLength is ${
            JSON.stringify(m)
          }, expected ${length} to ${max}`,
        );
      }
      maxLength = m;
    }
    comment(o.comment, at);
    s.prefixAssertions.push({ prefix: p, maxLength, asn: asn(o.asn, `${at}.asn`) });
  });
  each(asserts.bgpsecAssertions, "bgpsecAssertions", (o, at) => {
    members(o, at, ["asn", "SKI", "routerPublicKey", "comment"]);
    if (o.asn === undefined || o.SKI === undefined || o.routerPublicKey === undefined) {
      throw new InputError(`Invalid SLURM: ${at} needs asn, SKI and routerPublicKey`);
    }
    const key = typeof o.routerPublicKey === "string" ? fromBase64(o.routerPublicKey) : null;
    if (!key || key.length === 0) {
      throw new InputError(`Invalid SLURM: ${at}.routerPublicKey is not base64`);
    }
    comment(o.comment, at);
    s.bgpsecAssertions.push({
      asn: asn(o.asn, `${at}.asn`),
      ski: ski(o.SKI, `${at}.SKI`),
      pubkey: toBase64(key),
    });
  });
  if (version === 2) {
    each(asserts.aspaAssertions, "aspaAssertions", (o, at) => {
      members(o, at, ["customerAsid", "providers", "providerAsids", "comment"]);
      const providers = providerList(o, at, true);
      if (o.customerAsid === undefined || providers === undefined) {
        throw new InputError(`Invalid SLURM: ${at} needs customerAsid and providers`);
      }
      comment(o.comment, at);
      s.aspaAssertions.push({ customer: asn(o.customerAsid, `${at}.customerAsid`), providers });
    });
  }
  return s;
}

/**
 * The table routers get after the exceptions: every filter removes what it matches, then every
 * assertion is added (RFC 8416 §4.2: assertions are never removed by filters; duplicates merge).
 * ASPA assertions merge into the customer's record as records for one customer unite.
 */
export function applySlurm(t: PayloadTable, s: Slurm): PayloadTable {
  const vrps = filterVrps(t.vrps, s.prefixFilters);
  const added = new VrpSetBuilder(s.prefixAssertions.length);
  for (const v of s.prefixAssertions) added.addVrp(v);
  const withAssertions = vrps.apply(added.build().set, new VrpSet());

  const keys = t.routerKeys.filter((k) =>
    !s.bgpsecFilters.some((f) =>
      (f.asn === undefined || f.asn === k.asn) &&
      (f.ski === undefined || f.ski === k.ski.toUpperCase())
    )
  );

  const aspas: Aspa[] = [];
  for (const a of t.aspas) {
    let providers = a.providers;
    let removed = false;
    for (const f of s.aspaFilters) {
      if (f.customer !== undefined && f.customer !== a.customer) continue;
      if (f.providers === undefined) {
        removed = true;
        break;
      }
      const drop = new Set(f.providers);
      providers = providers.filter((p) => !drop.has(p));
    }
    // A record whose providers were all filtered away still says "none of those": it becomes
    // the AS0 record ("no providers", draft-ietf-sidrops-aspa-profile §3.3), since an announced
    // ASPA PDU must carry at least one provider and dropping it would turn Invalid into Unknown.
    if (!removed) {
      aspas.push({ customer: a.customer, providers: providers.length ? providers : [0] });
    }
  }
  return makeTable(
    withAssertions,
    [...keys, ...s.bgpsecAssertions],
    [...aspas, ...s.aspaAssertions],
  );
}

/** Remove the VRPs matched by any prefix filter, on the packed records (no value objects). */
function filterVrps(set: VrpSet, filters: PrefixFilter[]): VrpSet {
  if (filters.length === 0) return set;
  const compiled = filters.map((f) => {
    const p = f.prefix === undefined ? undefined : tryParsePrefix(f.prefix)!;
    return {
      v6: p ? (p.family === 6 ? 1 : 0) : -1,
      addr: p ? [p.addr[0] ?? 0, p.addr[1] ?? 0, p.addr[2] ?? 0, p.addr[3] ?? 0] : [0, 0, 0, 0],
      length: p ? p.length : 0,
      asn: f.asn ?? -1,
    };
  });
  const d = set.data, n = set.size;
  const out = new Uint32Array(d.length);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = i * W;
    const meta = d[x];
    const v6 = meta >>> 16, len = (meta >>> 8) & 255, vrpAsn = d[x + 5];
    let hit = false;
    for (const f of compiled) {
      if (f.asn >= 0 && f.asn !== vrpAsn) continue;
      if (f.v6 >= 0 && !(f.v6 === v6 && len >= f.length && covered(d, x, f.addr, f.length))) {
        continue;
      }
      hit = true;
      break;
    }
    if (!hit) {
      out.set(d.subarray(x, x + W), m * W);
      m++;
    }
  }
  return m === n ? set : new VrpSet(out.slice(0, m * W));
}

/** True when the address words of record `x` agree with `addr` in the first `length` bits. */
function covered(d: Uint32Array, x: number, addr: number[], length: number): boolean {
  for (let k = 0; k < 4 && length > 0; k++, length -= 32) {
    const mask = length >= 32 ? 0xffffffff : (0xffffffff << (32 - length)) >>> 0;
    if (((d[x + 1 + k] & mask) >>> 0) !== addr[k]) return false;
  }
  return true;
}

type Obj = Record<string, unknown>;

function object(v: unknown, at: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new InputError(`Invalid SLURM: ${at} must be a JSON object`);
  }
  return v as Obj;
}

/** RFC 8416 §3.1: members not defined there must not be used; the defined ones must be there. */
function members(o: Obj, at: string, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new InputError(`Invalid SLURM: ${at} has an unknown member ${JSON.stringify(k)}`);
    }
  }
}

function each(v: unknown, at: string, f: (o: Obj, at: string) => void): void {
  if (v === undefined) throw new InputError(`Invalid SLURM: ${at} is missing`);
  if (!Array.isArray(v)) throw new InputError(`Invalid SLURM: ${at} must be an array`);
  v.forEach((item, i) => f(object(item, `${at}[${i}]`), `${at}[${i}]`));
}

function asn(v: unknown, at: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new InputError(
      `Invalid SLURM: ${at} is ${JSON.stringify(v)}, expected a number from 0 to 4294967295`,
    );
  }
  return v;
}

function prefix(v: unknown, at: string): string {
  const p = typeof v === "string" ? tryParsePrefix(v) : null;
  if (!p || typeof v !== "string" || !v.includes("/")) {
    throw new InputError(`Invalid SLURM: ${at} is ${JSON.stringify(v)}, expected a prefix`);
  }
  if (p.hostBits) {
    throw new InputError(`Invalid SLURM: ${at} ${JSON.stringify(v)} has host bits set`);
  }
  return formatPrefix(p.family, p.addr, p.length);
}

function ski(v: unknown, at: string): string {
  const b = typeof v === "string" ? fromBase64(v) : null;
  if (!b || b.length !== 20) {
    throw new InputError(
      `Invalid SLURM: ${at} is ${JSON.stringify(v)}, expected the base64 of a 20-byte SKI`,
    );
  }
  return toHex(b);
}

function comment(v: unknown, at: string): string | undefined {
  if (v !== undefined && typeof v !== "string") {
    throw new InputError(`Invalid SLURM: ${at}.comment must be a string`);
  }
  return v as string | undefined;
}

/** `providers` (or the older `providerAsids`): sorted, unique ASNs; `required` forbids empty. */
function providerList(o: Obj, at: string, required: boolean): number[] | undefined {
  if (o.providers !== undefined && o.providerAsids !== undefined) {
    throw new InputError(`Invalid SLURM: ${at} has both providers and providerAsids`);
  }
  const name = o.providers !== undefined ? "providers" : "providerAsids";
  const v = o[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || (v.length === 0 && required)) {
    throw new InputError(`Invalid SLURM: ${at}.${name} must be an array of one or more ASNs`);
  }
  const list = v.map((p, i) => asn(p, `${at}.${name}[${i}]`));
  return [...new Set(list)].sort((a, b) => a - b);
}
