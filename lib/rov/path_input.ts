/**
 * Routes with their AS path, read from text for `validate --aspa`: `PREFIX AS_PATH` lines (the
 * path as BGP carries it, neighbour first and origin last; AS_SET as `{64510,64511}`) and the
 * one-line-per-route form of `bgpdump -m` (`TABLE_DUMP2|…|B|PEER_IP|PEER_AS|PREFIX|AS_PATH|…`,
 * `BGP4MP|…|A|…`). Confederation segments (`(…)` and `[…]` in bgpdump's notation, RFC 5065) are
 * dropped: AS path verification looks at the path as it leaves the confederation. The origin for
 * route origin validation follows RFC 6811 §2: the last AS of a final AS_SEQUENCE, NONE (here: no
 * origin, which matches no VRP) when the path ends in an AS_SET or is empty.
 *
 * A whole RIB goes through here, so lines are scanned by character positions: no split, no
 * substring per AS number.
 */
import { parseAsnText, type ParsedRoute } from "./origin.ts";
import { NEIGHBOUR_ROLES, type NeighbourRole } from "./aspa.ts";
import { parseIpv4, parseIpv6, topMask } from "../model/prefix.ts";
import { quoteText } from "../errors.ts";

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

const SPACE = 32, TAB = 9, COMMA = 44;

/** True for the characters that separate the members of a path. */
function isSeparator(c: number): boolean {
  return c === SPACE || c === TAB;
}

/**
 * An AS number in `s[from … to)`, `64496` or `AS64496` (any case); -1 when malformed. No
 * substring is made.
 */
function asnAt(s: string, from: number, to: number): number {
  let i = from;
  if (
    to - i >= 2 && (s.charCodeAt(i) | 0x20) === 0x61 && (s.charCodeAt(i + 1) | 0x20) === 0x73
  ) i += 2;
  if (to - i < 1 || to - i > 10) return -1;
  let x = 0;
  for (; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x <= 0xffffffff ? x : -1;
}

/** Parse the prefix `ADDRESS/LENGTH` in `s[from … to)` (host bits masked), or return a message. */
function prefixAt(s: string, from: number, to: number): ParsedRoute | string {
  const slash = s.indexOf("/", from);
  if (slash < 0 || slash >= to) {
    return `expected PREFIX AS_PATH, got ${quoteText(s.slice(from, to))}`;
  }
  const addrText = s.slice(from, slash);
  // The model's one address parser, so that every command reads addresses alike.
  let family: 4 | 6, addr: number[];
  const v4 = addrText.includes(":") ? null : parseIpv4(addrText);
  if (v4 !== null) {
    family = 4;
    addr = [v4];
  } else {
    const v6 = addrText.includes(":") ? parseIpv6(addrText) : null;
    if (!v6) return `invalid IP address ${quoteText(addrText)}`;
    family = 6;
    addr = v6;
  }
  const max = family === 4 ? 32 : 128;
  let length = 0;
  const n = to - slash - 1;
  for (let i = slash + 1; i < to && n <= 3; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) {
      length = -1;
      break;
    }
    length = length * 10 + c;
  }
  if (n < 1 || n > 3 || length < 0 || length > max) {
    return `invalid prefix length ${quoteText(s.slice(slash + 1, to))}, expected 0 to ${max}`;
  }
  for (let i = 0; i < addr.length; i++) {
    const bits = length - 32 * i;
    addr[i] = bits <= 0 ? 0 : (addr[i] & topMask(bits > 32 ? 32 : bits)) >>> 0;
  }
  return { family, addr, length, asn: 0, addrText };
}

/**
 * Parse the AS path in `s[from … to)` into `out` (members, sets, origin); returns an error
 * message or null.
 */
function asPathAt(s: string, from: number, to: number, out: PathRoute): string | null {
  let i = from;
  while (i < to) {
    const c = s.charCodeAt(i);
    if (isSeparator(c)) {
      i++;
      continue;
    }
    if (c === 123 /* { */ || c === 40 /* ( */ || c === 91 /* [ */) {
      const close = c === 123 ? "}" : c === 40 ? ")" : "]";
      const end = s.indexOf(close, i + 1);
      if (end < 0 || end >= to) {
        return `unclosed ${String.fromCharCode(c)} in AS path ${quoteText(s.slice(from, to))}`;
      }
      const members: number[] = [];
      for (let j = i + 1; j < end;) {
        const d = s.charCodeAt(j);
        if (isSeparator(d) || d === COMMA) {
          j++;
          continue;
        }
        let k = j;
        while (k < end && !isSeparator(s.charCodeAt(k)) && s.charCodeAt(k) !== COMMA) k++;
        const a = asnAt(s, j, k);
        if (a < 0) return `invalid AS number ${quoteText(s.slice(j, k))} in AS path`;
        members.push(a);
        j = k;
      }
      i = end + 1;
      if (c !== 123) continue; // confederation segment: dropped
      if (members.length === 0) {
        return `empty AS_SET in AS path ${quoteText(s.slice(from, to))}`;
      }
      out.segments.push(members);
      out.hasSet = true;
      continue;
    }
    let k = i;
    while (k < to) {
      const d = s.charCodeAt(k);
      if (isSeparator(d) || d === 123 || d === 40 || d === 91) break;
      k++;
    }
    const a = asnAt(s, i, k);
    if (a < 0) return `invalid AS number ${quoteText(s.slice(i, k))} in AS path`;
    out.segments.push(a);
    out.path.push(a);
    i = k;
  }
  const last = out.segments[out.segments.length - 1];
  out.originKnown = typeof last === "number";
  out.route.asn = typeof last === "number" ? last : 0;
  if (out.hasSet) out.path.length = 0;
  return null;
}

/**
 * Parse an AS path as written (`64502 64501 {64510,64511}`, `AS64502 AS64501`, bgpdump's
 * `(65001 65002)` confederation segments dropped) into `out`; returns an error message or null.
 */
export function parseAsPath(text: string, out: PathRoute): string | null {
  return asPathAt(text, 0, text.length, out);
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

/** A `bgpdump -m` line: the route, a message, or null for lines that are not routes. */
function parseBgpdump(line: string): PathLine {
  // Fields: 0 type, 1 time, 2 B/A/W/STATE, 3 peer IP, 4 peer AS, 5 prefix, 6 AS path, …
  const bar = [0, 0, 0, 0, 0, 0, 0, 0];
  let n = 0;
  for (let at = line.indexOf("|"); at >= 0 && n < 7; at = line.indexOf("|", at + 1)) bar[n++] = at;
  const typeEnd = n > 0 ? bar[0] : line.length;
  if (!line.startsWith("TABLE_DUMP") && !line.startsWith("BGP4MP")) {
    return `expected a bgpdump -m line (TABLE_DUMP2|…, BGP4MP|…), got ${
      quoteText(line.slice(0, Math.min(typeEnd, 20)))
    }`;
  }
  if (n >= 2) {
    const kind = line.slice(bar[1] + 1, n >= 3 ? bar[2] : line.length);
    if (kind !== "B" && kind !== "A") return null; // withdrawals, state changes
  }
  if (n < 6) return `bgpdump -m line has ${n + 1} fields, expected at least 7`;
  const pathEnd = n >= 7 ? bar[6] : line.length;
  const r = prefixAt(line, bar[4] + 1, bar[5]);
  if (typeof r === "string") return r;
  const out = blank(r);
  const peer = asnAt(line, bar[3] + 1, bar[4]);
  if (peer < 0) return `invalid peer AS ${quoteText(line.slice(bar[3] + 1, bar[4]))}`;
  out.neighbourAs = peer;
  return asPathAt(line, bar[5] + 1, pathEnd, out) ?? out;
}

/**
 * Parse one input line of `validate --aspa`: `PREFIX AS_PATH [neighbour=ROLE]
 * [neighbour-as=N]` (fields separated by spaces or tabs; AS_SET in braces) or a `bgpdump -m`
 * line. Returns the route, a message saying what is wrong, or null when the line is valid input
 * but no route (a bgpdump withdrawal or state change).
 */
export function parsePathLine(line: string): PathLine {
  if (line.indexOf("|") >= 0) return parseBgpdump(line);
  let i = 0;
  const n = line.length;
  while (i < n && !isSeparator(line.charCodeAt(i))) i++;
  const r = prefixAt(line, 0, i);
  if (typeof r === "string") return r;
  const out = blank(r);
  if (line.indexOf("=", i) < 0) return asPathAt(line, i, n, out) ?? out;
  // Per-line overrides: key=value fields, anywhere after the prefix.
  const kept: string[] = [];
  for (const t of line.slice(i).trim().split(/[ \t]+/)) {
    const eq = t.indexOf("=");
    if (eq < 0) {
      kept.push(t);
      continue;
    }
    const key = t.slice(0, eq), value = t.slice(eq + 1);
    if (key === "neighbour" || key === "neighbor") {
      if (!(NEIGHBOUR_ROLES as readonly string[]).includes(value)) {
        return `invalid neighbour ${quoteText(value)}, expected one of ${
          NEIGHBOUR_ROLES.join(", ")
        }`;
      }
      out.role = value as NeighbourRole;
    } else if (key === "neighbour-as" || key === "neighbor-as") {
      const a = parseAsnText(value);
      if (a < 0) return `invalid neighbour-as ${quoteText(value)}`;
      out.neighbourAs = a;
    } else return `unknown field ${quoteText(key)}, expected neighbour= or neighbour-as=`;
  }
  return parseAsPath(kept.join(" "), out) ?? out;
}
