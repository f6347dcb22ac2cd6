/**
 * PcapWriter: records both directions of an RTR connection as a classic pcap file (libpcap
 * format, microsecond or nanosecond timestamps) with synthetic IPv4 or IPv6 and TCP headers
 * (RFC 791, RFC 8200, RFC 9293): the real addresses, ports and times, a handshake, sequence and
 * acknowledgement numbers that follow the bytes, correct checksums, payload split into segments
 * of at most 65 495 bytes, and FINs on close. tshark and Wireshark decode it as RPKI-RTR
 * (`-d tcp.port==PORT,rpkirtr`), and `rtr replay` reads it back. Sans-I/O: every packet goes to
 * a `write` callback; the method names match lib/transport.ts WireTap.
 */
import { parseIpv4, parseIpv6 } from "../model/prefix.ts";

/** Largest TCP payload per synthetic segment (65 535 − 20 IPv4 − 20 TCP). */
export const MAX_SEGMENT_PAYLOAD = 65495;

/** An address and port (Deno.NetAddr has this shape). */
export interface Endpoint {
  hostname: string;
  port: number;
}

/** Options of a PcapWriter. */
export interface PcapWriterOptions {
  /** Link type: "ethernet" (1, default) or "raw" (101, the packet starts with the IP header). */
  linkType?: "ethernet" | "raw";
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  nanos?: boolean;
  /** Initial sequence numbers of router and cache (default: random). */
  isn?: [number, number];
}

interface Conn {
  router: { addr: Uint8Array; port: number; seq: number };
  cache: { addr: Uint8Array; port: number; seq: number };
  v6: boolean;
  open: boolean;
}

/** Bytes of an IPv4 or IPv6 literal (the model's one parser); null when `s` is neither. */
export function parseIpLiteral(s: string): Uint8Array | null {
  const h = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  const v4 = parseIpv4(h);
  if (v4 !== null) {
    return new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]);
  }
  const zone = h.indexOf("%");
  const w = parseIpv6(zone >= 0 ? h.slice(0, zone) : h);
  if (!w) return null;
  const out = new Uint8Array(16);
  for (let k = 0; k < 4; k++) {
    out[4 * k] = w[k] >>> 24;
    out[4 * k + 1] = (w[k] >>> 16) & 255;
    out[4 * k + 2] = (w[k] >>> 8) & 255;
    out[4 * k + 3] = w[k] & 255;
  }
  return out;
}

/** One's-complement sum of 16-bit big-endian words of `b[from..to)` added to `sum`. */
function sum16(b: Uint8Array, from: number, to: number, sum: number): number {
  let i = from;
  for (; i + 1 < to; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < to) sum += b[i] << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** Writes RTR connections as pcap packets. */
export class PcapWriter {
  #write: (b: Uint8Array) => void;
  #eth: boolean;
  #nanos: boolean;
  #isn?: [number, number];
  #conn: Conn | null = null;
  #ipId = 1;
  /** Packets written (not counting the file header). */
  packets = 0;
  /** Bytes written, file header included. */
  bytes = 0;

  /** Create the writer; the 24-byte file header is written at once. */
  constructor(write: (b: Uint8Array) => void, opts: PcapWriterOptions = {}) {
    this.#write = write;
    this.#eth = (opts.linkType ?? "ethernet") === "ethernet";
    this.#nanos = opts.nanos ?? false;
    this.#isn = opts.isn;
    const h = new Uint8Array(24);
    const v = new DataView(h.buffer);
    v.setUint32(0, this.#nanos ? 0xa1b23c4d : 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 262144, true);
    v.setUint32(20, this.#eth ? 1 : 101, true);
    this.#out(h);
  }

  #out(b: Uint8Array): void {
    this.bytes += b.length;
    this.#write(b);
  }

  /**
   * A connection opened: `local` is the router (us), `remote` the cache; `time` in ms since the
   * epoch. Writes the three-way handshake.
   */
  connected(local: Endpoint, remote: Endpoint, time: number): void {
    if (this.#conn?.open) this.closed(time);
    let ra = parseIpLiteral(local.hostname), ca = parseIpLiteral(remote.hostname);
    if (!ra || !ca || ra.length !== ca.length) {
      // Host names or mixed families: fall back to loopback addresses, keep the ports.
      ra = new Uint8Array([127, 0, 0, 1]);
      ca = new Uint8Array([127, 0, 0, 1]);
    }
    const [ri, ci] = this.#isn ?? [randomU32(), randomU32()];
    const c: Conn = {
      router: { addr: ra, port: local.port, seq: ri >>> 0 },
      cache: { addr: ca, port: remote.port, seq: ci >>> 0 },
      v6: ra.length === 16,
      open: true,
    };
    this.#conn = c;
    this.#segment(c, true, 0x02, new Uint8Array(0), time);
    c.router.seq = (c.router.seq + 1) >>> 0;
    this.#segment(c, false, 0x12, new Uint8Array(0), time);
    c.cache.seq = (c.cache.seq + 1) >>> 0;
    this.#segment(c, true, 0x10, new Uint8Array(0), time);
  }

  #ensure(time: number): Conn {
    if (!this.#conn || !this.#conn.open) {
      this.connected(
        { hostname: "127.0.0.1", port: 49152 },
        { hostname: "127.0.0.1", port: 323 },
        time,
      );
    }
    return this.#conn!;
  }

  /** Bytes the router sent to the cache. */
  sent(bytes: Uint8Array, time: number): void {
    this.#data(this.#ensure(time), true, bytes, time);
  }

  /** Bytes the router received from the cache. */
  received(bytes: Uint8Array, time: number): void {
    this.#data(this.#ensure(time), false, bytes, time);
  }

  /** The connection closed: FIN from each side and the last ACK. */
  closed(time: number): void {
    const c = this.#conn;
    if (!c || !c.open) return;
    c.open = false;
    this.#segment(c, true, 0x11, new Uint8Array(0), time);
    c.router.seq = (c.router.seq + 1) >>> 0;
    this.#segment(c, false, 0x11, new Uint8Array(0), time);
    c.cache.seq = (c.cache.seq + 1) >>> 0;
    this.#segment(c, true, 0x10, new Uint8Array(0), time);
  }

  #data(c: Conn, fromRouter: boolean, bytes: Uint8Array, time: number): void {
    for (let off = 0; off < bytes.length; off += MAX_SEGMENT_PAYLOAD) {
      const part = bytes.subarray(off, Math.min(bytes.length, off + MAX_SEGMENT_PAYLOAD));
      this.#segment(c, fromRouter, 0x18, part, time);
      const side = fromRouter ? c.router : c.cache;
      side.seq = (side.seq + part.length) >>> 0;
    }
  }

  /** Write one packet (`flags`: TCP flag octet) carrying `payload`. */
  #segment(c: Conn, fromRouter: boolean, flags: number, payload: Uint8Array, time: number): void {
    const src = fromRouter ? c.router : c.cache;
    const dst = fromRouter ? c.cache : c.router;
    const l2 = this.#eth ? 14 : 0;
    const ipLen = c.v6 ? 40 : 20;
    const tcpLen = 20;
    const frame = l2 + ipLen + tcpLen + payload.length;
    const rec = new Uint8Array(16 + frame);
    const v = new DataView(rec.buffer);
    // Record header (little-endian, as the file header says).
    const ms = Math.max(0, time);
    const sec = Math.floor(ms / 1000);
    const frac = this.#nanos
      ? Math.round((ms - sec * 1000) * 1e6)
      : Math.round((ms - sec * 1000) * 1e3);
    const unit = this.#nanos ? 1e9 : 1e6;
    v.setUint32(0, sec + (frac >= unit ? 1 : 0), true);
    v.setUint32(4, frac >= unit ? frac - unit : frac, true);
    v.setUint32(8, frame, true);
    v.setUint32(12, frame, true);
    let o = 16;
    if (this.#eth) {
      rec.set([2, 0, 0, 0, 0, fromRouter ? 2 : 1, 2, 0, 0, 0, 0, fromRouter ? 1 : 2], o);
      v.setUint16(o + 12, c.v6 ? 0x86dd : 0x0800);
      o += 14;
    }
    const ip = o;
    if (c.v6) {
      v.setUint32(ip, 0x60000000);
      v.setUint16(ip + 4, tcpLen + payload.length);
      rec[ip + 6] = 6;
      rec[ip + 7] = 64;
      rec.set(src.addr, ip + 8);
      rec.set(dst.addr, ip + 24);
    } else {
      rec[ip] = 0x45;
      v.setUint16(ip + 2, ipLen + tcpLen + payload.length);
      v.setUint16(ip + 4, this.#ipId);
      this.#ipId = (this.#ipId + 1) & 0xffff;
      v.setUint16(ip + 6, 0x4000);
      rec[ip + 8] = 64;
      rec[ip + 9] = 6;
      rec.set(src.addr, ip + 12);
      rec.set(dst.addr, ip + 16);
      v.setUint16(ip + 10, fold(sum16(rec, ip, ip + 20, 0)));
    }
    const t = ip + ipLen;
    v.setUint16(t, src.port);
    v.setUint16(t + 2, dst.port);
    v.setUint32(t + 4, src.seq);
    v.setUint32(t + 8, (flags & 0x10) ? dst.seq : 0);
    rec[t + 12] = 0x50;
    rec[t + 13] = flags;
    v.setUint16(t + 14, 65535);
    rec.set(payload, t + 20);
    // TCP checksum over the pseudo-header, header and payload.
    let sum = 0;
    if (c.v6) {
      sum = sum16(rec, ip + 8, ip + 40, sum);
      sum += tcpLen + payload.length;
      sum += 6;
    } else {
      sum = sum16(rec, ip + 12, ip + 20, sum);
      sum += 6 + tcpLen + payload.length;
    }
    sum = sum16(rec, t, t + tcpLen + payload.length, sum);
    v.setUint16(t + 16, fold(sum));
    this.packets++;
    this.#out(rec);
  }
}
