/**
 * `rtr serve`: a small RTR cache (RFC 6810 / 8210 / 8210bis) serving a table file to any number
 * of routers. The protocol lives in the sans-I/O responder (lib/cache.ts); this file owns the
 * sockets (TCP or TLS), per-connection backpressure, the file watch and SIGHUP reload, Serial
 * Notify rate limiting (8210bis §8.2), signals and the stderr log.
 */
import { type CacheConnection, NotifyLimiter, type Response, RtrCache } from "../cache/mod.ts";
import { describeError, UsageError } from "../errors.ts";
import { readTableFile } from "../formats/read.ts";
import { tableCounts } from "../model/mod.ts";
import { flag, int, parseCommandArgs, seconds, splitHostPort, str } from "./args.ts";
import type { Command } from "./command.ts";
import { warn } from "./io.ts";

const help = `Usage: rtr serve FILE [options]

Serve the table in FILE to routers as a small RTR cache: protocol versions 0, 1 and 2
(negotiated per router), Reset and Serial Queries, deltas from recent serials. FILE may be
any JSON dialect rtr reads (rpki-client, StayRTR/rtrdump, Routinator, RTRlib), rpki-client
or RTRlib CSV, or rtr's NDJSON, optionally gzipped. FILE is watched (and re-read on SIGHUP):
a changed table gets the next serial and connected routers a Serial Notify; a file that
does not parse is refused and the previous table stays served. Until a first valid table
exists, queries get "No Data Available".

Options:
  --listen ADDR:PORT    address to listen on (default 127.0.0.1:8282; port 0 picks a
                        free one; the bound address is printed on stderr)
  --protocol N          highest protocol version served: 0, 1 or 2 (default 2)
  --refresh S           Refresh Interval sent in End of Data, 1-86400 (default 3600)
  --retry S             Retry Interval, 1-7200 (default 600)
  --expire S            Expire Interval, 600-172800, above refresh and retry (default 7200)
  --session-id N        Session ID, 0-65535 (default: low 16 bits of the Unix time)
  --tls                 serve TLS (with --cert and --key; IANA port 324)
  --cert FILE           PEM certificate chain for --tls
  --key FILE            PEM private key for --tls
  --max-connections N   routers served at once, 1-100000 (default 1000); more are refused
  --notify-interval S   at most one Serial Notify per S seconds (default 60)
  --aspa-layout L       current (8210bis, default) or legacy (StayRTR 0.5.1's draft layout,
                        for rtrdump -rtr.version 2)
  -h, --help            show this help

stderr: one line per connection, negotiated version, query (with the response size),
reload and disconnect. SIGINT or SIGTERM closes every connection and exits 0.

Exit codes: 0 stopped by a signal; 1 cannot listen or read the TLS files; 2 usage.
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
} as const;

/** Split `ADDR:PORT` allowing port 0 (any free port). */
function parseListen(s: string): { host: string; port: number } {
  const zero = /^(.*):0$/.exec(s);
  if (zero) return { host: splitHostPort(zero[1], 8282).host, port: 0 };
  return splitHostPort(s, 8282);
}

function fmtAddr(a: Deno.Addr): string {
  if (a.transport === "tcp" || a.transport === "udp") {
    return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
  }
  return String((a as { path?: string }).path ?? a.transport);
}

function fmtBytes(n: number): string {
  if (n < 10_000) return `${n} bytes`;
  if (n < 10_000_000) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** One router connection: reads queries, writes responses in order, never blocks the others. */
class RouterConn {
  readonly conn: Deno.Conn;
  readonly peer: string;
  readonly responder: CacheConnection;
  readonly #log: (line: string) => void;
  readonly #stallMs: number;
  /** Writes are chained so that a Notify never lands inside a response. */
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  sent = 0;
  readonly started = Date.now();

  constructor(
    conn: Deno.Conn,
    responder: CacheConnection,
    log: (line: string) => void,
    stallMs: number,
  ) {
    this.conn = conn;
    this.peer = fmtAddr(conn.remoteAddr);
    this.responder = responder;
    this.#log = log;
    this.#stallMs = stallMs;
  }

  log(line: string): void {
    this.#log(`${this.peer} ${line}`);
  }

  /** Queue bytes (a response or a Notify) behind what is already queued. */
  enqueue(r: Response | Uint8Array): Promise<void> {
    this.#chain = this.#chain.then(() => this.#write(r));
    return this.#chain;
  }

  async #write(r: Response | Uint8Array): Promise<void> {
    if (this.#closed) return;
    const chunks = r instanceof Uint8Array ? [r] : r.chunks;
    try {
      for (const c of chunks) {
        let off = 0;
        while (off < c.length) {
          if (this.#closed) return;
          // A router that stops reading for 3 × Retry Interval is dropped (8210bis §10).
          const timer = setTimeout(() => {
            this.log(`stalled: not reading for ${this.#stallMs / 1000} s, closing`);
            this.close();
          }, this.#stallMs);
          try {
            off += await this.conn.write(c.subarray(off));
          } finally {
            clearTimeout(timer);
          }
        }
        this.sent += c.length;
      }
    } catch (e) {
      if (!this.#closed) this.log(`write failed: ${describeError(e)}`);
      this.close();
    }
  }

  /** Read and answer until the router leaves or must be dropped. */
  async serve(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    while (!this.#closed) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch (e) {
        if (!this.#closed) this.log(`read failed: ${describeError(e)}`);
        break;
      }
      if (n === null) {
        if (this.responder.partial) this.log("left in the middle of a PDU");
        break;
      }
      const out = this.responder.receive(buf.subarray(0, n));
      for (const ev of out.events) this.log(ev);
      for (const r of out.send) this.enqueue(r);
      // Backpressure: read the next query only once the answers are written.
      await this.#chain;
      if (out.close) {
        await this.#linger(buf);
        break;
      }
    }
    this.close();
  }

  /**
   * Before closing after an Error Report: shut our side and discard what the router still sends
   * (bounded), so that unread input does not turn the close into a reset that loses the report.
   */
  async #linger(buf: Uint8Array): Promise<void> {
    if (this.#closed) return;
    try {
      await this.conn.closeWrite();
    } catch {
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((r) => timer = setTimeout(() => r(null), 1000));
    try {
      while (true) {
        const n = await Promise.race([this.conn.read(buf), timeout]);
        if (n === null) break;
      }
    } catch {
      /* reset or closed: done */
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  get closed(): boolean {
    return this.#closed;
  }
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("serve", args, OPTIONS);
  if (p.positionals.length !== 1) {
    throw new UsageError(
      `Expected one FILE to serve, got ${p.positionals.length} (see 'rtr serve --help')`,
    );
  }
  const file = p.positionals[0];
  const listen = parseListen(str(p, "listen") ?? "127.0.0.1:8282");
  const maxVersion = int(p, "protocol", 2, 0, 2);
  const refresh = int(p, "refresh", 3600, 1, 86400);
  const retry = int(p, "retry", 600, 1, 7200);
  const expire = int(p, "expire", 7200, 600, 172800);
  if (expire <= refresh || expire <= retry) {
    throw new UsageError(
      `--expire must be above --refresh and --retry, got expire ${expire}, refresh ${refresh}, retry ${retry}`,
    );
  }
  const sessionId = int(p, "session-id", Math.floor(Date.now() / 1000) & 0xffff, 0, 65535);
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

  const log = (line: string) => warn(`rtr serve: ${line}`);
  const cache = new RtrCache({
    sessionId,
    maxVersion,
    refresh,
    retry,
    expire,
    aspaLayout: layout,
    // Each chunk is written (awaited) before the next is made: one buffer per connection.
    reuseChunks: true,
  });

  // Load, reload: one at a time; a request during a load runs once more afterwards.
  let loading: Promise<void> | null = null;
  let again = false;
  const limiter = new NotifyLimiter(notifyInterval * 1000);
  let notifyTimer: ReturnType<typeof setTimeout> | undefined;
  const conns = new Set<RouterConn>();

  const notifyAll = () => {
    notifyTimer = undefined;
    limiter.sent(Date.now());
    let n = 0;
    for (const c of conns) {
      const bytes = c.responder.notify();
      if (bytes) {
        c.enqueue(bytes);
        n++;
      }
    }
    if (n > 0) log(`sent Serial Notify for serial ${cache.serial} to ${n} router(s)`);
  };
  const scheduleNotify = () => {
    if (notifyTimer !== undefined) return;
    const wait = limiter.request(Date.now());
    if (wait === 0) notifyAll();
    else notifyTimer = setTimeout(notifyAll, wait);
  };

  const loadOnce = async (why: string) => {
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
    let r;
    try {
      r = cache.update(loaded.table);
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
        `loaded ${file} (${loaded.dialect}, ${why}): ${what}; session ${sessionId} serial ${r.serial}`,
      );
    } else if (!r.changed) {
      log(`reloaded ${file} (${why}): unchanged, serial stays ${r.serial}`);
      return;
    } else {
      log(
        `reloaded ${file} (${why}): ${what}; serial ${r.previous} → ${r.serial} (${r.announced} announced, ${r.withdrawn} withdrawn)`,
      );
    }
    scheduleNotify();
  };
  const reload = (why: string): Promise<void> => {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      do {
        again = false;
        await loadOnce(why);
      } while (again);
      loading = null;
    })();
    return loading;
  };

  let listener: Deno.Listener;
  let cert = "", key = "";
  if (tls) {
    for (const [flagName, path] of [["--cert", certFile!], ["--key", keyFile!]]) {
      try {
        const text = await Deno.readTextFile(path);
        if (flagName === "--cert") cert = text;
        else key = text;
      } catch (e) {
        log(`cannot read ${flagName} ${path}: ${describeError(e)}`);
        return 1;
      }
    }
  }
  try {
    if (tls) {
      listener = Deno.listenTls({ hostname: listen.host, port: listen.port, cert, key });
    } else {
      listener = Deno.listen({ hostname: listen.host, port: listen.port, transport: "tcp" });
    }
  } catch (e) {
    log(`cannot listen on ${listen.host}:${listen.port}: ${describeError(e)}`);
    return 1;
  }
  await reload("start");
  log(
    `listening on ${fmtAddr(listener.addr)}${
      tls ? " (TLS)" : ""
    }, versions 0-${maxVersion}, session ${sessionId}`,
  );

  // Watch the file's directory: editors and atomic writers replace the file by renaming.
  let watcher: Deno.FsWatcher | undefined;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  if (file !== "-") {
    try {
      const slash = file.lastIndexOf("/");
      const dir = slash >= 0 ? file.slice(0, slash) || "/" : ".";
      const base = file.slice(slash + 1);
      const realDir = await Deno.realPath(dir);
      const target = `${realDir === "/" ? "" : realDir}/${base}`;
      watcher = Deno.watchFs(realDir, { recursive: false });
      (async () => {
        try {
          for await (const ev of watcher!) {
            if (ev.kind === "access") continue;
            if (!ev.paths.some((q) => q === target)) continue;
            clearTimeout(debounce);
            debounce = setTimeout(() => reload("file changed"), 150);
          }
        } catch { /* watcher closed */ }
      })();
    } catch (e) {
      log(`cannot watch ${file}: ${describeError(e)}; reload with SIGHUP`);
    }
  }

  let stop!: (sig: string) => void;
  const stopped = new Promise<string>((resolve) => stop = resolve);
  const onHup = () => reload("SIGHUP");
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  Deno.addSignalListener("SIGHUP", onHup);
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);

  const stallMs = 3 * retry * 1000;
  const handlers = new Set<Promise<void>>();
  const acceptLoop = (async () => {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      if (conns.size >= maxConnections) {
        log(
          `${
            fmtAddr(conn.remoteAddr)
          } refused: ${conns.size} connections open (--max-connections ${maxConnections})`,
        );
        try {
          conn.close();
        } catch { /* gone */ }
        continue;
      }
      if (conn.remoteAddr.transport === "tcp") {
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
          (conn as Deno.TcpConn).setKeepAlive(true);
        } catch { /* TLS conns do not expose these */ }
      }
      const rc = new RouterConn(conn, cache.connection(), log, stallMs);
      conns.add(rc);
      rc.log(`connected (${conns.size} open)`);
      const h = (async () => {
        try {
          if (tls) await (conn as Deno.TlsConn).handshake();
          await rc.serve();
        } catch (e) {
          rc.log(`error: ${describeError(e)}`);
          rc.close();
        } finally {
          conns.delete(rc);
          const secs = ((Date.now() - rc.started) / 1000).toFixed(1);
          rc.log(
            `disconnected after ${secs} s, ${fmtBytes(rc.sent)} sent (${conns.size} open)`,
          );
        }
      })();
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  })();

  const sig = await stopped;
  log(`${sig}: closing ${conns.size} connection(s)`);
  Deno.removeSignalListener("SIGHUP", onHup);
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  clearTimeout(debounce);
  clearTimeout(notifyTimer);
  try {
    watcher?.close();
  } catch { /* closed */ }
  try {
    listener.close();
  } catch { /* closed */ }
  for (const c of conns) c.close();
  await acceptLoop;
  await Promise.race([
    Promise.allSettled([...handlers]),
    new Promise((r) => setTimeout(r, 2000)),
  ]);
  if (loading) await loading;
  return 0;
}

/** The `serve` subcommand. */
export const command: Command = {
  name: "serve",
  summary: "serve a table as a small RTR cache",
  help,
  run,
};
