/**
 * README's one-command install: `deno task install:global` bundles main.ts, installs an `rtr`
 * command for a copy of the bundle in the install root, says where it went, and the command
 * keeps working with its permissions after the clone is moved. Run on a copy of the clone,
 * installed into a temporary DENO_INSTALL_ROOT.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { runCommand } from "../helpers/peers.ts";
import { startFakeCache } from "../helpers/fake_cache.ts";
import denoJson from "../../deno.json" with { type: "json" };

const ROOT_DIR = new URL("../../", import.meta.url).pathname;

/** Copy what the install needs (sources, config, lock) into `to`. */
async function copyClone(to: string): Promise<void> {
  const copy = async (rel: string) => {
    const st = await Deno.stat(ROOT_DIR + rel);
    if (st.isDirectory) {
      await Deno.mkdir(`${to}/${rel}`, { recursive: true });
      for await (const e of Deno.readDir(ROOT_DIR + rel)) await copy(`${rel}/${e.name}`);
    } else await Deno.copyFile(ROOT_DIR + rel, `${to}/${rel}`);
  };
  await Deno.mkdir(to, { recursive: true });
  for (const f of ["main.ts", "deno.json", "deno.lock", "lib", "tools"]) await copy(f);
}

Deno.test("deno task install:global installs an rtr that says where it went and survives moving the clone", async () => {
  const task: string = denoJson.tasks["install:global"];
  assertOk(task.startsWith("deno run "), task);
  const tmp = await Deno.makeTempDir();
  const root = `${tmp}/root`;
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write([
      { type: 3, version: 2, sessionId: 1 },
      {
        type: 4,
        version: 2,
        flags: 1,
        prefixLength: 24,
        maxLength: 24,
        addr: [0xc0000200],
        asn: 64496,
      },
      { type: 7, version: 2, sessionId: 1, serial: 1, refresh: 3600, retry: 600, expire: 7200 },
    ]);
  });
  try {
    await copyClone(`${tmp}/clone`);
    const inst = await runCommand(Deno.execPath(), ["task", "install:global"], {
      cwd: `${tmp}/clone`,
      timeoutMs: 120000,
      env: { DENO_INSTALL_ROOT: root, PATH: "/usr/bin:/bin" },
    });
    eq(inst.code, 0, inst.stderr);
    const rtr = `${root}/bin/rtr`;
    assertIncludes(inst.stderr, `rtr installed: ${rtr}`);
    assertIncludes(inst.stderr, `export PATH="${root}/bin:$PATH"`);
    // The bundle in the clone's build/ is ignored by git; the command runs the copy in the root.
    assertOk((await Deno.stat(`${tmp}/clone/build/rtr.js`)).isFile);
    assertOk((await Deno.stat(`${root}/share/rtr/rtr.js`)).isFile);
    await Deno.rename(`${tmp}/clone`, `${tmp}/moved`);
    await Deno.remove(`${tmp}/moved/build`, { recursive: true });
    const v = await runCommand(rtr, ["-V"], { cwd: tmp });
    eq(v.code, 0, v.stderr);
    assertOk(v.stdout.startsWith("rtr "), v.stdout);
    const out = `${tmp}/roas.csv`;
    const s = await runCommand(rtr, [
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--format",
      "csv",
      "-o",
      out,
    ], { cwd: tmp });
    eq(s.code, 0, s.stderr);
    assertIncludes(await Deno.readTextFile(out), "AS64496,192.0.2.0/24,24,");
    await bundleServesAsWorker(`${root}/share/rtr/rtr.js`);
    // Already on PATH: no advice.
    const again = await runCommand(Deno.execPath(), ["task", "install:global"], {
      cwd: `${tmp}/moved`,
      timeoutMs: 120000,
      env: { DENO_INSTALL_ROOT: root, PATH: `${root}/bin:/usr/bin:/bin` },
    });
    eq(again.code, 0, again.stderr);
    assertOk(!again.stderr.includes("export PATH"), again.stderr);
  } finally {
    await cache.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

/**
 * The installed bundle, started as a worker thread the way `validate --aspa --threads` starts
 * it, takes the worker side's setup and a batch (a bundle that only ran the CLI would never
 * answer, and validate would quietly stay on one thread).
 */
async function bundleServesAsWorker(bundle: string): Promise<void> {
  const w = new Worker(`file://${bundle}`, { type: "module" });
  const replies: { kind: string; bytes?: Uint8Array }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error("no answer from the bundle's worker")), 20000);
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      w.onmessage = (ev) => {
        replies.push(ev.data);
        if (replies.length === 2) resolve();
      };
      w.postMessage({
        kind: "rtr-aspa-init",
        work: {
          vrps: new Uint32Array(0),
          aspa: {
            customers: new Uint32Array(0),
            start: new Int32Array(1),
            providers: new Uint32Array(0),
          },
          format: "ndjson",
          role: "customer",
          neighbourAs: -1,
        },
      });
      const batch = new TextEncoder().encode("192.0.2.0/24 64500\n");
      w.postMessage({ kind: "rtr-aspa-batch", bytes: batch, firstLine: 1, atStart: true });
    });
  } finally {
    clearTimeout(timer);
    w.terminate();
  }
  eq(replies[0].kind, "ready");
  eq(replies[1].kind, "result");
  assertIncludes(new TextDecoder().decode(replies[1].bytes), `"prefix":"192.0.2.0/24"`);
}
