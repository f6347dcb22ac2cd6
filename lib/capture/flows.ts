/**
 * Connection tracking for RTR over TCP in captures: finds the connections on RTR ports (323,
 * 324, 8282, 8283, 3323 and any the user adds; protocol.md §5), tells the router from the cache
 * (SYN, then ports), reassembles both directions and frames each with a PduScanner. A reused
 * port pair with a new SYN starts a new connection. Everything it finds goes to a CaptureHandler
 * in capture order.
 */
import type { Pdu } from "../wire/mod.ts";
import { addressText, TcpFlag, type TcpSegment } from "./frame.ts";
import { type MalformedSpan, type PduBytes, PduScanner } from "./pdu_scanner.ts";
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

interface Side {
  stream: RtrStream;
  reasm: TcpReassembler;
  scanner: PduScanner;
}

interface Conn {
  info: RtrConnection;
  /** Key in the connection map. */
  key: string;
  /** Endpoint text of the router side. */
  routerEp: string;
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

  constructor(handler: CaptureHandler, file: string, ports: Iterable<number> = DEFAULT_RTR_PORTS) {
    this.#handler = handler;
    this.#file = file;
    this.#ports = new Set(ports);
  }

  /** True when a segment between these ports may carry RTR. */
  readonly wanted = (srcPort: number, dstPort: number): boolean =>
    this.#ports.has(srcPort) || this.#ports.has(dstPort);

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
      if (seg.payload.length === 0 && seg.missing === 0 && !syn) return;
      if (!key) {
        src = endpoint(seg.family, addressText(seg.srcAddr), seg.srcPort);
        const dst = endpoint(seg.family, addressText(seg.dstAddr), seg.dstPort);
        key = src < dst ? `${src} ${dst}` : `${dst} ${src}`;
      }
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
      const info: RtrConnection = {
        id: this.#next++,
        flow: `${routerEp}>${cacheEp}`,
        router: srcIsRouter ? srcText : dstText,
        cache: srcIsRouter ? dstText : srcText,
        file: this.#file,
      };
      c = {
        info,
        key,
        routerEp,
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
      fromRouter = srcIsRouter;
    }
    this.#last = c;
    if (c.closed) return;
    c.time = time;
    const side = fromRouter ? c.router : c.cache;
    side.reasm.segment(seg.seq, seg.flags, seg.payload, seg.missing);
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
    const reasm = new TcpReassembler({
      data: (bytes, offset) => scanner.push(bytes, offset),
      gap: (offset, length) => {
        scanner.gap(offset, length);
        h.gap(stream, offset, length, this.#time);
      },
    });
    return { stream, reasm, scanner };
  }

  #close(c: Conn): void {
    if (c.closed) return;
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
    for (const c of this.#conns.values()) this.#close(c);
    this.#conns.clear();
    this.#last = null;
  }
}
