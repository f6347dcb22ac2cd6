/**
 * The offline demo (`deno task demo`): serve testdata/demo-table.json (made by
 * tools/gen_table.ts) with `rtr serve` on a free port, sync it with `rtr snapshot`, change the
 * table and fetch only the change with a Serial Query, print what a newcomer needs to see and
 * the commands to try next, then stop the server. Needs no network beyond 127.0.0.1.
 */
const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const TABLE = `${ROOT}testdata/demo-table.json`;
const dec = new TextDecoder();

function rtrArgs(args: string[]): string[] {
  return ["run", "--allow-all", "--quiet", MAIN, ...args];
}

async function rtr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: rtrArgs(args),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `rtr serve` in the background; resolves once it prints the address it listens on. */
async function serve(file: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: rtrArgs(["serve", file, "--listen", "127.0.0.1:0", "--notify-interval", "1"]),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  (async () => {
    for await (const c of child.stderr) log += dec.decode(c);
  })();
  const deadline = Date.now() + 30_000;
  let m: RegExpMatchArray | null = null;
  while (!(m = log.match(/listening on (127\.0\.0\.1:\d+)/))) {
    if (Date.now() > deadline) throw new Error(`rtr serve did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address: m[1],
    log: () => log,
    waitLog: async (re: RegExp) => {
      const end = Date.now() + 15_000;
      while (!re.test(log)) {
        if (Date.now() > end) throw new Error(`no ${re} from rtr serve:\n${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: async () => {
      child.kill("SIGTERM");
      return (await child.status).code;
    },
  };
}

function records(ndjson: string): Record<string, any>[] {
  return ndjson.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

const bold = (s: string) => Deno.stdout.isTerminal() ? `\x1b[1m${s}\x1b[0m` : s;
const say = (s = "") => console.log(s);

async function main(): Promise<number> {
  // Serve a copy, so that the demo can change it without touching testdata/.
  const dir = await Deno.makeTempDir({ prefix: "rtr-demo-" });
  const file = `${dir}/demo-table.json`;
  await Deno.copyFile(TABLE, file);
  const srv = await serve(file);
  try {
    say(bold("rtr offline demo"));
    say(`1. rtr serve is serving testdata/demo-table.json on ${srv.address}`);
    say(`   (a realistic table made by tools/gen_table.ts: VRPs, BGPsec router keys, ASPA)`);
    say();

    const t0 = performance.now();
    const snap = await rtr(["snapshot", srv.address, "--format", "ndjson"]);
    const ms = performance.now() - t0;
    if (snap.code !== 0) throw new Error(`rtr snapshot failed (${snap.code}):\n${snap.stderr}`);
    const recs = records(snap.stdout);
    const sync = recs.find((r) => r.type === "sync") ?? {};
    say(`2. ${bold(`rtr snapshot ${srv.address} --format ndjson`)} synced in ${ms.toFixed(0)} ms:`);
    say(
      `   protocol version ${sync.version}, session ${sync.sessionId}, serial ${sync.serial}: ` +
        `${sync.vrps} VRPs (${sync.vrpsIpv4} IPv4, ${sync.vrpsIpv6} IPv6), ` +
        `${sync.routerKeys} router keys, ${sync.aspas} ASPA`,
    );
    say(`   a few of its NDJSON records (one JSON object per line, "type" first):`);
    const pick = [
      ...recs.filter((r) => r.type === "vrp").slice(0, 2),
      recs.find((r) => r.type === "vrp" && String(r.prefix).includes(":")),
      recs.find((r) => r.type === "routerKey"),
      recs.find((r) => r.type === "aspa"),
    ].filter((r) => r !== undefined);
    for (const r of pick) {
      const line = JSON.stringify(r);
      say(`     ${line.length > 110 ? line.slice(0, 107) + "..." : line}`);
    }
    say(`   what the cache logged for it (stderr of rtr serve):`);
    for (const l of srv.log().split("\n").filter((l) => / (connected|negotiated|Query)/.test(l))) {
      say(`     ${l}`);
    }
    say();

    // Change the table: one VRP withdrawn, one announced.
    const doc = JSON.parse(await Deno.readTextFile(file));
    const [gone] = doc.roas.splice(0, 1);
    doc.roas.push({ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496, ta: "demo" });
    await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(doc));
    await Deno.rename(`${file}.tmp`, file);
    await srv.waitLog(/serial 1 → 2/);
    const delta = await rtr([
      "snapshot",
      srv.address,
      "--serial",
      `${sync.serial}`,
      "--session",
      `${sync.sessionId}`,
      "--format",
      "ndjson",
    ]);
    if (delta.code !== 0) throw new Error(`rtr snapshot --serial failed:\n${delta.stderr}`);
    say(`3. The file changed (${gone.prefix} AS${gone.asn} removed, 192.0.2.0/24 AS64496 added):`);
    say(`   rtr serve reloaded it as serial 2; only the change crosses the wire:`);
    say(`   ${bold(`rtr snapshot ${srv.address} --serial 1 --session ${sync.sessionId}`)}`);
    for (const r of records(delta.stdout).filter((r) => r.type !== "sync")) {
      say(`     ${JSON.stringify(r)}`);
    }
    say();

    // The commands to try next, every one of them working against `rtr serve` of the demo table.
    const next: [string, string][] = [
      ["rtr serve testdata/demo-table.json", "a cache on 127.0.0.1:8282; edit the file"],
      ["rtr snapshot 127.0.0.1:8282 > roas.json", "rpki-client JSON"],
      ["rtr snapshot 127.0.0.1:8282 --format csv", "or ndjson, openbgpd, bird"],
      ["rtr snapshot 127.0.0.1:8282 --protocol 0", "negotiate down: no keys, no ASPA"],
      ["rtr follow 127.0.0.1:8282 --no-history", "stream every change"],
      ["rtr diff roas.json 127.0.0.1:8282", "what changed since roas.json"],
      ["rtr validate --from roas.json 192.0.2.0/24 AS64496", "RFC 6811 origin validation"],
      ["rtr show --from roas.json 1.8.0.0/16 -l", "the old rtr_show table"],
      ["rtr probe 127.0.0.1:8282", "is the cache conformant?"],
      ["rtr help", "every command"],
    ];
    const width = Math.max(...next.map(([c]) => c.length)) + 2;
    say(bold("Try next") + " (rtr = deno run -A main.ts, or `deno task install:global`):");
    for (const [c, why] of next) say(`   ${c.padEnd(width)}# ${why}`);
    return 0;
  } finally {
    const code = await srv.stop();
    await Deno.remove(dir, { recursive: true });
    if (code !== 0) console.error(`rtr serve exited with ${code}`);
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
