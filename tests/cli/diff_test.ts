/** CLI contract of `rtr diff`: serials, files of every dialect, caches; output formats; exit codes. */
import assert from "node:assert/strict";
import { readTableFile } from "../../lib/formats/read.ts";
import { HistoryStore, serialFilePath } from "../../lib/store/mod.ts";
import {
  requirePeers,
  requireSharedData,
  runRtr,
  SHARED,
  startStayRtr,
  stayRtrJson,
} from "../helpers/peers.ts";
import { Recorder, table, tempDir } from "../store/fixtures.ts";

/** A real P-256 router key (base64 DER) and two SKIs. */
const KEY =
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhv5HEBGixUjKJTlenvcD1Axyi07rFdVY1KhN4vMPYy5y0Mx6zfaiEqJN27jK/l61xC36Vsaezd7eXAsZ1AEEsQ==";
const SKI1 = "510F485D29A29DB7B515F9C478F8ED3CB7AA7D23";
const SKI2 = "5D4250E2D81D4448D8A29EFCE91D29FF075EC9E2";

interface Spec {
  roas: { prefix: string; maxLength: number; asn: number }[];
  keys: { asn: number; ski: string; pubkey: string }[];
  aspas: { customer_asid: number; providers: number[] }[];
}

const A: Spec = {
  roas: [
    { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
    { prefix: "198.51.100.0/22", maxLength: 24, asn: 64497 },
    { prefix: "2001:db8::/32", maxLength: 48, asn: 64496 },
  ],
  keys: [{ asn: 64498, ski: SKI1, pubkey: KEY }],
  aspas: [{ customer_asid: 64500, providers: [64501] }, {
    customer_asid: 64510,
    providers: [64511],
  }],
};
const B: Spec = {
  roas: [
    { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
    { prefix: "203.0.113.0/24", maxLength: 24, asn: 64499 },
    { prefix: "2001:db8::/32", maxLength: 48, asn: 64496 },
    { prefix: "2001:db8:1::/48", maxLength: 48, asn: 64500 },
  ],
  keys: [{ asn: 64498, ski: SKI1, pubkey: KEY }, { asn: 64499, ski: SKI2, pubkey: KEY }],
  aspas: [{ customer_asid: 64500, providers: [64501, 64502] }],
};

/** The net change from A to B, as NDJSON records in writeDiff's order. */
const A_TO_B = [
  '{"type":"vrp","action":"withdraw","prefix":"198.51.100.0/22","maxLength":24,"asn":64497}',
  '{"type":"aspa","action":"withdraw","customer_asid":64510,"providers":[64511]}',
  '{"type":"vrp","action":"announce","prefix":"203.0.113.0/24","maxLength":24,"asn":64499}',
  '{"type":"vrp","action":"announce","prefix":"2001:db8:1::/48","maxLength":48,"asn":64500}',
  `{"type":"routerKey","action":"announce","asn":64499,"ski":"${SKI2}","pubkey":"${KEY}"}`,
  '{"type":"aspa","action":"announce","customer_asid":64500,"providers":[64501,64502]}',
];

/** The same table in the dialects rtr reads. */
const DIALECTS: Record<string, (s: Spec) => string> = {
  "rpki-client.json": (s) =>
    JSON.stringify({
      metadata: { buildtime: "2026-07-20T10:00:00Z", vrps: s.roas.length },
      roas: s.roas.map((r) => ({ ...r, ta: "test", expires: 1790000000 })),
      bgpsec_keys: s.keys,
      aspas: s.aspas,
    }),
  // rtrdump: lower-case SKIs, ASPA only under provider_authorizations.
  "rtrdump.json": (s) =>
    JSON.stringify({
      metadata: { vrps: s.roas.length },
      roas: s.roas,
      bgpsec_keys: s.keys.map((k) => ({ ...k, ski: k.ski.toLowerCase() })),
      provider_authorizations: { ipv4: s.aspas, ipv6: [] },
    }),
  "routinator.json": (s) =>
    JSON.stringify({
      metadata: { generated: 1, generatedTime: "2026-07-20T10:00:00Z" },
      roas: s.roas.map((r) => ({ ...r, asn: `AS${r.asn}`, ta: "test" })),
      routerKeys: s.keys.map((k) => ({
        asn: `AS${k.asn}`,
        SKI: k.ski.toLowerCase(),
        routerPublicKey: k.pubkey,
      })),
      aspas: s.aspas.map((a) => ({
        customer: `AS${a.customer_asid}`,
        providers: a.providers.map((p) => `AS${p}`),
      })),
    }),
};
const VRP_DIALECTS: Record<string, (s: Spec) => string> = {
  "rpki-client.csv": (s) =>
    "ASN,IP Prefix,Max Length,Trust Anchor,Expires\n" +
    s.roas.map((r) => `AS${r.asn},${r.prefix},${r.maxLength},test,1790000000\n`).join(""),
  "rtrclient.json": (s) =>
    JSON.stringify(
      s.roas.map((r) => ({
        prefix: r.prefix.split("/")[0],
        length: r.prefix.split("/")[1],
        maxlen: String(r.maxLength),
        origin: String(r.asn),
      })),
      null,
      "\t",
    ),
};

async function writeDialects(dir: string): Promise<void> {
  for (const [name, f] of Object.entries({ ...DIALECTS, ...VRP_DIALECTS })) {
    await Deno.writeTextFile(`${dir}/a.${name}`, f(A));
    await Deno.writeTextFile(`${dir}/b.${name}`, f(B));
  }
}

function lines(s: string): string[] {
  return s.split("\n").filter((l) => l !== "");
}

Deno.test("rtr diff FILE1 FILE2 gives the same net change across dialects, SKI case ignored", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDialects(dir);
    const names = Object.keys(DIALECTS);
    for (let i = 0; i < names.length; i++) {
      const a = `${dir}/a.${names[i]}`, b = `${dir}/b.${names[(i + 1) % names.length]}`;
      const r = await runRtr(["diff", a, b]);
      assert.equal(r.code, 1, `${a} ${b}: ${r.stderr}`);
      assert.equal(r.stderr, "");
      assert.deepEqual(lines(r.stdout), A_TO_B, `${names[i]} → ${names[(i + 1) % names.length]}`);
    }
    // Standard input as one side.
    const stdin = await runRtr(["diff", `${dir}/a.rtrdump.json`, "-"], {
      stdin: DIALECTS["routinator.json"](B),
    });
    assert.equal(stdin.code, 1, stdin.stderr);
    assert.deepEqual(lines(stdin.stdout), A_TO_B);
    // VRP-only formats: the same VRP changes.
    const vrpChanges = A_TO_B.filter((l) => l.includes('"type":"vrp"'));
    const csv = await runRtr(["diff", `${dir}/a.rpki-client.csv`, `${dir}/b.rtrclient.json`]);
    assert.equal(csv.code, 1, csv.stderr);
    assert.deepEqual(lines(csv.stdout), vrpChanges);
  } finally {
    await cleanup();
  }
});

Deno.test("rtr diff of identical tables in different dialects exits 0 with no output (json: zero counts)", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDialects(dir);
    const j = await runRtr([
      "diff",
      `${dir}/a.rpki-client.json`,
      `${dir}/a.routinator.json`,
      "--format",
      "json",
    ]);
    assert.deepEqual([j.code, j.stderr], [0, ""]);
    const none = { vrps: [], router_keys: [], aspas: [] };
    assert.deepEqual(JSON.parse(j.stdout), {
      from: { file: `${dir}/a.rpki-client.json` },
      to: { file: `${dir}/a.routinator.json` },
      announce: none,
      withdraw: none,
      counts: {
        announce: { vrps: 0, router_keys: 0, aspas: 0 },
        withdraw: { vrps: 0, router_keys: 0, aspas: 0 },
      },
    });
    for (const fmt of ["ndjson", "text"]) {
      const r = await runRtr([
        "diff",
        `${dir}/a.rpki-client.json`,
        `${dir}/a.routinator.json`,
        "--format",
        fmt,
      ]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, "", ""], fmt);
    }
    const v = await runRtr(["diff", `${dir}/a.rpki-client.csv`, `${dir}/a.rtrclient.json`]);
    assert.deepEqual([v.code, v.stdout, v.stderr], [0, "", ""]);
    // A VRP-only file against a full one: a warning says why keys and ASPA differ.
    const w = await runRtr(["diff", `${dir}/a.rpki-client.csv`, `${dir}/a.rpki-client.json`]);
    assert.equal(w.code, 1);
    assert.match(w.stderr, /a\.rpki-client\.csv holds VRPs only/);
  } finally {
    await cleanup();
  }
});

Deno.test("rtr diff --only vrp says a VRP-only file and a full table agree on the VRPs", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDialects(dir);
    const csv = `${dir}/a.rpki-client.csv`, full = `${dir}/a.rpki-client.json`;
    for (const only of [["--only", "vrp"], ["--type", "vrp"], ["--prefix", "0.0.0.0/0+"]]) {
      const r = await runRtr(["diff", csv, full, ...only]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, "", ""], `${only}`);
    }
    // The VRPs of A against B: only the VRP changes.
    const v = await runRtr(["diff", csv, `${dir}/b.rpki-client.json`, "--only", "vrp"]);
    assert.equal(v.code, 1, v.stderr);
    assert.deepEqual(lines(v.stdout), A_TO_B.filter((l) => l.includes('"type":"vrp"')));
    const bad = await runRtr(["diff", csv, full, "--only", "roa"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--only must be vrp, routerKey, aspa, got "roa"/);
  } finally {
    await cleanup();
  }
});

Deno.test("rtr diff --asn, --prefix P, --prefix P+ and --type keep only the matching changes", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDialects(dir);
    const a = `${dir}/a.rpki-client.json`, b = `${dir}/b.routinator.json`;
    const only = async (...flags: string[]) => {
      const r = await runRtr(["diff", a, b, ...flags]);
      assert.equal(r.code, lines(r.stdout).length ? 1 : 0, r.stderr);
      return lines(r.stdout);
    };
    const pick = (...ix: number[]) => ix.map((i) => A_TO_B[i]);
    // AS64500: the VRP 2001:db8:1::/48 and the ASPA of customer 64500.
    assert.deepEqual(await only("--asn", "64500"), pick(3, 5));
    assert.deepEqual(await only("--asn", "64500", "--asn", "AS64497"), pick(0, 3, 5));
    assert.deepEqual(await only("--asn", "64499", "--type", "routerKey"), pick(4));
    assert.deepEqual(await only("--type", "aspa"), pick(1, 5));
    assert.deepEqual(await only("--type", "vrp,routerKey"), pick(0, 2, 3, 4));
    // Exact prefix: 2001:db8::/32 itself did not change; with + its more specific /48 did.
    assert.deepEqual(await only("--prefix", "2001:db8::/32"), []);
    assert.deepEqual(await only("--prefix", "2001:db8::/32+"), pick(3));
    assert.deepEqual(
      await only("--prefix", "198.51.100.0/22", "--prefix", "0.0.0.0/0+"),
      pick(0, 2),
    );
    // Criteria of different kinds must all hold.
    assert.deepEqual(await only("--prefix", "0.0.0.0/0+", "--asn", "64499"), pick(2));
    const bad = await runRtr(["diff", a, b, "--prefix", "10.0.0.0"]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /--prefix must be ADDRESS\/LENGTH or ADDRESS\/LENGTH\+, got "10.0.0.0"/,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("rtr diff --format text prints sorted + and - lines; a changed ASPA shows old and new", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDialects(dir);
    const a = `${dir}/a.rpki-client.json`, b = `${dir}/b.rtrdump.json`;
    const r = await runRtr(["diff", a, b, "--format", "text"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stdout,
      [
        `--- ${a}`,
        `+++ ${b}`,
        "- 198.51.100.0/22 maxlen 24 AS64497",
        "+ 203.0.113.0/24 maxlen 24 AS64499",
        "+ 2001:db8:1::/48 maxlen 48 AS64500",
        `+ router-key AS64499 SKI ${SKI2} key ${KEY}`,
        "- aspa AS64500 providers AS64501",
        "+ aspa AS64500 providers AS64501, AS64502",
        "- aspa AS64510 providers AS64511",
        "",
      ].join("\n"),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("rtr diff --format json prints one document with both sides and counts", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDialects(dir);
    const a = `${dir}/a.rpki-client.json`, b = `${dir}/b.routinator.json`;
    const r = await runRtr(["diff", a, b, "--format", "json"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(lines(r.stdout).length, 1);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc, {
      from: { file: a },
      to: { file: b },
      announce: {
        vrps: [
          { asn: 64499, prefix: "203.0.113.0/24", maxLength: 24 },
          { asn: 64500, prefix: "2001:db8:1::/48", maxLength: 48 },
        ],
        router_keys: [{ asn: 64499, ski: SKI2, pubkey: KEY }],
        aspas: [{ customer_asid: 64500, providers: [64501, 64502] }],
      },
      withdraw: {
        vrps: [{ asn: 64497, prefix: "198.51.100.0/22", maxLength: 24 }],
        router_keys: [],
        aspas: [{ customer_asid: 64510, providers: [64511] }],
      },
      counts: {
        announce: { vrps: 2, router_keys: 1, aspas: 1 },
        withdraw: { vrps: 1, router_keys: 0, aspas: 1 },
      },
    });
  } finally {
    await cleanup();
  }
});

Deno.test("rtr diff SERIAL SERIAL composes the history and matches the diff of the tables", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDialects(dir);
    const ta = (await readTableFile(`${dir}/a.rpki-client.json`)).table;
    const tb = (await readTableFile(`${dir}/b.rpki-client.json`)).table;
    const mid = table([["192.0.2.0/24", 24, 64496], ["10.0.0.0/8", 8, 1]]);
    const data = `${dir}/data`;
    const rec = new Recorder(await HistoryStore.open(data, { create: true }));
    await rec.sync(ta, 380);
    await rec.sync(mid, 381);
    await rec.sync(mid, 382); // a quiet serial
    await rec.sync(tb, 383);
    const r = await runRtr(["diff", "380", "383", "--data-dir", data]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout), A_TO_B);
    const same = await runRtr(["diff", "381", "382", "--data-dir", data]);
    assert.deepEqual([same.code, same.stdout, same.stderr], [0, "", ""]);
    // A serial against a file: the table at 380 is rebuilt from the history.
    const mixed = await runRtr(["diff", "380", `${dir}/b.routinator.json`, "--data-dir", data]);
    assert.equal(mixed.code, 1, mixed.stderr);
    assert.deepEqual(lines(mixed.stdout), A_TO_B);
    const text = await runRtr(["diff", "383", "380", "--data-dir", data, "--format", "text"]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^--- serial 383 \(session 4660, 2026-07\/.*\n\+\+\+ serial 380 /);
    assert.match(text.stdout, /\n\+ 198\.51\.100\.0\/22 maxlen 24 AS64497\n/);
    const v = await runRtr(["diff", "380", "383", "--data-dir", data, "-v"]);
    assert.match(v.stderr, /composed the recorded deltas \(3 files read\)/);
  } finally {
    await cleanup();
  }
});

Deno.test("rtr diff exits 2 naming the missing serial, an unknown serial or a bad input", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const data = `${dir}/data`;
    const rec = new Recorder(await HistoryStore.open(data, { create: true }));
    for (let n = 0; n < 4; n++) {
      await rec.sync(table([[`10.${n}.0.0/16`, 16, 1], ["192.0.2.0/24", 24, 2]]), 10 + n);
    }
    await Deno.remove(
      `${data}/${serialFilePath(new Date(Date.UTC(2026, 6, 20, 10, 1)), 4660, 11)}`,
    );
    const gap = await runRtr(["diff", "10", "13", "--data-dir", data]);
    assert.equal(gap.code, 2);
    assert.equal(gap.stdout, "");
    assert.equal(
      gap.stderr,
      `rtr: History has a gap: serial 11 of session 4660 is missing from ${data} (serial 12 was recorded as a delta from it)\n`,
    );
    const unknown = await runRtr(["diff", "10", "99", "--data-dir", data]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Serial 99 is not in the history: .* holds serials 10 to 13/);
    const cases: [string[], RegExp][] = [
      [["diff", "10"], /Expected two things to compare, got 1/],
      [["diff", "10", "11", "--format", "xml"], /--format must be ndjson, text or json/],
      [["diff", "10", "11", "--frobnicate"], /see 'rtr diff --help'/],
      [["diff", `${dir}/nope.json`, "10"], /No such file, serial or cache: .*nope\.json/],
      [["diff", "1", "2", "--data-dir", `${dir}/none`], /No history directory/],
      [["diff", "1", "2", "--session", "70000"], /--session must be a whole number/],
      [["diff", "1", "2", "--protocol", "3"], /--protocol must be a whole number from 0 to 2/],
    ];
    await Deno.writeTextFile(`${dir}/bad.json`, '{"roas":[{"prefix":"300.0.0.0/8"}]}');
    cases.push([["diff", `${dir}/bad.json`, `${dir}/bad.json`], /bad\.json/]);
    for (const [args, re] of cases) {
      const r = await runRtr(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.stdout, "");
      assert.match(r.stderr, re);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("rtr diff HOST:PORT HOST:PORT compares two StayRTR caches, router keys and ASPA included", async () => {
  if (!requirePeers("stayrtr")) return;
  const { dir, cleanup } = await tempDir();
  const running: { stop(): Promise<void> }[] = [];
  try {
    // StayRTR serves SKIs as it reads them: one cache gets them lower case.
    const lower = (s: Spec): Spec => ({
      ...s,
      keys: s.keys.map((k) => ({ ...k, ski: k.ski.toLowerCase() })),
    });
    await Deno.writeTextFile(`${dir}/a.json`, stayRtrJson(A.roas, A.keys, A.aspas));
    await Deno.writeTextFile(`${dir}/a2.json`, stayRtrJson(A.roas, lower(A).keys, A.aspas));
    await Deno.writeTextFile(`${dir}/b.json`, stayRtrJson(B.roas, B.keys, B.aspas));
    const [sa, sa2, sb] = await Promise.all([
      startStayRtr(`${dir}/a.json`),
      startStayRtr(`${dir}/a2.json`),
      startStayRtr(`${dir}/b.json`),
    ]);
    running.push(sa, sa2, sb);
    const ca = `127.0.0.1:${sa.port}`, ca2 = `127.0.0.1:${sa2.port}`, cb = `127.0.0.1:${sb.port}`;
    const r = await runRtr(["diff", ca, cb, "--timeout", "10"], { timeoutMs: 20000 });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout), A_TO_B);
    const same = await runRtr(["diff", ca, ca2, "--timeout", "10"], { timeoutMs: 20000 });
    assert.deepEqual([same.code, same.stdout], [0, ""], same.stderr);
    const mixed = await runRtr(["diff", `${dir}/a.json`, cb, "--format", "json"], {
      timeoutMs: 20000,
    });
    assert.equal(mixed.code, 1, mixed.stderr);
    const doc = JSON.parse(mixed.stdout);
    assert.equal(doc.to.source, cb);
    assert.equal(doc.to.version, 2);
    assert.deepEqual(doc.counts, {
      announce: { vrps: 2, router_keys: 1, aspas: 1 },
      withdraw: { vrps: 1, router_keys: 0, aspas: 1 },
    });
  } finally {
    await Promise.all(running.map((s) => s.stop()));
    await cleanup();
  }
});

/** The VRPs of a weekly file as `prefix maxLength asn` strings, read without our parser. */
async function weeklySet(path: string): Promise<Set<string>> {
  const text = await new Response(
    (await Deno.open(path)).readable.pipeThrough(new DecompressionStream("gzip")),
  ).text();
  const j = JSON.parse(text) as { roas: { prefix: string; maxLength: number; asn: number }[] };
  return new Set(j.roas.map((r) => `${r.prefix} ${r.maxLength} ${r.asn}`));
}

function minus(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).sort();
}

function vrpKeys(stdout: string, action: string): string[] {
  return lines(stdout).map((l) => JSON.parse(l)).filter((r) => r.action === action).map((
    r,
  ) => `${r.prefix} ${r.maxLength} ${r.asn}`).sort();
}

Deno.test("rtr diff of two real 2017 weekly sets equals their set difference, by file and by serial", async () => {
  if (!requireSharedData("vrps_2017_weekly")) return;
  const wdir = `${SHARED}data/vrps_2017_weekly`;
  const files = [...Deno.readDirSync(wdir)].map((e) => e.name).filter((n) => n.endsWith(".gz"))
    .sort();
  const { dir, cleanup } = await tempDir();
  try {
    const first = `${wdir}/${files[0]}`, second = `${wdir}/${files[1]}`;
    const last = `${wdir}/${files[files.length - 1]}`;
    const [s0, s1, sl] = await Promise.all([first, second, last].map(weeklySet));
    const r = await runRtr(["diff", first, second], { timeoutMs: 30000 });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(vrpKeys(r.stdout, "announce"), minus(s1, s0));
    assert.deepEqual(vrpKeys(r.stdout, "withdraw"), minus(s0, s1));

    // Every week recorded as a serial (as follow would), then the first against the last.
    const data = `${dir}/data`;
    const rec = new Recorder(await HistoryStore.open(data, { create: true }));
    for (let i = 0; i < files.length; i++) {
      await rec.sync((await readTableFile(`${wdir}/${files[i]}`)).table, 1 + i);
    }
    const s = await runRtr(["diff", "1", String(files.length), "--data-dir", data], {
      timeoutMs: 30000,
    });
    assert.equal(s.code, 1, s.stderr);
    assert.deepEqual(vrpKeys(s.stdout, "announce"), minus(sl, s0));
    assert.deepEqual(vrpKeys(s.stdout, "withdraw"), minus(s0, sl));
  } finally {
    await cleanup();
  }
});
