/** SLURM (RFC 8416, with ASPA): parsing is strict, filters apply before assertions. */
import { assertEquals as eq } from "../helpers/assert.ts";
import { throws } from "node:assert/strict";
import { applySlurm, parseSlurm } from "../../lib/model/slurm.ts";
import { makeTable } from "../../lib/model/table.ts";
import { VrpSet } from "../../lib/model/vrp_set.ts";
import type { Vrp } from "../../lib/model/types.ts";

const KEY =
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4FxJr0n2bux1uX1Evl+QWwZYvIadPjLuFX2mxqKuAGUhKnr7VLLDgrE++l9p5eH2kWTNVAN22FUU3db/RKpE2w==";
const SKI_HEX = "510F485D29A29DB7B515F9C478F8ED3CB7AA7D23";
/** The SKI above as RFC 8416 §3.3.2 writes it: base64url without padding. */
const SKI_B64URL = "UQ9IXSminbe1FfnEePjtPLeqfSM";

function doc(
  filters: Record<string, unknown[]> = {},
  asserts: Record<string, unknown[]> = {},
  version = 1,
) {
  const f: Record<string, unknown[]> = { prefixFilters: [], bgpsecFilters: [], ...filters };
  const a: Record<string, unknown[]> = { prefixAssertions: [], bgpsecAssertions: [], ...asserts };
  if (version === 2) {
    f.aspaFilters ??= [];
    a.aspaAssertions ??= [];
  }
  return { slurmVersion: version, validationOutputFilters: f, locallyAddedAssertions: a };
}

const vrps: Vrp[] = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "192.0.2.128/25", maxLength: 25, asn: 64497 },
  { prefix: "198.51.100.0/22", maxLength: 24, asn: 64496 },
  { prefix: "2001:db8::/32", maxLength: 48, asn: 64497 },
  { prefix: "2001:db8:8000::/33", maxLength: 33, asn: 64498 },
];
const table = makeTable(
  VrpSet.from(vrps),
  [{ asn: 64498, ski: SKI_HEX, pubkey: KEY }, { asn: 64499, ski: SKI_HEX, pubkey: KEY }],
  [{ customer: 64500, providers: [64501, 64502] }, { customer: 64510, providers: [64511] }],
);

function texts(set: VrpSet): string[] {
  return [...set].map((v) => `${v.prefix} ${v.maxLength} ${v.asn}`);
}

Deno.test("applySlurm() prefix filters remove covered VRPs, by prefix, ASN or both (RFC 8416 §3.3.1)", () => {
  const out = applySlurm(
    table,
    parseSlurm(doc({
      prefixFilters: [
        { prefix: "192.0.2.0/24", comment: "all covered" },
        { asn: 64498 },
        { prefix: "2001:db8::/32", asn: 64496, comment: "matches nothing: both must hold" },
      ],
    })),
  );
  eq(texts(out.vrps), ["198.51.100.0/22 24 64496", "2001:db8::/32 48 64497"]);
});

Deno.test("applySlurm() assertions are added after filtering and never filtered (RFC 8416 §4.2)", () => {
  const out = applySlurm(
    table,
    parseSlurm(doc(
      { prefixFilters: [{ prefix: "198.51.100.0/22" }] },
      {
        prefixAssertions: [
          { asn: 64496, prefix: "198.51.100.0/24" },
          { asn: 64496, prefix: "2001:DB8:1::/48", maxPrefixLength: 64 },
          { asn: 64496, prefix: "192.0.2.0/24" },
        ],
      },
    )),
  );
  eq(texts(out.vrps), [
    "192.0.2.0/24 24 64496",
    "192.0.2.128/25 25 64497",
    "198.51.100.0/24 24 64496",
    "2001:db8::/32 48 64497",
    "2001:db8:1::/48 64 64496",
    "2001:db8:8000::/33 33 64498",
  ]);
});

Deno.test("applySlurm() BGPsec filters match ASN and/or SKI; assertions take base64url SKIs", () => {
  const bySki = applySlurm(
    table,
    parseSlurm(doc({ bgpsecFilters: [{ SKI: SKI_B64URL, asn: 64499 }] })),
  );
  eq(bySki.routerKeys.map((k) => k.asn), [64498]);
  const all = applySlurm(table, parseSlurm(doc({ bgpsecFilters: [{ SKI: SKI_B64URL }] })));
  eq(all.routerKeys.length, 0);
  const added = applySlurm(
    table,
    parseSlurm(doc({}, {
      bgpsecAssertions: [{ asn: 65000, SKI: SKI_B64URL, routerPublicKey: KEY.replace(/=+$/, "") }],
    })),
  );
  eq(added.routerKeys.map((k) => `${k.asn} ${k.ski}`), [
    `64498 ${SKI_HEX}`,
    `64499 ${SKI_HEX}`,
    `65000 ${SKI_HEX}`,
  ]);
  eq(added.routerKeys[2].pubkey, KEY);
});

Deno.test("applySlurm() ASPA filters by customer, by providers, and both; assertions merge (SLURM v2)", () => {
  const out = applySlurm(
    table,
    parseSlurm(
      doc(
        {
          aspaFilters: [
            { customerAsid: 64510, comment: "the whole record" },
            { customerAsid: 64500, providers: [64502] },
          ],
        },
        {
          aspaAssertions: [{ customerAsid: 64500, providers: [64503] }, {
            customerAsid: 64520,
            providerAsids: [1, 1, 0],
          }],
        },
        2,
      ),
    ),
  );
  eq(out.aspas, [
    { customer: 64500, providers: [64501, 64503] },
    { customer: 64520, providers: [0, 1] },
  ]);
  const emptied = applySlurm(
    table,
    parseSlurm(doc({ aspaFilters: [{ providers: [64511] }] }, {}, 2)),
  );
  eq(emptied.aspas[1], { customer: 64510, providers: [0] });
});

Deno.test("parseSlurm() refuses what RFC 8416 §3.1 calls an error, naming the member", () => {
  const cases: [unknown, RegExp][] = [
    [[], /the document must be a JSON object/],
    [{ ...doc(), slurmVersion: 3 }, /slurmVersion is 3/],
    [{ ...doc(), extra: 1 }, /unknown member "extra"/],
    [doc({ prefixFilters: [{ comment: "x" }] }), /prefixFilters\[0\] has neither prefix nor asn/],
    [
      doc({ prefixFilters: [{ prefix: "192.0.2.1/24" }] }),
      /prefixFilters\[0\].prefix .* host bits/,
    ],
    [doc({ prefixFilters: [{ prefix: "nonsense" }] }), /prefixFilters\[0\].prefix is "nonsense"/],
    [
      doc({}, { prefixAssertions: [{ prefix: "192.0.2.0/24", asn: 1, maxPrefixLength: 23 }] }),
      /maxPrefixLength is 23, expected 24 to 32/,
    ],
    [doc({}, { prefixAssertions: [{ prefix: "192.0.2.0/24" }] }), /needs both prefix and asn/],
    [doc({ bgpsecFilters: [{ SKI: "Zm9v" }] }), /20-byte SKI/],
    [doc({ prefixFilters: [{ asn: -1 }] }), /asn is -1/],
    [doc({ prefixFilters: [{ asn: 1, colour: "red" }] }), /unknown member "colour"/],
    [doc({ aspaFilters: [] }, {}, 1), /unknown member "aspaFilters"/],
    [doc({}, { aspaAssertions: [{ customerAsid: 1, providers: [] }] }, 2), /one or more ASNs/],
    [{
      slurmVersion: 1,
      validationOutputFilters: { prefixFilters: [] },
      locallyAddedAssertions: { prefixAssertions: [], bgpsecAssertions: [] },
    }, /bgpsecFilters is missing/],
  ];
  for (const [d, re] of cases) {
    throws(() => parseSlurm(d), re, JSON.stringify(d));
  }
});
