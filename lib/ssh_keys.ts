/**
 * SSH public keys as RTR over SSH needs them (8210bis §9.1: the router SHOULD verify the cache's
 * host key; the cache authenticates routers by public key or password): OpenSSH `known_hosts`
 * lookup (plain, wildcard and hashed entries, `[host]:port`, `@revoked`), `authorized_keys`
 * reading, and SHA256 fingerprints as `ssh-keygen -l` prints them. Pure: text in, verdicts out.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { TransportError } from "./errors.ts";

/** A public key: its type (`ssh-ed25519`, `ssh-rsa`, …) and its wire blob (RFC 4253 §6.6). */
export interface SshPublicKey {
  type: string;
  blob: Uint8Array;
}

/** `SHA256:` and the unpadded base64 of the blob's SHA-256, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named at the start of a blob (RFC 4253 §6.6), or "unknown". */
export function blobType(blob: Uint8Array): string {
  if (blob.length < 4) return "unknown";
  const n = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0);
  if (n === 0 || n > 64 || 4 + n > blob.length) return "unknown";
  return new TextDecoder().decode(blob.subarray(4, 4 + n));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function decodeBase64(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** The name `known_hosts` files use for a host: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** One `known_hosts` entry. */
interface KnownHostsEntry {
  line: number;
  patterns: string;
  revoked: boolean;
  key: SshPublicKey;
}

/** Parsed `known_hosts` text (what `ssh` reads: comments, markers, hashed names). */
export class KnownHosts {
  readonly file: string;
  readonly #entries: KnownHostsEntry[] = [];

  constructor(text: string, file: string) {
    this.file = file;
    text.split("\n").forEach((raw, i) => {
      const fields = raw.trim().split(/\s+/);
      if (fields[0] === "" || fields[0].startsWith("#")) return;
      let revoked = false;
      if (fields[0].startsWith("@")) {
        // @cert-authority lines name a CA, not a host key: host certificates are not used here.
        if (fields[0] !== "@revoked") return;
        revoked = true;
        fields.shift();
      }
      if (fields.length < 3) return;
      const blob = decodeBase64(fields[2]);
      if (!blob || blobType(blob) !== fields[1]) return;
      this.#entries.push({
        line: i + 1,
        patterns: fields[0],
        revoked,
        key: { type: fields[1], blob },
      });
    });
  }

  /** Read `file`; a missing file is an empty list (nothing is known yet). */
  static async load(file: string): Promise<KnownHosts> {
    let text = "";
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new TransportError(`Cannot read known hosts file ${file}: ${firstLine(e)}`);
      }
    }
    return new KnownHosts(text, file);
  }

  /** Entries whose host patterns match `host` on `port`. */
  #matching(host: string, port: number): KnownHostsEntry[] {
    const name = knownHostsName(host, port);
    return this.#entries.filter((e) => hostMatches(e.patterns, name));
  }

  /** Key types this file knows for the host (to prefer them in the key exchange). */
  typesFor(host: string, port: number): string[] {
    return [
      ...new Set(this.#matching(host, port).filter((e) => !e.revoked).map((e) => e.key.type)),
    ];
  }

  /**
   * The verdict on a presented host key: `ok`; `revoked`; `changed` (the file has a different
   * key of the same type for this host: the one it has is in `known`); `unknown`.
   */
  check(host: string, port: number, blob: Uint8Array): HostKeyVerdict {
    const type = blobType(blob);
    const entries = this.#matching(host, port);
    const revoked = this.#entries.find((e) => e.revoked && sameBytes(e.key.blob, blob));
    if (revoked) return { kind: "revoked", line: revoked.line };
    const hit = entries.find((e) => !e.revoked && sameBytes(e.key.blob, blob));
    if (hit) return { kind: "ok", line: hit.line };
    const other = entries.find((e) => !e.revoked && e.key.type === type);
    if (other) return { kind: "changed", line: other.line, known: fingerprint(other.key.blob) };
    return { kind: "unknown" };
  }
}

/** What `KnownHosts.check` found. */
export type HostKeyVerdict =
  | { kind: "ok"; line: number }
  | { kind: "revoked"; line: number }
  | { kind: "changed"; line: number; known: string }
  | { kind: "unknown" };

/**
 * Whether a `known_hosts` host field matches `name`: `|1|salt|hash` (HMAC-SHA1), or a comma list
 * of patterns with `*` and `?` where a matching `!pattern` excludes the host.
 */
export function hostMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    const s = decodeBase64(salt ?? ""), h = decodeBase64(hash ?? "");
    if (!s || !h) return false;
    const mac = createHmac("sha1", s).update(name).digest();
    return sameBytes(new Uint8Array(mac), h);
  }
  let matched = false;
  const lower = name.toLowerCase();
  for (const raw of field.split(",")) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!globMatch(pattern, lower)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globMatch(pattern: string, s: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === s;
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`).test(s);
}

/** Options an `authorized_keys` line may carry here: restrictions the server always applies. */
const HARMLESS_OPTIONS = new Set([
  "restrict",
  "no-pty",
  "no-port-forwarding",
  "no-agent-forwarding",
  "no-x11-forwarding",
  "no-user-rc",
]);

/**
 * The keys of an `authorized_keys` file. Only the `rpki-rtr` subsystem is ever served, so
 * restriction options (`restrict`, `no-pty`, …) are accepted; any other option (`from=`,
 * `command=`, …) would be a promise this server cannot keep, so the file is refused.
 */
export function parseAuthorizedKeys(text: string, file: string): SshPublicKey[] {
  const keys: SshPublicKey[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    let at = -1, blob: Uint8Array | undefined;
    for (let j = 0; j + 1 < fields.length && at < 0; j++) {
      const b = decodeBase64(fields[j + 1]);
      if (b && blobType(b) === fields[j]) [at, blob] = [j, b];
    }
    if (at < 0 || !blob) {
      throw new TransportError(
        `Cannot read authorized keys file ${file}: line ${i + 1} has no key`,
      );
    }
    for (const o of at > 0 ? fields.slice(0, at).join(" ").split(",") : []) {
      if (!HARMLESS_OPTIONS.has(o.toLowerCase())) {
        throw new TransportError(
          `Cannot use authorized keys file ${file}: line ${i + 1} has option ${
            JSON.stringify(o)
          }, which this server cannot honour`,
        );
      }
    }
    keys.push({ type: fields[at], blob });
  });
  return keys;
}

/** True when `blob` is one of `keys`. */
export function isAuthorized(keys: SshPublicKey[], blob: Uint8Array): boolean {
  return keys.some((k) => sameBytes(k.blob, blob));
}

/** Constant-time comparison of two passwords. */
export function samePassword(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** The first line of an error's message, without Deno's "(os error N)" tail. */
export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message.split("\n")[0] : String(e);
  return m.replace(/\s*\(os error \d+\).*$/, "").replace(/\.$/, "");
}
