/**
 * The SSH flags: ssh:// URLs, where host, port, user and credentials come from, the host key
 * policy, and the usage errors (exit 2) for contradictions. The environment is injected.
 */
import { assert, assertEquals as eq } from "../helpers/assert.ts";
import { UsageError } from "../../lib/errors.ts";
import { parseCommandArgs } from "../../lib/cli/args.ts";
import { CONNECT_OPTIONS, connectOptions } from "../../lib/cli/common.ts";
import {
  type EnvReader,
  parseFingerprints,
  parseSshUrl,
  SSH_SERVE_OPTIONS,
  sshConnectOptions,
  sshServeOptions,
} from "../../lib/cli/ssh_options.ts";

const FP = "SHA256:UQx98KGFykJM79Zoivsbb6CdoUeG0GKtXGe2AO4eKs0";

function env(vars: Record<string, string>): EnvReader {
  return (name) => vars[name] || undefined;
}

function parse(args: string[]) {
  return parseCommandArgs("snapshot", args, CONNECT_OPTIONS);
}

function usage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert(e instanceof UsageError, String(e));
    return e.message;
  }
  throw new Error("expected a UsageError");
}

Deno.test("parseSshUrl: user, host, IPv6 literal and port; not an ssh URL is undefined", () => {
  eq(parseSshUrl("ssh://rpki@cache.example.net:2222"), {
    user: "rpki",
    host: "cache.example.net",
    port: 2222,
  });
  eq(parseSshUrl("ssh://[2001:db8::1]"), { user: undefined, host: "2001:db8::1", port: undefined });
  eq(parseSshUrl("SSH://a%40b@h/"), { user: "a@b", host: "h", port: undefined });
  eq(parseSshUrl("cache:8282"), undefined);
  eq(
    usage(() => parseSshUrl("ssh://u@h:x")),
    `Invalid SSH URL "ssh://u@h:x": expected ssh://USER@HOST[:PORT]`,
  );
  eq(usage(() => parseSshUrl("ssh://u@h:70000")), "Port must be 1 to 65535, got 70000");
});

Deno.test("sshConnectOptions: URL or --ssh, default port 22 and user rpki, credentials from flags or the environment", () => {
  const home = env({ HOME: "/home/r" });
  eq(sshConnectOptions(parse([]), "cache:8282", home), undefined);
  const a = sshConnectOptions(parse(["--ssh-key", "k"]), "ssh://router@cache", home)!;
  eq([a.host, a.port, a.ssh.user, a.ssh.keyFile], ["cache", 22, "router", "k"]);
  eq(a.ssh.knownHostsFile, "/home/r/.ssh/known_hosts");
  const b = sshConnectOptions(
    parse(["--ssh", "--host", "::1", "--port", "2222", "--ssh-known-hosts", "kh"]),
    undefined,
    env({ RTR_SSH_PASSWORD: "pw", SSH_AUTH_SOCK: "/run/agent" }),
  )!;
  eq([b.host, b.port, b.ssh.user, b.ssh.password, b.ssh.agentSocket], [
    "::1",
    2222,
    "rpki",
    "pw",
    "/run/agent",
  ]);
  eq(b.ssh.knownHostsFile, "kh");
  // A password file wins over the environment; a pin needs no known_hosts (nor $HOME).
  const c = sshConnectOptions(
    parse(["--ssh-password-file", "pf", "--ssh-host-key-fingerprint", `${FP}=, ${FP}`]),
    "ssh://h:830",
    env({ RTR_SSH_PASSWORD: "pw" }),
  )!;
  eq([c.port, c.ssh.passwordFile, c.ssh.password, c.ssh.fingerprints], [830, "pf", undefined, [
    FP,
    FP,
  ]]);
});

Deno.test("sshConnectOptions: contradictions and missing pieces are usage errors", () => {
  const e = env({ HOME: "/h", RTR_SSH_PASSWORD: "pw" });
  eq(
    usage(() => sshConnectOptions(parse(["--ssh-key", "k"]), "cache:8282", e)),
    "--ssh-key needs SSH: give ssh://USER@HOST or --ssh",
  );
  eq(
    usage(() => sshConnectOptions(parse(["--tls"]), "ssh://h", e)),
    "SSH and --tls exclude each other",
  );
  eq(
    usage(() => sshConnectOptions(parse(["--host", "x"]), "ssh://h", e)),
    "Give the cache either as ssh://USER@HOST or with --host, not both",
  );
  eq(
    usage(() => sshConnectOptions(parse(["--port", "1"]), "ssh://h:2", e)),
    "Give the port either in the ssh:// URL or with --port, not both",
  );
  eq(
    usage(() => sshConnectOptions(parse(["--ssh"]), undefined, e)),
    "--ssh needs the cache's host: --host H, HOST[:PORT] or ssh://USER@HOST",
  );
  eq(
    usage(() => sshConnectOptions(parse(["--ssh-user", "b"]), "ssh://a@h", e)),
    `The ssh:// URL says user "a", --ssh-user "b": give one`,
  );
  eq(
    usage(() => sshConnectOptions(parse([]), "ssh://h", env({ HOME: "/h" }))),
    "SSH needs credentials: --ssh-key FILE, --ssh-password-file FILE or RTR_SSH_PASSWORD, or an ssh-agent ($SSH_AUTH_SOCK)",
  );
  eq(
    usage(() => sshConnectOptions(parse(["--ssh-host-key-fingerprint", "MD5:aa"]), "ssh://h", e)),
    `--ssh-host-key-fingerprint must be SHA256:… as ssh-keygen -l prints it, got "MD5:aa"`,
  );
  eq(
    usage(() =>
      sshConnectOptions(
        parse(["--ssh-insecure-accept", "--ssh-host-key-fingerprint", FP]),
        "ssh://h",
        e,
      )
    ),
    "--ssh-insecure-accept and --ssh-host-key-fingerprint exclude each other",
  );
  eq(
    usage(() => sshConnectOptions(parse([]), "ssh://h", env({ RTR_SSH_PASSWORD: "pw" }))),
    "Cannot find ~/.ssh/known_hosts ($HOME is not set or not readable): give --ssh-known-hosts FILE",
  );
  // There is no password flag: a password never appears in a process list.
  assert(
    usage(() => parse(["--ssh-password", "secret"])).startsWith("Unknown option --ssh-password "),
  );
  eq(parseFingerprints("SHA256:short"), undefined);
});

Deno.test("connectOptions: SSH gives a dialer and no TLS; --tls alone dials 324, TLS files refuse SSH", () => {
  const ssh = connectOptions(parse(["--ssh-key", "k", "--ssh-insecure-accept"]), "ssh://h:2222");
  eq([ssh.host, ssh.port, ssh.tls, typeof ssh.dialer], ["h", 2222, undefined, "function"]);
  eq(
    usage(() => connectOptions(parse(["--ca", "ca.pem", "--ssh-key", "k"]), "ssh://h")),
    "--ca, --cert and --key are for --tls, not SSH",
  );
  const tls = connectOptions(parse(["--tls"]), "cache.example.net");
  eq([tls.port, tls.tls, tls.dialer], [324, true, undefined]);
  eq(connectOptions(parse(["--tls"]), "cache.example.net:8283").port, 8283);
  eq(connectOptions(parse([]), "cache.example.net").port, 8282);
});

Deno.test("sshServeOptions: --ssh-listen needs a host key and a way in; the other flags need --ssh-listen", () => {
  const p = (args: string[]) => parseCommandArgs("serve", args, SSH_SERVE_OPTIONS);
  eq(sshServeOptions(p([])), undefined);
  eq(
    sshServeOptions(
      p(["--ssh-listen", "[::1]:0", "--ssh-host-key", "hk", "--ssh-authorized-keys", "ak"]),
    ),
    {
      host: "::1",
      port: 0,
      hostKeyFile: "hk",
      authorizedKeysFile: "ak",
      passwordFile: undefined,
      user: "rpki",
    },
  );
  eq(
    usage(() => sshServeOptions(p(["--ssh-host-key", "hk"]))),
    "--ssh-host-key needs --ssh-listen",
  );
  eq(
    usage(() => sshServeOptions(p(["--ssh-listen", "127.0.0.1:2222"]))),
    "--ssh-listen needs --ssh-host-key FILE",
  );
  eq(
    usage(() => sshServeOptions(p(["--ssh-listen", "127.0.0.1:2222", "--ssh-host-key", "hk"]))),
    "--ssh-listen needs --ssh-authorized-keys FILE or --ssh-password-file FILE (no login without one)",
  );
  eq(
    usage(() =>
      sshServeOptions(
        p([
          "--ssh-listen",
          "h:22",
          "--ssh-host-key",
          "hk",
          "--ssh-password-file",
          "pf",
          "--ssh-user",
          "a b",
        ]),
      )
    ),
    `--ssh-user must be a plain user name, got "a b"`,
  );
});
