/**
 * `rtr monitor` on table files (no peer needed): router keys differing only by SKI case and ASPA
 * providers in another order are no disagreement; a rewritten file disagrees after the grace and
 * resolves when the other follows; a duplicate source, a missing file and an unreachable cache
 * each get one line and the others are still watched; the history's report; usage errors.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { freePort, runRtr, stayRtrJson } from "../helpers/peers.ts";
import { spawnRtr } from "../helpers/child_lines.ts";

const SKI = "0123456789ABCDEF0123456789ABCDEF01234567";
const ROAS = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
  { prefix: "2001:db8::/32", maxLength: 48, asn: 64497 },
];
const NEW = { prefix: "198.51.100.0/24", maxLength: 24, asn: 64498 };
const KEY = { asn: 64496, ski: SKI, pubkey: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" };

async function write(path: string, text: string) {
  await Deno.writeTextFile(`${path}.tmp`, text);
  await Deno.rename(`${path}.tmp`, path);
}

const recs = (lines: string[]) => lines.map((l) => JSON.parse(l));

Deno.test("monitor on files: SKI case and ASPA order agree, a rewrite disagrees then resolves, bad sources are one line each", async () => {
  const dir = await Deno.makeTempDir();
  await write(
    `${dir}/a.json`,
    stayRtrJson(ROAS, [KEY], [{ customer_asid: 64500, providers: [3, 1, 2] }]),
  );
  await write(
    `${dir}/b.json`,
    stayRtrJson(ROAS, [{ ...KEY, ski: SKI.toLowerCase() }], [{
      customer_asid: 64500,
      providers: [2, 3, 1],
    }]),
  );
  const dead = freePort();
  const mon = spawnRtr([
    "monitor",
    "a.json",
    "b.json",
    "./a.json",
    "missing.json",
    `127.0.0.1:${dead}`,
    "--grace",
    "1s",
    "--summary-every",
    "300ms",
    "--poll",
    "200ms",
    "--retry",
    "30",
    "--data-dir",
    "hist",
  ], dir);
  try {
    await mon.waitFor(
      (l) => recs(l).filter((r) => r.type === "summary").length >= 2,
      20000,
      "two summaries",
    );
    const first = recs(mon.lines);
    eq(
      first.filter((r) => r.type === "unreachable").map((r) => r.source).sort(),
      [`127.0.0.1:${dead}`, "missing.json"],
    );
    eq(first.filter((r) => r.type === "disagreement"), []);
    const s = first.find((r) => r.type === "summary");
    eq([s.a, s.b, s.onlyA, s.onlyB], ["a.json", "b.json", {
      vrps: 0,
      routerKeys: 0,
      aspas: 0,
    }, { vrps: 0, routerKeys: 0, aspas: 0 }]);
    const err = mon.stderr();
    assertIncludes(err, "rtr: duplicate source ./a.json ignored");
    assertIncludes(err, "rtr: missing.json: Cannot read missing.json: no such file");
    eq(err.split("\n").filter((l) => l.includes(`127.0.0.1:${dead}`)).length, 1, err);

    // b gains a VRP and changes its ASPA providers: three records differ after the grace.
    let n = mon.lines.length;
    const b2 = stayRtrJson([...ROAS, NEW], [KEY], [{ customer_asid: 64500, providers: [1, 2] }]);
    await write(`${dir}/b.json`, b2);
    await mon.waitFor(
      (l) => recs(l.slice(n)).filter((r) => r.type === "disagreement").length >= 3,
      20000,
      "three disagreements",
    );
    const dis = recs(mon.lines.slice(n)).filter((r) => r.type === "disagreement");
    eq(
      dis.map((r) => `${r.record} ${r.prefix ?? r.providers} have ${r.have} lack ${r.lack}`).sort(),
      [
        "aspa 1,2 have b.json lack a.json",
        "aspa 1,2,3 have a.json lack b.json",
        "vrp 198.51.100.0/24 have b.json lack a.json",
      ],
    );
    // a follows: resolved; the missing file appears: recovered, compared too.
    n = mon.lines.length;
    await write(`${dir}/a.json`, b2);
    await write(`${dir}/missing.json`, b2);
    await mon.waitFor(
      (l) =>
        recs(l.slice(n)).filter((r) => r.type === "resolved").length >= 3 &&
        recs(l.slice(n)).some((r) => r.type === "recovered"),
      20000,
      "resolved and recovered",
    );
    const after = recs(mon.lines.slice(n));
    eq(
      after.filter((r) => r.type === "resolved").map((r) => `${r.record} ${r.everywhere}`).sort(),
      ["aspa false", "aspa true", "vrp true"],
    );
    eq(after.filter((r) => r.type === "recovered").map((r) => [r.source, r.from]), [[
      "missing.json",
      "unreachable",
    ]]);
    await mon.waitFor(
      (l) => recs(l.slice(n)).some((r) => r.type === "summary" && r.b === "missing.json"),
      10000,
      "a summary with the third file",
    );
  } finally {
    eq(await mon.stop("SIGTERM"), 0);
  }
  try {
    const rep = await runRtr(["monitor", "--report", `${dir}/hist`]);
    eq(rep.code, 0, rep.stderr);
    const story = recs(rep.stdout.trim().split("\n"));
    const inc = story.filter((r) => r.type === "incident");
    eq(inc.length, 3);
    assertOk(inc.every((r) => r.open === false && r.seconds >= 1), JSON.stringify(inc));
    eq(story.at(-1).type, "report");
    eq(story.at(-1).byKind, { vrps: 1, routerKeys: 0, aspas: 2 });
    const none = await runRtr([
      "monitor",
      "--report",
      `${dir}/hist`,
      "--until",
      "1970-01-02T00:00:00Z",
    ]);
    eq(recs(none.stdout.trim().split("\n")).map((r) => r.type), ["report"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("monitor usage errors exit 2 with one line", async () => {
  for (
    const [args, want] of [
      [["monitor", "a.json"], "Expected at least two different sources, got 1"],
      [["monitor", "a.json", "a.json"], "Expected at least two different sources, got 1"],
      [["monitor", "a.json", "b.json", "--grace", "soon"], "--grace must be a duration"],
      [["monitor", "a.json", "b.json", "--since", "1h"], "--since goes with --report"],
    ] as [string[], string][]
  ) {
    const r = await runRtr(args);
    eq(r.code, 2, r.stderr);
    assertIncludes(r.stderr, want);
    eq(r.stdout, "");
  }
  const r = await runRtr(["monitor", "--report", "/nonexistent-dir"]);
  eq(r.code, 1);
  assertIncludes(r.stderr, "no such file");
});
