/** CLI contract of `rtr snapshot` and the top level: stdout, stderr, exit codes, files. */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { freePort, runRtr } from "../helpers/peers.ts";
import { response, samplePrefixes, startFakeCache } from "../helpers/fake_cache.ts";
import type { Pdu } from "../../lib/wire/mod.ts";

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  eq(lines.length, 1, stderr);
  assertOk(!/\bat .*\.ts:\d+/.test(stderr), stderr);
  return lines[0];
}

Deno.test("rtr --help, help snapshot, snapshot --help and -V print to stdout and exit 0", async () => {
  const top = await runRtr(["--help"]);
  eq(top.code, 0);
  assertIncludes(top.stdout, "snapshot");
  assertIncludes(top.stdout, "Exit codes");
  const h1 = await runRtr(["help", "snapshot"]);
  const h2 = await runRtr(["snapshot", "--help"]);
  eq(h1.code, 0);
  eq(h1.stdout, h2.stdout);
  assertIncludes(h1.stdout, "--format F");
  const v = await runRtr(["-V"]);
  eq(v.code, 0);
  assertOk(/^rtr \d+\.\d+\.\d+\n$/.test(v.stdout));
  eq((await runRtr(["--version"])).stdout, v.stdout);
});

Deno.test("an unknown flag or command exits 2 with a hint", async () => {
  const r = await runRtr(["snapshot", "--frobnicate"]);
  eq(r.code, 2);
  assertIncludes(oneLine(r.stderr), "see 'rtr snapshot --help'");
  const c = await runRtr(["snapshott"]);
  eq(c.code, 2);
  assertIncludes(oneLine(c.stderr), "Unknown command");
  const f = await runRtr(["snapshot", "127.0.0.1:1", "--format", "xml"]);
  eq(f.code, 2);
  assertIncludes(oneLine(f.stderr), "Unknown --format");
  const p = await runRtr(["snapshot", "127.0.0.1:1", "--protocol", "3"]);
  eq(p.code, 2);
  assertIncludes(oneLine(p.stderr), "--protocol must be a whole number from 0 to 2");
});

Deno.test("snapshot to a refused port exits 1 with one line and leaves an existing -o file untouched", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/roas.json`;
  await Deno.writeTextFile(out, "previous content\n");
  const port = freePort();
  const r = await runRtr(["snapshot", `127.0.0.1:${port}`, "-o", out]);
  eq(r.code, 1);
  eq(oneLine(r.stderr), `rtr: Cannot connect to 127.0.0.1:${port}: connection refused`);
  eq(await Deno.readTextFile(out), "previous content\n");
  eq([...Deno.readDirSync(dir)].map((e) => e.name), ["roas.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshot of an unknown host exits 1 with one line", async () => {
  const r = await runRtr(["snapshot", "no-such-host.invalid:8282", "--timeout", "10"]);
  eq(r.code, 1);
  assertIncludes(oneLine(r.stderr), "Cannot connect to no-such-host.invalid:8282");
  eq(r.stdout, "");
});

Deno.test("snapshot of a cache sending a malformed PDU exits 1, reports it to the cache, writes no file", async () => {
  const reports: Pdu[] = [];
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(
      new Uint8Array([
        1,
        3,
        0,
        1,
        0,
        0,
        0,
        8,
        1,
        4,
        0,
        0,
        0,
        0,
        0,
        19,
        1,
        24,
        24,
        0,
        192,
        0,
        2,
        0,
        0,
        0,
        0,
      ]),
    );
    const r = await c.readPdu(5000).catch(() => null);
    if (r) reports.push(r);
  });
  const dir = await Deno.makeTempDir();
  try {
    const r = await runRtr(["snapshot", `127.0.0.1:${cache.port}`, "-o", `${dir}/x.json`]);
    eq(r.code, 1);
    eq(oneLine(r.stderr), "rtr: Cannot decode IPv4 Prefix PDU v1: length is 19, expected 20");
    eq(await exists(`${dir}/x.json`), false);
    eq([...Deno.readDirSync(dir)].length, 0);
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
  eq(reports.length, 1);
  eq(reports[0].type, 10);
  if (reports[0].type === 10) eq(reports[0].errorCode, 0);
});

Deno.test("snapshot of a cache that stalls exits 1 after --timeout", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([{ type: 3, version: 2, sessionId: 1 }]);
    await c.readPdu(6000).catch(() => null);
  });
  try {
    const r = await runRtr(["snapshot", `127.0.0.1:${cache.port}`, "--timeout", "1"]);
    eq(r.code, 1);
    assertIncludes(oneLine(r.stderr), "Timed out after 1 s waiting for End of Data");
    eq(r.stdout, "");
  } finally {
    await cache.stop();
  }
});

Deno.test("snapshot relays a cache's Error Report verbatim and exits 3", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([{
      type: 10,
      version: 2,
      errorCode: 1,
      pdu: new Uint8Array(0),
      text: "disk on fire",
    }]);
  });
  try {
    const r = await runRtr(["snapshot", `127.0.0.1:${cache.port}`]);
    eq(r.code, 3);
    eq(oneLine(r.stderr), 'rtr: cache sent Error Report: code 1 (Internal Error): "disk on fire"');
  } finally {
    await cache.stop();
  }
});

Deno.test("snapshot --dump writes the bytes received, exactly", async () => {
  const bytes = response(1, 9, 3, samplePrefixes(1).slice(0, 1));
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(bytes);
  });
  const dir = await Deno.makeTempDir();
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--dump",
      `${dir}/raw.bin`,
      "--format",
      "csv",
    ]);
    eq(r.code, 0, r.stderr);
    const raw = await Deno.readFile(`${dir}/raw.bin`);
    eq(raw.length, 8 + 20 + 24);
    eq([...raw.subarray(0, 8)], [1, 3, 0, 9, 0, 0, 0, 8]);
    assertIncludes(r.stdout, "AS64496,192.0.2.0/24,24");
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot --serial --session prints the delta with withdrawals as withdrawals", async () => {
  const cache = startFakeCache(async (c) => {
    eq(await c.readPdu(), { type: 1, version: 1, sessionId: 9, serial: 2 });
    await c.write([
      { type: 3, version: 1, sessionId: 9 },
      {
        type: 4,
        version: 1,
        flags: 0,
        prefixLength: 24,
        maxLength: 24,
        addr: [0xc0000200],
        asn: 1,
      },
      {
        type: 4,
        version: 1,
        flags: 1,
        prefixLength: 24,
        maxLength: 24,
        addr: [0xc0000200],
        asn: 2,
      },
      { type: 7, version: 1, sessionId: 9, serial: 3, refresh: 3600, retry: 600, expire: 7200 },
    ]);
  });
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--serial",
      "2",
      "--session",
      "9",
    ]);
    eq(r.code, 0, r.stderr);
    const recs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    eq(recs.slice(0, 2).map((x) => `${x.action} ${x.asn}`), ["withdraw 1", "announce 2"]);
    eq(recs[2].type, "sync");
    eq(recs[2].previousSerial, 2);
    eq(recs[2].serial, 3);
    eq(recs[2].reset, false);
  } finally {
    await cache.stop();
  }
});

Deno.test("snapshot --serial answered by Cache Reset says so and exits 1", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([{ type: 8, version: 1 }]);
  });
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--serial",
      "2",
      "--session",
      "9",
    ]);
    eq(r.code, 1);
    assertIncludes(oneLine(r.stderr), "cache answered Cache Reset");
    eq(JSON.parse(r.stdout).type, "cacheReset");
  } finally {
    await cache.stop();
  }
});

Deno.test("snapshot says every version downgrade on stderr and records it in the sync record", async () => {
  const cache = startFakeCache(async (c, i) => {
    const q = await c.readPdu();
    if (i === 0) {
      eq(q, { type: 1, version: 2, sessionId: 4660, serial: 5 });
      await c.write([{
        type: 10,
        version: 1,
        errorCode: 4,
        pdu: new Uint8Array(0),
        text: "only up to v1",
      }]);
      return;
    }
    eq(q, { type: 1, version: 1, sessionId: 4660, serial: 5 });
    await c.write(response(1, 4660, 6, samplePrefixes(1)));
  });
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--serial",
      "5",
      "--session",
      "4660",
    ]);
    eq(r.code, 0, r.stderr);
    assertIncludes(r.stderr, "downgrading to version 1");
    const sync = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    eq([sync.type, sync.version, sync.downgradedFrom], ["sync", 1, 2]);
  } finally {
    await cache.stop();
  }
});
