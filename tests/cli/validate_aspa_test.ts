/**
 * CLI contract of `rtr validate --aspa` and `rtr show --aspa` (main.ts as a subprocess): records,
 * formats, per-line overrides, bad lines, the same verdicts from a cache over RTR v2 and from the
 * table file, and a whole RIB written as MRT TABLE_DUMP_V2 (RFC 6396) read through `bgpdump -m`.
 */
import assert from "node:assert/strict";
import { readTableFile } from "../../lib/formats/read.ts";
import { Prng } from "../helpers/prng.ts";
import {
  requirePeers,
  requireSharedData,
  runCommand,
  runRtr,
  SHARED,
  stayRtrJson,
} from "../helpers/peers.ts";
import { startServe } from "../helpers/serve.ts";

const ROAS = [
  { prefix: "192.0.2.0/24", maxLength: 24, asn: 64500 },
  { prefix: "198.51.100.0/24", maxLength: 24, asn: 64510 },
];
// 64500 -> 64501 -> {64502, 64503}; 64503 has no providers (AS0); 64504 has no ASPA.
const ASPAS = [
  { customer_asid: 64500, providers: [64501] },
  { customer_asid: 64501, providers: [64502, 64503] },
  { customer_asid: 64503, providers: [0] },
];

async function withTable<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "rtr-validate-aspa-" });
  const file = `${dir}/table.json`;
  await Deno.writeTextFile(file, stayRtrJson(ROAS, [], ASPAS));
  try {
    return await fn(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function records(stdout: string): any[] {
  return stdout.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("rtr validate --aspa PREFIX AS_PATH prints both verdicts with every hop and the ramps", async () => {
  await withTable(async (file) => {
    const r = await runRtr([
      "validate",
      "--aspa",
      "192.0.2.0/24",
      "64504",
      "64501",
      "64500",
      "--from",
      file,
      "--neighbour-as",
      "64504",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(records(r.stdout), [{
      type: "validation",
      prefix: "192.0.2.0/24",
      path: [64504, 64501, 64500],
      asn: 64500,
      neighbour: "customer",
      neighbourAs: 64504,
      rov: {
        state: "valid",
        reason: null,
        matched: [{ prefix: "192.0.2.0/24", maxLength: 24, asn: 64500 }],
        unmatchedAs: [],
        unmatchedLength: [],
      },
      aspa: {
        state: "invalid",
        procedure: "upstream",
        reason: "hop",
        hops: [
          { from: 64500, to: 64501, result: "provider+" },
          { from: 64501, to: 64504, result: "not-provider+" },
        ],
        maxUpRamp: 2,
        minUpRamp: 2,
      },
    }]);
  });
});

Deno.test("rtr validate --aspa reads stdin: per-line neighbour overrides, AS_SET, a bad line is an error record (exit 1)", async () => {
  await withTable(async (file) => {
    const stdin = [
      "192.0.2.0/24 64502 64501 64500",
      "# comment",
      "192.0.2.0/24 64501 64500 neighbour=provider",
      "198.51.100.0/24 64509 64504",
      "192.0.2.0/24 nonsense",
      "192.0.2.0/24 64502 {64510,64511}",
      "192.0.2.0/24 64502 64501 64500 neighbour-as=64503",
      "192.0.2.0/24 64599 64502 64501 64500 neighbour=rs neighbour-as=64599",
      "192.0.2.0/24 64502 64501 64500 neighbour=rs neighbour-as=64599",
    ].join("\n");
    const r = await runRtr(["validate", "--aspa", "--from", file], { stdin });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /1 input line was not a route/);
    const got = records(r.stdout).map((x) =>
      x.type === "error"
        ? x
        : [x.neighbour, x.rov.state, x.aspa.state, x.aspa.procedure, x.aspa.reason]
    );
    assert.deepEqual(got, [
      ["customer", "valid", "valid", "upstream", null],
      ["provider", "valid", "valid", "downstream", null],
      ["customer", "invalid", "unknown", "upstream", null],
      { type: "error", line: 5, message: 'invalid AS number "nonsense" in AS path' },
      ["customer", "invalid", "invalid", "upstream", "as-set"],
      ["customer", "valid", "invalid", "upstream", "neighbour"],
      // a transparent route server is not in the path: no neighbour check; 64502 -> 64599 is
      // not attested
      ["rs", "valid", "unknown", "upstream", null],
      ["rs", "valid", "valid", "upstream", null],
    ]);
    const down = records(r.stdout)[1].aspa;
    // Downstream: each hop checked both ways (is `to` a provider of `from`, and the reverse).
    assert.deepEqual(down.hops, [{
      from: 64500,
      to: 64501,
      result: "provider+",
      reverse: "not-provider+",
    }]);
    assert.deepEqual(
      [down.maxUpRamp, down.minUpRamp, down.maxDownRamp, down.minDownRamp],
      [2, 2, 1, 1],
    );
  });
});

Deno.test("rtr validate --aspa --format text names the first failing hop; --neighbour provider switches to downstream", async () => {
  await withTable(async (file) => {
    const stdin = "192.0.2.0/24 64504 64501 64500\n198.51.100.0/24 64509 64504\n";
    const r = await runRtr(["validate", "--aspa", "--from", file, "--format", "text"], { stdin });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "ROUTE                ROV        ASPA     NEIGHBOUR  PATH\n" +
        "192.0.2.0/24         valid      invalid  customer   64504 64501 64500\n" +
        "  Invalid: AS64501 has an ASPA and AS64504 is not among its providers\n" +
        "198.51.100.0/24      invalid    unknown  customer   64509 64504\n" +
        "  Unknown: AS64504 has no ASPA (is AS64509 its provider?)\n" +
        "  Origin not authorised: AS64504 against 198.51.100.0/24-24 AS64510\n",
    );
    // From a provider, 64501 -> 64504 can be the one lateral hop at the top: Valid.
    const d = await runRtr([
      "validate",
      "--aspa",
      "--from",
      file,
      "--format",
      "text",
      "--neighbour",
      "provider",
      "192.0.2.0/24",
      "64504",
      "64501",
      "64500",
    ]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(
      d.stdout,
      "ROUTE                ROV        ASPA     NEIGHBOUR  PATH\n" +
        "192.0.2.0/24         valid      valid    provider   64504 64501 64500\n",
    );
  });
});

Deno.test("rtr validate --aspa --fail-on: invalid counts either verdict, unknown the path, not-found the origin", async () => {
  await withTable(async (file) => {
    const stdin = "192.0.2.0/24 64502 64501 64500\n198.51.100.0/24 64509 64504\n";
    const ok = await runRtr(["validate", "--aspa", "--from", file, "--fail-on", "not-found"], {
      stdin,
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(records(ok.stdout).length, 2);
    const inv = await runRtr(["validate", "--aspa", "--from", file, "--fail-on", "invalid"], {
      stdin,
    });
    assert.equal(inv.code, 1);
    assert.equal(records(inv.stdout).length, 2);
    assert.match(inv.stderr, /rtr: 1 route is invalid \(--fail-on invalid\)/);
    const unk = await runRtr([
      "validate",
      "--aspa",
      "--from",
      file,
      "--format",
      "summary",
      "--fail-on",
      "unknown,not-found",
    ], { stdin });
    assert.equal(unk.code, 1);
    assert.match(unk.stderr, /rtr: 1 route is unknown \(--fail-on unknown\)/);
    assert.doesNotMatch(unk.stderr, /not-found/);
  });
});

Deno.test("rtr validate --aspa writes every AS number right, up to 4294967295", async () => {
  await withTable(async (file) => {
    const asns = [4294967295, 4200000000, 2147483648, 2147483647, 1000000000, 999999999, 100000]
      .concat([99999, 1000, 100, 99, 10, 9, 1]);
    const r = await runRtr(["validate", "--aspa", "--from", file, "--neighbour", "provider"], {
      stdin: `192.0.2.0/24 ${asns.join(" ")}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    const [rec] = records(r.stdout);
    assert.deepEqual(rec.path, asns);
    assert.equal(rec.asn, 1);
    const up = [...asns].reverse();
    assert.deepEqual(
      rec.aspa.hops.map((h: any) => [h.from, h.to]),
      up.slice(0, -1).map((a, i) => [a, up[i + 1]]),
    );
  });
});

Deno.test("rtr validate --aspa: usage errors exit 2", async () => {
  await withTable(async (file) => {
    const cases: [string[], RegExp][] = [
      [["--format", "rov"], /--format "rov" is not available with --aspa/],
      [["--neighbour", "cousin"], /Unknown --neighbour "cousin"/],
      [["--neighbour-as", "x"], /--neighbour-as must be an AS number/],
      [["--more-specifics"], /--more-specifics is not available with --aspa/],
      [["--fail-on", "valid"], /--fail-on must be invalid, not-found or unknown with --aspa/],
      [["192.0.2.0", "64500"], /expected PREFIX AS_PATH/],
      [["--threads", "0"], /--threads must be a number from 1 to 64, got "0"/],
      [["--threads", "x"], /--threads must be a number from 1 to 64, got "x"/],
    ];
    for (const [args, re] of cases) {
      const r = await runRtr(["validate", "--aspa", "--from", file, ...args], { stdin: "" });
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, re);
      assert.equal(r.stdout, "");
    }
    const without = await runRtr(["validate", "--from", file, "--neighbour", "provider"], {
      stdin: "",
    });
    assert.equal(without.code, 2);
    assert.match(without.stderr, /--neighbour needs --aspa/);
    const threads = await runRtr(["validate", "--from", file, "--threads", "2"], { stdin: "" });
    assert.equal(threads.code, 2);
    assert.match(threads.stderr, /--threads needs --aspa/);
  });
});

Deno.test("rtr validate --aspa --threads 3 on a 10 MB input: the same stdout, stderr and exit code as --threads 1 (text, summary)", async () => {
  const rng = new Prng(77);
  const asns = [64500, 64501, 64502, 64503, 64504, 64505];
  const lines: string[] = [];
  for (let n = 0, bytes = 0; bytes < 10 << 20; n++) {
    const path = Array.from({ length: rng.int(1, 5) }, () => asns[rng.int(0, asns.length - 1)]);
    const prefix = rng.int(0, 1) === 0 ? "192.0.2.0/24" : `198.51.${rng.int(0, 255)}.0/24`;
    const k = n % 97;
    const line = k === 5
      ? `${prefix} 64500 bogus`
      : k === 7
      ? "# comment"
      : k === 11
      ? `${prefix} ${path.join(" ")} {64510,64511}`
      : k === 13
      ? `${prefix} ${path.join(" ")} neighbour=provider`
      : `${prefix} ${path.join(" ")}`;
    lines.push(line);
    bytes += line.length + 1;
  }
  const stdin = lines.join("\n");
  await withTable(async (file) => {
    // NDJSON through the threads: tests/cli/aspa_threads_test.ts (here it would be 100 MB).
    for (const format of ["text", "summary"]) {
      const args = [
        "validate",
        "--aspa",
        "--from",
        file,
        "--format",
        format,
        "--fail-on",
        "invalid",
      ];
      const one = await runRtr([...args, "--threads", "1"], { stdin, timeoutMs: 120_000 });
      const three = await runRtr([...args, "--threads", "3"], { stdin, timeoutMs: 120_000 });
      assert.equal(one.code, 1, one.stderr.slice(0, 300));
      assert.match(one.stderr, /rtr: \d+ input lines were not a route/);
      assert.match(one.stderr, /^rtr: line 6: invalid AS number "bogus"/m);
      assert.ok(one.stdout.length > (format === "summary" ? 200 : 10 << 20), format);
      assert.equal(three.code, one.code, format);
      assert.equal(three.stderr, one.stderr, format);
      assert.ok(three.stdout === one.stdout, `${format}: the outputs differ`);
    }
  });
});

Deno.test("rtr show --aspa prints a customer's record; --providers-of lists the customers naming an AS", async () => {
  await withTable(async (file) => {
    const r = await runRtr([
      "show",
      "--from",
      file,
      "--aspa",
      "AS64501",
      "--aspa",
      "64503",
      "--aspa",
      "64504",
      "--providers-of",
      "64501",
      "--providers-of",
      "AS64599",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "CUSTOMER     PROVIDERS\n" +
        "AS64501      AS64502, AS64503\n" +
        "AS64503      AS0 (no providers)\n" +
        "AS64504      -\n" +
        "PROVIDER     CUSTOMERS\n" +
        "AS64501      AS64500\n" +
        "AS64599      -\n",
    );
    const bad = await runRtr(["show", "--from", file, "--aspa", "AS-1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--aspa must be an AS number/);
  });
});

Deno.test("rtr show --aspa warns when the table holds no ASPA at all (a CSV, a cache below v2)", async () => {
  // "-" means "this customer has no record": from a table that cannot hold ASPA it must not
  // pass for an answer silently.
  const dir = await Deno.makeTempDir({ prefix: "rtr-show-aspa-" });
  try {
    await Deno.writeTextFile(
      `${dir}/t.csv`,
      "ASN,IP Prefix,Max Length,Trust Anchor\nAS64500,192.0.2.0/24,24,\n",
    );
    const r = await runRtr(["show", "--from", `${dir}/t.csv`, "--aspa", "64500"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "CUSTOMER     PROVIDERS\nAS64500      -\n");
    assert.match(r.stderr, /^rtr: warning: the table holds no ASPA records/);
    await withTable(async (file) => {
      const quiet = await runRtr(["show", "--from", file, "--aspa", "64504"]);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(quiet.stderr, "");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The real ASPA records of the shared fixtures (arouteserver's NTT and RIPE layouts, APNIC's
 * rpki-rtr-demo) plus generated ones, and paths over them: upstream and downstream, attested,
 * unattested, leaking, prepended.
 */
async function realTable(dir: string) {
  const files = [
    "arouteserver_rpki_aspas_ntt.json",
    "arouteserver_rpki_aspas_ripe.json",
    "apnic-rpki-rtr-demo_t_rpki.json",
  ];
  const byCustomer = new Map<number, Set<number>>();
  const roas: { prefix: string; maxLength: number; asn: number }[] = [];
  for (const f of files) {
    const t = (await readTableFile(`${SHARED}data/fixtures/${f}`)).table;
    for (const a of t.aspas) {
      // An empty provider list is not a valid ASPA announcement (8210bis §5.12): AS0 says it.
      const s = byCustomer.get(a.customer) ?? new Set<number>();
      for (const p of a.providers.length > 0 ? a.providers : [0]) s.add(p);
      byCustomer.set(a.customer, s);
    }
    for (const v of t.vrps) roas.push({ prefix: v.prefix, maxLength: v.maxLength, asn: v.asn });
  }
  const rng = new Prng(11);
  for (let c = 4200000000; c < 4200000300; c++) {
    const s = new Set<number>();
    for (let k = rng.int(1, 4); k > 0; k--) s.add(4200000000 + rng.int(0, 400));
    s.delete(c);
    byCustomer.set(c, s.size > 0 ? s : new Set([0]));
  }
  const aspas = [...byCustomer].map(([customer_asid, s]) => ({
    customer_asid,
    providers: [...s].sort((a, b) => a - b),
  }));
  const file = `${dir}/real.json`;
  await Deno.writeTextFile(file, stayRtrJson(roas, [], aspas));
  // Paths: walk up provider links from a customer (an attested up-ramp), then sometimes leak
  // through an arbitrary AS, prepend, or hand the route to a customer.
  const customers = [...byCustomer.keys()];
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) {
    const seq = [customers[rng.int(0, customers.length - 1)]];
    for (let h = rng.int(0, 4); h > 0; h--) {
      const ps = [...(byCustomer.get(seq.at(-1)!) ?? [])].filter((p) => p !== 0);
      if (ps.length === 0 || rng.int(0, 4) === 0) seq.push(4200000000 + rng.int(0, 500));
      else seq.push(ps[rng.int(0, ps.length - 1)]);
    }
    if (rng.int(0, 5) === 0) seq.splice(rng.int(0, seq.length - 1), 0, seq[0]);
    const bgp = seq.reverse();
    const role = ["customer", "peer", "provider", "rs", "rs-client"][rng.int(0, 4)];
    const prefix = roas.length > 0 && rng.int(0, 1) === 0
      ? roas[rng.int(0, roas.length - 1)].prefix
      : `203.0.113.${rng.int(0, 255)}/32`;
    lines.push(`${prefix} ${bgp.join(" ")} neighbour=${role}`);
  }
  return { file, stdin: lines.join("\n") + "\n", count: lines.length };
}

Deno.test("rtr validate --aspa against rtr serve over RTR v2 and against the same table file: the same verdicts", async () => {
  if (!requireSharedData("fixtures")) return;
  const dir = await Deno.makeTempDir({ prefix: "rtr-aspa-e2e-" });
  try {
    const { file, stdin, count } = await realTable(dir);
    const srv = await startServe(file);
    try {
      const fromCache = await runRtr(
        ["validate", "--aspa", "--from", `127.0.0.1:${srv.port}`, "--protocol", "2"],
        { stdin },
      );
      const fromFile = await runRtr(["validate", "--aspa", "--from", file], { stdin });
      assert.equal(fromCache.code, 0, fromCache.stderr);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal(fromCache.stderr, "");
      const a = records(fromCache.stdout), b = records(fromFile.stdout);
      assert.equal(a.length, count);
      assert.deepEqual(a, b);
      // The set exercises every verdict of both procedures.
      const seen = new Set(a.map((x) => `${x.aspa.procedure} ${x.aspa.state}`));
      for (const proc of ["upstream", "downstream"]) {
        for (const s of ["valid", "unknown", "invalid"]) {
          assert.ok(seen.has(`${proc} ${s}`), `${proc} ${s}`);
        }
      }
      // AS3333's real record (RIPE NCC: AS1103, AS25152) decides these two.
      const two = await runRtr(["validate", "--aspa", "--from", `127.0.0.1:${srv.port}`], {
        stdin: "193.0.0.0/21 1103 3333\n193.0.0.0/21 174 3333\n",
      });
      assert.deepEqual(records(two.stdout).map((x) => [x.rov.state, x.aspa.state]), [
        ["valid", "valid"],
        ["valid", "invalid"],
      ]);
    } finally {
      await srv.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- MRT TABLE_DUMP_V2 (RFC 6396 §4.3) written by the test, read back by bgpdump -m ---

class Bytes {
  b: number[] = [];
  u8(v: number) {
    this.b.push(v & 255);
    return this;
  }
  u16(v: number) {
    return this.u8(v >>> 8).u8(v);
  }
  u32(v: number) {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  raw(a: number[]) {
    this.b.push(...a);
    return this;
  }
}

function mrt(subtype: number, body: number[]): number[] {
  return new Bytes().u32(1700000000).u16(13).u16(subtype).u32(body.length).raw(body).b;
}

/** One RIB_IPV4_UNICAST record; `path` segments: numbers (AS_SEQUENCE) or arrays (AS_SET). */
function ribEntry(
  seqNo: number,
  prefix: [number, number, number, number, number],
  entries: { peer: number; path: (number | number[])[] }[],
): number[] {
  const [a, b, c, d, len] = prefix;
  const body = new Bytes().u32(seqNo).u8(len).raw([a, b, c, d].slice(0, Math.ceil(len / 8)));
  body.u16(entries.length);
  for (const e of entries) {
    const asPath = new Bytes();
    const segs: (number[] | number)[][] = [];
    for (const s of e.path) {
      if (Array.isArray(s)) segs.push([1, ...s]);
      else if (segs.length > 0 && segs.at(-1)![0] === 2) segs.at(-1)!.push(s);
      else segs.push([2, s]);
    }
    for (const [t, ...asns] of segs as number[][]) {
      asPath.u8(t).u8(asns.length);
      for (const x of asns) asPath.u32(x);
    }
    const attrs = new Bytes()
      .raw([0x40, 1, 1, 0]) // ORIGIN IGP
      .raw([0x50, 2]).u16(asPath.b.length).raw(asPath.b) // AS_PATH, 4-octet ASNs
      .raw([0x40, 3, 4, 192, 0, 2, 1 + e.peer]); // NEXT_HOP
    body.u16(e.peer).u32(1700000000).u16(attrs.b.length).raw(attrs.b);
  }
  return mrt(2, body.b);
}

Deno.test("a RIB in MRT TABLE_DUMP_V2 through bgpdump -m into rtr validate --aspa --format summary", async () => {
  if (!requirePeers("bgpdump")) return;
  await withTable(async (file) => {
    const peers = [64502, 64503, 64504];
    const index = new Bytes().u32(0xc0000201).u16(0).u16(peers.length);
    peers.forEach((as, i) => index.u8(0x02).u32(0xc0000202 + i).raw([192, 0, 2, 2 + i]).u32(as));
    const out = [...mrt(1, index.b)];
    // From peer 64502 (index 0): attested, so Valid; with a prepend; through AS_SET (Invalid).
    // From peer 64503 (index 1): 64503 -> 64501 is attested; 64503 64504 is unattested.
    // From peer 64504 (index 2): 64501 does not list 64504: Invalid.
    out.push(...ribEntry(0, [192, 0, 2, 0, 24], [
      { peer: 0, path: [64502, 64501, 64500] },
      { peer: 1, path: [64503, 64501, 64501, 64500] },
      { peer: 2, path: [64504, 64501, 64500] },
    ]));
    out.push(...ribEntry(1, [198, 51, 100, 0, 24], [
      { peer: 0, path: [64502, [64510, 64511]] },
      { peer: 1, path: [64503, 64504, 64510] },
    ]));
    out.push(...ribEntry(2, [203, 0, 113, 0, 24], [{ peer: 2, path: [64504, 64599] }]));
    const dir = await Deno.makeTempDir({ prefix: "rtr-mrt-" });
    try {
      const rib = `${dir}/rib.mrt`;
      await Deno.writeFile(rib, new Uint8Array(out));
      const dump = await runCommand("bgpdump", ["-m", rib]);
      assert.equal(dump.code, 0, dump.stderr);
      assert.equal(dump.stdout.trim().split("\n").length, 6, dump.stdout);
      assert.match(
        dump.stdout,
        /^TABLE_DUMP2\|1700000000\|B\|192\.0\.2\.2\|64502\|192\.0\.2\.0\/24\|64502 64501 64500\|IGP/m,
      );
      const r = await runRtr(["validate", "--aspa", "--from", file, "--format", "summary"], {
        stdin: dump.stdout,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        "routes 6, bad lines 0\n" +
          "ROV \\ ASPA       valid   unknown   invalid     total\n" +
          "valid                2         1         1         4\n" +
          "invalid              0         0         1         1\n" +
          "not-found            0         1         0         1\n" +
          "total                2         2         2         6\n",
      );
      const nd = await runRtr(["validate", "--aspa", "--from", file], { stdin: dump.stdout });
      assert.deepEqual(records(nd.stdout).map((x) => [x.neighbourAs, x.aspa.state]), [
        [64502, "valid"],
        [64503, "valid"],
        [64504, "invalid"],
        [64502, "invalid"],
        [64503, "unknown"],
        [64504, "unknown"],
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
