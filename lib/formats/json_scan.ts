/**
 * A small validating JSON scanner over UTF-8 bytes (RFC 8259 grammar), for reading large VRP
 * tables without materialising them: the 800k-entry `roas` array is walked in place, each entry's
 * members located by byte range, and only the few small values we need are turned into numbers
 * or short strings. Anything the scanner does not expect raises JsonSyntax; callers then fall
 * back to `JSON.parse`, which gives the authoritative verdict and message.
 */

/** Thrown on bytes that are not JSON (or that the scanner does not handle). */
export class JsonSyntax extends Error {}

const SYNTAX = new JsonSyntax("JSON syntax");
const MAX_DEPTH = 512;

/** UTF-8 decoding of value slices handed to JSON.parse. */
const DECODER = new TextDecoder();

/** A cursor over JSON bytes. */
export class JsonScanner {
  readonly b: Uint8Array;
  pos: number;
  constructor(b: Uint8Array, pos = 0) {
    this.b = b;
    this.pos = pos;
  }

  /** Skip whitespace. */
  ws(): void {
    const b = this.b, n = b.length;
    let p = this.pos;
    while (p < n) {
      const c = b[p];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  /** The byte at the cursor, or -1 at the end. */
  peek(): number {
    return this.pos < this.b.length ? this.b[this.pos] : -1;
  }

  /** Consume byte `c` or throw JsonSyntax. */
  expect(c: number): void {
    if (this.b[this.pos] !== c) throw SYNTAX;
    this.pos++;
  }

  /** Skip a string at the cursor; returns true when it held an escape. */
  skipString(): boolean {
    const b = this.b, n = b.length;
    let p = this.pos;
    if (b[p] !== 0x22) throw SYNTAX;
    p++;
    let escaped = false;
    while (true) {
      if (p >= n) throw SYNTAX;
      const c = b[p];
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        const e = b[p + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            const h = b[p + k] | 0x20;
            if (!((h >= 0x30 && h <= 0x39) || (h >= 0x61 && h <= 0x66))) throw SYNTAX;
          }
          p += 6;
          continue;
        }
        if (
          e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e &&
          e !== 0x72 && e !== 0x74
        ) throw SYNTAX;
        p += 2;
        continue;
      }
      if (c < 0x20) throw SYNTAX;
      p++;
    }
    this.pos = p + 1;
    return escaped;
  }

  /** Skip a number at the cursor (JSON grammar). */
  skipNumber(): void {
    const b = this.b;
    let p = this.pos;
    if (b[p] === 0x2d) p++;
    if (b[p] === 0x30) p++;
    else if (b[p] >= 0x31 && b[p] <= 0x39) { while (b[p] >= 0x30 && b[p] <= 0x39) p++; }
    else throw SYNTAX;
    if (b[p] === 0x2e) {
      p++;
      if (!(b[p] >= 0x30 && b[p] <= 0x39)) throw SYNTAX;
      while (b[p] >= 0x30 && b[p] <= 0x39) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      if (!(b[p] >= 0x30 && b[p] <= 0x39)) throw SYNTAX;
      while (b[p] >= 0x30 && b[p] <= 0x39) p++;
    }
    this.pos = p;
  }

  #literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      if (this.b[this.pos + k] !== word.charCodeAt(k)) throw SYNTAX;
    }
    this.pos += word.length;
  }

  /** Skip any value at the cursor (whitespace before it already skipped). */
  skipValue(depth = 0): void {
    const c = this.peek();
    if (c === 0x22) this.skipString();
    else if (c === 0x7b) {
      if (depth > MAX_DEPTH) throw SYNTAX;
      this.pos++;
      this.ws();
      if (this.peek() === 0x7d) {
        this.pos++;
        return;
      }
      while (true) {
        this.skipString();
        this.ws();
        this.expect(0x3a);
        this.ws();
        this.skipValue(depth + 1);
        this.ws();
        if (this.peek() === 0x2c) {
          this.pos++;
          this.ws();
          continue;
        }
        this.expect(0x7d);
        return;
      }
    } else if (c === 0x5b) {
      if (depth > MAX_DEPTH) throw SYNTAX;
      this.pos++;
      this.ws();
      if (this.peek() === 0x5d) {
        this.pos++;
        return;
      }
      while (true) {
        this.skipValue(depth + 1);
        this.ws();
        if (this.peek() === 0x2c) {
          this.pos++;
          this.ws();
          continue;
        }
        this.expect(0x5d);
        return;
      }
    } else if (c === 0x74) this.#literal("true");
    else if (c === 0x66) this.#literal("false");
    else if (c === 0x6e) this.#literal("null");
    else this.skipNumber();
  }

  /**
   * Scan the object at the cursor, recording for each name in `keys` the byte range of its value
   * in `out` (`out[2k]`, `out[2k+1]`; -1 when absent; a repeated name keeps its last value).
   */
  scanMembers(keys: Uint8Array[], out: Int32Array): void {
    out.fill(-1);
    const b = this.b;
    this.expect(0x7b);
    this.ws();
    if (this.peek() === 0x7d) {
      this.pos++;
      return;
    }
    while (true) {
      const ks = this.pos + 1;
      const esc = this.skipString();
      const kl = this.pos - 1 - ks;
      let slot = -1;
      if (!esc) {
        for (let k = 0; k < keys.length; k++) {
          const key = keys[k];
          if (key.length !== kl) continue;
          let same = true;
          for (let j = 0; j < kl; j++) {
            if (b[ks + j] !== key[j]) {
              same = false;
              break;
            }
          }
          if (same) {
            slot = k;
            break;
          }
        }
      }
      this.ws();
      this.expect(0x3a);
      this.ws();
      const vs = this.pos;
      this.skipValue(1);
      if (slot >= 0) {
        out[2 * slot] = vs;
        out[2 * slot + 1] = this.pos;
      }
      this.ws();
      if (this.peek() === 0x2c) {
        this.pos++;
        this.ws();
        continue;
      }
      this.expect(0x7d);
      return;
    }
  }

  /** The value in bytes `s..e` parsed by JSON.parse. */
  parseRange(s: number, e: number): unknown {
    return JSON.parse(DECODER.decode(this.b.subarray(s, e)));
  }

  /** The key at the cursor as a string (consumed). */
  key(): string {
    const s = this.pos;
    const esc = this.skipString();
    if (!esc) return latin1(this.b, s + 1, this.pos - 1);
    return JSON.parse(DECODER.decode(this.b.subarray(s, this.pos)));
  }
}

/** Bytes `s..e` as a string, one char per byte (for ASCII text). */
export function latin1(b: Uint8Array, s: number, e: number): string {
  let out = "";
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i]);
  return out;
}

/**
 * An unsigned integer written as JSON digits (`24`) or, with `quoted`, as a string of digits
 * (`"24"`, or `"AS64500"` with `allowAs`) in bytes `s..e`; -1 for any other form.
 */
export function uintAt(b: Uint8Array, s: number, e: number, allowAs: boolean): number {
  if (s < 0) return -1;
  if (b[s] === 0x22) {
    s++;
    e--;
    if (
      allowAs && e - s >= 2 && (b[s] | 0x20) === 0x61 && (b[s + 1] | 0x20) === 0x73
    ) s += 2;
  }
  const n = e - s;
  if (n < 1 || n > 10) return -1;
  let x = 0;
  for (let i = s; i < e; i++) {
    const c = b[i] - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/** True when bytes `s..e` are exactly the JSON string `"lit"` (no escapes). */
export function stringIs(b: Uint8Array, s: number, e: number, lit: Uint8Array): boolean {
  if (s < 0 || e - s !== lit.length + 2 || b[s] !== 0x22) return false;
  for (let i = 0; i < lit.length; i++) if (b[s + 1 + i] !== lit[i]) return false;
  return true;
}
