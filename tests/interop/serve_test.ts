/**
 * `rtr serve` against real routers' tooling: RTRlib's rtrclient (v1), StayRTR's rtrdump (v0, v1,
 * and v2 with the legacy ASPA layout) and our own `rtr snapshot` (v0, v1, v2) must each receive
 * exactly the served table for their version; after a file change rtrclient gets the change
 * through a Serial Query and prints it.
 */
import assert from "node:assert/strict";
import { parseTableText, readTableFile } from "../../lib/formats/read.ts";
import type { PayloadTable } from "../../lib/model/mod.ts";
import { generateTable, tableJson } from "../../tools/gen_table.ts";
import { requirePeers, runCommand, runRtr } from "../helpers/peers.ts";
import { startServe } from "../helpers/serve.ts";

async function makeFile(dir: string, count = 600): Promise<string> {
  const file = `${dir}/table.json`;
  const t = await generateTable({ count, seed: 7, routerKeys: 3, aspas: 12 });
  await Deno.writeTextFile(file, tableJson(t));
  return file;
}

/** A table as sorted text lines, limited to what `version` carries. */
function linesOf(t: PayloadTable, version: number): string[] {
  const out = [...t.vrps].map((v) => `vrp ${v.prefix} ${v.maxLength} AS${v.asn}`);
  if (version >= 1) {
    for (const k of t.routerKeys) out.push(`key AS${k.asn} ${k.ski.toUpperCase()} ${k.pubkey}`);
  }
  if (version >= 2) { for (const a of t.aspas) out.push(`aspa AS${a.customer} ${a.providers}`); }
  return out.sort();
}

Deno.test("interop: rtrclient, rtrdump v0/v1/v2-legacy and rtr snapshot v0/v1/v2 get exactly the served set", async () => {
  if (!requirePeers("rtrclient", "rtrdump")) return;
  const dir = await Deno.makeTempDir();
  try {
    const file = await makeFile(dir);
    const { table } = await readTableFile(file);
    const current = await startServe(file);
    const legacy = await startServe(file, ["--aspa-layout", "legacy"]);
    try {
      const host = `127.0.0.1`;
      // RTRlib 0.8.0 speaks up to version 1 and exports prefixes only.
      const rc = await runCommand(
        "rtrclient",
        ["-e", "-t", "csv", "tcp", host, `${current.port}`],
        {
          timeoutMs: 20000,
        },
      );
      assert.equal(rc.code, 0, rc.stderr);
      const fromRc = parseTableText(rc.stdout, "rtrclient").table;
      assert.deepEqual(linesOf(fromRc, 0), linesOf(table, 0));

      for (const [v, port] of [[0, current.port], [1, current.port], [2, legacy.port]]) {
        const out = `${dir}/rtrdump${v}.json`;
        const rd = await runCommand("rtrdump", [
          "-connect",
          `${host}:${port}`,
          "-rtr.version",
          `${v}`,
          "-file",
          out,
        ], { timeoutMs: 20000 });
        assert.equal(rd.code, 0, rd.stderr);
        const got = (await readTableFile(out)).table;
        assert.deepEqual(linesOf(got, v), linesOf(table, v), `rtrdump -rtr.version ${v}`);
        if (v === 0) assert.equal(got.routerKeys.length + got.aspas.length, 0);
      }

      for (const v of [0, 1, 2]) {
        const r = await runRtr(
          ["snapshot", `${host}:${current.port}`, "--protocol", `${v}`, "--format", "json"],
          { timeoutMs: 20000 },
        );
        assert.equal(r.code, 0, r.stderr);
        const got = parseTableText(r.stdout, "snapshot").table;
        assert.deepEqual(linesOf(got, 2), linesOf(table, v), `rtr snapshot --protocol ${v}`);
      }
    } finally {
      assert.equal(await current.stop(), 0);
      assert.equal(await legacy.stop(), 0);
    }
    assert.match(current.log(), /negotiated version 1/);
    assert.match(legacy.log(), /Cache Response v2, .*ASPA/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: after the file changes rtrclient -p gets the change through a Serial Query", async () => {
  if (!requirePeers("rtrclient", "stdbuf")) return;
  const dir = await Deno.makeTempDir();
  try {
    const file = await makeFile(dir, 100);
    const srv = await startServe(file, ["--notify-interval", "0.1"]);
    // Line-buffered so that every update reaches us before the process is stopped.
    const child = new Deno.Command("stdbuf", {
      args: ["-oL", "rtrclient", "-p", "tcp", "127.0.0.1", `${srv.port}`],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn();
    let out = "";
    const reader = (async () => {
      const dec = new TextDecoder();
      for await (const c of child.stdout) out += dec.decode(c);
    })();
    const waitFor = async (pred: () => boolean, what: string) => {
      const deadline = Date.now() + 15000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`rtrclient -p: no ${what}:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const updates = () =>
      out.split("\n").map((l) => /^([+-]) (\S+)\s+(\d+) -\s+(\d+)\s+(\d+)\s*$/.exec(l)).filter((
        m,
      ) => m !== null).map((m) => `${m![1]} ${m![2]}/${m![3]}-${m![4]} AS${m![5]}`);
    try {
      await waitFor(() => updates().length >= 100, "initial table");
      const t = JSON.parse(await Deno.readTextFile(file));
      const [gone] = t.roas.splice(0, 1);
      t.roas.push({ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 });
      await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(t));
      await Deno.rename(`${file}.tmp`, file);
      await waitFor(() => updates().length >= 102, "update lines");
      const after = updates().slice(100);
      const [addr, len] = gone.prefix.split("/");
      assert.deepEqual(
        after.sort(),
        ["+ 192.0.2.0/24-24 AS64496", `- ${addr}/${len}-${gone.maxLength} AS${gone.asn}`].sort(),
      );
      await srv.waitLog(/Serial Query session \d+ serial 1 → Cache Response v1, 2 payload PDUs/);
      assert.doesNotMatch(srv.log(), /Cache Reset/);
    } finally {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await reader;
      assert.equal(await srv.stop(), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
