/**
 * CSV table input (formats.md §4): rpki-client `-c` / Routinator `csv`
 * (`ASN,IP Prefix,Max Length,Trust Anchor[,Expires]`, ASN as `AS13335` or `13335`) and RTRlib
 * `rtrclient -e -t csv|csvwithheader` (`prefix, minlen, maxlen, asn` with a bare address).
 * RTRlib 0.8.0 prints ASNs ≥ 2^31 as negative numbers: they are read back modulo 2^32.
 */
import type { TableAccumulator } from "./accumulate.ts";

/** Feed the rows of a CSV table to `acc`; returns the dialect name. */
export function readCsvInto(text: string, acc: TableAccumulator): string {
  let layout: "rpki-client" | "rtrlib" | undefined;
  let negatives = 0;
  let lineNo = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = n;
    lineNo++;
    let line = text.slice(pos, end);
    pos = end + 1;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(",");
    for (let i = 0; i < f.length; i++) f[i] = f[i].trim();
    if (layout === undefined) {
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
    if (layout === "rpki-client") {
      if (f.length < 3) {
        acc.fail(
          "line",
          lineNo,
          `row is ${JSON.stringify(line)}, expected ASN,IP Prefix,Max Length[,…]`,
        );
      }
      acc.vrp("line", lineNo, f[1], undefined, f[2] === "" ? undefined : f[2], f[0]);
    } else {
      if (f.length < 4) {
        acc.fail(
          "line",
          lineNo,
          `row is ${JSON.stringify(line)}, expected prefix, minlen, maxlen, asn`,
        );
      }
      let asn: string | number = f[3];
      if (/^-\d{1,10}$/.test(asn) && Number(asn) >= -0x80000000) {
        asn = Number(asn) + 0x100000000;
        negatives++;
      }
      acc.vrp("line", lineNo, f[0], f[1], f[2], asn);
    }
  }
  if (negatives > 0) {
    acc.warn(
      `${negatives} negative ASN(s) read as unsigned 32-bit (RTRlib prints ASNs >= 2^31 so)`,
    );
  }
  return layout === "rtrlib" ? "rtrlib-csv" : "rpki-client-csv";
}
