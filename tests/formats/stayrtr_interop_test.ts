import assert from "node:assert/strict";
import { AtomicFile } from "../../lib/cli/io.ts";
import { readTableFile } from "../../lib/formats/read.ts";
import { writeTable } from "../../lib/formats/write.ts";
import {
  requirePeers,
  requireSharedData,
  runCommand,
  SHARED,
  startStayRtr,
} from "../helpers/peers.ts";
import type { PayloadTable } from "../../lib/model/mod.ts";
import { smallTable } from "./table_fixtures.ts";

/** Write `table` as our JSON, serve it with StayRTR, fetch it back with rtrdump. */
async function throughStayRtr(table: PayloadTable, rtrVersion: number): Promise<PayloadTable> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/ours.json`;
  const out = `${dir}/rtrdump.json`;
  const f = await AtomicFile.create(file);
  await writeTable(f.sink, table, "json", { source: "test", generated: new Date() });
  await f.commit();
  const s = await startStayRtr(file);
  try {
    const r = await runCommand("rtrdump", [
      "-connect",
      `127.0.0.1:${s.port}`,
      "-rtr.version",
      String(rtrVersion),
      "-file",
      out,
    ], { timeoutMs: 15000 });
    assert.equal(r.code, 0, `rtrdump failed: ${r.stderr}\nstayrtr: ${s.log()}`);
    return (await readTableFile(out)).table;
  } finally {
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("StayRTR serves our json: rtrdump sees the same VRPs, router keys and ASPA", async () => {
  if (!requirePeers("stayrtr", "rtrdump")) return;
  const t = smallTable();
  const back = await throughStayRtr(t, 2);
  assert.deepEqual(back.vrps, t.vrps);
  assert.deepEqual(back.routerKeys, t.routerKeys);
  assert.deepEqual(back.aspas, t.aspas);
});

Deno.test("StayRTR serves our json of a real 2017 set: rtrdump at v1 sees every VRP", async () => {
  if (!requirePeers("stayrtr", "rtrdump") || !requireSharedData("vrps_2017_weekly")) return;
  const t = (await readTableFile(
    `${SHARED}data/vrps_2017_weekly/authenticated-2017-04-13T17:02:02Z.vrps.json.gz`,
  )).table;
  const back = await throughStayRtr(t, 1);
  assert.equal(back.vrps.size, 38575);
  assert.deepEqual(back.vrps, t.vrps);
});
