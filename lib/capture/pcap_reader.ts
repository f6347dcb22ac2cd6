/**
 * Reader for classic libpcap files (draft-ietf-opsawg-pcap): magic a1b2c3d4 (microseconds) or
 * a1b23c4d (nanoseconds) in either byte order, and the old "modified" (Kuznetzov) variant with
 * 24-octet record headers. Sans-I/O: chunks in, packets out.
 */
import {
  type CaptureReader,
  type ContainerFault,
  joinBytes,
  MAX_CAPTURED_PACKET,
  type Packet,
} from "./packet.ts";
import type { Timestamp } from "./timestamp.ts";

/** Byte order and precision of a pcap file, from its magic; null when not pcap. */
export function pcapMagic(
  b: Uint8Array,
): { littleEndian: boolean; nanos: boolean; modified: boolean } | null {
  if (b.length < 4) return null;
  const be = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const le = ((b[3] << 24) | (b[2] << 16) | (b[1] << 8) | b[0]) >>> 0;
  for (const [v, littleEndian] of [[be, false], [le, true]] as const) {
    if (v === 0xa1b2c3d4) return { littleEndian, nanos: false, modified: false };
    if (v === 0xa1b23c4d) return { littleEndian, nanos: true, modified: false };
    if (v === 0xa1b2cd34) return { littleEndian, nanos: false, modified: true };
  }
  return null;
}

/** Push parser for a pcap file. */
export class PcapReader implements CaptureReader {
  #buf: Uint8Array | null = null;
  #off = 0;
  /** File offset of `#buf[0]`. */
  #base = 0;
  #header = false;
  #le = false;
  #nanos = false;
  #recLen = 16;
  #linkType = 0;
  #count = 0;
  #fault: ContainerFault | null = null;
  /** Link type from the file header (once read). */
  get linkType(): number {
    return this.#linkType;
  }
  /** The fault that stopped reading, if any. */
  get fault(): ContainerFault | null {
    return this.#fault;
  }

  push(chunk: Uint8Array, onPacket: (p: Packet) => void): void {
    if (this.#fault) return;
    const b = joinBytes(this.#buf, this.#off, chunk);
    this.#base += this.#buf ? this.#off : 0;
    this.#buf = b;
    let off = 0;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (!this.#header) {
      if (b.length < 24) {
        this.#off = 0;
        return;
      }
      const m = pcapMagic(b);
      if (!m) {
        this.#fault = { offset: 0, message: "Cannot read pcap file: bad magic number" };
        return;
      }
      this.#le = m.littleEndian;
      this.#nanos = m.nanos;
      this.#recLen = m.modified ? 24 : 16;
      this.#linkType = view.getUint32(20, this.#le) & 0xffff;
      this.#header = true;
      off = 24;
    }
    const le = this.#le, recLen = this.#recLen;
    const packet: Packet = {
      linkType: this.#linkType,
      data: b,
      origLength: 0,
      time: null,
      number: 0,
    };
    while (b.length - off >= recLen) {
      const caplen = view.getUint32(off + 8, le);
      if (caplen > MAX_CAPTURED_PACKET) {
        this.#fault = {
          offset: this.#base + off,
          message: `Cannot read pcap record ${
            this.#count + 1
          }: captured length is ${caplen}, expected at most ${MAX_CAPTURED_PACKET}`,
        };
        this.#buf = null;
        return;
      }
      if (b.length - off - recLen < caplen) break;
      const sec = view.getUint32(off, le);
      const frac = view.getUint32(off + 4, le);
      const time: Timestamp = this.#nanos
        ? { sec: sec + Math.floor(frac / 1e9), nsec: frac % 1e9, digits: 9 }
        : { sec: sec + Math.floor(frac / 1e6), nsec: (frac % 1e6) * 1000, digits: 6 };
      packet.data = b.subarray(off + recLen, off + recLen + caplen);
      packet.origLength = Math.max(view.getUint32(off + 12, le), caplen);
      packet.time = time;
      packet.number = ++this.#count;
      onPacket(packet);
      off += recLen + caplen;
    }
    this.#off = off;
  }

  end(): ContainerFault | null {
    if (this.#fault) return this.#fault;
    const rest = this.#buf ? this.#buf.length - this.#off : 0;
    if (!this.#header) {
      return { offset: 0, message: `Cannot read pcap file: header is ${rest} bytes, expected 24` };
    }
    if (rest > 0) {
      return {
        offset: this.#base + this.#off,
        message: `Capture file ends inside record ${this.#count + 1} (${rest} bytes left over)`,
      };
    }
    return null;
  }
}
