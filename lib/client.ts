/**
 * Drives a ClientSession over a transport: connect, send the query, frame and decode what the
 * cache sends, and carry out the session's events (protocol.md §3–§4). `syncOnce` performs one
 * complete synchronisation with version negotiation (Error Report 4, a lower-version answer, a
 * cache that hangs up before answering) and a bounded wait for End of Data.
 */
import { DecodeError, RtrError, TransportError } from "./errors.ts";
import {
  ClientSession,
  type ResumeState,
  type SessionEvent,
  type SyncResult,
} from "./session/mod.ts";
import { encodePdu, MAX_VERSION, type Pdu, PduFramer } from "./wire/mod.ts";
import { connect, type ConnectOptions, errText, type WireTap } from "./transport.ts";

/** Progress figures of a running sync. */
export interface Progress {
  pdus: number;
  bytes: number;
  elapsedMs: number;
}

/** Options of `syncOnce`. */
export interface SyncOptions extends ConnectOptions {
  /** Version of the first query (default 2). */
  version?: number;
  /** Seconds the cache may stay silent: while connecting and while the response arrives (default 30). */
  timeoutSec?: number;
  tap?: WireTap;
  /** Called about four times a second during a sync. */
  onProgress?: (p: Progress) => void;
  /** Diagnostics (negotiation steps, warnings). */
  log?: (line: string) => void;
  /** Ask for the delta since this serial of this session (Serial Query, no table of ours). */
  startFrom?: { sessionId: number; serial: number };
  /** Resume from a stored state with a Serial Query. */
  resume?: ResumeState;
}

/** Result of `syncOnce`. */
export interface SyncOutcome {
  /** The committed response (absent when the cache answered Cache Reset to `startFrom`). */
  result?: SyncResult;
  /** True when the cache answered a Serial Query with Cache Reset. */
  cacheReset: boolean;
  version: number;
  pdus: number;
  bytes: number;
  elapsedMs: number;
}

/** One transport connection carrying one session. */
export class Connection {
  readonly conn: Deno.Conn;
  readonly tap?: WireTap;
  readonly framer = new PduFramer();
  #closed = false;
  /** Set when a deadline closed the connection. */
  timedOut = false;

  constructor(conn: Deno.Conn, tap?: WireTap) {
    this.conn = conn;
    this.tap = tap;
    if (tap?.connected) {
      tap.connected(conn.localAddr as Deno.NetAddr, conn.remoteAddr as Deno.NetAddr, Date.now());
    }
  }

  /** Send one PDU. */
  async send(pdu: Pdu): Promise<void> {
    const bytes = encodePdu(pdu);
    this.tap?.sent?.(bytes, Date.now());
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Send an Error Report on a failing session, ignoring transport errors. */
  async sendQuietly(pdu: Pdu): Promise<void> {
    try {
      await this.send(pdu);
    } catch { /* the peer may be gone already */ }
  }

  /** Close once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.tap?.closed?.(Date.now());
    try {
      this.conn.close();
    } catch { /* closed */ }
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Read, frame and feed `session`; yields every event that is not `none`, then
   * `{kind: "eof"}` when the peer closes. A decode failure yields the session's fatal event.
   */
  async *events(
    session: ClientSession,
    onChunk?: () => void,
  ): AsyncGenerator<SessionEvent | { kind: "eof"; error?: unknown }> {
    const buf = new Uint8Array(1 << 18);
    const queue: SessionEvent[] = [];
    let stop = false;
    const framer = this.framer;
    const raw = () => framer.raw();
    // Plain prefix PDUs go straight from the socket buffer into the session's staging.
    framer.prefixHook = (b, v, o) => !stop && session.stagePrefixBytes(b, v, o);
    const onPdu = (pdu: Pdu) => {
      if (stop) return;
      const ev = session.receive(pdu, raw);
      if (ev.kind !== "none") {
        queue.push(ev);
        if (ev.kind === "fatal") stop = true;
      }
    };
    while (true) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch (e) {
        yield { kind: "eof", error: e };
        return;
      }
      if (n === null) {
        yield { kind: "eof" };
        return;
      }
      const chunk = buf.subarray(0, n);
      this.tap?.received(chunk, Date.now());
      try {
        this.framer.push(chunk, onPdu);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        if (!stop) queue.push(session.decodeFailed(e));
        stop = true;
      }
      onChunk?.();
      while (queue.length > 0) yield queue.shift()!;
      if (stop) return;
    }
  }
}

/** Connect, query, and return the first committed response; negotiates the version. */
export async function syncOnce(opts: SyncOptions): Promise<SyncOutcome> {
  const timeoutMs = (opts.timeoutSec ?? 30) * 1000;
  const log = opts.log ?? (() => {});
  let version = opts.resume?.version ?? opts.version ?? MAX_VERSION;
  const tried = new Set<number>();
  const started = Date.now();
  let pdus = 0, bytes = 0;
  for (let attempt = 0; attempt <= MAX_VERSION + 1; attempt++) {
    tried.add(version);
    const session = new ClientSession({
      version,
      startFrom: opts.startFrom,
      resume: opts.resume && opts.resume.version === version ? opts.resume : undefined,
    });
    const conn = new Connection(await connect({ ...opts, timeoutMs }), opts.tap);
    // The timeout bounds silence, not the whole transfer: a big table on a slow link that keeps
    // arriving is fine, a cache that stops sending is not.
    const expire = () => {
      conn.timedOut = true;
      conn.close();
    };
    let deadline = setTimeout(expire, timeoutMs);
    let lastProgress = Date.now();
    const progress = () => {
      clearTimeout(deadline);
      deadline = setTimeout(expire, timeoutMs);
      const now = Date.now();
      if (opts.onProgress && now - lastProgress >= 250) {
        lastProgress = now;
        opts.onProgress({
          pdus: pdus + conn.framer.pdus,
          bytes: bytes + conn.framer.bytes,
          elapsedMs: now - started,
        });
      }
    };
    let next: number | null = null;
    try {
      await conn.send(session.query());
      for await (const ev of conn.events(session, progress)) {
        switch (ev.kind) {
          case "commit":
            return {
              result: ev.result,
              cacheReset: false,
              version: ev.result.version,
              pdus: pdus + conn.framer.pdus,
              bytes: bytes + conn.framer.bytes,
              elapsedMs: Date.now() - started,
            };
          case "cacheReset":
            if (opts.startFrom) {
              return {
                cacheReset: true,
                version: session.version ?? version,
                pdus: pdus + conn.framer.pdus,
                bytes: bytes + conn.framer.bytes,
                elapsedMs: Date.now() - started,
              };
            }
            log("cache answered Cache Reset; sending Reset Query");
            await conn.send(ev.query);
            break;
          case "notify":
            break;
          case "downgrade":
            if (tried.has(ev.version) || ev.version > MAX_VERSION) {
              throw new RtrError(`Version negotiation failed: ${ev.reason}`);
            }
            log(
              `cache does not speak version ${version} (${ev.reason}); retrying at version ${ev.version}`,
            );
            next = ev.version;
            break;
          case "fatal":
            if (ev.report) await conn.sendQuietly(ev.report);
            throw ev.error;
          case "peerError":
            throw ev.error;
          case "eof": {
            if (conn.timedOut) {
              throw new TransportError(
                `Timed out after ${
                  timeoutMs / 1000
                } s waiting for End of Data from ${opts.host}:${opts.port} (${conn.framer.pdus} PDUs received)`,
              );
            }
            const why = ev.error ? `: ${errText(ev.error)}` : "";
            if (conn.framer.bytes === 0 && version > 0 && !tried.has(version - 1)) {
              // RFC 8210 §7 case (a): a cache that hangs up on an unknown version.
              log(
                `cache closed the connection without answering version ${version}${why}; retrying at version ${
                  version - 1
                }`,
              );
              next = version - 1;
              break;
            }
            if (conn.framer.buffered > 0) {
              throw new TransportError(
                `Cache closed the connection in the middle of a PDU (${conn.framer.pdus} PDUs received)${why}`,
              );
            }
            throw new TransportError(
              `Cache closed the connection before End of Data (${conn.framer.pdus} PDUs received)${why}`,
            );
          }
        }
        if (next !== null) break;
      }
    } catch (e) {
      if (conn.timedOut && !(e instanceof RtrError)) {
        throw new TransportError(
          `Timed out after ${timeoutMs / 1000} s talking to ${opts.host}:${opts.port}`,
        );
      }
      if (e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset) {
        throw new TransportError(`Connection to ${opts.host}:${opts.port} lost: ${errText(e)}`);
      }
      throw e;
    } finally {
      clearTimeout(deadline);
      pdus += conn.framer.pdus;
      bytes += conn.framer.bytes;
      conn.close();
    }
    if (next === null) break;
    version = next;
  }
  throw new RtrError("Version negotiation failed: no common protocol version");
}
