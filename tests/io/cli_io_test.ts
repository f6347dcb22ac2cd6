/**
 * The command line's files and messages: `-` and /dev/std* as files under the installed
 * command's permissions, refused formats named, gzip capped, unknown flags and bad addresses as
 * one-line usage errors, and the IPv4-mapped prefix written the same way by every writer.
 */
import assert from "node:assert/strict";
import { runCommand, runRtr } from "../helpers/peers.ts";
import { startFakeCache } from "../helpers/fake_cache.ts";
import { encodePdus, type Pdu } from "../../lib/wire/mod.ts";
import { parseIpv6 } from "../../lib/model/mod.ts";
import { PERMISSIONS } from "../../tools/install.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The permission flags of the installed command (what `deno task install:global` grants). */
const INSTALLED_FLAGS = PERMISSIONS;

/** Run main.ts with exactly the installed command's permissions. */
function runInstalled(
  args: string[],
  opts: { stdin?: string; cwd?: string; env?: Record<string, string> } = {},
) {
  return runCommand(Deno.execPath(), ["run", "--quiet", ...INSTALLED_FLAGS, MAIN, ...args], opts);
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.ok(!/allow-|run again/.test(stderr), `no Deno permission hint: ${stderr}`);
  return lines[0];
}

const MAPPED: Pdu[] = [
  { type: 3, version: 1, sessionId: 7 },
  {
    type: 6,
    version: 1,
    flags: 1,
    prefixLength: 128,
    maxLength: 128,
    addr: parseIpv6("::ffff:1.2.3.4")!,
    asn: 64496,
  },
  { type: 7, version: 1, sessionId: 7, serial: 1, refresh: 3600, retry: 600, expire: 7200 },
] as Pdu[];

const TABLE = JSON.stringify({
  roas: [{ prefix: "192.0.2.0/24", asn: 64496, maxLength: 24 }],
});

Deno.test("rtr replay prints the IPv4-mapped prefix ::ffff:1.2.3.4/128 as RFC 5952 §5 text", async () => {
  const dir = await Deno.makeTempDir();
  const dump = `${dir}/raw.bin`;
  await Deno.writeFile(dump, encodePdus(MAPPED));
  const r = await runRtr(["replay", dump]);
  assert.equal(r.code, 0, r.stderr);
  const pdu = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).find((x) => x.pduType === 6);
  assert.equal(pdu.prefix, "::ffff:1.2.3.4/128");
  const t = await runRtr(["replay", "--table", "--format", "csv", dump]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /AS64496,::ffff:1\.2\.3\.4\/128,128/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("replay, validate and show read - and /dev/stdin with the installed permissions", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = encodePdus(MAPPED);
  await Deno.writeFile(`${dir}/raw.bin`, bytes);
  for (const name of ["-", "/dev/stdin"]) {
    const p = await runCommand("sh", [
      "-c",
      `exec "$0" run --quiet ${INSTALLED_FLAGS.join(" ")} "$1" replay ${name} < "$2"`,
      Deno.execPath(),
      MAIN,
      `${dir}/raw.bin`,
    ]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /"prefix":"::ffff:1\.2\.3\.4\/128"/);
  }
  const r = await runInstalled(["validate", "--from", "/dev/stdin", "192.0.2.0/24", "64496"], {
    stdin: TABLE,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid/);
  const s = await runInstalled(["show", "--from", "-", "192.0.2.0/24"], { stdin: TABLE });
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /192\.0\.2\.0\/24/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshot -o /dev/stdout writes to stdout with the installed permissions", async () => {
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(MAPPED);
  });
  try {
    const r = await runInstalled([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--format",
      "csv",
      "-o",
      "/dev/stdout",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /AS64496,::ffff:1\.2\.3\.4\/128,128/);
  } finally {
    await cache.stop();
  }
});

Deno.test("snapshot -o DIR and --dump DIR fail with one line before connecting, leaving nothing", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/out`);
  // Port 1 on loopback is closed: reaching the network would say "connection refused".
  for (const [flag, prefix] of [["-o", "Cannot write"], ["--dump", "Cannot write --dump file"]]) {
    const r = await runInstalled(["snapshot", "127.0.0.1:1", flag, `${dir}/out`]);
    assert.equal(r.code, 1);
    assert.equal(oneLine(r.stderr), `rtr: ${prefix} ${dir}/out: is a directory`);
  }
  const r = await runInstalled(["snapshot", "127.0.0.1:1", "-o", `${dir}/nope/t.json`]);
  assert.equal(r.code, 1);
  assert.equal(oneLine(r.stderr), `rtr: Cannot write ${dir}/nope/t.json: no directory ${dir}/nope`);
  const left: string[] = [];
  for await (const e of Deno.readDir(dir)) left.push(e.name);
  assert.deepEqual(left, ["out"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("table readers name xz, bzip2, zstd and pcap input instead of printing its bytes", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string, number[], RegExp][] = [
    [
      "t.xz",
      [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4, 0xe6, 0xd6],
      /xz is not supported; gzip is$/,
    ],
    ["t.bz2", [0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59], /bzip2 is not supported; gzip is$/],
    ["t.zst", [0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00], /zstd is not supported; gzip is$/],
    ["t.pcap", [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0], /pcap capture, not a table/],
    ["t.bin", [0x7b, 0x00, 0x01, 0x02, 0xff, 0x1b, 0x5b], /binary data, not a table$/],
  ];
  for (const [name, bytes, re] of cases) {
    await Deno.writeFile(`${dir}/${name}`, new Uint8Array(bytes));
    const r = await runRtr(["validate", "--from", `${dir}/${name}`, "192.0.2.0/24", "64496"]);
    assert.equal(r.code, 1, r.stderr);
    const line = oneLine(r.stderr);
    assert.match(line, re);
    assert.ok(/^[\x20-\x7e]*$/.test(line), `printable: ${JSON.stringify(line)}`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("rtr replay names an xz or zstd file instead of decoding it as a raw dump", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/c.xz`, new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 4]));
  const r = await runRtr(["replay", `${dir}/c.xz`]);
  const recs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(recs.length, 1, r.stdout);
  assert.equal(recs[0].type, "damaged");
  assert.equal(recs[0].message, "xz is not supported; gzip is");
  assert.match(oneLine(r.stderr), /xz is not supported; gzip is/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a gzip table that expands past the cap is refused with one line", async () => {
  const { readInput } = await import("../../lib/io/mod.ts");
  const dir = await Deno.makeTempDir();
  const spaces = new Uint8Array(4 << 20).fill(0x20);
  const gz = new Uint8Array(
    await new Response(new Blob([spaces]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  await Deno.writeFile(`${dir}/big.json.gz`, gz);
  await assert.rejects(
    readInput(`${dir}/big.json.gz`, { maxDecompressed: 1 << 20 }),
    /^InputError: Cannot read .*big\.json\.gz: gzip input expands to more than 1 MiB$/,
  );
  assert.equal((await readInput(`${dir}/big.json.gz`)).length, 4 << 20);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an unknown option names the nearest known one, exit 2", async () => {
  const r = await runRtr(["snapshot", "--formt", "csv"]);
  assert.equal(r.code, 2);
  assert.equal(oneLine(r.stderr), "rtr: Unknown option --formt (did you mean --format?)");
  assert.equal(r.stdout, "");
  const m = await runRtr(["replay", "--table", "--format"]);
  assert.equal(m.code, 2);
  assert.equal(oneLine(m.stderr), "rtr: Option --format needs a value (see 'rtr replay --help')");
  const cmd = await runRtr(["snapshto"]);
  assert.equal(cmd.code, 2);
  assert.equal(oneLine(cmd.stderr), 'rtr: Unknown command "snapshto" (did you mean snapshot?)');
  const top = await runRtr(["--verison"]);
  assert.equal(top.code, 2);
  assert.equal(oneLine(top.stderr), "rtr: Unknown option --verison (did you mean --version?)");
  const far = await runRtr(["snapshot", "--zzzzzz"]);
  assert.equal(far.code, 2);
  assert.equal(oneLine(far.stderr), "rtr: Unknown option --zzzzzz (see 'rtr snapshot --help')");
});

Deno.test("malformed HOST:PORT values are usage errors before any lookup; bare IPv6 gets a hint", async () => {
  const cases: [string[], RegExp][] = [
    [["snapshot", "::1:8282"], /write \[::1\]:8282 for port 8282/],
    [["serve", "--listen", "not a host:80", "x.json"], /Invalid host "not a host"/],
    [["serve", "--listen", "127.0.0.1:http", "x.json"], /Invalid port/],
    [["follow", "--metrics", "1.2.3:9847", "--no-history"], /Invalid host "1\.2\.3"/],
    [["snapshot", "[::1:8282"], /expected \[IPv6\]:PORT/],
    [["snapshot", "[1.2.3.4]:8282"], /Invalid IPv6 address/],
  ];
  for (const [args, re] of cases) {
    const r = await runRtr(args, { timeoutMs: 20000 });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(oneLine(r.stderr), re);
  }
});

Deno.test("rtr with no arguments prints the help to stderr and exits 2", async () => {
  const r = await runRtr([]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^rtr \S+: an RPKI-to-Router/);
});

Deno.test("RTR_DATA_DIR is the default data directory of validate and show", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/hist`);
  await Deno.writeTextFile(`${dir}/hist/routingtable.json`, TABLE);
  const r = await runRtr(["validate", "192.0.2.0/24", "64496"], {
    env: { RTR_DATA_DIR: `${dir}/hist` },
    cwd: dir,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid/);
  const none = await runRtr(["validate", "192.0.2.0/24", "64496"], {
    env: { RTR_DATA_DIR: `${dir}/nope` },
    cwd: dir,
  });
  assert.equal(none.code, 2);
  assert.match(oneLine(none.stderr), /nope does not exist/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("RTR_CACHE is the default cache, also with the installed permissions", async () => {
  const r = await runRtr(["snapshot"], { env: { RTR_CACHE: "::1:8282" }, timeoutMs: 20000 });
  assert.equal(r.code, 2);
  assert.match(oneLine(r.stderr), /Ambiguous address "::1:8282"/);
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(MAPPED);
  });
  try {
    const s = await runInstalled(["snapshot", "--protocol", "1", "--format", "csv"], {
      env: { RTR_CACHE: `127.0.0.1:${cache.port}` },
    });
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /AS64496,::ffff:1\.2\.3\.4\/128,128/);
  } finally {
    await cache.stop();
  }
});
