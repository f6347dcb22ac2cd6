/**
 * `rtr validate --aspa`: route origin validation (RFC 6811) and AS_PATH verification with ASPA
 * (draft-ietf-sidrops-aspa-verification-19) of routes with their AS path, explained hop by hop.
 * Input: `PREFIX AS_PATH` lines or `bgpdump -m` lines (path_input.ts); output: NDJSON
 * `validation` records with an `rov` and an `aspa` verdict, a text line per route with the first
 * failing hop in words, or a summary of (rov × aspa) counts.
 */
import { eachLine } from "../io/mod.ts";
import { UsageError } from "../errors.ts";
import { formatPrefix, putIpv4, putIpv6 } from "../model/prefix.ts";
import { W } from "../model/vrp_set.ts";
import {
  ASPA_INVALID,
  ASPA_STATES,
  ASPA_UNKNOWN,
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
import { type ByteWriter, warn } from "./io.ts";
import { ascii, AsciiBuffer, putBytes, putUint, utf8 } from "../io/mod.ts";
import { loadSource } from "./table_source.ts";

/** The flags `--aspa` adds to `validate`. */
export const ASPA_OPTIONS: OptionSpec = {
  aspa: { type: "boolean" },
  neighbour: { type: "string" },
  neighbor: { type: "string" },
  "neighbour-as": { type: "string" },
  "neighbor-as": { type: "string" },
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
                    line's peer AS is used when present); also --neighbor-as`;

const B = ascii;

/**
 * The output of `validate --aspa`: the shared ASCII builder plus chainable pieces. A record is
 * written as few pieces as it can be: the constant text between two values is one piece (e.g.
 * the ASPA state, procedure and reason with the key that follows), because each piece costs
 * about as much as copying a few dozen bytes. `#record` makes room once (`ensure`), then `put`
 * and `num` write without checking.
 */
class RecordBytes extends AsciiBuffer {
  constructor() {
    super(1 << 16);
  }

  /** Append constant bytes (room made by the caller). */
  put(src: Uint8Array): this {
    this.pos = putBytes(this.buf, this.pos, src);
    return this;
  }

  /** Append an unsigned integer in decimal (room made by the caller). */
  num(v: number): this {
    this.pos = putUint(this.buf, this.pos, v);
    return this;
  }

  /**
   * Append the hop objects of an explanation (`{"from":A,"to":B,"result":"…"}`, with `reverse`
   * when `down`) and the key after them, in one tight loop: this is most of a record's bytes.
   */
  hops(e: AspaExplanation, down: boolean): void {
    const n = e.n, seq = e.seq, up = e.up, dn = e.down;
    this.ensure(n * 120 + 32);
    const b = this.buf;
    let p = this.pos;
    if (n < 2) {
      this.pos = putBytes(b, p, J_NO_HOPS);
      return;
    }
    p = putBytes(b, p, J_HOP_FIRST);
    for (let i = 0; i + 1 < n; i++) {
      p = putUint(b, p, seq[i]);
      p = putBytes(b, p, J_TO);
      p = putUint(b, p, seq[i + 1]);
      const code = down ? 3 + up[i] * 3 + dn[i] : up[i];
      p = putBytes(b, p, i + 2 < n ? J_RESULT_NEXT[code] : J_RESULT_LAST[code]);
    }
    this.pos = p;
  }
}

const J_START = B(`{"type":"validation","prefix":"`);
const J_PATH = B(`","path":[`);
const J_ASN = B(`],"asn":`);
const J_NEIGHBOUR = NEIGHBOUR_ROLES.map((r) => B(`,"neighbour":"${r}","neighbourAs":`));
const J_NEIGHBOUR_NULL = NEIGHBOUR_ROLES.map((r) => B(`,"neighbour":"${r}","neighbourAs":null`));
const ROV_REASONS = [null, "as", "length", "as-and-length"] as const;
/** `,"rov":{…,"matched":[` by rov state index × 4 + reason index. */
const J_ROV = ["valid", "invalid", "not-found"].flatMap((s) =>
  ROV_REASONS.map((r) =>
    B(`,"rov":{"state":"${s}","reason":${r === null ? "null" : `"${r}"`},"matched":[`)
  )
);
const J_UNMATCHED_AS = B(`],"unmatchedAs":[`);
const J_UNMATCHED_LENGTH = B(`],"unmatchedLength":[`);
const J_NO_UNMATCHED = B(`],"unmatchedAs":[],"unmatchedLength":[]`);
const ASPA_REASONS = [null, "empty", "as-set", "neighbour", "hop"] as const;
/** `},"aspa":{…,"hops":[` by (state code × 2 + procedure code) × 5 + reason index. */
const J_ASPA = ASPA_STATES.flatMap((s) =>
  ["upstream", "downstream"].flatMap((proc) =>
    ASPA_REASONS.map((r) =>
      B(`},"aspa":{"state":"${s}","procedure":"${proc}","reason":${
        r === null ? "null" : `"${r}"`
      },"hops":[`)
    )
  )
);
const J_HOP_FIRST = B(`{"from":`);
const J_TO = B(`,"to":`);
/** A hop's result (0–2: upstream; 3 + up × 3 + down: with `reverse`), and what follows it. */
const HOP_ENDINGS = [
  ...HOP_RESULTS.map((r) => `,"result":"${r}"}`),
  ...HOP_RESULTS.flatMap((r) => HOP_RESULTS.map((q) => `,"result":"${r}","reverse":"${q}"}`)),
];
const J_RESULT_NEXT = HOP_ENDINGS.map((t) => B(`${t},{"from":`));
const J_RESULT_LAST = HOP_ENDINGS.map((t) => B(`${t}],"maxUpRamp":`));
const J_NO_HOPS = B(`],"maxUpRamp":`);
const J_MIN_UP = B(`,"minUpRamp":`);
const J_MAX_DOWN = B(`,"maxDownRamp":`);
const J_MIN_DOWN = B(`,"minDownRamp":`);
const J_END = B("}}\n");
const NULL = B("null");

const FORMATS = ["ndjson", "text", "summary"] as const;
/** An output format of `validate --aspa`. */
export type AspaFormat = typeof FORMATS[number];
const ROV_STATES = ["valid", "invalid", "not-found"] as const;

/** Writes the verdicts of routes in one format (exported for bench/aspa_bench.ts). */
export class AspaWriter {
  readonly #rov: RovIndex;
  readonly #aspa: AspaIndex;
  readonly #format: AspaFormat;
  readonly #role: NeighbourRole;
  readonly #neighbourAs: number;
  readonly #w: ByteWriter;
  readonly #e = new AspaExplanation();
  readonly #opts = { procedure: 0, neighbourAs: -1, hasSet: false };
  /** Each VRP's JSON, rendered once (indexed by record, packed so lookups stay fast). */
  readonly #vrpJson: (Uint8Array | null)[];
  readonly #b = new RecordBytes();
  #headerDone = false;
  /** Routes answered, by what `--fail-on` can name. */
  readonly seen = { invalid: 0, "not-found": 0, unknown: 0 };
  /** Summary counts: rov state index × 3 + aspa state code. */
  readonly counts = new Float64Array(9);

  constructor(
    rov: RovIndex,
    aspa: AspaIndex,
    opts: { format: AspaFormat; role: NeighbourRole; neighbourAs: number },
    w: ByteWriter,
  ) {
    this.#rov = rov;
    this.#vrpJson = new Array(rov.set.size).fill(null);
    this.#aspa = aspa;
    this.#format = opts.format;
    this.#role = opts.role;
    this.#neighbourAs = opts.neighbourAs;
    this.#w = w;
  }

  /** Verify one route and write its verdicts. */
  route(r: PathRoute): void {
    const role = r.role ?? this.#role;
    const neighbourAs = r.neighbourAs >= 0 ? r.neighbourAs : this.#neighbourAs;
    const rov = this.#rov.validate(r.route);
    const o = this.#opts;
    o.procedure = procedureOf(role);
    o.neighbourAs = checksNeighbour(role) ? neighbourAs : -1;
    o.hasSet = r.hasSet;
    const e = this.#aspa.explain(r.path, r.path.length, o, this.#e);
    const seen = this.seen;
    if (rov.state === "invalid" || e.state === ASPA_INVALID) seen.invalid++;
    if (rov.state === "not-found") seen["not-found"]++;
    if (e.state === ASPA_UNKNOWN) seen.unknown++;
    if (this.#format === "summary") {
      this.counts[ROV_STATES.indexOf(rov.state) * 3 + e.state]++;
      return;
    }
    if (this.#format === "text") {
      const prefix = formatPrefix(r.route.family, r.route.addr, r.route.length);
      return this.#textLine(prefix, r, role, rov, e);
    }
    this.#record(r, role, neighbourAs, rov, e);
  }

  /**
   * One NDJSON `validation` record, built as bytes: a million records built as strings cost more
   * than verifying them.
   */
  #record(
    r: PathRoute,
    role: NeighbourRole,
    neighbourAs: number,
    rov: RovResult,
    e: AspaExplanation,
  ): void {
    const b = this.#b;
    // Everything but the hops and AS_SETs (which reserve their own) fits in this.
    b.ensure(
      512 + 12 * r.segments.length +
        100 * (rov.matched.length + rov.unmatchedAs.length + rov.unmatchedLength.length),
    );
    b.put(J_START);
    const a = r.route.addr;
    let p = r.route.family === 4 ? putIpv4(b.buf, b.pos, a[0]) : putIpv6(b.buf, b.pos, a);
    b.buf[p++] = 47; // "/"
    b.pos = putUint(b.buf, p, r.route.length);
    b.put(J_PATH);
    const segs = r.segments;
    for (let k = 0; k < segs.length; k++) {
      const g = segs[k];
      if (k > 0) b.buf[b.pos++] = 44; // ","
      if (typeof g === "number") b.num(g);
      else b.text(`[${g.join(",")}]`);
    }
    b.put(J_ASN);
    if (r.originKnown) b.num(r.route.asn);
    else b.put(NULL);
    const ri = NEIGHBOUR_ROLES.indexOf(role);
    if (neighbourAs >= 0) b.put(J_NEIGHBOUR[ri]).num(neighbourAs);
    else b.put(J_NEIGHBOUR_NULL[ri]);
    b.put(J_ROV[ROV_STATES.indexOf(rov.state) * 4 + ROV_REASONS.indexOf(rov.reason)]);
    this.#list(rov.matched);
    if (rov.unmatchedAs.length === 0 && rov.unmatchedLength.length === 0) b.put(J_NO_UNMATCHED);
    else {
      b.put(J_UNMATCHED_AS);
      this.#list(rov.unmatchedAs);
      b.put(J_UNMATCHED_LENGTH);
      this.#list(rov.unmatchedLength);
      b.buf[b.pos++] = 93; // "]"
    }
    const down = e.procedure === DOWNSTREAM;
    b.put(J_ASPA[(e.state * 2 + e.procedure) * 5 + ASPA_REASONS.indexOf(e.reason)]);
    b.hops(e, down);
    b.num(e.maxUp).put(J_MIN_UP).num(e.minUp);
    if (down) b.put(J_MAX_DOWN).num(e.maxDown).put(J_MIN_DOWN).num(e.minDown);
    b.put(J_END);
  }

  /** The VRPs of one list, comma-separated (each VRP's JSON is rendered once). */
  #list(l: readonly number[]): void {
    const b = this.#b;
    for (let k = 0; k < l.length; k++) {
      if (k > 0) b.buf[b.pos++] = 44; // ","
      b.bytes(this.#vrpJson[l[k]] ??= utf8(this.#vrp(l[k])));
    }
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
    const out = this.#b;
    if (!this.#headerDone) {
      this.#headerDone = true;
      out.text(
        `${pad("ROUTE", 20)} ${pad("ROV", 10)} ${pad("ASPA", 8)} ${pad("NEIGHBOUR", 10)} PATH\n`,
      );
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

  /** Write out everything appended so far. */
  async flush(): Promise<void> {
    const b = this.#b;
    let off = 0;
    while (off < b.pos) off += await this.#w.write(b.buf.subarray(off, b.pos));
    b.reset();
  }

  /** Bytes appended and not yet written. */
  get pending(): number {
    return this.#b.pos;
  }

  /** The summary table of (rov × aspa) counts. */
  summary(bad: number): void {
    const c = this.counts, cols = ASPA_STATES;
    let total = 0;
    for (const v of c) total += v;
    const out = this.#b;
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
      this.#b.text(`{"type":"error","line":${line},"message":${JSON.stringify(message)}}\n`);
    } else warn(`rtr: line ${line}: ${message}`);
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** Verify every line of `input`, answering each chunk as it arrives; returns the bad lines. */
async function verifyStream(input: ReadableStream<Uint8Array>, w: AspaWriter): Promise<number> {
  let bad = 0;
  await eachLine(input, (line, lineNo) => {
    const t = line.trim();
    if (t === "" || t.charCodeAt(0) === 35 /* # */) return;
    const r = parsePathLine(t);
    if (r === null) return;
    if (typeof r === "string") {
      bad++;
      w.error(lineNo, r);
    } else w.route(r);
  }, () => w.flush());
  return bad;
}

/** Refuse the flags of `--aspa` when it is not given (they would be ignored silently). */
export function rejectAspaFlags(p: Parsed): void {
  for (const name of ["neighbour", "neighbor", "neighbour-as", "neighbor-as"]) {
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

/** Run `validate --aspa` with parsed flags, writing to `out` (stdout). */
export async function runAspa(p: Parsed, out: ByteWriter): Promise<number> {
  const format = (str(p, "format") ?? "ndjson") as AspaFormat;
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
  const failOn = failOnStates(p.values["fail-on"]);
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
