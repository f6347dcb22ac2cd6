/**
 * `deno task install:global` into a throwaway root: the installed command (a bundle outside the
 * clone) still loads the npm packages it leaves out of the bundle, e.g. ssh2 for RTR over SSH.
 */
import { assertEquals as eq, assertIncludes } from "../helpers/assert.ts";
import { requirePeers, runCommand, stayRtrJson } from "../helpers/peers.ts";
import { startServe } from "../helpers/serve.ts";
import { knownHostsFile, makeKey } from "../helpers/ssh.ts";

const INSTALL = new URL("../../tools/install.ts", import.meta.url).pathname;

Deno.test("the installed rtr runs outside the clone and syncs over SSH", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  try {
    const inst = await runCommand(
      Deno.execPath(),
      ["run", "-A", INSTALL, "--root", `${dir}/root`],
      {
        timeoutMs: 120000,
      },
    );
    eq(inst.code, 0, inst.stderr);
    const host = await makeKey(dir, "host");
    const router = await makeKey(dir, "router");
    const file = `${dir}/t.json`;
    await Deno.writeTextFile(
      file,
      stayRtrJson([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }]),
    );
    const srv = await startServe(file, [
      "--ssh-listen",
      "127.0.0.1:0",
      "--ssh-host-key",
      host.file,
      "--ssh-authorized-keys",
      router.pub,
    ]);
    try {
      const port = (await srv.waitLog(/serving SSH on 127\.0\.0\.1:(\d+)/))[1];
      // The installed command may read $HOME: the host key is checked against ~/.ssh/known_hosts.
      await knownHostsFile(dir, "known_hosts", Number(port), host);
      await Deno.mkdir(`${dir}/home/.ssh`, { recursive: true });
      await Deno.rename(`${dir}/known_hosts`, `${dir}/home/.ssh/known_hosts`);
      const r = await runCommand(`${dir}/root/bin/rtr`, [
        "snapshot",
        `ssh://127.0.0.1:${port}`,
        "--ssh-key",
        router.file,
        "--format",
        "csv",
      ], { cwd: dir, timeoutMs: 60000, env: { SSH_AUTH_SOCK: "", HOME: `${dir}/home` } });
      eq(r.code, 0, r.stderr);
      assertIncludes(r.stdout, "AS64496,192.0.2.0/24,24");
    } finally {
      await srv.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
