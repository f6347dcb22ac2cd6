/**
 * The per-router responder of a cache, sans-I/O (RFC 6810, RFC 8210 §6, 8210bis): it takes the
 * bytes one router sent and returns the responses to write, the log events and whether to close.
 * It negotiates the version from the router's first query (8210bis §7: a version above ours gets
 * Unsupported Protocol Version carrying our highest version, and the connection closes so the
 * router may retry lower; a version change within a session gets Unexpected Protocol Version
 * code 8), answers Reset and Serial Queries (Cache
 * Reset for a serial not held, RFC 8210 §6.3; No Data Available before the first table, §5.11)
 * and reports malformed input with an Error Report (RFC 8210 §5.11, §12).
 */
import { DecodeError, quoteText } from "../errors.ts";
import { serialLt } from "../serial.ts";
import {
  encodePdu,
  ErrorCode,
  errorCodeFor,
  errorName,
  MAX_PDU_LENGTH,
  type Pdu,
  PduFramer,
  pduName,
  PduType,
} from "../wire/mod.ts";
import { type Response, smallResponse } from "./response_encoder.ts";
import type { RtrCache } from "./rtr_cache.ts";

/** What the connection should do after receiving bytes. */
export interface CacheOutput {
  /** Responses to write, in order. */
  send: Response[];
  /** Close the connection once `send` is written. */
  close: boolean;
  /** Human-readable events (negotiation, queries, errors) for the log, one line each. */
  events: string[];
}

/** Error codes after which the peer drops the session (RFC 8210 §12, 8210bis §12). */
function isFatal(code: number, version: number): boolean {
  if (code === ErrorCode.NoDataAvailable) return false;
  if (code === ErrorCode.UnsupportedProtocolVersion) return version < 2;
  if (code === ErrorCode.CacheRestart) return false;
  return true;
}

/** The responder for one router connection: bytes in, responses out. */
export class CacheConnection {
  readonly #cache: RtrCache;
  readonly #framer = new PduFramer();
  /** Negotiated protocol version (undefined until the first query is answered). */
  version: number | undefined;
  /** Serial of the last End of Data sent (undefined before the first). */
  lastSerial: number | undefined;
  /** True once the connection must be closed; further input is ignored. */
  closed = false;
  /** Complete PDUs received so far. */
  pdus = 0;

  /** One router's conversation with `cache`. */
  constructor(cache: RtrCache) {
    this.#cache = cache;
  }

  /** Feed bytes received from the router. */
  receive(chunk: Uint8Array): CacheOutput {
    const out: CacheOutput = { send: [], close: false, events: [] };
    if (this.closed) return out;
    try {
      this.#framer.push(chunk, (pdu, raw) => {
        this.pdus++;
        if (!this.closed) this.#onPdu(pdu, raw, out);
      });
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      if (!this.closed) this.#onDecodeError(e, out);
    }
    return out;
  }

  /** The router closed its side: true when it left in the middle of a PDU. */
  get partial(): boolean {
    return this.#framer.buffered > 0;
  }

  /**
   * A Serial Notify for the current serial, when this router has negotiated a version and last
   * received an older serial; otherwise null.
   */
  notify(): Uint8Array | null {
    const serial = this.#cache.serial;
    if (this.closed || this.version === undefined || serial === undefined) return null;
    if (this.lastSerial === serial) return null;
    return encodePdu({
      type: PduType.SerialNotify,
      version: this.version,
      sessionId: this.#cache.sessionIdFor(this.version),
      serial,
    });
  }

  #error(
    out: CacheOutput,
    version: number,
    code: number,
    text: string,
    pdu: Uint8Array = new Uint8Array(0),
  ): void {
    const wireCode = errorCodeFor(version, code);
    const textLen = new TextEncoder().encode(text).length;
    const room = MAX_PDU_LENGTH - 16 - textLen;
    const body = pdu.length > room ? pdu.subarray(0, Math.max(room, 0)) : pdu;
    out.send.push(
      smallResponse(`Error Report v${version} code ${wireCode} (${errorName(wireCode)}): ${text}`, [
        { type: PduType.ErrorReport, version, errorCode: wireCode, pdu: body, text },
      ]),
    );
    out.events.push(`sent Error Report code ${wireCode} (${errorName(wireCode)}): ${text}`);
    if (isFatal(wireCode, version)) {
      out.close = true;
      this.closed = true;
    }
  }

  #drop(out: CacheOutput, why: string): void {
    out.events.push(why);
    out.close = true;
    this.closed = true;
  }

  #onDecodeError(e: DecodeError, out: CacheOutput): void {
    const raw = e.pdu ?? new Uint8Array(0);
    const type = raw.length > 1 ? raw[1] : -1;
    if (type === PduType.ErrorReport) {
      this.#drop(out, `dropped: malformed Error Report from router: ${e.message}`);
      return;
    }
    const maxV = this.#cache.maxVersion;
    if (this.version !== undefined) {
      if (e.code === ErrorCode.UnsupportedProtocolVersion) {
        this.#error(
          out,
          this.version,
          ErrorCode.UnexpectedProtocolVersion,
          `Unexpected protocol version ${raw[0]}, session is version ${this.version}`,
          raw,
        );
        return;
      }
      this.#error(out, this.version, e.code, e.message, raw);
      return;
    }
    if (e.code === ErrorCode.UnsupportedProtocolVersion) {
      this.#error(
        out,
        maxV,
        ErrorCode.UnsupportedProtocolVersion,
        `Protocol version ${raw[0]} is not supported, this cache speaks up to version ${maxV}`,
        raw,
      );
      // Code 4 is non-fatal in 8210bis, but no session exists: close all the same.
      out.close = true;
      this.closed = true;
      return;
    }
    const v = raw.length > 0 && raw[0] <= maxV ? raw[0] : maxV;
    this.#error(out, v, e.code, e.message, raw);
  }

  #onPdu(pdu: Pdu, raw: Uint8Array, out: CacheOutput): void {
    const cache = this.#cache;
    if (pdu.type === PduType.ErrorReport) {
      const fatal = isFatal(pdu.errorCode, pdu.version);
      const line = `router sent Error Report code ${pdu.errorCode} (${errorName(pdu.errorCode)})${
        pdu.text ? `: ${quoteText(pdu.text)}` : ""
      }`;
      if (fatal) this.#drop(out, line);
      else out.events.push(line);
      return;
    }
    if (this.version === undefined) {
      if (pdu.type !== PduType.ResetQuery && pdu.type !== PduType.SerialQuery) {
        const v = pdu.version <= cache.maxVersion ? pdu.version : cache.maxVersion;
        this.#error(
          out,
          v,
          ErrorCode.InvalidRequest,
          `Unexpected ${pduName(pdu.type)} PDU, expected Reset Query or Serial Query`,
          raw,
        );
        return;
      }
      if (pdu.version > cache.maxVersion) {
        this.#error(
          out,
          cache.maxVersion,
          ErrorCode.UnsupportedProtocolVersion,
          `Protocol version ${pdu.version} is not supported, this cache speaks up to version ${cache.maxVersion}`,
          raw,
        );
        out.close = true;
        this.closed = true;
        return;
      }
      this.version = pdu.version;
      out.events.push(`negotiated version ${pdu.version}`);
    } else if (pdu.version !== this.version) {
      this.#error(
        out,
        this.version,
        ErrorCode.UnexpectedProtocolVersion,
        `Unexpected protocol version ${pdu.version}, session is version ${this.version}`,
        raw,
      );
      return;
    }
    const v = this.version;
    if (pdu.type === PduType.ResetQuery) {
      if (!cache.hasData) {
        out.events.push(
          cache.withdrawn ? "Reset Query: data withdrawn" : "Reset Query: no data yet",
        );
        this.#error(out, v, ErrorCode.NoDataAvailable, "No data available");
        return;
      }
      const r = cache.resetResponse(v);
      out.events.push(`Reset Query → ${r.summary}, ${r.size} bytes`);
      out.send.push(r);
      this.lastSerial = r.serial;
      return;
    }
    if (pdu.type === PduType.SerialQuery) {
      const q = `Serial Query session ${pdu.sessionId} serial ${pdu.serial}`;
      if (cache.withdrawn) {
        out.events.push(`${q}: data withdrawn → Cache Reset`);
        out.send.push(
          smallResponse(`Cache Reset v${v}`, [{ type: PduType.CacheReset, version: v }]),
        );
        return;
      }
      if (!cache.hasData) {
        out.events.push(`${q}: no data yet`);
        this.#error(out, v, ErrorCode.NoDataAvailable, "No data available");
        return;
      }
      const sessionId = cache.sessionIdFor(v);
      if (pdu.sessionId !== sessionId) {
        out.events.push(`${q}: wrong session`);
        this.#error(
          out,
          v,
          ErrorCode.CorruptData,
          `Session ID mismatch: got ${pdu.sessionId}, want ${sessionId}`,
          raw,
        );
        return;
      }
      const r = cache.deltaResponse(v, pdu.serial);
      if (r) {
        out.events.push(`${q} → ${r.summary}, ${r.size} bytes`);
        out.send.push(r);
        this.lastSerial = r.serial;
        return;
      }
      const current = cache.serial!;
      const why = serialLt(current, pdu.serial) ? "in the future" : "no longer held";
      out.events.push(`${q}: serial ${why} (current ${current}) → Cache Reset`);
      out.send.push(smallResponse(`Cache Reset v${v}`, [{ type: PduType.CacheReset, version: v }]));
      return;
    }
    this.#error(
      out,
      v,
      ErrorCode.InvalidRequest,
      `Unexpected ${pduName(pdu.type)} PDU from a router`,
      raw,
    );
  }
}
