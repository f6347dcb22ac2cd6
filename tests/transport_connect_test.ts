/**
 * `connect()` as `snapshot` uses it: TLS failures in words, a TLS/plain mismatch named with the
 * flag to try, `--ca` files checked, `--tls-insecure`, and `--bind` (the cache sees the address).
 * Certificates are made in the test with openssl.
 */
import { assertEquals as eq, assertIncludes, assertOk } from "./helpers/assert.ts";
import { requirePeers, runCommand, runRtr } from "./helpers/peers.ts";
import { response, samplePrefixes } from "./helpers/fake_cache.ts";
import { encodePdus } from "../lib/wire/mod.ts";
import { looksLikeTls, tlsErrorText } from "../lib/transport.ts";

async function openssl(dir: string, args: string[]) {
  const r = await runCommand("openssl", args, { cwd: dir, timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** ca.pem; server.pem (by the CA, for 127.0.0.1); other.pem (by the CA, for other.example); self.pem (self-signed CA). */
async function makePki(dir: string) {
  await openssl(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=t CA",
  ]);
  for (
    const [name, san] of [["server", "IP:127.0.0.1,IP:127.0.0.2"], ["other", "DNS:other.example"]]
  ) {
    await Deno.writeTextFile(
      `${dir}/${name}.cnf`,
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
    );
    await openssl(dir, [
      "req",
      ...EC,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.cnf`,
    ]);
  }
  await openssl(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    "self.key",
    "-out",
    "self.pem",
    "-days",
    "2",
    "-subj",
    "/CN=self",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
}

/** A TLS RTR cache: answers each Reset Query with the sample table; records peer addresses. */
function tlsCache(dir: string, name: string) {
  const l = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: Deno.readTextFileSync(`${dir}/${name}.pem`),
    key: Deno.readTextFileSync(`${dir}/${name}.key`),
  });
  const peers: string[] = [];
  const done = (async () => {
    for await (const c of l) {
      peers.push((c.remoteAddr as Deno.NetAddr).hostname);
      (async () => {
        try {
          const buf = new Uint8Array(64);
          if ((await c.read(buf)) === null) return;
          await c.write(encodePdus(response(1, 5, 1, samplePrefixes(1))));
          await c.read(buf);
        } catch {
          /* handshake refused */
        } finally {
          try {
            c.close();
          } catch { /* closed */ }
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (l.addr as Deno.NetAddr).port,
    peers,
    async stop() {
      l.close();
      await done;
    },
  };
}

const snap = (port: number, ...args: string[]) =>
  runRtr([
    "snapshot",
    `127.0.0.1:${port}`,
    "--protocol",
    "1",
    "--format",
    "ndjson",
    "--timeout",
    "10",
    ...args,
  ]);

Deno.test("TLS: certificate failures in words, a CA file without PEM refused, --tls-insecure warns", async () => {
  if (!requirePeers("openssl")) return;
  const dir = await Deno.makeTempDir();
  await makePki(dir);
  const good = tlsCache(dir, "server"),
    other = tlsCache(dir, "other"),
    self = tlsCache(dir, "self");
  try {
    const ok = await snap(good.port, "--tls", "--ca", `${dir}/ca.pem`);
    eq(ok.code, 0, ok.stderr);
    assertIncludes(ok.stdout, '"type":"sync"');

    const unknown = await snap(good.port, "--tls");
    eq(unknown.code, 1);
    assertIncludes(unknown.stderr, "the cache's certificate is signed by an unknown CA");

    const name = await snap(other.port, "--tls", "--ca", `${dir}/ca.pem`);
    eq(name.code, 1);
    assertIncludes(name.stderr, "the cache's certificate is not valid for 127.0.0.1");

    const ca = await snap(self.port, "--tls", "--ca", `${dir}/self.pem`);
    eq(ca.code, 1);
    assertIncludes(
      ca.stderr,
      "the cache's certificate is a CA certificate, not a server certificate",
    );

    await Deno.writeTextFile(`${dir}/empty.pem`, "not a certificate\n");
    const empty = await snap(good.port, "--tls", "--ca", `${dir}/empty.pem`);
    eq(empty.code, 1);
    assertIncludes(empty.stderr, `CA file ${dir}/empty.pem holds no PEM certificate`);

    const missing = await snap(good.port, "--tls", "--ca", `${dir}/nope.pem`);
    eq(missing.code, 1);
    assertIncludes(missing.stderr, "no such file");
    assertOk(!/allow-|Requires/.test(missing.stderr), missing.stderr);

    const insecure = await snap(self.port, "--tls", "--tls-insecure");
    eq(insecure.code, 0, insecure.stderr);
    assertIncludes(insecure.stderr, "--tls-insecure: not verifying the certificate of 127.0.0.1:");
    assertIncludes(insecure.stdout, '"type":"sync"');

    const usage = await snap(good.port, "--tls-insecure");
    eq(usage.code, 2);
  } finally {
    await good.stop();
    await other.stop();
    await self.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a plain connection to a TLS port says try --tls; TLS to a plain port says the reverse", async () => {
  if (!requirePeers("openssl")) return;
  const dir = await Deno.makeTempDir();
  await makePki(dir);
  const tls = tlsCache(dir, "server");
  // A plain RTR cache answering the ClientHello's bytes with an RTR Cache Reset PDU.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const c of l) {
      await c.read(new Uint8Array(4096)).catch(() => null);
      await c.write(new Uint8Array([1, 8, 0, 0, 0, 0, 0, 8])).catch(() => 0);
      await c.read(new Uint8Array(4096)).catch(() => null);
      c.close();
    }
  })().catch(() => {});
  const plain = { port: (l.addr as Deno.NetAddr).port };
  try {
    const p = await snap(tls.port);
    eq(p.code, 1, p.stderr);
    assertIncludes(p.stderr, "answered in TLS: is this port TLS? try --tls");
    const t = await snap(plain.port, "--tls", "--ca", `${dir}/ca.pem`);
    eq(t.code, 1, t.stderr);
    assertIncludes(t.stderr, "try without --tls");
  } finally {
    await tls.stop();
    l.close();
    await served;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--bind connects from the given local address, plain and TLS", async () => {
  const seen: string[] = [];
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const done = (async () => {
    for await (const c of l) {
      seen.push((c.remoteAddr as Deno.NetAddr).hostname);
      const buf = new Uint8Array(64);
      await c.read(buf);
      await c.write(encodePdus(response(1, 5, 1, samplePrefixes(1))));
      await c.read(buf).catch(() => null);
      c.close();
    }
  })().catch(() => {});
  try {
    for (const addr of ["127.0.0.2", "127.0.0.1"]) {
      const r = await snap(port, "--bind", addr);
      eq(r.code, 0, r.stderr);
      assertIncludes(r.stdout, '"type":"sync"');
    }
    eq(seen, ["127.0.0.2", "127.0.0.1"]);
    const bad = await snap(port, "--bind", "not-an-address");
    eq(bad.code, 2);
    assertIncludes(bad.stderr, "--bind must be an IPv4 or IPv6 address");
    const foreign = await snap(port, "--bind", "192.0.2.1");
    eq(foreign.code, 1);
    assertIncludes(foreign.stderr, `Cannot connect to 127.0.0.1:${port}`);
  } finally {
    l.close();
    await done;
  }
  if (!requirePeers("openssl")) return;
  const dir = await Deno.makeTempDir();
  await makePki(dir);
  const tls = tlsCache(dir, "server");
  try {
    const r = await snap(tls.port, "--tls", "--ca", `${dir}/ca.pem`, "--bind", "127.0.0.2");
    eq(r.code, 0, r.stderr);
    eq(tls.peers, ["127.0.0.2"]);
  } finally {
    await tls.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tlsErrorText names expiry and alerts; looksLikeTls knows alert and handshake records", () => {
  eq(
    tlsErrorText(new Error("invalid peer certificate: Expired"), "h"),
    "the cache's certificate has expired",
  );
  eq(
    tlsErrorText(new Error("received fatal alert: CertificateRequired"), "h"),
    "the cache requires a client certificate (give --cert and --key)",
  );
  eq(looksLikeTls(new Uint8Array([0x15, 0x03, 0x03, 0, 2])), true);
  eq(looksLikeTls(new Uint8Array([0x16, 0x03, 0x01])), true);
  eq(looksLikeTls(new Uint8Array([0x01, 0x03, 0x00])), false);
  eq(looksLikeTls(new Uint8Array([0x15, 0x00])), false);
});
