/**
 * Options shared by the commands that talk to a cache (snapshot, follow, diff, validate): where
 * to connect, TLS files or SSH (lib/cli/ssh_options.ts), protocol version and timeout, and the
 * TTY progress line.
 */
import { UsageError } from "../errors.ts";
import type { SyncOptions } from "../client.ts";
import { connect, describeTarget } from "../transport.ts";
import { flag, int, type OptionSpec, type Parsed, seconds, splitHostPort, str } from "./args.ts";
import { warn } from "./io.ts";
import {
  lazySshDialer,
  SSH_CONNECT_HELP,
  SSH_CONNECT_OPTIONS,
  sshConnectOptions,
} from "./ssh_options.ts";

/** The old client's default cache. */
export const DEFAULT_CACHE = "rtr.rpki.cloudflare.com:8282";
/** Default RTR port. */
export const DEFAULT_PORT = 8282;
/** Built-in default data directory of `follow`, `diff`, `validate` and `show`. */
export const DEFAULT_DATA_DIR = "./data";

/**
 * An environment variable, or undefined when unset, empty, or not readable: `rtr` never asks
 * for a permission (the installed command may run without `--allow-env`).
 */
export function envDefault(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    const v = Deno.env.get(name);
    return v === undefined || v === "" ? undefined : v;
  } catch {
    return undefined;
  }
}

/** The default cache: `$RTR_CACHE`, else {@link DEFAULT_CACHE}. */
export function defaultCache(): string {
  return envDefault("RTR_CACHE") ?? DEFAULT_CACHE;
}

/** The default data directory: `$RTR_DATA_DIR`, else {@link DEFAULT_DATA_DIR}. */
export function defaultDataDir(): string {
  return envDefault("RTR_DATA_DIR") ?? DEFAULT_DATA_DIR;
}

/** Help line for the data directory's default (shared by every --help that has one). */
export const DATA_DIR_DEFAULT_HELP = `$RTR_DATA_DIR, else ${DEFAULT_DATA_DIR}`;
/** Default port with --tls: IANA rpki-rtr-tls (8210bis §9.2). */
export const DEFAULT_TLS_PORT = 324;

/** Flags of every command that connects to a cache. */
export const CONNECT_OPTIONS: OptionSpec = {
  host: { type: "string" },
  port: { type: "string" },
  protocol: { type: "string" },
  timeout: { type: "string" },
  tls: { type: "boolean" },
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  "tls-insecure": { type: "boolean" },
  bind: { type: "string" },
  verbose: { type: "boolean", short: "v" },
  ...SSH_CONNECT_OPTIONS,
};

/** Help lines for CONNECT_OPTIONS. */
export const CONNECT_HELP = `  --host H          cache host (default: $RTR_CACHE, else ${
  DEFAULT_CACHE.split(":")[0]
})
  --port P          cache port (default ${DEFAULT_PORT}, ${DEFAULT_TLS_PORT} with --tls, 22 with SSH;
                    323 is the IANA port)
  --protocol N      highest protocol version to propose: 0, 1 or 2 (default 2); the
                    cache may negotiate down
  --timeout S       give up when the cache stays silent this many seconds while we
                    connect or wait for End of Data (default 30)
  --tls             connect with TLS (default port 324, IANA rpki-rtr-tls); the cache's
                    certificate must name the host or IP address given
  --ca FILE         PEM CA certificate(s) to trust for --tls, beside the system store
  --cert FILE       PEM client certificate for --tls (with --key)
  --key FILE        PEM private key of --cert
  --tls-insecure    with --tls: do not verify the cache's certificate (labs only; a
                    warning on every connect)
  --bind ADDR       connect from this local address (a source address of this host)
${SSH_CONNECT_HELP}
  -v, --verbose     say on stderr what happens (negotiation, timers, counts)`;

/** Build connection options from the parsed flags and an optional HOST[:PORT] positional. */
export function connectOptions(p: Parsed, target: string | undefined): SyncOptions {
  const version = int(p, "protocol", 2, 0, 2);
  const timeoutSec = seconds(p, "timeout", 30);
  const ssh = sshConnectOptions(p, target);
  if (ssh) {
    if (str(p, "ca") || str(p, "cert") || str(p, "key")) {
      throw new UsageError("--ca, --cert and --key are for --tls, not SSH");
    }
    const o: SyncOptions = { host: ssh.host, port: ssh.port, version, timeoutSec };
    o.dialer = lazySshDialer({ ...ssh.ssh, log: (line) => o.log?.(line) });
    return o;
  }
  const tls = flag(p, "tls");
  const given = target ?? str(p, "host");
  const t = splitHostPort(
    given ?? envDefault("RTR_CACHE") ?? DEFAULT_CACHE.split(":")[0],
    tls ? DEFAULT_TLS_PORT : DEFAULT_PORT,
  );
  if (target && str(p, "host")) {
    throw new UsageError("Give the cache either as HOST[:PORT] or with --host, not both");
  }
  const port = int(p, "port", t.port, 1, 65535);
  const caFile = str(p, "ca"), certFile = str(p, "cert"), keyFile = str(p, "key");
  const tlsInsecure = flag(p, "tls-insecure");
  if (!tls && (caFile || certFile || keyFile || tlsInsecure)) {
    throw new UsageError("--ca, --cert, --key and --tls-insecure need --tls");
  }
  if (tlsInsecure && caFile) {
    throw new UsageError("--tls-insecure verifies nothing, so --ca has no use with it");
  }
  const bind = str(p, "bind");
  if (bind !== undefined && !isIpLiteral(bind)) {
    throw new UsageError(`--bind must be an IPv4 or IPv6 address, got ${JSON.stringify(bind)}`);
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const opts: SyncOptions = {
    host: t.host,
    port,
    version,
    timeoutSec,
    tls,
    caFile,
    certFile,
    keyFile,
    tlsInsecure: tlsInsecure || undefined,
    localAddress: bind,
  };
  if (tlsInsecure) {
    // Said on every connect: a follow that runs for weeks must keep saying it.
    opts.dialer = (o) => {
      warn(
        `rtr: warning: --tls-insecure: not verifying the certificate of ${
          describeTarget(o)
        }; anyone on the path can pose as the cache`,
      );
      return connect(o);
    };
  }
  return opts;
}

/** True for an IPv4 dotted quad or an IPv6 literal (no brackets, no zone). */
function isIpLiteral(s: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return s.split(".").every((o) => Number(o) <= 255);
  return s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s);
}

/** Flags capping one response (snapshot, follow). */
export const LIMIT_OPTIONS: OptionSpec = {
  "max-response-records": { type: "string" },
  "max-response-bytes": { type: "string" },
};

/** Help lines for LIMIT_OPTIONS. */
export const LIMIT_HELP =
  `  --max-response-records N  give up on a response that brings more than N records
                    before End of Data (default: 10 million, or 4 x the previous table)
  --max-response-bytes N  the same for the payload bytes of one response (default:
                    1 GiB, or 4 x the previous table)`;

/** The response caps the flags ask for (undefined: the session's defaults). */
export function responseCaps(
  p: Parsed,
): { maxResponseRecords?: number; maxResponseBytes?: number } {
  const caps: { maxResponseRecords?: number; maxResponseBytes?: number } = {};
  if (str(p, "max-response-records") !== undefined) {
    caps.maxResponseRecords = int(p, "max-response-records", 0, 1, Number.MAX_SAFE_INTEGER);
  }
  if (str(p, "max-response-bytes") !== undefined) {
    caps.maxResponseBytes = int(p, "max-response-bytes", 0, 1, Number.MAX_SAFE_INTEGER);
  }
  return caps;
}

/** The environment variables shown in the help of commands that use them. */
export const ENV_HELP =
  `Environment: RTR_CACHE is the default cache HOST[:PORT], RTR_DATA_DIR the default
data directory; a flag or argument wins. rtr prints no colour; with NO_COLOR set, the
terminal progress line on stderr uses no escape sequences either.`;

/** A progress reporter for stderr when it is a terminal, else undefined. */
export function ttyProgress():
  | ((p: { pdus: number; bytes: number; elapsedMs: number }) => void)
  | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  const enc = new TextEncoder();
  return (p) => {
    const mb = p.bytes / 1e6;
    const rate = p.elapsedMs > 0 ? mb / (p.elapsedMs / 1000) : 0;
    const text = `${p.pdus} PDUs, ${mb.toFixed(1)} MB, ${rate.toFixed(1)} MB/s`;
    Deno.stderr.writeSync(enc.encode(progressLine(text, Deno.noColor)));
  };
}

/** Longest progress line: the plain redraw pads to this width. */
const PROGRESS_WIDTH = 60;

/**
 * One redraw of the progress line: carriage return, then erase-line (`ESC [ K`) and the text;
 * with `noColor` (NO_COLOR, https://no-color.org) no escape sequence: the text padded with spaces.
 */
export function progressLine(text: string, noColor: boolean): string {
  return noColor ? `\r${text.padEnd(PROGRESS_WIDTH)}` : `\r\x1b[K${text}`;
}

/** Clear the progress line (when one was shown). */
export function clearProgress(): void {
  if (!Deno.stderr.isTerminal()) return;
  const clear = Deno.noColor ? `\r${" ".repeat(PROGRESS_WIDTH)}\r` : "\r\x1b[K";
  Deno.stderr.writeSync(new TextEncoder().encode(clear));
}

/** A logger to stderr when verbose, else a no-op. */
export function verboseLog(p: Parsed): (line: string) => void {
  return flag(p, "verbose") ? (line) => warn(`rtr: ${line}`) : () => {};
}

/** `host:port` of a cache for messages and metadata (`[v6]:port` for IPv6 literals). */
export const sourceName = describeTarget;

/** The cache from the one optional HOST[:PORT] positional and the connection flags. */
export function cacheTarget(cmd: string, p: Parsed): SyncOptions {
  if (p.positionals.length > 1) {
    throw new UsageError(
      `Expected at most one HOST[:PORT], got ${p.positionals.length} (see 'rtr ${cmd} --help')`,
    );
  }
  return connectOptions(p, p.positionals[0]);
}

/** `--serial N --session S` (the old client's -s/-S): both or neither. */
export function startFromFlags(p: Parsed): { serial: number; sessionId: number } | undefined {
  const hasSerial = str(p, "serial") !== undefined, hasSession = str(p, "session") !== undefined;
  if (hasSerial !== hasSession) throw new UsageError("--serial and --session go together");
  if (!hasSerial) return undefined;
  return { serial: int(p, "serial", 0, 0, 0xffffffff), sessionId: int(p, "session", 0, 0, 0xffff) };
}
