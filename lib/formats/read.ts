/**
 * Reading VRP tables in every dialect of formats.md §1–3 and §4: rpki-client JSON (`roas`,
 * `bgpsec_keys`, `aspas`), StayRTR / rtrdump (`provider_authorizations` {ipv4, ipv6}), Routinator
 * `vrps -f json` (`"AS…"` strings, `routerKeys`, `aspas[{customer, providers}]`), RTRTR,
 * GoRTR, RTRlib `rtrclient -t json` (a bare array, every number quoted), rpki-client and RTRlib
 * CSV, and our own NDJSON. The dialect is detected from the text; everything is normalised
 * (accumulate.ts) into one PayloadTable.
 */
import { InputError } from "../errors.ts";
import type { PayloadTable } from "../model/mod.ts";
import { TableAccumulator } from "./accumulate.ts";
import { readCsvInto } from "./csv_read.ts";
import { readNdjsonInto } from "./ndjson_read.ts";

/** A table read from a file, with what the file said about itself. */
export interface LoadedTable {
  table: PayloadTable;
  /** The file's own `metadata` object (JSON), last `sync` record (NDJSON), or `{}`. */
  metadata: Record<string, unknown>;
  /**
   * Detected dialect: `rtr`, `rpki-client`, `stayrtr`, `rtrdump`, `routinator`, `gortr`,
   * `rtrlib`, `rpki-client-csv`, `rtrlib-csv` or `ndjson`.
   */
  dialect: string;
  /** Repairs made while reading (masked host bits, merged duplicates), one line each. */
  warnings: string[];
}

const NDJSON_START = /^\s*\{\s*"type"\s*:/;

/** Parse a table from text, detecting its dialect; `name` labels errors (default `input`). */
export function parseTableText(text: string, name = "input"): LoadedTable {
  let start = 0;
  if (text.charCodeAt(0) === 0xfeff) start = 1;
  // `rtrclient -e` prints "Sync done" on stdout before its export.
  const m = /^\s*Sync done\r?\n/.exec(text.slice(start, start + 32));
  if (m) start += m[0].length;
  while (start < text.length && isSpace(text.charCodeAt(start))) start++;
  if (start >= text.length) {
    throw new InputError(`Cannot read ${name}: the file is empty, expected a VRP table`);
  }
  if (start > 0) text = text.slice(start);
  const acc = new TableAccumulator(name, Math.max(1024, Math.floor(text.length / 60)));
  const first = text.charCodeAt(0);
  let metadata: Record<string, unknown> = {};
  let dialect: string;
  if (first === 0x7b /* { */ && NDJSON_START.test(text.slice(0, 64))) {
    dialect = "ndjson";
    metadata = readNdjsonInto(text, acc);
  } else if (first === 0x7b || first === 0x5b /* [ */) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new InputError(`Cannot read ${name}: not valid JSON (${(e as Error).message})`);
    }
    ({ dialect, metadata } = readJsonInto(doc, acc));
  } else {
    dialect = readCsvInto(text, acc);
  }
  const table = acc.finish();
  return { table, metadata, dialect, warnings: acc.warnings };
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
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

/** Feed a parsed JSON document of any §1–3 dialect to `acc`. */
function readJsonInto(
  doc: unknown,
  acc: TableAccumulator,
): { dialect: string; metadata: Record<string, unknown> } {
  if (Array.isArray(doc)) {
    readRoas(doc, "roas", acc);
    return { dialect: "rtrlib", metadata: {} };
  }
  if (!isObject(doc)) {
    throw new InputError(`Cannot read ${acc.name}: expected a JSON object or array`);
  }
  const known = ["roas", "bgpsec_keys", "routerKeys", "aspas", "provider_authorizations"];
  if (!known.some((k) => k in doc)) {
    throw new InputError(
      `Cannot read ${acc.name}: no roas, bgpsec_keys, aspas or provider_authorizations, expected a VRP table`,
    );
  }
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const roas = arrayField(doc, "roas", acc);
  readRoas(roas, "roas", acc);

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

/** Read all of a byte stream. */
async function readAllStream(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/**
 * Read a table file (`-` is stdin) in any dialect; gzip (`.gz` or gzip magic bytes) is
 * decompressed transparently. Errors become one-line InputErrors naming the file.
 */
export async function readTableFile(path: string): Promise<LoadedTable> {
  const name = path === "-" ? "stdin" : path;
  let bytes: Uint8Array;
  try {
    bytes = path === "-" ? await readAllStream(Deno.stdin.readable) : await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(`Cannot read ${name}: no such file`, { cause: e });
    }
    throw new InputError(`Cannot read ${name}: ${(e as Error).message}`, { cause: e });
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      const gz = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      );
      bytes = await readAllStream(gz);
    } catch (e) {
      throw new InputError(`Cannot read ${name}: not valid gzip (${(e as Error).message})`, {
        cause: e,
      });
    }
  }
  const text = new TextDecoder().decode(bytes);
  return parseTableText(text, name);
}
