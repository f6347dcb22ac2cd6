/**
 * One captured packet as the pcap and pcapng readers hand it over, and the push-parser shape
 * they share: chunks in at any boundaries, whole packets out, the first structural corruption
 * stops the file with an offset and a message (libpcap file format, pcapng draft §4).
 */
import type { Timestamp } from "./timestamp.ts";

/** A captured packet; `data` is only valid during the callback that receives it. */
export interface Packet {
  /** LINKTYPE_* value of the interface the packet was captured on. */
  linkType: number;
  /** Captured bytes (may be shorter than the packet on the wire). */
  data: Uint8Array;
  /** Length of the packet on the wire. */
  origLength: number;
  /** Capture time, or null when the block has none (pcapng Simple Packet Block). */
  time: Timestamp | null;
  /** Index of the packet in the file, from 1 (as Wireshark numbers frames). */
  number: number;
}

/** Why a capture file stopped being readable. */
export interface ContainerFault {
  /** Byte offset in the (decompressed) file where the bad structure starts. */
  offset: number;
  message: string;
}

/** Largest captured packet accepted (Wireshark's limit is 256 KiB for most link types). */
export const MAX_CAPTURED_PACKET = 1 << 20;

/** A sans-I/O capture reader: `push` chunks, receive packets, `end` at end of file. */
export interface CaptureReader {
  /** Feed a chunk; `onPacket` runs for every whole packet it completes. */
  push(chunk: Uint8Array, onPacket: (p: Packet) => void): void;
  /** End of file: returns the fault that stopped reading, or a truncation, or null. */
  end(): ContainerFault | null;
  /** The fault that stopped reading, once there is one. */
  readonly fault: ContainerFault | null;
}

/** Append `chunk` to the unread rest of `buf` (from `off`), as one array. */
export function joinBytes(buf: Uint8Array | null, off: number, chunk: Uint8Array): Uint8Array {
  if (!buf || off >= buf.length) return chunk;
  const rest = buf.length - off;
  const out = new Uint8Array(rest + chunk.length);
  out.set(buf.subarray(off));
  out.set(chunk, rest);
  return out;
}
