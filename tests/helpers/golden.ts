/**
 * Loader for the golden PDU files in testdata/pdus/: hex text, one PDU a file, `#` starts a
 * comment that runs to the end of the line, whitespace between hex digits is ignored.
 */

/** Directory of the golden PDU files. */
export const PDU_DIR = new URL("../../testdata/pdus/", import.meta.url);

/** One golden PDU: its file name, its bytes and its comment lines. */
export interface GoldenPdu {
  /** File name, e.g. `05-ipv4-prefix-v2.hex`. */
  name: string;
  /** Vector number (the file name's numeric prefix; testdata/pdus/README.md). */
  vector: number;
  bytes: Uint8Array;
  /** The comment text, `#` removed, one entry a line. */
  comments: string[];
}

/** Bytes of hex text; throws on odd length or a non-hex character. */
export function hexToBytes(hex: string): Uint8Array {
  const s = hex.replace(/\s+/g, "");
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new Error(`Invalid hex: ${JSON.stringify(s.slice(0, 40))}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex of bytes. */
export function bytesToHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
  return s;
}

/** Parse the text of a golden file into bytes and comments. */
export function parseGolden(text: string): { bytes: Uint8Array; comments: string[] } {
  const comments: string[] = [];
  let hex = "";
  for (const line of text.split("\n")) {
    const hash = line.indexOf("#");
    if (hash >= 0) {
      comments.push(line.slice(hash + 1).trim());
      hex += line.slice(0, hash);
    } else {
      hex += line;
    }
  }
  return { bytes: hexToBytes(hex), comments };
}

/** Read one golden file by name. */
export function readGolden(name: string): GoldenPdu {
  const { bytes, comments } = parseGolden(Deno.readTextFileSync(new URL(name, PDU_DIR)));
  return { name, vector: Number.parseInt(name, 10), bytes, comments };
}

/** Every golden PDU file, ordered by vector number. */
export function loadGoldenPdus(): GoldenPdu[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(PDU_DIR)) {
    if (e.isFile && e.name.endsWith(".hex")) names.push(e.name);
  }
  names.sort();
  return names.map(readGolden);
}

/** All golden PDUs concatenated into one stream, in vector order. */
export function goldenStream(): Uint8Array {
  const all = loadGoldenPdus();
  const out = new Uint8Array(all.reduce((n, g) => n + g.bytes.length, 0));
  let off = 0;
  for (const g of all) {
    out.set(g.bytes, off);
    off += g.bytes.length;
  }
  return out;
}
