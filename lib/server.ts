/**
 * The RTR cache server driver (RFC 8210 §6, §9, 8210bis §8–§10): carries out what the sans-I/O
 * cache side decides. It accepts routers on any number of `RtrListener`s, runs one responder
 * per router with ordered writes and backpressure (the next query is read once the answers are
 * written), drops a router that stops reading for 3 × the Retry Interval (8210bis §10), lingers
 * after a fatal Error Report so the report is not lost to a reset, sends Serial Notify after a
 * change through the 8210bis §8.2 rate limit, and stops gracefully. A payload source (a table
 * file, later upstream caches) feeds tables through `publish`. It consumes only the transport
 * interface, and all of its time comes from an injected `Clock`.
 */
import type { CacheConnection, Response, RtrCache, UpdateResult } from "./cache/mod.ts";
import { NotifyLimiter } from "./cache/mod.ts";
import { describeError } from "./errors.ts";
import type { PayloadTable } from "./model/mod.ts";
import type { Endpoint, RtrConn, RtrListener } from "./transport.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";

export { type Clock, systemClock, type TimerHandle } from "./clock.ts";

/** Settings of a server. */
export interface ServerOptions {
  /** Time source; default the system clock. */
  clock?: Clock;
  /** Routers served at once over all listeners; more are refused. Default 1000. */
  maxConnections?: number;
  /** Least time between two rounds of Serial Notify, ms (8210bis §8.2). Default 60000. */
  notifyIntervalMs?: number;
  /** A write that makes no progress for this long drops the router; default 3 × Retry. */
  stallMs?: number;
  /** Longest wait for a router to close after a fatal Error Report, ms. Default 1000. */
  lingerMs?: number;
  /** Longest wait for connections to finish on `stop`, ms. Default 2000. */
  drainMs?: number;
  /** Receives one line per event (connections, queries, notifications), without a prefix. */
  log?: (line: string) => void;
  /**
   * Sees each accepted router's connection and responder before it is served, and returns the
   * connection to serve (the same, or a wrapper that observes it: metrics).
   */
  observe?: (conn: RtrConn, responder: CacheConnection) => RtrConn;
}

/** `host:port` of an endpoint (`[v6]:port` for IPv6). */
export function formatEndpoint(e: Endpoint): string {
  return e.hostname.includes(":") ? `[${e.hostname}]:${e.port}` : `${e.hostname}:${e.port}`;
}

/** Byte counts for the log: bytes, kB or MB. */
export function formatBytes(n: number): string {
  if (n < 10_000) return `${n} bytes`;
  if (n < 10_000_000) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** An RTR cache server: routers on one or more listeners, served from one `RtrCache`. */
export class RtrServer {
  /** The cache being served. */
  readonly cache: RtrCache;
  readonly #clock: Clock;
  readonly #maxConnections: number;
  readonly #stallMs: number;
  readonly #lingerMs: number;
  readonly #drainMs: number;
  readonly #log: (line: string) => void;
  readonly #observe: ServerOptions["observe"];
  readonly #limiter: NotifyLimiter;
  readonly #conns = new Set<RouterConnection>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #listeners = new Set<RtrListener>();
  readonly #acceptLoops = new Set<Promise<void>>();
  #notifyTimer: TimerHandle | undefined;
  #notifyPending = false;
  #stopping = false;

  constructor(cache: RtrCache, options: ServerOptions = {}) {
    this.cache = cache;
    this.#clock = options.clock ?? systemClock;
    this.#maxConnections = options.maxConnections ?? 1000;
    this.#stallMs = options.stallMs ?? 3 * cache.retry * 1000;
    this.#lingerMs = options.lingerMs ?? 1000;
    this.#drainMs = options.drainMs ?? 2000;
    this.#log = options.log ?? (() => {});
    this.#observe = options.observe;
    this.#limiter = new NotifyLimiter(options.notifyIntervalMs ?? 60_000);
  }

  /** Routers connected now, over all listeners. */
  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Serve routers that connect through `listener` until it ends or `stop()` is called; resolves
   * when its accept loop ends. May be called for several listeners at once.
   */
  serve(listener: RtrListener): Promise<void> {
    if (this.#stopping) {
      listener.close();
      return Promise.resolve();
    }
    this.#listeners.add(listener);
    const loop = (async () => {
      try {
        for await (const conn of listener) {
          if (this.#stopping) {
            closeQuietly(conn);
            break;
          }
          this.#accept(conn);
        }
      } catch (e) {
        if (!this.#stopping) {
          this.#log(`stopped accepting on ${formatEndpoint(listener.addr)}: ${describeError(e)}`);
        }
      } finally {
        this.#listeners.delete(listener);
      }
    })();
    this.#acceptLoops.add(loop);
    loop.finally(() => this.#acceptLoops.delete(loop));
    return loop;
  }

  /**
   * Serve `table` from now on (the payload source's hook). A changed table gets the next serial
   * and schedules a Serial Notify; a table that cannot be encoded throws InputError and changes
   * nothing.
   */
  publish(table: PayloadTable): UpdateResult {
    const r = this.cache.update(table);
    if (r.changed) this.#scheduleNotify();
    return r;
  }

  /** Close every listener and connection and wait (bounded) for the connections to finish. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#notifyPending) this.#clock.clearTimer(this.#notifyTimer);
    this.#notifyPending = false;
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch { /* closed */ }
    }
    for (const c of this.#conns) c.close();
    await Promise.allSettled([...this.#acceptLoops]);
    let timer: TimerHandle | undefined;
    const drained = new Promise<void>((r) => timer = this.#clock.setTimer(this.#drainMs, r));
    await Promise.race([Promise.allSettled([...this.#handlers]), drained]);
    this.#clock.clearTimer(timer);
  }

  #accept(conn: RtrConn): void {
    const peer = formatEndpoint(conn.remoteAddr);
    if (this.#conns.size >= this.#maxConnections) {
      this.#log(
        `${peer} refused: ${this.#conns.size} connections open (--max-connections ${this.#maxConnections})`,
      );
      closeQuietly(conn);
      return;
    }
    const responder = this.cache.connection();
    const rc = new RouterConnection(this.#observe?.(conn, responder) ?? conn, peer, responder, {
      clock: this.#clock,
      log: this.#log,
      stallMs: this.#stallMs,
      lingerMs: this.#lingerMs,
    });
    this.#conns.add(rc);
    rc.log(`connected (${this.#conns.size} open)`);
    const h = (async () => {
      try {
        await rc.serve();
      } catch (e) {
        rc.log(`error: ${describeError(e)}`);
        rc.close();
      } finally {
        this.#conns.delete(rc);
        const secs = ((this.#clock.now() - rc.started) / 1000).toFixed(1);
        rc.log(
          `disconnected after ${secs} s, ${formatBytes(rc.sent)} sent (${this.#conns.size} open)`,
        );
      }
    })();
    this.#handlers.add(h);
    h.finally(() => this.#handlers.delete(h));
  }

  #scheduleNotify(): void {
    if (this.#notifyPending || this.#stopping) return;
    const wait = this.#limiter.request(this.#clock.now());
    if (wait === 0) {
      this.#notifyAll();
      return;
    }
    this.#notifyPending = true;
    this.#notifyTimer = this.#clock.setTimer(wait, () => {
      this.#notifyPending = false;
      this.#notifyAll();
    });
  }

  #notifyAll(): void {
    this.#limiter.sent(this.#clock.now());
    let n = 0;
    for (const c of this.#conns) {
      const bytes = c.responder.notify();
      if (bytes) {
        c.enqueue(bytes);
        n++;
      }
    }
    if (n > 0) this.#log(`sent Serial Notify for serial ${this.cache.serial} to ${n} router(s)`);
  }
}

function closeQuietly(conn: RtrConn): void {
  try {
    conn.close();
  } catch { /* gone */ }
}

interface RouterConnectionOptions {
  clock: Clock;
  log: (line: string) => void;
  stallMs: number;
  lingerMs: number;
}

/** One router connection: reads queries, writes responses in order, never blocks the others. */
class RouterConnection {
  readonly conn: RtrConn;
  readonly peer: string;
  readonly responder: CacheConnection;
  readonly started: number;
  readonly #o: RouterConnectionOptions;
  /** Writes are chained so that a Notify never lands inside a response. */
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  /** Bytes written. */
  sent = 0;

  constructor(
    conn: RtrConn,
    peer: string,
    responder: CacheConnection,
    options: RouterConnectionOptions,
  ) {
    this.conn = conn;
    this.peer = peer;
    this.responder = responder;
    this.#o = options;
    this.started = options.clock.now();
  }

  log(line: string): void {
    this.#o.log(`${this.peer} ${line}`);
  }

  /** Queue bytes (a response or a Notify) behind what is already queued. */
  enqueue(r: Response | Uint8Array): Promise<void> {
    this.#chain = this.#chain.then(() => this.#write(r));
    return this.#chain;
  }

  async #write(r: Response | Uint8Array): Promise<void> {
    if (this.#closed) return;
    const { clock, stallMs } = this.#o;
    const chunks = r instanceof Uint8Array ? [r] : r.chunks;
    try {
      for (const c of chunks) {
        let off = 0;
        while (off < c.length) {
          if (this.#closed) return;
          // A router that stops reading for 3 × Retry Interval is dropped (8210bis §10).
          const timer = clock.setTimer(stallMs, () => {
            this.log(`stalled: not reading for ${stallMs / 1000} s, closing`);
            this.close();
          });
          let n: number;
          try {
            n = await this.conn.write(c.subarray(off));
          } finally {
            clock.clearTimer(timer);
          }
          off += n;
          this.sent += n;
        }
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
    const { clock, lingerMs } = this.#o;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<null>((r) => timer = clock.setTimer(lingerMs, () => r(null)));
    try {
      while (true) {
        const n = await Promise.race([this.conn.read(buf), timeout]);
        if (n === null) break;
      }
    } catch {
      /* reset or closed: done */
    } finally {
      clock.clearTimer(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.conn);
  }
}
