/**
 * RTR over SSH (RFC 6810 §7, 8210bis §9.1), both ways, on the pure-JavaScript `ssh2` package,
 * loaded only when SSH is used. Client: SSH v2, a `session` channel and the `rpki-rtr` subsystem;
 * authentication by public key (a key file, an ssh-agent) or password, never `none`; the host key
 * checked against `known_hosts` or pinned fingerprints. Server: each `rpki-rtr` subsystem channel
 * is one connection; other subsystems, shells and exec requests are refused; `none` never passes.
 * Channel data passes through in the chunks SSH delivers (no per-PDU work here).
 */
import { TransportError } from "./errors.ts";
import {
  blobType,
  fingerprint,
  firstLine,
  isAuthorized,
  KnownHosts,
  parseAuthorizedKeys,
  samePassword,
  type SshPublicKey,
} from "./ssh_keys.ts";
import {
  type ConnectOptions,
  describeTarget,
  type Dialer,
  type Endpoint,
  type RtrConn,
  type RtrListener,
} from "./transport.ts";
import { fromNodeStream } from "./transport_node.ts";

/** The subsystem name RTR uses (RFC 6810 §7, 8210bis §9.1). */
export const RTR_SUBSYSTEM = "rpki-rtr";

/** How the router side authenticates and checks the cache's host key. */
export interface SshClientOptions {
  user: string;
  /** Private key file (OpenSSH or PEM format, unencrypted). */
  keyFile?: string;
  /** File whose first line is the password. */
  passwordFile?: string;
  /** The password itself (from the environment, never from the command line). */
  password?: string;
  /** ssh-agent socket (`SSH_AUTH_SOCK`). */
  agentSocket?: string;
  /** OpenSSH known_hosts file to check the host key against. */
  knownHostsFile: string;
  /** Accept exactly these `SHA256:…` host key fingerprints instead of known_hosts. */
  fingerprints?: string[];
  /** Accept any host key (the fingerprint is logged). */
  insecureAccept?: boolean;
  /** Diagnostics (the host key accepted, the method that authenticated). */
  log?: (line: string) => void;
}

/** A Dialer that opens the `rpki-rtr` subsystem of an SSH server at the target. */
export function sshDialer(o: SshClientOptions): Dialer {
  return (co) => sshConnect(o, co);
}

// deno-lint-ignore no-explicit-any
type Ssh2 = any;

let ssh2Module: Promise<Ssh2> | undefined;

/** The `ssh2` package, loaded on first use so that TCP and TLS users never load it. */
function loadSsh2(): Promise<Ssh2> {
  ssh2Module ??= import("ssh2").then((m: Ssh2) => m.default ?? m);
  return ssh2Module;
}

async function readFileText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new TransportError(`Cannot read ${what} ${path}: ${firstLine(e)}`);
  }
}

/** Read and check a private key file as ssh2 takes it. */
async function readPrivateKey(ssh2: Ssh2, file: string): Promise<string> {
  const text = await readFileText(file, "SSH key");
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) {
    const why = /encrypted/i.test(parsed.message)
      ? "it is encrypted (load it into ssh-agent instead)"
      : firstLine(parsed).replace(/^Unsupported key format$/, "not an OpenSSH or PEM private key");
    throw new TransportError(`Cannot use SSH key ${file}: ${why}`);
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key.isPrivateKey()) {
    throw new TransportError(`Cannot use SSH key ${file}: not a private key`);
  }
  return text;
}

/** The first line of a password file. */
async function readPassword(file: string): Promise<string> {
  const text = await readFileText(file, "SSH password file");
  const line = text.split(/\r?\n/)[0];
  if (line === "") throw new TransportError(`SSH password file ${file} is empty`);
  return line;
}

/** The host key algorithms ssh2 offers by default, the ones worth preferring. */
const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/** Ciphers in the order the client proposes them (the rest of ssh2's list follows). */
const PREFERRED_CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-ctr"];

/** Host key algorithms that carry keys of a known_hosts key type. */
function algorithmsOf(type: string): string[] {
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

/** The verdict of the host key check, kept for the error message ssh2 cannot carry. */
interface HostCheck {
  refused?: string;
  accepted?: string;
}

function checkHostKey(
  o: SshClientOptions,
  known: KnownHosts | undefined,
  co: ConnectOptions,
  blob: Uint8Array,
  out: HostCheck,
): boolean {
  const target = describeTarget(co);
  const fp = fingerprint(blob);
  const what = `${blobType(blob)} ${fp}`;
  if (o.fingerprints && o.fingerprints.length > 0) {
    if (o.fingerprints.includes(fp)) {
      out.accepted = `host key ${what} matches --ssh-host-key-fingerprint`;
      return true;
    }
    out.refused = `Host key of ${target} does not match --ssh-host-key-fingerprint: got ${what}`;
    return false;
  }
  if (o.insecureAccept || !known) {
    out.accepted = `host key ${what} accepted without a check (--ssh-insecure-accept)`;
    return true;
  }
  const v = known.check(co.host, co.port, blob);
  switch (v.kind) {
    case "ok":
      out.accepted = `host key ${what} found in ${known.file} line ${v.line}`;
      return true;
    case "revoked":
      out.refused =
        `Host key of ${target} is revoked: ${what} is marked @revoked in ${known.file} line ${v.line}`;
      return false;
    case "changed":
      out.refused =
        `Host key of ${target} has changed: got ${what}, ${known.file} line ${v.line} has ${v.known}; refusing to connect (if the cache's key was replaced on purpose, update that line)`;
      return false;
    case "unknown":
      out.refused =
        `Host key of ${target} is unknown: ${what} is not in ${known.file} (add it there, pin it with --ssh-host-key-fingerprint, or give --ssh-insecure-accept)`;
      return false;
  }
}

function socketErrorText(e: Ssh2): string {
  switch (e?.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset by peer";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "unknown host";
    case "ETIMEDOUT":
      return "timed out";
  }
  return firstLine(e);
}

/** Connect to the SSH server at `co`, authenticate and open the `rpki-rtr` subsystem. */
export async function sshConnect(o: SshClientOptions, co: ConnectOptions): Promise<RtrConn> {
  const target = describeTarget(co);
  const timeoutMs = co.timeoutMs ?? 30000;
  const ssh2 = await loadSsh2();
  const key = o.keyFile ? await readPrivateKey(ssh2, o.keyFile) : undefined;
  const password = o.passwordFile ? await readPassword(o.passwordFile) : o.password;
  const known = o.insecureAccept || (o.fingerprints?.length ?? 0) > 0
    ? undefined
    : await KnownHosts.load(o.knownHostsFile);
  // Explicit key first, then the agent's keys, then the password; never "none" (8210bis §9.1).
  const auth: Record<string, unknown>[] = [];
  const tried: string[] = [];
  if (key) {
    auth.push({ type: "publickey", username: o.user, key });
    tried.push(`publickey (${o.keyFile})`);
  }
  if (o.agentSocket) {
    auth.push({ type: "agent", username: o.user, agent: o.agentSocket });
    tried.push("publickey (ssh-agent)");
  }
  if (password !== undefined) {
    auth.push({ type: "password", username: o.user, password });
    tried.push("password");
  }
  if (auth.length === 0) {
    throw new TransportError(
      `No SSH credentials for ${o.user}@${target}: give --ssh-key, --ssh-password-file or RTR_SSH_PASSWORD, or run an ssh-agent`,
    );
  }
  const preferred = known?.typesFor(co.host, co.port).flatMap(algorithmsOf) ?? [];
  const prepend = preferred.filter((a) => HOST_KEY_ALGORITHMS.includes(a));
  const check: HostCheck = {};
  const client = new ssh2.Client();
  return await new Promise<RtrConn>((resolve, reject) => {
    let settled = false;
    const fail = (msg: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        client.end();
      } catch { /* gone */ }
      reject(new TransportError(msg, { cause }));
    };
    // ssh2's readyTimeout covers the handshake; this bounds the subsystem request as well.
    const timer = setTimeout(
      () => fail(`Cannot connect to ${target}: timed out after ${timeoutMs / 1000} s`),
      timeoutMs,
    );
    client.on("error", (e: Ssh2) => {
      if (settled) return;
      if (check.refused) return fail(check.refused);
      // An agent that cannot be reached is skipped: ssh2 goes on with the next method.
      if (e?.level === "agent") return o.log?.(`${target}: ssh-agent: ${firstLine(e)}`);
      switch (e?.level) {
        case "client-authentication":
          return fail(
            `SSH authentication as ${o.user} at ${target} failed (tried ${tried.join(", ")})`,
            e,
          );
        case "client-timeout":
          return fail(`Cannot connect to ${target}: timed out after ${timeoutMs / 1000} s`, e);
        case "client-socket":
          return fail(`Cannot connect to ${target}: ${socketErrorText(e)}`, e);
      }
      fail(`SSH connection to ${target} failed: ${firstLine(e)}`, e);
    });
    client.on("close", () => {
      if (check.refused) return fail(check.refused);
      fail(`SSH connection to ${target} closed before the ${RTR_SUBSYSTEM} subsystem opened`);
    });
    let negotiated = "";
    client.on("handshake", (n: Ssh2) => {
      negotiated = `${n?.kex}, ${n?.serverHostKey}, ${n?.sc?.cipher}`;
    });
    client.on("ready", () => {
      if (check.accepted) o.log?.(`${target}: ${check.accepted}`);
      if (negotiated) o.log?.(`${target}: SSH ${negotiated}`);
      client.subsys(RTR_SUBSYSTEM, (err: Ssh2, stream: Ssh2) => {
        if (settled) {
          if (!err) stream.destroy();
          return;
        }
        if (err) {
          return fail(`SSH server at ${target} refused the ${RTR_SUBSYSTEM} subsystem`, err);
        }
        settled = true;
        clearTimeout(timer);
        stream.stderr?.resume?.();
        const sock = client._sock;
        const localAddr: Endpoint = {
          hostname: sock?.localAddress ?? "",
          port: sock?.localPort ?? 0,
        };
        resolve(fromNodeStream(stream, {
          localAddr,
          remoteAddr: { hostname: co.host, port: co.port },
          onClose: (closed) => endAfterClose(stream, closed, () => client.end()),
        }));
      });
    });
    try {
      // Nagle's algorithm against the delayed ACK costs tens of ms per handshake round trip.
      client.once("connect", () => {
        try {
          client.setNoDelay(true);
          client._sock?.setKeepAlive?.(true);
        } catch { /* not a TCP socket */ }
      });
      client.connect({
        host: co.host,
        port: co.port,
        username: o.user,
        readyTimeout: timeoutMs,
        authHandler: auth,
        hostVerifier: (k: Uint8Array) => checkHostKey(o, known, co, new Uint8Array(k), check),
        algorithms: {
          // The client's order decides. AES-GCM through node:crypto runs at a fraction of
          // ChaCha20-Poly1305's speed under Deno: prefer the latter (OpenSSH's default too).
          // (ssh2's "prepend" skips names already listed: remove them first, then prepend.)
          cipher: { remove: PREFERRED_CIPHERS, prepend: PREFERRED_CIPHERS },
          ...(prepend.length > 0 ? { serverHostKey: { remove: prepend, prepend } } : {}),
        },
      });
    } catch (e) {
      fail(`Cannot connect to ${target}: ${firstLine(e)}`, e);
    }
  });
}

/**
 * Run `end` (end the SSH connection) once the channel's close has been answered, so that what was
 * written before reaches the peer; after two seconds without an answer, anyway.
 */
function endAfterClose(channel: Ssh2, closed: boolean, end: () => void): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    end();
  };
  const timer = setTimeout(once, 2000);
  Deno.unrefTimer(timer);
  if (closed) return once();
  channel.once("close", once);
}

/** Failed logins on one SSH connection before it is closed (OpenSSH's MaxAuthTries). */
const MAX_AUTH_FAILURES = 6;

/** How the cache side listens and whom it lets in. */
export interface SshListenOptions {
  host: string;
  port: number;
  /** Private host key file (OpenSSH or PEM format). */
  hostKeyFile: string;
  /** Routers' public keys (OpenSSH authorized_keys format). */
  authorizedKeysFile?: string;
  /** File whose first line is the password routers log in with. */
  passwordFile?: string;
  /** The one user name accepted. */
  user: string;
  /** What happens at the SSH level: refused logins, refused requests. */
  log?: (line: string) => void;
  /** A client that has not logged in after this many ms is dropped (default 60000). */
  loginGraceMs?: number;
}

function peerName(info: { ip?: string; port?: number }): string {
  const ip = info.ip ?? "?";
  return `${ip.includes(":") ? `[${ip}]` : ip}:${info.port ?? 0}`;
}

/**
 * Listen for SSH clients; every `rpki-rtr` subsystem channel opened by an authenticated client
 * is yielded as one connection. Closing a connection ends its SSH session.
 */
export async function sshListener(o: SshListenOptions): Promise<RtrListener> {
  const ssh2 = await loadSsh2();
  const log = o.log ?? (() => {});
  const hostKey = await readFileText(o.hostKeyFile, "SSH host key");
  const parsedHostKey = ssh2.utils.parseKey(hostKey);
  if (
    parsedHostKey instanceof Error ||
    !(Array.isArray(parsedHostKey) ? parsedHostKey[0] : parsedHostKey).isPrivateKey()
  ) {
    throw new TransportError(
      `Cannot use SSH host key ${o.hostKeyFile}: not an unencrypted OpenSSH or PEM private key`,
    );
  }
  let keys: SshPublicKey[] | undefined;
  const verifiers = new Map<string, Ssh2>();
  if (o.authorizedKeysFile) {
    keys = parseAuthorizedKeys(
      await readFileText(o.authorizedKeysFile, "authorized keys file"),
      o.authorizedKeysFile,
    );
    for (const k of keys) {
      const b64 = btoa(String.fromCharCode(...k.blob));
      const parsed = ssh2.utils.parseKey(`${k.type} ${b64}`);
      if (!(parsed instanceof Error)) {
        verifiers.set(b64, Array.isArray(parsed) ? parsed[0] : parsed);
      }
    }
  }
  const password = o.passwordFile ? await readPassword(o.passwordFile) : undefined;
  if (!keys && password === undefined) {
    throw new TransportError("An SSH listener needs authorized keys or a password file");
  }
  const methods = [...(keys ? ["publickey"] : []), ...(password !== undefined ? ["password"] : [])];
  const graceMs = o.loginGraceMs ?? 60000;

  const queue: RtrConn[] = [];
  let waiter: (() => void) | undefined;
  let closed = false;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  /** SSH clients that have no rpki-rtr channel yet (ended when the listener closes). */
  const idle = new Set<Ssh2>();

  let server: Ssh2;
  try {
    server = new ssh2.Server({ hostKeys: [hostKey], ident: "rtr" });
  } catch (e) {
    throw new TransportError(`Cannot use SSH host key ${o.hostKeyFile}: ${firstLine(e)}`);
  }
  server.on("connection", (client: Ssh2, info: { ip?: string; port?: number }) => {
    const peer = peerName(info);
    idle.add(client);
    try {
      client.setNoDelay(true);
      client._sock?.setKeepAlive?.(true);
    } catch { /* not a TCP socket */ }
    let channels = 0;
    const grace = setTimeout(() => {
      log(`${peer} ssh: not logged in after ${graceMs / 1000} s, closing`);
      client.end();
    }, graceMs);
    client.on("error", (e: Ssh2) => {
      // A router that hangs up is logged by the server as a disconnect; no second line here.
      if (closed || e?.code === "EPIPE" || e?.code === "ECONNRESET") return;
      log(`${peer} ssh: ${firstLine(e)}`);
    });
    client.on("close", () => {
      clearTimeout(grace);
      idle.delete(client);
    });
    let failures = 0;
    const refuse = (ctx: Ssh2) => {
      // As OpenSSH's MaxAuthTries: a client that keeps guessing is disconnected.
      if (++failures >= MAX_AUTH_FAILURES) {
        log(`${peer} ssh: ${failures} failed logins, closing`);
        ctx.reject();
        client.end();
        return;
      }
      ctx.reject(methods);
    };
    client.on("authentication", (ctx: Ssh2) => {
      if (ctx.method === "none") return ctx.reject(methods);
      if (ctx.username !== o.user) {
        log(
          `${peer} ssh: refused ${ctx.method} login as unknown user ${
            JSON.stringify(ctx.username)
          }`,
        );
        return refuse(ctx);
      }
      if (ctx.method === "publickey" && keys) {
        const blob = new Uint8Array(ctx.key.data);
        if (!isAuthorized(keys, blob)) {
          log(`${peer} ssh: refused key ${blobType(blob)} ${fingerprint(blob)} (not authorized)`);
          return refuse(ctx);
        }
        if (!ctx.signature) return ctx.accept(); // the client asks whether the key would do
        const v = verifiers.get(btoa(String.fromCharCode(...blob)));
        if (!v || v.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          log(`${peer} ssh: refused key ${fingerprint(blob)}: bad signature`);
          return refuse(ctx);
        }
        log(`${peer} ssh: ${o.user} logged in with key ${blobType(blob)} ${fingerprint(blob)}`);
        return ctx.accept();
      }
      if (ctx.method === "password" && password !== undefined) {
        if (!samePassword(String(ctx.password), password)) {
          log(`${peer} ssh: refused password login as ${o.user}: wrong password`);
          return refuse(ctx);
        }
        log(`${peer} ssh: ${o.user} logged in with a password`);
        return ctx.accept();
      }
      refuse(ctx);
    });
    client.on("ready", () => {
      clearTimeout(grace);
      client.on("session", (accept: () => Ssh2) => {
        const session = accept();
        session.on("subsystem", (acc: () => Ssh2, rej: () => void, req: { name: string }) => {
          if (req.name !== RTR_SUBSYSTEM || closed) {
            log(`${peer} ssh: refused subsystem ${JSON.stringify(req.name)}`);
            return rej();
          }
          const channel = acc();
          channels++;
          idle.delete(client);
          channel.stderr?.resume?.();
          queue.push(fromNodeStream(channel, {
            localAddr: listenerAddr(),
            remoteAddr: { hostname: info.ip ?? "", port: info.port ?? 0 },
            beforeEnd: () => channel.exit(0),
            onClose: (closed) =>
              endAfterClose(channel, closed, () => {
                if (--channels === 0) client.end();
              }),
          }));
          wake();
        });
        session.on("shell", (_acc: unknown, rej: () => void) => {
          log(`${peer} ssh: refused a shell (only the ${RTR_SUBSYSTEM} subsystem is served)`);
          rej();
        });
        session.on("exec", (_acc: unknown, rej: () => void, req: { command: string }) => {
          log(`${peer} ssh: refused exec ${JSON.stringify(req.command)}`);
          rej();
        });
        session.on("pty", (_acc: unknown, rej: () => void) => rej());
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Ssh2) => {
      reject(
        new TransportError(
          `Cannot listen on ${describeTarget(o)}: ${
            e?.code === "EADDRINUSE" ? "address in use" : socketErrorText(e)
          }`,
        ),
      );
    };
    server.once("error", onError);
    server.listen(o.port, o.host, () => {
      server.off("error", onError);
      server.on("error", (e: Ssh2) => log(`ssh listener: ${firstLine(e)}`));
      resolve();
    });
  });
  function listenerAddr(): Endpoint {
    const a = server.address();
    return { hostname: a?.address ?? o.host, port: a?.port ?? o.port };
  }
  const addr = listenerAddr();

  return {
    addr,
    close() {
      if (closed) return;
      closed = true;
      try {
        server.close();
      } catch { /* closed */ }
      for (const c of idle) c.end();
      for (const c of queue.splice(0)) c.close();
      wake();
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        while (queue.length === 0) {
          if (closed) return;
          await new Promise<void>((r) => waiter = r);
        }
        yield queue.shift()!;
      }
    },
  };
}
