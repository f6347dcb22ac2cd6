/**
 * The cache's TLS listener when routers present client certificates (8210bis §9.2: the router
 * presents a certificate naming its IP address, the cache checks it). `Deno.listenTls` cannot ask
 * for a client certificate, so this listener is `node:tls` with the routers' CA; without a client
 * CA the server keeps using `Deno.listenTls`. A certificate that does not chain to the CA, or
 * whose subjectAltName has no iPAddress equal to the router's address, is refused; with
 * `requireClientCert`, so is a router without one.
 */
import type { TLSSocket } from "node:tls";
import { TransportError } from "./errors.ts";
import {
  describeTarget,
  type Endpoint,
  errText,
  type RtrConn,
  type RtrListener,
} from "./transport.ts";
import { fromNodeStream } from "./transport_node.ts";

/** Where and how to listen. */
export interface TlsListenOptions {
  host: string;
  port: number;
  /** PEM certificate chain and private key of the cache. */
  cert: string;
  key: string;
  /** PEM CA certificate(s) that routers' certificates must chain to. */
  clientCa: string;
  /** Refuse routers that present no certificate. */
  requireClientCert?: boolean;
  /** Refused handshakes and certificates. */
  log?: (line: string) => void;
}

/** Normalise an address as node:tls reports it (`::ffff:192.0.2.1` → `192.0.2.1`). */
function plainIp(ip: string | undefined): string {
  return (ip ?? "").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1").toLowerCase();
}

/** The iPAddress entries of a certificate's subjectAltName, as node:tls prints them. */
export function certificateIps(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? "").split(",").map((s) => s.trim())
    .filter((s) => s.startsWith("IP Address:"))
    .map((s) => plainIp(s.slice("IP Address:".length)));
}

/** Listen for TLS routers with client certificates checked as the options say. */
export async function tlsListener(o: TlsListenOptions): Promise<RtrListener> {
  const tls = await import("node:tls");
  const log = o.log ?? (() => {});
  const queue: RtrConn[] = [];
  let waiter: (() => void) | undefined;
  let closed = false;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  let server;
  try {
    server = tls.createServer({
      cert: o.cert,
      key: o.key,
      ca: o.clientCa,
      requestCert: true,
      rejectUnauthorized: o.requireClientCert === true,
      minVersion: "TLSv1.2",
    });
  } catch (e) {
    throw new TransportError(`Cannot use the TLS files: ${errText(e)}`);
  }
  let addr: Endpoint = { hostname: o.host, port: o.port };
  server.on("secureConnection", (s: TLSSocket) => {
    const remote = { hostname: plainIp(s.remoteAddress), port: s.remotePort ?? 0 };
    const peer = describeTarget({ host: remote.hostname, port: remote.port });
    s.on("error", () => {});
    const cert = s.getPeerCertificate();
    const presented = cert !== null && typeof cert === "object" && Object.keys(cert).length > 0;
    if (presented && !s.authorized) {
      log(`${peer} tls: refused client certificate: ${s.authorizationError}`);
      s.destroy();
      return;
    }
    if (presented && !certificateIps(cert.subjectaltname).includes(remote.hostname)) {
      log(
        `${peer} tls: refused client certificate ${
          JSON.stringify(cert.subject?.CN ?? "")
        }: its subjectAltName has no IP address ${remote.hostname}`,
      );
      s.destroy();
      return;
    }
    if (closed) {
      s.destroy();
      return;
    }
    queue.push(fromNodeStream(s, { localAddr: addr, remoteAddr: remote }));
    wake();
  });
  server.on("tlsClientError", (e: Error, s: TLSSocket) => {
    // After a failed handshake the TLS socket has forgotten its peer; the TCP socket under it
    // has not.
    const under = (s as unknown as { _parent?: { remoteAddress?: string; remotePort?: number } })
      ?._parent;
    const peer = describeTarget({
      host: plainIp(s?.remoteAddress ?? under?.remoteAddress),
      port: s?.remotePort ?? under?.remotePort ?? 0,
    });
    log(`${peer} tls: handshake failed: ${errText(e)}`);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error & { code?: string }) =>
      reject(
        new TransportError(
          `Cannot listen on ${describeTarget(o)}: ${
            e.code === "EADDRINUSE" ? "address in use" : errText(e)
          }`,
        ),
      );
    server.once("error", onError);
    server.listen(o.port, o.host, () => {
      server.off("error", onError);
      server.on("error", (e: Error) => log(`tls listener: ${errText(e)}`));
      resolve();
    });
  });
  const a = server.address();
  if (a && typeof a === "object") addr = { hostname: a.address, port: a.port };
  return {
    addr,
    close() {
      if (closed) return;
      closed = true;
      server.close();
      for (const c of queue.splice(0)) c.close();
      wake();
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        while (queue.length === 0) {
          if (closed) return;
          await new Promise<void>((r) => waiter = r);
        }
        yield queue.shift()!;
      }
    },
  };
}
