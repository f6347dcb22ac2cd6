/**
 * `rtr snapshot` over SSH (8210bis §9.1) against StayRTR's SSH server: the same set as over TCP
 * with key and password logins, and one clear line (exit 1) for a wrong password, a wrong key,
 * an unknown host key and a changed host key.
 */
import { assertEquals as eq, assertIncludes } from "../helpers/assert.ts";
import {
  freePort,
  requirePeers,
  type Running,
  runRtr,
  startStayRtr,
  waitForPort,
} from "../helpers/peers.ts";
import { knownHostsFile, makeKey, type TestKey } from "../helpers/ssh.ts";

const TABLE = new URL("../../testdata/interop-table.json", import.meta.url).pathname;

/** The test table with a fresh buildtime (StayRTR refuses files older than 24 h). */
async function freshTable(dir: string): Promise<string> {
  const doc = JSON.parse(await Deno.readTextFile(TABLE));
  const now = new Date();
  doc.metadata.buildtime = now.toISOString().replace(/\.\d+Z$/, "Z");
  doc.metadata.generated = Math.floor(now.getTime() / 1000);
  const path = `${dir}/table.json`;
  await Deno.writeTextFile(path, JSON.stringify(doc));
  return path;
}

/** The records of an NDJSON snapshot, without the sync line (its source differs). */
function records(stdout: string): string[] {
  return stdout.trim().split("\n").filter((l) => l && !l.includes('"type":"sync"')).sort();
}

interface Setup {
  dir: string;
  cache: Running;
  sshPort: number;
  host: TestKey;
  router: TestKey;
  knownHosts: string;
  passwordFile: string;
}

async function setup(): Promise<Setup> {
  const dir = await Deno.makeTempDir();
  // StayRTR reads its host key as PEM.
  const host = await makeKey(dir, "host", "ecdsa", true);
  const router = await makeKey(dir, "router");
  const passwordFile = `${dir}/password`;
  await Deno.writeTextFile(passwordFile, "s3cret pass\n");
  const sshPort = freePort();
  const cache = await startStayRtr(await freshTable(dir), [
    "-ssh.bind",
    `127.0.0.1:${sshPort}`,
    "-ssh.key",
    host.file,
    "-ssh.method.password",
    "-ssh.auth.password",
    "s3cret pass",
    "-ssh.method.key",
    "-ssh.auth.key.file",
    router.pub,
  ]);
  await waitForPort(sshPort);
  const knownHosts = await knownHostsFile(dir, "known_hosts", sshPort, host, true);
  return { dir, cache, sshPort, host, router, knownHosts, passwordFile };
}

async function teardown(s: Setup): Promise<void> {
  await s.cache.stop();
  await Deno.remove(s.dir, { recursive: true });
}

/** No agent from the environment running the tests: each case says its own credentials. */
const ENV = { SSH_AUTH_SOCK: "", RTR_SSH_PASSWORD: "" };

Deno.test("snapshot over SSH to StayRTR gets the same set as over TCP (key, password file, RTR_SSH_PASSWORD)", async () => {
  if (!requirePeers("stayrtr", "ssh-keygen")) return;
  const s = await setup();
  try {
    const tcp = await runRtr(["snapshot", `127.0.0.1:${s.cache.port}`, "--format", "ndjson"]);
    eq(tcp.code, 0, tcp.stderr);
    const want = records(tcp.stdout);
    eq(want.length > 10, true, tcp.stdout);
    const url = `ssh://rpki@127.0.0.1:${s.sshPort}`;
    const runs = [
      {
        args: [url, "--ssh-key", s.router.file, "--ssh-known-hosts", s.knownHosts, "-v"],
        env: ENV,
      },
      {
        args: [
          "--ssh",
          "--host",
          "127.0.0.1",
          "--port",
          `${s.sshPort}`,
          "--ssh-password-file",
          s.passwordFile,
          "--ssh-host-key-fingerprint",
          s.host.fingerprint,
        ],
        env: ENV,
      },
      // ~/.ssh/known_hosts by default; the password from the environment.
      { args: [url], env: { ...ENV, RTR_SSH_PASSWORD: "s3cret pass", HOME: `${s.dir}/home` } },
    ];
    await Deno.mkdir(`${s.dir}/home/.ssh`, { recursive: true });
    await Deno.copyFile(s.knownHosts, `${s.dir}/home/.ssh/known_hosts`);
    for (const run of runs) {
      const r = await runRtr(["snapshot", ...run.args, "--format", "ndjson"], { env: run.env });
      eq(r.code, 0, r.stderr);
      eq(records(r.stdout), want);
    }
  } finally {
    await teardown(s);
  }
});

Deno.test("snapshot over SSH: wrong password, wrong key, unknown and changed host key exit 1 with one line", async () => {
  if (!requirePeers("stayrtr", "ssh-keygen")) return;
  const s = await setup();
  try {
    const url = `ssh://rpki@127.0.0.1:${s.sshPort}`;
    const where = `127.0.0.1:${s.sshPort}`;
    const wrongPassword = `${s.dir}/wrong`;
    await Deno.writeTextFile(wrongPassword, "guess\n");
    const stranger = await makeKey(s.dir, "stranger");
    const impostor = await makeKey(s.dir, "impostor", "ecdsa", true);
    const changed = await knownHostsFile(s.dir, "changed", s.sshPort, impostor);
    const empty = `${s.dir}/empty`;
    await Deno.writeTextFile(empty, "");
    const got = `ecdsa-sha2-nistp256 ${s.host.fingerprint}`;
    const cases: [string[], string][] = [
      [
        ["--ssh-password-file", wrongPassword, "--ssh-known-hosts", s.knownHosts],
        `rtr: SSH authentication as rpki at ${where} failed (tried password)`,
      ],
      [
        ["--ssh-key", stranger.file, "--ssh-known-hosts", s.knownHosts],
        `rtr: SSH authentication as rpki at ${where} failed (tried publickey (${stranger.file}))`,
      ],
      [
        ["--ssh-key", s.router.file, "--ssh-known-hosts", empty],
        `rtr: Host key of ${where} is unknown: ${got} is not in ${empty} (add it there, pin it with --ssh-host-key-fingerprint, or give --ssh-insecure-accept)`,
      ],
      [
        ["--ssh-key", s.router.file, "--ssh-known-hosts", changed],
        `rtr: Host key of ${where} has changed: got ${got}, ${changed} line 1 has ${impostor.fingerprint}; refusing to connect (if the cache's key was replaced on purpose, update that line)`,
      ],
    ];
    for (const [args, line] of cases) {
      const r = await runRtr(["snapshot", url, ...args, "--timeout", "20"], { env: ENV });
      eq(r.code, 1, r.stderr);
      eq(r.stdout, "");
      eq(r.stderr.trim(), line);
    }
    // No credentials at all, or a password on the command line: usage errors.
    const none = await runRtr(["snapshot", url, "--ssh-known-hosts", s.knownHosts], { env: ENV });
    eq(none.code, 2);
    assertIncludes(none.stderr, "SSH needs credentials");
    const flag = await runRtr(["snapshot", url, "--ssh-password", "x"], { env: ENV });
    eq(flag.code, 2);
    assertIncludes(flag.stderr, "--ssh-password");
  } finally {
    await teardown(s);
  }
});
