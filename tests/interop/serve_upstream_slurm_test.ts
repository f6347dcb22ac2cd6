/**
 * SLURM (RFC 8416) in `rtr serve`: the same file given to StayRTR (`-slurm`), to `rtr serve
 * --upstream … --slurm` and to `rtr snapshot --slurm` yields the same table for a client, for filters and assertions of both
 * address families and router keys; a broken SLURM file written over the good one is refused
 * with a line on stderr and the served table stays as it was; a good one is then applied.
 */
import assert from "node:assert/strict";
import { parseTableText } from "../../lib/formats/read.ts";
import { requirePeers, runRtr, startStayRtr } from "../helpers/peers.ts";
import { startServe } from "../helpers/serve.ts";

const TABLE = new URL("../../testdata/interop-table.json", import.meta.url).pathname;

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

/** VRPs and router keys a v1 client gets from the cache at `port`, as sorted lines. */
async function view(port: number, extra: string[] = []): Promise<string[]> {
  const r = await runRtr(["snapshot", `127.0.0.1:${port}`, "--protocol", "1", ...extra], {
    timeoutMs: 20000,
  });
  assert.equal(r.code, 0, r.stderr);
  const t = parseTableText(r.stdout, "snapshot").table;
  return [
    ...[...t.vrps].map((v) => `${v.prefix} ${v.maxLength} AS${v.asn}`),
    ...t.routerKeys.map((k) => `key AS${k.asn} ${k.ski.toUpperCase()}`),
  ].sort();
}

async function replace(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.tmp`, text);
  await Deno.rename(`${path}.tmp`, path);
}

Deno.test("interop: one SLURM file gives the same table from StayRTR -slurm and rtr serve --slurm; a broken rewrite is refused and the table kept", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const doc = JSON.parse(await Deno.readTextFile(TABLE));
  doc.metadata.buildtime = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  doc.metadata.generated = Math.floor(Date.now() / 1000);
  await Deno.writeTextFile(`${dir}/table.json`, JSON.stringify(doc));
  const slurm = `${dir}/slurm.json`;
  await Deno.writeTextFile(slurm, JSON.stringify(SLURM));
  const plain = await startStayRtr(`${dir}/table.json`);
  const filtered = await startStayRtr(`${dir}/table.json`, ["-slurm", slurm]);
  try {
    const srv = await startServe(`--upstream=127.0.0.1:${plain.port}`, ["--slurm", slurm]);
    try {
      await srv.waitLog(/serving serial 1 /);
      const theirs = await view(filtered.port);
      const ours = await view(srv.port);
      assert.deepEqual(ours, theirs);
      // The exceptions did something, of both families and to keys.
      assert.notDeepEqual(ours, await view(plain.port));
      assert.ok(ours.includes("2001:db8:aaaa::/48 56 AS64510"));
      assert.ok(ours.includes("198.51.100.0/24 24 AS64496"));
      assert.ok(!ours.some((l) => l.startsWith("fc00::/7")));
      assert.ok(ours.some((l) => l.startsWith("key AS65000 ")));
      assert.ok(!ours.some((l) => l.startsWith("key AS64498 ")));
      // rtr snapshot --slurm shows the same from the unfiltered cache.
      assert.deepEqual(await view(plain.port, ["--slurm", slurm]), theirs);

      // A broken file is refused (stderr says why) and the table stays.
      await replace(slurm, JSON.stringify({ ...SLURM, slurmVersion: 3 }));
      await srv.waitLog(/refused SLURM .*slurm\.json \(file changed\): .*slurmVersion is 3/);
      assert.deepEqual(await view(srv.port), ours);
      await replace(slurm, "{ not json");
      await srv.waitLog(/refused SLURM .*slurm\.json \(file changed\): .*not JSON/);
      assert.deepEqual(await view(srv.port), ours);

      // A good one is applied: no filters, one assertion more.
      await replace(
        slurm,
        JSON.stringify({
          slurmVersion: 1,
          validationOutputFilters: { prefixFilters: [], bgpsecFilters: [] },
          locallyAddedAssertions: {
            prefixAssertions: [{ asn: 64511, prefix: "203.0.113.128/25" }],
            bgpsecAssertions: [],
          },
        }),
      );
      await srv.waitLog(
        /SLURM .*slurm\.json \(file changed\): version 1, 0 filters, 1 assertion in force/,
      );
      const after = await view(srv.port);
      assert.deepEqual(after, [...await view(plain.port), "203.0.113.128/25 25 AS64511"].sort());
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    await plain.stop();
    await filtered.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr serve --slurm: a SLURM file that is not valid at start is refused with exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/slurm.json`, JSON.stringify({ slurmVersion: 1 }));
    const r = await runRtr([
      "serve",
      TABLE,
      "--listen",
      "127.0.0.1:0",
      "--slurm",
      `${dir}/slurm.json`,
    ], { timeoutMs: 20000 });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^rtr serve: refused SLURM .*slurm\.json \(start\): Invalid SLURM: .*validationOutputFilters/m,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
