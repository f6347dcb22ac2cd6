/**
 * `rtr validate`: RFC 6811 route origin validation that explains itself. One route from the
 * arguments or many from stdin (`PREFIX ASN` or RTRlib `rpki-rov`'s `IP MASKLEN ASN`), checked
 * against a table from any source (table_source.ts) through one RovIndex built per run. Output:
 * NDJSON `validation` records naming the deciding VRPs, an aligned text table, or RTRlib
 * `rpki-rov` answer lines (docs/formats.md §4).
 */
import { eachLine } from "../io/mod.ts";
import { UsageError } from "../errors.ts";
import { formatPrefix } from "../model/prefix.ts";
import { inputErrorLine, VALIDATION_HEAD } from "../formats/records.ts";
import { AsciiBuffer, isStdinPath } from "../io/mod.ts";
import { W } from "../model/vrp_set.ts";
import { type ParsedRoute, parseRouteLine, RovIndex, type RovResult } from "../rov/mod.ts";
import { flag, parseCommandArgs, str } from "./args.ts";
import type { Command } from "./command.ts";
import { type ByteWriter, warn } from "./io.ts";
import { loadSource, SOURCE_HELP, SOURCE_OPTIONS } from "./table_source.ts";
import { ASPA_HELP, ASPA_OPTIONS, ASPA_RULES, rejectAspaFlags, runAspa } from "./validate_aspa.ts";
import { SLURM_HELP, slurmFlag, withSlurm } from "./slurm_file.ts";
import { ENV_HELP } from "./common.ts";

const FORMATS = ["ndjson", "text", "rov"] as const;
type Format = typeof FORMATS[number];

const help = `Usage: rtr validate [PREFIX ASN] [options]
       rtr validate --aspa [PREFIX AS_PATH] [options]

Route origin validation (RFC 6811): is the route valid, invalid or not found, and which VRPs
decided it. One route from the arguments (192.0.2.0/24 AS64496, 192.0.2.0/24 64496 or
192.0.2.0 24 64496), or many from stdin, one a line, as PREFIX ASN or as RTRlib rpki-rov's
IP MASKLEN ASN. Blank lines and lines starting with # are skipped; a bad line gives an error
record and the batch goes on.

A VRP covers a route when its prefix contains the route's prefix. It matches when it also
has the route's origin AS (never AS0) and a maxLength of at least the route's length.
valid: some VRP matches; invalid: VRPs cover the route but none matches; not-found: no
VRP covers it. An invalid route's reason is "as" (only VRPs of other ASes, or AS0, cover
it), "length" (only VRPs of its own AS, whose maxLength is too short) or "as-and-length".

${ASPA_RULES}
Options:
${SOURCE_HELP}
${SLURM_HELP}
  --format F        ndjson (default): one validation record per route; text: an aligned
                    table; rov: RTRlib rpki-rov answer lines
                    (IP MASK ASN|roa_asn roa_ip roa_len roa_max,...|0 valid, 1 not found,
                    2 invalid)
  --more-specifics  also list the VRPs more specific than each route (ndjson, text)
  --fail-on STATE   exit 1 when any route is STATE: invalid or not-found (repeatable or
                    invalid,not-found), for CI; every route is still answered
${ASPA_HELP}
  -h, --help        show this help

${ENV_HELP}

Exit codes: 0 every route was validated (whatever its state, unless --fail-on); 1 the table
could not be loaded, some input lines were not routes, or a route had a --fail-on state;
2 usage; 3 / 4 the cache sent an Error Report / "No Data Available".
`;

const enc = new TextEncoder();

/**
 * Output built as bytes in one growing buffer (the shared ASCII builder): a million NDJSON
 * records built as strings cost more in string flattening and encoding than the validation.
 */
class ByteOut extends AsciiBuffer {
  readonly #w: ByteWriter;
  constructor(w: ByteWriter) {
    super(1 << 20);
    this.#w = w;
  }

  /** Write everything out. */
  async flush(): Promise<void> {
    let off = 0;
    while (off < this.pos) off += await this.#w.write(this.buf.subarray(off, this.pos));
    this.pos = 0;
  }
}

const B = (s: string) => enc.encode(s);
const J_START = VALIDATION_HEAD;
const J_ASN = B(`","asn":`);
const J_STATE = B(`,"state":"`);
const J_REASON = B(`","reason":`);
const J_MATCHED = B(`,"matched":`);
const J_UNMATCHED_AS = B(`,"unmatchedAs":`);
const J_UNMATCHED_LENGTH = B(`,"unmatchedLength":`);
const J_MORE = B(`,"moreSpecifics":`);
const J_END = B("}\n");
const STATES: Record<string, Uint8Array> = {
  valid: B("valid"),
  invalid: B("invalid"),
  "not-found": B("not-found"),
};
const REASONS: Record<string, Uint8Array> = {
  null: B("null"),
  as: B(`"as"`),
  length: B(`"length"`),
  "as-and-length": B(`"as-and-length"`),
};

/** Writes validation results in one of the formats. */
class ResultWriter {
  readonly #ix: RovIndex;
  readonly #format: Format;
  readonly #moreSpecifics: boolean;
  readonly out: ByteOut;
  /** Each VRP rendered once for the format, kept in an arena: start offset and length. */
  readonly #vrpAt: Int32Array;
  readonly #vrpLen: Uint8Array;
  #arena = new Uint8Array(1 << 16);
  #arenaLen = 0;
  #headerDone = false;
  /** Routes answered, per state (for --fail-on). */
  readonly seen = { valid: 0, invalid: 0, "not-found": 0 };

  constructor(ix: RovIndex, format: Format, moreSpecifics: boolean, out: ByteOut) {
    this.#ix = ix;
    this.#format = format;
    this.#moreSpecifics = moreSpecifics;
    this.out = out;
    this.#vrpAt = new Int32Array(ix.set.size).fill(-1);
    this.#vrpLen = new Uint8Array(ix.set.size);
  }

  #prefixOf(i: number): string {
    const d = this.#ix.set.data, x = i * W;
    return formatPrefix(d[x] >>> 16 === 1 ? 6 : 4, d.subarray(x + 1, x + 5), (d[x] >>> 8) & 255);
  }

  /**
   * Append VRP `i` as the format shows it: a JSON object (ndjson), `PREFIX-MAX ASn` (text) or
   * `ASN ADDR LEN MAX` (rov).
   */
  #vrp(i: number): void {
    let at = this.#vrpAt[i];
    if (at < 0) {
      const d = this.#ix.set.data, x = i * W, p = this.#prefixOf(i);
      const s = this.#format === "ndjson"
        ? `{"prefix":"${p}","maxLength":${d[x] & 255},"asn":${d[x + 5]}}`
        : this.#format === "text"
        ? `${p}-${d[x] & 255} AS${d[x + 5]}`
        : `${d[x + 5]} ${p.slice(0, p.indexOf("/"))} ${(d[x] >>> 8) & 255} ${d[x] & 255}`;
      if (this.#arenaLen + s.length > this.#arena.length) {
        const next = new Uint8Array(this.#arena.length * 2 + s.length);
        next.set(this.#arena.subarray(0, this.#arenaLen));
        this.#arena = next;
      }
      at = this.#arenaLen;
      for (let k = 0; k < s.length; k++) this.#arena[this.#arenaLen++] = s.charCodeAt(k);
      this.#vrpAt[i] = at;
      this.#vrpLen[i] = s.length;
    }
    this.out.bytes(this.#arena, at, at + this.#vrpLen[i]);
  }

  #list(l: readonly number[]): void {
    const out = this.out;
    out.text("[");
    for (let k = 0; k < l.length; k++) {
      if (k > 0) out.text(",");
      this.#vrp(l[k]);
    }
    out.text("]");
  }

  #more(r: ParsedRoute): number[] {
    if (!this.#moreSpecifics) return [];
    const [f, e] = this.#ix.within(r.family, r.addr, r.length, true);
    const out: number[] = [];
    const d = this.#ix.set.data;
    for (let i = f; i < e; i++) if (((d[i * W] >>> 8) & 255) > r.length) out.push(i);
    return out;
  }

  /** Append the output for one route. */
  route(r: ParsedRoute): void {
    if (this.#format === "rov") return this.#rovLine(r);
    const res = this.#ix.validate(r);
    this.seen[res.state]++;
    const prefix = formatPrefix(r.family, r.addr, r.length);
    if (this.#format === "text") return this.#textLine(prefix, r, res);
    const out = this.out;
    out.bytes(J_START);
    out.text(prefix);
    out.bytes(J_ASN);
    out.uint(r.asn);
    out.bytes(J_STATE);
    out.bytes(STATES[res.state]);
    out.bytes(J_REASON);
    out.bytes(REASONS[String(res.reason)]);
    out.bytes(J_MATCHED);
    this.#list(res.matched);
    out.bytes(J_UNMATCHED_AS);
    this.#list(res.unmatchedAs);
    out.bytes(J_UNMATCHED_LENGTH);
    this.#list(res.unmatchedLength);
    if (this.#moreSpecifics) {
      out.bytes(J_MORE);
      this.#list(this.#more(r));
    }
    out.bytes(J_END);
  }

  #textLine(prefix: string, r: ParsedRoute, res: RovResult): void {
    const out = this.out;
    if (!this.#headerDone) {
      this.#headerDone = true;
      out.text(
        `${pad("ROUTE", 20)} ${pad("ORIGIN", 12)} ${pad("STATE", 10)} ${pad("REASON", 14)} VRPS\n`,
      );
    }
    out.text(
      `${pad(prefix, 20)} ${pad(`AS${r.asn}`, 12)} ${pad(res.state, 10)} ${
        pad(res.reason ?? "-", 14)
      } `,
    );
    let n = 0;
    const tagged = (l: readonly number[], tag: string) => {
      for (const i of l) {
        if (n++ > 0) out.text(", ");
        this.#vrp(i);
        out.text(tag);
      }
    };
    tagged(res.matched, " (matched)");
    tagged(res.unmatchedAs, " (as)");
    tagged(res.unmatchedLength, " (length)");
    tagged(this.#more(r), " (more specific)");
    out.text(n === 0 ? "-\n" : "\n");
  }

  /**
   * RTRlib's answer: covering VRPs least specific first; for a valid route only up to the
   * prefix holding the first match (RTRlib stops walking there).
   */
  #rovLine(r: ParsedRoute): void {
    const ix = this.#ix, d = ix.set.data, out = this.out;
    out.text(r.addrText);
    out.text(" ");
    out.uint(r.length);
    out.text(" ");
    out.uint(r.asn);
    out.text("|");
    const cover = ix.covering(r.family, r.addr, r.length);
    let matchedAt = -1; // prefix length of the first prefix holding a match
    for (let k = 0; k < cover.length; k++) {
      const i = cover[k], x = i * W, len = (d[x] >>> 8) & 255;
      if (matchedAt >= 0 && len !== matchedAt) break;
      if (k > 0) out.text(",");
      this.#vrp(i);
      const asn = d[x + 5];
      if (matchedAt < 0 && asn === r.asn && asn !== 0 && r.length <= (d[x] & 255)) {
        matchedAt = len;
      }
    }
    // The same rule as RovIndex.validate / stateCode, read off the covering VRPs just listed.
    out.text(matchedAt >= 0 ? "|0\n" : cover.length > 0 ? "|2\n" : "|1\n");
    this.seen[matchedAt >= 0 ? "valid" : cover.length > 0 ? "invalid" : "not-found"]++;
  }

  /** Report a line that is not a route: an NDJSON error record, or a line on stderr. */
  error(line: number, message: string): void {
    if (this.#format === "ndjson") {
      this.out.text(inputErrorLine(line, message) + "\n");
    } else warn(`rtr: line ${line}: ${message}`);
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** Validate every line of `input`, answering each chunk as it arrives; returns the bad lines. */
async function validateStream(
  input: ReadableStream<Uint8Array>,
  w: ResultWriter,
): Promise<number> {
  let bad = 0;
  // Answer what has arrived after each chunk: a program talking to us line by line gets its
  // answers.
  await eachLine(input, (line, lineNo) => {
    const t = line.trim();
    if (t === "" || t.charCodeAt(0) === 35 /* # */) return;
    const r = parseRouteLine(t);
    if (typeof r === "string") {
      bad++;
      w.error(lineNo, r);
    } else w.route(r);
  }, () => w.out.flush());
  return bad;
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("validate", args, {
    ...SOURCE_OPTIONS,
    format: { type: "string" },
    "more-specifics": { type: "boolean" },
    "fail-on": { type: "string", multiple: true },
    ...ASPA_OPTIONS,
    slurm: { type: "string" },
  });
  if (flag(p, "aspa")) return runAspa(p, Deno.stdout);
  rejectAspaFlags(p);
  const failOn = failOnStates(p.values["fail-on"]);
  const format = (str(p, "format") ?? "ndjson") as Format;
  if (!FORMATS.includes(format)) {
    throw new UsageError(
      `Unknown --format ${JSON.stringify(format)}: use one of ${FORMATS.join(", ")}`,
    );
  }
  const moreSpecifics = flag(p, "more-specifics");
  if (moreSpecifics && format === "rov") {
    throw new UsageError("--more-specifics needs --format ndjson or text: rov lines have no room");
  }
  let single: ParsedRoute | undefined;
  if (p.positionals.length > 0) {
    const r = parseRouteLine(p.positionals.join(" "));
    if (typeof r === "string") throw new UsageError(`${r} (see 'rtr validate --help')`);
    single = r;
  } else if (isStdinPath(str(p, "from") ?? "")) {
    throw new UsageError("--from - reads the table from stdin, so give the route as arguments");
  }
  const slurm = await slurmFlag(p);
  const table = withSlurm((await loadSource(p, "validate")).table, slurm);
  const ix = new RovIndex(table.vrps);
  const w = new ResultWriter(ix, format, moreSpecifics, new ByteOut(Deno.stdout));
  let bad = 0;
  if (single) w.route(single);
  else bad = await validateStream(Deno.stdin.readable, w);
  await w.out.flush();
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

/** The states of --fail-on (repeatable, or a comma-separated list). */
function failOnStates(v: unknown): ("invalid" | "not-found")[] {
  const list = Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
  const out: ("invalid" | "not-found")[] = [];
  for (const s of list.flatMap((x) => x.split(","))) {
    if (s !== "invalid" && s !== "not-found") {
      throw new UsageError(`--fail-on must be invalid or not-found, got ${JSON.stringify(s)}`);
    }
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** The `validate` subcommand. */
export const command: Command = {
  name: "validate",
  summary: "RFC 6811 route origin validation against a table",
  help,
  run,
};
