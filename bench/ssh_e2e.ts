/**
 * End-to-end benchmark of RTR over SSH (not a test): a full sync of an 800k-VRP table by
 * `rtr snapshot` from one `rtr serve`, over TCP and over SSH (the rpki-rtr subsystem, key
 * login), interleaved, with the ratio SSH / TCP of the median times. With `--stayrtr`, the same
 * client against StayRTR's TCP and SSH listeners too (StayRTR writes one PDU per syscall, so its
 * figures are the server's more than ours). With `--rtrclient`, RTRlib's rtrclient (libssh)
 * against `rtr serve` over TCP and SSH (the server's SSH side).
 *
 * Usage: deno run --allow-all bench/ssh_e2e.ts [--count 800000] [--runs 5] [--stayrtr]
 *        [--rtrclient]
 * Files go to bench/out/ (git-ignored). The table comes from ../shared/bench/gen_vrps.py.
 */
import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url).pathname;
const SHARED = Deno.env.get("RTR_SHARED") ??
  [`${ROOT}../shared/`, `${ROOT}../../shared/`].find((p) => exists(`${p}bench/gen_vrps.py`)) ??
  `${ROOT}../shared/`;
const OUT = `${ROOT}bench/out`;
const MAIN = `${ROOT}main.ts`;
const dec = new TextDecoder();

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], env?: Record<string, string>) {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", env }).output();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${dec.decode(r.stderr)}`);
  return { stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

async function spawn(cmd: string, args: string[], ready: RegExp) {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  let log = "";
  for (const s of [child.stdout, child.stderr]) {
    (async () => {
      for await (const c of s) log += dec.decode(c);
    })();
  }
  const end = Date.now() + 180_000;
  while (!ready.test(log)) {
    if (Date.now() > end) throw new Error(`${cmd} did not start: ${log.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    log: () => log,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

/** One client run: wall seconds and the sync's own seconds (connect to End of Data). */
interface Sample {
  wallS: number;
  syncS: number;
  vrps: number;
}

async function snapshot(args: string[]): Promise<Sample> {
  const t0 = performance.now();
  // The table goes to stdout, discarded by the OS: never `-o /dev/null`, which as root would
  // rename a temporary file over the device.
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN,
      "snapshot",
      ...args,
      "--format",
      "csv",
      "-v",
      "--timeout",
      "120",
    ],
    env: { SSH_AUTH_SOCK: "" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const wallS = (performance.now() - t0) / 1000;
  const stderr = dec.decode(out.stderr);
  if (!out.success) throw new Error(`rtr snapshot ${args.join(" ")} failed:\n${stderr}`);
  const m = /synced (\d+) VRPs.* in ([\d.]+) s/.exec(stderr);
  if (!m) throw new Error(`no sync line:\n${stderr}`);
  return { wallS, syncS: Number(m[2]), vrps: Number(m[1]) };
}

async function rtrclient(args: string[]): Promise<Sample> {
  const t0 = performance.now();
  const out = await new Deno.Command("rtrclient", {
    args: ["-e", "-t", "csv", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const wallS = (performance.now() - t0) / 1000;
  if (!out.success) {
    throw new Error(`rtrclient ${args.join(" ")} failed:\n${dec.decode(out.stderr)}`);
  }
  return { wallS, syncS: wallS, vrps: NaN };
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "800000" },
      runs: { type: "string", default: "5" },
      stayrtr: { type: "boolean", default: false },
      rtrclient: { type: "boolean", default: false },
    },
  });
  const count = Number(values.count), runs = Number(values.runs);
  await Deno.mkdir(OUT, { recursive: true });
  const file = `${OUT}/vrps_${count}.json`;
  const st = exists(file) ? Deno.statSync(file) : null;
  if (!st || Date.now() - (st.mtime?.getTime() ?? 0) > 12 * 3600_000) {
    console.error(`generating ${count} VRPs with gen_vrps.py...`);
    await run("python3", [`${SHARED}bench/gen_vrps.py`, "--count", `${count}`, "-o", file]);
  }
  const dir = await Deno.makeTempDir();
  const keygen = (name: string, type: string, pem: boolean) =>
    run("ssh-keygen", [
      "-q",
      "-t",
      type,
      "-N",
      "",
      "-f",
      `${dir}/${name}`,
      ...(pem ? ["-m", "PEM"] : []),
    ]);
  await keygen("host", "ecdsa", true);
  await keygen("router", "ed25519", false);
  const key = ["--ssh-key", `${dir}/router`, "--ssh-insecure-accept"];

  const targets: { name: string; sample: () => Promise<Sample> }[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const serve = await spawn(Deno.execPath(), [
      "run",
      "--allow-all",
      MAIN,
      "serve",
      file,
      "--listen",
      "127.0.0.1:0",
      "--ssh-listen",
      "127.0.0.1:0",
      "--ssh-host-key",
      `${dir}/host`,
      "--ssh-authorized-keys",
      `${dir}/router.pub`,
    ], /serving SSH on 127\.0\.0\.1:(\d+)/);
    stops.push(serve.stop);
    const tcpPort = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(serve.log())![1]);
    const sshPort = Number(/serving SSH on 127\.0\.0\.1:(\d+)/.exec(serve.log())![1]);
    targets.push(
      { name: "rtr snapshot ← rtr serve, TCP", sample: () => snapshot([`127.0.0.1:${tcpPort}`]) },
      {
        name: "rtr snapshot ← rtr serve, SSH",
        sample: () => snapshot([`ssh://rpki@127.0.0.1:${sshPort}`, ...key]),
      },
    );
    if (values.rtrclient) {
      targets.push(
        {
          name: "rtrclient ← rtr serve, TCP",
          sample: () => rtrclient(["tcp", "127.0.0.1", `${tcpPort}`]),
        },
        {
          name: "rtrclient ← rtr serve, SSH",
          sample: () => rtrclient(["ssh", "127.0.0.1", `${sshPort}`, "rpki", `${dir}/router`]),
        },
      );
    }
    if (values.stayrtr) {
      const port = freePort(), ssh = freePort();
      const s = await spawn("stayrtr", [
        "-bind",
        `127.0.0.1:${port}`,
        "-cache",
        file,
        "-checktime=false",
        "-refresh",
        "86400",
        "-metrics.addr",
        "",
        "-ssh.bind",
        `127.0.0.1:${ssh}`,
        "-ssh.key",
        `${dir}/host`,
        "-ssh.method.key",
        "-ssh.auth.key.file",
        `${dir}/router.pub`,
      ], /New update|Updated/);
      stops.push(s.stop);
      await waitPort(port);
      await waitPort(ssh);
      targets.push(
        { name: "rtr snapshot ← StayRTR, TCP", sample: () => snapshot([`127.0.0.1:${port}`]) },
        {
          name: "rtr snapshot ← StayRTR, SSH",
          sample: () => snapshot([`ssh://rpki@127.0.0.1:${ssh}`, ...key]),
        },
      );
    }
    // One warm-up each (module cache, page cache), then interleaved runs.
    for (const t of targets) await t.sample();
    const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
    for (let i = 0; i < runs; i++) {
      for (const t of targets) samples.get(t.name)!.push(await t.sample());
    }
    const rows = targets.map((t) => {
      const s = samples.get(t.name)!;
      return {
        name: t.name,
        vrps: s[0].vrps,
        syncMedianS: median(s.map((x) => x.syncS)),
        wallMedianS: median(s.map((x) => x.wallS)),
      };
    });
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(34)} ${
          (Number.isNaN(r.vrps) ? "?" : String(r.vrps)).padStart(7)
        } VRPs  sync ${r.syncMedianS.toFixed(2)} s  wall ${r.wallMedianS.toFixed(2)} s`,
      );
    }
    for (let i = 0; i + 1 < rows.length; i += 2) {
      const [tcp, ssh] = [rows[i], rows[i + 1]];
      console.log(
        `${ssh.name.replace(/, SSH$/, "")}: SSH / TCP = ${
          (ssh.syncMedianS / tcp.syncMedianS).toFixed(2)
        } (sync), ${(ssh.wallMedianS / tcp.wallMedianS).toFixed(2)} (wall)`,
      );
    }
    await Deno.writeTextFile(`${OUT}/ssh_e2e.json`, JSON.stringify({ count, runs, rows }, null, 2));
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
