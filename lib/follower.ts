/**
 * The long-lived driver (RFC 8210 §6, 8210bis §6): carries out what the follow machine
 * (lib/session/follow_machine.ts) decides — dial, send, close, wait — over the transport
 * interface, and hands its events to the caller. All timing lives in the machine; time is
 * injected (`Clock`) and so is the dialer, so that tests run over an in-memory pair and never
 * sleep for a protocol timer.
 */
import { RtrError } from "./errors.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";
import type { ResumeState } from "./session/mod.ts";
import { type FollowAction, type FollowEvent, FollowMachine } from "./session/follow_machine.ts";
import { connect, type ConnectOptions, type Dialer, errText, type WireTap } from "./transport.ts";
import { Connection } from "./client.ts";
import type { PduBatch } from "./wire/decode_stream.ts";

export type { FollowEvent } from "./session/follow_machine.ts";
export { type Clock, systemClock } from "./clock.ts";

/** Options of a follower. */
export interface FollowOptions extends ConnectOptions {
  /** Version of the first query (default 2). */
  version?: number;
  /** Seconds the cache may stay silent: while connecting and while a response arrives. */
  timeoutSec?: number;
  /** Seconds to wait after a failed connect or query (overrides the cache's Retry). */
  retrySec?: number;
  /** A stored session to resume with a Serial Query. */
  resume?: ResumeState & { lastSuccess?: number };
  /** Ask for the delta since this serial of this session (no table of ours). */
  startFrom?: { sessionId: number; serial: number };
  /** Records the bytes of each connection (raw dump, pcap). */
  tap?: WireTap;
  /** Time and timers (default the system clock). */
  clock?: Clock;
  /** Stops the follower when aborted. */
  signal?: AbortSignal;
  /** Opens connections (default TCP or TLS). */
  dialer?: Dialer;
  /** Called for each event; awaited (so writes finish before the next step). */
  onEvent: (ev: FollowEvent) => Promise<void> | void;
  /** Randomness for jitter (tests pass a constant). */
  random?: () => number;
  /** Caps on one response (records, payload bytes); default: the session's. */
  maxResponseRecords?: number;
  /** Bytes one response may hold before End of Data. */
  maxResponseBytes?: number;
}

type Read = { batch?: PduBatch; done: boolean; error?: unknown };

/** The longest single sleep (setTimeout's limit); a longer wait just sleeps again. */
const MAX_SLEEP_MS = 2 ** 31 - 1;

/** Run until `signal` aborts. Resolves when stopped; rejects when `onEvent` throws. */
export async function follow(opts: FollowOptions): Promise<void> {
  const clock = opts.clock ?? systemClock;
  const signal = opts.signal;
  const dial = opts.dialer ?? connect;
  const timeoutMs = (opts.timeoutSec ?? 30) * 1000;
  const machine = new FollowMachine({
    version: opts.version,
    resume: opts.resume,
    startFrom: opts.startFrom,
    timeoutMs,
    retrySec: opts.retrySec,
    random: opts.random,
    maxResponseRecords: opts.maxResponseRecords,
    maxResponseBytes: opts.maxResponseBytes,
  });
  let conn: Connection | null = null;
  let pending: Promise<Read> | null = null;
  let timerAt = Infinity;
  let dialAt: number | null = null;
  const closeConn = () => {
    conn?.close();
    conn = null;
    pending = null;
  };
  const onAbort = () => closeConn();
  signal?.addEventListener("abort", onAbort, { once: true });

  /** A write failed: the connection is gone (reported to the machine after `carry`). */
  let broken: string | null = null;
  const carry = async (actions: FollowAction[]): Promise<void> => {
    for (const a of actions) {
      switch (a.kind) {
        case "send":
          if (conn && broken === null) {
            try {
              await conn.send(a.pdu);
            } catch (e) {
              broken = errText(e);
            }
          }
          break;
        case "emit":
          await opts.onEvent(a.event);
          break;
        case "commit":
          await opts.onEvent(a.event);
          break;
        case "setTimer":
          timerAt = a.at;
          break;
        case "close":
          if (conn && a.report) await conn.sendQuietly(a.report);
          closeConn();
          break;
        case "reconnectAt":
          dialAt = a.at;
          break;
      }
    }
    if (broken !== null && conn !== null) {
      const why = broken;
      broken = null;
      closeConn();
      await carry(machine.closed(clock.now(), why));
    }
    broken = null;
  };

  try {
    await carry(machine.start(clock.now()));
    while (!signal?.aborted) {
      if (conn === null) {
        const now = clock.now();
        if (dialAt !== null && now >= dialAt) {
          dialAt = null;
          let c: Connection;
          try {
            c = new Connection(await dial({ ...opts, timeoutMs }), opts.tap);
          } catch (e) {
            if (signal?.aborted) break;
            await carry(
              machine.connectFailed(clock.now(), errText(e instanceof RtrError ? e.message : e)),
            );
            continue;
          }
          if (signal?.aborted) {
            c.close();
            break;
          }
          conn = c;
          await carry(machine.connected(clock.now()));
          continue;
        }
        const wake = Math.min(timerAt, dialAt ?? Infinity);
        await sleep(clock, Math.min(MAX_SLEEP_MS, Math.max(0, wake - now)), signal);
        if (signal?.aborted) break;
        if (clock.now() >= timerAt) await carry(machine.tick(clock.now()));
        continue;
      }
      const c: Connection = conn;
      pending ??= c.next();
      const timer = new AbortController();
      const slept = sleep(
        clock,
        Math.min(MAX_SLEEP_MS, Math.max(0, timerAt - clock.now())),
        signal ? AbortSignal.any([timer.signal, signal]) : timer.signal,
      ).then(() => null);
      const r = await Promise.race([pending, slept]);
      timer.abort();
      if (signal?.aborted) break;
      if (r === null) {
        if (clock.now() >= timerAt) await carry(machine.tick(clock.now()));
        continue;
      }
      pending = null;
      if (r.done) {
        if (conn === c) {
          conn = null;
          c.close();
          const why = r.error ? errText(r.error) : undefined;
          await carry(machine.closed(clock.now(), why));
        }
        continue;
      }
      const b = r.batch!;
      await carry(
        b.count > 0 || b.error
          ? machine.received(b, b.bytes.length, clock.now())
          : machine.activity(b.bytes.length, clock.now()),
      );
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    closeConn();
  }
}
