/**
 * A `follow --serial` start leaves a partial routingtable.json: the file says so
 * (`"partial":true`, `"partialFrom"`), and `validate`, `show` and `diff` warn once on stderr.
 * A full table (a reset) ends it.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { startFakeCache } from "../helpers/fake_cache.ts";
import { spawnRtr } from "../helpers/child_lines.ts";
import { runRtr } from "../helpers/peers.ts";
import { HistoryStore, readTableMetadata, TABLE_FILE } from "../../lib/store/history_store.ts";
import { diffTables, emptyTable } from "../../lib/model/mod.ts";
import { table } from "../store/fixtures.ts";
import type { Pdu } from "../../lib/wire/mod.ts";

const WARNING =
  "rtr: warning: the data dir's table is partial: follow started from serial 2 with --serial; run follow without --serial for a full table";

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

Deno.test("follow --serial marks routingtable.json partial; validate, show and diff warn once", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    const pdus: Pdu[] = [
      { type: 3, version: 1, sessionId: 9 },
      {
        type: 4,
        version: 1,
        flags: 1,
        prefixLength: 24,
        maxLength: 24,
        addr: [0xc0000200],
        asn: 64496,
      },
      { type: 7, version: 1, sessionId: 9, serial: 3, refresh: 3600, retry: 600, expire: 7200 },
    ];
    await c.write(pdus);
    await c.readPdu(15000).catch(() => null);
  });
  const dir = await Deno.makeTempDir();
  const data = `${dir}/d`;
  const f = spawnRtr([
    "follow",
    `127.0.0.1:${cache.port}`,
    "--protocol",
    "1",
    "--serial",
    "2",
    "--session",
    "9",
    "--data-dir",
    data,
  ]);
  try {
    await f.waitFor((l) => l.some((x) => x.includes('"type":"sync"')), 15000, "the first sync");
    eq(await f.stop("SIGINT"), 0);
    const meta = await readTableMetadata(`${data}/${TABLE_FILE}`);
    eq(meta?.partial, true);
    eq(meta?.partialFrom, 2);

    const v = await runRtr(["validate", "--from", data, "192.0.2.0/24", "64496"]);
    eq(v.code, 0, v.stderr);
    eq(count(v.stderr, WARNING), 1, v.stderr);
    const s = await runRtr(["show", "--from", data, "192.0.2.0/24"]);
    eq(s.code, 0, s.stderr);
    eq(count(s.stderr, WARNING), 1, s.stderr);
    const d = await runRtr(["diff", "3", "3", "--data-dir", data]);
    eq(count(d.stderr, WARNING), 1, d.stderr);
  } finally {
    await f.stop("SIGKILL");
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HistoryStore: partial from a --serial start, kept across deltas and a reopen, ended by a reset", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t = table([["192.0.2.0/24", 24, 64496]]);
    const base = {
      time: new Date(Date.UTC(2026, 10, 28)),
      sessionId: 9,
      version: 1,
      timers: { refresh: 3600, retry: 600, expire: 7200 },
      source: "c:1",
      table: t,
      diff: diffTables(emptyTable(), t),
    };
    let store = await HistoryStore.open(dir, { create: true });
    eq(store.partialFrom, null);
    await store.recordSync(
      { ...base, serial: 3, previousSerial: 2, reset: false, partialFrom: 2 } as never,
    );
    eq(store.partialFrom, 2);
    await store.recordSync({ ...base, serial: 4, previousSerial: 3, reset: false } as never);
    eq((await readTableMetadata(`${dir}/${TABLE_FILE}`))?.partialFrom, 2);
    store = await HistoryStore.open(dir, { create: true });
    eq(store.partialFrom, 2);
    await store.recordSync({ ...base, serial: 5, previousSerial: 4, reset: true } as never);
    eq(store.partialFrom, null);
    const meta = await readTableMetadata(`${dir}/${TABLE_FILE}`);
    assertOk(meta && !("partial" in meta), JSON.stringify(meta));
    const v = await runRtr(["validate", "--from", dir, "192.0.2.0/24", "64496"]);
    eq(v.code, 0, v.stderr);
    eq(count(v.stderr, "partial"), 0, v.stderr);
    assertIncludes(v.stdout, '"state":"valid"');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
