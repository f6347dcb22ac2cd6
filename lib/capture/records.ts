/**
 * The NDJSON records `rtr replay` prints (README "rtr replay"): one `pdu` record per PDU with
 * the fields of its type (protocol.md §1.3), `malformed` for bytes that are not a valid PDU (with
 * the RFC error code a router would send), `gap` for bytes missing from the capture, and
 * `damaged` for a capture file that stops making sense. Lines are built by hand: this is the hot
 * path of a replay.
 */
import { errorName, type Pdu, pduName } from "../wire/mod.ts";
import { formatIpv4, formatIpv6, toBase64, toHex } from "../model/mod.ts";
import type { RtrStream } from "./flows.ts";
import type { MalformedSpan } from "./pdu_scanner.ts";
import { formatTimestamp, type Timestamp } from "./timestamp.ts";
import { AsciiBuffer, bytesOf } from "./ascii_buffer.ts";

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
  pduHead: bytesOf('{"type":"pdu"'),
  version: bytesOf(',"version":'),
  announce: bytesOf(',"action":"announce","prefix":"'),
  withdraw: bytesOf(',"action":"withdraw","prefix":"'),
  maxLength: bytesOf('","maxLength":'),
  asn: bytesOf(',"asn":'),
  hostBits: bytesOf(',"hostBits":true'),
  end: bytesOf("}\n"),
};
/** `,"pduType":N,"name":"…"` for every type number. */
const TYPE_NAME: Uint8Array[] = Array.from(
  { length: 256 },
  (_, i) => bytesOf(`,"pduType":${i},"name":${JSON.stringify(pduName(i))}`),
);

/** A CaptureHandler that renders every event as an NDJSON line into a byte buffer. */
export class RecordCollector {
  #out = new AsciiBuffer();
  #withFile: boolean;
  #lastStream: RtrStream | null = null;
  #lastTime: Timestamp | null | undefined = undefined;
  #common = "";
  #commonBytes: Uint8Array = new Uint8Array(0);
  /** Counts by record type. */
  counts = { pdu: 0, malformed: 0, gap: 0 };

  constructor(opts: { withFile?: boolean } = {}) {
    this.#withFile = opts.withFile ?? false;
  }

  #fields(stream: RtrStream, time: Timestamp | null): void {
    if (stream !== this.#lastStream || time !== this.#lastTime) {
      this.#lastStream = stream;
      this.#lastTime = time;
      this.#common = streamFields(stream, time, this.#withFile);
      this.#commonBytes = bytesOf(this.#common);
    }
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

  pdu(stream: RtrStream, pdu: Pdu, _raw: Uint8Array, _offset: number, time: Timestamp | null) {
    this.counts.pdu++;
    this.#fields(stream, time);
    const o = this.#out;
    o.bytes(B.pduHead);
    o.bytes(this.#commonBytes);
    o.bytes(B.version);
    o.uint(pdu.version);
    o.bytes(TYPE_NAME[pdu.type]);
    if (pdu.type === 4 || pdu.type === 6) {
      o.bytes((pdu.flags & 1) ? B.announce : B.withdraw);
      if (pdu.type === 4) o.ipv4(pdu.addr[0]);
      else o.ipv6(pdu.addr);
      o.buf[o.pos++] = 47;
      o.uint(pdu.prefixLength);
      o.bytes(B.maxLength);
      o.uint(pdu.maxLength);
      o.bytes(B.asn);
      o.uint(pdu.asn);
      if (pdu.hostBits) o.bytes(B.hostBits);
    } else {
      o.text(pduFields(pdu));
    }
    o.bytes(B.end);
  }

  malformed(stream: RtrStream, span: MalformedSpan, time: Timestamp | null) {
    this.counts.malformed++;
    this.#fields(stream, time);
    this.#out.text(malformedLine(this.#common, span));
  }

  gap(stream: RtrStream, offset: number, length: number, time: Timestamp | null) {
    this.counts.gap++;
    this.#fields(stream, time);
    this.#out.text(gapLine(this.#common, offset, length));
  }
}
