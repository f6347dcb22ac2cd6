/**
 * Builders of synthetic captures for tests: TCP segments in IPv4 or IPv6, wrapped in any link
 * type the readers support, written as pcap (either byte order, µs or ns) or pcapng (several
 * interfaces and sections, either byte order).
 */

/** One TCP segment to put in a frame. */
export interface SegSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  /** TCP flags octet (default PSH|ACK). */
  flags?: number;
  payload?: Uint8Array;
  /** Bytes of payload announced in the IP length but cut from the frame (snap length). */
  cut?: number;
}

function v4(s: string): number[] {
  return s.split(".").map(Number);
}

function v6(s: string): number[] {
  const [h, t] = s.includes("::") ? s.split("::") : [s, undefined];
  const hg = h ? h.split(":").map((x) => parseInt(x, 16)) : [];
  const tg = t !== undefined ? (t ? t.split(":").map((x) => parseInt(x, 16)) : []) : [];
  const g = t !== undefined ? [...hg, ...new Array(8 - hg.length - tg.length).fill(0), ...tg] : hg;
  return g.flatMap((x) => [x >> 8, x & 255]);
}

/** An IP packet (IPv4 or IPv6 by the address form) carrying the TCP segment. */
export function ipPacket(s: SegSpec, opts: { ipv6Ext?: boolean; ipId?: number } = {}): Uint8Array {
  const payload = s.payload ?? new Uint8Array(0);
  const six = s.src.includes(":");
  const ext = six && opts.ipv6Ext ? 8 : 0;
  const ipLen = six ? 40 + ext : 20;
  const total = ipLen + 20 + payload.length;
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  if (six) {
    v.setUint32(0, 0x60000000);
    v.setUint16(4, total - 40);
    b[6] = ext ? 0 : 6; // hop-by-hop options first when asked
    b[7] = 64;
    b.set(v6(s.src), 8);
    b.set(v6(s.dst), 24);
    if (ext) {
      b[40] = 6; // next header TCP
      b[41] = 0; // (0 + 1) * 8 bytes
    }
  } else {
    b[0] = 0x45;
    v.setUint16(2, total);
    v.setUint16(4, opts.ipId ?? 1);
    v.setUint16(6, 0x4000);
    b[8] = 64;
    b[9] = 6;
    b.set(v4(s.src), 12);
    b.set(v4(s.dst), 16);
  }
  const t = ipLen;
  v.setUint16(t, s.sport);
  v.setUint16(t + 2, s.dport);
  v.setUint32(t + 4, s.seq >>> 0);
  v.setUint32(t + 8, (s.ack ?? 0) >>> 0);
  b[t + 12] = 0x50;
  b[t + 13] = s.flags ?? 0x18;
  v.setUint16(t + 14, 65535);
  b.set(payload, t + 20);
  return s.cut ? b.subarray(0, b.length - s.cut) : b;
}

/** Link types the builders can wrap. */
export type Link =
  | "ethernet"
  | "vlan"
  | "qinq"
  | "sll"
  | "sll2"
  | "null"
  | "loop"
  | "raw"
  | "ipv4"
  | "ipv6";

/** LINKTYPE value of a link. */
export function linkTypeOf(l: Link): number {
  return {
    ethernet: 1,
    vlan: 1,
    qinq: 1,
    sll: 113,
    sll2: 276,
    null: 0,
    loop: 108,
    raw: 101,
    ipv4: 228,
    ipv6: 229,
  }[l];
}

/** Wrap an IP packet in a link-layer header. */
export function frame(link: Link, ip: Uint8Array): Uint8Array {
  const six = (ip[0] >> 4) === 6;
  const et = six ? [0x86, 0xdd] : [0x08, 0x00];
  let head: number[];
  switch (link) {
    case "ethernet":
      head = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...et];
      break;
    case "vlan":
      head = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x64, ...et];
      break;
    case "qinq":
      head = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, ...et];
      break;
    case "sll":
      head = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...et];
      break;
    case "sll2":
      head = [...et, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
      break;
    case "null":
      head = six ? [30, 0, 0, 0] : [2, 0, 0, 0];
      break;
    case "loop":
      head = six ? [0, 0, 0, 24] : [0, 0, 0, 2];
      break;
    default:
      head = [];
  }
  const out = new Uint8Array(
    head.length + ip.length + (link === "ethernet" && ip.length < 46 ? 46 - ip.length : 0),
  );
  out.set(head);
  out.set(ip, head.length);
  return out;
}

/** A packet for a file: bytes, wire length and time (seconds, fraction in ns). */
export interface FilePacket {
  data: Uint8Array;
  origLength?: number;
  sec: number;
  nsec: number;
  /** pcapng interface index. */
  iface?: number;
}

/** A pcap file. */
export function pcapFile(
  linkType: number,
  packets: FilePacket[],
  opts: { bigEndian?: boolean; nanos?: boolean } = {},
): Uint8Array {
  const le = !opts.bigEndian;
  const size = 24 + packets.reduce((a, p) => a + 16 + p.data.length, 0);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, 262144, le);
  v.setUint32(20, linkType, le);
  let o = 24;
  for (const p of packets) {
    v.setUint32(o, p.sec, le);
    v.setUint32(o + 4, opts.nanos ? p.nsec : Math.floor(p.nsec / 1000), le);
    v.setUint32(o + 8, p.data.length, le);
    v.setUint32(o + 12, p.origLength ?? p.data.length, le);
    b.set(p.data, o + 16);
    o += 16 + p.data.length;
  }
  return b;
}

function block(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const pad = (4 - (body.length % 4)) % 4;
  const len = 12 + body.length + pad;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, le);
  v.setUint32(4, len, le);
  b.set(body, 8);
  v.setUint32(len - 4, len, le);
  return b;
}

/** An interface of a pcapng section. */
export interface NgIface {
  linkType: number;
  /** if_tsresol octet (default 6: microseconds). */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: number;
}

/** One pcapng section: its interfaces and packets (each names its interface). */
export interface NgSection {
  bigEndian?: boolean;
  ifaces: NgIface[];
  packets: FilePacket[];
  /** Write packets as Simple Packet Blocks (interface 0, no time). */
  simple?: boolean;
}

/** A pcapng file of one or more sections. */
export function pcapngFile(sections: NgSection[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const s of sections) {
    const le = !s.bigEndian;
    const shb = new Uint8Array(16);
    const sv = new DataView(shb.buffer);
    sv.setUint32(0, 0x1a2b3c4d, le);
    sv.setUint16(4, 1, le);
    sv.setUint16(6, 0, le);
    sv.setInt32(8, -1, le);
    sv.setInt32(12, -1, le);
    blocks.push(block(0x0a0d0d0a, shb, le));
    // A block type the reader must skip (Name Resolution Block, empty).
    blocks.push(block(4, new Uint8Array([0, 0, 0, 0]), le));
    for (const i of s.ifaces) {
      const opts: number[] = [];
      const o16 = (n: number) => le ? [n & 255, n >> 8] : [n >> 8, n & 255];
      if (i.tsresol !== undefined) opts.push(...o16(9), ...o16(1), i.tsresol, 0, 0, 0);
      if (i.tsoffset !== undefined) {
        const ob = new Uint8Array(8);
        new DataView(ob.buffer).setBigInt64(0, BigInt(i.tsoffset), le);
        opts.push(...o16(14), ...o16(8), ...ob);
      }
      if (opts.length) opts.push(0, 0, 0, 0);
      const body = new Uint8Array(8 + opts.length);
      const bv = new DataView(body.buffer);
      bv.setUint16(0, i.linkType, le);
      bv.setUint32(4, 262144, le);
      body.set(opts, 8);
      blocks.push(block(1, body, le));
    }
    for (const p of s.packets) {
      const iface = s.ifaces[p.iface ?? 0];
      if (s.simple) {
        const body = new Uint8Array(4 + p.data.length);
        new DataView(body.buffer).setUint32(0, p.origLength ?? p.data.length, le);
        body.set(p.data, 4);
        blocks.push(block(3, body, le));
        continue;
      }
      const r = iface?.tsresol ?? 6;
      const units = r & 0x80 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r);
      const ts = BigInt(p.sec - (iface?.tsoffset ?? 0)) * units +
        (BigInt(p.nsec) * units) / 1000000000n;
      const body = new Uint8Array(20 + p.data.length);
      const bv = new DataView(body.buffer);
      bv.setUint32(0, p.iface ?? 0, le);
      bv.setUint32(4, Number(ts >> 32n), le);
      bv.setUint32(8, Number(ts & 0xffffffffn), le);
      bv.setUint32(12, p.data.length, le);
      bv.setUint32(16, p.origLength ?? p.data.length, le);
      body.set(p.data, 20);
      blocks.push(block(6, body, le));
    }
  }
  const total = blocks.reduce((a, b) => a + b.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** A scripted TCP conversation: tracks sequence numbers of both sides. */
export class Conversation {
  router: { addr: string; port: number; seq: number };
  cache: { addr: string; port: number; seq: number };
  constructor(
    router: string,
    routerPort: number,
    cache: string,
    cachePort: number,
    isn: [number, number] = [1000, 5000],
  ) {
    this.router = { addr: router, port: routerPort, seq: isn[0] };
    this.cache = { addr: cache, port: cachePort, seq: isn[1] };
  }

  /** SYN, SYN-ACK, ACK. */
  handshake(): SegSpec[] {
    const r = this.router, c = this.cache;
    const out: SegSpec[] = [
      { src: r.addr, dst: c.addr, sport: r.port, dport: c.port, seq: r.seq, flags: 0x02 },
      {
        src: c.addr,
        dst: r.addr,
        sport: c.port,
        dport: r.port,
        seq: c.seq,
        ack: r.seq + 1,
        flags: 0x12,
      },
      {
        src: r.addr,
        dst: c.addr,
        sport: r.port,
        dport: c.port,
        seq: r.seq + 1,
        ack: c.seq + 1,
        flags: 0x10,
      },
    ];
    r.seq = (r.seq + 1) >>> 0;
    c.seq = (c.seq + 1) >>> 0;
    return out;
  }

  /** Data from one side, cut into segments of at most `mss` bytes. */
  data(fromRouter: boolean, bytes: Uint8Array, mss = 1460): SegSpec[] {
    const a = fromRouter ? this.router : this.cache;
    const b = fromRouter ? this.cache : this.router;
    const out: SegSpec[] = [];
    for (let off = 0; off < bytes.length; off += mss) {
      const part = bytes.subarray(off, Math.min(bytes.length, off + mss));
      out.push({
        src: a.addr,
        dst: b.addr,
        sport: a.port,
        dport: b.port,
        seq: a.seq,
        ack: b.seq,
        payload: part,
      });
      a.seq = (a.seq + part.length) >>> 0;
    }
    return out;
  }

  /** FIN from both sides. */
  close(): SegSpec[] {
    const r = this.router, c = this.cache;
    const out: SegSpec[] = [
      {
        src: r.addr,
        dst: c.addr,
        sport: r.port,
        dport: c.port,
        seq: r.seq,
        ack: c.seq,
        flags: 0x11,
      },
      {
        src: c.addr,
        dst: r.addr,
        sport: c.port,
        dport: r.port,
        seq: c.seq,
        ack: r.seq + 1,
        flags: 0x11,
      },
    ];
    r.seq = (r.seq + 1) >>> 0;
    c.seq = (c.seq + 1) >>> 0;
    return out;
  }
}

/** Times for packets: one per millisecond from a base. */
export function timed(frames: Uint8Array[], base = 1700000000, iface?: number): FilePacket[] {
  return frames.map((data, i) => ({
    data,
    sec: base + Math.floor(i / 1000),
    nsec: (i % 1000) * 1000000 + 123,
    iface,
  }));
}
