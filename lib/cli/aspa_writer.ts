/**
 * The answers of `validate --aspa`, route by route: NDJSON `validation` records with an `rov` and
 * an `aspa` verdict built as bytes, a text line per route with the first failing hop in words, or
 * the (rov × aspa) counts of a summary; and `verifyLines`, the one reader of input lines, used
 * on the main thread and in worker threads (aspa_threads.ts) alike.
 */
import { formatPrefix, putIpv4, putIpv6 } from "../model/prefix.ts";
import { W } from "../model/vrp_set.ts";
import {
  ASPA_INVALID,
  ASPA_STATES,
  ASPA_UNKNOWN,
  ASPA_VALID,
  AspaExplanation,
  type AspaIndex,
  checksNeighbour,
  describeExplanation,
  DOWNSTREAM,
  HOP_RESULTS,
  NEIGHBOUR_ROLES,
  type NeighbourRole,
  parsePathLine,
  type PathRoute,
  procedureOf,
  type RovIndex,
  type RovResult,
} from "../rov/mod.ts";
import { type ByteWriter, warn } from "./io.ts";
import { ascii, AsciiBuffer, putBytes, putUint, utf8 } from "../io/mod.ts";

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

/** The output formats of `validate --aspa`. */
export const ASPA_FORMATS = ["ndjson", "text", "summary"] as const;
/** An output format of `validate --aspa`. */
export type AspaFormat = typeof ASPA_FORMATS[number];
const ROV_STATES = ["valid", "invalid", "not-found"] as const;

/** Writes the verdicts of routes in one format. */
export class AspaWriter {
  readonly #rov: RovIndex;
  readonly #aspa: AspaIndex;
  readonly #format: AspaFormat;
  readonly #role: NeighbourRole;
  readonly #neighbourAs: number;
  readonly #w: ByteWriter;
  /** Where the text and summary formats report bad lines (`opts.warn`, default stderr). */
  readonly warn: (line: string) => void;
  readonly #e = new AspaExplanation();
  readonly #opts = { procedure: 0, neighbourAs: -1, hasSet: false };
  /** Each VRP's JSON, rendered once (indexed by record, packed so lookups stay fast). */
  /**
   * Each VRP's JSON, rendered once into one arena: by record index, its start × 256 + its
   * length (-1: not yet rendered). One array read per VRP written, where a Uint8Array each cost
   * three scattered ones.
   */
  readonly #vrpAt: Float64Array;
  #arena = new Uint8Array(1 << 16);
  #arenaLen = 0;
  readonly #b = new RecordBytes();
  #headerDone: boolean;
  /** Routes answered, by what `--fail-on` can name. */
  readonly seen = { invalid: 0, "not-found": 0, unknown: 0 };
  /** Summary counts: rov state index × 3 + aspa state code. */
  readonly counts = new Float64Array(9);

  constructor(
    rov: RovIndex,
    aspa: AspaIndex,
    opts: AspaWriterOptions,
    w: ByteWriter,
  ) {
    this.#rov = rov;
    this.#vrpAt = new Float64Array(rov.set.size).fill(-1);
    this.#aspa = aspa;
    this.#format = opts.format;
    this.#role = opts.role;
    this.#neighbourAs = opts.neighbourAs;
    this.#w = w;
    this.warn = opts.warn ?? warn;
    this.#headerDone = opts.header === false;
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
      const i = l[k];
      let v = this.#vrpAt[i];
      if (v < 0) v = this.#render(i);
      // Room was made by #record; a loop, since a subarray to copy from costs an allocation.
      const arena = this.#arena, buf = b.buf, at = Math.floor(v / 256);
      let p = b.pos;
      for (let j = at, e = at + v % 256; j < e; j++) buf[p++] = arena[j];
      b.pos = p;
    }
  }

  /** Render VRP `i` into the arena; returns its `#vrpAt` entry. */
  #render(i: number): number {
    const json = utf8(this.#vrp(i));
    if (this.#arenaLen + json.length > this.#arena.length) {
      const next = new Uint8Array(this.#arena.length * 2 + json.length);
      next.set(this.#arena.subarray(0, this.#arenaLen));
      this.#arena = next;
    }
    const at = this.#arenaLen;
    this.#arena.set(json, at);
    this.#arenaLen += json.length;
    return this.#vrpAt[i] = at * 256 + json.length;
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
    this.header();
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

  /** Append the text format's column header, unless it was written (or `header: false`). */
  header(): void {
    if (this.#headerDone) return;
    this.#headerDone = true;
    this.#b.text(
      `${pad("ROUTE", 20)} ${pad("ROV", 10)} ${pad("ASPA", 8)} ${pad("NEIGHBOUR", 10)} PATH\n`,
    );
  }

  /** Everything appended so far, as a copy of its own (a worker thread hands it over). */
  take(): Uint8Array {
    const b = this.#b, out = b.buf.slice(0, b.pos);
    b.reset();
    return out;
  }

  /** Add another writer's `seen` and `counts` (of routes it answered) to these. */
  absorb(seen: AspaWriter["seen"], counts: Float64Array): void {
    this.seen.invalid += seen.invalid;
    this.seen["not-found"] += seen["not-found"];
    this.seen.unknown += seen.unknown;
    for (let i = 0; i < 9; i++) this.counts[i] += counts[i];
  }

  /** Zero `seen` and `counts` (after handing them to `absorb`). */
  resetCounts(): void {
    this.seen.invalid = this.seen["not-found"] = this.seen.unknown = 0;
    this.counts.fill(0);
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
    } else this.warn(`rtr: line ${line}: ${message}`);
  }
}

/** How an AspaWriter answers. */
export interface AspaWriterOptions {
  format: AspaFormat;
  /** The neighbour role of routes without a `neighbour=` field. */
  role: NeighbourRole;
  /** The neighbour AS of routes without one of their own; -1: none. */
  neighbourAs: number;
  /** Write the text format's column header before the first route (default true). */
  header?: boolean;
  /** Where the text and summary formats report bad lines (default: stderr). */
  warn?: (line: string) => void;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

const DECODE = new TextDecoder();
const DECODE_KEEP_BOM = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Verify the lines in `bytes` (whole lines: cut at a newline, or the input's end), numbered from
 * `firstLine`, writing to `w`; returns how many were not routes. Blank lines and `#` comments
 * are skipped. `atStart`: the bytes begin the input (a UTF-8 byte order mark there is dropped).
 * The one reader of input lines, on the main thread and in worker threads alike.
 */
export function verifyLines(
  w: AspaWriter,
  bytes: Uint8Array,
  firstLine: number,
  atStart: boolean,
): number {
  const text = (atStart ? DECODE : DECODE_KEEP_BOM).decode(bytes);
  let bad = 0, lineNo = firstLine, start = 0;
  while (start < text.length) {
    let nl = text.indexOf("\n", start);
    if (nl < 0) nl = text.length;
    const t = text.slice(start, nl).trim();
    start = nl + 1;
    const at = lineNo++;
    if (t === "" || t.charCodeAt(0) === 35 /* # */) continue;
    const r = parsePathLine(t);
    if (r === null) continue;
    if (typeof r === "string") {
      bad++;
      w.error(at, r);
    } else w.route(r);
  }
  return bad;
}
