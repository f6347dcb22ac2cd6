/** tools/gen_table.ts: the counts asked for are the counts written. */
import { assertEquals as eq } from "../helpers/assert.ts";
import { generateTable, tableJson } from "../../tools/gen_table.ts";

Deno.test("gen_table --aspa N writes N ASPA records with distinct customers", async () => {
  for (const [count, aspas, seed] of [[20000, 200, 7], [5000, 50, 42], [2000, 250, 3]]) {
    const t = await generateTable({ count, seed, routerKeys: 2, aspas });
    eq(t.aspas.length, aspas, `count ${count} aspa ${aspas} seed ${seed}`);
    eq(new Set(t.aspas.map((a) => a.customer_asid)).size, aspas);
    eq(t.metadata.uniquevaps, aspas);
    const doc = JSON.parse(tableJson(t));
    eq(doc.aspas.length, aspas);
    eq(doc.provider_authorizations.ipv4.length, aspas);
  }
  // More customers than the table has origin ASes: every AS is one.
  eq((await generateTable({ count: 2000, aspas: 251 })).aspas.length, 250);
});

Deno.test("gen_table: the README's example writes exactly what it says", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-write",
        new URL("../../tools/gen_table.ts", import.meta.url).pathname,
        ...["--count", "20000", "--seed", "7", "--keys", "10", "--aspa", "200", "-o", "t.json"],
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    });
    const r = await p.output();
    eq(r.code, 0, new TextDecoder().decode(r.stderr));
    eq(new TextDecoder().decode(r.stderr), "20000 VRPs (15770 IPv4), 10 router keys, 200 ASPA\n");
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/t.json`));
    eq([doc.roas.length, doc.bgpsec_keys.length, doc.aspas.length], [20000, 10, 200]);
    // Asking for more than the table can hold is an error, not silently fewer records.
    const more = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-write",
        new URL("../../tools/gen_table.ts", import.meta.url).pathname,
        ...["--count", "2000", "--aspa", "251", "-o", "u.json"],
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    eq(more.code, 2);
    eq(await Deno.stat(`${dir}/u.json`).then(() => true, () => false), false);
    eq(
      new TextDecoder().decode(more.stderr),
      "gen_table: cannot make 251 ASPA records: 2000 VRPs have only 250 origin ASes to be customers (raise --count)\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
