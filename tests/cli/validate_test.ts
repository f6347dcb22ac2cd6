/** CLI contract of `rtr validate`: records, formats, sources and exit codes (main.ts as a subprocess). */
import assert from "node:assert/strict";
import { MAIN, requirePeers, runRtr, startStayRtr, stayRtrJson } from "../helpers/peers.ts";
import { HistoryStore } from "../../lib/store/history_store.ts";
import { diffTables, emptyTable, makeTable, VrpSet } from "../../lib/model/mod.ts";

const ROAS = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "192.0.2.0/23", maxLength: 25, asn: 64497 },
  { prefix: "192.0.2.128/25", maxLength: 25, asn: 64498 },
  { prefix: "198.51.100.0/24", maxLength: 24, asn: 0 },
  { prefix: "2001:db8::/32", maxLength: 48, asn: 64496 },
];

async function withTable<T>(fn: (dir: string, file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "rtr-validate-" });
  const file = `${dir}/table.json`;
  await Deno.writeTextFile(file, stayRtrJson(ROAS));
  try {
    return await fn(dir, file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function records(stdout: string): any[] {
  return stdout.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("rtr validate PREFIX ASN prints one validation record naming the deciding VRPs", async () => {
  await withTable(async (_dir, file) => {
    const r = await runRtr(["validate", "192.0.2.0/26", "AS64496", "--from", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(records(r.stdout), [{
      type: "validation",
      prefix: "192.0.2.0/26",
      asn: 64496,
      state: "invalid",
      reason: "as-and-length",
      matched: [],
      unmatchedAs: [{ prefix: "192.0.2.0/23", maxLength: 25, asn: 64497 }],
      unmatchedLength: [{ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }],
    }]);
  });
});

Deno.test("rtr validate reads routes from stdin in both line forms; a bad line is an error record and the batch goes on (exit 1)", async () => {
  await withTable(async (_dir, file) => {
    const stdin = [
      "192.0.2.0/24 64496",
      "# a comment",
      "",
      "192.0.2.0 24 AS64497",
      "192.0.2.0/24",
      "2001:db8:1::/48 as64496",
      "192.0.2.300/24 1",
      "203.0.113.0 24 1",
      "198.51.100.0/24 0",
      "192.0.2.77/24 64496",
    ].join("\n"); // no final newline: the last line still counts
    const r = await runRtr(["validate", "--from", file], { stdin });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /2 input lines were not a route/);
    const recs = records(r.stdout);
    assert.deepEqual(
      recs.map((x) => x.type === "error" ? `error ${x.line}` : `${x.prefix} ${x.state}`),
      [
        "192.0.2.0/24 valid",
        "192.0.2.0/24 valid",
        "error 5",
        "2001:db8:1::/48 valid",
        "error 7",
        "203.0.113.0/24 not-found",
        "198.51.100.0/24 invalid",
        "192.0.2.0/24 valid",
      ],
    );
    assert.match(recs[2].message, /expected PREFIX ASN or IP MASKLEN ASN/);
    assert.match(recs[4].message, /invalid IP address "192.0.2.300"/);
    assert.equal(recs[6].reason, "as");
  });
});

Deno.test("rtr validate exits 0 when every route was validated, invalid ones included", async () => {
  await withTable(async (_dir, file) => {
    const r = await runRtr(["validate", "--from", file], {
      stdin: "192.0.2.0/24 1\n10.0.0.0/8 1\n",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(records(r.stdout).map((x) => x.state), ["invalid", "not-found"]);
  });
});

Deno.test("rtr validate --format rov prints rpki-rov answer lines", async () => {
  await withTable(async (_dir, file) => {
    const r = await runRtr(["validate", "--from", file, "--format", "rov"], {
      stdin: "192.0.2.0 24 64496\n192.0.2.0 26 64497\n203.0.113.0 24 1\n2001:db8:: 49 64496\n",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        "192.0.2.0 24 64496|64497 192.0.2.0 23 25,64496 192.0.2.0 24 24|0",
        "192.0.2.0 26 64497|64497 192.0.2.0 23 25,64496 192.0.2.0 24 24|2",
        "203.0.113.0 24 1||1",
        "2001:db8:: 49 64496|64496 2001:db8:: 32 48|2",
        "",
      ].join("\n"),
    );
  });
});

Deno.test("rtr validate --format text --more-specifics prints an aligned table", async () => {
  await withTable(async (_dir, file) => {
    const r = await runRtr([
      "validate",
      "192.0.2.0/24",
      "64499",
      "--from",
      file,
      "--format",
      "text",
      "--more-specifics",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "ROUTE                ORIGIN       STATE      REASON         VRPS\n" +
        "192.0.2.0/24         AS64499      invalid    as             " +
        "192.0.2.0/23-25 AS64497 (as), 192.0.2.0/24-24 AS64496 (as), " +
        "192.0.2.128/25-25 AS64498 (more specific)\n",
    );
  });
});

Deno.test("rtr validate --more-specifics adds a moreSpecifics list to the record", async () => {
  await withTable(async (_dir, file) => {
    const r = await runRtr([
      "validate",
      "192.0.2.0/23",
      "64497",
      "--from",
      file,
      "--more-specifics",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [rec] = records(r.stdout);
    assert.equal(rec.state, "valid");
    assert.deepEqual(rec.moreSpecifics, [
      { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
      { prefix: "192.0.2.128/25", maxLength: 25, asn: 64498 },
    ]);
  });
});

Deno.test("rtr validate uses ./data/routingtable.json by default and accepts a data dir", async () => {
  await withTable(async (dir, file) => {
    await Deno.mkdir(`${dir}/data`);
    await Deno.copyFile(file, `${dir}/data/routingtable.json`);
    const a = await runRtr(["validate", "192.0.2.0/24", "64496"], { cwd: dir });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(records(a.stdout)[0].state, "valid");
    const b = await runRtr(["validate", "192.0.2.0/24", "64496", "--from", `${dir}/data/`]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(records(b.stdout)[0].state, "valid");
    // A directory without a current table is a source failure.
    const c = await runRtr(["validate", "192.0.2.0/24", "64496", "--from", dir]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /no routingtable\.json in it/);
  });
});

Deno.test("rtr validate reads the table from stdin with --from - and a route argument", async () => {
  const r = await runRtr(["validate", "2001:db8::/40", "AS64496", "--from", "-"], {
    stdin: stayRtrJson(ROAS),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(records(r.stdout)[0].state, "valid");
});

Deno.test("rtr validate exits 1 when the source fails and 2 on usage errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtr-validate-" });
  try {
    const cases: [string[], number, RegExp][] = [
      [["validate", "192.0.2.0/24", "1", "--from", `${dir}/missing.json`], 1, /no such file/],
      [["validate", "192.0.2.0/24", "1"], 2, /No table to use/],
      [["validate", "192.0.2.0/24", "--from", "x.json"], 2, /expected PREFIX ASN/],
      [["validate", "192.0.2.0/24", "AS-1", "--from", "x.json"], 2, /invalid AS number/],
      [["validate", "--format", "xml", "--from", "x.json"], 2, /Unknown --format "xml"/],
      [["validate", "--format", "rov", "--more-specifics", "--from", "x"], 2, /--more-specifics/],
      [["validate", "--from", "-"], 2, /give the route as arguments/],
      [["validate", "--bogus"], 2, /bogus/],
    ];
    for (const [args, code, err] of cases) {
      const r = await runRtr(args, { cwd: dir });
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, err);
      assert.equal(r.stdout, "");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr validate --from HOST:PORT syncs from a cache first", async () => {
  if (!requirePeers("stayrtr")) return;
  await withTable(async (_dir, file) => {
    const stay = await startStayRtr(file);
    try {
      const r = await runRtr(
        ["validate", "--from", `127.0.0.1:${stay.port}`, "--format", "rov", "--timeout", "10"],
        { stdin: "192.0.2.128 25 64498\n198.51.100.0 24 0\n" },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        "192.0.2.128 25 64498|64497 192.0.2.0 23 25,64496 192.0.2.0 24 24,64498 192.0.2.128 25 25|0\n" +
          "198.51.100.0 24 0|0 198.51.100.0 24 24|2\n",
      );
    } finally {
      await stay.stop();
    }
  });
});

Deno.test("rtr validate and rtr show read the current table of a data dir written by the history store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtr-validate-" });
  try {
    const table = makeTable(VrpSet.from(ROAS), [], []);
    const store = await HistoryStore.open(`${dir}/data`, { create: true });
    await store.recordSync({
      time: new Date(),
      sessionId: 7,
      version: 1,
      serial: 1,
      reset: true,
      diff: diffTables(emptyTable(), table),
      table,
      timers: { refresh: 3600, retry: 600, expire: 7200 },
      source: "127.0.0.1:8282",
    });
    const v = await runRtr(["validate", "2001:db8::/48", "AS64496"], { cwd: dir });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(records(v.stdout)[0].state, "valid");
    const s = await runRtr(["show", "192.0.2.0/24", "--from", `${dir}/data`]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^192\.0\.2\.0\/24 +192\.0\.2\.0\/24 +AS64496$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtr validate answers each line as it arrives, so a program can talk to it in lockstep", async () => {
  await withTable(async (_dir, file) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--quiet", MAIN, "validate", "--from", file, "--format", "rov"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 20000);
    try {
      const w = child.stdin.getWriter();
      const r = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      const nextLine = async () => {
        while (!buf.includes("\n")) {
          const { value, done } = await r.read();
          if (done) throw new Error("stdout closed before an answer");
          buf += value;
        }
        const line = buf.slice(0, buf.indexOf("\n"));
        buf = buf.slice(buf.indexOf("\n") + 1);
        return line;
      };
      const enc = new TextEncoder();
      await w.write(enc.encode("192.0.2.0 24 64496\n"));
      assert.equal(
        await nextLine(),
        "192.0.2.0 24 64496|64497 192.0.2.0 23 25,64496 192.0.2.0 24 24|0",
      );
      await w.write(enc.encode("203.0.113.0 24 1\n"));
      assert.equal(await nextLine(), "203.0.113.0 24 1||1");
      await w.close();
      assert.equal((await r.read()).done, true);
      assert.equal((await child.status).code, 0);
    } finally {
      clearTimeout(killer);
    }
  });
});
