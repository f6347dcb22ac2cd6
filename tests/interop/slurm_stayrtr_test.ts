/**
 * SLURM (RFC 8416) as StayRTR applies it: the same file given to StayRTR (`-slurm`) and to
 * `applySlurm` yields the same VRPs and router keys for a client.
 */
import { assertEquals as eq } from "../helpers/assert.ts";
import { requirePeers, runRtr, startStayRtr } from "../helpers/peers.ts";
import { applySlurm, parseSlurm } from "../../lib/model/slurm.ts";
import { makeTable } from "../../lib/model/table.ts";
import { VrpSet } from "../../lib/model/vrp_set.ts";

const TABLE = new URL("../../testdata/interop-table.json", import.meta.url).pathname;

/** Filters and assertions of both address families, ASN-only and prefix-only, keys too. */
const SLURM = {
  slurmVersion: 1,
  validationOutputFilters: {
    prefixFilters: [
      { prefix: "198.51.100.0/22", comment: "covers two VRPs" },
      { asn: 64499, comment: "fc00::/7" },
      { prefix: "2001:db8::/32", asn: 64498, comment: "prefix and ASN" },
    ],
    bgpsecFilters: [{ asn: 64498 }],
  },
  locallyAddedAssertions: {
    prefixAssertions: [
      { asn: 64496, prefix: "198.51.100.0/24", comment: "IPv4 back in" },
      { asn: 64510, prefix: "2001:db8:aaaa::/48", maxPrefixLength: 56 },
      { asn: 64496, prefix: "192.0.2.0/24", comment: "already there" },
    ],
    bgpsecAssertions: [{
      asn: 65000,
      SKI: "UQ9IXSminbe1FfnEePjtPLeqfSM=",
      routerPublicKey:
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4FxJr0n2bux1uX1Evl+QWwZYvIadPjLuFX2mxqKuAGUhKnr7VLLDgrE++l9p5eH2kWTNVAN22FUU3db/RKpE2w==",
    }],
  },
};

Deno.test("a SLURM file gives the same table from StayRTR -slurm and from applySlurm()", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const doc = JSON.parse(await Deno.readTextFile(TABLE));
  doc.metadata.buildtime = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  doc.metadata.generated = Math.floor(Date.now() / 1000);
  await Deno.writeTextFile(`${dir}/table.json`, JSON.stringify(doc));
  await Deno.writeTextFile(`${dir}/slurm.json`, JSON.stringify(SLURM));
  const cache = await startStayRtr(`${dir}/table.json`, ["-slurm", `${dir}/slurm.json`]);
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--format",
      "ndjson",
    ]);
    eq(r.code, 0, r.stderr);
    const recs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const theirs = {
      vrps: recs.filter((x) => x.type === "vrp").map((x) => `${x.prefix} ${x.maxLength} ${x.asn}`)
        .sort(),
      keys: recs.filter((x) => x.type === "routerKey").map((x) => `${x.asn} ${x.ski}`).sort(),
    };
    const table = makeTable(
      VrpSet.from(doc.roas),
      doc.bgpsec_keys,
      doc.aspas.map((a: any) => ({ customer: a.customer_asid, providers: a.providers })),
    );
    const out = applySlurm(table, parseSlurm(SLURM));
    const ours = {
      vrps: [...out.vrps].map((v) => `${v.prefix} ${v.maxLength} ${v.asn}`).sort(),
      keys: out.routerKeys.map((k) => `${k.asn} ${k.ski}`).sort(),
    };
    eq(ours, theirs);
    eq(ours.vrps.includes("2001:db8:aaaa::/48 56 64510"), true);
    eq(ours.vrps.some((v) => v.startsWith("fc00::/7")), false);
  } finally {
    await cache.stop();
  }
});
