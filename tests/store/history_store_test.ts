import assert from "node:assert/strict";
import { InputError } from "../../lib/errors.ts";
import {
  HistoryStore,
  parseSerialFile,
  readTableMetadata,
  STATE_FILE,
  TABLE_FILE,
  tableAtSerial,
} from "../../lib/store/mod.ts";
import { key, Recorder, table, tempDir } from "./fixtures.ts";
import { temporaryName } from "../../lib/io/mod.ts";

const T0 = table(
  [["192.0.2.0/24", 24, 64496], ["2001:db8::/32", 48, 64496]],
  [key(64498, 1)],
  [{ customer: 64500, providers: [64501] }],
);
const T1 = table(
  [["192.0.2.0/24", 24, 64496], ["198.51.100.0/24", 24, 64497]],
  [key(64498, 1)],
  [{ customer: 64500, providers: [64501, 64502] }],
);

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      for await (const f of Deno.readDir(`${dir}/${e.name}`)) out.push(`${e.name}/${f.name}`);
    } else out.push(e.name);
  }
  return out.sort();
}

Deno.test("recordSync() writes the per-serial file, routingtable.json and state.json", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const store = await HistoryStore.open(`${dir}/data`, { create: true });
    assert.equal(await store.readState(), null);
    assert.equal(await store.loadCurrentTable(), null);
    const rec = new Recorder(store, new Date(Date.UTC(2026, 6, 20, 10, 0, 5)));
    assert.equal(await rec.sync(T0, 5), "2026-07/2026-07-20-100005.routes.00004660.00000005.json");
    assert.equal(await rec.sync(T1, 6), "2026-07/2026-07-20-100105.routes.00004660.00000006.json");
    assert.deepEqual(await files(`${dir}/data`), [
      "2026-07/2026-07-20-100005.routes.00004660.00000005.json",
      "2026-07/2026-07-20-100105.routes.00004660.00000006.json",
      "routingtable.json",
      "state.json",
    ]);
    const reset = JSON.parse(
      await Deno.readTextFile(
        `${dir}/data/2026-07/2026-07-20-100005.routes.00004660.00000005.json`,
      ),
    );
    assert.equal(reset.reset, true);
    assert.deepEqual(reset.routes, {
      announce: [{ ip: "192.0.2.0/24", asn: 64496 }, {
        ip: "2001:db8::/32",
        asn: 64496,
        maxlen: 48,
      }],
      withdraw: [],
    });
    const delta = JSON.parse(
      await Deno.readTextFile(
        `${dir}/data/2026-07/2026-07-20-100105.routes.00004660.00000006.json`,
      ),
    );
    assert.deepEqual(delta, {
      serial: 6,
      session_id: 4660,
      reset: false,
      version: 2,
      previous_serial: 5,
      time: "2026-07-20T10:01:05.000Z",
      routes: {
        announce: [{ ip: "198.51.100.0/24", asn: 64497 }],
        withdraw: [{ ip: "2001:db8::/32", asn: 64496, maxlen: 48 }],
      },
      router_keys: { announce: [], withdraw: [] },
      aspas: {
        announce: [{ customer_asid: 64500, providers: [64501, 64502] }],
        withdraw: [{ customer_asid: 64500, providers: [64501] }],
      },
    });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/data/state.json`)), {
      version: 2,
      sessionId: 4660,
      serial: 6,
      refresh: 3600,
      retry: 600,
      expire: 7200,
      lastSuccess: "2026-07-20T10:01:05Z",
      source: "127.0.0.1:8282",
    });
    const reopened = await HistoryStore.open(`${dir}/data`);
    assert.deepEqual(reopened.notes, []);
    assert.equal((await reopened.readState())?.serial, 6);
    const current = await reopened.loadCurrentTable();
    assert.deepEqual([...current!.vrps], [...T1.vrps]);
    assert.deepEqual(current!.routerKeys, T1.routerKeys);
    assert.deepEqual(current!.aspas, T1.aspas);
  } finally {
    await cleanup();
  }
});

Deno.test("recordSync() records a serial that changed nothing, with empty lists", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const store = await HistoryStore.open(dir, { create: true });
    const rec = new Recorder(store);
    await rec.sync(T0, 1);
    const p = await rec.sync(T0, 2);
    const j = JSON.parse(await Deno.readTextFile(`${dir}/${p}`));
    assert.deepEqual(
      [j.serial, j.previous_serial, j.reset, j.routes, j.router_keys, j.aspas],
      [2, 1, false, { announce: [], withdraw: [] }, { announce: [], withdraw: [] }, {
        announce: [],
        withdraw: [],
      }],
    );
    assert.deepEqual((await store.listSerials()).map((e) => e.serial), [1, 2]);
    // The same serial again (a poll that found nothing new) adds no file.
    await rec.sync(T0, 2);
    assert.deepEqual((await store.listSerials()).map((e) => e.serial), [1, 2]);
  } finally {
    await cleanup();
  }
});

Deno.test("HistoryStore.open() without create refuses a missing directory", async () => {
  await assert.rejects(
    HistoryStore.open("/nonexistent/rtr-data"),
    (e: unknown) =>
      e instanceof InputError &&
      e.message === "No history directory /nonexistent/rtr-data (see --data-dir)",
  );
});

/** Snapshot of the files a crash could leave behind at one step. */
async function save(dir: string, name: string): Promise<Uint8Array> {
  return await Deno.readFile(`${dir}/${name}`);
}

Deno.test("a crash between the history file and the table: state still matches the old table", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    let store = await HistoryStore.open(dir, { create: true });
    let rec = new Recorder(store);
    await rec.sync(T0, 1);
    const table1 = await save(dir, TABLE_FILE), state1 = await save(dir, STATE_FILE);
    await rec.sync(T1, 2);
    // Undo the last two writes: the process died right after renaming the history file, and
    // left a half-written temporary table behind.
    await Deno.writeFile(`${dir}/${TABLE_FILE}`, table1);
    await Deno.writeFile(`${dir}/${STATE_FILE}`, state1);
    await Deno.writeTextFile(`${dir}/.${TABLE_FILE}.999999.0123abcd.tmp`, '{"metadata":{');
    // The atomic writer's own name pattern (16 random hex digits), from a process that is gone.
    await Deno.writeTextFile(
      `${dir}/${temporaryName(STATE_FILE).replace(`.${Deno.pid}.`, ".999999.")}`,
      "{",
    );
    store = await HistoryStore.open(dir);
    assert.deepEqual(store.notes, []);
    assert.equal((await store.readState())?.serial, 1);
    assert.deepEqual([...(await store.loadCurrentTable())!.vrps], [...T0.vrps]);
    // Resume as follow would: the cache sends 1→2 again, recorded a second time.
    store = await HistoryStore.open(dir, { create: true });
    rec = new Recorder(store, new Date(Date.UTC(2026, 6, 20, 11)));
    rec.prev = T0;
    rec.prevSerial = 1;
    await rec.sync(T1, 2);
    await rec.sync(T0, 3);
    const entries = await store.listSerials();
    assert.deepEqual(entries.map((e) => e.serial), [1, 2, 2, 3]);
    for (const e of entries) await store.readEntry(e);
    const { table: at3 } = await tableAtSerial(store, { serial: 3 });
    assert.deepEqual([...at3.vrps], [...T0.vrps]);
    // The stale temporary file (its process is gone) was removed by the writable open.
    assert.ok(!(await files(dir)).some((f) => f.endsWith(".tmp")));
  } finally {
    await cleanup();
  }
});

Deno.test("a crash between the table and the state: open() repairs the state from the table", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    let store = await HistoryStore.open(dir, { create: true });
    const rec = new Recorder(store);
    await rec.sync(T0, 1);
    const state1 = await save(dir, STATE_FILE);
    await rec.sync(T1, 2);
    await Deno.writeFile(`${dir}/${STATE_FILE}`, state1);
    const ro = await HistoryStore.open(dir);
    assert.equal((await ro.readState())?.serial, 2);
    assert.match(ro.notes[0], /state repaired from the table/);
    // A read-only open leaves the file alone; a writable one rewrites it.
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/${STATE_FILE}`)).serial, 1);
    store = await HistoryStore.open(dir, { create: true });
    const s = JSON.parse(await Deno.readTextFile(`${dir}/${STATE_FILE}`));
    assert.deepEqual([s.sessionId, s.serial, s.version, s.source], [
      4660,
      2,
      2,
      "127.0.0.1:8282",
    ]);
    assert.deepEqual(await store.readState(), s);
  } finally {
    await cleanup();
  }
});

Deno.test("a crash before the first state: open() rebuilds the state from the table", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const store = await HistoryStore.open(dir, { create: true });
    await new Recorder(store).sync(T0, 9);
    await Deno.remove(`${dir}/${STATE_FILE}`);
    const again = await HistoryStore.open(dir, { create: true });
    assert.equal((await again.readState())?.serial, 9);
    assert.match(again.notes[0], /state rebuilt from routingtable\.json/);
  } finally {
    await cleanup();
  }
});

Deno.test("a state without its table is ignored: the next sync starts afresh", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const store = await HistoryStore.open(dir, { create: true });
    await new Recorder(store).sync(T0, 9);
    await Deno.remove(`${dir}/${TABLE_FILE}`);
    const again = await HistoryStore.open(dir);
    assert.equal(await again.readState(), null);
    assert.match(again.notes[0], /routingtable\.json is missing/);
  } finally {
    await cleanup();
  }
});

Deno.test("flush() forgets state and table but keeps the history", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const store = await HistoryStore.open(dir, { create: true });
    await new Recorder(store).sync(T0, 9);
    await store.flush();
    assert.equal(await store.readState(), null);
    assert.equal(await store.loadCurrentTable(), null);
    const again = await HistoryStore.open(dir);
    assert.equal(await again.readState(), null);
    assert.equal((await again.listSerials()).length, 1);
  } finally {
    await cleanup();
  }
});

Deno.test("routingtable.json carries the session and serial in its metadata", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const store = await HistoryStore.open(dir, { create: true });
    await new Recorder(store).sync(T0, 77, { sessionId: 12 });
    const m = await readTableMetadata(`${dir}/${TABLE_FILE}`);
    assert.ok(m);
    assert.equal(m.serial, 77);
  } finally {
    await cleanup();
  }
});

// A real kill -9: a child process records syncs in a loop and is killed at arbitrary moments.
const CHILD = `
import { HistoryStore } from "${new URL("../../lib/store/mod.ts", import.meta.url).href}";
import { diffTables, makeTable, VrpSet } from "${
  new URL("../../lib/model/mod.ts", import.meta.url).href
}";
const dir = Deno.args[0];
const store = await HistoryStore.open(dir, { create: true });
const st = await store.readState();
let serial = st ? st.serial : 0;
let prev = st ? await store.loadCurrentTable() : null;
const make = (n) => makeTable(VrpSet.from(Array.from({ length: 2000 }, (_, i) => ({
  prefix: "10." + ((i + n * 7) % 250) + "." + (i % 250) + ".0/24", maxLength: 24, asn: n % 3 + i,
}))), [], [{ customer: 1, providers: [2 + (n % 5)] }]);
for (let i = 0; i < 100000; i++) {
  const next = make(serial + 1);
  await store.recordSync({
    time: new Date(Date.UTC(2026, 0, 1) + (serial + 1) * 1000), sessionId: 7, version: 2,
    serial: serial + 1, previousSerial: prev ? serial : undefined, reset: prev === null,
    diff: diffTables(prev ?? makeTable(new VrpSet(), [], []), next), table: next,
    timers: { refresh: 1, retry: 1, expire: 10 }, source: "test:1",
  });
  serial++;
  prev = next;
  if (i === 0) console.log("ready");
}
`;

Deno.test("kill -9 while recording: every history file parses and state matches table and history", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const script = `${dir}/child.js`;
    await Deno.writeTextFile(script, CHILD);
    const data = `${dir}/data`;
    for (const delayMs of [150, 400, 260]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--quiet", script, data],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.getReader();
      await reader.read(); // "ready": one sync is on disk
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel();

      const store = await HistoryStore.open(data);
      const entries = await store.listSerials();
      assert.ok(entries.length > 0);
      for (const e of entries) {
        parseSerialFile(await Deno.readTextFile(store.path(e.path)), e.path);
      }
      const state = await store.readState();
      assert.ok(state, "state present");
      assert.ok(entries.some((e) => e.serial === state.serial), "history holds the state's serial");
      const current = await store.loadCurrentTable();
      const { table: rebuilt } = await tableAtSerial(store, { serial: state.serial });
      assert.deepEqual([...current!.vrps], [...rebuilt.vrps]);
      assert.deepEqual(current!.aspas, rebuilt.aspas);
    }
  } finally {
    await cleanup();
  }
});
