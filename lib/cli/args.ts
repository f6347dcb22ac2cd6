/**
 * Command-line parsing shared by every subcommand, on `node:util` parseArgs (strict): an unknown
 * flag or a missing value is a UsageError (exit 2) with a hint to the command's help.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

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
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new UsageError(`${msg.replace(/\.$/, "")} (see 'rtr ${cmd} --help')`);
  }
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

/** Split `HOST[:PORT]`, `[v6]:PORT` or a bare IPv6 address; `minPort` 0 allows "any free port". */
export function splitHostPort(
  s: string,
  defPort: number,
  minPort = 1,
): { host: string; port: number } {
  let host = s, port = defPort;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (m) {
    host = m[1];
    if (m[2]) port = Number(m[2]);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const i = s.indexOf(":");
    host = s.slice(0, i);
    const p = s.slice(i + 1);
    if (!/^\d+$/.test(p)) throw new UsageError(`Invalid port in ${JSON.stringify(s)}`);
    port = Number(p);
  }
  if (port < minPort || port > 65535) {
    throw new UsageError(`Port must be ${minPort} to 65535, got ${port}`);
  }
  if (host === "") throw new UsageError(`Missing host in ${JSON.stringify(s)}`);
  return { host, port };
}
