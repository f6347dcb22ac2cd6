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
  /** Index of the first unread chunk in #chunks. */
  #head = 0;
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
      if (this.#error === undefined && !this.#ended) this.#error = e ?? new Error("stream error");
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
    while (this.#head === this.#chunks.length) {
      if (this.#error !== undefined) {
        const e = this.#error;
        this.#error = undefined;
        this.#ended = true; // reported once; later reads see the end of the stream
        throw e;
      }
      if (this.#ended || this.#closed) return null;
      await new Promise<void>((r) => this.#waiter = r);
    }
    // Fill the buffer from as many queued chunks as fit: fewer awaits per byte. A peer that
    // writes one small PDU per SSH packet queues thousands of chunks: walk them with an index
    // (shifting the array would cost its length per chunk).
    const chunks = this.#chunks;
    let n = 0, head = this.#head;
    while (n < buf.length && head < chunks.length) {
      const c = chunks[head];
      const k = Math.min(c.length, buf.length - n);
      if (k === c.length) {
        buf.set(c, n);
        head++;
      } else {
        buf.set(c.subarray(0, k), n);
        chunks[head] = c.subarray(k);
      }
      n += k;
    }
    if (head === chunks.length) {
      chunks.length = 0;
      head = 0;
    } else if (head > 4096) {
      chunks.splice(0, head);
      head = 0;
    }
    this.#head = head;
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
    this.#head = 0;
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
