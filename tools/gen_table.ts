/**
 * Deterministic generator of a realistic-looking RPKI table (VRPs, BGPsec router keys, ASPA) as
 * rpki-client JSON, with ASPA also under StayRTR 0.5.1's
 * `provider_authorizations` so that StayRTR can serve the same file. The same seed and counts
 * give byte-identical output.
 *
 * Shape: 80 % IPv4 / 20 % IPv6; prefix lengths weighted like the real table (IPv4 mostly /24,
 * then /22, /23, /20, /16; IPv6 mostly /48, then /32, /44, /40, /29); each origin AS has a home
 * block (a /16 for IPv4, a /32 inside its RIR's /12 for IPv6); heavy-tailed ASN popularity;
 * maxLength equal to the prefix length for most, up to /24 or /48 for the rest; about 2 %
 * multi-origin prefixes and a few AS0 VRPs; no duplicate (prefix, maxLength, ASN).
 *
 * Usage: deno run --allow-write tools/gen_table.ts [--count N] [--seed S] [--keys K] [--aspa A]
 *        [--buildtime RFC3339|now] [-o FILE]
 */
import { parseArgs } from "node:util";
import { formatPrefix, topMask } from "../lib/model/prefix.ts";

/** Generator settings. */
export interface GenOptions {
  /** Number of VRPs. */
  count: number;
  /** PRNG seed. */
  seed?: number;
  /** Number of BGPsec router keys. */
  routerKeys?: number;
  /** Number of ASPA records. */
  aspas?: number;
  /** metadata.buildtime (RFC 3339); default a fixed date so that output is reproducible. */
  buildtime?: string;
}

/** One generated VRP as rpki-client writes it. */
export interface GenRoa {
  asn: number;
  prefix: string;
  maxLength: number;
  ta: string;
}

/** A generated table in rpki-client JSON shape. */
export interface GenTable {
  metadata: Record<string, unknown>;
  roas: GenRoa[];
  bgpsec_keys: { asn: number; ski: string; pubkey: string }[];
  aspas: { customer_asid: number; providers: number[] }[];
}

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(rand: () => number, table: [T, number][]): T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let x = rand() * total;
  for (const [v, w] of table) {
    x -= w;
    if (x < 0) return v;
  }
  return table[table.length - 1][0];
}

const V4_LENGTHS: [number, number][] = [
  [12, 0.002],
  [14, 0.004],
  [16, 0.04],
  [17, 0.02],
  [18, 0.03],
  [19, 0.04],
  [20, 0.06],
  [21, 0.045],
  [22, 0.11],
  [23, 0.09],
  [24, 0.56],
];
const V6_LENGTHS: [number, number][] = [
  [29, 0.03],
  [32, 0.15],
  [36, 0.03],
  [40, 0.06],
  [44, 0.07],
  [46, 0.015],
  [47, 0.02],
  [48, 0.6],
];
const TAS: [string, number][] = [
  ["ripe", 0.38],
  ["apnic", 0.26],
  ["arin", 0.24],
  ["lacnic", 0.09],
  ["afrinic", 0.03],
];
/** First 16-bit group of each RIR's IPv6 /12. */
const V6_BLOCK: Record<string, number> = {
  apnic: 0x2400,
  arin: 0x2600,
  lacnic: 0x2800,
  ripe: 0x2a00,
  afrinic: 0x2c00,
};
/** IPv4 first octets that never appear (private, loopback, multicast, documentation /8s). */
const V4_SKIP = new Set([0, 10, 100, 127, 169, 172, 192, 198, 203, ...range(224, 256)]);

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

function v4Text(w: number, len: number): string {
  return formatPrefix(4, [(w & topMask(len)) >>> 0], len);
}

function v6Text(groups: number[], len: number): string {
  const words = [0, 1, 2, 3].map((i) =>
    (((groups[2 * i] << 16) | groups[2 * i + 1]) & topMask(len - 32 * i)) >>> 0
  );
  return formatPrefix(6, words, len);
}

interface Origin {
  asn: number;
  ta: string;
  home4: number;
  home6: number[];
}

/** Generate a table (async only because router key SKIs are SHA-1 digests). */
export async function generateTable(o: GenOptions): Promise<GenTable> {
  const rand = prng(o.seed ?? 42);
  const int = (n: number) => Math.floor(rand() * n);
  const nAsns = Math.max(1, Math.min(Math.floor(o.count / 8), 60000));
  const usedAsn = new Set<number>();
  const origins: Origin[] = [];
  while (origins.length < nAsns) {
    // 16-bit public ASNs mostly, 32-bit ones for a third.
    const asn = rand() < 0.66 ? 1 + int(64495) : 131072 + int(270000);
    if (usedAsn.has(asn)) continue;
    usedAsn.add(asn);
    const ta = weighted(rand, TAS);
    let first: number;
    do first = 1 + int(223); while (V4_SKIP.has(first));
    const home4 = ((first << 24) | (int(256) << 16)) >>> 0;
    const home6 = [V6_BLOCK[ta] | int(16), int(0x10000), 0, 0, 0, 0, 0, 0];
    origins.push({ asn, ta, home4, home6 });
  }
  // Heavy tail: origin i is picked with weight 1 / (i + 5).
  const cum: number[] = [];
  let acc = 0;
  for (let i = 0; i < nAsns; i++) cum.push(acc += 1 / (i + 5));
  const pickOrigin = (): Origin => {
    const x = rand() * acc;
    let lo = 0, hi = nAsns - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return origins[lo];
  };

  const seen = new Set<string>();
  const roas: GenRoa[] = [];
  const add = (r: GenRoa) => {
    const k = `${r.prefix} ${r.maxLength} ${r.asn}`;
    if (seen.has(k)) return false;
    seen.add(k);
    roas.push(r);
    return true;
  };
  let guard = 0;
  while (roas.length < o.count && guard++ < o.count * 20) {
    const org = pickOrigin();
    const v6 = rand() < 0.2;
    let prefix: string, len: number, maxLength: number;
    if (!v6) {
      len = weighted(rand, V4_LENGTHS);
      // Shorter than /16 leaves the home block: draw inside its /8.
      const w = len >= 16 ? org.home4 | int(0x10000) : (org.home4 & 0xff000000) | int(0x1000000);
      prefix = v4Text(w >>> 0, len);
      maxLength = len >= 24 || rand() < 0.75 ? len : len + 1 + int(24 - len);
    } else {
      len = weighted(rand, V6_LENGTHS);
      const g = org.home6.slice();
      if (len > 32) g[2] = int(0x10000);
      if (len < 32) g[1] = int(0x10000);
      prefix = v6Text(g, len);
      maxLength = len >= 48 || rand() < 0.75 ? len : len + 1 + int(48 - len);
    }
    if (!add({ asn: org.asn, prefix, maxLength, ta: org.ta })) continue;
    if (roas.length < o.count && rand() < 0.02) {
      // Multi-origin: the same prefix from another AS (AS0 now and then).
      const other = rand() < 0.1 ? 0 : pickOrigin().asn;
      add({ asn: other, prefix, maxLength, ta: org.ta });
    }
  }

  const keys: GenTable["bgpsec_keys"] = [];
  // DER SubjectPublicKeyInfo header of an id-ecPublicKey / prime256v1 key.
  const spkiHead = "3059301306072a8648ce3d020106082a8648ce3d030107034200".match(/../g)!.map((h) =>
    parseInt(h, 16)
  );
  for (let i = 0; i < (o.routerKeys ?? 0); i++) {
    // An uncompressed P-256 point: 04 || X || Y (random, not checked to be on the curve).
    const point = new Uint8Array(65);
    point[0] = 4;
    for (let j = 1; j < 65; j++) point[j] = int(256);
    const spki = new Uint8Array([...spkiHead, ...point]);
    // RFC 8209: the SKI is the SHA-1 of the public key bits.
    const ski = new Uint8Array(await crypto.subtle.digest("SHA-1", point));
    keys.push({
      asn: origins[i % origins.length].asn,
      ski: [...ski].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase(),
      pubkey: btoa(String.fromCharCode(...spki)),
    });
  }
  keys.sort((a, b) => a.asn - b.asn || (a.ski < b.ski ? -1 : 1));

  const aspas: GenTable["aspas"] = [];
  const customers = new Set<number>();
  const big = origins.slice(0, Math.max(1, Math.min(40, nAsns)));
  // Draw until there are as many distinct customers as asked (at most one per origin AS): a
  // customer drawn twice does not count.
  while (aspas.length < (o.aspas ?? 0) && customers.size < nAsns) {
    const c = origins[int(nAsns)].asn;
    if (customers.has(c)) continue;
    customers.add(c);
    const n = 1 + int(4);
    const ps = new Set<number>();
    for (let k = 0; k < n; k++) {
      const p = big[int(big.length)].asn;
      if (p !== c) ps.add(p);
    }
    aspas.push({ customer_asid: c, providers: ps.size ? [...ps].sort((a, b) => a - b) : [0] });
  }
  aspas.sort((a, b) => a.customer_asid - b.customer_asid);

  const buildtime = o.buildtime === "now"
    ? new Date().toISOString().replace(/\.\d+Z$/, "Z")
    : o.buildtime ?? "2026-01-01T00:00:00Z";
  return {
    metadata: {
      buildtime,
      generated: Math.floor(Date.parse(buildtime) / 1000),
      generator: `tools/gen_table.ts seed=${o.seed ?? 42} count=${o.count}`,
      vrps: roas.length,
      uniquevrps: roas.length,
      uniquevaps: aspas.length,
    },
    roas,
    bgpsec_keys: keys,
    aspas,
  };
}

/**
 * The table as rpki-client JSON text, one record per line; ASPA is repeated under StayRTR
 * 0.5.1's `provider_authorizations` {ipv4, ipv6}, the only ASPA key it reads.
 */
export function tableJson(t: GenTable): string {
  const lines = (xs: unknown[]) => xs.map((x) => `  ${JSON.stringify(x)}`).join(",\n");
  return `{"metadata":${JSON.stringify(t.metadata)},
"roas":[
${lines(t.roas)}
],
"bgpsec_keys":[
${lines(t.bgpsec_keys)}
],
"aspas":[
${lines(t.aspas)}
],
"provider_authorizations":{"ipv4":[
${lines(t.aspas)}
],"ipv6":[
${lines(t.aspas)}
]}}
`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "5000" },
      seed: { type: "string", default: "42" },
      keys: { type: "string", default: "4" },
      aspa: { type: "string", default: "50" },
      buildtime: { type: "string" },
      output: { type: "string", short: "o" },
    },
  });
  const t = await generateTable({
    count: Number(values.count),
    seed: Number(values.seed),
    routerKeys: Number(values.keys),
    aspas: Number(values.aspa),
    buildtime: values.buildtime,
  });
  if (t.aspas.length < Number(values.aspa)) {
    console.error(
      `gen_table: cannot make ${values.aspa} ASPA records: ${values.count} VRPs have only ${t.aspas.length} origin ASes to be customers (raise --count)`,
    );
    Deno.exit(2);
  }
  const text = tableJson(t);
  if (values.output) await Deno.writeTextFile(values.output, text);
  else await Deno.stdout.write(new TextEncoder().encode(text));
  console.error(
    `${t.roas.length} VRPs (${
      t.roas.filter((r) => !r.prefix.includes(":")).length
    } IPv4), ${t.bgpsec_keys.length} router keys, ${t.aspas.length} ASPA`,
  );
}
