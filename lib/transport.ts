/**
 * Transports (RFC 8210 §9, 8210bis §9): the one byte-stream interface every driver (client,
 * follower, server) consumes, its TCP and TLS implementations, an in-memory pair for tests, and
 * the tap interface that records what crosses the wire.
 */
import { TransportError } from "./errors.ts";

/** One end of a connection: an address and a port. */
export interface Endpoint {
  hostname: string;
  port: number;
}

/**
 * A connected, ordered, reliable byte stream (TCP, TLS, an SSH channel, or an in-memory pair).
 * `read` and `write` follow `Deno.Conn`: `read` resolves to the byte count or `null` at end of
 * stream, `write` may write fewer bytes than given.
 */
export interface RtrConn {
  readonly localAddr: Endpoint;
  readonly remoteAddr: Endpoint;
  read(buf: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  /** Half-close: no more writes from this side; reads go on. */
  closeWrite(): Promise<void>;
  close(): void;
  /** Complete the TLS handshake now (TLS connections only). */
  handshake?(): Promise<void>;
}

/** Accepts connections until closed. */
export interface RtrListener extends AsyncIterable<RtrConn> {
  readonly addr: Endpoint;
  close(): void;
}

/** Opens a connection to a cache. */
export type Dialer = (o: ConnectOptions) => Promise<RtrConn>;

/** A `Deno.Conn` (TCP or TLS) as an `RtrConn`. */
export function fromDenoConn(conn: Deno.Conn): RtrConn {
  return {
    localAddr: endpointOf(conn.localAddr),
    remoteAddr: endpointOf(conn.remoteAddr),
    read: (buf) => conn.read(buf),
    write: (bytes) => conn.write(bytes),
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
    ...("handshake" in conn
      ? { handshake: async () => void await (conn as Deno.TlsConn).handshake() }
      : {}),
  };
}

function endpointOf(a: Deno.Addr): Endpoint {
  return a.transport === "tcp" || a.transport === "udp"
    ? { hostname: a.hostname, port: a.port }
    : { hostname: "path" in a ? a.path : "", port: 0 };
}

/** A `Deno.Listener` (TCP or TLS) as an `RtrListener`. */
export function fromDenoListener(l: Deno.Listener): RtrListener {
  return {
    addr: endpointOf(l.addr),
    close: () => l.close(),
    async *[Symbol.asyncIterator]() {
      while (true) {
        let conn: Deno.Conn;
        try {
          conn = await l.accept();
        } catch (e) {
          if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
          throw e;
        }
        try {
          (conn as Deno.TcpConn).setNoDelay?.(true);
          (conn as Deno.TcpConn).setKeepAlive?.(true);
        } catch { /* not a TCP socket */ }
        yield fromDenoConn(conn);
      }
    },
  };
}

/**
 * Two connected in-memory ends, for tests: what one writes the other reads, in order, with the
 * chunk boundaries the writer chose. `close` on either end ends both directions; `closeWrite`
 * ends one. Nothing touches the network or a timer.
 */
export function memoryPair(
  a: Endpoint = { hostname: "127.0.0.1", port: 40000 },
  b: Endpoint = { hostname: "127.0.0.1", port: 8282 },
): [RtrConn, RtrConn] {
  const ab = new ByteQueue();
  const ba = new ByteQueue();
  const end = (local: Endpoint, remote: Endpoint, inq: ByteQueue, outq: ByteQueue): RtrConn => ({
    localAddr: local,
    remoteAddr: remote,
    read: (buf) => inq.read(buf),
    write: (bytes) => {
      if (outq.ended) return Promise.reject(new Deno.errors.BrokenPipe("connection closed"));
      outq.push(bytes.slice());
      return Promise.resolve(bytes.length);
    },
    closeWrite: () => {
      outq.end();
      return Promise.resolve();
    },
    close: () => {
      inq.end();
      outq.end();
    },
  });
  return [end(a, b, ba, ab), end(b, a, ab, ba)];
}

/** One direction of a memory pair: chunks waiting to be read. */
class ByteQueue {
  #chunks: Uint8Array[] = [];
  #waiter?: () => void;
  ended = false;

  push(c: Uint8Array): void {
    if (c.length > 0) this.#chunks.push(c);
    this.#wake();
  }

  end(): void {
    this.ended = true;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.ended) return null;
      await new Promise<void>((r) => this.#waiter = r);
    }
    const c = this.#chunks[0];
    const n = Math.min(c.length, buf.length);
    buf.set(c.subarray(0, n));
    if (n === c.length) this.#chunks.shift();
    else this.#chunks[0] = c.subarray(n);
    return n;
  }
}

/** Where and how to connect. */
export interface ConnectOptions {
  host: string;
  port: number;
  /** Use TLS (RFC 8210 §9.4). */
  tls?: boolean;
  /** PEM file of extra CA certificates to trust. */
  caFile?: string;
  /** PEM client certificate and key files. */
  certFile?: string;
  keyFile?: string;
  /** Connect timeout in milliseconds. */
  timeoutMs?: number;
}

/**
 * Buffers for received chunks, reused once the consumer says it is done with one (so a long
 * transfer does not leave a trail of garbage buffers); an empty pool allocates.
 */
export class ChunkPool {
  readonly size: number;
  #free: Uint8Array[] = [];

  constructor(size = 1 << 18) {
    this.size = size;
  }

  /** A buffer of `size` bytes. */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  /** Give back the buffer under `chunk` (a view returned by `connReadable`). */
  give(chunk: Uint8Array): void {
    if (chunk.buffer.byteLength === this.size && this.#free.length < 8) {
      this.#free.push(new Uint8Array(chunk.buffer as ArrayBuffer));
    }
  }
}

/**
 * The bytes a connection receives as a ReadableStream, for `pipeThrough` a decoder: each chunk
 * is a view of its own buffer from `pool`, valid until given back, and `tap` sees each chunk
 * first. A read error errors the stream; end of stream closes it.
 */
export function connReadable(
  conn: RtrConn,
  tap?: WireTap,
  pool: ChunkPool = new ChunkPool(),
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = pool.take();
      const n = await conn.read(buf);
      if (n === null) {
        pool.give(buf);
        controller.close();
        return;
      }
      const chunk = buf.subarray(0, n);
      tap?.received(chunk, Date.now());
      controller.enqueue(chunk);
    },
    cancel() {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  }, { highWaterMark: 0 });
}

/** Observes the bytes of a connection (raw dump, pcap). Methods must copy what they keep. */
export interface WireTap {
  connected?(local: Deno.NetAddr, remote: Deno.NetAddr, time: number): void;
  received(bytes: Uint8Array, time: number): void;
  sent?(bytes: Uint8Array, time: number): void;
  closed?(time: number): void;
  /** Finish writing (rename into place). */
  finish(): Promise<void>;
}

/** `host:port` of a target for messages (`[v6]:port` for IPv6 literals). */
export function describeTarget(o: { host: string; port: number }): string {
  return `${o.host.includes(":") ? `[${o.host}]` : o.host}:${o.port}`;
}

/** Open a TCP or TLS connection; failures become one-line TransportErrors. */
export async function connect(o: ConnectOptions): Promise<RtrConn> {
  return fromDenoConn(await connectDeno(o));
}

/** The default dialer: TCP or TLS as the options say. */
export const dialTcpOrTls: Dialer = connect;

async function connectDeno(o: ConnectOptions): Promise<Deno.Conn> {
  const target = describeTarget(o);
  const timeoutMs = o.timeoutMs ?? 30000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TransportError(`Cannot connect to ${target}: timed out after ${timeoutMs / 1000} s`),
        ),
      timeoutMs,
    );
  });
  try {
    let p: Promise<Deno.Conn>;
    if (o.tls) {
      const caCerts = o.caFile ? [await readText(o.caFile, "CA file")] : undefined;
      const cert = o.certFile ? await readText(o.certFile, "certificate file") : undefined;
      const key = o.keyFile ? await readText(o.keyFile, "key file") : undefined;
      p = Deno.connectTls({ hostname: o.host, port: o.port, caCerts, cert, key });
    } else {
      p = Deno.connect({ hostname: o.host, port: o.port, transport: "tcp" });
    }
    p.catch(() => {});
    const conn = await Promise.race([p, timeout]);
    if (o.tls) {
      // Complete the handshake now so certificate errors surface as connect errors.
      const tlsConn = conn as Deno.TlsConn;
      await Promise.race([tlsConn.handshake(), timeout]);
    } else {
      try {
        (conn as Deno.TcpConn).setKeepAlive(true);
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch { /* not a TCP socket */ }
    }
    return conn;
  } catch (e) {
    if (e instanceof TransportError) throw e;
    throw new TransportError(`Cannot connect to ${target}: ${errText(e)}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new TransportError(`Cannot read ${what} ${path}: ${errText(e)}`);
  }
}

/** A short, single-line description of an I/O error. */
export function errText(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (e instanceof Deno.errors.ConnectionReset) return "connection reset by peer";
  if (e instanceof Deno.errors.TimedOut) return "timed out";
  if (e instanceof Error) {
    const m = e.message.split("\n")[0];
    if (/failed to lookup address|Name or service not known|nodename nor servname/i.test(m)) {
      return "unknown host";
    }
    return m.replace(/\s*\(os error \d+\).*$/, "").replace(/\.$/, "");
  }
  return String(e);
}
