/**
 * `rtr check` against `rtr serve` (no peer needed): the monitoring-plugins verdicts and exit
 * codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), perfdata, `--format json`, the state file,
 * `--against`, `--max-age` from the served file, a refused connection and bad flags.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { freePort, runRtr, stayRtrJson } from "../helpers/peers.ts";
import { startServe } from "../helpers/serve.ts";

const ROAS = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "198.51.100.0/24", maxLength: 24, asn: 64497 },
  { prefix: "2001:db8::/32", maxLength: 48, asn: 64498 },
];
const SKI = "0123456789ABCDEF0123456789ABCDEF01234567";
const KEY = { asn: 64496, ski: SKI, pubkey: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" };

Deno.test("check: OK, WARNING, CRITICAL and UNKNOWN with perfdata and the documented exit codes", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/a.json`,
    stayRtrJson(ROAS, [KEY], [{ customer_asid: 64500, providers: [1, 2] }]),
  );
  // The same records, the SKI in lower case and providers in another order: no difference.
  await Deno.writeTextFile(
    `${dir}/b.json`,
    stayRtrJson(ROAS, [{ ...KEY, ski: SKI.toLowerCase() }], [{
      customer_asid: 64500,
      providers: [2, 1],
    }]),
  );
  await Deno.writeTextFile(`${dir}/c.json`, stayRtrJson(ROAS.slice(1)));
  const a = await startServe(`${dir}/a.json`);
  const b = await startServe(`${dir}/b.json`);
  const c = await startServe(`${dir}/c.json`);
  const at = (s: { port: number }) => `127.0.0.1:${s.port}`;
  try {
    const ok = await runRtr(["check", at(a)]);
    eq(ok.code, 0, ok.stdout + ok.stderr);
    assertOk(
      /^RTR OK - serial \d+, 3 VRPs, 1 router keys, 1 ASPA \| vrps=3;;;0; router_keys=1;;;0; aspas=1;;;0; serial=\d+ time=[\d.]+s\n$/
        .test(ok.stdout),
      ok.stdout,
    );
    const w = await runRtr(["check", at(a), "--min-vrps", "5,2"]);
    eq(w.code, 1, w.stdout);
    assertOk(w.stdout.startsWith("RTR WARNING - 3 VRPs (below 5), serial "), w.stdout);
    assertIncludes(w.stdout, "vrps=3;5;2;0;");
    const cr = await runRtr(["check", at(a), "--min-vrps", "10,5"]);
    eq(cr.code, 2, cr.stdout);
    assertOk(cr.stdout.startsWith("RTR CRITICAL - 3 VRPs (below 5)"), cr.stdout);
    // Router keys by SKI case-insensitively and ASPA provider sets as sets: no difference.
    const same = await runRtr(["check", at(a), "--against", at(b), "--max-diff", "0"]);
    eq(same.code, 0, same.stdout);
    assertIncludes(same.stdout, `0 differ from ${at(b)}`);
    const differ = await runRtr([
      "check",
      at(a),
      "--against",
      at(c),
      "--max-diff",
      "0,5",
      "--format",
      "json",
    ]);
    eq(differ.code, 1, differ.stdout);
    const j = JSON.parse(differ.stdout);
    eq([j.type, j.status, j.code, j.diff, j.vrps], ["check", "WARNING", 1, 3, 3]);
    eq(j.problems.map((p: any) => p.check), ["max-diff"]);
    const gone = await runRtr(["check", at(a), "--against", `127.0.0.1:${freePort()}`]);
    eq(gone.code, 3, gone.stdout);
    // The state file: the serial unchanged for longer than --serial-stuck.
    const state = `${dir}/state.json`;
    eq((await runRtr(["check", at(a), "--state", state, "--serial-stuck", "1s,1h"])).code, 0);
    const saved = JSON.parse(await Deno.readTextFile(state));
    eq(typeof saved.serial, "number");
    await new Promise((r) => setTimeout(r, 1100));
    const stuck = await runRtr(["check", at(a), "--state", state, "--serial-stuck", "1s,1h"]);
    eq(stuck.code, 1, stuck.stdout);
    assertOk(
      new RegExp(`^RTR WARNING - serial ${saved.serial} unchanged for \\d+s \\(over 1s\\), `)
        .test(stuck.stdout),
      stuck.stdout,
    );
    // --max-age from the served file's buildtime.
    const fresh = await runRtr(["check", at(a), "--data-file", `${dir}/a.json`, "--max-age", "1h"]);
    eq(fresh.code, 0, fresh.stdout);
    assertOk(/, age \d+s \| .* age=\d+s;3600;;0; /.test(fresh.stdout), fresh.stdout);
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/a.json`));
    doc.metadata.buildtime = "2020-01-01T00:00:00Z";
    await Deno.writeTextFile(`${dir}/old.json`, JSON.stringify(doc));
    const old = await runRtr([
      "check",
      at(a),
      "--data-file",
      `${dir}/old.json`,
      "--max-age",
      "1h,1d",
    ]);
    eq(old.code, 2, old.stdout);
    assertOk(/^RTR CRITICAL - data \d+d old \(over 1d\)/.test(old.stdout), old.stdout);
  } finally {
    await a.stop();
    await b.stop();
    await c.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: a refused connection is CRITICAL, a bad flag UNKNOWN", async () => {
  const refused = await runRtr(["check", `127.0.0.1:${freePort()}`]);
  eq(refused.code, 2, refused.stdout);
  assertOk(refused.stdout.startsWith("RTR CRITICAL - 127.0.0.1:"), refused.stdout);
  eq(refused.stdout.split("\n").length, 2);
  for (
    const args of [
      ["--bogus"],
      ["127.0.0.1:1", "--min-vrps", "lots"],
      ["127.0.0.1:1", "--serial-stuck", "1h"],
      ["127.0.0.1:1", "--format", "xml"],
    ]
  ) {
    const r = await runRtr(["check", ...args]);
    eq(r.code, 3, `${args}: ${r.stdout}`);
    assertOk(r.stdout.startsWith("RTR UNKNOWN - "), r.stdout);
  }
  const j = await runRtr(["check", "--bogus", "--format", "json"]);
  eq(j.code, 3);
  eq(JSON.parse(j.stdout).status, "UNKNOWN");
});
