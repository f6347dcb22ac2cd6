/**
 * `rtr validate --aspa`: route origin validation (RFC 6811) and AS_PATH verification with ASPA
 * (draft-ietf-sidrops-aspa-verification-19) of routes with their AS path, explained hop by hop.
 * Input: `PREFIX AS_PATH` lines or `bgpdump -m` lines (path_input.ts); output: NDJSON
 * `validation` records with an `rov` and an `aspa` verdict, a text line per route with the first
 * failing hop in words, or a summary of (rov × aspa) counts.
 */
import { UsageError } from "../errors.ts";
import { formatPrefix } from "../model/prefix.ts";
import { W } from "../model/vrp_set.ts";
import {
  ASPA_STATES,
  ASPA_VALID,
  AspaExplanation,
  AspaIndex,
  checksNeighbour,
  describeExplanation,
  DOWNSTREAM,
  HOP_RESULTS,
  NEIGHBOUR_ROLES,
  type NeighbourRole,
  parseAsnText,
  parsePathLine,
  type PathRoute,
  procedureOf,
  RovIndex,
  type RovResult,
} from "../rov/mod.ts";
import { type OptionSpec, type Parsed, str } from "./args.ts";
import { warn } from "./io.ts";
import { loadSource } from "./table_source.ts";

/** The flags `--aspa` adds to `validate`. */
export const ASPA_OPTIONS: OptionSpec = {
  aspa: { type: "boolean" },
  neighbour: { type: "string" },
  neighbor: { type: "string" },
  "neighbour-as": { type: "string" },
  "neighbor-as": { type: "string" },
};

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
                    (downstream verification)
  --neighbour-as N  the neighbour's AS: the path's most recent AS must be it (a bgpdump
                    line's peer AS is used when present)`;

/** What validate.ts hands over: its byte output (text, integers, flush). */
export interface AspaOut {
  text(s: string): void;
  uint(v: number): void;
  flush(): Promise<void>;
}

const FORMATS = ["ndjson", "text", "summary"] as const;
type Format = typeof FORMATS[number];
const ROV_STATES = ["valid", "invalid", "not-found"] as const;

/** Writes the verdicts of routes in one format. */
class AspaWriter {
  readonly #rov: RovIndex;
  readonly #aspa: AspaIndex;
  readonly #format: Format;
  readonly #role: NeighbourRole;
  readonly #neighbourAs: number;
  readonly out: AspaOut;
  readonly #e = new AspaExplanation();
  readonly #vrpJson: string[] = [];
  #headerDone = false;
  /** Summary counts: rov state index × 3 + aspa state code. */
  readonly counts = new Float64Array(9);

  constructor(
    rov: RovIndex,
    aspa: AspaIndex,
    opts: { format: Format; role: NeighbourRole; neighbourAs: number },
    out: AspaOut,
  ) {
    this.#rov = rov;
    this.#aspa = aspa;
    this.#format = opts.format;
    this.#role = opts.role;
    this.#neighbourAs = opts.neighbourAs;
    this.out = out;
  }

  /** Verify one route and write its verdicts. */
  route(r: PathRoute): void {
    const role = r.role ?? this.#role;
    const neighbourAs = r.neighbourAs >= 0 ? r.neighbourAs : this.#neighbourAs;
    const rov = this.#rov.validate(r.route);
    const e = this.#aspa.explain(r.path, r.path.length, {
      procedure: procedureOf(role),
      neighbourAs: checksNeighbour(role) ? neighbourAs : -1,
      hasSet: r.hasSet,
    }, this.#e);
    if (this.#format === "summary") {
      this.counts[ROV_STATES.indexOf(rov.state) * 3 + e.state]++;
      return;
    }
    const prefix = formatPrefix(r.route.family, r.route.addr, r.route.length);
    if (this.#format === "text") return this.#textLine(prefix, r, role, rov, e);
    const out = this.out;
    out.text(`{"type":"validation","prefix":"${prefix}","path":`);
    out.text(JSON.stringify(r.segments));
    out.text(`,"asn":`);
    if (r.originKnown) out.uint(r.route.asn);
    else out.text("null");
    out.text(`,"neighbour":"${role}","neighbourAs":`);
    if (neighbourAs >= 0) out.uint(neighbourAs);
    else out.text("null");
    out.text(`,"rov":{"state":"${rov.state}","reason":`);
    out.text(rov.reason ? `"${rov.reason}"` : "null");
    this.#list(`,"matched":`, rov.matched);
    this.#list(`,"unmatchedAs":`, rov.unmatchedAs);
    this.#list(`,"unmatchedLength":`, rov.unmatchedLength);
    out.text(`},"aspa":{"state":"${ASPA_STATES[e.state]}","procedure":"`);
    out.text(e.procedure === DOWNSTREAM ? "downstream" : "upstream");
    out.text(`","reason":`);
    out.text(e.reason ? `"${e.reason}"` : "null");
    out.text(`,"hops":[`);
    const seq = e.seq, n = e.n;
    for (let i = 0; i + 1 < n; i++) this.#hop(i, seq[i], seq[i + 1], e.up[i]);
    out.text(`],"maxUpRamp":`);
    out.uint(e.maxUp);
    out.text(`,"minUpRamp":`);
    out.uint(e.minUp);
    if (e.procedure === DOWNSTREAM) {
      out.text(`,"downHops":[`);
      for (let j = n - 2, k = 0; j >= 0; j--, k++) this.#hop(k, seq[j + 1], seq[j], e.down[j]);
      out.text(`],"maxDownRamp":`);
      out.uint(e.maxDown);
      out.text(`,"minDownRamp":`);
      out.uint(e.minDown);
    }
    out.text("}}\n");
  }

  #hop(k: number, from: number, to: number, result: number): void {
    const out = this.out;
    out.text(k > 0 ? `,{"from":` : `{"from":`);
    out.uint(from);
    out.text(`,"to":`);
    out.uint(to);
    out.text(`,"result":"`);
    out.text(HOP_RESULTS[result]);
    out.text(`"}`);
  }

  #list(key: string, l: readonly number[]): void {
    const out = this.out;
    out.text(key);
    out.text("[");
    for (let k = 0; k < l.length; k++) {
      if (k > 0) out.text(",");
      out.text(this.#vrpJson[l[k]] ??= this.#vrp(l[k]));
    }
    out.text("]");
  }

  #vrp(i: number): string {
    const d = this.#rov.set.data, x = i * W;
    const p = formatPrefix(d[x] >>> 16 === 1 ? 6 : 4, d.subarray(x + 1, x + 5), (d[x] >>> 8) & 255);
    return `{"prefix":"${p}","maxLength":${d[x] & 255},"asn":${d[x + 5]}}`;
  }

  #textLine(
    prefix: string,
    r: PathRoute,
    role: NeighbourRole,
    rov: RovResult,
    e: AspaExplanation,
  ): void {
    const out = this.out;
    if (!this.#headerDone) {
      this.#headerDone = true;
      out.text(`${pad("ROUTE", 20)} ${pad("ROV", 10)} ${pad("ASPA", 8)} ${pad("FROM", 10)} PATH\n`);
    }
    const path = r.segments.map((s) => typeof s === "number" ? s : `{${s.join(",")}}`).join(" ");
    out.text(
      `${pad(prefix, 20)} ${pad(rov.state, 10)} ${pad(ASPA_STATES[e.state], 8)} ${pad(role, 10)} ${
        path === "" ? "(empty)" : path
      }\n`,
    );
    if (e.state !== ASPA_VALID) out.text(`  ${describeExplanation(e)}\n`);
    if (rov.state === "invalid") {
      const l = rov.unmatchedAs.concat(rov.unmatchedLength).map((i) => {
        const v = this.#rov.vrp(i);
        return `${v.prefix}-${v.maxLength} AS${v.asn}`;
      });
      out.text(
        `  Origin ${rov.reason === "length" ? "too specific" : "not authorised"}: ${
          r.originKnown ? `AS${r.route.asn}` : "no origin AS"
        } against ${l.join(", ")}\n`,
      );
    }
  }

  /** The summary table of (rov × aspa) counts. */
  summary(bad: number): void {
    const c = this.counts, cols = ASPA_STATES;
    let total = 0;
    for (const v of c) total += v;
    const out = this.out;
    out.text(`routes ${total}, bad lines ${bad}\n`);
    out.text(
      `${pad("ROV \\ ASPA", 12)}${cols.map((s) => s.padStart(10)).join("")}${
        "total".padStart(10)
      }\n`,
    );
    for (let r = 0; r < 3; r++) {
      let sum = 0;
      let line = pad(ROV_STATES[r], 12);
      for (let a = 0; a < 3; a++) {
        sum += c[r * 3 + a];
        line += String(c[r * 3 + a]).padStart(10);
      }
      out.text(`${line}${String(sum).padStart(10)}\n`);
    }
    let line = pad("total", 12);
    for (let a = 0; a < 3; a++) line += String(c[a] + c[3 + a] + c[6 + a]).padStart(10);
    out.text(`${line}${String(total).padStart(10)}\n`);
  }

  /** Report a line that is not a route: an NDJSON error record, or a line on stderr. */
  error(line: number, message: string): void {
    if (this.#format === "ndjson") {
      this.out.text(`{"type":"error","line":${line},"message":${JSON.stringify(message)}}\n`);
    } else warn(`rtr: line ${line}: ${message}`);
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** Verify every line of `input`, answering each chunk as it arrives; returns the bad lines. */
async function verifyStream(input: ReadableStream<Uint8Array>, w: AspaWriter): Promise<number> {
  const dec = new TextDecoder();
  let rest = "", lineNo = 0, bad = 0;
  const one = (line: string): void => {
    lineNo++;
    const t = line.trim();
    if (t === "" || t.charCodeAt(0) === 35 /* # */) return;
    const r = parsePathLine(t);
    if (r === null) return;
    if (typeof r === "string") {
      bad++;
      w.error(lineNo, r);
    } else w.route(r);
  };
  for await (const chunk of input) {
    const text = rest + dec.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      one(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    await w.out.flush();
  }
  rest += dec.decode();
  if (rest !== "") one(rest);
  return bad;
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

/** Run `validate --aspa` with parsed flags; `out` is validate's byte output on stdout. */
export async function runAspa(p: Parsed, out: AspaOut): Promise<number> {
  const format = (str(p, "format") ?? "ndjson") as Format;
  if (!FORMATS.includes(format)) {
    throw new UsageError(
      `--format ${JSON.stringify(format)} is not available with --aspa: use one of ${
        FORMATS.join(", ")
      }`,
    );
  }
  if (p.values["more-specifics"]) {
    throw new UsageError("--more-specifics is not available with --aspa");
  }
  const { role, neighbourAs } = neighbourFlags(p);
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
  const w = new AspaWriter(
    new RovIndex(table.vrps),
    new AspaIndex(table.aspas),
    { format, role, neighbourAs },
    out,
  );
  let bad = 0;
  if (single) w.route(single);
  else bad = await verifyStream(Deno.stdin.readable, w);
  if (format === "summary") w.summary(bad);
  await out.flush();
  if (bad > 0) warn(`rtr: ${bad} input line${bad === 1 ? " was" : "s were"} not a route`);
  return bad > 0 ? 1 : 0;
}
