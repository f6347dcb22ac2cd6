import assert from "node:assert/strict";
import { TextSink } from "../../lib/cli/io.ts";
import { VrpSet } from "../../lib/model/mod.ts";
import { InputError } from "../../lib/errors.ts";
import {
  parseSerialFile,
  parseSerialFileName,
  parseSerialHeader,
  serialFilePath,
  writeSerialFile,
} from "../../lib/store/serial_file.ts";
import { key } from "./fixtures.ts";

class Collect {
  chunks: Uint8Array[] = [];
  write(p: Uint8Array): Promise<number> {
    this.chunks.push(p.slice());
    return Promise.resolve(p.length);
  }
  text(): string {
    return new TextDecoder().decode(new Uint8Array(this.chunks.flatMap((c) => [...c])));
  }
}

Deno.test("serialFilePath() is YYYY-MM/YYYY-MM-DD-HHMMSS.routes.SESSION.SERIAL.json in UTC", () => {
  const t = new Date("2026-07-20T23:59:07.512+02:00");
  assert.equal(
    serialFilePath(t, 4660, 6),
    "2026-07/2026-07-20-215907.routes.00004660.00000006.json",
  );
  assert.equal(
    serialFilePath(new Date(Date.UTC(2027, 0, 2, 3, 4, 5)), 0, 4294967295),
    "2027-01/2027-01-02-030405.routes.00000000.4294967295.json",
  );
});

Deno.test("parseSerialFileName() reads the new and the old layout and nothing else", () => {
  assert.deepEqual(parseSerialFileName("2026-07-20-215907.routes.00004660.00000006.json"), {
    time: new Date(Date.UTC(2026, 6, 20, 21, 59, 7)),
    sessionId: 4660,
    serial: 6,
  });
  assert.deepEqual(parseSerialFileName("2019-03-01-000102.routes.00000381.json"), {
    time: new Date(Date.UTC(2019, 2, 1, 0, 1, 2)),
    sessionId: null,
    serial: 381,
  });
  for (
    const bad of [
      ".2026-07-20-215907.routes.00004660.00000006.json.123.abcdef01.tmp",
      "2026-13-20-215907.routes.00004660.00000006.json",
      "2026-02-30-215907.routes.00004660.00000006.json",
      "2026-07-20-215907.routes.70000.00000006.json",
      "2026-07-20-215907.routes.00004660.4294967296.json",
      "routingtable.json",
      "state.json",
    ]
  ) assert.equal(parseSerialFileName(bad), null, bad);
});

Deno.test("writeSerialFile() writes the old client's schema plus additive fields, pretty-printed", async () => {
  const c = new Collect();
  const sink = new TextSink(c, 16);
  await writeSerialFile(sink, {
    serial: 6,
    sessionId: 4660,
    reset: false,
    version: 2,
    previousSerial: 5,
    time: new Date("2026-07-20T10:00:00.250Z"),
    delta: {
      vrps: {
        announced: VrpSet.from([
          { prefix: "1.1.0.0/22", maxLength: 24, asn: 13335 },
          { prefix: "2001:DB8::/32", maxLength: 32, asn: 64496 },
        ]),
        withdrawn: VrpSet.from([
          { prefix: "1.0.0.0/24", maxLength: 24, asn: 13335 },
          { prefix: "1.0.4.0/22", maxLength: 24, asn: 38803 },
        ]),
      },
      routerKeys: { announced: [key(64498, 0x510f)], withdrawn: [] },
      aspas: {
        announced: [{ customer: 64500, providers: [64501, 64502] }],
        withdrawn: [{ customer: 64500, providers: [64501] }],
      },
    },
  });
  await sink.flush();
  const expected = {
    serial: 6,
    session_id: 4660,
    reset: false,
    version: 2,
    previous_serial: 5,
    time: "2026-07-20T10:00:00.250Z",
    routes: {
      announce: [
        { ip: "1.1.0.0/22", asn: 13335, maxlen: 24 },
        { ip: "2001:db8::/32", asn: 64496 },
      ],
      withdraw: [
        { ip: "1.0.0.0/24", asn: 13335 },
        { ip: "1.0.4.0/22", asn: 38803, maxlen: 24 },
      ],
    },
    router_keys: {
      announce: [{
        asn: 64498,
        ski: "000000000000000000000000000000000000510F",
        pubkey: "MFkwEwYHKoZIzj0CAQ==",
      }],
      withdraw: [],
    },
    aspas: {
      announce: [{ customer_asid: 64500, providers: [64501, 64502] }],
      withdraw: [{ customer_asid: 64500, providers: [64501] }],
    },
  };
  assert.equal(c.text(), JSON.stringify(expected, null, 2) + "\n");
});

Deno.test("writeSerialFile() writes a quiet serial with empty lists and a reset with its marker", async () => {
  const c = new Collect();
  const sink = new TextSink(c);
  const empty = new VrpSet();
  await writeSerialFile(sink, {
    serial: 7,
    sessionId: 1,
    reset: true,
    version: 1,
    time: new Date("2026-07-20T10:00:00Z"),
    delta: {
      vrps: { announced: empty, withdrawn: empty },
      routerKeys: { announced: [], withdrawn: [] },
      aspas: { announced: [], withdrawn: [] },
    },
  });
  await sink.flush();
  assert.equal(
    c.text(),
    JSON.stringify(
      {
        serial: 7,
        session_id: 1,
        reset: true,
        version: 1,
        time: "2026-07-20T10:00:00.000Z",
        routes: { announce: [], withdraw: [] },
        router_keys: { announce: [], withdraw: [] },
        aspas: { announce: [], withdraw: [] },
      },
      null,
      2,
    ) + "\n",
  );
});

Deno.test("parseSerialFile() reads what writeSerialFile() wrote", async () => {
  const c = new Collect();
  const sink = new TextSink(c);
  const announced = VrpSet.from([
    { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
    { prefix: "2001:db8::/48", maxLength: 64, asn: 64497 },
  ]);
  await writeSerialFile(sink, {
    serial: 4294967295,
    sessionId: 65535,
    reset: false,
    version: 2,
    previousSerial: 4294967294,
    time: new Date("2026-07-20T10:00:00Z"),
    delta: {
      vrps: { announced, withdrawn: new VrpSet() },
      routerKeys: { announced: [], withdrawn: [key(1, 2)] },
      aspas: { announced: [{ customer: 1, providers: [2, 3] }], withdrawn: [] },
    },
  });
  await sink.flush();
  const r = parseSerialFile(c.text(), "x.json");
  assert.equal(r.serial, 4294967295);
  assert.equal(r.sessionId, 65535);
  assert.equal(r.reset, false);
  assert.equal(r.previousSerial, 4294967294);
  assert.equal(r.version, 2);
  assert.equal(r.time, "2026-07-20T10:00:00.000Z");
  assert.deepEqual([...r.delta.vrps.announced], [...announced]);
  assert.equal(r.delta.vrps.withdrawn.size, 0);
  assert.deepEqual(r.delta.routerKeys.withdrawn, [key(1, 2)]);
  assert.deepEqual(r.delta.aspas.announced, [{ customer: 1, providers: [2, 3] }]);
  assert.deepEqual(parseSerialHeader(c.text().slice(0, 300)), {
    serial: 4294967295,
    sessionId: 65535,
    reset: false,
    previousSerial: 4294967294,
    version: 2,
  });
});

Deno.test("parseSerialFile() reads the old client's files (no marker, no keys, no ASPA)", () => {
  const old = JSON.stringify(
    {
      serial: 381,
      session_id: 4660,
      routes: {
        announce: [{ ip: "1.1.0.0/22", asn: 13335, maxlen: 24 }],
        withdraw: [{ ip: "1.0.0.0/24", asn: 13335 }],
      },
    },
    null,
    2,
  );
  const r = parseSerialFile(old, "old.json");
  assert.equal(r.reset, undefined);
  assert.equal(r.previousSerial, undefined);
  assert.deepEqual([...r.delta.vrps.announced], [{
    prefix: "1.1.0.0/22",
    maxLength: 24,
    asn: 13335,
  }]);
  assert.deepEqual([...r.delta.vrps.withdrawn], [{
    prefix: "1.0.0.0/24",
    maxLength: 24,
    asn: 13335,
  }]);
  assert.deepEqual(r.delta.routerKeys, { announced: [], withdrawn: [] });
  const h = parseSerialHeader(old);
  assert.deepEqual(h, {
    serial: 381,
    sessionId: 4660,
    reset: undefined,
    previousSerial: undefined,
    version: undefined,
  });
});

Deno.test("parseSerialFile() names the file and the entry it cannot read", () => {
  const bad = JSON.stringify({
    serial: 1,
    session_id: 1,
    routes: { announce: [{ ip: "192.0.2.0/24", asn: 1, maxlen: 33 }], withdraw: [] },
  });
  assert.throws(
    () => parseSerialFile(bad, "2026-07/x.json"),
    (e: unknown) =>
      e instanceof InputError &&
      e.message ===
        "Cannot read history file 2026-07/x.json: routes.announce[0]: maxLength is 33, expected 24..32 for 192.0.2.0/24",
  );
  assert.throws(() => parseSerialFile("{", "y.json"), /Cannot read history file y\.json: not JSON/);
});
