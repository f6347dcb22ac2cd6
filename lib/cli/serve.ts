/**
 * `rtr serve`: a small RTR cache (RFC 6810 / 8210 / 8210bis) serving a table file and/or the
 * tables of upstream caches to any number of routers. A thin layer: it parses the flags, reads
 * and watches the table file (re-read on SIGHUP), follows the upstreams (lib/upstream.ts), applies
 * a watched SLURM file (RFC 8416, lib/serve_payload.ts), opens the TCP or TLS listener (and the SSH
 * one beside it), serves metrics, logs to stderr and handles signals. The protocol lives in
 * lib/cache/ and the connections in lib/server.ts.
 */
import { type FileWatch, watchFile } from "../io/mod.ts";
import { largeDrop, RtrCache, waitSettled } from "../cache/mod.ts";
import { describeError, UsageError } from "../errors.ts";
import { readTableFile } from "../formats/read.ts";
import { DEFAULT_TIMERS, tableCounts, TIMER_LIMITS, timerRange } from "../model/mod.ts";
import { formatEndpoint, RtrServer } from "../server.ts";
import { fromDenoListener, type RtrListener } from "../transport.ts";
import { flag, int, parseCommandArgs, seconds, splitHostPort, str } from "./args.ts";
import type { Command } from "./command.ts";
import { warn } from "./io.ts";
import { SSH_SERVE_HELP, SSH_SERVE_OPTIONS, sshServeOptions } from "./ssh_options.ts";
import type { PublishTarget } from "../serve_payload.ts";
import { ServeMetrics } from "./serve_metrics.ts";
import { parseSourceFlags, ServeSources, SOURCES_HELP, SOURCES_OPTIONS } from "./serve_sources.ts";

/** `1-86400 (default 3600)`: a timer's range and default, from lib/model/timers.ts. */
function timerHelp(name: "refresh" | "retry" | "expire", extra = ""): string {
  return `${timerRange(name)}${extra} (default ${DEFAULT_TIMERS[name]})`;
}

// Deadlines and reload guards (hostile clients, half-written files): one block of flags.
const HARDENING_HELP =
  `  --handshake-timeout S TLS handshake deadline after accept (default 10); then closed
  --first-query-timeout S  deadline for a router's first query (default 30); then closed
  --pdu-timeout S       deadline for a PDU once started (default 30); a router that
                        negotiated gets an Error Report, then the close
  --max-drop P%         refuse a reload that drops more than P % of the records
                        served (default 50%); the previous table stays served
  --allow-large-drop    accept any reload, however much it drops
`;
const HARDENING_OPTIONS = {
  "handshake-timeout": { type: "string" },
  "first-query-timeout": { type: "string" },
  "pdu-timeout": { type: "string" },
  "max-drop": { type: "string" },
  "allow-large-drop": { type: "boolean" },
} as const;

/** The deadline and reload guard flags. */
function parseHardening(p: ReturnType<typeof parseCommandArgs>) {
  const ms = (name: string, def: number) => Math.round(seconds(p, name, def) * 1000);
  const drop = str(p, "max-drop") ?? "50%";
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(drop);
  if (!m || Number(m[1]) > 100) {
    throw new UsageError(
      `--max-drop must be a percentage from 0 to 100, got ${JSON.stringify(drop)}`,
    );
  }
  return {
    handshakeMs: ms("handshake-timeout", 10),
    firstQueryMs: ms("first-query-timeout", 30),
    pduMs: ms("pdu-timeout", 30),
    maxDrop: flag(p, "allow-large-drop") ? null : Number(m[1]) / 100,
  };
}

const help = `Usage: rtr serve [FILE] [--upstream HOST[:PORT] ...] [options]

Serve the table in FILE to routers as a small RTR cache: protocol versions 0, 1 and 2
(negotiated per router), Reset and Serial Queries, deltas from recent serials. FILE may be
any JSON dialect rtr reads (rpki-client, StayRTR/rtrdump, Routinator, RTRlib), rpki-client
or RTRlib CSV, or rtr's NDJSON, optionally gzipped. FILE is watched (and re-read on SIGHUP):
a changed table gets the next serial and connected routers a Serial Notify; a file that
does not parse is refused and the previous table stays served. Until a first valid table
exists, queries get "No Data Available".

With --upstream, rtr serve follows upstream caches as 'rtr follow' does and serves what
they hold, instead of FILE or beside it (the union). This cache keeps its own session and
serials: an upstream's change, new session or failover reaches routers as a delta. When
every upstream has been gone longer than its Expire (and no FILE), the data is withdrawn:
a Reset Query gets "No Data Available", a Serial Query a Cache Reset.

Options:
  --listen ADDR:PORT    address to listen on (default 127.0.0.1:8282; port 0 picks a
                        free one; the bound address is printed on stderr)
  --protocol N          highest protocol version served: 0, 1 or 2 (default 2)
  --refresh S           Refresh Interval sent in End of Data, ${timerHelp("refresh")}
  --retry S             Retry Interval, ${timerHelp("retry")}
  --expire S            Expire Interval, ${timerHelp("expire", ", above refresh and retry")}
  --session-id N        one Session ID, 0-65535, for every version (default: one per
                        version, 8210bis §5.1: the low 16 bits of the Unix time for the
                        highest version served, one less for each version below)
  --tls                 serve TLS (with --cert and --key; IANA port 324)
  --cert FILE           PEM certificate chain for --tls
  --key FILE            PEM private key for --tls
  --tls-client-ca FILE  ask routers for a client certificate that chains to these PEM CA
                        certificates and names the router's IP address (8210bis §9.2);
                        a router without one is still served, unless
  --tls-require-client-cert
                        refuse routers that present no client certificate
${SSH_SERVE_HELP}
  --max-connections N   routers served at once, 1-100000 (default 1000); more are refused
  --notify-interval S   at most one Serial Notify per S seconds (default 60)
  --aspa-layout L       current (8210bis, default) or legacy (StayRTR 0.5.1's draft layout,
                        for rtrdump -rtr.version 2)
${SOURCES_HELP}${HARDENING_HELP}  -h, --help            show this help

stderr: one line per connection, negotiated version, query (with the response size),
reload and disconnect; per upstream: its first sync, new session, loss (a failure that
repeats is said once), expiry, and which upstream is served. SIGINT or SIGTERM closes
every connection (version 2 routers first get Error Report code 13, Cache Shutdown) and
exits 0. A restart starts a new session (new session ids unless --session-id is given, and
no history): routers then sync the whole table. Replace FILE by writing a new file and
renaming it over FILE; a file changed in place is read only once its size and time settle,
and a reload that drops too much is refused.

Exit codes: 0 stopped by a signal; 1 cannot listen, read the TLS or SSH files, serve
metrics, or read the SLURM file at start; 2 usage.
`;

const OPTIONS = {
  listen: { type: "string" },
  protocol: { type: "string" },
  refresh: { type: "string" },
  retry: { type: "string" },
  expire: { type: "string" },
  "session-id": { type: "string" },
  tls: { type: "boolean" },
  cert: { type: "string" },
  key: { type: "string" },
  "max-connections": { type: "string" },
  "notify-interval": { type: "string" },
  "aspa-layout": { type: "string" },
  "tls-client-ca": { type: "string" },
  "tls-require-client-cert": { type: "boolean" },
  ...SSH_SERVE_OPTIONS,
  ...SOURCES_OPTIONS,
  ...HARDENING_OPTIONS,
} as const;

/** Split `ADDR:PORT` allowing port 0 (any free port). */
function parseListen(s: string): { host: string; port: number } {
  const zero = /^(.*):0$/.exec(s);
  if (zero) return { host: splitHostPort(zero[1], 8282).host, port: 0 };
  return splitHostPort(s, 8282);
}

/** The table file as the server's payload source: loads one at a time, watched, logged. */
class TableFile {
  readonly #file: string;
  readonly #server: PublishTarget;
  readonly #log: (line: string) => void;
  #loading: Promise<void> | null = null;
  #again = false;
  #watch: FileWatch | undefined;

  /** Largest share of the records a reload may drop (null: any). */
  readonly #maxDrop: number | null;

  constructor(
    file: string,
    server: PublishTarget,
    log: (line: string) => void,
    maxDrop: number | null = null,
  ) {
    this.#file = file;
    this.#server = server;
    this.#log = log;
    this.#maxDrop = maxDrop;
  }

  /** Read the file and publish it; a request during a load runs once more afterwards. */
  reload(why: string): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      do {
        this.#again = false;
        await this.#loadOnce(why);
      } while (this.#again);
      this.#loading = null;
    })();
    return this.#loading;
  }

  async #loadOnce(why: string): Promise<void> {
    const file = this.#file, cache = this.#server.cache, log = this.#log;
    const keep = () =>
      cache.hasData ? `still serving serial ${cache.serial}` : `serving "No Data Available"`;
    if (file !== "-" && !(await settled(file))) {
      log(`refused ${file} (${why}): still being written (it kept changing); ${keep()}`);
      return;
    }
    let loaded;
    try {
      loaded = await readTableFile(file);
    } catch (e) {
      const keep = cache.hasData
        ? `still serving serial ${cache.serial}`
        : `serving "No Data Available" until it loads`;
      log(`refused ${file} (${why}): ${describeError(e)}; ${keep}`);
      return;
    }
    const c = tableCounts(loaded.table);
    const served = cache.table && tableCounts(cache.table);
    const drop = served && this.#maxDrop !== null &&
      largeDrop(total(served), total(c), this.#maxDrop);
    if (drop) {
      log(
        `refused ${file} (${why}): ${drop}, see --max-drop; ${keep()} (--allow-large-drop accepts such a reload)`,
      );
      return;
    }
    let r;
    try {
      r = this.#server.publish(loaded.table);
    } catch (e) {
      const keep = cache.hasData ? `still serving serial ${cache.serial}` : "no data yet";
      log(`refused ${file} (${why}): ${describeError(e)}; ${keep}`);
      return;
    }
    if (loaded.warnings.length > 0) {
      log(
        `${file}: ${loaded.warnings.length} repair(s) while reading, first: ${loaded.warnings[0]}`,
      );
    }
    const what =
      `${c.vrps} VRPs (${c.vrpsIpv4} IPv4, ${c.vrpsIpv6} IPv6), ${c.routerKeys} router keys, ${c.aspas} ASPA`;
    if (r.previous === undefined) {
      log(
        `loaded ${file} (${loaded.dialect}, ${why}): ${what}; session ${cache.sessionId} serial ${r.serial}`,
      );
    } else if (!r.changed) {
      log(`reloaded ${file} (${why}): unchanged, serial stays ${r.serial}`);
    } else {
      log(
        `reloaded ${file} (${why}): ${what}; serial ${r.previous} → ${r.serial} (${r.announced} announced, ${r.withdrawn} withdrawn)`,
      );
    }
  }

  /** Watch the file's directory: editors and atomic writers replace the file by renaming. */
  async watch(): Promise<void> {
    const file = this.#file;
    if (file === "-") return;
    try {
      this.#watch = await watchFile(file, () => this.reload("file changed"));
    } catch (e) {
      this.#log(`cannot watch ${file}: ${describeError(e)}; reload with SIGHUP`);
    }
  }

  /** Stop watching. */
  close(): void {
    this.#watch?.close();
  }

  /** Wait for a load under way. */
  async idle(): Promise<void> {
    if (this.#loading) await this.#loading;
  }
}

/** `session N`, or `sessions A (v0), B (v1), C (v2)` when they differ by version. */
function sessions(cache: RtrCache): string {
  const ids = Array.from({ length: cache.maxVersion + 1 }, (_, v) => cache.sessionIdFor(v));
  return ids.every((id) => id === cache.sessionId)
    ? `session ${cache.sessionId}`
    : `sessions ${ids.map((id, v) => `${id} (v${v})`).join(", ")}`;
}

/** Records of a table (VRPs, router keys, ASPA). */
function total(c: { vrps: number; routerKeys: number; aspas: number }): number {
  return c.vrps + c.routerKeys + c.aspas;
}

/** True once FILE's size and time are the same in two looks 100 ms apart (or it is gone). */
async function settled(file: string): Promise<boolean> {
  try {
    return await waitSettled({
      stat: async () => {
        const st = await Deno.stat(file);
        return { size: st.size, mtimeMs: st.mtime?.getTime() ?? null };
      },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
  } catch {
    return true; // cannot stat: reading it says why
  }
}

/** TLS files and the client certificate policy of `--tls`. */
interface TlsFlags {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
  requireClientCert: boolean;
}

/** Open the TCP or TLS listener; null (after a log line) when it cannot be opened. */
async function listen(
  at: { host: string; port: number },
  tls: TlsFlags | null,
  log: (line: string) => void,
): Promise<RtrListener | null> {
  let cert = "", key = "", clientCa = "";
  if (tls) {
    const files = [["--cert", tls.certFile], ["--key", tls.keyFile]];
    if (tls.clientCaFile) files.push(["--tls-client-ca", tls.clientCaFile]);
    for (const [flagName, path] of files) {
      try {
        const text = await Deno.readTextFile(path);
        if (flagName === "--cert") cert = text;
        else if (flagName === "--key") key = text;
        else clientCa = text;
      } catch (e) {
        log(`cannot read ${flagName} ${path}: ${describeError(e)}`);
        return null;
      }
    }
  }
  try {
    if (tls?.clientCaFile) {
      // Deno.listenTls cannot ask for a client certificate; node:tls can.
      const { tlsListener } = await import("../transport_tls.ts");
      return await tlsListener({
        host: at.host,
        port: at.port,
        cert,
        key,
        clientCa,
        requireClientCert: tls.requireClientCert,
        log,
      });
    }
    return fromDenoListener(
      tls
        ? Deno.listenTls({ hostname: at.host, port: at.port, cert, key })
        : Deno.listen({ hostname: at.host, port: at.port, transport: "tcp" }),
    );
  } catch (e) {
    log(`cannot listen on ${at.host}:${at.port}: ${describeError(e)}`);
    return null;
  }
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("serve", args, OPTIONS);
  // Upstreams, SLURM and metrics (lib/cli/serve_sources.ts): FILE is optional beside --upstream.
  const sourceFlags = parseSourceFlags(p);
  const n = p.positionals.length;
  if (n > 1 || (n === 0 && sourceFlags.upstreams.length === 0)) {
    throw new UsageError(
      `Expected one FILE to serve or --upstream, got ${n} FILE operands (see 'rtr serve --help')`,
    );
  }
  const file: string | undefined = p.positionals[0];
  const at = parseListen(str(p, "listen") ?? "127.0.0.1:8282");
  const maxVersion = int(p, "protocol", 2, 0, 2);
  const timer = (k: "refresh" | "retry" | "expire") =>
    int(p, k, DEFAULT_TIMERS[k], TIMER_LIMITS[k][0], TIMER_LIMITS[k][1]);
  const refresh = timer("refresh"), retry = timer("retry"), expire = timer("expire");
  if (expire <= refresh || expire <= retry) {
    throw new UsageError(
      `--expire must be above --refresh and --retry, got expire ${expire}, refresh ${refresh}, retry ${retry}`,
    );
  }
  const sessionId = int(p, "session-id", Math.floor(Date.now() / 1000) & 0xffff, 0, 65535);
  // Without --session-id, each version gets its own session id (8210bis §5.1).
  const sessionIds = str(p, "session-id") !== undefined
    ? undefined
    : [0, 1, 2].map((v) => (sessionId - (maxVersion - v)) & 0xffff);
  const maxConnections = int(p, "max-connections", 1000, 1, 100000);
  const notifyInterval = seconds(p, "notify-interval", 60);
  const layout = str(p, "aspa-layout") ?? "current";
  if (layout !== "current" && layout !== "legacy") {
    throw new UsageError(`--aspa-layout must be current or legacy, got ${JSON.stringify(layout)}`);
  }
  const tls = flag(p, "tls");
  const certFile = str(p, "cert"), keyFile = str(p, "key");
  if (tls && (!certFile || !keyFile)) throw new UsageError("--tls needs --cert and --key");
  if (!tls && (certFile || keyFile)) throw new UsageError("--cert and --key need --tls");
  const clientCaFile = str(p, "tls-client-ca");
  const requireClientCert = flag(p, "tls-require-client-cert");
  if (!tls && clientCaFile) throw new UsageError("--tls-client-ca needs --tls");
  if (requireClientCert && !clientCaFile) {
    throw new UsageError("--tls-require-client-cert needs --tls-client-ca FILE");
  }
  const ssh = sshServeOptions(p);
  const hardening = parseHardening(p);

  const log = (line: string) => warn(`rtr serve: ${line}`);
  const cache = new RtrCache({
    sessionId,
    sessionIds,
    maxVersion,
    refresh,
    retry,
    expire,
    aspaLayout: layout,
    // The current serial's responses are encoded once and shared by every router (bounded);
    // beyond the budget, each chunk is written (awaited) before the next is made in one buffer
    // per connection.
    sharedBytes: 128 * 1024 * 1024,
    reuseChunks: true,
  });
  const metrics = sourceFlags.metricsAt ? new ServeMetrics(cache) : undefined;
  const server = new RtrServer(cache, {
    maxConnections,
    notifyIntervalMs: notifyInterval * 1000,
    log,
    observe: metrics?.observe,
    handshakeMs: hardening.handshakeMs,
    firstQueryMs: hardening.firstQueryMs,
    pduMs: hardening.pduMs,
  });

  // Signal handlers before anything is announced: a SIGTERM right after "listening" (a
  // supervisor, `timeout -s TERM`) must stop us cleanly, not kill us with status 143.
  // Set once the listener is open; the SIGHUP handler, installed first, reloads what is there.
  // deno-lint-ignore prefer-const
  let source: TableFile | undefined;
  // deno-lint-ignore prefer-const
  let sources: ServeSources | undefined;
  let stop!: (sig: string) => void;
  const stopped = new Promise<string>((resolve) => stop = resolve);
  const onHup = () => {
    source?.reload("SIGHUP");
    sources?.reload("SIGHUP");
  };
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  Deno.addSignalListener("SIGHUP", onHup);
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  const unlisten = () => {
    Deno.removeSignalListener("SIGHUP", onHup);
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  };

  const listener = await listen(
    at,
    tls ? { certFile: certFile!, keyFile: keyFile!, clientCaFile, requireClientCert } : null,
    log,
  );
  if (!listener) {
    unlisten();
    return 1;
  }
  let sshListener: RtrListener | undefined;
  if (ssh) {
    try {
      sshListener = await (await import("../transport_ssh.ts")).sshListener({ ...ssh, log });
    } catch (e) {
      log(describeError(e));
      listener.close();
      unlisten();
      return 1;
    }
  }
  sources = await ServeSources.open(server, sourceFlags, log, metrics) ?? undefined;
  if (!sources) {
    listener.close();
    sshListener?.close();
    unlisten();
    return 1;
  }
  source = file === undefined
    ? undefined
    : new TableFile(file, sources.fileTarget, log, hardening.maxDrop);
  await source?.reload("start");
  // Watch before announcing: a change written right after "listening" is not missed.
  await source?.watch();
  log(
    `listening on ${formatEndpoint(listener.addr)}${
      tls ? (clientCaFile ? " (TLS, client certificates)" : " (TLS)") : ""
    }, versions 0-${maxVersion}, ${sessions(cache)}`,
  );
  if (sshListener) {
    log(`serving SSH on ${formatEndpoint(sshListener.addr)} (subsystem rpki-rtr)`);
  }
  await sources.start();
  server.serve(listener);
  if (sshListener) server.serve(sshListener);

  const sig = await stopped;
  log(`${sig}: closing ${server.connections} connection(s)`);
  unlisten();
  source?.close();
  await sources.stop();
  await server.stop();
  await source?.idle();
  return 0;
}

/** The `serve` subcommand. */
export const command: Command = {
  name: "serve",
  summary: "serve a table as a small RTR cache",
  help,
  run,
};
