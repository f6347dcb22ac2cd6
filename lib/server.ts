/**
 * The RTR cache server driver (RFC 8210 §6, §9, 8210bis §8–§10): carries out what the sans-I/O
 * cache side decides. It accepts routers on any number of `RtrListener`s, runs one responder
 * per router with ordered writes and backpressure (the next query is read once the answers are
 * written), drops a router that stops reading for 3 × the Retry Interval (8210bis §10), lingers
 * after a fatal Error Report so the report is not lost to a reset, sends Serial Notify after a
 * change through the 8210bis §8.2 rate limit, and stops gracefully: version 2 routers get the
 * Cache Shutdown Error Report (code 13, 8210bis §12) before the close, earlier versions a clean
 * close. Hostile or broken clients cannot hold a slot: a TLS handshake, the first query and a
 * started PDU each have a deadline, and when every slot is taken the oldest connection that never
 * negotiated makes room for a new one. A payload source (a table file, later upstream caches)
 * feeds tables through `publish`. It consumes only the transport interface, and all of its time
 * comes from an injected `Clock`.
 */
import type { CacheConnection, Response, RtrCache, UpdateResult } from "./cache/mod.ts";
import { NotifyLimiter } from "./cache/mod.ts";
import { describeError } from "./errors.ts";
import { encodePdu, ErrorCode, errorCodeFor, errorName, PduType } from "./wire/mod.ts";
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
  /** Longest wait for a TLS handshake to complete after accept, ms. Default 10000. */
  handshakeMs?: number;
  /** Longest wait from accept to the first query (version negotiated), ms. Default 30000. */
  firstQueryMs?: number;
  /** Longest time a PDU may stay started and not completed, ms. Default 30000. */
  pduMs?: number;
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
  readonly #handshakeMs: number;
  readonly #firstQueryMs: number;
  readonly #pduMs: number;
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

  /** A server for `cache`; nothing is served until `serve(listener)`. */
  constructor(cache: RtrCache, options: ServerOptions = {}) {
    this.cache = cache;
    this.#clock = options.clock ?? systemClock;
    this.#maxConnections = options.maxConnections ?? 1000;
    this.#stallMs = options.stallMs ?? 3 * cache.retry * 1000;
    this.#lingerMs = options.lingerMs ?? 1000;
    this.#drainMs = options.drainMs ?? 2000;
    this.#handshakeMs = options.handshakeMs ?? 10_000;
    this.#firstQueryMs = options.firstQueryMs ?? 30_000;
    this.#pduMs = options.pduMs ?? 30_000;
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

  /**
   * Close every listener, end every connection (version 2 routers first get the Cache Shutdown
   * Error Report, 8210bis §12; earlier versions and routers that never negotiated a clean close)
   * and wait, bounded by the drain time, for them to finish; then close what is left.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#notifyPending) this.#clock.clearTimer(this.#notifyTimer);
    this.#notifyPending = false;
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch { /* closed */ }
    }
    for (const c of this.#conns) c.shutdown();
    await Promise.allSettled([...this.#acceptLoops]);
    let timer: TimerHandle | undefined;
    const drained = new Promise<void>((r) => timer = this.#clock.setTimer(this.#drainMs, r));
    await Promise.race([Promise.allSettled([...this.#handlers]), drained]);
    this.#clock.clearTimer(timer);
    for (const c of this.#conns) c.close();
    await Promise.allSettled([...this.#handlers]);
  }

  #accept(conn: RtrConn): void {
    const peer = formatEndpoint(conn.remoteAddr);
    if (this.#conns.size >= this.#maxConnections && !this.#evictIdle()) {
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
      handshakeMs: this.#handshakeMs,
      firstQueryMs: this.#firstQueryMs,
      pduMs: this.#pduMs,
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

  /**
   * Make room for a new router by closing the oldest connection that has not negotiated a
   * version yet (idle, slowloris or still in its TLS handshake); false when every open
   * connection is a negotiated router.
   */
  #evictIdle(): boolean {
    for (const c of this.#conns) {
      if (c.responder.version !== undefined || c.ending) continue;
      const secs = ((this.#clock.now() - c.started) / 1000).toFixed(1);
      c.log(`evicted: no query after ${secs} s and every slot is taken (--max-connections)`);
      c.close();
      this.#conns.delete(c);
      return true;
    }
    return false;
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
  handshakeMs: number;
  firstQueryMs: number;
  pduMs: number;
}

/** An Error Report at `version` with `code` (clamped to the version's codes) and `text`. */
function errorReport(version: number, code: number, text: string): Uint8Array {
  const errorCode = errorCodeFor(version, code);
  return encodePdu({ type: PduType.ErrorReport, version, errorCode, pdu: new Uint8Array(0), text });
}

function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(3)} s`;
}

/**
 * One router connection: reads queries, writes responses in order, never blocks the others, and
 * holds its slot only while it keeps its deadlines.
 */
class RouterConnection {
  readonly conn: RtrConn;
  readonly peer: string;
  readonly responder: CacheConnection;
  readonly started: number;
  readonly #o: RouterConnectionOptions;
  /** Writes are chained so that a Notify never lands inside a response. */
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  /** The end is decided: input is discarded, queued writes go out, then our side shuts. */
  #ending = false;
  #endTimer: TimerHandle | undefined;
  #firstQueryTimer: TimerHandle | undefined;
  #pduTimer: TimerHandle | undefined;
  /** PDUs the responder had completed when the PDU deadline was last looked at. */
  #pdusSeen = 0;
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

  /** True once the connection is closing or closed. */
  get ending(): boolean {
    return this.#ending || this.#closed;
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

  /** Complete the TLS handshake (if any), then read and answer until the router leaves. */
  async serve(): Promise<void> {
    const { clock, firstQueryMs } = this.#o;
    this.#firstQueryTimer = clock.setTimer(firstQueryMs, () => {
      this.#firstQueryTimer = undefined;
      if (this.responder.version !== undefined || this.ending) return;
      // No version is known: nothing can be said in the protocol, the close says it.
      this.log(`no query within ${seconds(firstQueryMs)} (--first-query-timeout), closing`);
      this.close();
    });
    try {
      if (this.conn.handshake && !(await this.#handshake(this.conn.handshake()))) return;
      await this.#readLoop();
    } finally {
      this.close();
    }
  }

  /** Wait (bounded) for the TLS handshake; false when it failed or timed out. */
  async #handshake(done: Promise<void>): Promise<boolean> {
    const { clock, handshakeMs } = this.#o;
    done.catch(() => {});
    let timer: TimerHandle | undefined;
    const timeout = new Promise<"timeout">((r) => {
      timer = clock.setTimer(handshakeMs, () => r("timeout"));
    });
    try {
      const r = await Promise.race([done, timeout]);
      if (r !== "timeout") return !this.#closed;
      this.log(
        `TLS handshake not done within ${seconds(handshakeMs)} (--handshake-timeout), closing`,
      );
      return false;
    } catch (e) {
      if (!this.#closed) this.log(`TLS handshake failed: ${describeError(e)}`);
      return false;
    } finally {
      clock.clearTimer(timer);
    }
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    while (!this.#closed) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch (e) {
        if (!this.ending) this.log(`read failed: ${describeError(e)}`);
        break;
      }
      if (n === null) {
        if (!this.#ending && this.responder.partial) this.log("left in the middle of a PDU");
        break;
      }
      // Once the end is decided, what the router still sends is read and dropped, so that
      // unread input does not turn the close into a reset that loses a last Error Report.
      if (this.#ending) continue;
      const out = this.responder.receive(buf.subarray(0, n));
      for (const ev of out.events) this.log(ev);
      this.#checkDeadlines();
      for (const r of out.send) this.enqueue(r);
      if (out.close) this.#end(null);
      // Backpressure: read the next query only once the answers are written.
      await this.#chain;
    }
  }

  /** After input: the first-query deadline ends with negotiation; a started PDU starts one. */
  #checkDeadlines(): void {
    const { clock, pduMs } = this.#o;
    const r = this.responder;
    if (this.#firstQueryTimer !== undefined && r.version !== undefined) {
      clock.clearTimer(this.#firstQueryTimer);
      this.#firstQueryTimer = undefined;
    }
    const progressed = r.pdus !== this.#pdusSeen;
    this.#pdusSeen = r.pdus;
    if (this.#pduTimer !== undefined && (progressed || !r.partial)) {
      clock.clearTimer(this.#pduTimer);
      this.#pduTimer = undefined;
    }
    if (r.partial && this.#pduTimer === undefined && !r.closed) {
      this.#pduTimer = clock.setTimer(pduMs, () => {
        this.#pduTimer = undefined;
        this.#pduTimedOut();
      });
    }
  }

  #pduTimedOut(): void {
    if (this.ending) return;
    const { pduMs } = this.#o;
    const v = this.responder.version;
    const what = `PDU not completed within ${seconds(pduMs)}`;
    if (v === undefined) {
      this.log(`${what} (--pdu-timeout), no version negotiated, closing`);
      this.close();
      return;
    }
    // A stuck transfer is Transport Error in 8210bis §12; versions 0 and 1 know only Corrupt Data.
    const code = errorCodeFor(v, ErrorCode.TransportError);
    this.log(
      `${what} (--pdu-timeout): sent Error Report code ${code} (${errorName(code)}), closing`,
    );
    this.#end(errorReport(v, code, what));
  }

  /**
   * Shut down for a server stop: a version 2 router gets Cache Shutdown (code 13, 8210bis §12)
   * after what is queued; any router then sees our side close.
   */
  shutdown(): void {
    if (this.ending) return;
    const v = this.responder.version;
    if (v !== undefined && v >= 2) {
      const code = ErrorCode.CacheShutdown;
      this.log(`sent Error Report code ${code} (${errorName(code)}), closing`);
      this.#end(errorReport(v, code, "Cache shutting down"));
    } else {
      this.#end(null);
    }
  }

  /**
   * End the connection gracefully: write `last` (if any) after what is queued, shut our side,
   * and give the router the linger time to close its own before closing.
   */
  #end(last: Uint8Array | null): void {
    if (this.ending) return;
    this.#ending = true;
    if (last) this.enqueue(last);
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) return;
      this.#endTimer = this.#o.clock.setTimer(this.#o.lingerMs, () => this.close());
      try {
        await this.conn.closeWrite();
      } catch {
        this.close();
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const { clock } = this.#o;
    for (const t of [this.#firstQueryTimer, this.#pduTimer, this.#endTimer]) {
      if (t !== undefined) clock.clearTimer(t);
    }
    closeQuietly(this.conn);
  }
}
