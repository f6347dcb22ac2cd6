/**
 * A long-lived RTR session (RFC 8210 §6, 8210bis §6, protocol.md §4): Serial Query at Refresh,
 * Serial Notify answered at once when idle (after the current query otherwise), Cache Reset
 * answered with a Reset Query, reconnection after Retry (with jitter) resuming with a Serial
 * Query, and Expire: data older than Expire without a successful sync is flushed. Time is
 * injected (`Clock`) so that tests never sleep for a protocol timer.
 */
import { RtrError, TransportError } from "./errors.ts";
import { ClientSession, DEFAULT_TIMERS, type ResumeState, type SyncResult } from "./session/mod.ts";
import { connect, type ConnectOptions, errText, type WireTap } from "./transport.ts";
import { Connection } from "./client.ts";
import { MAX_VERSION } from "./wire/mod.ts";
import type { PeerError } from "./errors.ts";

/** Time source and sleeping, injectable for tests. */
export interface Clock {
  now(): number;
  /** Resolve after `ms` or when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** Events a follower reports. */
export type FollowEvent =
  | { kind: "connected"; host: string; port: number; time: number }
  | {
    kind: "commit";
    result: SyncResult;
    time: number;
    durationMs: number;
    bytes: number;
    pdus: number;
  }
  | { kind: "cacheReset"; time: number }
  | { kind: "notify"; serial: number; sessionId: number; time: number }
  | { kind: "disconnected"; reason: string; time: number; retryInSec: number }
  | { kind: "error"; code?: number; message: string; fatal: boolean; time: number }
  | { kind: "expired"; time: number; lastSuccess: number; dropped: SyncResult["table"] }
  | { kind: "warning"; message: string; time: number };

/** Options of a follower. */
export interface FollowOptions extends ConnectOptions {
  version?: number;
  /** Seconds the cache may stay silent: while connecting and while a response arrives. */
  timeoutSec?: number;
  resume?: ResumeState & { lastSuccess?: number };
  startFrom?: { sessionId: number; serial: number };
  tap?: WireTap;
  clock?: Clock;
  signal?: AbortSignal;
  /** Called for each event; awaited (so writes finish before the next step). */
  onEvent: (ev: FollowEvent) => Promise<void> | void;
  /** Randomness for jitter (tests pass a constant). */
  random?: () => number;
}

/** An error thrown by the caller's event handler: it ends the follower. */
class HandlerFailed extends Error {
  constructor(cause: unknown) {
    super("event handler failed", { cause });
  }
}

/** Run until `signal` aborts. Resolves when stopped; rejects when `onEvent` throws. */
export async function follow(opts: FollowOptions): Promise<void> {
  try {
    await followLoop(opts);
  } catch (e) {
    if (e instanceof HandlerFailed) throw e.cause;
    throw e;
  }
}

async function followLoop(opts: FollowOptions): Promise<void> {
  const clock = opts.clock ?? realClock;
  const random = opts.random ?? Math.random;
  const signal = opts.signal;
  let version = opts.resume?.version ?? opts.version ?? MAX_VERSION;
  let session = new ClientSession({ version, resume: opts.resume, startFrom: opts.startFrom });
  let lastSuccess: number | null = opts.resume?.lastSuccess ?? (opts.resume ? clock.now() : null);
  let everSynced = opts.resume !== undefined;
  const timeoutMs = (opts.timeoutSec ?? 30) * 1000;
  const emit = async (ev: FollowEvent) => {
    try {
      await opts.onEvent(ev);
    } catch (e) {
      throw new HandlerFailed(e);
    }
  };

  /** Flush when Expire has passed since the last success; true when it did. */
  const checkExpire = async (): Promise<boolean> => {
    if (lastSuccess === null) return false;
    if (clock.now() - lastSuccess < session.timers.expire * 1000) return false;
    const dropped = session.flush();
    await emit({ kind: "expired", time: clock.now(), lastSuccess, dropped });
    lastSuccess = null;
    return true;
  };

  /** Sleep up to `ms`, waking early to flush at Expire. */
  const waitRetry = async (ms: number) => {
    const until = clock.now() + ms;
    while (!signal?.aborted && clock.now() < until) {
      let step = until - clock.now();
      if (lastSuccess !== null) {
        const exp = lastSuccess + session.timers.expire * 1000 - clock.now();
        if (exp > 0) step = Math.min(step, exp);
      }
      await clock.sleep(Math.max(1, step), signal);
      await checkExpire();
    }
  };

  const retryMs = () => {
    // RFC 8210 §6: never synced → the default Retry; jitter ±10% so caches are not hammered.
    const base = (everSynced ? session.timers.retry : DEFAULT_TIMERS.retry) * 1000;
    return Math.round(base * (0.9 + 0.2 * random()));
  };

  let immediate = false;
  while (!signal?.aborted) {
    await checkExpire();
    let conn: Connection;
    try {
      conn = new Connection(await connect({ ...opts, timeoutMs }), opts.tap);
    } catch (e) {
      const ms = retryMs();
      await emit({
        kind: "disconnected",
        reason: errText(e instanceof RtrError ? e.message : e),
        time: clock.now(),
        retryInSec: ms / 1000,
      });
      await waitRetry(ms);
      continue;
    }
    await emit({ kind: "connected", host: opts.host, port: opts.port, time: clock.now() });
    const onAbort = () => conn.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    let reason = "connection closed by the cache";
    let downgradeTo: number | null = null;
    try {
      let queryStarted = clock.now();
      let lastActivity = queryStarted;
      await conn.send(session.query());
      const events = conn.events(session, () => lastActivity = clock.now());
      let pending = events.next();
      while (!signal?.aborted) {
        // Waiting for a response: until the cache has been silent for the timeout. Idle: until
        // Refresh (or a Notify).
        const waitMs = session.busy
          ? Math.max(queryStarted, lastActivity) + timeoutMs - clock.now()
          : session.timers.refresh * 1000;
        const timer = new AbortController();
        const slept = clock.sleep(
          Math.max(0, waitMs),
          AbortSignal.any([timer.signal, ...(signal ? [signal] : [])]),
        )
          .then(() => "timer" as const);
        const r = await Promise.race([pending, slept]);
        timer.abort();
        if (r === "timer") {
          if (signal?.aborted) break;
          if (session.busy) {
            if (clock.now() - Math.max(queryStarted, lastActivity) < timeoutMs) continue;
            reason = `timed out after ${timeoutMs / 1000} s waiting for End of Data`;
            throw new TransportError(reason);
          }
          // Refresh: poll (after a flush, should Expire have passed meanwhile, a Reset Query).
          await checkExpire();
          queryStarted = clock.now();
          await conn.send(session.query());
          continue;
        }
        pending = events.next();
        if (r.done) break;
        const ev = r.value;
        switch (ev.kind) {
          case "commit": {
            lastSuccess = clock.now();
            everSynced = true;
            version = ev.result.version;
            for (const w of ev.result.warnings) {
              await emit({ kind: "warning", message: w, time: clock.now() });
            }
            await emit({
              kind: "commit",
              result: ev.result,
              time: clock.now(),
              durationMs: clock.now() - queryStarted,
              bytes: conn.framer.bytes,
              pdus: conn.framer.pdus,
            });
            if (session.takePendingNotify()) {
              queryStarted = clock.now();
              await conn.send(session.query());
            }
            break;
          }
          case "cacheReset":
            await emit({ kind: "cacheReset", time: clock.now() });
            queryStarted = clock.now();
            await conn.send(ev.query);
            break;
          case "notify":
            await emit({
              kind: "notify",
              serial: ev.serial,
              sessionId: ev.sessionId,
              time: clock.now(),
            });
            queryStarted = clock.now();
            await conn.send(ev.query);
            break;
          case "downgrade":
            downgradeTo = ev.version;
            reason = ev.reason;
            break;
          case "fatal":
            if (ev.report) await conn.sendQuietly(ev.report);
            await emit({
              kind: "error",
              code: "code" in ev.error
                ? (ev.error as PeerError).code
                : (ev.error as { errorCode?: number }).errorCode,
              message: ev.error.message,
              fatal: true,
              time: clock.now(),
            });
            // 8210bis: after a fatal error the session's data is not to be trusted; start over
            // with a Reset Query on the next connection (the table stays for diffing).
            session.forgetSession();
            reason = ev.error.message;
            break;
          case "peerError": {
            await emit({
              kind: "error",
              code: ev.error.code,
              message: ev.error.message,
              fatal: false,
              time: clock.now(),
            });
            // No Data Available / Cache Restart: ask again after Retry on the same connection.
            await waitRetry(Math.max(60_000, retryMs()));
            queryStarted = clock.now();
            if (!signal?.aborted) await conn.send(session.query());
            break;
          }
          case "eof":
            if (ev.error) reason = errText(ev.error);
            if (conn.framer.bytes === 0 && !everSynced && version > 0) downgradeTo = version - 1;
            break;
        }
        if (ev.kind === "fatal" || ev.kind === "downgrade" || ev.kind === "eof") break;
      }
    } catch (e) {
      if (e instanceof HandlerFailed) throw e.cause;
      if (!signal?.aborted) reason = e instanceof RtrError ? e.message : errText(e);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      conn.close();
      session.disconnected();
    }
    if (signal?.aborted) break;
    if (downgradeTo !== null && downgradeTo < version) {
      version = downgradeTo;
      session = session.withVersion(version);
      immediate = true;
    }
    const ms = immediate ? 0 : retryMs();
    await emit({ kind: "disconnected", reason, time: clock.now(), retryInSec: ms / 1000 });
    if (!immediate) await waitRetry(ms);
    immediate = false;
  }
}
