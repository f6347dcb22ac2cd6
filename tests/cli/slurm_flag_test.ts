/**
 * `--slurm FILE` of `validate` and `snapshot` (what routers behind `rtr serve --slurm` would get),
 * and the usage errors of `rtr serve`'s upstream flags: each a subprocess checked for stdout,
 * stderr and exit code.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { runRtr } from "../helpers/peers.ts";
import { startServe } from "../helpers/serve.ts";

const TABLE = new URL("../../testdata/interop-table.json", import.meta.url).pathname;

const SLURM = {
  slurmVersion: 1,
  validationOutputFilters: { prefixFilters: [{ prefix: "192.0.2.0/24" }], bgpsecFilters: [] },
  locallyAddedAssertions: {
    prefixAssertions: [{ asn: 64511, prefix: "2001:db8:ffff::/48" }],
    bgpsecAssertions: [],
  },
};

async function withSlurmFile(doc: unknown, f: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/slurm.json`;
    await Deno.writeTextFile(path, typeof doc === "string" ? doc : JSON.stringify(doc));
    await f(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("validate --slurm: a filtered route is not-found, an invalid one asserted valid", async () => {
  await withSlurmFile(SLURM, async (slurm) => {
    const stdin = "192.0.2.0/24 AS64496\n2001:db8:ffff::/48 AS64511\n";
    const plain = await runRtr(["validate", "--from", TABLE], { stdin });
    eq(plain.code, 0, plain.stderr);
    eq(plain.stdout.trim().split("\n").map((l) => JSON.parse(l).state), ["valid", "invalid"]);
    const r = await runRtr(["validate", "--from", TABLE, "--slurm", slurm], { stdin });
    eq(r.code, 0, r.stderr);
    eq(r.stdout.trim().split("\n").map((l) => JSON.parse(l).state), ["not-found", "valid"]);
  });
});

Deno.test("validate --slurm: a broken SLURM file is one line on stderr and exit 1, nothing on stdout", async () => {
  await withSlurmFile({ ...SLURM, slurmVersion: 7 }, async (slurm) => {
    const r = await runRtr(["validate", "--from", TABLE, "--slurm", slurm, "192.0.2.0/24", "1"]);
    eq(r.code, 1);
    eq(r.stdout, "");
    eq(r.stderr.trim().split("\n").length, 1, r.stderr);
    assertIncludes(r.stderr, `Cannot read SLURM file ${slurm}: Invalid SLURM: slurmVersion is 7`);
  });
});

Deno.test("snapshot --slurm: the table after the exceptions, refused with --serial", async () => {
  const srv = await startServe(TABLE);
  try {
    await withSlurmFile(SLURM, async (slurm) => {
      const r = await runRtr([
        "snapshot",
        `127.0.0.1:${srv.port}`,
        "--format",
        "ndjson",
        "--slurm",
        slurm,
      ]);
      eq(r.code, 0, r.stderr);
      const vrps = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((x) =>
        x.type === "vrp"
      ).map((x) => `${x.prefix} AS${x.asn}`);
      assertOk(vrps.includes("2001:db8:ffff::/48 AS64511"), vrps.join("\n"));
      assertOk(!vrps.some((v) => v.startsWith("192.0.2.0/24 ")), vrps.join("\n"));
      const d = await runRtr([
        "snapshot",
        `127.0.0.1:${srv.port}`,
        "--serial",
        "1",
        "--session",
        "1",
        "--slurm",
        slurm,
      ]);
      eq(d.code, 2);
      assertIncludes(d.stderr, "--slurm applies to a whole table");
    });
  } finally {
    eq(await srv.stop(), 0);
  }
});

Deno.test("serve: upstream flags are checked before anything starts (exit 2)", async () => {
  const cases: [string[], string][] = [
    [[], "Expected one FILE to serve or --upstream"],
    [["--upstream", "http://127.0.0.1:1"], "unknown scheme http://"],
    [["--upstream", "127.0.0.1:1", "--combine", "all"], "--combine must be any or merge"],
    [["--upstream", "127.0.0.1:1", "--upstream", "127.0.0.1:1"], "is given twice"],
    [["--upstream", "127.0.0.1:1", "--upstream-ca", "ca.pem"], "need a tls:// upstream"],
    [[TABLE, "--combine", "merge"], "--combine needs --upstream"],
  ];
  for (const [args, msg] of cases) {
    const r = await runRtr(["serve", ...args, "--listen", "127.0.0.1:0"], { timeoutMs: 20000 });
    eq(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertIncludes(r.stderr, msg);
    eq(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
