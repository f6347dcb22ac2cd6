/**
 * TLS as 8210bis §9.2 asks, at the transport: the router side verifies the cache's certificate
 * against the name or IP address it dialled (no CN fallback); the cache's listener with a client
 * CA checks routers' certificates (chain and iPAddress) and, when required, refuses routers
 * without one.
 */
import { assert, assertEquals as eq, assertIncludes } from "./helpers/assert.ts";
import { requirePeers } from "./helpers/peers.ts";
import { makeCa, makeCert } from "./helpers/pki.ts";
import { TransportError } from "../lib/errors.ts";
import { connect, type RtrListener } from "../lib/transport.ts";
import { certificateIps, tlsListener } from "../lib/transport_tls.ts";

async function pki(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await makeCa(dir, "ca");
  await makeCa(dir, "otherca");
  await makeCert(dir, "server", "ca", "IP:127.0.0.1,DNS:localhost", "serverAuth");
  // The CN says 127.0.0.1, the subjectAltName another name: only the SAN counts (RFC 6125).
  await makeCert(dir, "127.0.0.1", "ca", "DNS:other.example", "serverAuth");
  await makeCert(dir, "router", "ca", "IP:127.0.0.1", "clientAuth");
  await makeCert(dir, "elsewhere", "ca", "IP:192.0.2.9", "clientAuth");
  await makeCert(dir, "stranger", "otherca", "IP:127.0.0.1", "clientAuth");
  return dir;
}

/** Echo what arrives on each connection of `l`. */
function echo(l: RtrListener): Promise<void> {
  return (async () => {
    for await (const c of l) {
      (async () => {
        const buf = new Uint8Array(1000);
        try {
          const n = await c.read(buf);
          if (n !== null) await c.write(buf.subarray(0, n));
          await c.closeWrite();
        } catch { /* the router went away */ }
        c.close();
      })();
    }
  })();
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

Deno.test("tls: the cache's certificate must name the host or IP address dialled", async () => {
  if (!requirePeers("openssl")) return;
  const dir = await pki();
  try {
    for (
      const [name, host, ok] of [
        ["server", "127.0.0.1", true],
        ["server", "localhost", true],
        ["127.0.0.1", "127.0.0.1", false],
      ] as const
    ) {
      const l = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: await Deno.readTextFile(`${dir}/${name}.pem`),
        key: await Deno.readTextFile(`${dir}/${name}.key`),
      });
      const accepting = (async () => {
        for await (const c of l) {
          await c.handshake().catch(() => {});
          c.close();
        }
      })();
      const port = (l.addr as Deno.NetAddr).port;
      const dialing = connect({ host, port, tls: true, caFile: `${dir}/ca.pem`, timeoutMs: 10000 });
      if (ok) {
        (await dialing).close();
      } else {
        const e = await rejects(dialing);
        assert(e instanceof TransportError);
        eq(
          e.message,
          `Cannot connect to 127.0.0.1:${port}: the cache's certificate is not valid for 127.0.0.1 (it is for other.example)`,
        );
      }
      l.close();
      await accepting;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls listener: a required client certificate must chain to the CA and name the router's IP", async () => {
  if (!requirePeers("openssl")) return;
  const dir = await pki();
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  const log: string[] = [];
  const l = await tlsListener({
    host: "127.0.0.1",
    port: 0,
    cert: await read("server.pem"),
    key: await read("server.key"),
    clientCa: await read("ca.pem"),
    requireClientCert: true,
    log: (line) => log.push(line),
  });
  const serving = echo(l);
  const port = l.addr.port;
  /** Dial with the client certificate `name` (none when undefined): the echo, or the error. */
  const tryDial = async (name?: string): Promise<string> => {
    try {
      const c = await connect({
        host: "127.0.0.1",
        port,
        tls: true,
        caFile: `${dir}/ca.pem`,
        certFile: name && `${dir}/${name}.pem`,
        keyFile: name && `${dir}/${name}.key`,
        timeoutMs: 10000,
      });
      try {
        await c.write(new TextEncoder().encode("ping"));
        const buf = new Uint8Array(10);
        const n = await c.read(buf);
        return n === null ? "closed" : new TextDecoder().decode(buf.subarray(0, n));
      } finally {
        c.close();
      }
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  };
  try {
    eq(await tryDial("router"), "ping");
    assertIncludes(await tryDial(undefined), "error:");
    assert((await tryDial("stranger")) !== "ping");
    assert((await tryDial("elsewhere")) !== "ping");
    const text = log.join("\n");
    assertIncludes(text, "tls: handshake failed");
    assertIncludes(
      text,
      `refused client certificate "elsewhere": its subjectAltName has no IP address 127.0.0.1`,
    );
  } finally {
    l.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls listener: an optional client certificate lets routers without one in", async () => {
  if (!requirePeers("openssl")) return;
  const dir = await pki();
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  const l = await tlsListener({
    host: "127.0.0.1",
    port: 0,
    cert: await read("server.pem"),
    key: await read("server.key"),
    clientCa: await read("ca.pem"),
  });
  const serving = echo(l);
  try {
    const c = await connect({
      host: "127.0.0.1",
      port: l.addr.port,
      tls: true,
      caFile: `${dir}/ca.pem`,
      timeoutMs: 10000,
    });
    await c.write(new TextEncoder().encode("hi"));
    const buf = new Uint8Array(10);
    eq(await c.read(buf), 2);
    c.close();
  } finally {
    l.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("certificateIps reads node:tls's subjectAltName text", () => {
  eq(certificateIps("IP Address:127.0.0.1, DNS:localhost, IP Address:2001:DB8::1"), [
    "127.0.0.1",
    "2001:db8::1",
  ]);
  eq(certificateIps(undefined), []);
});
