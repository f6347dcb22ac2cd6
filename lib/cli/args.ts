/**
 * Command-line parsing shared by every subcommand, on `node:util` parseArgs (strict): an unknown
 * flag (with the nearest known one suggested) or a missing value is a one-line UsageError (exit
 * 2); `HOST:PORT` values are checked here, so a malformed one never reaches a DNS lookup.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";
import { parseIpv4, parseIpv6 } from "../model/prefix.ts";

/** Option specs as parseArgs takes them. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** Parsed flags and positionals. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parse `args` for command `cmd`; `-h/--help` is always accepted. */
export function parseCommandArgs(cmd: string, args: string[], options: OptionSpec): Parsed {
  try {
    const r = parseArgs({
      args,
      options: { help: { type: "boolean", short: "h" }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (e) {
    throw new UsageError(argsErrorText(e, options, cmd));
  }
}

/** Edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The candidate nearest to `name` (a typo or a prefix of it), or undefined when none is close. */
export function nearestName(name: string, candidates: string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const o of candidates) {
    const d = o.startsWith(name) && name.length >= 2 ? 0.5 : distance(name, o);
    if (d < bestD) {
      best = o;
      bestD = d;
    }
  }
  const limit = name.length <= 3 ? 1 : name.length <= 6 ? 2 : 3;
  return bestD <= limit ? best : undefined;
}

/** The known option nearest to `given` (`--name`), or undefined when none is close. */
export function nearestOption(given: string, options: OptionSpec): string | undefined {
  const name = given.replace(/^-+/, "").split("=")[0];
  const near = nearestName(name, ["help", ...Object.keys(options)]);
  return near === undefined ? undefined : `--${near}`;
}

/** One line for a parseArgs error, in our words. */
function argsErrorText(e: unknown, options: OptionSpec, cmd: string): string {
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  const code = (e as { code?: string }).code;
  const see = `(see 'rtr ${cmd} --help')`;
  const unknown = /^Unknown option '([^']+)'/.exec(msg);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown) {
    const near = nearestOption(unknown[1], options);
    return `Unknown option ${unknown[1]} ${near ? `(did you mean ${near}?)` : see}`;
  }
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(msg);
  if (missing) return `Option ${missing[1]} needs a value ${see}`;
  const noArg = /^Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(msg);
  if (noArg) return `Option ${noArg[1]} takes no value ${see}`;
  return `${msg.replace(/\.$/, "").replaceAll("'", "")} ${see}`;
}

/** A string flag's value, or undefined. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

/** A flag as an integer within [min, max], or `def`; a bad value is a UsageError. */
export function int(p: Parsed, name: string, def: number, min: number, max: number): number {
  const v = str(p, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  }
  return Number(v);
}

/** A flag as a positive number of seconds (fractions allowed), or `def`. */
export function seconds(p: Parsed, name: string, def: number): number {
  const v = str(p, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0)) {
    throw new UsageError(
      `--${name} must be a positive number of seconds, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/** A boolean flag. */
export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

const NAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** A valid IPv6 literal, with an optional `%zone`. */
function isIpv6(s: string): boolean {
  const pct = s.indexOf("%");
  const addr = pct >= 0 ? s.slice(0, pct) : s;
  if (pct >= 0 && !/^[A-Za-z0-9_.-]+$/.test(s.slice(pct + 1))) return false;
  return parseIpv6(addr) !== null;
}

/** A host name (RFC 1123 labels), an IPv4 address or an IPv6 address. */
export function isValidHost(host: string): boolean {
  if (host.includes(":")) return isIpv6(host);
  // All digits and dots: only a real dotted quad (getaddrinfo would read "1.2.3" as 1.2.0.3).
  if (/^[\d.]+$/.test(host)) return parseIpv4(host) !== null;
  return NAME_RE.test(host);
}

/**
 * Split `HOST[:PORT]`, `[v6]:PORT` or a bare IPv6 address; `minPort` 0 allows "any free port".
 * A malformed host or port is a UsageError, and so is a bare IPv6 address whose last group
 * could be a port (`::1:8282`: write `[::1]:8282`).
 */
export function splitHostPort(
  s: string,
  defPort: number,
  minPort = 1,
): { host: string; port: number } {
  let host = s, port = defPort;
  const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(s);
  const colons = (s.match(/:/g) ?? []).length;
  if (m) {
    host = m[1];
    if (m[2]) port = Number(m[2]);
    if (!isIpv6(host)) {
      throw new UsageError(`Invalid IPv6 address in ${JSON.stringify(s)}`);
    }
  } else if (s.startsWith("[")) {
    throw new UsageError(`Invalid address ${JSON.stringify(s)}: expected [IPv6]:PORT`);
  } else if (colons === 1) {
    const i = s.indexOf(":");
    host = s.slice(0, i);
    const p = s.slice(i + 1);
    if (!/^\d{1,5}$/.test(p)) throw new UsageError(`Invalid port in ${JSON.stringify(s)}`);
    port = Number(p);
  } else if (colons > 1) {
    const last = s.lastIndexOf(":");
    const head = s.slice(0, last), tail = s.slice(last + 1);
    const portLike = /^\d{1,5}$/.test(tail) && isIpv6(head);
    if (portLike) {
      throw new UsageError(
        `Ambiguous address ${
          JSON.stringify(s)
        }: write [${head}]:${tail} for port ${tail}, or [${s}] for the address`,
      );
    }
    if (!isIpv6(s)) {
      throw new UsageError(
        `Invalid address ${JSON.stringify(s)}: write an IPv6 address with a port as [ADDRESS]:PORT`,
      );
    }
  }
  if (port < minPort || port > 65535) {
    throw new UsageError(`Port must be ${minPort} to 65535, got ${port}`);
  }
  if (host === "") throw new UsageError(`Missing host in ${JSON.stringify(s)}`);
  if (!isValidHost(host)) {
    throw new UsageError(
      `Invalid host ${JSON.stringify(host)} in ${
        JSON.stringify(s)
      }: expected a name, an IPv4 address or [IPv6]:PORT`,
    );
  }
  return { host, port };
}
