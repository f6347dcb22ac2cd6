/**
 * Reading VRP tables in every dialect `rtr` knows: rpki-client JSON (`roas`,
 * `bgpsec_keys`, `aspas`), StayRTR / rtrdump (`provider_authorizations` {ipv4, ipv6}), Routinator
 * `vrps -f json` (`"AS…"` strings, `routerKeys`, `aspas[{customer, providers}]`), RTRTR,
 * GoRTR, RTRlib `rtrclient -t json` (a bare array, every number quoted), rpki-client and RTRlib
 * CSV, and our own NDJSON. The dialect is detected from the bytes; everything is normalised
 * (accumulate.ts) into one PayloadTable. Large tables are read in place (json_scan.ts): the
 * `roas` array and NDJSON `vrp` lines never become JS objects, only the small rest of a document
 * goes through JSON.parse; anything the scanner does not expect falls back to JSON.parse.
 */
import { InputError } from "../errors.ts";
import { ascii as asciiBytes, isStdinPath, looksBinary, readInput, sniffMagic } from "../io/mod.ts";
import type { PayloadTable } from "../model/mod.ts";
import { TableAccumulator } from "./accumulate.ts";
import { readCsvBytes } from "./csv_read.ts";
import { JsonScanner, JsonSyntax, latin1, uintAt } from "./json_scan.ts";
import { readNdjsonBytes } from "./ndjson_read.ts";

/** A table read from a file, with what the file said about itself. */
export interface LoadedTable {
  /** The table: VRPs, router keys and ASPA, normalised. */
  table: PayloadTable;
  /** The file's own `metadata` object (JSON), last `sync` record (NDJSON), or `{}`. */
  metadata: Record<string, unknown>;
  /**
   * Detected dialect: `rtr`, `rpki-client`, `stayrtr`, `rtrdump`, `routinator`, `gortr`,
   * `rtrlib`, `rtr-client` (the old Python client's routingtable.json), `rpki-client-csv`,
   * `rtrlib-csv` or `ndjson`.
   */
  dialect: string;
  /** Repairs made while reading (masked host bits, merged duplicates), one line each. */
  warnings: string[];
}

const NDJSON_START = /^\{\s*"type"\s*:/;
const SYNC_DONE = asciiBytes("Sync done");
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** Parse a table from text, detecting its dialect; `name` labels errors (default `input`). */
export function parseTableText(text: string, name = "input"): LoadedTable {
  return parseTableBytes(ENCODER.encode(text), name);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Parse a table from UTF-8 bytes, detecting its dialect; `name` labels errors. */
export function parseTableBytes(b: Uint8Array, name = "input"): LoadedTable {
  return finish(feed(b, name));
}

/** An input read but not yet built into a table. */
interface Fed {
  acc: TableAccumulator;
  dialect: string;
  metadata: Record<string, unknown>;
}

function finish(f: Fed): LoadedTable {
  const table = f.acc.finish();
  return { table, metadata: f.metadata, dialect: f.dialect, warnings: f.acc.warnings };
}

/** Detect the dialect of `b` and feed every record to an accumulator. */
function feed(b: Uint8Array, name: string): Fed {
  const magic = sniffMagic(b);
  if (magic === "pcap" || magic === "pcapng") {
    throw new InputError(
      `Cannot read ${name}: it is a ${magic} capture, not a table (see 'rtr replay')`,
    );
  }
  if (magic !== null) {
    throw new InputError(`Cannot read ${name}: ${magic} is not supported; gzip is`);
  }
  if (looksBinary(b)) throw new InputError(`Cannot read ${name}: binary data, not a table`);
  let start = 0;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) start = 3;
  while (start < b.length && isSpace(b[start])) start++;
  // `rtrclient -e` prints "Sync done" on stdout before its export.
  if (SYNC_DONE.every((c, i) => b[start + i] === c)) {
    const nl = b.indexOf(0x0a, start);
    start = nl < 0 ? b.length : nl + 1;
    while (start < b.length && isSpace(b[start])) start++;
  }
  if (start >= b.length) {
    throw new InputError(`Cannot read ${name}: the file is empty, expected a VRP table`);
  }
  const estimate = Math.max(1024, Math.floor((b.length - start) / 60));
  let acc = new TableAccumulator(name, estimate);
  const first = b[start];
  let metadata: Record<string, unknown> = {};
  let dialect: string;
  if (first === 0x7b && NDJSON_START.test(latin1(b, start, Math.min(b.length, start + 64)))) {
    dialect = "ndjson";
    metadata = readNdjsonBytes(b, start, acc);
  } else if (first === 0x7b || first === 0x5b) {
    try {
      ({ dialect, metadata } = scanJsonDocument(b, start, acc));
    } catch (e) {
      if (!(e instanceof JsonSyntax)) throw e;
      // The scanner refused the bytes: JSON.parse decides, and words the error.
      let doc: unknown;
      try {
        doc = JSON.parse(DECODER.decode(b.subarray(start)));
      } catch (e) {
        throw new InputError(
          `Cannot read ${name}: not valid JSON (${printable((e as Error).message)})`,
        );
      }
      acc = new TableAccumulator(name, estimate);
      ({ dialect, metadata } = readJsonInto(doc, acc, false));
    }
  } else {
    dialect = readCsvBytes(b, start, acc);
  }
  return { acc, dialect, metadata };
}

/** `s` with control and non-ASCII characters escaped, so no raw input reaches the terminal. */
function printable(s: string): string {
  return s.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const ROA_KEYS = ["prefix", "asn", "origin", "maxLength", "maxlen", "length"].map(asciiBytes);

/**
 * Walk a `roas` array in place, adding each entry; returns its first entry as a value (for
 * dialect detection) or undefined when empty.
 */
function scanRoaArray(s: JsonScanner, acc: TableAccumulator, kind: string): unknown {
  const b = s.b;
  const R = new Int32Array(ROA_KEYS.length * 2);
  let first: unknown = undefined;
  s.expect(0x5b);
  s.ws();
  if (s.peek() === 0x5d) {
    s.pos++;
    return first;
  }
  for (let i = 0;; i++) {
    const os = s.pos;
    if (s.peek() !== 0x7b) {
      s.skipValue(1);
      acc.fail(kind, i, "expected an object");
    }
    s.scanMembers(ROA_KEYS, R);
    if (i === 0) first = s.parseRange(os, s.pos);
    if (!fastRoa(acc, kind, i, b, R)) {
      const r = s.parseRange(os, s.pos) as Record<string, unknown>;
      acc.vrp(kind, i, r.prefix, r.length, r.maxLength ?? r.maxlen, r.asn ?? r.origin);
    }
    s.ws();
    if (s.peek() === 0x2c) {
      s.pos++;
      s.ws();
      continue;
    }
    s.expect(0x5d);
    return first;
  }
}

/** Add a roas entry from its member ranges without decoding it; false when it needs decoding. */
function fastRoa(
  acc: TableAccumulator,
  kind: string,
  i: number,
  b: Uint8Array,
  R: Int32Array,
): boolean {
  const ps = R[0], pe = R[1];
  if (ps < 0 || b[ps] !== 0x22) return false;
  const a = R[2] >= 0 ? 2 : 4;
  const asn = uintAt(b, R[a], R[a + 1], true);
  if (asn < 0) return false;
  let ml = -1;
  const m = R[6] >= 0 ? 6 : 8;
  if (R[m] >= 0) {
    ml = uintAt(b, R[m], R[m + 1], false);
    if (ml < 0) return false;
  }
  let bare = -1;
  if (R[10] >= 0) {
    bare = uintAt(b, R[10], R[11], false);
    if (bare < 0) return false;
  }
  return acc.vrpBytes(kind, i, b, ps + 1, pe - 1, bare, ml, asn);
}

/**
 * Read a JSON document in place: `roas` walked by scanRoaArray, every other member (metadata,
 * keys, ASPA: small) decoded with JSON.parse and handed to readJsonInto.
 */
function scanJsonDocument(
  b: Uint8Array,
  start: number,
  acc: TableAccumulator,
): { dialect: string; metadata: Record<string, unknown> } {
  const s = new JsonScanner(b, start);
  if (s.peek() === 0x5b) {
    scanRoaArray(s, acc, "roas");
    s.ws();
    if (s.pos !== b.length) throw new JsonSyntax("trailing bytes");
    return { dialect: "rtrlib", metadata: {} };
  }
  const rest: Record<string, unknown> = Object.create(null);
  let roasScanned = false;
  s.expect(0x7b);
  s.ws();
  if (s.peek() !== 0x7d) {
    while (true) {
      const key = s.key();
      s.ws();
      s.expect(0x3a);
      s.ws();
      if (key === "roas" && s.peek() === 0x5b && !roasScanned) {
        const first = scanRoaArray(s, acc, "roas");
        rest.roas = first === undefined ? [] : [first];
        roasScanned = true;
      } else {
        const vs = s.pos;
        s.skipValue(1);
        rest[key] = s.parseRange(vs, s.pos);
      }
      s.ws();
      if (s.peek() === 0x2c) {
        s.pos++;
        s.ws();
        continue;
      }
      break;
    }
  }
  s.expect(0x7d);
  s.ws();
  if (s.pos !== b.length) throw new JsonSyntax("trailing bytes");
  return readJsonInto(rest, acc, roasScanned);
}

function arrayField(doc: Record<string, unknown>, key: string, acc: TableAccumulator): unknown[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    throw new InputError(`Cannot read ${acc.name}: ${key} is not an array`);
  }
  return v;
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Feed a parsed JSON document of any §1–3 dialect to `acc` (`roasDone`: roas already read). */
function readJsonInto(
  doc: unknown,
  acc: TableAccumulator,
  roasDone: boolean,
): { dialect: string; metadata: Record<string, unknown> } {
  if (Array.isArray(doc)) {
    readRoas(doc, "roas", acc);
    return { dialect: "rtrlib", metadata: {} };
  }
  if (!isObject(doc)) {
    throw new InputError(`Cannot read ${acc.name}: expected a JSON object or array`);
  }
  const known = ["roas", "bgpsec_keys", "routerKeys", "aspas", "provider_authorizations"];
  if (!known.some((k) => k in doc) && isObject(doc.routes) && !("announce" in doc.routes)) {
    return { dialect: "rtr-client", metadata: readOldRoutingTable(doc.routes, acc) };
  }
  if (!known.some((k) => k in doc)) {
    throw new InputError(
      `Cannot read ${acc.name}: no roas, bgpsec_keys, aspas or provider_authorizations, expected a VRP table`,
    );
  }
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const roas = arrayField(doc, "roas", acc);
  if (!roasDone) readRoas(roas, "roas", acc);

  const keys = arrayField(doc, "bgpsec_keys", acc);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (!isObject(k)) acc.fail("bgpsec_keys", i, "expected an object");
    acc.routerKey("bgpsec_keys", i, k.asn, k.ski ?? k.SKI, k.pubkey ?? k.routerPublicKey);
  }
  const rkeys = arrayField(doc, "routerKeys", acc);
  for (let i = 0; i < rkeys.length; i++) {
    const k = rkeys[i];
    if (!isObject(k)) acc.fail("routerKeys", i, "expected an object");
    acc.routerKey("routerKeys", i, k.asn, k.SKI ?? k.ski, k.routerPublicKey ?? k.pubkey);
  }
  const aspas = arrayField(doc, "aspas", acc);
  readAspas(aspas, "aspas", acc);
  const pa = doc.provider_authorizations;
  if (pa !== undefined && pa !== null) {
    if (!isObject(pa)) {
      throw new InputError(`Cannot read ${acc.name}: provider_authorizations is not an object`);
    }
    readAspas(arrayField(pa, "ipv4", acc), "provider_authorizations.ipv4", acc);
    readAspas(arrayField(pa, "ipv6", acc), "provider_authorizations.ipv6", acc);
  }
  return { dialect: detectDialect(doc, metadata, roas, aspas), metadata };
}

/**
 * The old Python rpki-rtr-client's `data/routingtable.json`: `{"routes": {"ipv4":
 * {CIDR: {MAXLEN: [{ASN: CIDR}, …]}}, "ipv6": {…}}}`, written from its prefix tries; JSON turns
 * the numeric maxlen and ASN keys into strings.
 */
function readOldRoutingTable(routes: Record<string, unknown>, acc: TableAccumulator) {
  let i = 0;
  for (const family of ["ipv4", "ipv6"]) {
    const byPrefix = routes[family];
    if (byPrefix === undefined || byPrefix === null) continue;
    const kind = `routes.${family}`;
    if (!isObject(byPrefix)) acc.fail(kind, 0, "expected an object of prefixes");
    for (const [cidr, byMaxlen] of Object.entries(byPrefix)) {
      if (!isObject(byMaxlen)) acc.fail(kind, i, `${cidr}: expected an object of maxlens`);
      for (const [maxlen, list] of Object.entries(byMaxlen)) {
        if (!Array.isArray(list)) acc.fail(kind, i, `${cidr}: expected a list under ${maxlen}`);
        for (const entry of list) {
          if (!isObject(entry)) acc.fail(kind, i, `${cidr}: expected {ASN: prefix} entries`);
          for (const asn of Object.keys(entry)) {
            acc.vrp(kind, i++, cidr, undefined, Number(maxlen), asn);
          }
        }
      }
    }
  }
  return {};
}

function readRoas(roas: unknown[], kind: string, acc: TableAccumulator): void {
  for (let i = 0; i < roas.length; i++) {
    const r = roas[i] as Record<string, unknown>;
    if (r === null || typeof r !== "object") acc.fail(kind, i, "expected an object");
    acc.vrp(kind, i, r.prefix, r.length, r.maxLength ?? r.maxlen, r.asn ?? r.origin);
  }
}

function readAspas(list: unknown[], kind: string, acc: TableAccumulator): void {
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    if (!isObject(a)) acc.fail(kind, i, "expected an object");
    acc.aspa(kind, i, a.customer_asid ?? a.customer, a.providers);
  }
}

function detectDialect(
  doc: Record<string, unknown>,
  metadata: Record<string, unknown>,
  roas: unknown[],
  aspas: unknown[],
): string {
  const first = roas[0] as Record<string, unknown> | undefined;
  const metaKeys = Object.keys(metadata);
  if (metadata.sessionId !== undefined && metadata.source !== undefined) return "rtr";
  if (doc.routerKeys !== undefined) return "routinator";
  const a0 = aspas[0] as Record<string, unknown> | undefined;
  if (a0 && a0.customer !== undefined && a0.customer_asid === undefined) return "routinator";
  if (doc.provider_authorizations !== undefined) {
    return metaKeys.length === 1 && metaKeys[0] === "vrps" ? "rtrdump" : "stayrtr";
  }
  if (first && typeof first.asn === "string") {
    return metadata.generated !== undefined && metadata.valid !== undefined
      ? "gortr"
      : "routinator";
  }
  if (metaKeys.length === 1 && metaKeys[0] === "vrps") return "rtrdump";
  return "rpki-client";
}

/**
 * Read a table file (`-` and `/dev/stdin` are stdin) in any dialect; gzip (magic bytes) is
 * decompressed as a stream within a size cap, other compressed formats and captures are refused
 * by name. Errors become one-line InputErrors naming the file.
 */
export async function readTableFile(path: string): Promise<LoadedTable> {
  let bytes: Uint8Array | undefined = await readInput(path);
  const fed = feed(bytes, isStdinPath(path) ? "stdin" : path);
  // Let the file's bytes go before the VRP set is sorted and copied: lower peak memory.
  bytes = undefined;
  return finish(fed);
}
