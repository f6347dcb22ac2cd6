/**
 * A Node.js duplex stream (an SSH channel, a `node:tls` socket) as an `RtrConn`: the adapter the
 * SSH transport (8210bis §9.1) and the TLS listener with client certificates (8210bis §9.2) share.
 * Chunks pass through as they arrive: no framing and no per-PDU work here, one copy into the
 * caller's buffer; reading pauses the stream when too much is queued (backpressure), and a write
 * resolves only once the stream has taken the bytes, so the caller may reuse its buffer.
 */
import type { Duplex } from "node:stream";
import type { Endpoint, RtrConn } from "./transport.ts";

/** Queued bytes above which the stream is paused until the reader catches up. */
const HIGH_WATER = 1 << 20;

/** Options of `fromNodeStream`. */
export interface NodeStreamOptions {
  localAddr: Endpoint;
  remoteAddr: Endpoint;
  /** Called once, after `close()` or when the stream closes by itself (e.g. end the SSH session). */
  onClose?: (streamClosed: boolean) => void;
  /** Called once before this side ends its writing (e.g. send an SSH exit status). */
  beforeEnd?: () => void;
}

/** Wrap `s` as an `RtrConn`. */
export function fromNodeStream(s: Duplex, o: NodeStreamOptions): RtrConn {
  return new NodeStreamConn(s, o);
}

class NodeStreamConn implements RtrConn {
  readonly localAddr: Endpoint;
  readonly remoteAddr: Endpoint;
  readonly #s: Duplex;
  readonly #onClose?: (streamClosed: boolean) => void;
  #beforeEnd?: () => void;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #ended = false;
  #closed = false;
  #error: unknown = undefined;
  #waiter?: () => void;
  /** Rejecters of writes whose callback has not come yet (a closed stream never calls them). */
  #pending = new Set<(e: Error) => void>();

  constructor(s: Duplex, o: NodeStreamOptions) {
    this.#s = s;
    this.localAddr = o.localAddr;
    this.remoteAddr = o.remoteAddr;
    this.#onClose = o.onClose;
    this.#beforeEnd = o.beforeEnd;
    s.on("data", (c: Uint8Array) => {
      if (c.length === 0) return;
      this.#chunks.push(c);
      this.#queued += c.length;
      if (this.#queued > HIGH_WATER && !this.#paused) {
        this.#paused = true;
        s.pause();
      }
      this.#wake();
    });
    s.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    s.on("error", (e: unknown) => {
      if (this.#error === undefined) this.#error = e;
      this.#ended = true;
      this.#wake();
      this.#failWrites(e instanceof Error ? e : new Error(String(e)));
    });
    s.on("close", () => {
      this.#ended = true;
      this.#wake();
      this.#failWrites(new Deno.errors.BrokenPipe("connection closed"));
      this.#finish(true);
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  #failWrites(e: Error): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const reject of pending) reject(e);
  }

  #ending(): void {
    const f = this.#beforeEnd;
    this.#beforeEnd = undefined;
    try {
      f?.();
    } catch { /* the stream is going anyway */ }
  }

  #finish(streamClosed: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose?.(streamClosed);
  }

  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) {
        const e = this.#error;
        this.#error = null; // reported once; later reads see the end of the stream
        throw e;
      }
      if (this.#ended || this.#closed) return null;
      await new Promise<void>((r) => this.#waiter = r);
    }
    // Fill the buffer from as many queued chunks as fit: fewer awaits per byte.
    let n = 0;
    while (n < buf.length && this.#chunks.length > 0) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, buf.length - n);
      buf.set(k === c.length ? c : c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#queued -= n;
    if (this.#paused && this.#queued <= HIGH_WATER / 2) {
      this.#paused = false;
      this.#s.resume();
    }
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed || this.#s.destroyed || !this.#s.writable) {
      return Promise.reject(new Deno.errors.BrokenPipe("connection closed"));
    }
    return new Promise<number>((resolve, reject) => {
      this.#pending.add(reject);
      this.#s.write(bytes, (err?: Error | null) => {
        if (!this.#pending.delete(reject)) return;
        if (err) reject(err);
        else resolve(bytes.length);
      });
    });
  }

  closeWrite(): Promise<void> {
    if (this.#closed || this.#s.writableEnded) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#s.off("finish", done);
        this.#s.off("close", done);
        resolve();
      };
      this.#s.on("finish", done);
      this.#s.on("close", done);
      this.#ending();
      this.#s.end();
    });
  }

  close(): void {
    this.#ended = true;
    this.#chunks = [];
    this.#queued = 0;
    this.#wake();
    try {
      if (!this.#s.writableEnded) this.#ending();
      this.#s.destroy();
    } catch { /* already gone */ }
    this.#failWrites(new Deno.errors.BrokenPipe("connection closed"));
    this.#finish(false);
  }
}
