/**
 * Sans-I/O RTR cache responder for `rtr serve` (RFC 6810, RFC 8210, draft-ietf-sidrops-8210bis;
 * protocol.md §3, §4.6, §4.8, §8). `RtrCache` holds the current table and a bounded history of
 * past serials (each kept as the merged VRP delta to the current table plus its small router-key
 * and ASPA lists); `CacheConnection` takes the bytes one router sent and returns what to send
 * back and whether to close. Responses are produced lazily as large byte chunks encoded straight
 * from the packed VrpSet words, so a full table is never materialised as PDU objects nor as one
 * buffer. Every response follows the 8210bis §11.2 order, whatever the version.
 */
import { DecodeError, InputError } from "../errors.ts";
import { serialAdd, serialLt } from "../serial.ts";
import {
  encodedLength,
  encodeInto,
  encodePdu,
  ErrorCode,
  errorCodeFor,
  errorName,
  MAX_PDU_LENGTH,
  MAX_VERSION,
  type Pdu,
  PduFramer,
  pduName,
  PduType,
} from "../wire/mod.ts";
import {
  type Aspa,
  diffIsEmpty,
  diffTables,
  fromBase64,
  fromHex,
  type PayloadTable,
  type RouterKey,
  routerKeyId,
  VrpSet,
  W,
} from "../model/mod.ts";

/** Size of the chunks a response is cut into (one socket write each). */
export const CHUNK_SIZE = 256 * 1024;

/** How ASPA PDUs are laid out for version 2 sessions. */
export type AspaLayout = "current" | "legacy";

/** Settings of a cache. */
export interface CacheOptions {
  /** Session ID (u16) of this cache's data epoch. */
  sessionId: number;
  /** Highest protocol version served (0 to 2); default 2. */
  maxVersion?: number;
  /** Refresh Interval sent in End of Data (v1+), seconds; default 3600. */
  refresh?: number;
  /** Retry Interval sent in End of Data (v1+), seconds; default 600. */
  retry?: number;
  /** Expire Interval sent in End of Data (v1+), seconds; default 7200. */
  expire?: number;
  /** Past serials kept for Serial Query deltas; default 16. */
  historySize?: number;
  /** Serial of the first table; default 1. */
  firstSerial?: number;
  /** ASPA layout for v2 sessions: 8210bis (default) or StayRTR 0.5.1's legacy draft layout. */
  aspaLayout?: AspaLayout;
  /** Bytes per response chunk; default CHUNK_SIZE. */
  chunkSize?: number;
  /**
   * Reuse one buffer per response: each chunk is then valid only until the next is requested
   * (a writer that awaits each write keeps a single 256 KiB buffer per connection). Default false.
   */
  reuseChunks?: boolean;
}

/** A router key ready for the wire. */
interface WireKey {
  asn: number;
  ski: Uint8Array;
  spki: Uint8Array;
  id: string;
}

/** The current table, prepared for encoding. */
interface Current {
  serial: number;
  table: PayloadTable;
  /** Router keys in 8210bis §11.2 order. */
  keys: WireKey[];
}

/** A past serial: what changed from it to the current table. */
interface Past {
  serial: number;
  /** Merged VRP change from this serial to the current table. */
  vrps: { announced: VrpSet; withdrawn: VrpSet };
  routerKeys: RouterKey[];
  aspas: Aspa[];
}

/** What `RtrCache.update` did. */
export interface UpdateResult {
  /** False when the new table equals the current one (no new serial). */
  changed: boolean;
  /** Serial now served. */
  serial: number;
  /** Serial served before (undefined for the first table). */
  previous?: number;
  /** Net change from the previous table (zeros for the first). */
  announced: number;
  withdrawn: number;
}

/** One response: its exact size and its bytes, produced lazily in large chunks. */
export interface Response {
  /** What it is, for logs: `Cache Response + 3 PDUs + End of Data`. */
  summary: string;
  /** Total bytes. */
  size: number;
  /** Serial announced in its End of Data, if any. */
  serial?: number;
  /** The bytes, in chunks of at most the chunk size (a single larger PDU excepted). */
  chunks: Iterable<Uint8Array>;
}

/** What the connection should do after receiving bytes. */
export interface CacheOutput {
  /** Responses to write, in order. */
  send: Response[];
  /** Close the connection once `send` is written. */
  close: boolean;
  /** Human-readable events (negotiation, queries, errors) for the log, one line each. */
  events: string[];
}

const EMPTY_SET = new VrpSet();

/** Records of `a` that are not in `b`. */
function minus(a: VrpSet, b: VrpSet): VrpSet {
  if (a.size === 0 || b.size === 0) return a;
  return VrpSet.diff(b, a).announced;
}

/** Records in `a` or `b`. */
function union(a: VrpSet, b: VrpSet): VrpSet {
  if (b.size === 0) return a;
  if (a.size === 0) return b;
  return a.apply(b, EMPTY_SET);
}

/** The net change of applying `first` then `second` (each a minimal change). */
export function composeVrpChanges(
  first: { announced: VrpSet; withdrawn: VrpSet },
  second: { announced: VrpSet; withdrawn: VrpSet },
): { announced: VrpSet; withdrawn: VrpSet } {
  return {
    announced: union(
      minus(first.announced, second.withdrawn),
      minus(second.announced, first.withdrawn),
    ),
    withdrawn: union(
      minus(first.withdrawn, second.announced),
      minus(second.withdrawn, first.announced),
    ),
  };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** 8210bis §11.2 order of router keys: SKI, SPKI length, SPKI bytes, ASN. */
function compareWireKeys(a: WireKey, b: WireKey): number {
  return compareBytes(a.ski, b.ski) || a.spki.length - b.spki.length ||
    compareBytes(a.spki, b.spki) || a.asn - b.asn;
}

function wireKey(k: RouterKey): WireKey {
  const ski = fromHex(k.ski);
  if (!ski || ski.length !== 20) {
    throw new InputError(
      `Cannot serve router key of AS${k.asn}: SKI ${JSON.stringify(k.ski)} is not 40 hex digits`,
    );
  }
  const spki = fromBase64(k.pubkey);
  if (!spki || spki.length === 0 || 32 + spki.length > MAX_PDU_LENGTH) {
    throw new InputError(
      `Cannot serve router key of AS${k.asn}: public key is not base64 of 1 to ${
        MAX_PDU_LENGTH - 32
      } bytes`,
    );
  }
  return { asn: k.asn, ski, spki, id: routerKeyId(k) };
}

function wireKeys(keys: RouterKey[]): WireKey[] {
  return keys.map(wireKey).sort(compareWireKeys);
}

/** Refuse VRPs that cannot go on the wire (max length outside prefix length..32 or 128). */
function checkVrps(set: VrpSet): void {
  const d = set.data, n = set.size;
  for (let i = 0; i < n; i++) {
    const meta = d[i * W];
    const bits = meta >>> 16 === 1 ? 128 : 32;
    const len = (meta >>> 8) & 255, max = meta & 255;
    if (len > bits || max < len || max > bits) {
      const v = set.at(i);
      throw new InputError(
        `Cannot serve VRP ${v.prefix} AS${v.asn}: max length is ${max}, expected ${len} to ${bits}`,
      );
    }
  }
}

/** Providers as the current layout requires: at least one, no AS0 among several. */
function wireProviders(p: number[]): number[] {
  if (p.length === 0) return [0];
  if (p.length > 1 && p.includes(0)) return p.filter((x) => x !== 0);
  return p;
}

/** A cache: the table being served, its serial and session, and recent history. */
export class RtrCache {
  /** Session ID sent in every response. */
  readonly sessionId: number;
  /** Highest protocol version served. */
  readonly maxVersion: number;
  /** End of Data timers (v1+). */
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  /** ASPA layout for v2 sessions. */
  readonly aspaLayout: AspaLayout;
  /** Bytes per response chunk. */
  readonly chunkSize: number;
  /** Whether response chunks share one buffer (see CacheOptions.reuseChunks). */
  readonly reuseChunks: boolean;
  readonly #historySize: number;
  readonly #firstSerial: number;
  #current: Current | null = null;
  /** Oldest first. */
  #past: Past[] = [];

  constructor(options: CacheOptions) {
    this.sessionId = options.sessionId & 0xffff;
    this.maxVersion = Math.min(options.maxVersion ?? MAX_VERSION, MAX_VERSION);
    this.refresh = options.refresh ?? 3600;
    this.retry = options.retry ?? 600;
    this.expire = options.expire ?? 7200;
    this.aspaLayout = options.aspaLayout ?? "current";
    this.chunkSize = Math.max(options.chunkSize ?? CHUNK_SIZE, 64);
    this.reuseChunks = options.reuseChunks ?? false;
    this.#historySize = Math.max(0, options.historySize ?? 16);
    this.#firstSerial = (options.firstSerial ?? 1) >>> 0;
  }

  /** True once a first table is loaded. */
  get hasData(): boolean {
    return this.#current !== null;
  }

  /** Serial of the current table (undefined before the first). */
  get serial(): number | undefined {
    return this.#current?.serial;
  }

  /** The table being served (undefined before the first). */
  get table(): PayloadTable | undefined {
    return this.#current?.table;
  }

  /** Serials a Serial Query can be answered from with a delta, oldest first (current last). */
  get heldSerials(): number[] {
    const out = this.#past.map((p) => p.serial);
    if (this.#current) out.push(this.#current.serial);
    return out;
  }

  /**
   * Serve `table` from now on. An unchanged table keeps the serial; a changed one gets the next
   * serial, and every held past serial's delta is merged with the change. A router key that
   * cannot be encoded throws InputError and leaves the cache untouched.
   */
  update(table: PayloadTable): UpdateResult {
    checkVrps(table.vrps);
    const keys = wireKeys(table.routerKeys);
    const cur = this.#current;
    if (!cur) {
      this.#current = { serial: this.#firstSerial, table, keys };
      const n = table.vrps.size + table.routerKeys.length + table.aspas.length;
      return { changed: true, serial: this.#firstSerial, announced: n, withdrawn: 0 };
    }
    const d = diffTables(cur.table, table);
    if (diffIsEmpty(d)) {
      return {
        changed: false,
        serial: cur.serial,
        previous: cur.serial,
        announced: 0,
        withdrawn: 0,
      };
    }
    const serial = serialAdd(cur.serial, 1);
    const step = d.vrps;
    // A delta larger than the table (and than 1024 records) costs more than a reset and would
    // hold memory: that serial is forgotten and gets Cache Reset.
    const limit = Math.max(table.vrps.size, 1024);
    const past: Past[] = [];
    for (const p of this.#past) {
      const vrps = composeVrpChanges(p.vrps, step);
      if (vrps.announced.size + vrps.withdrawn.size > limit) continue;
      past.push({ serial: p.serial, vrps, routerKeys: p.routerKeys, aspas: p.aspas });
    }
    if (step.announced.size + step.withdrawn.size <= limit) {
      past.push({
        serial: cur.serial,
        vrps: step,
        routerKeys: cur.table.routerKeys,
        aspas: cur.table.aspas,
      });
    }
    while (past.length > this.#historySize) past.shift();
    this.#past = past;
    this.#current = { serial, table, keys };
    return {
      changed: true,
      serial,
      previous: cur.serial,
      announced: step.announced.size + d.routerKeys.announced.length + d.aspas.announced.length,
      withdrawn: step.withdrawn.size + d.routerKeys.withdrawn.length + d.aspas.withdrawn.length,
    };
  }

  /** A responder for one new router connection. */
  connection(): CacheConnection {
    return new CacheConnection(this);
  }

  /** The full table at `version` (Reset Query answer). */
  resetResponse(version: number): Response {
    const cur = this.#current;
    if (!cur) throw new Error("resetResponse() needs data");
    const vrps = cur.table.vrps;
    const keys = version >= 1 ? cur.keys : [];
    const aspas = version >= 2 ? cur.table.aspas : [];
    return this.#response(version, cur.serial, {
      announced: vrps,
      withdrawn: EMPTY_SET,
      keysAnnounced: keys,
      keysWithdrawn: [],
      aspaAnnounced: aspas,
      aspaWithdrawn: [],
    });
  }

  /**
   * The answer to a Serial Query for `serial` at `version`: a delta when the serial is held,
   * otherwise null (the caller sends Cache Reset).
   */
  deltaResponse(version: number, serial: number): Response | null {
    const cur = this.#current;
    if (!cur) throw new Error("deltaResponse() needs data");
    if (serial === cur.serial) {
      return this.#response(version, cur.serial, {
        announced: EMPTY_SET,
        withdrawn: EMPTY_SET,
        keysAnnounced: [],
        keysWithdrawn: [],
        aspaAnnounced: [],
        aspaWithdrawn: [],
      });
    }
    const past = this.#past.find((p) => p.serial === serial);
    if (!past) return null;
    let keysAnnounced: WireKey[] = [], keysWithdrawn: WireKey[] = [];
    if (version >= 1) {
      const had = new Set(past.routerKeys.map(routerKeyId));
      const has = new Set(cur.keys.map((k) => k.id));
      keysAnnounced = cur.keys.filter((k) => !had.has(k.id));
      keysWithdrawn = wireKeys(past.routerKeys.filter((k) => !has.has(routerKeyId(k))));
    }
    let aspaAnnounced: Aspa[] = [], aspaWithdrawn: Aspa[] = [];
    if (version >= 2) {
      const old = new Map(past.aspas.map((a) => [a.customer, a]));
      const now = new Set(cur.table.aspas.map((a) => a.customer));
      aspaAnnounced = cur.table.aspas.filter((a) => {
        const o = old.get(a.customer);
        return !o || o.providers.join(",") !== a.providers.join(",");
      });
      aspaWithdrawn = past.aspas.filter((a) => !now.has(a.customer));
    }
    return this.#response(version, cur.serial, {
      announced: past.vrps.announced,
      withdrawn: past.vrps.withdrawn,
      keysAnnounced,
      keysWithdrawn,
      aspaAnnounced,
      aspaWithdrawn,
    });
  }

  /** End of Data timers as a PDU for `version`. */
  endOfData(version: number, serial: number): Pdu {
    return {
      type: PduType.EndOfData,
      version,
      sessionId: this.sessionId,
      serial,
      refresh: this.refresh,
      retry: this.retry,
      expire: this.expire,
    };
  }

  #response(version: number, serial: number, c: Changes): Response {
    const legacy = this.aspaLayout === "legacy";
    const a4 = c.announced.ipv4Count, a6 = c.announced.size - a4;
    const w4 = c.withdrawn.ipv4Count, w6 = c.withdrawn.size - w4;
    const aspaPdus = aspaPduList(version, c.aspaAnnounced, c.aspaWithdrawn, legacy);
    const keyPdus: Pdu[] = [
      ...c.keysAnnounced.map((k) => keyPdu(version, 1, k)),
      ...c.keysWithdrawn.map((k) => keyPdu(version, 0, k)),
    ];
    const head: Pdu = { type: PduType.CacheResponse, version, sessionId: this.sessionId };
    const tail = this.endOfData(version, serial);
    let size = 8 + encodedLength(tail) + (a4 + w4) * 20 + (a6 + w6) * 32;
    for (const p of keyPdus) size += encodedLength(p);
    for (const p of aspaPdus) size += encodedLength(p);
    const payload = a4 + a6 + w4 + w6 + keyPdus.length + aspaPdus.length;
    const parts = [
      a4 + a6 > 0 ? `${a4 + a6} announced` : "",
      w4 + w6 > 0 ? `${w4 + w6} withdrawn` : "",
      keyPdus.length > 0 ? `${keyPdus.length} router keys` : "",
      aspaPdus.length > 0 ? `${aspaPdus.length} ASPA` : "",
    ].filter((s) => s !== "");
    const summary = `Cache Response v${version}, ${payload} payload PDUs${
      parts.length ? ` (${parts.join(", ")})` : ""
    }, End of Data serial ${serial}`;
    const chunkSize = this.chunkSize, reuse = this.reuseChunks;
    return {
      summary,
      size,
      serial,
      chunks: {
        [Symbol.iterator]: () =>
          encodeResponse(
            new ChunkBuffer(chunkSize, reuse),
            version,
            head,
            c.announced,
            c.withdrawn,
            [a4, w4],
            keyPdus,
            aspaPdus,
            tail,
          ),
      },
    };
  }
}

interface Changes {
  announced: VrpSet;
  withdrawn: VrpSet;
  keysAnnounced: WireKey[];
  keysWithdrawn: WireKey[];
  aspaAnnounced: Aspa[];
  aspaWithdrawn: Aspa[];
}

function keyPdu(version: number, flags: number, k: WireKey): Pdu {
  return { type: PduType.RouterKey, version, flags, ski: k.ski, asn: k.asn, spki: k.spki };
}

function aspaPduList(
  version: number,
  announced: Aspa[],
  withdrawn: Aspa[],
  legacy: boolean,
): Pdu[] {
  if (version < 2) return [];
  const out: Pdu[] = [];
  const add = (flags: number, customer: number, providers: number[]) => {
    if (!legacy) {
      out.push({ type: PduType.Aspa, version, flags, customer, providers });
      return;
    }
    // The legacy layout keyed records by (customer, AFI): an 8210bis record holds for both
    // families, so it goes out once per AFI (0 = IPv4, 1 = IPv6), as StayRTR 0.5.1 sends a
    // file's ipv4 and ipv6 lists; a withdrawal names the record by its providers.
    for (const legacyAfi of [0, 1]) {
      out.push({ type: PduType.Aspa, version, flags, customer, providers, legacyAfi });
    }
  };
  for (const a of announced) add(1, a.customer, wireProviders(a.providers));
  for (const a of withdrawn) add(0, a.customer, legacy ? wireProviders(a.providers) : []);
  return out;
}

/** The buffer a response is encoded into, cut into chunks by `take()`. */
class ChunkBuffer {
  buf: Uint8Array;
  view: DataView;
  off = 0;
  readonly size: number;
  readonly reuse: boolean;
  constructor(size: number, reuse: boolean) {
    this.size = size;
    this.reuse = reuse;
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * Take the filled part and start over in a buffer able to hold at least `need` bytes: the
   * same one when reusing (the caller yields the chunk and writes on only once resumed).
   */
  take(need = 0): Uint8Array {
    const out = this.buf.subarray(0, this.off);
    if (!this.reuse || need > this.buf.length) {
      this.buf = new Uint8Array(Math.max(this.size, need));
      this.view = new DataView(this.buf.buffer);
    }
    this.off = 0;
    return out;
  }

  /** Replace the (empty) buffer with one of at least `need` bytes. */
  grow(need: number): void {
    this.buf = new Uint8Array(Math.max(this.size, need));
    this.view = new DataView(this.buf.buffer);
    this.off = 0;
  }
}

/** Reused scratch for sorting runs of records with equal addresses. */
const runScratch: number[] = [];

/** Where a prefix range encoding stands between chunks. */
interface PrefixCursor {
  /** Next record index. */
  i: number;
  /** One past the last index, in the direction of `step`. */
  end: number;
  step: 1 | -1;
  /** First word of the header (version, type) and the PDU length. */
  header: number;
  pduLen: number;
  /** Flags octet, shifted into the top byte of the third word. */
  flagsWord: number;
  announce: boolean;
}

/**
 * Encode prefix records from `c.i` into `view` from `off` up to `limit`; returns the new offset
 * (`c.i` advances). A run of records with equal addresses is written whole or not at all, so
 * the caller may need a larger buffer when a single run does not fit in an empty one.
 */
function fillPrefixes(d: Uint32Array, c: PrefixCursor, view: DataView, off: number, limit: number) {
  const { end, step, header, pduLen, flagsWord, announce } = c;
  const v6 = pduLen === 32;
  let i = c.i;
  while (i !== end) {
    const x = i * W;
    let j = i + step;
    if (
      j !== end && d[j * W + 1] === d[x + 1] && d[j * W + 2] === d[x + 2] &&
      d[j * W + 3] === d[x + 3] && d[j * W + 4] === d[x + 4]
    ) {
      // A run of equal addresses: order it by max length, prefix length, ASN.
      do j += step; while (
        j !== end && d[j * W + 1] === d[x + 1] && d[j * W + 2] === d[x + 2] &&
        d[j * W + 3] === d[x + 3] && d[j * W + 4] === d[x + 4]
      );
      const n = (j - i) * step;
      if (off + n * pduLen > limit) break;
      const run = runScratch;
      run.length = 0;
      for (let k = i; k !== j; k += step) run.push(k);
      run.sort((p, q) => {
        const mp = d[p * W], mq = d[q * W];
        const r = (mp & 255) - (mq & 255) || ((mp >>> 8) & 255) - ((mq >>> 8) & 255) ||
          (d[p * W + 5] < d[q * W + 5] ? -1 : d[p * W + 5] > d[q * W + 5] ? 1 : 0);
        return announce ? -r : r;
      });
      for (let r = 0; r < n; r++) {
        off = writePrefix(d, run[r] * W, view, off, header, pduLen, flagsWord, v6);
      }
    } else {
      if (off + pduLen > limit) break;
      off = writePrefix(d, x, view, off, header, pduLen, flagsWord, v6);
    }
    i = j;
  }
  c.i = i;
  return off;
}

/** Write the record at word `y` of `d` as one PDU; every byte is written (buffers are reused). */
function writePrefix(
  d: Uint32Array,
  y: number,
  view: DataView,
  o: number,
  header: number,
  pduLen: number,
  flagsWord: number,
  v6: boolean,
): number {
  view.setUint32(o, header);
  view.setUint32(o + 4, pduLen);
  view.setUint32(o + 8, (flagsWord | ((d[y] & 0xffff) << 8)) >>> 0);
  view.setUint32(o + 12, d[y + 1]);
  if (v6) {
    view.setUint32(o + 16, d[y + 2]);
    view.setUint32(o + 20, d[y + 3]);
    view.setUint32(o + 24, d[y + 4]);
    view.setUint32(o + 28, d[y + 5]);
  } else {
    view.setUint32(o + 16, d[y + 5]);
  }
  return o + pduLen;
}

/**
 * Emit prefixes `lo..hi` (record indices) of packed `d` in §11.2 order: announcements by
 * address, max length, prefix length, ASN all descending; withdrawals all ascending. The set is
 * sorted by address, prefix length, max length, ASN, so only runs of equal addresses need
 * reordering.
 */
function* emitPrefixes(
  out: ChunkBuffer,
  d: Uint32Array,
  lo: number,
  hi: number,
  version: number,
  announce: boolean,
): Generator<Uint8Array> {
  if (lo >= hi) return;
  const v6 = (d[lo * W] >>> 16) === 1;
  const type = v6 ? 6 : 4;
  const c: PrefixCursor = {
    i: announce ? hi - 1 : lo,
    end: announce ? lo - 1 : hi,
    step: announce ? -1 : 1,
    header: ((version << 24) | (type << 16)) >>> 0,
    pduLen: v6 ? 32 : 20,
    flagsWord: announce ? 0x1000000 : 0,
    announce,
  };
  while (c.i !== c.end) {
    const before = c.i;
    out.off = fillPrefixes(d, c, out.view, out.off, out.buf.length);
    if (c.i === c.end) break;
    // The chunk is full, or a run of equal addresses needs more room than an empty chunk has.
    if (before === c.i && out.off === 0) out.grow(out.buf.length * 2);
    else yield out.take();
  }
}

function* emitPdus(out: ChunkBuffer, pdus: Pdu[]): Generator<Uint8Array> {
  for (const p of pdus) {
    const len = encodedLength(p);
    if (out.off + len > out.buf.length) {
      if (out.off > 0) yield out.take(len);
      else out.grow(len);
    }
    out.off = encodeInto(p, out.buf, out.view, out.off);
  }
}

function* encodeResponse(
  out: ChunkBuffer,
  version: number,
  head: Pdu,
  announced: VrpSet,
  withdrawn: VrpSet,
  [a4, w4]: number[],
  keyPdus: Pdu[],
  aspaPdus: Pdu[],
  tail: Pdu,
): Generator<Uint8Array> {
  yield* emitPdus(out, [head]);
  const ad = announced.data, wd = withdrawn.data;
  yield* emitPrefixes(out, ad, 0, a4, version, true);
  yield* emitPrefixes(out, wd, 0, w4, version, false);
  yield* emitPrefixes(out, ad, a4, announced.size, version, true);
  yield* emitPrefixes(out, wd, w4, withdrawn.size, version, false);
  yield* emitPdus(out, keyPdus);
  yield* emitPdus(out, aspaPdus);
  yield* emitPdus(out, [tail]);
  if (out.off > 0) yield out.take();
}

/** A response made of a few small PDUs. */
function smallResponse(summary: string, pdus: Pdu[], serial?: number): Response {
  const bytes = pdus.length === 1 ? encodePdu(pdus[0]) : concat(pdus.map(encodePdu));
  return { summary, size: bytes.length, serial, chunks: [bytes] };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Error codes after which the peer drops the session (protocol.md §2). */
function isFatal(code: number, version: number): boolean {
  if (code === ErrorCode.NoDataAvailable) return false;
  if (code === ErrorCode.UnsupportedProtocolVersion) return version < 2;
  if (code === ErrorCode.CacheRestart) return false;
  return true;
}

/** The responder for one router connection: bytes in, responses out. */
export class CacheConnection {
  readonly #cache: RtrCache;
  readonly #framer = new PduFramer();
  /** Negotiated protocol version (undefined until the first query is answered). */
  version: number | undefined;
  /** Serial of the last End of Data sent (undefined before the first). */
  lastSerial: number | undefined;
  /** True once the connection must be closed; further input is ignored. */
  closed = false;

  constructor(cache: RtrCache) {
    this.#cache = cache;
  }

  /** Feed bytes received from the router. */
  receive(chunk: Uint8Array): CacheOutput {
    const out: CacheOutput = { send: [], close: false, events: [] };
    if (this.closed) return out;
    try {
      this.#framer.push(chunk, (pdu, raw) => {
        if (!this.closed) this.#onPdu(pdu, raw, out);
      });
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      if (!this.closed) this.#onDecodeError(e, out);
    }
    return out;
  }

  /** The router closed its side: true when it left in the middle of a PDU. */
  get partial(): boolean {
    return this.#framer.buffered > 0;
  }

  /**
   * A Serial Notify for the current serial, when this router has negotiated a version and last
   * received an older serial; otherwise null.
   */
  notify(): Uint8Array | null {
    const serial = this.#cache.serial;
    if (this.closed || this.version === undefined || serial === undefined) return null;
    if (this.lastSerial === serial) return null;
    return encodePdu({
      type: PduType.SerialNotify,
      version: this.version,
      sessionId: this.#cache.sessionId,
      serial,
    });
  }

  #error(
    out: CacheOutput,
    version: number,
    code: number,
    text: string,
    pdu: Uint8Array = new Uint8Array(0),
  ): void {
    const wireCode = errorCodeFor(version, code);
    const textLen = new TextEncoder().encode(text).length;
    const room = MAX_PDU_LENGTH - 16 - textLen;
    const body = pdu.length > room ? pdu.subarray(0, Math.max(room, 0)) : pdu;
    out.send.push(
      smallResponse(`Error Report v${version} code ${wireCode} (${errorName(wireCode)}): ${text}`, [
        { type: PduType.ErrorReport, version, errorCode: wireCode, pdu: body, text },
      ]),
    );
    out.events.push(`sent Error Report code ${wireCode} (${errorName(wireCode)}): ${text}`);
    if (isFatal(wireCode, version)) {
      out.close = true;
      this.closed = true;
    }
  }

  #drop(out: CacheOutput, why: string): void {
    out.events.push(why);
    out.close = true;
    this.closed = true;
  }

  #onDecodeError(e: DecodeError, out: CacheOutput): void {
    const raw = e.pdu ?? new Uint8Array(0);
    const type = raw.length > 1 ? raw[1] : -1;
    if (type === PduType.ErrorReport) {
      this.#drop(out, `dropped: malformed Error Report from router: ${e.message}`);
      return;
    }
    const maxV = this.#cache.maxVersion;
    if (this.version !== undefined) {
      if (e.errorCode === ErrorCode.UnsupportedProtocolVersion) {
        this.#error(
          out,
          this.version,
          ErrorCode.UnexpectedProtocolVersion,
          `Unexpected protocol version ${raw[0]}, session is version ${this.version}`,
          raw,
        );
        return;
      }
      this.#error(out, this.version, e.errorCode, e.message, raw);
      return;
    }
    if (e.errorCode === ErrorCode.UnsupportedProtocolVersion) {
      this.#error(
        out,
        maxV,
        ErrorCode.UnsupportedProtocolVersion,
        `Protocol version ${raw[0]} is not supported, this cache speaks up to version ${maxV}`,
        raw,
      );
      // Code 4 is non-fatal in 8210bis, but no session exists: close all the same.
      out.close = true;
      this.closed = true;
      return;
    }
    const v = raw.length > 0 && raw[0] <= maxV ? raw[0] : maxV;
    this.#error(out, v, e.errorCode, e.message, raw);
  }

  #onPdu(pdu: Pdu, raw: Uint8Array, out: CacheOutput): void {
    const cache = this.#cache;
    if (pdu.type === PduType.ErrorReport) {
      const fatal = isFatal(pdu.errorCode, pdu.version);
      const line = `router sent Error Report code ${pdu.errorCode} (${errorName(pdu.errorCode)})${
        pdu.text ? `: ${pdu.text}` : ""
      }`;
      if (fatal) this.#drop(out, line);
      else out.events.push(line);
      return;
    }
    if (this.version === undefined) {
      if (pdu.type !== PduType.ResetQuery && pdu.type !== PduType.SerialQuery) {
        const v = pdu.version <= cache.maxVersion ? pdu.version : cache.maxVersion;
        this.#error(
          out,
          v,
          ErrorCode.InvalidRequest,
          `Unexpected ${pduName(pdu.type)} PDU, expected Reset Query or Serial Query`,
          raw,
        );
        return;
      }
      if (pdu.version > cache.maxVersion) {
        this.#error(
          out,
          cache.maxVersion,
          ErrorCode.UnsupportedProtocolVersion,
          `Protocol version ${pdu.version} is not supported, this cache speaks up to version ${cache.maxVersion}`,
          raw,
        );
        out.close = true;
        this.closed = true;
        return;
      }
      this.version = pdu.version;
      out.events.push(`negotiated version ${pdu.version}`);
    } else if (pdu.version !== this.version) {
      this.#error(
        out,
        this.version,
        ErrorCode.UnexpectedProtocolVersion,
        `Unexpected protocol version ${pdu.version}, session is version ${this.version}`,
        raw,
      );
      return;
    }
    const v = this.version;
    if (pdu.type === PduType.ResetQuery) {
      if (!cache.hasData) {
        out.events.push("Reset Query: no data yet");
        this.#error(out, v, ErrorCode.NoDataAvailable, "No data available");
        return;
      }
      const r = cache.resetResponse(v);
      out.events.push(`Reset Query → ${r.summary}, ${r.size} bytes`);
      out.send.push(r);
      this.lastSerial = r.serial;
      return;
    }
    if (pdu.type === PduType.SerialQuery) {
      const q = `Serial Query session ${pdu.sessionId} serial ${pdu.serial}`;
      if (!cache.hasData) {
        out.events.push(`${q}: no data yet`);
        this.#error(out, v, ErrorCode.NoDataAvailable, "No data available");
        return;
      }
      if (pdu.sessionId !== cache.sessionId) {
        out.events.push(`${q}: wrong session`);
        this.#error(
          out,
          v,
          ErrorCode.CorruptData,
          `Session ID mismatch: got ${pdu.sessionId}, want ${cache.sessionId}`,
          raw,
        );
        return;
      }
      const r = cache.deltaResponse(v, pdu.serial);
      if (r) {
        out.events.push(`${q} → ${r.summary}, ${r.size} bytes`);
        out.send.push(r);
        this.lastSerial = r.serial;
        return;
      }
      const current = cache.serial!;
      const why = serialLt(current, pdu.serial) ? "in the future" : "no longer held";
      out.events.push(`${q}: serial ${why} (current ${current}) → Cache Reset`);
      out.send.push(smallResponse(`Cache Reset v${v}`, [{ type: PduType.CacheReset, version: v }]));
      return;
    }
    this.#error(
      out,
      v,
      ErrorCode.InvalidRequest,
      `Unexpected ${pduName(pdu.type)} PDU from a router`,
      raw,
    );
  }
}

/**
 * Serial Notify rate limit (8210bis §8.2: at most one a minute by default), time injected:
 * `request(now)` after a change returns how many ms to wait before notifying (0: now).
 */
export class NotifyLimiter {
  readonly intervalMs: number;
  #last = -Infinity;
  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** Ms until a notification may go out (0 when it may go now). */
  request(now: number): number {
    return Math.max(0, this.#last + this.intervalMs - now);
  }

  /** Record that notifications went out at `now`. */
  sent(now: number): void {
    this.#last = now;
  }
}
