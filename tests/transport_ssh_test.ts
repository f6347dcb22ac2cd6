/**
 * The SSH transport (8210bis §9.1) without a real cache: known_hosts and authorized_keys logic
 * against keys and hashes ssh-keygen made, the Node-stream adapter, and the dialer against the
 * listener over loopback (bytes both ways, every way a login or a host key check fails).
 */
import { Duplex, duplexPair } from "node:stream";
import { assert, assertEquals as eq, assertIncludes } from "./helpers/assert.ts";
import { requirePeers } from "./helpers/peers.ts";
import { knownHostsFile, makeKey, type TestKey } from "./helpers/ssh.ts";
import { TransportError } from "../lib/errors.ts";
import { fingerprint, hostMatches, KnownHosts, parseAuthorizedKeys } from "../lib/ssh_keys.ts";
import { fromNodeStream } from "../lib/transport_node.ts";
import type { RtrConn, RtrListener } from "../lib/transport.ts";
import { type SshClientOptions, sshConnect, sshListener } from "../lib/transport_ssh.ts";

const EP = { hostname: "127.0.0.1", port: 1 };

function blobOf(key: TestKey): Uint8Array {
  return Uint8Array.from(atob(key.publicLine.split(" ")[1]), (c) => c.charCodeAt(0));
}

async function readAll(conn: RtrConn, bufSize = 65536): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(bufSize);
  let total = 0;
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

function throws(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

Deno.test("fingerprints are the ones ssh-keygen -l prints, for OpenSSH and PEM keys", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [name, type, pem] of [["e", "ed25519", false], ["c", "ecdsa", true], [
        "r",
        "rsa",
        true,
      ]] as const
    ) {
      const k = await makeKey(dir, name, type, pem);
      eq(fingerprint(blobOf(k)), k.fingerprint);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("known_hosts: hashed and [host]:port entries, wildcards, changed, revoked and unknown keys", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  try {
    const a = await makeKey(dir, "a"), b = await makeKey(dir, "b");
    const c = await makeKey(dir, "c", "ecdsa");
    // Hashed by ssh-keygen itself: the HMAC-SHA1 of "[127.0.0.1]:2222".
    const hashedFile = await knownHostsFile(dir, "kh", 2222, a, true);
    const hashedText = await Deno.readTextFile(hashedFile);
    assert(hashedText.startsWith("|1|"), hashedText);
    const hashed = new KnownHosts(hashedText, hashedFile);
    eq(hashed.check("127.0.0.1", 2222, blobOf(a)), { kind: "ok", line: 1 });
    eq(hashed.check("127.0.0.1", 2223, blobOf(a)).kind, "unknown");
    eq(hashed.check("127.0.0.1", 2222, blobOf(b)), {
      kind: "changed",
      line: 1,
      known: a.fingerprint,
    });
    // A host with a key of another type only: unknown, not changed (as OpenSSH sees it).
    eq(hashed.check("127.0.0.1", 2222, blobOf(c)).kind, "unknown");
    eq(hashed.typesFor("127.0.0.1", 2222), ["ssh-ed25519"]);

    const text = [
      "# comment",
      `cache.example.net,192.0.2.1 ${a.publicLine}`,
      `*.example.org,!bad.example.org ${b.publicLine} some comment`,
      `@revoked * ${c.publicLine}`,
      `@cert-authority * ${a.publicLine}`,
      "garbage line",
    ].join("\n");
    const kh = new KnownHosts(text, "kh");
    eq(kh.check("cache.example.net", 22, blobOf(a)), { kind: "ok", line: 2 });
    eq(kh.check("CACHE.example.net", 22, blobOf(a)).kind, "ok");
    eq(kh.check("cache.example.net", 8282, blobOf(a)).kind, "unknown");
    eq(kh.check("rtr.example.org", 22, blobOf(b)), { kind: "ok", line: 3 });
    eq(kh.check("bad.example.org", 22, blobOf(b)).kind, "unknown");
    eq(kh.check("anything", 22, blobOf(c)), { kind: "revoked", line: 4 });
    eq(hostMatches("[127.0.0.1]:8282", "[127.0.0.1]:8282"), true);
    eq(hostMatches("127.0.0.?", "127.0.0.1"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("authorized_keys: restriction options pass, other options and lines without a key are refused", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  try {
    const a = await makeKey(dir, "a"), b = await makeKey(dir, "b", "rsa");
    const keys = parseAuthorizedKeys(
      `# routers\n${a.publicLine} router-a\nrestrict,no-pty ${b.publicLine} router-b\n\n`,
      "ak",
    );
    eq(keys.map((k) => k.type), ["ssh-ed25519", "ssh-rsa"]);
    eq(fingerprint(keys[1].blob), b.fingerprint);
    let e = throws(() => parseAuthorizedKeys(`from="10.0.0.1" ${a.publicLine}`, "ak"));
    assert(e instanceof TransportError);
    eq(
      e.message,
      `Cannot use authorized keys file ak: line 1 has option "from=\\"10.0.0.1\\"", which this server cannot honour`,
    );
    e = throws(() => parseAuthorizedKeys(`${a.publicLine}\nssh-ed25519 nope`, "ak"));
    eq(e.message, "Cannot read authorized keys file ak: line 2 has no key");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fromNodeStream: chunks pass through to small reads, end is null, close rejects writes", async () => {
  const [x, y] = duplexPair();
  const cx = fromNodeStream(x, { localAddr: EP, remoteAddr: EP });
  const cy = fromNodeStream(y, { localAddr: EP, remoteAddr: EP });
  const data = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
  const sent = (async () => {
    for (let off = 0; off < data.length; off += 30_000) {
      eq(await cx.write(data.subarray(off, off + 30_000)), Math.min(30_000, data.length - off));
    }
    await cx.closeWrite();
  })();
  const got = await readAll(cy, 777);
  await sent;
  eq(got, data);
  cy.close();
  const e = await rejects(cy.write(new Uint8Array(1)));
  assert(e instanceof Deno.errors.BrokenPipe, String(e));
  cx.close();
});

Deno.test("fromNodeStream: a write the stream never takes fails when the connection closes", async () => {
  // An SSH channel that closes never calls back the writes it still holds.
  const stuck = new Duplex({ read() {}, write(_c, _e, _cb) {} });
  const conn = fromNodeStream(stuck, { localAddr: EP, remoteAddr: EP });
  const w = conn.write(new Uint8Array(10));
  conn.close();
  const e = await rejects(w);
  assert(e instanceof Deno.errors.BrokenPipe, String(e));
  eq(await conn.read(new Uint8Array(10)), null);
});

Deno.test("fromNodeStream: a stream error is thrown by one read, later reads see the end", async () => {
  const src = new Duplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
  });
  const conn = fromNodeStream(src, { localAddr: EP, remoteAddr: EP });
  src.push(new Uint8Array([1, 2, 3]));
  src.destroy(new Error("connection reset by peer"));
  await new Promise((r) => setTimeout(r, 0));
  const buf = new Uint8Array(10);
  eq(await conn.read(buf), 3);
  const e = await rejects(conn.read(buf));
  eq(e.message, "connection reset by peer");
  eq(await conn.read(buf), null);
  eq(await conn.read(buf), null);
});

Deno.test("fromNodeStream: 200,000 tiny chunks (one PDU per SSH packet) are read in linear time", async () => {
  const src = new Duplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
  });
  const conn = fromNodeStream(src, { localAddr: EP, remoteAddr: EP });
  const n = 200_000;
  for (let i = 0; i < n; i++) src.push(new Uint8Array([i & 0xff, 0, 0, 0, 0, 0, 0, 8]));
  src.push(null);
  let total = 0, first = -1;
  const buf = new Uint8Array(1 << 18);
  for (let r = await conn.read(buf); r !== null; r = await conn.read(buf)) {
    if (first < 0) first = buf[0];
    total += r;
  }
  eq(total, n * 8);
  eq(first, 0);
});

Deno.test("fromNodeStream: pauses the stream while over a megabyte waits, resumes as it is read", async () => {
  const src = new Duplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
  });
  let closes = 0;
  const conn = fromNodeStream(src, { localAddr: EP, remoteAddr: EP, onClose: () => closes++ });
  for (let i = 0; i < 24; i++) src.push(new Uint8Array(65536).fill(i));
  await new Promise((r) => setTimeout(r, 0));
  eq(src.isPaused(), true);
  const buf = new Uint8Array(65536);
  for (let i = 0; i < 16; i++) {
    eq(await conn.read(buf), 65536);
    eq(buf[0], i);
  }
  eq(src.isPaused(), false);
  conn.close();
  conn.close();
  eq(closes, 1);
});

/** Keys and files for a loopback SSH pair. */
interface Fixture {
  dir: string;
  host: TestKey;
  router: TestKey;
  stranger: TestKey;
  passwordFile: string;
  listener: RtrListener;
  port: number;
  serverLog: string[];
  knownHosts: string;
  done: Promise<void>;
}

/** An SSH listener whose every connection echoes what it reads until the router stops sending. */
async function echoFixture(): Promise<Fixture> {
  const dir = await Deno.makeTempDir();
  const host = await makeKey(dir, "host", "ecdsa", true);
  const router = await makeKey(dir, "router");
  const stranger = await makeKey(dir, "stranger", "rsa", true);
  const passwordFile = `${dir}/password`;
  await Deno.writeTextFile(passwordFile, "correct horse\n");
  const serverLog: string[] = [];
  const listener = await sshListener({
    host: "127.0.0.1",
    port: 0,
    hostKeyFile: host.file,
    authorizedKeysFile: router.pub,
    passwordFile,
    user: "rpki",
    log: (l) => serverLog.push(l),
  });
  const port = listener.addr.port;
  const knownHosts = await knownHostsFile(dir, "known_hosts", port, host, true);
  const done = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(50_000);
        try {
          while (true) {
            const n = await conn.read(buf);
            if (n === null) break;
            let off = 0;
            while (off < n) off += await conn.write(buf.subarray(off, n));
          }
        } finally {
          conn.close();
        }
      })();
    }
  })();
  return { dir, host, router, stranger, passwordFile, listener, port, serverLog, knownHosts, done };
}

async function closeFixture(f: Fixture): Promise<void> {
  f.listener.close();
  await f.done;
  await Deno.remove(f.dir, { recursive: true });
}

function dial(f: Fixture, o: Partial<SshClientOptions>): Promise<RtrConn> {
  return sshConnect(
    { user: "rpki", knownHostsFile: f.knownHosts, ...o },
    { host: "127.0.0.1", port: f.port, timeoutMs: 15000 },
  );
}

Deno.test("ssh: a key login opens rpki-rtr and 3 MB cross both ways intact", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const f = await echoFixture();
  try {
    const log: string[] = [];
    const conn = await dial(f, { keyFile: f.router.file, log: (l) => log.push(l) });
    eq(conn.remoteAddr, { hostname: "127.0.0.1", port: f.port });
    assertIncludes(log.join("\n"), `host key ecdsa-sha2-nistp256 ${f.host.fingerprint} found in`);
    const data = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
    const sending = (async () => {
      for (let off = 0; off < data.length; off += 100_000) {
        await conn.write(data.subarray(off, off + 100_000));
      }
      await conn.closeWrite();
    })();
    const back = await readAll(conn);
    await sending;
    eq(back.length, data.length);
    eq(back, data);
    conn.close();
    assertIncludes(
      f.serverLog.join("\n"),
      `rpki logged in with key ssh-ed25519 ${f.router.fingerprint}`,
    );
  } finally {
    await closeFixture(f);
  }
});

Deno.test("ssh: password login from a file or given directly; the client never tries 'none'", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const f = await echoFixture();
  try {
    // An agent that cannot be reached is skipped for the next method.
    const noAgent = `${f.dir}/no-agent.sock`;
    for (
      const o of [
        { passwordFile: f.passwordFile },
        { password: "correct horse", agentSocket: noAgent },
      ]
    ) {
      const conn = await dial(f, o);
      await conn.write(new TextEncoder().encode("ping"));
      const buf = new Uint8Array(4);
      eq(await conn.read(buf), 4);
      eq(new TextDecoder().decode(buf), "ping");
      conn.close();
    }
    const logins = f.serverLog.filter((l) => l.includes("logged in with a password"));
    eq(logins.length, 2);
    // Every authentication attempt the server saw is logged or accepted: "none" would be refused
    // silently, so check with a server that records each method.
    const ssh2: any = (await import("ssh2")).default;
    const methods: string[] = [];
    const server = new ssh2.Server(
      { hostKeys: [await Deno.readTextFile(f.host.file)] },
      (c: any) => {
        c.on("error", () => {});
        c.on("authentication", (ctx: any) => {
          methods.push(ctx.method);
          ctx.reject(["password"]);
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = server.address().port;
    const e = await rejects(
      sshConnect({
        user: "rpki",
        password: "x",
        keyFile: f.router.file,
        insecureAccept: true,
        knownHostsFile: "",
      }, { host: "127.0.0.1", port, timeoutMs: 15000 }),
    );
    server.close();
    eq(
      e.message,
      `SSH authentication as rpki at 127.0.0.1:${port} failed (tried publickey (${f.router.file}), password)`,
    );
    eq(methods, ["publickey", "password"]);
  } finally {
    await closeFixture(f);
  }
});

Deno.test("ssh: wrong password, wrong key and wrong user are one-line authentication failures", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const f = await echoFixture();
  try {
    const where = `127.0.0.1:${f.port}`;
    let e = await rejects(dial(f, { password: "wrong" }));
    assert(e instanceof TransportError);
    eq(e.message, `SSH authentication as rpki at ${where} failed (tried password)`);
    e = await rejects(dial(f, { keyFile: f.stranger.file }));
    eq(
      e.message,
      `SSH authentication as rpki at ${where} failed (tried publickey (${f.stranger.file}))`,
    );
    e = await rejects(dial(f, { user: "root", keyFile: f.router.file }));
    eq(
      e.message,
      `SSH authentication as root at ${where} failed (tried publickey (${f.router.file}))`,
    );
    const log = f.serverLog.join("\n");
    assertIncludes(log, "refused password login as rpki: wrong password");
    assertIncludes(log, `refused key ssh-rsa ${f.stranger.fingerprint} (not authorized)`);
    assertIncludes(log, `refused publickey login as unknown user "root"`);
  } finally {
    await closeFixture(f);
  }
});

Deno.test("ssh: unknown, changed and mismatched pinned host keys are refused with the fingerprint", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const f = await echoFixture();
  try {
    const where = `127.0.0.1:${f.port}`;
    const got = `ecdsa-sha2-nistp256 ${f.host.fingerprint}`;
    const empty = `${f.dir}/empty_known_hosts`;
    await Deno.writeTextFile(empty, "");
    let e = await rejects(dial(f, { keyFile: f.router.file, knownHostsFile: empty }));
    assert(e instanceof TransportError);
    eq(
      e.message,
      `Host key of ${where} is unknown: ${got} is not in ${empty} (add it there, pin it with --ssh-host-key-fingerprint, or give --ssh-insecure-accept)`,
    );
    // A missing file is an empty one.
    e = await rejects(dial(f, { keyFile: f.router.file, knownHostsFile: `${f.dir}/absent` }));
    assertIncludes(e.message, `Host key of ${where} is unknown`);
    const impostor = await makeKey(f.dir, "impostor", "ecdsa", true);
    const changed = await knownHostsFile(f.dir, "changed", f.port, impostor);
    e = await rejects(dial(f, { keyFile: f.router.file, knownHostsFile: changed }));
    eq(
      e.message,
      `Host key of ${where} has changed: got ${got}, ${changed} line 1 has ${impostor.fingerprint}; refusing to connect (if the cache's key was replaced on purpose, update that line)`,
    );
    e = await rejects(dial(f, { keyFile: f.router.file, fingerprints: [impostor.fingerprint] }));
    eq(e.message, `Host key of ${where} does not match --ssh-host-key-fingerprint: got ${got}`);
    // The pinned key and --ssh-insecure-accept get through without known_hosts.
    for (const o of [{ fingerprints: [f.host.fingerprint] }, { insecureAccept: true }]) {
      const conn = await dial(f, { keyFile: f.router.file, knownHostsFile: empty, ...o });
      conn.close();
    }
  } finally {
    await closeFixture(f);
  }
});

Deno.test("ssh listener: refuses 'none', other subsystems, exec and shells; a bad host key file fails to start", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const f = await echoFixture();
  try {
    const ssh2: any = (await import("ssh2")).default;
    const connectWith = (auth: unknown[]) =>
      new Promise<any>((resolve, reject) => {
        const c = new ssh2.Client();
        c.on("ready", () => resolve(c));
        c.on("error", (e: Error) => reject(e));
        c.connect({ host: "127.0.0.1", port: f.port, username: "rpki", authHandler: auth });
      });
    const none = await rejects(connectWith([{ type: "none", username: "rpki" }]));
    assertIncludes(none.message, "All configured authentication methods failed");
    const c = await connectWith([{
      type: "publickey",
      username: "rpki",
      key: await Deno.readTextFile(f.router.file),
    }]);
    const refused = (start: (cb: (err: Error | undefined) => void) => void) =>
      new Promise<string>((r) => start((err) => r(err ? err.message : "accepted")));
    assertIncludes(await refused((cb) => c.subsys("sftp", cb)), "Unable to start subsystem");
    assertIncludes(await refused((cb) => c.exec("ls", cb)), "Unable to exec");
    assertIncludes(await refused((cb) => c.shell(false, cb)), "Unable to open shell");
    eq(
      await refused((cb) =>
        c.subsys("rpki-rtr", (err: any, s: any) => {
          s?.end();
          cb(err);
        })
      ),
      "accepted",
    );
    c.end();
    const log = f.serverLog.join("\n");
    assertIncludes(log, `refused subsystem "sftp"`);
    assertIncludes(log, `refused exec "ls"`);
    assertIncludes(log, "refused a shell");
    const e = await rejects(
      sshListener({
        host: "127.0.0.1",
        port: 0,
        hostKeyFile: f.router.pub,
        passwordFile: f.passwordFile,
        user: "rpki",
      }),
    );
    eq(
      e.message,
      `Cannot use SSH host key ${f.router.pub}: not an unencrypted OpenSSH or PEM private key`,
    );
  } finally {
    await closeFixture(f);
  }
});

Deno.test("ssh listener: a client that keeps guessing is disconnected after 6 failed logins", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const f = await echoFixture();
  try {
    const ssh2: any = (await import("ssh2")).default;
    const guesses = Array.from({ length: 10 }, (_, i) => ({
      type: "password",
      username: "rpki",
      password: `guess ${i}`,
    }));
    const tried: number[] = [];
    await new Promise<void>((resolve) => {
      const c = new ssh2.Client();
      let n = 0;
      c.on("error", () => {});
      c.on("close", () => resolve());
      c.connect({
        host: "127.0.0.1",
        port: f.port,
        username: "rpki",
        authHandler: (_left: unknown, _partial: unknown, next: (a: unknown) => void) => {
          tried.push(++n);
          next(guesses[n - 1] ?? false);
        },
      });
    });
    assert(tried.length <= 7, `the server let ${tried.length} guesses through`);
    assertIncludes(f.serverLog.join("\n"), "6 failed logins, closing");
  } finally {
    await closeFixture(f);
  }
});

Deno.test("ssh: the host key type known_hosts has is asked for first, so a server with several keys passes", async () => {
  if (!requirePeers("ssh-keygen")) return;
  const dir = await Deno.makeTempDir();
  const ssh2: any = (await import("ssh2")).default;
  const ed = await makeKey(dir, "ed"), rsa = await makeKey(dir, "rsa", "rsa", true);
  const router = await makeKey(dir, "router");
  const server = new ssh2.Server({
    hostKeys: [await Deno.readTextFile(ed.file), await Deno.readTextFile(rsa.file)],
  }, (c: any) => {
    c.on("error", () => {});
    c.on("authentication", (ctx: any) => ctx.method === "publickey" ? ctx.accept() : ctx.reject());
    c.on("ready", () =>
      c.on("session", (accept: any) =>
        accept().on("subsystem", (acc: any) => {
          const ch = acc();
          ch.end();
        })));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  try {
    for (const key of [rsa, ed]) {
      const known = await knownHostsFile(dir, `kh_${key === rsa ? "rsa" : "ed"}`, port, key);
      const log: string[] = [];
      const conn = await sshConnect(
        { user: "rpki", keyFile: router.file, knownHostsFile: known, log: (l) => log.push(l) },
        { host: "127.0.0.1", port, timeoutMs: 15000 },
      );
      conn.close();
      assertIncludes(log.join("\n"), `${key.fingerprint} found in ${known} line 1`);
    }
  } finally {
    server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TCP users load nothing of SSH: the commands reach ssh2 and the SSH transport only by import()", async () => {
  for (const cmd of ["snapshot", "follow", "diff", "validate", "serve"]) {
    const file = new URL(`../lib/cli/${cmd}.ts`, import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", file] })
      .output();
    eq(out.success, true, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    const bySpecifier = new Map<string, any>(info.modules.map((m: any) => [m.specifier, m]));
    // The modules the command loads before it runs: static runtime imports only.
    const seen = new Set<string>();
    const todo: string[] = [...info.roots];
    while (todo.length > 0) {
      const spec = todo.pop()!;
      if (seen.has(spec)) continue;
      seen.add(spec);
      for (const d of bySpecifier.get(spec)?.dependencies ?? []) {
        if (d.code?.specifier && !d.isDynamic) todo.push(d.code.specifier);
      }
    }
    const loaded = [...seen];
    assert(loaded.some((x) => x.endsWith("/lib/cli/ssh_options.ts")), `${cmd} parses SSH flags`);
    eq(loaded.filter((x) => /transport_ssh|transport_tls|ssh_keys|ssh2|node:tls/.test(x)), [], cmd);
    // …while the SSH transport is in the graph, behind import().
    assert(
      info.modules.some((m: any) => m.specifier.endsWith("/lib/transport_ssh.ts")),
      `${cmd} can reach the SSH transport`,
    );
  }
});
