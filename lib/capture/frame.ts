/**
 * Link, network and transport headers of a captured frame, down to the TCP payload: Ethernet
 * (with 802.1Q / 802.1ad VLAN tags), Linux cooked capture v1 (113) and v2 (276), BSD
 * loopback / null (0, 108), raw IP (101, 228, 229, and the old 12 / 14); IPv4 (RFC 791) and
 * IPv6 (RFC 8200, skipping extension headers) carrying TCP (RFC 9293). Fragments and anything
 * that is not TCP are ignored.
 */
import { formatIpv6 } from "../model/prefix.ts";

/** LINKTYPE_* values understood here. */
export const LinkType = {
  Null: 0,
  Ethernet: 1,
  RawOld: 12,
  RawOpenBsd: 14,
  Raw: 101,
  Loop: 108,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;

/** TCP flag bits. */
export const TcpFlag = { Fin: 1, Syn: 2, Rst: 4, Psh: 8, Ack: 16 } as const;

/** A TCP segment taken out of a frame; the byte fields are views into the frame. */
export interface TcpSegment {
  family: 4 | 6;
  /** Source and destination addresses (4 or 16 bytes; addressText() makes text of them). */
  srcAddr: Uint8Array;
  dstAddr: Uint8Array;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** Captured payload bytes. */
  payload: Uint8Array;
  /** Payload bytes the IP header announces but the capture does not hold (snap length). */
  missing: number;
}

/** Text of a 4- or 16-byte address (IPv6 per RFC 5952, through the model's formatter). */
export function addressText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const w = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    w[i] = ((b[4 * i] << 24) | (b[4 * i + 1] << 16) | (b[4 * i + 2] << 8) | b[4 * i + 3]) >>> 0;
  }
  return formatIpv6(w);
}

/** Offset of the IP header in a frame of `linkType`, or -1 when it carries no IP. */
function ipOffset(linkType: number, b: Uint8Array): number {
  switch (linkType) {
    case LinkType.Ethernet: {
      if (b.length < 14) return -1;
      let off = 12;
      let type = (b[off] << 8) | b[off + 1];
      // 802.1Q, 802.1ad and the old QinQ tag types, any depth.
      while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && off + 6 <= b.length) {
        off += 4;
        type = (b[off] << 8) | b[off + 1];
      }
      if (type !== 0x0800 && type !== 0x86dd) return -1;
      return off + 2;
    }
    case LinkType.LinuxSll: {
      if (b.length < 16) return -1;
      const type = (b[14] << 8) | b[15];
      return type === 0x0800 || type === 0x86dd ? 16 : -1;
    }
    case LinkType.LinuxSll2: {
      if (b.length < 20) return -1;
      const type = (b[0] << 8) | b[1];
      return type === 0x0800 || type === 0x86dd ? 20 : -1;
    }
    case LinkType.Null:
    case LinkType.Loop:
      // The 4-byte family is in host (0) or network (108) order and its IPv6 value differs
      // between systems: trust the IP version nibble instead.
      return b.length >= 5 ? 4 : -1;
    case LinkType.Raw:
    case LinkType.RawOld:
    case LinkType.RawOpenBsd:
    case LinkType.Ipv4:
    case LinkType.Ipv6:
      return 0;
    default:
      return -1;
  }
}

/**
 * The TCP segment a frame carries, or null (not IP, not TCP, fragment, truncated headers, or
 * ports that `wanted` rejects: checked before any text is built).
 */
export function decodeFrame(
  linkType: number,
  b: Uint8Array,
  wanted?: (srcPort: number, dstPort: number) => boolean,
): TcpSegment | null {
  const ip = ipOffset(linkType, b);
  if (ip < 0 || ip >= b.length) return null;
  const ver = b[ip] >> 4;
  let family: 4 | 6, tcp: number, ipEnd: number;
  if (ver === 4) {
    if (ip + 20 > b.length) return null;
    const ihl = (b[ip] & 15) * 4;
    const total = (b[ip + 2] << 8) | b[ip + 3];
    if (ihl < 20 || total < ihl || ip + ihl > b.length) return null;
    if (b[ip + 9] !== 6) return null;
    // Fragments are not reassembled: a first fragment still holds the TCP header and the start
    // of the payload (the rest becomes a gap); later fragments are dropped.
    if ((((b[ip + 6] << 8) | b[ip + 7]) & 0x1fff) !== 0) return null;
    family = 4;
    tcp = ip + ihl;
    ipEnd = ip + total;
  } else if (ver === 6) {
    if (ip + 40 > b.length) return null;
    const plen = (b[ip + 4] << 8) | b[ip + 5];
    let next = b[ip + 6];
    let p = ip + 40;
    // Hop-by-hop, routing, destination options, AH; a fragment header ends it.
    for (let guard = 0; guard < 16 && next !== 6; guard++) {
      if (next === 0 || next === 43 || next === 60) {
        if (p + 2 > b.length) return null;
        const n = b[p];
        p += (b[p + 1] + 1) * 8;
        next = n;
      } else if (next === 51) {
        if (p + 2 > b.length) return null;
        const n = b[p];
        p += (b[p + 1] + 2) * 4;
        next = n;
      } else {
        return null;
      }
    }
    if (next !== 6) return null;
    family = 6;
    tcp = p;
    ipEnd = ip + 40 + plen;
  } else {
    return null;
  }
  if (tcp + 20 > b.length || tcp + 20 > ipEnd) return null;
  const doff = (b[tcp + 12] >> 4) * 4;
  if (doff < 20 || tcp + doff > b.length || tcp + doff > ipEnd) return null;
  const srcPort = (b[tcp] << 8) | b[tcp + 1], dstPort = (b[tcp + 2] << 8) | b[tcp + 3];
  if (wanted && !wanted(srcPort, dstPort)) return null;
  const start = tcp + doff;
  // Ethernet pads short frames and may carry a trailing FCS: the IP length says where data ends.
  const end = Math.min(ipEnd, b.length);
  return {
    family,
    srcAddr: family === 4 ? b.subarray(ip + 12, ip + 16) : b.subarray(ip + 8, ip + 24),
    dstAddr: family === 4 ? b.subarray(ip + 16, ip + 20) : b.subarray(ip + 24, ip + 40),
    srcPort,
    dstPort,
    seq: ((b[tcp + 4] << 24) | (b[tcp + 5] << 16) | (b[tcp + 6] << 8) | b[tcp + 7]) >>> 0,
    ack: ((b[tcp + 8] << 24) | (b[tcp + 9] << 16) | (b[tcp + 10] << 8) | b[tcp + 11]) >>> 0,
    flags: b[tcp + 13],
    payload: b.subarray(start, end),
    missing: ipEnd > b.length ? ipEnd - b.length : 0,
  };
}
