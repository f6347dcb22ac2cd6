/**
 * `rtr probe` against `rtr serve` (versions 0, 1, 2; current and legacy ASPA layouts), in
 * process and as the CLI: scenario verdicts, Serial Notify after --change-cmd, the report
 * formats and exit codes.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import { runRtr, stayRtrJson } from "../helpers/peers.ts";
import { startServe } from "../helpers/serve.ts";
import { dump, failed, probe, result } from "./helpers.ts";

const ROAS = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "198.51.100.0/22", maxLength: 24, asn: 65536 },
  { prefix: "2001:db8::/32", maxLength: 48, asn: 64497 },
];
const KEYS = [{
  asn: 64498,
  ski: "510F485D29A29DB7B515F9C478F8ED3CB7AA7D23",
  pubkey: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4FxJr0n2buxluX1Evl+QWwZYvIadPjLuFX2mxqKuAGUhKnr7" +
    "VLLDgrE++l9p5eH2kWTNVAN22FUU3db/RKpE2w==",
}];
const ASPAS = [{ customer_asid: 64500, providers: [64501, 64502] }];

async function tableFile(): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/table.json`;
  await Deno.writeTextFile(file, stayRtrJson(ROAS, KEYS, ASPAS));
  return { dir, file };
}

async function withServe(
  args: string[],
  f: (port: number, file: string, dir: string) => Promise<void>,
) {
  const { dir, file } = await tableFile();
  const srv = await startServe(file, args);
  try {
    await f(srv.port, file, dir);
  } finally {
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("probe: rtr serve (versions 0-2, current ASPA) passes every scenario", async () => {
  await withServe([], async (port) => {
    const rs = await probe(port);
    eq(failed(rs), [], dump(rs));
    assertOk(
      /^v0: session \d+, v1: session \d+, v2: session \d+$/.test(
        result(rs, "session-per-version").detail,
      ),
    );
    eq(result(rs, "aspa-shape").status, "pass");
    eq(result(rs, "version-above").detail, "version 3: Error Report v2 code 4, then a close");
    eq(result(rs, "notify").status, "not-applicable");
  });
});

Deno.test("probe: rtr serve --aspa-layout legacy fails aspa-shape, naming the legacy layout", async () => {
  await withServe(["--aspa-layout", "legacy"], async (port) => {
    const rs = await probe(port);
    eq(failed(rs), ["aspa-shape"], dump(rs));
    const r = result(rs, "aspa-shape");
    assertOk(
      /^v2: legacy draft ASPA layout \(flags 1, AFI 0, provider count 2/.test(r.detail),
      r.detail,
    );
    // Legacy records go out once per AFI: not duplicates.
    eq(result(rs, "reset-unique").status, "pass");
    eq(r.hex?.slice(0, 16), "020b000000000018");
  });
});

Deno.test("probe: rtr serve --session-id N (one id for every version) fails session-per-version only", async () => {
  await withServe(["--session-id", "77"], async (port) => {
    const rs = await probe(port);
    eq(failed(rs), ["session-per-version"], dump(rs));
    eq(
      result(rs, "session-per-version").detail,
      "version 0 and version 2 sessions share session id 77",
    );
    eq(result(rs, "session-per-version").hex, "0003004d000000080203004d00000008");
  });
});

for (const top of [0, 1]) {
  Deno.test(`probe: rtr serve --protocol ${top} passes, versions above ${top} not applicable`, async () => {
    await withServe(["--protocol", String(top)], async (port) => {
      const rs = await probe(port);
      eq(failed(rs), [], dump(rs));
      eq(
        result(rs, "version-above").detail,
        `version ${top + 1}: Error Report v${top} code 4, then a close`,
      );
      eq(result(rs, "version-2").status, "not-applicable");
      for (const id of ["reset-order", "aspa-shape", "session-per-version"]) {
        eq(result(rs, id).status, "not-applicable", id);
      }
      eq(result(rs, "reset-timers").status, top === 0 ? "not-applicable" : "pass");
    });
  });
}

Deno.test("probe: notify passes against rtr serve when --change-cmd rewrites its file", async () => {
  await withServe(["--notify-interval", "0.1"], async (port, file, dir) => {
    const next = stayRtrJson(
      [...ROAS, { prefix: "203.0.113.0/24", maxLength: 24, asn: 64499 }],
      KEYS,
      ASPAS,
    );
    await Deno.writeTextFile(`${dir}/next.json`, next);
    const change = async () => {
      await Deno.copyFile(`${dir}/next.json`, `${dir}/tmp.json`);
      await Deno.rename(`${dir}/tmp.json`, file);
      return { ok: true, detail: "ok" };
    };
    const rs = await probe(port, { change }, ["notify"]);
    eq(failed(rs), [], dump(rs));
    assertOk(
      /^Serial Notify v2 session \d+ serial 2; delta 1 → 2 of 1 PDUs$/.test(
        result(rs, "notify").detail,
      ),
      result(rs, "notify").detail,
    );
  });
});

Deno.test("rtr probe CLI: junit and exit 0 on a passing cache, ndjson and exit 1 on a failing one", async () => {
  await withServe(["--protocol", "1"], async (port) => {
    const r = await runRtr(["probe", `127.0.0.1:${port}`, "--format", "junit", "--timeout", "5"]);
    eq(r.code, 0, r.stderr);
    assertOk(
      r.stdout.startsWith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="rtr probe" tests="21" failures="0" skipped="5">',
      ),
      r.stdout,
    );
    assertOk(r.stdout.includes('<testcase classname="rtr.probe.version" name="version-above">'));
    assertOk(r.stdout.includes('<skipped message="no --change-cmd given"/>'));
    assertOk(/rtr probe: 16 passed, 0 failed, 5 not applicable/.test(r.stderr), r.stderr);
  });
  await withServe(["--aspa-layout", "legacy"], async (port) => {
    const r = await runRtr([
      "probe",
      `127.0.0.1:${port}`,
      "--format",
      "ndjson",
      "--only",
      "version-above,session",
      "--only",
      "aspa-shape",
    ]);
    eq(r.code, 1, r.stderr);
    const recs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    eq(recs.map((x) => [x.type, x.id, x.status]), [
      ["scenario", "version-above", "pass"],
      ["scenario", "aspa-shape", "fail"],
      ["scenario", "session-per-version", "pass"],
      ["scenario", "concurrent", "pass"],
      ["summary", undefined, undefined],
    ]);
    eq(Object.keys(recs[1]), ["type", "id", "group", "status", "section", "detail", "hex"]);
    eq(recs[4], {
      type: "summary",
      target: `127.0.0.1:${port}`,
      passed: 3,
      failed: 1,
      notApplicable: 0,
    });
  });
});

Deno.test("rtr probe CLI: usage errors exit 2, --list prints every scenario", async () => {
  const bad = await runRtr(["probe", "127.0.0.1:1", "--only", "nope"]);
  eq(bad.code, 2);
  eq(bad.stderr, `rtr: Unknown scenario "nope" (see 'rtr probe --list')\n`);
  eq((await runRtr(["probe"])).code, 2);
  eq((await runRtr(["probe", "127.0.0.1:1", "--format", "xml"])).code, 2);
  const list = await runRtr(["probe", "--list"]);
  eq(list.code, 0);
  const ids = list.stdout.trim().split("\n").map((l) => l.split("\t")[0]);
  eq(ids.length, 21);
  eq(ids.slice(0, 5), ["version-0", "version-1", "version-2", "version-above", "version-unknown"]);
  const help = await runRtr(["probe", "--help"]);
  for (const id of ids) assertOk(help.stdout.includes(`\n  ${id}\n`), id);
});
