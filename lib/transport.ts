/**
 * Transports (RFC 8210 §9, protocol.md §5): plain TCP and TLS connections to a cache with a
 * bounded connect time, keep-alive, and taps that record what crosses the wire (the old
 * client's raw dump format: received bytes only, concatenated).
 */
import { TransportError } from "./errors.ts";

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
export async function connect(o: ConnectOptions): Promise<Deno.Conn> {
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
