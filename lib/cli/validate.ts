/**
 * `rtr validate`: RFC 6811 route origin validation that explains itself. One route from the
 * arguments or many from stdin (`PREFIX ASN` or RTRlib `rpki-rov`'s `IP MASKLEN ASN`), checked
 * against a table from any source (table_source.ts) through one RovIndex built per run. Output:
 * NDJSON `validation` records naming the deciding VRPs, an aligned text table, or RTRlib
 * `rpki-rov` answer lines (formats.md §4).
 */
import { UsageError } from "../errors.ts";
import { formatPrefix } from "../model/prefix.ts";
import { W } from "../model/vrp_set.ts";
import { type ParsedRoute, parseRouteLine, RovIndex, type RovResult } from "../rov.ts";
import { flag, parseCommandArgs, str } from "./args.ts";
import type { Command } from "./command.ts";
import { stdoutSink, type TextSink, warn } from "./io.ts";
import { loadSource, SOURCE_HELP, SOURCE_OPTIONS } from "./table_source.ts";

const FORMATS = ["ndjson", "text", "rov"] as const;
type Format = typeof FORMATS[number];

const help = `Usage: rtr validate [PREFIX ASN] [options]

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

Options:
${SOURCE_HELP}
  --format F        ndjson (default): one validation record per route; text: an aligned
                    table; rov: RTRlib rpki-rov answer lines
                    (IP MASK ASN|roa_asn roa_ip roa_len roa_max,...|0 valid, 1 not found,
                    2 invalid)
  --more-specifics  also list the VRPs more specific than each route (ndjson, text)
  -h, --help        show this help

Exit codes: 0 every route was validated (whatever its state); 1 the table could not be
loaded, or some input lines were not routes; 2 usage; 3 / 4 the cache sent an Error Report
/ "No Data Available".
`;

/** Writes validation results in one of the formats. */
class ResultWriter {
  readonly #ix: RovIndex;
  readonly #sink: TextSink;
  readonly #format: Format;
  readonly #moreSpecifics: boolean;
  readonly #vrpJson = new Map<number, string>();
  readonly #vrpText = new Map<number, string>();
  #headerDone = false;

  constructor(ix: RovIndex, sink: TextSink, format: Format, moreSpecifics: boolean) {
    this.#ix = ix;
    this.#sink = sink;
    this.#format = format;
    this.#moreSpecifics = moreSpecifics;
  }

  #prefixOf(i: number): string {
    const d = this.#ix.set.data, x = i * W;
    return formatPrefix(d[x] >>> 16 === 1 ? 6 : 4, d.subarray(x + 1, x + 5), (d[x] >>> 8) & 255);
  }

  #json(i: number): string {
    let s = this.#vrpJson.get(i);
    if (s === undefined) {
      const d = this.#ix.set.data, x = i * W;
      s = `{"prefix":"${this.#prefixOf(i)}","maxLength":${d[x] & 255},"asn":${d[x + 5]}}`;
      if (this.#vrpJson.size < 1 << 20) this.#vrpJson.set(i, s);
    }
    return s;
  }

  #text(i: number): string {
    let s = this.#vrpText.get(i);
    if (s === undefined) {
      const d = this.#ix.set.data, x = i * W;
      s = `${this.#prefixOf(i)}-${d[x] & 255} AS${d[x + 5]}`;
      if (this.#vrpText.size < 1 << 20) this.#vrpText.set(i, s);
    }
    return s;
  }

  #more(r: ParsedRoute): number[] {
    if (!this.#moreSpecifics) return [];
    const [f, e] = this.#ix.within(r.family, r.addr, r.length, true);
    const out: number[] = [];
    const d = this.#ix.set.data;
    for (let i = f; i < e; i++) if (((d[i * W] >>> 8) & 255) > r.length) out.push(i);
    return out;
  }

  /** Write the result for one route. */
  async route(r: ParsedRoute): Promise<void> {
    if (this.#format === "rov") return await this.#sink.write(this.#rovLine(r));
    const res = this.#ix.validate(r);
    const prefix = formatPrefix(r.family, r.addr, r.length);
    if (this.#format === "ndjson") {
      const list = (l: number[]) => `[${l.map((i) => this.#json(i)).join(",")}]`;
      const more = this.#moreSpecifics ? `,"moreSpecifics":${list(this.#more(r))}` : "";
      await this.#sink.write(
        `{"type":"validation","prefix":"${prefix}","asn":${r.asn},"state":"${res.state}","reason":${
          res.reason === null ? "null" : `"${res.reason}"`
        },"matched":${list(res.matched)},"unmatchedAs":${list(res.unmatchedAs)},"unmatchedLength":${
          list(res.unmatchedLength)
        }${more}}\n`,
      );
      return;
    }
    await this.#textLine(prefix, r, res);
  }

  async #textLine(prefix: string, r: ParsedRoute, res: RovResult): Promise<void> {
    if (!this.#headerDone) {
      this.#headerDone = true;
      await this.#sink.write(
        `${pad("ROUTE", 20)} ${pad("ORIGIN", 12)} ${pad("STATE", 10)} ${pad("REASON", 14)} VRPS\n`,
      );
    }
    const parts: string[] = [];
    for (const i of res.matched) parts.push(`${this.#text(i)} (matched)`);
    for (const i of res.unmatchedAs) parts.push(`${this.#text(i)} (as)`);
    for (const i of res.unmatchedLength) parts.push(`${this.#text(i)} (length)`);
    for (const i of this.#more(r)) parts.push(`${this.#text(i)} (more specific)`);
    await this.#sink.write(
      `${pad(prefix, 20)} ${pad(`AS${r.asn}`, 12)} ${pad(res.state, 10)} ${
        pad(res.reason ?? "-", 14)
      } ${parts.length ? parts.join(", ") : "-"}\n`,
    );
  }

  /**
   * RTRlib's answer: covering VRPs least specific first; for a valid route only up to the
   * prefix holding the first match (RTRlib stops walking there).
   */
  #rovLine(r: ParsedRoute): string {
    const ix = this.#ix, d = ix.set.data;
    const code = ix.stateCode(r.family, r.addr, r.length, r.asn);
    let reasons = "";
    if (code !== 1) {
      const cover = ix.covering(r.family, r.addr, r.length);
      const parts: string[] = [];
      let matchedAt = -1; // prefix length of the first prefix holding a match
      for (const i of cover) {
        const x = i * W, len = (d[x] >>> 8) & 255;
        if (matchedAt >= 0 && len !== matchedAt) break;
        const asn = d[x + 5], max = d[x] & 255;
        const p = this.#prefixOf(i);
        parts.push(`${asn} ${p.slice(0, p.indexOf("/"))} ${len} ${max}`);
        if (matchedAt < 0 && asn === r.asn && asn !== 0 && r.length <= max) matchedAt = len;
      }
      reasons = parts.join(",");
    }
    return `${r.addrText} ${r.length} ${r.asn}|${reasons}|${code}\n`;
  }

  /** Report a line that is not a route. */
  async error(line: number, message: string): Promise<void> {
    if (this.#format === "ndjson") {
      await this.#sink.write(
        `{"type":"error","line":${line},"message":${JSON.stringify(message)}}\n`,
      );
    } else {
      await this.#sink.flush();
      warn(`rtr: line ${line}: ${message}`);
    }
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** Validate every line of `input`; returns the number of bad lines. */
async function validateStream(
  input: ReadableStream<Uint8Array>,
  out: ResultWriter,
  sink: TextSink,
): Promise<number> {
  const dec = new TextDecoder();
  let rest = "", lineNo = 0, bad = 0;
  const one = async (line: string) => {
    lineNo++;
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return;
    const r = parseRouteLine(t);
    if (typeof r === "string") {
      bad++;
      await out.error(lineNo, r);
    } else await out.route(r);
  };
  for await (const chunk of input) {
    const text = rest + dec.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      await one(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    // Answer what has arrived: a program talking to us line by line gets its answers.
    await sink.flush();
  }
  rest += dec.decode();
  if (rest !== "") await one(rest);
  return bad;
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("validate", args, {
    ...SOURCE_OPTIONS,
    format: { type: "string" },
    "more-specifics": { type: "boolean" },
  });
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
  } else if (str(p, "from") === "-") {
    throw new UsageError("--from - reads the table from stdin, so give the route as arguments");
  }
  const { table } = await loadSource(p, "validate");
  const ix = new RovIndex(table.vrps);
  const sink = stdoutSink();
  const out = new ResultWriter(ix, sink, format, moreSpecifics);
  let bad = 0;
  if (single) await out.route(single);
  else bad = await validateStream(Deno.stdin.readable, out, sink);
  await sink.flush();
  if (bad > 0) warn(`rtr: ${bad} input line${bad === 1 ? " was" : "s were"} not a route`);
  return bad > 0 ? 1 : 0;
}

/** The `validate` subcommand. */
export const command: Command = {
  name: "validate",
  summary: "RFC 6811 route origin validation against a table",
  help,
  run,
};
