/** A throwaway PKI made with openssl for TLS tests: a CA, server and client certificates. */
import { runCommand } from "./peers.ts";

async function openssl(dir: string, args: string[]): Promise<void> {
  const r = await runCommand("openssl", args, { cwd: dir, timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** Make CA `name` (`name.pem`, `name.key`) in `dir`. */
export async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
}

/**
 * Make `name.pem`/`name.key` signed by CA `ca`, with subjectAltName `san` (e.g.
 * "IP:127.0.0.1,DNS:localhost") for `usage` serverAuth or clientAuth.
 */
export async function makeCert(
  dir: string,
  name: string,
  ca: string,
  san: string,
  usage: "serverAuth" | "clientAuth",
): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/${name}.cnf`,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=${usage}\nsubjectAltName=${san}\n`,
  );
  await openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
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
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.cnf`,
  ]);
}
