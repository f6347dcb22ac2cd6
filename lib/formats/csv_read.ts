/**
 * CSV table input: rpki-client `-c` / Routinator `csv`
 * (`ASN,IP Prefix,Max Length,Trust Anchor[,Expires]`, ASN as `AS13335` or `13335`) and RTRlib
 * `rtrclient -e -t csv|csvwithheader` (`prefix, minlen, maxlen, asn` with a bare address).
 * RTRlib 0.8.0 prints ASNs ≥ 2^31 as negative numbers: they are read back modulo 2^32. Rows are
 * read from the bytes in place; an odd row is split as text, which also words its error.
 */
import type { TableAccumulator } from "./accumulate.ts";

type Layout = "rpki-client" | "rtrlib";

const DECODER = new TextDecoder();

/** Field boundaries of the current row: start/end pairs, spaces trimmed. */
const F = new Int32Array(8);

/** Split bytes `s..e` at commas into F (at most 4 fields); returns the field count. */
function splitRow(b: Uint8Array, s: number, e: number): number {
  let n = 0, fs = s;
  for (let i = s; i <= e; i++) {
    if (i === e || b[i] === 0x2c) {
      if (n < 4) {
        let a = fs, z = i;
        while (a < z && (b[a] === 0x20 || b[a] === 0x09)) a++;
        while (z > a && (b[z - 1] === 0x20 || b[z - 1] === 0x09)) z--;
        F[2 * n] = a;
        F[2 * n + 1] = z;
      }
      n++;
      fs = i + 1;
    }
  }
  return n;
}

/** Decimal digits in bytes `s..e` (optionally after `AS`/`as`); -1 otherwise. */
function digitsAt(b: Uint8Array, s: number, e: number, allowAs: boolean): number {
  if (allowAs && e - s > 2 && (b[s] | 0x20) === 0x61 && (b[s + 1] | 0x20) === 0x73) s += 2;
  if (e - s < 1 || e - s > 10) return -1;
  let x = 0;
  for (let i = s; i < e; i++) {
    const c = b[i] - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/** Add one row from its bytes; false when it needs the text path. */
function fastRow(
  b: Uint8Array,
  s: number,
  e: number,
  layout: Layout,
  lineNo: number,
  acc: TableAccumulator,
): boolean {
  const n = splitRow(b, s, e);
  if (layout === "rpki-client") {
    if (n < 3) return false;
    const asn = digitsAt(b, F[0], F[1], true);
    let ml = -1;
    if (F[5] > F[4]) {
      ml = digitsAt(b, F[4], F[5], false);
      if (ml < 0) return false;
    }
    return acc.vrpBytes("line", lineNo, b, F[2], F[3], -1, ml, asn);
  }
  if (n < 4) return false;
  const len = digitsAt(b, F[2], F[3], false);
  const ml = digitsAt(b, F[4], F[5], false);
  const asn = digitsAt(b, F[6], F[7], false);
  if (len < 0 || ml < 0) return false;
  return acc.vrpBytes("line", lineNo, b, F[0], F[1], len, ml, asn);
}

/** Add one row from its text fields (throws the entry's error); true when its ASN was negative. */
function textRow(line: string, layout: Layout, lineNo: number, acc: TableAccumulator): boolean {
  const f = line.split(",").map((x) => x.trim());
  if (layout === "rpki-client") {
    if (f.length < 3) {
      acc.fail(
        "line",
        lineNo,
        `row is ${JSON.stringify(line)}, expected ASN,IP Prefix,Max Length[,…]`,
      );
    }
    acc.vrp("line", lineNo, f[1], undefined, f[2] === "" ? undefined : f[2], f[0]);
    return false;
  }
  if (f.length < 4) {
    acc.fail(
      "line",
      lineNo,
      `row is ${JSON.stringify(line)}, expected prefix, minlen, maxlen, asn`,
    );
  }
  let asn: string | number = f[3];
  let negative = false;
  if (/^-\d{1,10}$/.test(asn) && Number(asn) >= -0x80000000) {
    asn = Number(asn) + 0x100000000;
    negative = true;
  }
  acc.vrp("line", lineNo, f[0], f[1], f[2], asn);
  return negative;
}

/** Feed the CSV rows in bytes `start..` to `acc`; returns the dialect name. */
export function readCsvBytes(b: Uint8Array, start: number, acc: TableAccumulator): string {
  let layout: Layout | undefined;
  let negatives = 0;
  let lineNo = 0;
  for (let i = 0; i < start; i++) if (b[i] === 0x0a) lineNo++;
  let pos = start;
  const n = b.length;
  while (pos < n) {
    let end = b.indexOf(0x0a, pos);
    if (end < 0) end = n;
    lineNo++;
    const ls = pos;
    pos = end + 1;
    let le = end;
    if (le > ls && b[le - 1] === 0x0d) le--;
    let p = ls;
    while (p < le && (b[p] === 0x20 || b[p] === 0x09)) p++;
    if (p === le || b[p] === 0x23 /* # */) continue;
    if (layout !== undefined && fastRow(b, ls, le, layout, lineNo, acc)) continue;
    const line = DECODER.decode(b.subarray(ls, le));
    if (layout === undefined) {
      const f = line.split(",").map((x) => x.trim());
      const head = f[0].toLowerCase();
      if (head === "asn") {
        layout = "rpki-client";
        if (f.length < 3 || !/prefix/i.test(f[1])) {
          acc.fail(
            "line",
            lineNo,
            `header is ${JSON.stringify(line)}, expected ASN,IP Prefix,Max Length,Trust Anchor`,
          );
        }
        continue;
      }
      if (head === "prefix") {
        layout = "rtrlib";
        continue;
      }
      layout = f.length >= 2 && f[1].includes("/") ? "rpki-client" : "rtrlib";
    }
    if (textRow(line, layout, lineNo, acc)) negatives++;
  }
  if (negatives > 0) {
    acc.warn(
      `${negatives} negative ASN(s) read as unsigned 32-bit (RTRlib prints ASNs >= 2^31 so)`,
    );
  }
  return layout === "rtrlib" ? "rtrlib-csv" : "rpki-client-csv";
}
