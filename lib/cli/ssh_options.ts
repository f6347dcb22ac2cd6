/**
 * The SSH flags (RFC 6810 §7, 8210bis §9.1), parsed and checked once for every command: the
 * router side (`ssh://USER@HOST[:PORT]` or `--ssh`, credentials, host key checking) for the
 * commands that talk to a cache, and the cache side (`serve --ssh-listen`). A password never
 * comes from the command line: a file, or `RTR_SSH_PASSWORD`. Help lines for each `--help`.
 */
import { UsageError } from "../errors.ts";
import type { ConnectOptions, Dialer } from "../transport.ts";
import type { SshClientOptions, SshListenOptions } from "../transport_ssh.ts";
import { flag, int, type OptionSpec, type Parsed, splitHostPort, str } from "./args.ts";

/** The SSH port (8210bis §9.1 runs RTR over the normal SSH port). */
export const DEFAULT_SSH_PORT = 22;

/** The default SSH user of RTR caches (StayRTR, GoRTR) and of `rtr serve`. */
export const DEFAULT_SSH_USER = "rpki";

/**
 * The SSH dialer, loaded (with the ssh2 package) only when a connection is opened: commands that
 * use TCP or TLS never load either.
 */
export function lazySshDialer(o: SshClientOptions): Dialer {
  return async (co) => (await import("../transport_ssh.ts")).sshConnect(o, co);
}

/** `SHA256:…` fingerprints (a comma list), or undefined when one is malformed. */
export function parseFingerprints(s: string): string[] | undefined {
  const list = s.split(",").map((f) => f.trim()).filter((f) => f !== "");
  const ok = list.length > 0 && list.every((f) => /^SHA256:[A-Za-z0-9+/]{43}=?$/.test(f));
  return ok ? list.map((f) => f.replace(/=$/, "")) : undefined;
}

/** Flags of the router side, for every command that connects to a cache. */
export const SSH_CONNECT_OPTIONS: OptionSpec = {
  ssh: { type: "boolean" },
  "ssh-user": { type: "string" },
  "ssh-key": { type: "string" },
  "ssh-password-file": { type: "string" },
  "ssh-known-hosts": { type: "string" },
  "ssh-host-key-fingerprint": { type: "string" },
  "ssh-insecure-accept": { type: "boolean" },
};

/** Help lines for SSH_CONNECT_OPTIONS. */
export const SSH_CONNECT_HELP = `  ssh://USER@HOST[:PORT]
                    as the cache: RTR over SSH (subsystem rpki-rtr, default port 22)
  --ssh             RTR over SSH to HOST[:PORT] or --host/--port instead of TCP
  --ssh-user NAME   SSH user (default: the URL's, else ${DEFAULT_SSH_USER})
  --ssh-key FILE    private key, OpenSSH or PEM format, unencrypted (an ssh-agent
                    at $SSH_AUTH_SOCK is tried too)
  --ssh-password-file FILE
                    log in with the password on the file's first line (or set
                    $RTR_SSH_PASSWORD; there is no password flag)
  --ssh-known-hosts FILE
                    check the cache's host key against this OpenSSH known_hosts
                    (default ~/.ssh/known_hosts; hashed entries work)
  --ssh-host-key-fingerprint SHA256:…
                    accept only this host key (a comma list for several)
  --ssh-insecure-accept
                    accept any host key (its fingerprint is logged with -v)`;

/** Flags of `serve`'s SSH listener. */
export const SSH_SERVE_OPTIONS: OptionSpec = {
  "ssh-listen": { type: "string" },
  "ssh-host-key": { type: "string" },
  "ssh-authorized-keys": { type: "string" },
  "ssh-password-file": { type: "string" },
  "ssh-user": { type: "string" },
};

/** Help lines for SSH_SERVE_OPTIONS. */
export const SSH_SERVE_HELP = `  --ssh-listen ADDR:PORT
                        also serve RTR over SSH there (subsystem rpki-rtr only:
                        shells, exec and other subsystems are refused)
  --ssh-host-key FILE   the server's private host key (OpenSSH or PEM format)
  --ssh-authorized-keys FILE
                        routers' public keys (OpenSSH authorized_keys format)
  --ssh-password-file FILE
                        and/or a password routers log in with: the file's first line
  --ssh-user NAME       the one user name accepted (default ${DEFAULT_SSH_USER})`;

/** Where an environment variable comes from (tests pass their own). */
export type EnvReader = (name: string) => string | undefined;

/**
 * An environment variable, or undefined when unset, empty or not permitted: reading one never
 * prompts for a permission.
 */
export const readEnv: EnvReader = (name) => {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    const v = Deno.env.get(name);
    return v === undefined || v === "" ? undefined : v;
  } catch {
    return undefined;
  }
};

/** The parts of `ssh://[USER@]HOST[:PORT]`, or undefined when `s` is not an ssh URL. */
export function parseSshUrl(
  s: string,
): { user?: string; host: string; port?: number } | undefined {
  if (!/^ssh:\/\//i.test(s)) return undefined;
  const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/@[\]]+)(?::(\d+))?\/?$/i.exec(s);
  if (!m) {
    throw new UsageError(`Invalid SSH URL ${JSON.stringify(s)}: expected ssh://USER@HOST[:PORT]`);
  }
  const host = m[2].replace(/^\[(.*)\]$/, "$1");
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new UsageError(`Port must be 1 to 65535, got ${port}`);
  }
  return { user: m[1] === undefined ? undefined : decodeURIComponent(m[1]), host, port };
}

/** A cache reached over SSH: where, and the dialer's settings. */
export interface SshTarget {
  host: string;
  port: number;
  ssh: SshClientOptions;
}

const CLIENT_ONLY = [
  "ssh-user",
  "ssh-key",
  "ssh-password-file",
  "ssh-known-hosts",
  "ssh-host-key-fingerprint",
  "ssh-insecure-accept",
];

/**
 * The SSH settings of a command that connects to a cache, or undefined when neither an ssh://
 * target nor `--ssh` asks for SSH (then any SSH flag is a usage error).
 */
export function sshConnectOptions(
  p: Parsed,
  target: string | undefined,
  env: EnvReader = readEnv,
): SshTarget | undefined {
  const url = target === undefined ? undefined : parseSshUrl(target);
  if (!url && !flag(p, "ssh")) {
    const given = CLIENT_ONLY.find((n) => p.values[n] !== undefined);
    if (given) throw new UsageError(`--${given} needs SSH: give ssh://USER@HOST or --ssh`);
    return undefined;
  }
  if (flag(p, "tls")) throw new UsageError("SSH and --tls exclude each other");
  if (url && str(p, "host") !== undefined) {
    throw new UsageError("Give the cache either as ssh://USER@HOST or with --host, not both");
  }
  let host: string, port: number;
  if (url) {
    if (url.port !== undefined && str(p, "port") !== undefined) {
      throw new UsageError("Give the port either in the ssh:// URL or with --port, not both");
    }
    host = url.host;
    port = url.port ?? int(p, "port", DEFAULT_SSH_PORT, 1, 65535);
  } else {
    const t = target ?? str(p, "host");
    if (target !== undefined && str(p, "host") !== undefined) {
      throw new UsageError("Give the cache either as HOST[:PORT] or with --host, not both");
    }
    if (t === undefined) {
      throw new UsageError(
        "--ssh needs the cache's host: --host H, HOST[:PORT] or ssh://USER@HOST",
      );
    }
    const hp = splitHostPort(t, DEFAULT_SSH_PORT);
    host = hp.host;
    port = int(p, "port", hp.port, 1, 65535);
  }
  const flagUser = str(p, "ssh-user");
  if (url?.user !== undefined && flagUser !== undefined && flagUser !== url.user) {
    throw new UsageError(
      `The ssh:// URL says user ${JSON.stringify(url.user)}, --ssh-user ${
        JSON.stringify(flagUser)
      }: give one`,
    );
  }
  const user = url?.user ?? flagUser ?? DEFAULT_SSH_USER;
  const keyFile = str(p, "ssh-key");
  const passwordFile = str(p, "ssh-password-file");
  const password = passwordFile === undefined ? env("RTR_SSH_PASSWORD") : undefined;
  const agentSocket = env("SSH_AUTH_SOCK");
  if (
    keyFile === undefined && passwordFile === undefined && password === undefined && !agentSocket
  ) {
    throw new UsageError(
      "SSH needs credentials: --ssh-key FILE, --ssh-password-file FILE or RTR_SSH_PASSWORD, or an ssh-agent ($SSH_AUTH_SOCK)",
    );
  }
  const fpText = str(p, "ssh-host-key-fingerprint");
  let fingerprints: string[] | undefined;
  if (fpText !== undefined) {
    fingerprints = parseFingerprints(fpText);
    if (!fingerprints) {
      throw new UsageError(
        `--ssh-host-key-fingerprint must be SHA256:… as ssh-keygen -l prints it, got ${
          JSON.stringify(fpText)
        }`,
      );
    }
  }
  const insecureAccept = flag(p, "ssh-insecure-accept");
  if (insecureAccept && fingerprints) {
    throw new UsageError("--ssh-insecure-accept and --ssh-host-key-fingerprint exclude each other");
  }
  let knownHostsFile = str(p, "ssh-known-hosts");
  if (knownHostsFile === undefined && !insecureAccept && !fingerprints) {
    const home = env("HOME");
    if (home === undefined) {
      throw new UsageError(
        "Cannot find ~/.ssh/known_hosts ($HOME is not set or not readable): give --ssh-known-hosts FILE",
      );
    }
    knownHostsFile = `${home.replace(/\/$/, "")}/.ssh/known_hosts`;
  }
  return {
    host,
    port,
    ssh: {
      user,
      keyFile,
      passwordFile,
      password,
      agentSocket,
      knownHostsFile: knownHostsFile ?? "",
      fingerprints,
      insecureAccept,
    },
  };
}

/**
 * Apply the SSH settings to connection options: host and port from the SSH target, and the SSH
 * dialer. Returns the options unchanged when SSH is not asked for.
 */
export function withSsh<T extends ConnectOptions & { dialer?: unknown; log?: (l: string) => void }>(
  opts: T,
  p: Parsed,
  target: string | undefined,
  env: EnvReader = readEnv,
): T {
  const s = sshConnectOptions(p, target, env);
  if (!s) return opts;
  return {
    ...opts,
    host: s.host,
    port: s.port,
    tls: false,
    dialer: lazySshDialer({ ...s.ssh, log: (l) => opts.log?.(l) }),
  };
}

/** `serve`'s SSH listener settings, or undefined without `--ssh-listen`. */
export function sshServeOptions(p: Parsed): Omit<SshListenOptions, "log"> | undefined {
  const listen = str(p, "ssh-listen");
  const hostKeyFile = str(p, "ssh-host-key");
  const authorizedKeysFile = str(p, "ssh-authorized-keys");
  const passwordFile = str(p, "ssh-password-file");
  const user = str(p, "ssh-user");
  if (listen === undefined) {
    const given = Object.keys(SSH_SERVE_OPTIONS).find((n) => p.values[n] !== undefined);
    if (given) throw new UsageError(`--${given} needs --ssh-listen`);
    return undefined;
  }
  const zero = /^(.*):0$/.exec(listen);
  const at = zero
    ? { host: splitHostPort(zero[1], DEFAULT_SSH_PORT).host, port: 0 }
    : splitHostPort(listen, DEFAULT_SSH_PORT);
  if (!hostKeyFile) throw new UsageError("--ssh-listen needs --ssh-host-key FILE");
  if (!authorizedKeysFile && !passwordFile) {
    throw new UsageError(
      "--ssh-listen needs --ssh-authorized-keys FILE or --ssh-password-file FILE (no login without one)",
    );
  }
  if (user !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(user)) {
    throw new UsageError(`--ssh-user must be a plain user name, got ${JSON.stringify(user)}`);
  }
  return {
    host: at.host,
    port: at.port,
    hostKeyFile,
    authorizedKeysFile,
    passwordFile,
    user: user ?? DEFAULT_SSH_USER,
  };
}
