/**
 * `rtr validate --aspa`: route origin validation (RFC 6811) and AS_PATH verification with ASPA
 * (draft-ietf-sidrops-aspa-verification-19) of routes with their AS path, explained hop by hop.
 * Input: `PREFIX AS_PATH` lines or `bgpdump -m` lines (path_input.ts); output: NDJSON
 * `validation` records with an `rov` and an `aspa` verdict, a text line per route with the first
 * failing hop in words, or a summary of (rov × aspa) counts.
 */
import { UsageError } from "../errors.ts";
import {
  AspaIndex,
  NEIGHBOUR_ROLES,
  type NeighbourRole,
  parseAsnText,
  parsePathLine,
  type PathRoute,
  RovIndex,
} from "../rov/mod.ts";
import { type OptionSpec, type Parsed, str } from "./args.ts";
import { type ByteWriter, warn } from "./io.ts";
import { ASPA_FORMATS, type AspaFormat, AspaWriter } from "./aspa_writer.ts";
import { verifyInput } from "./aspa_threads.ts";
import { loadSource } from "./table_source.ts";

/** The flags `--aspa` adds to `validate`. */
export const ASPA_OPTIONS: OptionSpec = {
  aspa: { type: "boolean" },
  neighbour: { type: "string" },
  neighbor: { type: "string" },
  "neighbour-as": { type: "string" },
  "neighbor-as": { type: "string" },
  threads: { type: "string" },
};

/** The paragraph of `validate --help` on AS path verification. */
export const ASPA_RULES = `With --aspa, each route's AS path is also verified with ASPA records
(draft-ietf-sidrops-aspa-verification-19). Prepends are collapsed; hop(C, P) is provider+
when C's records (all of them together) list P, not-provider+ when C has a record without
P (a record of AS0 alone: C has no providers), no-attestation when C has none. Upstream
(a route from a customer, peer, RS or RS-client): invalid on any not-provider+ hop from the
origin up, unknown on any no-attestation hop, else valid. Downstream (from a provider): an
up-ramp from the origin and a down-ramp from the neighbour, with at most one lateral hop
between them; invalid when even counting no-attestation as provider+ they cannot meet,
unknown when only that way, else valid. An empty path, an AS_SET, or a path whose most
recent AS is not the neighbour's AS is invalid. With --aspa, --fail-on takes invalid (the
origin or the path), not-found (the origin) or unknown (the path).
`;

/** Help lines for ASPA_OPTIONS. */
export const ASPA_HELP =
  `  --aspa            also verify each route's AS path with the table's ASPA records
                    (draft-ietf-sidrops-aspa-verification-19): input lines are then
                    PREFIX AS_PATH (neighbour first, origin last, AS_SET as {A,B};
                    optional fields neighbour=ROLE neighbour-as=N) or bgpdump -m lines;
                    formats ndjson, text, summary (rov × aspa counts)
  --neighbour ROLE  what the neighbour that sent the routes is to you: customer
                    (default), peer, rs-client (upstream verification), rs (a
                    transparent route server: upstream, no neighbour check) or provider
                    (downstream verification); also spelt --neighbor
  --neighbour-as N  the neighbour's AS: the path's most recent AS must be it (a bgpdump
                    line's peer AS is used when present); also --neighbor-as
  --threads N       worker threads verifying and rendering stdin past its first 4 MiB
                    (default: the CPUs, at most 4; 1: all on one thread); the output is
                    the same, in input order`;

/** Refuse the flags of `--aspa` when it is not given (they would be ignored silently). */
export function rejectAspaFlags(p: Parsed): void {
  for (const name of ["neighbour", "neighbor", "neighbour-as", "neighbor-as", "threads"]) {
    if (p.values[name] !== undefined) {
      throw new UsageError(`--${name} needs --aspa (see 'rtr validate --help')`);
    }
  }
}

/** The neighbour role and AS from the flags (either spelling). */
function neighbourFlags(p: Parsed): { role: NeighbourRole; neighbourAs: number } {
  const role = str(p, "neighbour") ?? str(p, "neighbor") ?? "customer";
  if (!(NEIGHBOUR_ROLES as readonly string[]).includes(role)) {
    throw new UsageError(
      `Unknown --neighbour ${JSON.stringify(role)}: use one of ${NEIGHBOUR_ROLES.join(", ")}`,
    );
  }
  const asText = str(p, "neighbour-as") ?? str(p, "neighbor-as");
  const neighbourAs = asText === undefined ? -1 : parseAsnText(asText);
  if (asText !== undefined && neighbourAs < 0) {
    throw new UsageError(
      `--neighbour-as must be an AS number from 0 to 4294967295, got ${JSON.stringify(asText)}`,
    );
  }
  return { role: role as NeighbourRole, neighbourAs };
}

/** `--threads N`: 1 to 64; by default the CPUs, at most 4. */
function threadsFlag(p: Parsed): number {
  const text = str(p, "threads");
  if (text === undefined) return Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1));
  const n = /^[0-9]{1,2}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 64)) {
    throw new UsageError(`--threads must be a number from 1 to 64, got ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * Input answered on the main thread before worker threads start (below it, starting them costs
 * more than they save: about 0.2 s each to load and build their indexes), and a batch's size.
 */
const INLINE_BYTES = 4 << 20, BATCH_BYTES = 1 << 19;

/** Run `validate --aspa` with parsed flags, writing to `out` (stdout). */
export async function runAspa(p: Parsed, out: ByteWriter): Promise<number> {
  const format = (str(p, "format") ?? "ndjson") as AspaFormat;
  if (!ASPA_FORMATS.includes(format)) {
    throw new UsageError(
      `--format ${JSON.stringify(format)} is not available with --aspa: use one of ${
        ASPA_FORMATS.join(", ")
      }`,
    );
  }
  if (p.values["more-specifics"]) {
    throw new UsageError("--more-specifics is not available with --aspa");
  }
  const failOn = failOnStates(p.values["fail-on"]);
  const { role, neighbourAs } = neighbourFlags(p);
  const threads = threadsFlag(p);
  let single: PathRoute | undefined;
  if (p.positionals.length > 0) {
    const r = parsePathLine(p.positionals.join(" "));
    if (r === null || typeof r === "string") {
      throw new UsageError(`${r ?? "not a route"} (see 'rtr validate --help')`);
    }
    single = r;
  } else if (str(p, "from") === "-") {
    throw new UsageError("--from - reads the table from stdin, so give the route as arguments");
  }
  const { table } = await loadSource(p, "validate");
  if (table.aspas.length === 0) {
    warn("rtr: warning: the table holds no ASPA records (a cache sends them only at protocol 2)");
  }
  const aspa = new AspaIndex(table.aspas);
  const w = new AspaWriter(new RovIndex(table.vrps), aspa, { format, role, neighbourAs }, out);
  let bad = 0;
  if (single) w.route(single);
  else {
    ({ bad } = await verifyInput(
      Deno.stdin.readable,
      w,
      out,
      { vrps: table.vrps.data, aspa: aspa.parts, format, role, neighbourAs },
      { threads, inlineBytes: INLINE_BYTES, batchBytes: BATCH_BYTES },
    ));
  }
  if (format === "summary") w.summary(bad);
  await w.flush();
  if (bad > 0) warn(`rtr: ${bad} input line${bad === 1 ? " was" : "s were"} not a route`);
  let failed = false;
  for (const s of failOn) {
    const n = w.seen[s];
    if (n === 0) continue;
    failed = true;
    warn(`rtr: ${n} route${n === 1 ? " is" : "s are"} ${s} (--fail-on ${s})`);
  }
  return bad > 0 || failed ? 1 : 0;
}

/** What `--fail-on` can name with `--aspa`. */
type FailOnState = "invalid" | "not-found" | "unknown";

/**
 * The states of `--fail-on` with `--aspa` (repeatable, or comma-separated): `invalid` (the origin
 * or the path is Invalid: a router checking both drops the route), `not-found` (the origin),
 * `unknown` (the path).
 */
function failOnStates(v: unknown): FailOnState[] {
  const list = Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
  const out: FailOnState[] = [];
  for (const s of list.flatMap((x) => x.split(","))) {
    if (s !== "invalid" && s !== "not-found" && s !== "unknown") {
      throw new UsageError(
        `--fail-on must be invalid, not-found or unknown with --aspa, got ${JSON.stringify(s)}`,
      );
    }
    if (!out.includes(s)) out.push(s);
  }
  return out;
}
