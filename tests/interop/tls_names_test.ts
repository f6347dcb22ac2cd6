/**
 * TLS as 8210bis §9.2 asks, end to end between `rtr snapshot --tls` and `rtr serve --tls`: a
 * cache certificate for another name is refused by default; `serve --tls-client-ca` with
 * `--tls-require-client-cert` refuses a router without a certificate and serves one with it.
 */
import { assertEquals as eq, assertIncludes } from "../helpers/assert.ts";
import { requirePeers, runRtr, stayRtrJson } from "../helpers/peers.ts";
import { makeCa, makeCert } from "../helpers/pki.ts";
import { startServe } from "../helpers/serve.ts";

async function setup(): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir();
  await makeCa(dir, "ca");
  await makeCert(dir, "server", "ca", "IP:127.0.0.1,DNS:localhost", "serverAuth");
  await makeCert(dir, "elsewhere", "ca", "DNS:cache.example.net", "serverAuth");
  await makeCert(dir, "router", "ca", "IP:127.0.0.1", "clientAuth");
  const file = `${dir}/table.json`;
  await Deno.writeTextFile(
    file,
    stayRtrJson([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }]),
  );
  return { dir, file };
}

Deno.test("tls: snapshot refuses a cache whose certificate names another host, by default", async () => {
  if (!requirePeers("openssl")) return;
  const { dir, file } = await setup();
  const srv = await startServe(file, [
    "--tls",
    "--cert",
    `${dir}/elsewhere.pem`,
    "--key",
    `${dir}/elsewhere.key`,
  ]);
  try {
    const r = await runRtr([
      "snapshot",
      `127.0.0.1:${srv.port}`,
      "--tls",
      "--ca",
      `${dir}/ca.pem`,
      "--timeout",
      "10",
    ]);
    eq(r.code, 1);
    eq(r.stdout, "");
    eq(
      r.stderr.trim(),
      `rtr: Cannot connect to 127.0.0.1:${srv.port}: the cache's certificate is not valid for 127.0.0.1 (it is for cache.example.net)`,
    );
  } finally {
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls: serve --tls-require-client-cert refuses a router without a certificate, serves one with it", async () => {
  if (!requirePeers("openssl")) return;
  const { dir, file } = await setup();
  const srv = await startServe(file, [
    "--tls",
    "--cert",
    `${dir}/server.pem`,
    "--key",
    `${dir}/server.key`,
    "--tls-client-ca",
    `${dir}/ca.pem`,
    "--tls-require-client-cert",
  ]);
  try {
    const base = ["snapshot", `127.0.0.1:${srv.port}`, "--tls", "--ca", `${dir}/ca.pem`];
    const without = await runRtr([...base, "--timeout", "10"]);
    eq(without.code, 1);
    eq(without.stdout, "");
    // The last line says why (earlier lines, if any, are the client's version fallbacks).
    assertIncludes(without.stderr.trim().split("\n").at(-1)!, "CertificateRequired");
    assertIncludes(srv.log(), "tls: handshake failed: peer sent no certificates");
    const withCert = await runRtr([
      ...base,
      "--cert",
      `${dir}/router.pem`,
      "--key",
      `${dir}/router.key`,
      "--format",
      "csv",
    ]);
    eq(withCert.code, 0, withCert.stderr);
    assertIncludes(withCert.stdout, "AS64496,192.0.2.0/24,24");
    assertIncludes(srv.log(), "(TLS, client certificates)");
  } finally {
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls: --tls alone defaults the port to 324, and serve checks the TLS flags", async () => {
  // Nothing listens on 127.0.0.1:324 in a test: the message names the port tried.
  const r = await runRtr(["snapshot", "127.0.0.1", "--tls", "--timeout", "5"]);
  eq(r.code, 1);
  assertIncludes(r.stderr, "Cannot connect to 127.0.0.1:324:");
  const ca = await runRtr(["serve", "t.json", "--tls-client-ca", "ca.pem"]);
  eq(ca.code, 2);
  assertIncludes(ca.stderr, "--tls-client-ca needs --tls");
  const req = await runRtr([
    "serve",
    "t.json",
    "--tls",
    "--cert",
    "c",
    "--key",
    "k",
    "--tls-require-client-cert",
  ]);
  eq(req.code, 2);
  assertIncludes(req.stderr, "--tls-require-client-cert needs --tls-client-ca FILE");
});
