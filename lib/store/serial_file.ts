/**
 * One per-serial history file, in the original Python client's layout and schema:
 * the name `YYYY-MM/YYYY-MM-DD-HHMMSS.routes.SSSSSSSS.NNNNNNNN.json` (UTC time of the End of
 * Data, session id and serial zero-padded to 8 decimal digits; the older layout without session,
 * `…routes.NNNNNNNN.json`, is read too) and the pretty-printed JSON body:
 *
 * ```json
 * {
 *   "serial": 6,
 *   "session_id": 4660,
 *   "reset": false,
 *   "version": 2,
 *   "previous_serial": 5,
 *   "time": "2026-07-20T10:00:00.000Z",
 *   "routes": {
 *     "announce": [{ "ip": "1.1.0.0/22", "asn": 13335, "maxlen": 24 }],
 *     "withdraw": [{ "ip": "1.0.0.0/24", "asn": 13335 }]
 *   },
 *   "router_keys": { "announce": [{ "asn": 64498, "ski": "510F…", "pubkey": "MFkw…" }], "withdraw": [] },
 *   "aspas": { "announce": [{ "customer_asid": 64500, "providers": [64501, 64502] }], "withdraw": [] }
 * }
 * ```
 *
 * `serial`, `session_id` and `routes` are the old client's; the rest is additive. `maxlen` is
 * written only when it differs from the prefix length, in `announce` and `withdraw` alike (as the
 * old client did), so a withdrawal names the exact VRP (prefix, maxLength, ASN: RFC 6811 §2).
 * `reset: true` marks a full table (the answer to a Reset Query: everything is in `announce`).
 * `previous_serial` is the serial this delta applies to (for a reset: the serial held before, if
 * any, for information only). An ASPA whose provider set changed appears twice: its old value
 * under `withdraw` and its new value under `announce`; a removed ASPA only under `withdraw` (with
 * the providers it had), so every file can be replayed and reversed exactly.
 *
 * The header fields come before the (possibly huge) lists so that {@link readSerialHeader} can
 * read them from the first bytes of a file.
 */
import { InputError } from "../errors.ts";
import type { TextSink } from "../io/mod.ts";
import { ascii, type AsciiBuffer, writeVrpBytes } from "../formats/text.ts";
import { TableAccumulator } from "../formats/accumulate.ts";
import type { Aspa, RouterKey, TableDiff, VrpSet } from "../model/mod.ts";

/** What a name in the history directory says: when, which session, which serial. */
export interface SerialFileName {
  /** UTC time of the End of Data, to the second. */
  time: Date;
  /** Session id, or null for the old layout without it. */
  sessionId: number | null;
  serial: number;
}

/** The contents of one per-serial file. */
export interface SerialRecord {
  serial: number;
  /** Session id (null when an old-layout file had none). */
  sessionId: number | null;
  /** True for a full table, false for a delta, undefined when the file predates the marker. */
  reset: boolean | undefined;
  /** Protocol version of the session, when recorded. */
  version?: number;
  /** Serial this delta applies to, when recorded. */
  previousSerial?: number;
  /** RFC 3339 time of the End of Data, when recorded. */
  time?: string;
  /**
   * The change this serial made, exact: an ASPA whose providers changed is in both lists (old
   * value withdrawn, new value announced). A reset holds the whole table in `announced`.
   */
  delta: TableDiff;
}

const NAME_RE =
  /^(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})(\d{2})\.routes\.(?:(\d{1,10})\.)?(\d{1,10})\.json$/;

/** Digits of `n` zero-padded to at least 8 places (a serial above 99,999,999 keeps all digits). */
export function pad8(n: number): string {
  return String(n).padStart(8, "0");
}

/** `YYYY-MM-DD-HHMMSS` of a time in UTC. */
export function stampOf(t: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${t.getUTCFullYear()}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())}-` +
    `${p(t.getUTCHours())}${p(t.getUTCMinutes())}${p(t.getUTCSeconds())}`;
}

/** Path of a per-serial file relative to the data directory: `YYYY-MM/…routes.S.N.json`. */
export function serialFilePath(time: Date, sessionId: number, serial: number): string {
  const stamp = stampOf(time);
  return `${stamp.slice(0, 7)}/${stamp}.routes.${pad8(sessionId)}.${pad8(serial)}.json`;
}

/** Parse a per-serial file's base name (new or old layout); null when it is not one. */
export function parseSerialFileName(base: string): SerialFileName | null {
  const m = NAME_RE.exec(base);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, sess, ser] = m;
  const time = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  if (Number.isNaN(time.getTime()) || stampOf(time) !== base.slice(0, 17)) return null;
  const serial = Number(ser);
  const sessionId = sess === undefined ? null : Number(sess);
  if (serial > 0xffffffff || (sessionId !== null && sessionId > 0xffff)) return null;
  return { time, sessionId, serial };
}

// ---------------------------------------------------------------------------------------------
// Writing

/** What {@link writeSerialFile} writes. */
export interface SerialFileContent {
  serial: number;
  sessionId: number;
  reset: boolean;
  version: number;
  previousSerial?: number;
  time: Date;
  /** Exact delta (see {@link SerialRecord.delta}); for a reset, the whole table as announced. */
  delta: TableDiff;
}

const I2 = "  ", I4 = "    ", I6 = "      ", I8 = "        ";
const VRP_IP = ascii(`${I6}{\n${I8}"ip": "`);
const VRP_ASN = ascii(`",\n${I8}"asn": `);
const VRP_MAXLEN = ascii(`,\n${I8}"maxlen": `);
const VRP_END = ascii(`\n${I6}}`);
const VRP_SEP = ascii(",\n");

async function writeVrpList(sink: TextSink, set: VrpSet): Promise<void> {
  if (set.size === 0) {
    await sink.write("[]");
    return;
  }
  await sink.write("[\n");
  await writeVrpBytes(sink, set, (o: AsciiBuffer, d: Uint32Array, x: number) => {
    o.raw(VRP_IP);
    o.prefix(d, x);
    o.raw(VRP_ASN);
    o.uint(d[x + 5]);
    const meta = d[x];
    if ((meta & 255) !== ((meta >>> 8) & 255)) {
      o.raw(VRP_MAXLEN);
      o.uint(meta & 255);
    }
    o.raw(VRP_END);
  }, { sep: VRP_SEP });
  await sink.write(`\n${I4}]`);
}

/** A list of plain objects at depth 2, exactly as `JSON.stringify(…, null, 2)` lays it out. */
async function writeObjectList(sink: TextSink, items: unknown[]): Promise<void> {
  if (items.length === 0) {
    await sink.write("[]");
    return;
  }
  await sink.write("[\n");
  for (let i = 0; i < items.length; i++) {
    const body = JSON.stringify(items[i], null, 2).replaceAll("\n", `\n${I6}`);
    await sink.write(`${I6}${body}${i + 1 < items.length ? ",\n" : "\n"}`);
  }
  await sink.write(`${I4}]`);
}

function keyEntry(k: RouterKey) {
  return { asn: k.asn, ski: k.ski.toUpperCase(), pubkey: k.pubkey };
}

function aspaEntry(a: Aspa) {
  return { customer_asid: a.customer, providers: a.providers };
}

/**
 * Write a per-serial file's JSON to `sink`, pretty-printed with two spaces (byte for byte what
 * `JSON.stringify(doc, null, 2)` gives, streamed so a full table never becomes one string).
 */
export async function writeSerialFile(sink: TextSink, c: SerialFileContent): Promise<void> {
  const head: Record<string, unknown> = {
    serial: c.serial,
    session_id: c.sessionId,
    reset: c.reset,
    version: c.version,
  };
  if (c.previousSerial !== undefined) head.previous_serial = c.previousSerial;
  head.time = c.time.toISOString();
  let s = "{\n";
  for (const [k, v] of Object.entries(head)) {
    s += `${I2}${JSON.stringify(k)}: ${JSON.stringify(v)},\n`;
  }
  await sink.write(s + `${I2}"routes": {\n${I4}"announce": `);
  await writeVrpList(sink, c.delta.vrps.announced);
  await sink.write(`,\n${I4}"withdraw": `);
  await writeVrpList(sink, c.delta.vrps.withdrawn);
  await sink.write(`\n${I2}},\n${I2}"router_keys": {\n${I4}"announce": `);
  await writeObjectList(sink, c.delta.routerKeys.announced.map(keyEntry));
  await sink.write(`,\n${I4}"withdraw": `);
  await writeObjectList(sink, c.delta.routerKeys.withdrawn.map(keyEntry));
  await sink.write(`\n${I2}},\n${I2}"aspas": {\n${I4}"announce": `);
  await writeObjectList(sink, c.delta.aspas.announced.map(aspaEntry));
  await sink.write(`,\n${I4}"withdraw": `);
  await writeObjectList(sink, c.delta.aspas.withdrawn.map(aspaEntry));
  await sink.write(`\n${I2}}\n}\n`);
}

// ---------------------------------------------------------------------------------------------
// Reading

function bad(where: string, what: string): never {
  throw new InputError(`Cannot read history file ${where}: ${what}`);
}

function asnOf(x: unknown, where: string): number {
  let n = x;
  if (typeof x === "string") n = /^(as)?\d+$/i.test(x) ? Number(x.replace(/^as/i, "")) : NaN;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    bad(where, `ASN is ${JSON.stringify(x)}, expected a whole number from 0 to 4294967295`);
  }
  return n;
}

function u32Of(x: unknown, name: string, where: string): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > 0xffffffff) {
    bad(where, `${name} is ${JSON.stringify(x)}, expected a whole number from 0 to 4294967295`);
  }
  return x;
}

function listOf(o: unknown, key: string, where: string): unknown[] {
  if (o === undefined || o === null) return [];
  if (typeof o !== "object") bad(where, `expected an object with "announce" and "withdraw"`);
  const v = (o as Record<string, unknown>)[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(where, `"${key}" is not a list`);
  return v;
}

/** VRP entries `{ip, asn, maxlen?}` through formats' fast, checking accumulator. */
function readVrps(items: unknown[], file: string, kind: string): VrpSet {
  const acc = new TableAccumulator(`history file ${file}`, items.length);
  for (let i = 0; i < items.length; i++) {
    const e = items[i] as Record<string, unknown>;
    if (typeof e !== "object" || e === null) acc.fail(kind, i, `expected {"ip": …, "asn": …}`);
    acc.vrp(kind, i, e.ip, undefined, e.maxlen, e.asn);
  }
  return acc.finish().vrps;
}

function readKeys(items: unknown[], where: string): RouterKey[] {
  return items.map((x, i) => {
    const e = x as Record<string, unknown>;
    const at = `${where}[${i}]`;
    if (typeof e !== "object" || e === null) bad(at, "expected {asn, ski, pubkey}");
    if (typeof e.ski !== "string" || !/^[0-9a-fA-F]{40}$/.test(e.ski)) {
      bad(at, `ski is ${JSON.stringify(e.ski)}, expected 40 hex digits`);
    }
    if (typeof e.pubkey !== "string") bad(at, "pubkey is missing");
    return { asn: asnOf(e.asn, at), ski: e.ski.toUpperCase(), pubkey: e.pubkey };
  });
}

function readAspas(items: unknown[], where: string): Aspa[] {
  return items.map((x, i) => {
    const e = x as Record<string, unknown>;
    const at = `${where}[${i}]`;
    if (typeof e !== "object" || e === null) bad(at, "expected {customer_asid, providers}");
    const customer = asnOf(e.customer_asid ?? e.customer, at);
    const raw = e.providers ?? [];
    if (!Array.isArray(raw)) bad(at, "providers is not a list");
    const providers = [...new Set(raw.map((p) => asnOf(p, at)))].sort((a, b) => a - b);
    return { customer, providers };
  });
}

/** Parse the text of a per-serial file; `where` names it in error messages. */
export function parseSerialFile(text: string, where: string): SerialRecord {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch (e) {
    bad(where, `not JSON (${e instanceof Error ? e.message : e})`);
  }
  if (typeof j !== "object" || j === null || Array.isArray(j)) bad(where, "not a JSON object");
  const serial = u32Of(j.serial, "serial", where);
  const sessionId = j.session_id === undefined || j.session_id === null
    ? null
    : u32Of(j.session_id, "session_id", where);
  if (j.reset !== undefined && typeof j.reset !== "boolean") {
    bad(where, `reset is ${JSON.stringify(j.reset)}, expected true or false`);
  }
  const rec: SerialRecord = {
    serial,
    sessionId,
    reset: j.reset as boolean | undefined,
    delta: {
      vrps: {
        announced: readVrps(listOf(j.routes, "announce", where), where, "routes.announce"),
        withdrawn: readVrps(listOf(j.routes, "withdraw", where), where, "routes.withdraw"),
      },
      routerKeys: {
        announced: readKeys(
          listOf(j.router_keys, "announce", where),
          `${where}: router_keys.announce`,
        ),
        withdrawn: readKeys(
          listOf(j.router_keys, "withdraw", where),
          `${where}: router_keys.withdraw`,
        ),
      },
      aspas: {
        announced: readAspas(listOf(j.aspas, "announce", where), `${where}: aspas.announce`),
        withdrawn: readAspas(listOf(j.aspas, "withdraw", where), `${where}: aspas.withdraw`),
      },
    },
  };
  if (typeof j.version === "number") rec.version = j.version;
  if (j.previous_serial !== undefined && j.previous_serial !== null) {
    rec.previousSerial = u32Of(j.previous_serial, "previous_serial", where);
  }
  if (typeof j.time === "string") rec.time = j.time;
  return rec;
}

/** The header fields of a per-serial file, readable without parsing its lists. */
export interface SerialHeader {
  serial: number;
  sessionId: number | null;
  reset: boolean | undefined;
  previousSerial?: number;
  version?: number;
}

/**
 * Read the header fields from the first bytes of a file's text (they precede `routes` in files
 * we write). Returns null when `routes` comes first or the head is cut short, so the caller
 * parses the whole file instead.
 */
export function parseSerialHeader(head: string): SerialHeader | null {
  const r = head.indexOf('"routes"');
  if (r < 0) return null;
  const h = head.slice(0, r);
  const num = (k: string) => {
    const m = new RegExp(`"${k}"\\s*:\\s*(\\d+)`).exec(h);
    return m ? Number(m[1]) : undefined;
  };
  const serial = num("serial");
  if (serial === undefined) return null;
  const reset = /"reset"\s*:\s*(true|false)/.exec(h);
  const sessionId = num("session_id");
  return {
    serial,
    sessionId: sessionId ?? null,
    reset: reset ? reset[1] === "true" : undefined,
    previousSerial: num("previous_serial"),
    version: num("version"),
  };
}
