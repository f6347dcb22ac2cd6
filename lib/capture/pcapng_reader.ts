/**
 * Reader for pcapng files (draft-ietf-opsawg-pcapng §4): Section Header Blocks in either byte
 * order (several sections per file), Interface Description Blocks with if_tsresol and
 * if_tsoffset, Enhanced, Simple and obsolete Packet Blocks; every other block is skipped.
 * Sans-I/O: chunks in, packets out.
 */
import {
  type CaptureReader,
  type ContainerFault,
  joinBytes,
  MAX_CAPTURED_PACKET,
  type Packet,
} from "./packet.ts";
import type { Timestamp } from "./timestamp.ts";

/** Block type of a Section Header Block (also the first four bytes of every pcapng file). */
export const PCAPNG_SHB = 0x0a0d0d0a;
/** Largest block accepted (Wireshark's limit). */
const MAX_BLOCK = 16 * 1024 * 1024;

interface Iface {
  linkType: number;
  snapLen: number;
  /** Time units per second, as a number when it is 10^6 or 10^9 (fast path), else bigint. */
  units: number;
  unitsBig: bigint;
  digits: 6 | 9;
  /** if_tsoffset, seconds. */
  offset: number;
}

/** True when the bytes start like a pcapng file. */
export function isPcapng(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x0a && b[1] === 0x0d && b[2] === 0x0d && b[3] === 0x0a;
}

/**
 * Split a 64-bit count of `units` (10^6 or 10^9) per second, given as two 32-bit halves, into
 * seconds and remainder exactly, without BigInt.
 */
function splitTime(hi: number, lo: number, units: number): [number, number] {
  let q = Math.floor((hi * 4294967296 + lo) / units);
  // q may be off by one or two: fix it with the exact low 32 bits of q * units.
  const ql = q % 65536, qh = (q - ql) / 65536;
  const low = ((qh * units) % 65536) * 65536 + ql * units;
  let r = (lo - (low % 4294967296)) | 0;
  while (r < 0) {
    q--;
    r += units;
  }
  while (r >= units) {
    q++;
    r -= units;
  }
  return [q, r];
}

/** Push parser for a pcapng file. */
export class PcapngReader implements CaptureReader {
  #buf: Uint8Array | null = null;
  #off = 0;
  #base = 0;
  #le = false;
  #inSection = false;
  #ifaces: Iface[] = [];
  #count = 0;
  #fault: ContainerFault | null = null;
  /** Sections seen so far. */
  sections = 0;
  /** Packets skipped because they name an interface that was never described. */
  orphans = 0;

  /** The fault that stopped reading, if any. */
  get fault(): ContainerFault | null {
    return this.#fault;
  }

  /** Link types of the interfaces of the current section. */
  get linkTypes(): number[] {
    return this.#ifaces.map((i) => i.linkType);
  }

  push(chunk: Uint8Array, onPacket: (p: Packet) => void): void {
    if (this.#fault) return;
    const b = joinBytes(this.#buf, this.#off, chunk);
    this.#base += this.#buf ? this.#off : 0;
    this.#buf = b;
    let off = 0;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const packet: Packet = { linkType: 0, data: b, origLength: 0, time: null, number: 0 };
    while (b.length - off >= 12) {
      const type0 = view.getUint32(off, false);
      if (type0 === PCAPNG_SHB) {
        const magic = view.getUint32(off + 8, false);
        if (magic === 0x1a2b3c4d) this.#le = false;
        else if (magic === 0x4d3c2b1a) this.#le = true;
        else {
          this.#stop(off, "Cannot read pcapng section header: bad byte-order magic");
          return;
        }
      } else if (!this.#inSection) {
        this.#stop(off, "Cannot read pcapng file: it does not start with a section header");
        return;
      }
      const le = this.#le;
      const type = view.getUint32(off, le);
      const len = view.getUint32(off + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK || (type === PCAPNG_SHB && len < 28)) {
        this.#stop(
          off,
          `Cannot read pcapng block of type ${type}: total length is ${len}, expected a multiple of 4 from ${
            type === PCAPNG_SHB ? 28 : 12
          } to ${MAX_BLOCK}`,
        );
        return;
      }
      if (b.length - off < len) break;
      if (view.getUint32(off + len - 4, le) !== len) {
        this.#stop(
          off,
          `Cannot read pcapng block of type ${type}: trailing length is ${
            view.getUint32(off + len - 4, le)
          }, expected ${len}`,
        );
        return;
      }
      switch (type) {
        case PCAPNG_SHB:
          this.#inSection = true;
          this.#ifaces = [];
          this.sections++;
          break;
        case 1:
          this.#interface(b, view, off, len);
          break;
        case 6:
        case 2: {
          // Enhanced Packet Block (6) / obsolete Packet Block (2): same offsets for the fields
          // we use, except the interface id width.
          if (len < 32) {
            this.#stop(
              off,
              `Cannot read pcapng packet block: total length is ${len}, expected at least 32`,
            );
            return;
          }
          const id = type === 6 ? view.getUint32(off + 8, le) : view.getUint16(off + 8, le);
          const caplen = view.getUint32(off + 20, le);
          const origLen = view.getUint32(off + 24, le);
          if (caplen > len - 32 || caplen > MAX_CAPTURED_PACKET) {
            this.#stop(
              off,
              `Cannot read pcapng packet ${
                this.#count + 1
              }: captured length ${caplen} does not fit in block length ${len}`,
            );
            return;
          }
          this.#count++;
          const iface = this.#ifaces[id];
          if (!iface) {
            this.orphans++;
            break;
          }
          packet.linkType = iface.linkType;
          packet.data = b.subarray(off + 28, off + 28 + caplen);
          packet.origLength = Math.max(origLen, caplen);
          packet.time = this.#time(
            iface,
            view.getUint32(off + 12, le),
            view.getUint32(off + 16, le),
          );
          packet.number = this.#count;
          onPacket(packet);
          break;
        }
        case 3: {
          // Simple Packet Block: interface 0, no timestamp, captured length implied.
          if (len < 16) {
            this.#stop(
              off,
              `Cannot read pcapng simple packet block: total length is ${len}, expected at least 16`,
            );
            return;
          }
          this.#count++;
          const iface = this.#ifaces[0];
          if (!iface) {
            this.orphans++;
            break;
          }
          const origLen = view.getUint32(off + 8, le);
          let caplen = Math.min(origLen, len - 16);
          if (iface.snapLen > 0) caplen = Math.min(caplen, iface.snapLen);
          packet.linkType = iface.linkType;
          packet.data = b.subarray(off + 12, off + 12 + caplen);
          packet.origLength = Math.max(origLen, caplen);
          packet.time = null;
          packet.number = this.#count;
          onPacket(packet);
          break;
        }
        default:
          // Name resolution, statistics, custom, decryption secrets…: not needed.
          break;
      }
      off += len;
    }
    this.#off = off;
  }

  #stop(off: number, message: string): void {
    this.#fault = { offset: this.#base + off, message };
    this.#buf = null;
  }

  #interface(b: Uint8Array, view: DataView, off: number, len: number): void {
    const le = this.#le;
    if (len < 20) {
      this.#ifaces.push({
        linkType: -1,
        snapLen: 0,
        units: 1e6,
        unitsBig: 1000000n,
        digits: 6,
        offset: 0,
      });
      return;
    }
    const iface: Iface = {
      linkType: view.getUint16(off + 8, le),
      snapLen: view.getUint32(off + 12, le),
      units: 1e6,
      unitsBig: 1000000n,
      digits: 6,
      offset: 0,
    };
    // Options: code, length, value padded to 4; opt_endofopt (0) ends them.
    let p = off + 16;
    const end = off + len - 4;
    while (p + 4 <= end) {
      const code = view.getUint16(p, le);
      const olen = view.getUint16(p + 2, le);
      if (code === 0 || p + 4 + olen > end) break;
      if (code === 9 && olen >= 1) {
        const r = b[p + 4];
        const exp = r & 0x7f;
        if (r & 0x80) {
          iface.unitsBig = 1n << BigInt(exp);
          iface.digits = exp > 20 ? 9 : 6;
        } else {
          iface.unitsBig = 10n ** BigInt(exp);
          iface.digits = exp > 6 ? 9 : 6;
        }
        iface.units = iface.unitsBig === 1000000n ? 1e6 : iface.unitsBig === 1000000000n ? 1e9 : 0;
      } else if (code === 14 && olen >= 8) {
        const hi = view.getInt32(p + 4 + (le ? 4 : 0), le);
        const lo = view.getUint32(p + 4 + (le ? 0 : 4), le);
        iface.offset = hi * 4294967296 + lo;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    this.#ifaces.push(iface);
  }

  #time(iface: Iface, hi: number, lo: number): Timestamp {
    let sec: number, nsec: number;
    if (iface.units === 1e6) {
      const [q, r] = splitTime(hi, lo, 1e6);
      sec = q;
      nsec = r * 1000;
    } else if (iface.units === 1e9) {
      [sec, nsec] = splitTime(hi, lo, 1e9);
    } else {
      const v = (BigInt(hi) << 32n) | BigInt(lo);
      const u = iface.unitsBig === 0n ? 1n : iface.unitsBig;
      sec = Number(v / u);
      nsec = Number(((v % u) * 1000000000n) / u);
    }
    return { sec: sec + iface.offset, nsec, digits: iface.digits };
  }

  end(): ContainerFault | null {
    if (this.#fault) return this.#fault;
    const rest = this.#buf ? this.#buf.length - this.#off : 0;
    if (!this.#inSection && rest === 0) {
      return { offset: 0, message: "Cannot read pcapng file: no section header" };
    }
    if (rest > 0) {
      return {
        offset: this.#base + this.#off,
        message: `Capture file ends inside a pcapng block (${rest} bytes left over)`,
      };
    }
    return null;
  }
}
