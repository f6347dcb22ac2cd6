/**
 * The NDJSON records `rtr replay` prints (README "rtr replay"): one `pdu` record per PDU with
 * the fields of its type (RFC 8210 §5, 8210bis §5), `malformed` for bytes that are not a valid PDU (with
 * the RFC error code a router would send), `gap` for bytes missing from the capture, and
 * `damaged` for a capture file that stops making sense. Lines are built by hand: this is the hot
 * path of a replay.
 */
import { errorName, type Pdu, pduName } from "../wire/mod.ts";
import { formatIpv4, formatIpv6, putIpv4, putIpv6, toBase64, toHex } from "../model/mod.ts";
import type { RtrStream } from "./flows.ts";
import type { MalformedSpan, PduBytes } from "./pdu_scanner.ts";
import { formatTimestamp, secondsPrefix, type Timestamp } from "./timestamp.ts";
import { AsciiBuffer, putBytes, putPadded, putUint, utf8 as bytesOf } from "../io/mod.ts";

/** Lower-case hex of bytes. */
export function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

const NAME_JSON: string[] = Array.from({ length: 256 }, (_, i) => JSON.stringify(pduName(i)));

/**
 * The fields common to every record of a stream at a time: `"flow":…,"direction":…,"time":…`
 * (flow and time left out for raw dumps; `file` only when asked for). Starts with a comma.
 */
export function streamFields(stream: RtrStream, time: Timestamp | null, withFile: boolean): string {
  let s = "";
  if (withFile) s += `,"file":${JSON.stringify(stream.connection.file)}`;
  if (stream.connection.flow !== null) s += `,"flow":${JSON.stringify(stream.connection.flow)}`;
  s += `,"direction":"${stream.direction}"`;
  if (time) s += `,"time":"${formatTimestamp(time)}"`;
  return s;
}

/** The type-specific fields of a PDU record, each preceded by a comma. */
export function pduFields(pdu: Pdu): string {
  switch (pdu.type) {
    case 0:
    case 1:
      return `,"sessionId":${pdu.sessionId},"serial":${pdu.serial}`;
    case 2:
    case 8:
      return "";
    case 3:
      return `,"sessionId":${pdu.sessionId}`;
    case 4:
    case 6: {
      const prefix = pdu.type === 4 ? formatIpv4(pdu.addr[0]) : formatIpv6(pdu.addr);
      return `,"action":"${
        (pdu.flags & 1) ? "announce" : "withdraw"
      }","prefix":"${prefix}/${pdu.prefixLength}","maxLength":${pdu.maxLength},"asn":${pdu.asn}${
        pdu.hostBits ? ',"hostBits":true' : ""
      }`;
    }
    case 7:
      return pdu.refresh === undefined
        ? `,"sessionId":${pdu.sessionId},"serial":${pdu.serial}`
        : `,"sessionId":${pdu.sessionId},"serial":${pdu.serial},"refresh":${pdu.refresh},"retry":${pdu.retry},"expire":${pdu.expire}`;
    case 9:
      return `,"action":"${(pdu.flags & 1) ? "announce" : "withdraw"}","asn":${pdu.asn},"ski":"${
        toHex(pdu.ski)
      }","pubkey":"${toBase64(pdu.spki)}"`;
    case 10:
      return `,"errorCode":${pdu.errorCode},"errorName":${
        JSON.stringify(errorName(pdu.errorCode))
      },"text":${JSON.stringify(pdu.text)},"encapsulated":"${hex(pdu.pdu)}"`;
    case 11: {
      let s = `,"action":"${
        (pdu.flags & 1) ? "announce" : "withdraw"
      }","customer_asid":${pdu.customer},"providers":[${pdu.providers.join(",")}]`;
      if (pdu.legacyAfi !== undefined) s += `,"legacy":true,"afi":${pdu.legacyAfi}`;
      return s;
    }
  }
}

/** A whole `pdu` line (with newline); `common` comes from streamFields(). */
export function pduLine(common: string, pdu: Pdu): string {
  return `{"type":"pdu"${common},"version":${pdu.version},"pduType":${pdu.type},"name":${
    NAME_JSON[pdu.type]
  }${pduFields(pdu)}}\n`;
}

/** A whole `malformed` line. */
export function malformedLine(common: string, span: MalformedSpan): string {
  let more = span.bytes.length < span.length ? `,"hexTruncated":true` : "";
  if (span.cause !== "data") more += `,"cause":"${span.cause}"`;
  return `{"type":"malformed"${common},"offset":${span.offset},"length":${span.length},"errorCode":${span.errorCode},"errorName":${
    JSON.stringify(errorName(span.errorCode))
  },"message":${JSON.stringify(span.message)},"hex":"${hex(span.bytes)}"${more}}\n`;
}

/** A whole `gap` line. */
export function gapLine(common: string, offset: number, length: number): string {
  return `{"type":"gap"${common},"offset":${offset},"bytes":${length}}\n`;
}

/** A whole `damaged` line: the capture file stops making sense at `offset`. */
export function damagedLine(file: string, format: string, offset: number, message: string): string {
  return `{"type":"damaged","file":${
    JSON.stringify(file)
  },"format":"${format}","offset":${offset},"message":${JSON.stringify(message)}}\n`;
}

const B = {
  maxLength: bytesOf('","maxLength":'),
  asn: bytesOf(',"asn":'),
  hostBits: bytesOf(',"hostBits":true'),
  end: bytesOf("}\n"),
};

/** `,"version":V,"pduType":T,"name":"…"` (+ `,"action":"…","prefix":"` for prefixes), cached. */
const TAILS: Uint8Array[] = [];
function tail(version: number, type: number, announce: number): Uint8Array {
  const k = (((version & 255) << 8) | type) * 2 + announce;
  let t = TAILS[k];
  if (!t) {
    const action = type === 4 || type === 6
      ? `,"action":"${announce ? "announce" : "withdraw"}","prefix":"`
      : "";
    t = bytesOf(`,"version":${version},"pduType":${type},"name":${NAME_JSON[type]}${action}`);
    TAILS[k] = t;
  }
  return t;
}

/** A CaptureHandler that renders every event as an NDJSON line into a byte buffer. */
export class RecordCollector {
  #out = new AsciiBuffer();
  #withFile: boolean;
  #lastStream: RtrStream | null = null;
  /** `{"type":"pdu"` and the stream's fields before the time. */
  #streamHead: Uint8Array = new Uint8Array(0);
  #lastSec = NaN;
  #secBytes: Uint8Array = new Uint8Array(0);
  /** Counts by record type. */
  counts = { pdu: 0, malformed: 0, gap: 0 };

  constructor(opts: { withFile?: boolean } = {}) {
    this.#withFile = opts.withFile ?? false;
  }

  /** Append a line of text (already ending in a newline). */
  add(line: string): void {
    this.#out.text(line);
  }

  /** Bytes buffered. */
  get size(): number {
    return this.#out.pos;
  }

  /** The buffered bytes; valid until the next event or `reset()`. */
  view(): Uint8Array {
    return this.#out.view();
  }

  /** Forget the buffered bytes (after writing them out). */
  reset(): void {
    this.#out.reset();
  }

  /** Take the buffered output as text (tests). */
  take(): string {
    const s = new TextDecoder().decode(this.#out.view());
    this.#out.reset();
    return s;
  }

  /** Write `{"type":"pdu"`, the stream fields and the time. */
  #head(buf: Uint8Array, p: number, stream: RtrStream, time: Timestamp | null): number {
    if (stream !== this.#lastStream) {
      this.#lastStream = stream;
      this.#streamHead = bytesOf(`{"type":"pdu"${streamFields(stream, null, this.#withFile)}`);
    }
    p = putBytes(buf, p, this.#streamHead);
    if (!time) return p;
    // Packets of one second share the date; only the fraction changes.
    if (time.sec !== this.#lastSec) {
      this.#lastSec = time.sec;
      this.#secBytes = bytesOf(`,"time":"${secondsPrefix(time.sec)}`);
    }
    p = putBytes(buf, p, this.#secBytes);
    p = time.digits === 9
      ? putPadded(buf, p, time.nsec, 9)
      : putPadded(buf, p, Math.floor(time.nsec / 1000), 6);
    buf[p] = 90; // Z
    buf[p + 1] = 34; // "
    return p + 2;
  }

  pdu(stream: RtrStream, pdu: Pdu, _at: PduBytes, time: Timestamp | null) {
    this.counts.pdu++;
    const o = this.#out;
    o.ensure(512);
    const buf = o.buf;
    let p = this.#head(buf, o.pos, stream, time);
    if (pdu.type === 4 || pdu.type === 6) {
      // The hot path: most records of a capture are prefixes.
      p = putBytes(buf, p, tail(pdu.version, pdu.type, pdu.flags & 1));
      p = pdu.type === 4 ? putIpv4(buf, p, pdu.addr[0]) : putIpv6(buf, p, pdu.addr);
      buf[p++] = 47;
      p = putUint(buf, p, pdu.prefixLength);
      p = putBytes(buf, p, B.maxLength);
      p = putUint(buf, p, pdu.maxLength);
      p = putBytes(buf, p, B.asn);
      p = putUint(buf, p, pdu.asn);
      if (pdu.hostBits) p = putBytes(buf, p, B.hostBits);
      buf[p++] = 125;
      buf[p++] = 10;
      o.pos = p;
      return;
    }
    o.pos = putBytes(buf, p, tail(pdu.version, pdu.type, 0));
    o.text(pduFields(pdu));
    o.bytes(B.end);
  }

  #common(stream: RtrStream, time: Timestamp | null): string {
    return streamFields(stream, time, this.#withFile);
  }

  malformed(stream: RtrStream, span: MalformedSpan, time: Timestamp | null) {
    this.counts.malformed++;
    this.#out.text(malformedLine(this.#common(stream, time), span));
  }

  gap(stream: RtrStream, offset: number, length: number, time: Timestamp | null) {
    this.counts.gap++;
    this.#out.text(gapLine(this.#common(stream, time), offset, length));
  }
}
