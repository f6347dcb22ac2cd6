/**
 * Transports (RFC 8210 §9, 8210bis §9): the one byte-stream interface every driver (client,
 * follower, server) consumes, its TCP and TLS implementations, an in-memory pair for tests, and
 * the tap interface that records what crosses the wire. TLS (RFC 8210 §9.4) failures are said
 * in words; a plain connection answered in TLS, or the reverse, says which flag to try.
 */
import type * as NodeNet from "node:net";
import { TransportError } from "./errors.ts";
import { fileErrorText } from "./io/mod.ts";

/** One end of a connection: an address and a port. */
export interface Endpoint {
  /** Address, as text. */
  hostname: string;
  /** TCP port. */
  port: number;
}

/**
 * A connected, ordered, reliable byte stream (TCP, TLS, an SSH channel, or an in-memory pair).
 * `read` and `write` follow `Deno.Conn`: `read` resolves to the byte count or `null` at end of
 * stream, `write` may write fewer bytes than given.
 */
export interface RtrConn {
  /** This end's address. */
  readonly localAddr: Endpoint;
  /** The peer's address. */
  readonly remoteAddr: Endpoint;
  /** Read into `buf`: the byte count, or null at end of stream. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Write some of `bytes`: the count written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Half-close: no more writes from this side; reads go on. */
  closeWrite(): Promise<void>;
  /** Close both directions. */
  close(): void;
  /** Complete the TLS handshake now (TLS connections only). */
  handshake?(): Promise<void>;
}

/** Accepts connections until closed. */
export interface RtrListener extends AsyncIterable<RtrConn> {
  /** The address listened on. */
  readonly addr: Endpoint;
  /** Stop accepting. */
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
  /** The cache's host name or address. */
  host: string;
  /** The cache's port. */
  port: number;
  /** Use TLS (RFC 8210 §9.4). */
  tls?: boolean;
  /** PEM file of extra CA certificates to trust. */
  caFile?: string;
  /** PEM client certificate and key files. */
  certFile?: string;
  /** PEM private key of the client certificate. */
  keyFile?: string;
  /** Connect timeout in milliseconds. */
  timeoutMs?: number;
  /** With `tls`: do not verify the cache's certificate (labs only; the caller warns). */
  tlsInsecure?: boolean;
  /** Local (source) address to connect from. */
  localAddress?: string;
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
  /** The connection opened. */
  connected?(local: Deno.NetAddr, remote: Deno.NetAddr, time: number): void;
  /** Bytes received from the peer. */
  received(bytes: Uint8Array, time: number): void;
  /** Bytes sent to the peer. */
  sent?(bytes: Uint8Array, time: number): void;
  /** The connection closed. */
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
  // Deno.connect and Deno.connectTls can neither bind a local address nor skip certificate
  // verification; node:net / node:tls can, so those two options take that path.
  if (o.localAddress !== undefined || o.tlsInsecure) return await connectNode(o);
  const conn = await connectDeno(o);
  return o.tls ? fromDenoConn(conn) : plainClientConn(fromDenoConn(conn), describeTarget(o));
}

/** The default dialer: TCP or TLS as the options say. */
export const dialTcpOrTls: Dialer = connect;

/** True when the first bytes a cache sent are a TLS record (alert 0x15 or handshake 0x16, 0x03). */
export function looksLikeTls(bytes: Uint8Array, n = bytes.length): boolean {
  return n > 0 && (bytes[0] === 0x15 || bytes[0] === 0x16) && (n < 2 || bytes[1] === 0x03);
}

/**
 * A plain client connection that checks the first bytes received: an RTR PDU starts with a
 * version 0 to 2, a TLS record with 0x15 or 0x16 then 0x03 (RFC 8446 §5.1), which means the
 * port speaks TLS. Only the first read is looked at.
 */
export function plainClientConn(conn: RtrConn, target: string): RtrConn {
  let first = true;
  return {
    localAddr: conn.localAddr,
    remoteAddr: conn.remoteAddr,
    read: async (buf) => {
      const n = await conn.read(buf);
      if (first && n !== null && n > 0) {
        first = false;
        if (looksLikeTls(buf, n)) {
          throw new TransportError(
            `The cache at ${target} answered in TLS: is this port TLS? try --tls`,
          );
        }
      }
      return n;
    },
    write: (bytes) => conn.write(bytes),
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
  };
}

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
      const { caCerts, cert, key } = await tlsFiles(o);
      p = Deno.connectTls({ hostname: o.host, port: o.port, caCerts, cert, key });
    } else {
      p = Deno.connect({ hostname: o.host, port: o.port, transport: "tcp" });
    }
    p.catch(() => {});
    const conn = await Promise.race([p, timeout]);
    if (o.tls) {
      // Complete the handshake now so certificate errors surface as connect errors.
      const tlsConn = conn as Deno.TlsConn;
      try {
        await Promise.race([tlsConn.handshake(), timeout]);
      } catch (e) {
        try {
          conn.close();
        } catch { /* closed */ }
        throw e;
      }
    } else {
      try {
        (conn as Deno.TcpConn).setKeepAlive(true);
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch { /* not a TCP socket */ }
    }
    return conn;
  } catch (e) {
    if (e instanceof TransportError) throw e;
    const why = o.tls ? tlsErrorText(e, o.host) : errText(e);
    throw new TransportError(`Cannot connect to ${target}: ${why}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

/** The PEM files of a TLS connection, read and checked. */
async function tlsFiles(
  o: ConnectOptions,
): Promise<{ caCerts?: string[]; cert?: string; key?: string }> {
  let caCerts: string[] | undefined;
  if (o.caFile) {
    const pem = await readText(o.caFile, "CA file");
    if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) {
      throw new TransportError(`CA file ${o.caFile} holds no PEM certificate`);
    }
    caCerts = [pem];
  }
  const cert = o.certFile ? await readText(o.certFile, "certificate file") : undefined;
  if (cert !== undefined && !/-----BEGIN CERTIFICATE-----/.test(cert)) {
    throw new TransportError(`Certificate file ${o.certFile} holds no PEM certificate`);
  }
  const key = o.keyFile ? await readText(o.keyFile, "key file") : undefined;
  if (key !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new TransportError(`Key file ${o.keyFile} holds no PEM private key`);
  }
  return { caCerts, cert, key };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new TransportError(`Cannot read ${what} ${path}: ${fileErrorText(e)}`);
  }
}

/**
 * A TLS failure in words: rustls's and node:tls's certificate errors, alerts from the cache, and a
 * handshake a plain RTR port cannot answer.
 */
export function tlsErrorText(e: unknown, host: string): string {
  const m = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string } | null)?.code ?? "";
  if (/CaUsedAsEndEntity/.test(m)) {
    return "the cache's certificate is a CA certificate, not a server certificate";
  }
  if (/UnknownIssuer|UNABLE_TO_GET_ISSUER|SELF_SIGNED|self.signed|unable to get/i.test(m + code)) {
    return "the cache's certificate is signed by an unknown CA (trust its CA with --ca FILE)";
  }
  if (
    /NotValidForName|not valid for name|ERR_TLS_CERT_ALTNAME|does not match|altnames/i.test(
      m + code,
    )
  ) {
    const names = m.match(/only valid for (.*)$/)?.[1];
    return `the cache's certificate is not valid for ${host}${
      names
        ? ` (it is for ${names.replace(/DnsName\("([^"]*)"\)|IpAddress\(([^)]*)\)/g, "$1$2")})`
        : ""
    }`;
  }
  if (/Expired|CERT_HAS_EXPIRED/i.test(m + code)) return "the cache's certificate has expired";
  if (/NotValidYet|CERT_NOT_YET_VALID/i.test(m + code)) {
    return "the cache's certificate is not valid yet";
  }
  if (/BadSignature|InvalidSignatureForPublicKey|BadEncoding/i.test(m)) {
    return "the cache's certificate is malformed or badly signed";
  }
  const alert = m.match(/received fatal alert: (\w+)/);
  if (alert) {
    return alert[1] === "CertificateRequired"
      ? "the cache requires a client certificate (give --cert and --key)"
      : `the cache refused the TLS handshake (alert ${alert[1]})`;
  }
  if (
    /InvalidContentType|InvalidMessage|corrupt message|wrong version|packet length|WRONG_VERSION/i
      .test(m + code)
  ) {
    return "the cache did not answer in TLS: is this a plain RTR port? try without --tls";
  }
  if (
    e instanceof Deno.errors.UnexpectedEof || /eof|close_notify|socket hang up|ECONNRESET/i.test(m)
  ) {
    return "the cache closed the connection during the TLS handshake: is this a plain RTR port? try without --tls";
  }
  return errText(e);
}

/**
 * TCP or TLS through node:net / node:tls, for what Deno.connect cannot do: a local address to
 * connect from (`localAddress`) and TLS without certificate verification.
 */
async function connectNode(o: ConnectOptions): Promise<RtrConn> {
  const target = describeTarget(o);
  const timeoutMs = o.timeoutMs ?? 30000;
  const files = o.tls ? await tlsFiles(o) : {};
  // Loaded only on this path, so that plain TCP and TLS users load no Node compatibility code.
  const nodeNet = await import("node:net");
  const nodeTls = await import("node:tls");
  const socket = await new Promise<NodeNet.Socket>((resolve, reject) => {
    let s: NodeNet.Socket;
    const fail = (e: unknown) => {
      clearTimeout(timer);
      s?.destroy();
      reject(
        e instanceof TransportError ? e : new TransportError(
          `Cannot connect to ${target}: ${o.tls ? tlsErrorText(e, o.host) : errText(e)}`,
          { cause: e },
        ),
      );
    };
    const timer = setTimeout(
      () =>
        fail(
          new TransportError(`Cannot connect to ${target}: timed out after ${timeoutMs / 1000} s`),
        ),
      timeoutMs,
    );
    const done = () => {
      clearTimeout(timer);
      s.off("error", fail);
      resolve(s);
    };
    try {
      if (o.tls) {
        const ip = nodeNet.isIP(o.host) !== 0;
        // A socket bound to the local address, handed to TLS (tls.connect has no localAddress).
        const raw = o.localAddress !== undefined
          ? nodeNet.connect({ host: o.host, port: o.port, localAddress: o.localAddress })
          : undefined;
        raw?.once("error", (e) => fail(e));
        s = nodeTls.connect({
          host: o.host,
          port: o.port,
          socket: raw,
          servername: ip ? undefined : o.host,
          rejectUnauthorized: !o.tlsInsecure,
          ca: files.caCerts ? [...files.caCerts, ...nodeTls.rootCertificates] : undefined,
          cert: files.cert,
          key: files.key,
        }, done);
      } else {
        s = nodeNet.connect({ host: o.host, port: o.port, localAddress: o.localAddress }, done);
      }
      s.once("error", fail);
    } catch (e) {
      fail(e);
    }
  });
  try {
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
  } catch { /* not a TCP socket */ }
  const conn = fromNodeSocket(socket);
  return o.tls ? conn : plainClientConn(conn, target);
}

/** A node:net / node:tls socket as an `RtrConn`: received chunks queue (paused past 1 MiB). */
function fromNodeSocket(s: NodeNet.Socket): RtrConn {
  const chunks: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let error: unknown = null;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  s.on("data", (d: Uint8Array) => {
    chunks.push(d);
    queued += d.length;
    if (queued > 1 << 20) s.pause();
    poke();
  });
  s.on("end", () => {
    ended = true;
    poke();
  });
  s.on("close", () => {
    ended = true;
    poke();
  });
  s.on("error", (e) => {
    error = e;
    ended = true;
    poke();
  });
  const addr = (a: string | undefined, port: number | undefined): Endpoint => ({
    hostname: a ?? "",
    port: port ?? 0,
  });
  return {
    localAddr: addr(s.localAddress, s.localPort),
    remoteAddr: addr(s.remoteAddress, s.remotePort),
    async read(buf) {
      while (chunks.length === 0) {
        if (error) throw error;
        if (ended) return null;
        await new Promise<void>((r) => wake = r);
      }
      const c = chunks[0];
      const n = Math.min(c.length, buf.length);
      buf.set(c.subarray(0, n));
      if (n === c.length) chunks.shift();
      else chunks[0] = c.subarray(n);
      queued -= n;
      if (queued <= 1 << 18 && s.isPaused()) s.resume();
      return n;
    },
    write(bytes) {
      if (error) return Promise.reject(error);
      if (s.destroyed || s.writableEnded) {
        return Promise.reject(new Deno.errors.BrokenPipe("connection closed"));
      }
      return new Promise((resolve, reject) => {
        // node keeps a reference until flushed: hand it a copy the caller cannot reuse.
        s.write(bytes.slice(), (e) => e ? reject(e) : resolve(bytes.length));
      });
    },
    closeWrite: () => new Promise<void>((r) => s.end(() => r())),
    close: () => {
      s.destroy();
    },
  };
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
