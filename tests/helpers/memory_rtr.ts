/**
 * In-memory RTR plumbing for driver tests: a listener fed by the test (each `connect` gives the
 * far end of a new memory pair), a network of such listeners as a follower's dialer, a test
 * router that sends queries and reads PDUs, and a follower clock in virtual time. Every real
 * wait is bounded.
 */
import { TransportError } from "../../lib/errors.ts";
import type { Clock } from "../../lib/clock.ts";
import { type Dialer, memoryPair, type RtrConn, type RtrListener } from "../../lib/transport.ts";
import { formatPrefix } from "../../lib/model/mod.ts";
import { encodePdu, type Pdu, PduFramer, PduType } from "../../lib/wire/mod.ts";
import { assertOk } from "./assert.ts";

/** A listener whose connections the test makes. */
export interface MemoryListener extends RtrListener {
  /** A new connection: the server side is accepted, the client side returned. */
  connect(): RtrConn;
  readonly closed: boolean;
}

/** A memory listener at `hostname:port` (clients get local ports from 40000 up). */
export function memoryListener(hostname = "127.0.0.1", port = 8282): MemoryListener {
  const queue: RtrConn[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let local = 40000;
  return {
    addr: { hostname, port },
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      wake?.();
    },
    connect() {
      const [client, server] = memoryPair({ hostname: "127.0.0.1", port: local++ }, {
        hostname,
        port,
      });
      queue.push(server);
      wake?.();
      return client;
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        while (queue.length === 0 && !closed) await new Promise<void>((r) => wake = r);
        if (closed) return;
        yield queue.shift()!;
      }
    },
  };
}

/** Listeners by `host:port`, and a dialer that reaches them (refused when none listens). */
export class MemoryNetwork {
  readonly #at = new Map<string, MemoryListener>();

  /** A new listener at `name` (`host:port`), replacing a closed one. */
  listen(name: string): MemoryListener {
    const [host, port] = [name.slice(0, name.lastIndexOf(":")), Number(name.split(":").pop())];
    const l = memoryListener(host, port);
    this.#at.set(name, l);
    return l;
  }

  /** The dialer for followers. */
  readonly dialer: Dialer = (o) => {
    const l = this.#at.get(`${o.host}:${o.port}`);
    if (!l || l.closed) {
      return Promise.reject(
        new TransportError(`Cannot connect to ${o.host}:${o.port}: connection refused`),
      );
    }
    return Promise.resolve(l.connect());
  };
}

/**
 * Follower time: a timer of `ms` advances virtual time by `ms` when it fires, after a real pause
 * of ms/1000 (1 to 2000 ms), so that real I/O already due wins over a long timer, as it would.
 */
export function virtualFollowClock(start = 1_000_000): Clock & { t: number } {
  const c = {
    t: start,
    now: () => c.t,
    setTimer: (ms: number, fn: () => void) =>
      setTimeout(() => {
        c.t += ms;
        fn();
      }, Math.min(2000, Math.max(1, ms / 1000))),
    clearTimer: (h: unknown) => clearTimeout(h as number),
  };
  return c;
}

/** A test router: sends queries, reads PDUs (every wait bounded in real time). */
export class TestRouter {
  readonly conn: RtrConn;
  readonly #framer = new PduFramer();
  readonly #pdus: Pdu[] = [];
  readonly #buf = new Uint8Array(64 * 1024);
  constructor(conn: RtrConn) {
    this.conn = conn;
  }

  send(pdu: Pdu): Promise<number> {
    return this.conn.write(encodePdu(pdu));
  }

  /** The next PDU, or null at end of stream. */
  async next(ms = 10_000): Promise<Pdu | null> {
    while (this.#pdus.length === 0) {
      const n = await bounded(this.conn.read(this.#buf), "a PDU from the server", ms);
      if (n === null) return null;
      this.#framer.push(this.#buf.subarray(0, n), (p) => this.#pdus.push(p));
    }
    return this.#pdus.shift()!;
  }

  /** PDUs up to and including End of Data, Cache Reset or Error Report. */
  async response(): Promise<Pdu[]> {
    const out: Pdu[] = [];
    while (true) {
      const p = await this.next();
      if (!p) throw new Error(`stream ended after ${out.length} PDUs`);
      out.push(p);
      if (p.type === PduType.EndOfData || p.type === PduType.CacheReset) return out;
      if (p.type === PduType.ErrorReport) return out;
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** Resolve `p` or fail after `ms` of real time. */
export async function bounded<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wait (bounded in real time, yielding to the event loop) until `cond` holds. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  assertOk(cond(), `timed out waiting for ${what}`);
}

/** Announced (+) and withdrawn (-) VRPs of PDUs, sorted: `+192.0.2.0/24-24 AS64496`. */
export function payloadLines(pdus: Pdu[]): string[] {
  const out: string[] = [];
  for (const p of pdus) {
    if (p.type !== 4 && p.type !== 6) continue;
    const prefix = formatPrefix(p.type === 4 ? 4 : 6, p.addr, p.prefixLength);
    out.push(`${p.flags & 1 ? "+" : "-"}${prefix}-${p.maxLength} AS${p.asn}`);
  }
  return out.sort();
}
