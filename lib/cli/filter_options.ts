/**
 * The record filter flags shared by commands that print or compare tables: `--asn N`
 * (repeatable), `--prefix P` / `--prefix P+` (repeatable) and `--type vrp|routerKey|aspa`
 * (repeatable or comma-separated), turned into a PayloadFilter (lib/model/filter.ts). Each
 * command words their help in its own columns.
 */
import { UsageError } from "../errors.ts";
import {
  parsePrefixMatch,
  PAYLOAD_TYPES,
  type PayloadFilter,
  type PayloadType,
} from "../model/filter.ts";
import type { OptionSpec, Parsed } from "./args.ts";

/** Option specs of the filter flags. */
export const FILTER_OPTIONS: OptionSpec = {
  asn: { type: "string", multiple: true },
  prefix: { type: "string", multiple: true },
  type: { type: "string", multiple: true },
};

function list(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
}

/** The filter the flags ask for; `typeFlags` names the flags that give types (default --type). */
export function parseFilter(p: Parsed, typeFlags: string[] = ["type"]): PayloadFilter {
  const asns = list(p, "asn").map((s) => {
    const t = s.replace(/^AS/i, "");
    if (!/^\d+$/.test(t) || Number(t) > 0xffffffff) {
      throw new UsageError(`--asn must be an AS number 0 to 4294967295, got ${JSON.stringify(s)}`);
    }
    return Number(t);
  });
  const prefixes = list(p, "prefix").map((s) => {
    const m = parsePrefixMatch(s);
    if (!m) {
      throw new UsageError(
        `--prefix must be ADDRESS/LENGTH or ADDRESS/LENGTH+, got ${JSON.stringify(s)}`,
      );
    }
    return m;
  });
  const types: PayloadType[] = [];
  for (const name of typeFlags) {
    for (const s of list(p, name).flatMap((x) => x.split(","))) {
      const t = PAYLOAD_TYPES.find((x) => x.toLowerCase() === s.trim().toLowerCase());
      if (!t) {
        throw new UsageError(
          `--${name} must be ${PAYLOAD_TYPES.join(", ")}, got ${JSON.stringify(s)}`,
        );
      }
      if (!types.includes(t)) types.push(t);
    }
  }
  return { asns, prefixes, types };
}
