/**
 * Connection tracking for RTR over TCP in captures: takes every connection on the RTR ports
 * (323, 324, 8282, 8283, 3323 and any the user adds) and finds RTR on any other port by content:
 * a connection is RTR when either direction opens with a plausible first PDU (RFC 8210 §8: a
 * Reset Query or Serial Query from the router; a Cache Response, Cache Reset, Serial Notify or
 * Error Report from the cache), framed as strictly as the wire framer does (version 0 to 2, a
 * type of that version, the length that type has) and, when short, decoding whole. It tells the
 * router from the cache (SYN, then content or ports), reassembles both directions and frames each
 * with a PduScanner. A reused port pair with a new SYN starts a new connection. Everything it
 * finds goes to a CaptureHandler in capture order.
 */
import { DecodeError } from "../errors.ts";
import { decodeAt, MAX_VERSION, type Pdu, PduType } from "../wire/mod.ts";
import { addressText, TcpFlag, type TcpSegment } from "./frame.ts";
import { type MalformedSpan, type PduBytes, PduScanner, plausibleHeader } from "./pdu_scanner.ts";
import { TcpReassembler } from "./tcp_reassembler.ts";
import type { Timestamp } from "./timestamp.ts";

/** TCP ports RTR is found on unless told otherwise (IANA 323/324, StayRTR, rtrlib, Routinator). */
export const DEFAULT_RTR_PORTS: readonly number[] = [323, 324, 8282, 8283, 3323];

/** Who sent the bytes of a stream. */
export type Direction = "cache" | "router";

/** One RTR connection (or one raw dump, which has no addresses). */
export interface RtrConnection {
  /** Sequence number of the connection in its file, from 1. */
  id: number;
  /** `router:port>cache:port` (IPv6 in brackets), or null for a raw dump. */
  flow: string | null;
  /** Router and cache addresses (null for a raw dump). */
  router: string | null;
  cache: string | null;
  /** Input file the connection came from. */
  file: string;
}

/** One direction of a connection. */
export interface RtrStream {
  connection: RtrConnection;
  direction: Direction;
}

/** Receives everything found in a capture, in capture order. */
export interface CaptureHandler {
  /** A decoded PDU; `at` says where its bytes are (valid during the call only). */
  pdu(stream: RtrStream, pdu: Pdu, at: PduBytes, time: Timestamp | null): void;
  /** Bytes that are not a valid PDU. */
  malformed(stream: RtrStream, span: MalformedSpan, time: Timestamp | null): void;
  /** Bytes missing from the capture. */
  gap(stream: RtrStream, offset: number, length: number, time: Timestamp | null): void;
  /** The connection closed (RST, FIN both ways) or the capture ended. */
  connectionEnd?(connection: RtrConnection): void;
}

/** What the first PDU of a direction says about the connection. */
type Vote = "router" | "cache" | "no" | null;

interface Side {
  stream: RtrStream;
  reasm: TcpReassembler;
  scanner: PduScanner;
  /** The connection, while its content is being probed (null once it is known to be RTR). */
  probe: Conn | null;
  /** The first bytes of the direction (up to PROBE_HEAD), while probing. */
  head: Uint8Array | null;
  headLen: number;
  vote: Vote;
}

/** Something a direction produced while its connection was being probed. */
interface Held {
  side: Side;
  /** Copied bytes, or null for a gap. */
  bytes: Uint8Array | null;
  offset: number;
  length: number;
  time: Timestamp | null;
}

/** Bytes of a first PDU checked by decoding it whole (longer ones: the header only). */
const PROBE_HEAD = 64;
/** Bytes held while probing before a connection that has not shown RTR is given up. */
const PROBE_LIMIT = 64 << 10;

interface Conn {
  info: RtrConnection;
  /** Key in the connection map. */
  key: string;
  /** Endpoint text of the router and cache sides. */
  routerEp: string;
  cacheEp: string;
  /** True when the roles come from the SYN (content cannot swap them). */
  synRoles: boolean;
  /** Events held while probing, in capture order, and their bytes. */
  held: Held[];
  heldBytes: number;
  routerAddr: Uint8Array;
  routerPort: number;
  cacheAddr: Uint8Array;
  cachePort: number;
  router: Side;
  cache: Side;
  time: Timestamp | null;
  closed: boolean;
  rst: boolean;
}

function endpoint(family: 4 | 6, addr: string, port: number): string {
  return family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `seg` goes router → cache on `c`, false for cache → router, null for neither. */
function matches(c: Conn, seg: TcpSegment): boolean | null {
  if (
    seg.srcPort === c.routerPort && seg.dstPort === c.cachePort &&
    sameBytes(seg.srcAddr, c.routerAddr) && sameBytes(seg.dstAddr, c.cacheAddr)
  ) return true;
  if (
    seg.srcPort === c.cachePort && seg.dstPort === c.routerPort &&
    sameBytes(seg.srcAddr, c.cacheAddr) && sameBytes(seg.dstAddr, c.routerAddr)
  ) return false;
  return null;
}

/** Tracks the RTR connections of one capture file. */
export class FlowTable {
  #handler: CaptureHandler;
  #ports: Set<number>;
  #file: string;
  #conns = new Map<string, Conn>();
  #last: Conn | null = null;
  #next = 1;
  /** The current packet's time, for events raised while it is processed. */
  #time: Timestamp | null = null;
  #detect: boolean;
  /** Connections found not to be RTR (key → FIN bits seen: 1 one way, 2 the other). */
  #ignored = new Map<string, number>();

  /**
   * `ports` are always taken as RTR; with `detect` (the default) connections on other ports
   * are taken when their content is RTR.
   */
  constructor(
    handler: CaptureHandler,
    file: string,
    ports: Iterable<number> = DEFAULT_RTR_PORTS,
    detect = true,
  ) {
    this.#handler = handler;
    this.#file = file;
    this.#ports = new Set(ports);
    this.#detect = detect;
  }

  /** True when a segment between these ports may carry RTR. */
  readonly wanted = (srcPort: number, dstPort: number): boolean =>
    this.#detect || this.#ports.has(srcPort) || this.#ports.has(dstPort);

  /** Connections seen so far. */
  get connections(): number {
    return this.#next - 1;
  }

  /** Feed one TCP segment (already filtered by `wanted`). */
  segment(seg: TcpSegment, time: Timestamp | null): void {
    this.#time = time;
    // Fast path: the connection of the previous segment, in either direction.
    let c: Conn | undefined = this.#last ?? undefined;
    let fromRouter = c ? matches(c, seg) : null;
    let src = "", key = "";
    if (fromRouter === null) {
      src = endpoint(seg.family, addressText(seg.srcAddr), seg.srcPort);
      const dst = endpoint(seg.family, addressText(seg.dstAddr), seg.dstPort);
      key = src < dst ? `${src} ${dst}` : `${dst} ${src}`;
      c = this.#conns.get(key);
      fromRouter = c ? src === c.routerEp : null;
    }
    const syn = (seg.flags & TcpFlag.Syn) !== 0;
    const ack = (seg.flags & TcpFlag.Ack) !== 0;
    if (c && syn && !ack) {
      // A new connection on the same port pair (or a retransmitted SYN).
      const r = fromRouter ? c.router.reasm : c.cache.reasm;
      if (c.closed || !fromRouter || (r.isn !== -1 && r.isn !== seg.seq)) {
        this.#close(c);
        this.#conns.delete(c.key);
        c = undefined;
      }
    }
    if (!c) {
      if (!key) {
        src = endpoint(seg.family, addressText(seg.srcAddr), seg.srcPort);
        const dst = endpoint(seg.family, addressText(seg.dstAddr), seg.dstPort);
        key = src < dst ? `${src} ${dst}` : `${dst} ${src}`;
      }
      const ignored = this.#ignored.get(key);
      if (ignored !== undefined) {
        if (!syn || ack) {
          const fin = ignored |
            ((seg.flags & TcpFlag.Fin) !== 0 ? (key.startsWith(src + " ") ? 1 : 2) : 0);
          if ((seg.flags & TcpFlag.Rst) !== 0 || fin === 3) this.#ignored.delete(key);
          else if (fin !== ignored) this.#ignored.set(key, fin);
          return;
        }
        this.#ignored.delete(key);
      }
      if (seg.payload.length === 0 && seg.missing === 0 && !syn) return;
      let srcIsRouter: boolean;
      if (syn) srcIsRouter = !ack;
      else {
        const s = this.#ports.has(seg.srcPort), d = this.#ports.has(seg.dstPort);
        srcIsRouter = s === d ? seg.dstPort < seg.srcPort : d;
      }
      const srcText = addressText(seg.srcAddr), dstText = addressText(seg.dstAddr);
      const dstEp = endpoint(seg.family, dstText, seg.dstPort);
      const routerEp = srcIsRouter ? src : dstEp;
      const cacheEp = srcIsRouter ? dstEp : src;
      const probing = this.#detect && !this.#ports.has(seg.srcPort) &&
        !this.#ports.has(seg.dstPort);
      const info: RtrConnection = {
        id: probing ? 0 : this.#next++,
        flow: `${routerEp}>${cacheEp}`,
        router: srcIsRouter ? srcText : dstText,
        cache: srcIsRouter ? dstText : srcText,
        file: this.#file,
      };
      c = {
        info,
        key,
        routerEp,
        cacheEp,
        synRoles: syn,
        held: [],
        heldBytes: 0,
        routerAddr: (srcIsRouter ? seg.srcAddr : seg.dstAddr).slice(),
        routerPort: srcIsRouter ? seg.srcPort : seg.dstPort,
        cacheAddr: (srcIsRouter ? seg.dstAddr : seg.srcAddr).slice(),
        cachePort: srcIsRouter ? seg.dstPort : seg.srcPort,
        router: this.#side(info, "router"),
        cache: this.#side(info, "cache"),
        time,
        closed: false,
        rst: false,
      };
      this.#conns.set(key, c);
      if (probing) c.router.probe = c.cache.probe = c;
      fromRouter = srcIsRouter;
    }
    this.#last = c;
    if (c.closed) return;
    c.time = time;
    const side = fromRouter ? c.router : c.cache;
    side.reasm.segment(seg.seq, seg.flags, seg.payload, seg.missing);
    if (c.closed) return; // found not to be RTR
    if ((seg.flags & TcpFlag.Rst) !== 0) {
      c.rst = true;
      this.#close(c);
    } else if (
      (seg.flags & TcpFlag.Fin) !== 0 &&
      c.router.reasm.fin >= 0 && c.cache.reasm.fin >= 0 &&
      c.router.reasm.pendingBytes === 0 && c.cache.reasm.pendingBytes === 0 &&
      c.router.reasm.offset >= c.router.reasm.fin && c.cache.reasm.offset >= c.cache.reasm.fin
    ) {
      this.#close(c);
    }
  }

  #side(info: RtrConnection, direction: "router" | "cache"): Side {
    const stream: RtrStream = { connection: info, direction };
    const h = this.#handler;
    const scanner = new PduScanner({
      pdu: (pdu, at) => h.pdu(stream, pdu, at, this.#time),
      malformed: (span) => h.malformed(stream, span, this.#time),
    });
    const side: Side = {
      stream,
      reasm: null!,
      scanner,
      probe: null,
      head: null,
      headLen: 0,
      vote: null,
    };
    side.reasm = new TcpReassembler({
      data: (bytes, offset) => {
        if (side.probe) this.#probeData(side, side.probe, bytes, offset);
        else scanner.push(bytes, offset);
      },
      gap: (offset, length) => {
        if (side.probe) this.#probeGap(side, side.probe, offset, length);
        else {
          scanner.gap(offset, length);
          h.gap(stream, offset, length, this.#time);
        }
      },
    });
    return side;
  }

  /** Bytes of a direction whose connection is not yet known to be RTR. */
  #probeData(side: Side, c: Conn, bytes: Uint8Array, offset: number): void {
    c.held.push({ side, bytes: bytes.slice(), offset, length: bytes.length, time: this.#time });
    c.heldBytes += bytes.length;
    if (side.vote === null) {
      side.head ??= new Uint8Array(PROBE_HEAD);
      if (offset === side.headLen) {
        const n = Math.min(bytes.length, PROBE_HEAD - side.headLen);
        side.head.set(bytes.subarray(0, n), side.headLen);
        side.headLen += n;
      }
      side.vote = firstPduVote(side.head, side.headLen);
    }
    this.#decide(c);
  }

  /** A gap in a direction being probed: its first PDU cannot be seen any more. */
  #probeGap(side: Side, c: Conn, offset: number, length: number): void {
    c.held.push({ side, bytes: null, offset, length, time: this.#time });
    if (side.vote === null) side.vote = firstPduVote(side.head, side.headLen) ?? "no";
    this.#decide(c);
  }

  /** Take the connection as RTR, give it up, or keep probing. */
  #decide(c: Conn, final = false): void {
    const r = c.router, k = c.cache;
    let yes = false;
    for (const s of [r, k]) {
      const v = s.vote;
      if (v !== "router" && v !== "cache") continue;
      const role = s === c.router ? "router" : "cache";
      if (v === role) yes = true;
      else if (!c.synRoles) {
        this.#swap(c);
        yes = true;
      } else s.vote = "no";
      if (yes) break;
    }
    if (yes) {
      this.#accept(c);
      return;
    }
    if (final || (r.vote === "no" && k.vote === "no") || c.heldBytes > PROBE_LIMIT) {
      this.#reject(c);
    }
  }

  /** Router and cache the other way round (no SYN, and the content says so). */
  #swap(c: Conn): void {
    [c.router, c.cache] = [c.cache, c.router];
    [c.routerEp, c.cacheEp] = [c.cacheEp, c.routerEp];
    [c.routerAddr, c.cacheAddr] = [c.cacheAddr, c.routerAddr];
    [c.routerPort, c.cachePort] = [c.cachePort, c.routerPort];
    c.router.stream.direction = "router";
    c.cache.stream.direction = "cache";
    const info = c.info;
    [info.router, info.cache] = [info.cache, info.router];
    info.flow = `${c.routerEp}>${c.cacheEp}`;
  }

  #accept(c: Conn): void {
    c.info.id = this.#next++;
    for (const s of [c.router, c.cache]) {
      s.probe = null;
      s.head = null;
    }
    const time = this.#time;
    const h = this.#handler;
    for (const e of c.held) {
      this.#time = e.time;
      if (e.bytes) e.side.scanner.push(e.bytes, e.offset);
      else {
        e.side.scanner.gap(e.offset, e.length);
        h.gap(e.side.stream, e.offset, e.length, e.time);
      }
    }
    this.#time = time;
    c.held = [];
    c.heldBytes = 0;
  }

  #reject(c: Conn): void {
    c.closed = true;
    c.held = [];
    c.heldBytes = 0;
    this.#conns.delete(c.key);
    if (this.#last === c) this.#last = null;
    this.#ignored.set(c.key, 0);
  }

  #close(c: Conn): void {
    if (c.closed) return;
    if (c.router.probe) {
      // Still probing at its end: finish its streams, then decide on what they held.
      c.router.reasm.finish();
      if (c.router.probe) c.cache.reasm.finish();
      if (c.router.probe && !c.closed) this.#decide(c, true);
      if (c.closed) return;
    }
    c.closed = true;
    this.#time = c.time;
    // Finish the direction whose bytes came first, so records keep capture order roughly.
    for (const s of [c.router, c.cache]) {
      s.reasm.finish();
      s.scanner.end();
    }
    this.#handler.connectionEnd?.(c.info);
  }

  /** End of the capture: finish every open connection. */
  finish(): void {
    for (const c of [...this.#conns.values()]) this.#close(c);
    this.#conns.clear();
    this.#ignored.clear();
    this.#last = null;
  }
}

/** Types a connection can open with, from either side (RFC 8210 §8). */
const FIRST_TYPES: ReadonlySet<number> = new Set([
  PduType.SerialQuery,
  PduType.ResetQuery,
  PduType.CacheResponse,
  PduType.CacheReset,
  PduType.SerialNotify,
  PduType.ErrorReport,
]);

/** The verdict of a direction's first bytes: which role sent them, "no", or null (need more). */
function firstPduVote(head: Uint8Array | null, n: number): Vote {
  if (head === null || n === 0) return null;
  if (n >= 2 && (head[0] > MAX_VERSION || !FIRST_TYPES.has(head[1]))) return "no";
  if (n < 8) return null;
  const version = head[0], type = head[1];
  const len = ((head[4] << 24) | (head[5] << 16) | (head[6] << 8) | head[7]) >>> 0;
  if (!plausibleHeader(version, type, len)) return "no";
  const role = type === PduType.SerialQuery || type === PduType.ResetQuery ? "router" : "cache";
  if (len > PROBE_HEAD) return role;
  if (n < len) return null;
  try {
    decodeAt(head, new DataView(head.buffer, head.byteOffset, head.byteLength), 0, len);
  } catch (e) {
    if (e instanceof DecodeError) return "no";
    throw e;
  }
  return role;
}
