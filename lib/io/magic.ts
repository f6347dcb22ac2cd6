/**
 * What an input's first bytes say it is, for the readers that must refuse what they cannot read
 * with a name instead of printing raw bytes: gzip (RFC 1952 §2.3.1), xz, bzip2, zstd (RFC 8878
 * §3.1.1), zip, pcap and pcapng.
 */

/** A container or binary format recognised by its magic bytes. */
export type MagicFormat = "gzip" | "xz" | "bzip2" | "zstd" | "zip" | "pcap" | "pcapng";

function startsWith(b: Uint8Array, magic: readonly number[]): boolean {
  if (b.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[i] !== magic[i]) return false;
  return true;
}

const PCAP_MAGICS = [
  [0xa1, 0xb2, 0xc3, 0xd4],
  [0xd4, 0xc3, 0xb2, 0xa1],
  [0xa1, 0xb2, 0x3c, 0x4d],
  [0x4d, 0x3c, 0xb2, 0xa1],
] as const;

/** The format named by the first bytes of `b`, or null for anything else (text, raw bytes). */
export function sniffMagic(b: Uint8Array): MagicFormat | null {
  if (startsWith(b, [0x1f, 0x8b])) return "gzip";
  if (startsWith(b, [0xfd, 0x37, 0x7a, 0x58])) return "xz";
  if (startsWith(b, [0x42, 0x5a, 0x68])) return "bzip2";
  if (startsWith(b, [0x28, 0xb5, 0x2f, 0xfd])) return "zstd";
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04])) return "zip";
  if (startsWith(b, [0x0a, 0x0d, 0x0d, 0x0a])) return "pcapng";
  for (const m of PCAP_MAGICS) if (startsWith(b, m)) return "pcap";
  return null;
}

/**
 * True when the first bytes of `b` (up to 4 KiB) hold a NUL or another control byte that no
 * text table has (tab, CR, LF and form feed are text).
 */
export function looksBinary(b: Uint8Array): boolean {
  const n = Math.min(b.length, 4096);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) return true;
    if (c === 0x7f) return true;
  }
  return false;
}
