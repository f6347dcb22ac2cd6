/** `rtr snapshot --tls` against StayRTR's TLS listener, with a throwaway CA made in the test. */
import { assertEquals as eq, assertIncludes } from "../helpers/assert.ts";
import {
  freePort,
  requirePeers,
  runCommand,
  runRtr,
  startStayRtr,
  stayRtrJson,
  waitForPort,
} from "../helpers/peers.ts";

async function openssl(dir: string, args: string[]) {
  const r = await runCommand("openssl", args, { cwd: dir, timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

async function makePki(dir: string) {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=rtr test CA",
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
  );
  await openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
}

Deno.test("snapshot --tls --ca syncs from StayRTR's TLS port and refuses an untrusted certificate", async () => {
  if (!requirePeers("stayrtr", "openssl")) return;
  const dir = await Deno.makeTempDir();
  await makePki(dir);
  await Deno.writeTextFile(
    `${dir}/t.json`,
    stayRtrJson([{ prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }]),
  );
  const tlsPort = freePort();
  const cache = await startStayRtr(`${dir}/t.json`, [
    "-tls.bind",
    `127.0.0.1:${tlsPort}`,
    "-tls.cert",
    `${dir}/server.pem`,
    "-tls.key",
    `${dir}/server.key`,
  ]);
  try {
    await waitForPort(tlsPort);
    const ok = await runRtr([
      "snapshot",
      `127.0.0.1:${tlsPort}`,
      "--tls",
      "--ca",
      `${dir}/ca.pem`,
      "--format",
      "csv",
    ]);
    eq(ok.code, 0, ok.stderr);
    assertIncludes(ok.stdout, "AS64496,192.0.2.0/24,24");
    const bad = await runRtr(["snapshot", `127.0.0.1:${tlsPort}`, "--tls", "--timeout", "10"]);
    eq(bad.code, 1);
    assertIncludes(bad.stderr, `Cannot connect to 127.0.0.1:${tlsPort}`);
    eq(bad.stderr.trim().split("\n").length, 1);
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
