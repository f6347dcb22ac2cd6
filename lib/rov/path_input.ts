/**
 * Routes with their AS path, read from text for `validate --aspa`: `PREFIX AS_PATH` lines (the
 * path as BGP carries it, neighbour first and origin last; AS_SET as `{64510,64511}`) and the
 * one-line-per-route form of `bgpdump -m` (`TABLE_DUMP2|…|B|PEER_IP|PEER_AS|PREFIX|AS_PATH|…`,
 * `BGP4MP|…|A|…`). Confederation segments (`(…)` and `[…]` in bgpdump's notation, RFC 5065) are
 * dropped: AS path verification looks at the path as it leaves the confederation. The origin for
 * route origin validation follows RFC 6811 §2: the last AS of a final AS_SEQUENCE, NONE (here: no
 * origin, which matches no VRP) when the path ends in an AS_SET or is empty.
 */
import { parseAsnText, type ParsedRoute, parseRouteLine } from "./origin.ts";
import { NEIGHBOUR_ROLES, type NeighbourRole } from "./aspa.ts";

/** One segment of a path as written: an AS number (AS_SEQUENCE member) or an AS_SET. */
export type PathSegment = number | number[];

/** A route with its AS path. */
export interface PathRoute {
  /** Prefix and origin (`asn` is 0 when the origin is NONE, see `originKnown`). */
  route: ParsedRoute;
  /** False when the path is empty or ends in an AS_SET (RFC 6811 §2: origin NONE). */
  originKnown: boolean;
  /** The AS_SEQUENCE members in BGP order, prepends kept (empty when `hasSet`). */
  path: number[];
  /** The path as written, sets as arrays. */
  segments: PathSegment[];
  /** The path holds an AS_SET. */
  hasSet: boolean;
  /** The neighbour's AS: the peer AS of a bgpdump line or a `neighbour-as=` field; -1 if none. */
  neighbourAs: number;
  /** A `neighbour=ROLE` field of the line, or null. */
  role: NeighbourRole | null;
}

/** What `parsePathLine` gives: a route, a message saying what is wrong, or null (not a route). */
export type PathLine = PathRoute | string | null;

/** Parse an AS number with or without `AS`, or -1. */
function asn(s: string): number {
  return parseAsnText(s);
}

/**
 * Parse an AS path as written (`64502 64501 {64510,64511}`, `AS64502 AS64501`, bgpdump's
 * `(65001 65002)` confederation segments dropped) into `out`; returns an error message or null.
 */
export function parseAsPath(text: string, out: PathRoute): string | null {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (c === 123 /* { */ || c === 40 /* ( */ || c === 91 /* [ */) {
      const close = c === 123 ? "}" : c === 40 ? ")" : "]";
      const end = text.indexOf(close, i + 1);
      if (end < 0) return `unclosed ${String.fromCharCode(c)} in AS path ${JSON.stringify(text)}`;
      const members: number[] = [];
      for (const t of text.slice(i + 1, end).split(/[\s,]+/)) {
        if (t === "") continue;
        const a = asn(t);
        if (a < 0) return `invalid AS number ${JSON.stringify(t)} in AS path`;
        members.push(a);
      }
      i = end + 1;
      if (c !== 123) continue; // confederation segment: dropped
      if (members.length === 0) return `empty AS_SET in AS path ${JSON.stringify(text)}`;
      out.segments.push(members);
      out.hasSet = true;
      continue;
    }
    const start = i;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 32 || d === 9 || d === 123 || d === 40 || d === 91) break;
      i++;
    }
    const t = text.slice(start, i);
    const a = asn(t);
    if (a < 0) return `invalid AS number ${JSON.stringify(t)} in AS path`;
    out.segments.push(a);
    out.path.push(a);
  }
  const last = out.segments[out.segments.length - 1];
  out.originKnown = typeof last === "number";
  out.route.asn = typeof last === "number" ? last : 0;
  if (out.hasSet) out.path.length = 0;
  return null;
}

function blank(route: ParsedRoute): PathRoute {
  return {
    route,
    originKnown: false,
    path: [],
    segments: [],
    hasSet: false,
    neighbourAs: -1,
    role: null,
  };
}

/** Parse a prefix the way `validate` reads one (`ADDRESS/LENGTH`), or return a message. */
function prefix(text: string): ParsedRoute | string {
  if (!text.includes("/")) return `expected PREFIX AS_PATH, got ${JSON.stringify(text)}`;
  const r = parseRouteLine(`${text} 0`);
  return typeof r === "string" ? r.replace(/^expected PREFIX ASN.*/, "invalid prefix") : r;
}

/** A `bgpdump -m` line: the route, a message, or null for lines that are not routes. */
function parseBgpdump(line: string): PathLine {
  const f = line.split("|");
  const kind = f[0];
  if (!kind.startsWith("TABLE_DUMP") && !kind.startsWith("BGP4MP")) {
    return `expected a bgpdump -m line (TABLE_DUMP2|…, BGP4MP|…), got ${
      JSON.stringify(kind.slice(0, 20))
    }`;
  }
  if (f[2] !== "B" && f[2] !== "A") return null; // withdrawals, state changes
  if (f.length < 7) return `bgpdump -m line has ${f.length} fields, expected at least 7`;
  const r = prefix(f[5]);
  if (typeof r === "string") return r;
  const out = blank(r);
  const peer = asn(f[4]);
  if (peer < 0) return `invalid peer AS ${JSON.stringify(f[4])}`;
  out.neighbourAs = peer;
  return parseAsPath(f[6], out) ?? out;
}

/**
 * Parse one input line of `validate --aspa`: `PREFIX AS_PATH [neighbour=ROLE]
 * [neighbour-as=N]` (fields separated by spaces or tabs; AS_SET in braces) or a `bgpdump -m`
 * line. Returns the route, a message saying what is wrong, or null when the line is valid input
 * but no route (a bgpdump withdrawal or state change).
 */
export function parsePathLine(line: string): PathLine {
  if (line.includes("|")) return parseBgpdump(line);
  let i = 0;
  const n = line.length;
  while (i < n && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
  const r = prefix(line.slice(0, i));
  if (typeof r === "string") return r;
  const out = blank(r);
  let rest = line.slice(i);
  // Per-line overrides: key=value fields, anywhere after the prefix.
  if (rest.includes("=")) {
    const kept: string[] = [];
    for (const t of rest.trim().split(/[ \t]+/)) {
      const eq = t.indexOf("=");
      if (eq < 0) {
        kept.push(t);
        continue;
      }
      const key = t.slice(0, eq), value = t.slice(eq + 1);
      if (key === "neighbour" || key === "neighbor") {
        if (!(NEIGHBOUR_ROLES as readonly string[]).includes(value)) {
          return `invalid neighbour ${JSON.stringify(value)}, expected one of ${
            NEIGHBOUR_ROLES.join(", ")
          }`;
        }
        out.role = value as NeighbourRole;
      } else if (key === "neighbour-as" || key === "neighbor-as") {
        const a = asn(value);
        if (a < 0) return `invalid neighbour-as ${JSON.stringify(value)}`;
        out.neighbourAs = a;
      } else return `unknown field ${JSON.stringify(key)}, expected neighbour= or neighbour-as=`;
    }
    rest = kept.join(" ");
  }
  return parseAsPath(rest, out) ?? out;
}
