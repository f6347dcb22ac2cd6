/**
 * IP prefixes as 32-bit words: the one text parser (dotted quad, RFC 4291 §2.2 IPv6 text), the
 * one RFC 5952 writer (as bytes, `putIpv6`; `formatIpv6` is its string form) and host-bit
 * masking. Everything that turns an address into text or text into an address goes through here.
 */
import { InputError } from "../errors.ts";
import { ascii, putHex16, putUint } from "../io/ascii.ts";
import { topMask } from "../wire/decode.ts";

export { topMask };

/** A parsed prefix: family, address words (1 or 4, host bits masked) and length. */
export interface ParsedPrefix {
  family: 4 | 6;
  addr: number[];
  length: number;
  /** True when the text had bits set beyond the prefix length. */
  hostBits: boolean;
}

/** Format an IPv4 address word as dotted quad. */
export function formatIpv4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

/** Scratch for formatIpv6: the eight 16-bit groups. */
const GROUPS = new Uint32Array(8);

/** True for an IPv4-mapped IPv6 address (::ffff:0:0/96), written `::ffff:a.b.c.d` (RFC 5952 §5). */
export function isIpv4Mapped(a: ArrayLike<number>, off = 0): boolean {
  return a[off] === 0 && a[off + 1] === 0 && a[off + 2] === 0xffff;
}

/**
 * Split the four IPv6 words at `off` of `a` into eight 16-bit groups (into `g`) and find the run of zero groups to
 * write as "::": the first longest run of two or more (RFC 5952 §4.2). Returns
 * `start * 16 + length`, or -1 when no run qualifies.
 */
export function ipv6Groups(a: ArrayLike<number>, g: Uint32Array, off = 0): number {
  for (let i = 0; i < 4; i++) {
    g[2 * i] = a[off + i] >>> 16;
    g[2 * i + 1] = a[off + i] & 0xffff;
  }
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  return bestStart < 0 ? -1 : bestStart * 16 + bestLen;
}

/** Write an IPv4 address word as dotted quad at `p` of `b`; returns the offset after it. */
export function putIpv4(b: Uint8Array, p: number, w: number): number {
  p = putUint(b, p, w >>> 24);
  b[p++] = 46;
  p = putUint(b, p, (w >>> 16) & 255);
  b[p++] = 46;
  p = putUint(b, p, (w >>> 8) & 255);
  b[p++] = 46;
  return putUint(b, p, w & 255);
}

const MAPPED = ascii("::ffff:");

/**
 * Write the four IPv6 words at `off` of `a` per RFC 5952 at `p` of `b` (room for 45 bytes
 * checked by the caller): lower-case hex without leading zeros (§4.1, §4.3), the first longest
 * run of two or more zero groups as "::" (§4.2), and IPv4-mapped addresses as `::ffff:a.b.c.d`
 * (§5). Returns the offset after it.
 */
export function putIpv6(b: Uint8Array, p: number, a: ArrayLike<number>, off = 0): number {
  if (isIpv4Mapped(a, off)) {
    for (let i = 0; i < 7; i++) b[p++] = MAPPED[i];
    return putIpv4(b, p, a[off + 3]);
  }
  const g = GROUPS;
  const run = ipv6Groups(a, g, off);
  const bestStart = run < 0 ? -1 : run >> 4, bestLen = run & 15;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      b[p++] = 58;
      b[p++] = 58;
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) b[p++] = 58;
    p = putHex16(b, p, g[i]);
  }
  return p;
}

/**
 * Write the prefix of the packed VrpSet record at word `x` of `d` (`addr/len`; record layout in
 * vrp_set.ts) at `p` of `b`; returns the offset after it.
 */
export function putPrefix(b: Uint8Array, p: number, d: Uint32Array, x: number): number {
  const meta = d[x];
  p = meta >>> 16 === 0 ? putIpv4(b, p, d[x + 1]) : putIpv6(b, p, d, x + 1);
  b[p++] = 47;
  return putUint(b, p, (meta >>> 8) & 255);
}

const TEXT = new Uint8Array(64);

/** Format four IPv6 words per RFC 5952 (the string form of {@link putIpv6}). */
export function formatIpv6(a: ArrayLike<number>): string {
  const n = putIpv6(TEXT, 0, a);
  return String.fromCharCode.apply(null, TEXT.subarray(0, n) as unknown as number[]);
}

/** Format a prefix as `addr/len`. */
export function formatPrefix(family: 4 | 6, addr: ArrayLike<number>, length: number): string {
  return `${family === 4 ? formatIpv4(addr[0]) : formatIpv6(addr)}/${length}`;
}

/** Where the last {@link scanIpv4} or {@link scanIpv6} stopped: `e`, or the index of a `/`. */
let scanEnd = 0;

/** The index where the last scanIpv4 / scanIpv6 stopped (`e`, or a `/` before it). */
export function scannedTo(): number {
  return scanEnd;
}

/**
 * Scan a dotted-quad IPv4 address in `b[s..e)`, up to `e` or a `/` (then see
 * {@link scannedTo}); no leading zeros, which inet_aton reads as octal and inet_pton rejects.
 * The address word, or -1.
 */
export function scanIpv4(b: ArrayLike<number>, s: number, e: number): number {
  let w = 0, oct = 0, digits = 0, dots = 0;
  let i = s;
  for (; i < e; i++) {
    const c = b[i];
    if (c >= 48 && c <= 57) {
      if (digits > 0 && oct === 0) return -1;
      oct = oct * 10 + c - 48;
      if (++digits > 3 || oct > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      w = w * 256 + oct;
      oct = 0;
      digits = 0;
      dots++;
    } else if (c === 47) break;
    else return -1;
  }
  scanEnd = i;
  if (digits === 0 || dots !== 3) return -1;
  return (w * 256 + oct) >>> 0;
}

/** Scratch: the eight 16-bit groups of the IPv6 address being scanned. */
const SCAN_GROUPS = new Int32Array(8);

/**
 * Scan an IPv6 address in `b[s..e)`, up to `e` or a `/` (then see {@link scannedTo}; RFC 4291
 * §2.2: hex groups, one `::`, an IPv4 tail) into the four words `out[off..off+3]`. Returns false
 * (leaving `out` undefined) when malformed.
 */
export function scanIpv6(
  b: ArrayLike<number>,
  s: number,
  e: number,
  out: { [i: number]: number },
  off = 0,
): boolean {
  const G = SCAN_GROUPS;
  let i = s, ng = 0, dbl = -1;
  if (i < e && b[i] === 0x3a) {
    if (i + 1 >= e || b[i + 1] !== 0x3a) return false;
    dbl = 0;
    i += 2;
  }
  let needGroup = dbl < 0;
  while (i < e && b[i] !== 0x2f) {
    const start = i;
    let v = 0, nd = 0;
    while (i < e) {
      const c = b[i];
      let h: number;
      if (c >= 48 && c <= 57) h = c - 48;
      else {
        const l = c | 0x20;
        if (l >= 97 && l <= 102) h = l - 87;
        else break;
      }
      v = v * 16 + h;
      nd++;
      i++;
    }
    if (i < e && b[i] === 0x2e) {
      // An IPv4 tail: the last 32 bits, written as a dotted quad.
      if (ng > 6) return false;
      const w = scanIpv4(b, start, e);
      if (w < 0) return false;
      G[ng++] = w >>> 16;
      G[ng++] = w & 0xffff;
      needGroup = false;
      i = scanEnd;
      break;
    }
    if (nd === 0 || nd > 4 || ng === 8) return false;
    G[ng++] = v;
    needGroup = false;
    if (i < e && b[i] !== 0x2f) {
      if (b[i] !== 0x3a) return false;
      if (i + 1 < e && b[i + 1] === 0x3a) {
        if (dbl >= 0) return false;
        dbl = ng;
        i += 2;
      } else {
        i++;
        needGroup = true;
      }
    }
  }
  scanEnd = i;
  if (needGroup) return false;
  if (dbl < 0) {
    if (ng !== 8) return false;
  } else {
    if (ng > 7) return false;
    const gap = 8 - ng;
    for (let k = ng - 1; k >= dbl; k--) G[k + gap] = G[k];
    for (let k = dbl; k < dbl + gap; k++) G[k] = 0;
  }
  for (let k = 0; k < 4; k++) out[off + k] = ((G[2 * k] << 16) | G[2 * k + 1]) >>> 0;
  return true;
}

/** Scratch for the string forms: the text as bytes. */
const TEXT_BYTES = new Uint8Array(64);

/** Copy ASCII `s` into TEXT_BYTES; its length, or -1 when too long or not ASCII. */
function textBytes(s: string): number {
  const n = s.length;
  if (n > TEXT_BYTES.length) return -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return -1;
    TEXT_BYTES[i] = c;
  }
  return n;
}

/** Parse a dotted-quad IPv4 address to a word, or return null (see {@link scanIpv4}). */
export function parseIpv4(s: string): number | null {
  const n = textBytes(s);
  const w = n < 0 ? -1 : scanIpv4(TEXT_BYTES, 0, n);
  return w < 0 || scanEnd !== n ? null : w;
}

/** Parse an IPv6 address (with optional embedded IPv4 tail) to four words, or return null. */
export function parseIpv6(s: string): number[] | null {
  const n = textBytes(s);
  if (n <= 0) return null;
  const out = [0, 0, 0, 0];
  return scanIpv6(TEXT_BYTES, 0, n, out) && scanEnd === n ? out : null;
}

/** Parse `addr/len` (or a bare address with `defaultLength`); null when malformed. */
export function tryParsePrefix(text: string, defaultLength?: number): ParsedPrefix | null {
  const s = text.trim();
  const slash = s.indexOf("/");
  const addrText = slash >= 0 ? s.slice(0, slash) : s;
  const lenText = slash >= 0 ? s.slice(slash + 1) : undefined;
  let family: 4 | 6;
  let addr: number[];
  if (addrText.includes(":")) {
    const a = parseIpv6(addrText);
    if (!a) return null;
    family = 6;
    addr = a;
  } else {
    const a = parseIpv4(addrText);
    if (a === null) return null;
    family = 4;
    addr = [a];
  }
  const max = family === 4 ? 32 : 128;
  let length: number;
  if (lenText === undefined) {
    length = defaultLength ?? max;
  } else {
    if (!/^\d{1,3}$/.test(lenText)) return null;
    length = Number(lenText);
  }
  if (length > max) return null;
  let hostBits = false;
  for (let i = 0; i < addr.length; i++) {
    const m = (addr[i] & topMask(length - 32 * i)) >>> 0;
    if (m !== addr[i]) hostBits = true;
    addr[i] = m;
  }
  return { family, addr, length, hostBits };
}

/** Parse `addr/len`, throwing InputError with the offending text. */
export function parsePrefix(text: string): ParsedPrefix {
  const p = tryParsePrefix(text);
  if (!p) throw new InputError(`Invalid prefix ${JSON.stringify(text)}`);
  return p;
}

/** Canonical text of a prefix given as text (host bits masked, IPv6 compressed). */
export function canonicalPrefix(text: string): string {
  const p = parsePrefix(text);
  return formatPrefix(p.family, p.addr, p.length);
}
