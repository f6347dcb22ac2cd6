/**
 * Drives a ClientSession over a transport for one synchronisation (RFC 8210 §5, 8210bis §5):
 * connect, send the query, pass what the cache sends through the PDU-decoding stream into the
 * session, and carry out the session's events. Version negotiation follows the one policy of
 * lib/session/negotiation.ts (8210bis §7); the wait for End of Data is bounded by silence.
 */
import { RtrError, TransportError } from "./errors.ts";
import {
  ClientSession,
  type ResumeState,
  type SessionEvent,
  type SyncResult,
} from "./session/mod.ts";
import { VersionNegotiation } from "./session/negotiation.ts";
import { receiveBatch } from "./session/receive_batch.ts";
import { encodePdu, type Pdu } from "./wire/mod.ts";
import { type PduBatch, PduDecodeStream } from "./wire/decode_stream.ts";
import {
  ChunkPool,
  connect,
  type ConnectOptions,
  connReadable,
  type Dialer,
  errText,
  type RtrConn,
  type WireTap,
} from "./transport.ts";

/** Progress figures of a running sync. */
export interface Progress {
  /** PDUs received so far. */
  pdus: number;
  /** Bytes received so far. */
  bytes: number;
  /** Milliseconds since the connection opened. */
  elapsedMs: number;
}

/** Options of `syncOnce`. */
export interface SyncOptions extends ConnectOptions {
  /** Version of the first query (default 2). */
  version?: number;
  /** Seconds the cache may stay silent: while connecting and while the response arrives (default 30). */
  timeoutSec?: number;
  /** Records the bytes of the connection (raw dump, pcap). */
  tap?: WireTap;
  /** Called about four times a second during a sync. */
  onProgress?: (p: Progress) => void;
  /** Diagnostics (negotiation steps, warnings). */
  log?: (line: string) => void;
  /** Said on stderr whatever the verbosity: every version downgrade. */
  notice?: (line: string) => void;
  /** Ask for the delta since this serial of this session (Serial Query, no table of ours). */
  startFrom?: { sessionId: number; serial: number };
  /** Resume from a stored state with a Serial Query. */
  resume?: ResumeState;
  /** Opens the connection (default TCP or TLS). */
  dialer?: Dialer;
  /** Caps on one response (records, payload bytes); default: the session's. */
  maxResponseRecords?: number;
  /** Bytes one response may hold before End of Data (default: generous, see ClientSession). */
  maxResponseBytes?: number;
}

/** Result of `syncOnce`. */
export interface SyncOutcome {
  /** The committed response (absent when the cache answered Cache Reset to `startFrom`). */
  result?: SyncResult;
  /** True when the cache answered a Serial Query with Cache Reset. */
  cacheReset: boolean;
  /** The protocol version the sync ended at. */
  version: number;
  /** The version negotiation started from, when it had to go lower. */
  downgradedFrom?: number;
  /** PDUs received. */
  pdus: number;
  /** Bytes received. */
  bytes: number;
  /** Milliseconds the sync took. */
  elapsedMs: number;
}

/** One transport connection carrying one session: sends PDUs and yields decoded batches. */
export class Connection {
  readonly conn: RtrConn;
  readonly tap?: WireTap;
  readonly decoder = new PduDecodeStream();
  readonly #reader: ReadableStreamDefaultReader<PduBatch>;
  readonly #pool = new ChunkPool();
  /** The batch handed out last: its buffer goes back to the pool on the next read. */
  #last: PduBatch | null = null;
  #closed = false;
  /** Set when a deadline closed the connection. */
  timedOut = false;

  constructor(conn: RtrConn, tap?: WireTap) {
    this.conn = conn;
    this.tap = tap;
    if (tap?.connected) {
      tap.connected(
        { transport: "tcp", ...conn.localAddr },
        { transport: "tcp", ...conn.remoteAddr },
        Date.now(),
      );
    }
    this.#reader = connReadable(conn, tap, this.#pool).pipeThrough(this.decoder).getReader();
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

  /**
   * The next batch of PDUs; `done` at end of stream, `error` when the connection broke. The
   * previous batch's bytes are reused from here on: finish with a batch before the next call.
   */
  async next(): Promise<{ batch?: PduBatch; done: boolean; error?: unknown }> {
    if (this.#last) {
      this.#pool.give(this.#last.bytes);
      this.#last = null;
    }
    try {
      const r = await this.#reader.read();
      if (r.done) return { done: true };
      this.#last = r.value;
      return { batch: r.value, done: false };
    } catch (e) {
      return { done: true, error: e };
    }
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.decoder.bytes;
  }

  /** PDUs received so far. */
  get pdus(): number {
    return this.decoder.pdus;
  }

  /** Close once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.tap?.closed?.(Date.now());
    this.#reader.cancel().catch(() => {});
    try {
      this.conn.close();
    } catch { /* closed */ }
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed;
  }
}

/** Connect, query, and return the first committed response; negotiates the version. */
export async function syncOnce(opts: SyncOptions): Promise<SyncOutcome> {
  const timeoutMs = (opts.timeoutSec ?? 30) * 1000;
  const log = opts.log ?? (() => {});
  const notice = opts.notice ?? log;
  const dial = opts.dialer ?? connect;
  const neg = new VersionNegotiation(opts.version, opts.resume?.version);
  let version = opts.resume?.version ?? neg.version;
  const started = Date.now();
  let pdus = 0, bytes = 0;
  const events: SessionEvent[] = [];
  // Each step either ends the sync or moves the negotiation on; bounded by the versions.
  for (let attempt = 0; attempt <= 2 * (neg.highest + 2); attempt++) {
    const session = new ClientSession({
      version,
      startFrom: opts.startFrom,
      resume: opts.resume && opts.resume.version === version ? opts.resume : undefined,
      maxResponseRecords: opts.maxResponseRecords,
      maxResponseBytes: opts.maxResponseBytes,
    });
    const conn = new Connection(await dial({ ...opts, timeoutMs }), opts.tap);
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
          pdus: pdus + conn.pdus,
          bytes: bytes + conn.bytes,
          elapsedMs: now - started,
        });
      }
    };
    const outcome = (result: SyncResult | undefined, v: number): SyncOutcome => ({
      result,
      cacheReset: result === undefined,
      version: v,
      downgradedFrom: neg.takeDowngrade(v),
      pdus: pdus + conn.pdus,
      bytes: bytes + conn.bytes,
      elapsedMs: Date.now() - started,
    });
    let next: number | null = null;
    try {
      await conn.send(session.query());
      reading: while (true) {
        const r = await conn.next();
        if (r.done) {
          if (conn.timedOut) {
            throw new TransportError(
              `Timed out after ${
                timeoutMs / 1000
              } s waiting for End of Data from ${opts.host}:${opts.port} (${conn.pdus} PDUs received)`,
            );
          }
          // The transport's own diagnosis (e.g. TLS bytes on a plain connection) is the answer.
          if (r.error instanceof TransportError) throw r.error;
          const why = r.error ? `: ${errText(r.error)}` : "";
          if (conn.bytes === 0) {
            const step = neg.hungUp(version);
            if (step.kind === "reconnect") {
              (step.downgrade ? notice : log)(step.message);
              next = step.version;
              break;
            }
          }
          if (conn.decoder.buffered > 0) {
            throw new TransportError(
              `Cache closed the connection in the middle of a PDU (${conn.pdus} PDUs received)${why}`,
            );
          }
          throw new TransportError(
            `Cache closed the connection before End of Data (${conn.pdus} PDUs received)${why}`,
          );
        }
        progress();
        events.length = 0;
        receiveBatch(session, r.batch!, events);
        for (const ev of events) {
          switch (ev.kind) {
            case "commit": {
              const v = ev.result.version;
              if (v < version) {
                notice(
                  `cache answered a version ${version} query at version ${v}; using version ${v}`,
                );
              }
              neg.answered(version, v);
              return outcome(ev.result, v);
            }
            case "cacheReset":
              if (opts.startFrom) return outcome(undefined, session.version ?? version);
              log("cache answered Cache Reset; sending Reset Query");
              await conn.send(ev.query);
              break;
            case "notify":
              break;
            case "downgrade": {
              const step = neg.unsupported(version, ev.version, ev.reason);
              if (step.kind !== "reconnect") throw new RtrError(step.message);
              notice(step.message);
              next = step.version;
              break reading;
            }
            case "fatal":
              if (ev.report) await conn.sendQuietly(ev.report);
              throw ev.error;
            case "peerError":
              throw ev.error;
          }
        }
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
      pdus += conn.pdus;
      bytes += conn.bytes;
      conn.close();
    }
    version = next!;
  }
  throw new RtrError("Version negotiation failed: no common protocol version");
}
