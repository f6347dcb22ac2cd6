/** Test helpers for SSH: throwaway keys made with ssh-keygen, known_hosts lines, a temp dir. */
import { runCommand } from "./peers.ts";

/** A key pair on disk and what ssh-keygen says of it. */
export interface TestKey {
  /** Private key file. */
  file: string;
  /** Public key file (`FILE.pub`). */
  pub: string;
  /** `TYPE BASE64` of the public key. */
  publicLine: string;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** Make a key with ssh-keygen: `ed25519` (OpenSSH format) or `ecdsa`/`rsa` (PEM with `pem`). */
export async function makeKey(
  dir: string,
  name: string,
  type: "ed25519" | "ecdsa" | "rsa" = "ed25519",
  pem = false,
): Promise<TestKey> {
  const file = `${dir}/${name}`;
  const args = ["-q", "-t", type, "-N", "", "-C", name, "-f", file];
  if (type === "rsa") args.push("-b", "2048");
  if (pem) args.push("-m", "PEM");
  const r = await runCommand("ssh-keygen", args, { timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`ssh-keygen ${args.join(" ")}: ${r.stderr}`);
  const l = await runCommand("ssh-keygen", ["-l", "-f", `${file}.pub`], { timeoutMs: 30000 });
  const fingerprint = l.stdout.split(" ")[1];
  const publicLine = (await Deno.readTextFile(`${file}.pub`)).split(" ").slice(0, 2).join(" ");
  return { file, pub: `${file}.pub`, publicLine, fingerprint };
}

/** A known_hosts line for `key` at 127.0.0.1:port (hashed with `ssh-keygen -H` when asked). */
export async function knownHostsFile(
  dir: string,
  name: string,
  port: number,
  key: TestKey,
  hashed = false,
): Promise<string> {
  const file = `${dir}/${name}`;
  await Deno.writeTextFile(file, `[127.0.0.1]:${port} ${key.publicLine}\n`);
  if (hashed) {
    const r = await runCommand("ssh-keygen", ["-H", "-f", file], { timeoutMs: 30000 });
    if (r.code !== 0) throw new Error(`ssh-keygen -H: ${r.stderr}`);
  }
  return file;
}

/**
 * Options for `ssh` (OpenSSH) that never touch the user's files or ask anything; `config` is
 * an empty file to read instead of ~/.ssh/config.
 */
export function openSshArgs(
  port: number,
  keyFile: string,
  knownHosts: string,
  config: string,
): string[] {
  return [
    "-F",
    config,
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "LogLevel=ERROR",
    "-i",
    keyFile,
    "-p",
    String(port),
  ];
}
