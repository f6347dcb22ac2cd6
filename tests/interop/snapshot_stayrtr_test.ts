/**
 * `rtr snapshot` against real StayRTR 0.5.1, and the same set seen by rtrdump and RTRlib's
 * rtrclient (issue 2 acceptance).
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { requirePeers, runCommand, runRtr, startStayRtr } from "../helpers/peers.ts";

const TABLE = new URL("../../testdata/interop-table.json", import.meta.url).pathname;

/** The test table with a fresh buildtime (StayRTR refuses files older than 24 h). */
async function freshTable(dir: string, mutate?: (doc: any) => void): Promise<string> {
  const doc = JSON.parse(await Deno.readTextFile(TABLE));
  const now = new Date();
  doc.metadata.buildtime = now.toISOString().replace(/\.\d+Z$/, "Z");
  doc.metadata.generated = Math.floor(now.getTime() / 1000);
  mutate?.(doc);
  const path = `${dir}/table.json`;
  await Deno.writeTextFile(path, JSON.stringify(doc));
  return path;
}

function ndjson(text: string): any[] {
  return text.trim().split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

const want = JSON.parse(Deno.readTextFileSync(TABLE));
const wantVrps = want.roas.map((r: any) => `${r.prefix} ${r.maxLength} ${r.asn}`).sort();
const wantKeys = want.bgpsec_keys.map((k: any) => `${k.asn} ${k.ski} ${k.pubkey}`).sort();
const wantAspas = want.aspas.map((a: any) => `${a.customer_asid} ${a.providers.join(",")}`).sort();

function sets(records: any[]) {
  return {
    vrps: records.filter((r) => r.type === "vrp").map((r) => `${r.prefix} ${r.maxLength} ${r.asn}`)
      .sort(),
    keys: records.filter((r) => r.type === "routerKey").map((r) => `${r.asn} ${r.ski} ${r.pubkey}`)
      .sort(),
    aspas: records.filter((r) => r.type === "aspa").map((r) =>
      `${r.customer_asid} ${r.providers.join(",")}`
    )
      .sort(),
  };
}

Deno.test("snapshot --protocol 0, 1 and 2 against StayRTR yield exactly the set each version carries", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const cache = await startStayRtr(await freshTable(dir));
  try {
    for (const v of [0, 1, 2]) {
      const r = await runRtr([
        "snapshot",
        `127.0.0.1:${cache.port}`,
        "--protocol",
        `${v}`,
        "--format",
        "ndjson",
      ]);
      eq(r.code, 0, r.stderr);
      const recs = ndjson(r.stdout);
      const s = sets(recs);
      eq(s.vrps, wantVrps);
      eq(s.keys, v >= 1 ? wantKeys : []);
      eq(s.aspas, v >= 2 ? wantAspas : []);
      const sync = recs.at(-1);
      eq(sync.type, "sync");
      eq(sync.version, v);
      eq(sync.reset, true);
    }
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot sees the same VRPs and router keys as rtrdump and rtrclient", async () => {
  if (!requirePeers("stayrtr", "rtrdump", "rtrclient")) return;
  const dir = await Deno.makeTempDir();
  const cache = await startStayRtr(await freshTable(dir));
  try {
    const ours = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "-o",
      `${dir}/ours.json`,
    ]);
    eq(ours.code, 0, ours.stderr);
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/ours.json`));
    const dump = await runCommand("rtrdump", [
      "-connect",
      `127.0.0.1:${cache.port}`,
      "-rtr.version",
      "1",
      "-file",
      `${dir}/rtrdump.json`,
    ], { timeoutMs: 20000 });
    eq(dump.code, 0, dump.stderr);
    const theirs = JSON.parse(await Deno.readTextFile(`${dir}/rtrdump.json`));
    const key = (r: any) => `${r.prefix} ${r.maxLength} ${r.asn}`;
    eq(doc.roas.map(key).sort(), theirs.roas.map(key).sort());
    const k = (x: any) => `${x.asn} ${x.ski.toUpperCase()} ${x.pubkey}`;
    eq(doc.bgpsec_keys.map(k).sort(), theirs.bgpsec_keys.map(k).sort());

    const rc = await runCommand("rtrclient", [
      "-e",
      "-t",
      "csv",
      "-o",
      `${dir}/rc.csv`,
      "tcp",
      "127.0.0.1",
      `${cache.port}`,
    ], {
      timeoutMs: 20000,
    });
    eq(rc.code, 0, rc.stderr);
    const rows = (await Deno.readTextFile(`${dir}/rc.csv`)).trim().split("\n").filter((l) =>
      l.trim()
    );
    // RTRlib 0.8.0 prints ASNs ≥ 2^31 as negative numbers: read them back as unsigned.
    const rcVrps = rows.map((l) => {
      const [ip, len, max, asn] = l.split(",").map((x) => x.trim());
      return `${ip}/${len} ${max} ${Number(asn) >>> 0}`;
    }).sort();
    eq(rcVrps, doc.roas.map(key).sort());
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot proposing version 2 to a version-1 StayRTR settles on version 1", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const cache = await startStayRtr(await freshTable(dir), ["-protocol", "1"]);
  try {
    const r = await runRtr(["snapshot", `127.0.0.1:${cache.port}`, "--format", "ndjson"]);
    eq(r.code, 0, r.stderr);
    const recs = ndjson(r.stdout);
    eq(recs.at(-1).version, 1);
    eq(sets(recs).keys, wantKeys);
    eq(sets(recs).aspas, []);
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot of a StayRTR that refuses its file exits 4 naming No Data Available", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const cache = await startStayRtr(await freshTable(dir, (d) => delete d.metadata));
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "-o",
      `${dir}/out.json`,
      "--timeout",
      "10",
    ]);
    eq(r.code, 4, r.stderr);
    assertIncludes(r.stderr, "No Data Available");
    eq(r.stderr.trim().split("\n").length, 1);
    eq(r.stdout, "");
    let exists = true;
    await Deno.stat(`${dir}/out.json`).catch(() => exists = false);
    eq(exists, false);
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("our JSON served by StayRTR and snapshotted again gives the same set", async () => {
  if (!requirePeers("stayrtr")) return;
  const dir = await Deno.makeTempDir();
  const first = await startStayRtr(await freshTable(dir));
  let second;
  try {
    const a = await runRtr(["snapshot", `127.0.0.1:${first.port}`, "-o", `${dir}/a.json`]);
    eq(a.code, 0, a.stderr);
    second = await startStayRtr(`${dir}/a.json`);
    const b = await runRtr(["snapshot", `127.0.0.1:${second.port}`, "-o", `${dir}/b.json`]);
    eq(b.code, 0, b.stderr);
    const da = JSON.parse(await Deno.readTextFile(`${dir}/a.json`));
    const db = JSON.parse(await Deno.readTextFile(`${dir}/b.json`));
    eq(db.roas, da.roas);
    eq(db.bgpsec_keys, da.bgpsec_keys);
    eq(db.aspas, da.aspas);
    assertOk(da.roas.length === want.roas.length);
  } finally {
    await first.stop();
    await second?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
