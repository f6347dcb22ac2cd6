import assert from "node:assert/strict";
import { generateTable, tableJson } from "../../tools/gen_table.ts";
import { runCommand } from "../helpers/peers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("gen_table: testdata/demo-table.json is what the generator makes with its defaults", async () => {
  const t = await generateTable({ count: 5000, seed: 42, routerKeys: 4, aspas: 50 });
  const committed = await Deno.readTextFile(`${ROOT}testdata/demo-table.json`);
  assert.equal(tableJson(t), committed);
  assert.ok(committed.length < 1_000_000);
});

Deno.test("gen_table: a seed decides the table; shape is 80 % IPv4 with unique VRPs", async () => {
  const a = await generateTable({ count: 2000, seed: 5, routerKeys: 2, aspas: 10 });
  const b = await generateTable({ count: 2000, seed: 5, routerKeys: 2, aspas: 10 });
  const c = await generateTable({ count: 2000, seed: 6, routerKeys: 2, aspas: 10 });
  assert.equal(tableJson(a), tableJson(b));
  assert.notEqual(tableJson(a), tableJson(c));
  assert.equal(a.roas.length, 2000);
  const v4 = a.roas.filter((r) => !r.prefix.includes(":")).length / a.roas.length;
  assert.ok(v4 > 0.75 && v4 < 0.85, `IPv4 share ${v4}`);
  assert.equal(new Set(a.roas.map((r) => `${r.prefix} ${r.maxLength} ${r.asn}`)).size, 2000);
  assert.equal(a.bgpsec_keys.length, 2);
  assert.equal(a.aspas.length, 10);
});

Deno.test("deno task demo serves the demo table, syncs it, shows a delta and stops cleanly", async () => {
  const r = await runCommand(Deno.execPath(), ["run", "--allow-all", `${ROOT}tools/demo.ts`], {
    timeoutMs: 60000,
  });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /5000 VRPs \(3992 IPv4, 1008 IPv6\), 4 router keys, 50 ASPA/);
  assert.match(
    r.stdout,
    /"action":"announce","prefix":"192\.0\.2\.0\/24","maxLength":24,"asn":64496/,
  );
  assert.match(r.stdout, /"action":"withdraw"/);
  assert.match(r.stdout, /Try next/);
  // The commands to try next: one comment column, and only subcommands that exist.
  const next = r.stdout.split("\n").slice(
    r.stdout.split("\n").findIndex((l) => /Try next/.test(l)) + 1,
  )
    .filter((l) => l.startsWith("   rtr "));
  assert.ok(next.length >= 8, next.join("\n"));
  assert.deepEqual(new Set(next.map((l) => l.indexOf("#"))).size, 1, next.join("\n"));
  const known = [
    "serve",
    "snapshot",
    "follow",
    "diff",
    "replay",
    "validate",
    "show",
    "probe",
    "help",
  ];
  for (const l of next) assert.ok(known.includes(l.split(/\s+/)[2]), l);
  for (const cmd of ["validate", "show", "probe"]) {
    assert.ok(
      next.some((l) => l.startsWith(`   rtr ${cmd} `)),
      `no ${cmd} in:\n${next.join("\n")}`,
    );
  }
});
