import { assertEquals as eq, assertIncludes } from "../helpers/assert.ts";
import { parseTableText } from "../../lib/formats/read.ts";
import { runRtr } from "../helpers/peers.ts";

/** The old Python client's data/routingtable.json, as its json.dumps(indent=2) wrote it. */
const OLD = JSON.stringify(
  {
    routes: {
      ipv4: {
        "1.37.0.0/16": { "17": [{ "4775": "1.37.0.0/16" }, { "4776": "1.37.0.0/16" }] },
        "1.0.0.0/24": { "24": [{ "13335": "1.0.0.0/24" }] },
      },
      ipv6: { "2001:db8::/32": { "48": [{ "64496": "2001:db8::/32" }] } },
    },
  },
  null,
  2,
);

Deno.test("parseTableText() reads the old client's routingtable.json", () => {
  const t = parseTableText(OLD, "routingtable.json");
  eq(t.dialect, "rtr-client");
  eq([...t.table.vrps].map((v) => `${v.prefix} ${v.maxLength} ${v.asn}`), [
    "1.0.0.0/24 24 13335",
    "1.37.0.0/16 17 4775",
    "1.37.0.0/16 17 4776",
    "2001:db8::/32 48 64496",
  ]);
});

Deno.test("rtr show works in an old client's data directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/routingtable.json`, OLD);
    const r = await runRtr(["show", "1.37.0.0/16", "--from", dir]);
    eq(r.code, 0, r.stderr);
    assertIncludes(r.stdout, "1.37.0.0/16      1.37.0.0/16         /17 AS4775");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
