/** CLI contract of `rtr show`: the old rtr_show table, filters, exit codes. */
import assert from "node:assert/strict";
import { runRtr, stayRtrJson } from "../helpers/peers.ts";

const ROAS = [
  { prefix: "1.37.0.0/16", maxLength: 17, asn: 4775 },
  { prefix: "1.37.128.0/17", maxLength: 17, asn: 4775 },
  { prefix: "1.37.4.0/24", maxLength: 24, asn: 64496 },
  { prefix: "1.36.0.0/16", maxLength: 16, asn: 4760 },
  { prefix: "112.198.0.0/16", maxLength: 24, asn: 4775 },
  { prefix: "2001:db8::/32", maxLength: 32, asn: 64496 },
];

const HEADER = "ROUTE            ROA              MaxLen ASN\n";

async function withFile<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "rtr-show-" });
  try {
    await Deno.writeTextFile(`${dir}/t.json`, stayRtrJson(ROAS));
    return await fn(`${dir}/t.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("rtr show prints the old rtr_show table, a header per prefix, exact prefix only", async () => {
  await withFile(async (file) => {
    const r = await runRtr(["show", "1.37.0.0/16", "112.198.0.0/16", "--from", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      HEADER +
        "1.37.0.0/16      1.37.0.0/16         /17 AS4775\n" +
        HEADER +
        "112.198.0.0/16   112.198.0.0/16      /24 AS4775\n",
    );
  });
});

Deno.test("rtr show -l adds more-specific VRPs; MaxLen is blank when it equals the length", async () => {
  await withFile(async (file) => {
    const r = await runRtr(["show", "-l", "1.37.0.0/16", "--from", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      HEADER +
        "1.37.0.0/16      1.37.0.0/16         /17 AS4775\n" +
        "1.37.0.0/16      1.37.4.0/24             AS64496\n" +
        "1.37.0.0/16      1.37.128.0/17           AS4775\n",
    );
  });
});

Deno.test("rtr show prints only the header for a prefix without VRPs, and handles IPv6", async () => {
  await withFile(async (file) => {
    const r = await runRtr(["show", "10.0.0.0/8", "2001:db8::/32", "--from", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, HEADER + HEADER + "2001:db8::/32    2001:db8::/32           AS64496\n");
  });
});

Deno.test("rtr show masks host bits with a warning, exits 2 on a bad prefix and 1 on a bad source", async () => {
  await withFile(async (file) => {
    const a = await runRtr(["show", "1.37.1.1/16", "--from", file]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stderr, /host bits set; showing 1\.37\.0\.0\/16/);
    assert.equal(a.stdout, HEADER + "1.37.0.0/16      1.37.0.0/16         /17 AS4775\n");
    for (const args of [["show", "--from", file], ["show", "1.37.0.0", "--from", file]]) {
      const r = await runRtr(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.stdout, "");
    }
    const c = await runRtr(["show", "1.37.0.0/16", "--from", `${file}.missing.json`]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /no such file/);
  });
});

Deno.test("rtr show --asn narrows the rows of a PREFIX, or selects them alone", async () => {
  await withFile(async (file) => {
    const r = await runRtr(["show", "-l", "1.37.0.0/16", "--asn", "4775", "--from", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      HEADER +
        "1.37.0.0/16      1.37.0.0/16         /17 AS4775\n" +
        "1.37.0.0/16      1.37.128.0/17           AS4775\n",
    );
    const all = await runRtr(["show", "--asn", "AS4775", "--asn", "64496", "--from", file]);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(
      all.stdout,
      HEADER +
        "1.37.0.0/16      1.37.0.0/16         /17 AS4775\n" +
        "1.37.4.0/24      1.37.4.0/24             AS64496\n" +
        "1.37.128.0/17    1.37.128.0/17           AS4775\n" +
        "112.198.0.0/16   112.198.0.0/16      /24 AS4775\n" +
        "2001:db8::/32    2001:db8::/32           AS64496\n",
    );
  });
});

Deno.test("rtr show --prefix P and P+ select VRPs without a PREFIX argument", async () => {
  await withFile(async (file) => {
    const exact = await runRtr(["show", "--prefix", "1.37.0.0/16", "--from", file]);
    assert.equal(exact.code, 0, exact.stderr);
    assert.equal(exact.stdout, HEADER + "1.37.0.0/16      1.37.0.0/16         /17 AS4775\n");
    const more = await runRtr([
      "show",
      "--prefix",
      "1.37.0.0/16+",
      "--asn",
      "4775",
      "--from",
      file,
    ]);
    assert.equal(
      more.stdout,
      HEADER +
        "1.37.0.0/16      1.37.0.0/16         /17 AS4775\n" +
        "1.37.128.0/17    1.37.128.0/17           AS4775\n",
    );
    const none = await runRtr(["show", "--from", file]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Expected at least one PREFIX, --asn or --prefix/);
    const bad = await runRtr(["show", "--prefix", "1.37.0.0/40", "--from", file]);
    assert.equal(bad.code, 2);
  });
});
