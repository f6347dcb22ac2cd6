/**
 * `rtr serve --ssh-listen` (8210bis §9.1) against real SSH clients: RTRlib's rtrclient (libssh,
 * key login) gets the whole table; `rtr follow` over SSH gets a file change by Serial Notify;
 * OpenSSH's `ssh -s … rpki-rtr` reaches the subsystem with a raw Reset Query, and a shell, exec
 * or a key that is not authorized gets nothing.
 */
import { assert, assertEquals as eq, assertIncludes } from "../helpers/assert.ts";
import { spawnRtr } from "../helpers/child_lines.ts";
import { requirePeers, runCommand, runRtr, stayRtrJson, stopChild } from "../helpers/peers.ts";
import { startServe } from "../helpers/serve.ts";
import { knownHostsFile, makeKey, openSshArgs, type TestKey } from "../helpers/ssh.ts";
import { parseTableText, readTableFile } from "../../lib/formats/read.ts";
import { generateTable, tableJson } from "../../tools/gen_table.ts";
import { type Pdu, PduFramer } from "../../lib/wire/mod.ts";

interface Keys {
  host: TestKey;
  router: TestKey;
  stranger: TestKey;
  authorized: string;
  password: string;
}

async function keys(dir: string): Promise<Keys> {
  const host = await makeKey(dir, "host", "ecdsa", true);
  const router = await makeKey(dir, "router");
  const stranger = await makeKey(dir, "stranger");
  const authorized = `${dir}/authorized_keys`;
  await Deno.writeTextFile(authorized, `restrict ${router.publicLine} router\n`);
  const password = `${dir}/password`;
  await Deno.writeTextFile(password, "rtr over ssh\n");
  return { host, router, stranger, authorized, password };
}

/** `rtr serve FILE` with an SSH listener on a free port; returns it and the SSH port. */
async function serveSsh(file: string, k: Keys, args: string[] = []) {
  const srv = await startServe(file, [
    "--ssh-listen",
    "127.0.0.1:0",
    "--ssh-host-key",
    k.host.file,
    "--ssh-authorized-keys",
    k.authorized,
    "--ssh-password-file",
    k.password,
    ...args,
  ]);
  const sshPort = Number((await srv.waitLog(/serving SSH on 127\.0\.0\.1:(\d+)/))[1]);
  return { srv, sshPort };
}

const ENV = { SSH_AUTH_SOCK: "", RTR_SSH_PASSWORD: "" };

Deno.test("interop: rtrclient ssh (key login) and rtr snapshot over SSH get the whole table from rtr serve", async () => {
  if (!requirePeers("rtrclient", "ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/table.json`;
    await Deno.writeTextFile(
      file,
      tableJson(await generateTable({ count: 2000, seed: 13, routerKeys: 3, aspas: 10 })),
    );
    const { table } = await readTableFile(file);
    const k = await keys(dir);
    const { srv, sshPort } = await serveSsh(file, k);
    try {
      const known = await knownHostsFile(dir, "known_hosts", sshPort, k.host);
      const rc = await runCommand(
        "rtrclient",
        ["-e", "-t", "csv", "ssh", "127.0.0.1", `${sshPort}`, "rpki", k.router.file, known],
        { timeoutMs: 30000 },
      );
      eq(rc.code, 0, rc.stderr);
      const got = parseTableText(rc.stdout, "rtrclient").table;
      const lines = (t: typeof table) =>
        [...t.vrps].map((v) => `${v.prefix} ${v.maxLength} AS${v.asn}`).sort();
      eq(lines(got).length, table.vrps.size);
      eq(lines(got), lines(table));
      assertIncludes(srv.log(), `rpki logged in with key ssh-ed25519 ${k.router.fingerprint}`);
      // Password login, protocol 2: every VRP, router key and ASPA record.
      const snap = await runRtr(
        [
          "snapshot",
          `ssh://rpki@127.0.0.1:${sshPort}`,
          "--ssh-known-hosts",
          known,
          "--format",
          "ndjson",
        ],
        { env: { ...ENV, RTR_SSH_PASSWORD: "rtr over ssh" } },
      );
      eq(snap.code, 0, snap.stderr);
      const recs = snap.stdout.trim().split("\n").map((l) => JSON.parse(l));
      eq(recs.filter((r) => r.type === "vrp").length, table.vrps.size);
      eq(recs.filter((r) => r.type === "routerKey").length, table.routerKeys.length);
      eq(recs.filter((r) => r.type === "aspa").length, table.aspas.length);
      assertIncludes(srv.log(), "rpki logged in with a password");
      // diff and validate take an ssh:// cache too: the served table equals its file.
      const sshFlags = ["--ssh-key", k.router.file, "--ssh-known-hosts", known];
      const diff = await runRtr(["diff", `ssh://rpki@127.0.0.1:${sshPort}`, file, ...sshFlags], {
        env: ENV,
      });
      eq(diff.code, 0, diff.stderr);
      const v = [...table.vrps][0];
      const val = await runRtr(
        ["validate", v.prefix, `${v.asn}`, "--from", `ssh://127.0.0.1:${sshPort}`, ...sshFlags],
        { env: ENV },
      );
      eq(val.code, 0, val.stderr);
      eq(JSON.parse(val.stdout).state, "valid");
    } finally {
      eq(await srv.stop(), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: rtr follow over SSH gets a file change through Serial Notify", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  const file = `${dir}/table.json`;
  const a = [
    { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
    { prefix: "2001:db8::/32", maxLength: 48, asn: 64497 },
  ];
  await Deno.writeTextFile(file, stayRtrJson(a));
  const k = await keys(dir);
  // Refresh is an hour: only a Serial Notify can bring the change within the test's bounds.
  const { srv, sshPort } = await serveSsh(file, k, [
    "--notify-interval",
    "0.1",
    "--refresh",
    "3600",
  ]);
  const known = await knownHostsFile(dir, "known_hosts", sshPort, k.host, true);
  const f = spawnRtr([
    "follow",
    `ssh://rpki@127.0.0.1:${sshPort}`,
    "--ssh-key",
    k.router.file,
    "--ssh-known-hosts",
    known,
    "--no-history",
  ]);
  try {
    const isSync = (l: string) => l.startsWith('{"type":"sync"');
    await f.waitFor((l) => l.some(isSync), 20000, "the first sync");
    const first = JSON.parse(f.lines.find(isSync)!);
    const n0 = f.lines.length;
    await Deno.writeTextFile(
      `${file}.tmp`,
      stayRtrJson([a[0], { prefix: "198.51.100.0/24", maxLength: 24, asn: 64498 }]),
    );
    await Deno.rename(`${file}.tmp`, file);
    await f.waitFor(
      (l) => l.slice(n0).some((x) => isSync(x) && JSON.parse(x).serial !== first.serial),
      20000,
      "a sync with the new serial",
    );
    const recs = f.lines.slice(n0).map((l) => JSON.parse(l));
    const sync = recs.find((r) => r.type === "sync" && r.announced + r.withdrawn > 0);
    eq(sync.reset, false);
    eq(
      recs.filter((r) => r.type === "vrp").map((r) => `${r.action} ${r.prefix} ${r.asn}`),
      ["withdraw 2001:db8::/32 64497", "announce 198.51.100.0/24 64498"],
    );
    assertIncludes(srv.log(), "sent Serial Notify");
    assert(/Serial Query/.test(srv.log()), srv.log());
  } finally {
    await f.stop("SIGKILL");
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: OpenSSH ssh -s reaches the rpki-rtr subsystem; shells, exec and strangers get nothing", async () => {
  if (!requirePeers("ssh", "ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  const file = `${dir}/table.json`;
  await Deno.writeTextFile(
    file,
    stayRtrJson([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }]),
  );
  const k = await keys(dir);
  const { srv, sshPort } = await serveSsh(file, k, ["--session-id", "4242"]);
  try {
    const known = await knownHostsFile(dir, "known_hosts", sshPort, k.host);
    const config = `${dir}/ssh_config`;
    await Deno.writeTextFile(config, "");
    const ssh = (key: TestKey, extra: string[]) =>
      new Deno.Command("ssh", {
        args: [...openSshArgs(sshPort, key.file, known, config), ...extra],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    // A raw version 1 Reset Query in, the response out; ssh ends when we close its stdin.
    const child = ssh(k.router, ["-s", "rpki@127.0.0.1", "rpki-rtr"]);
    const w = child.stdin.getWriter();
    await w.write(new Uint8Array([1, 2, 0, 0, 0, 0, 0, 8]));
    const pdus: Pdu[] = [];
    const framer = new PduFramer();
    const reader = child.stdout.getReader();
    const deadline = setTimeout(() => child.kill("SIGKILL"), 20000);
    while (!pdus.some((p) => p.type === 7)) {
      const r = await reader.read();
      if (r.done) break;
      framer.push(r.value, (p) => pdus.push(p));
    }
    await w.close();
    reader.releaseLock();
    const out = await child.output();
    clearTimeout(deadline);
    eq(pdus.map((p) => p.type), [3, 4, 7], new TextDecoder().decode(out.stderr));
    eq((pdus[0] as { sessionId: number }).sessionId, 4242);
    eq(out.code, 0, new TextDecoder().decode(out.stderr));

    const run = async (key: TestKey, extra: string[]) => {
      const c = ssh(key, extra);
      await c.stdin.close();
      const o = await c.output();
      return { code: o.code, stdout: o.stdout.length, stderr: new TextDecoder().decode(o.stderr) };
    };
    const shell = await run(k.router, ["-T", "rpki@127.0.0.1"]);
    eq(shell.code, 255);
    eq(shell.stdout, 0);
    assertIncludes(shell.stderr, "shell request failed");
    const exec = await run(k.router, ["rpki@127.0.0.1", "cat", "/etc/passwd"]);
    eq(exec.code, 255);
    eq(exec.stdout, 0);
    assertIncludes(exec.stderr, "exec request failed");
    const stranger = await run(k.stranger, ["-s", "rpki@127.0.0.1", "rpki-rtr"]);
    eq(stranger.code, 255);
    assertIncludes(stranger.stderr, "Permission denied");
    const log = srv.log();
    assertIncludes(log, "refused a shell");
    assertIncludes(log, `refused exec "cat /etc/passwd"`);
    assertIncludes(log, `refused key ssh-ed25519 ${k.stranger.fingerprint} (not authorized)`);
  } finally {
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: snapshot over SSH logs in with a key held by ssh-agent ($SSH_AUTH_SOCK)", async () => {
  if (!requirePeers("ssh-agent", "ssh-add", "ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  const file = `${dir}/table.json`;
  await Deno.writeTextFile(
    file,
    stayRtrJson([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }]),
  );
  const k = await keys(dir);
  const sock = `${dir}/agent.sock`;
  const agent = new Deno.Command("ssh-agent", {
    args: ["-D", "-a", sock],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const { srv, sshPort } = await serveSsh(file, k);
  try {
    for (let i = 0; i < 100; i++) {
      try {
        Deno.statSync(sock);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const add = await runCommand("ssh-add", [k.router.file], { env: { SSH_AUTH_SOCK: sock } });
    eq(add.code, 0, add.stderr);
    const known = await knownHostsFile(dir, "known_hosts", sshPort, k.host);
    const r = await runRtr(
      ["snapshot", `ssh://127.0.0.1:${sshPort}`, "--ssh-known-hosts", known, "--format", "csv"],
      { env: { SSH_AUTH_SOCK: sock, RTR_SSH_PASSWORD: "" } },
    );
    eq(r.code, 0, r.stderr);
    assertIncludes(r.stdout, "AS64496,192.0.2.0/24,24");
    assertIncludes(srv.log(), `rpki logged in with key ssh-ed25519 ${k.router.fingerprint}`);
  } finally {
    await srv.stop();
    await stopChild(agent);
    await Deno.remove(dir, { recursive: true });
  }
});
