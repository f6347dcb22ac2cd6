/**
 * One probe connection to a cache: raw frames in, with every read bounded by the scenario's
 * deadline. Framing is by the Length field only (RFC 8210 §5, 8210bis §5); each frame is then
 * decoded strictly, and a frame that does not decode is kept with its error so a scenario can
 * judge it (or leave it to the scenario whose concern it is). Nothing here knows any rule.
 */
import { DecodeError } from "../errors.ts";
import {
  decodePdu,
  encodePdu,
  ErrorCode,
  HEADER_LENGTH,
  MAX_PDU_LENGTH,
  type Pdu,
} from "../wire/mod.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import type { RtrConn } from "../transport.ts";

/** One PDU as received: its bytes, and its decoded value or the decoding error. */
export interface Frame {
  raw: Uint8Array;
  pdu?: Pdu;
  error?: DecodeError;
}

/** Returned by a skimming read for a payload PDU that was framed but not kept. */
export const SKIPPED: Frame = { raw: new Uint8Array(0) };

/**
 * How a read treats payload PDUs (IPv4/IPv6 Prefix, Router Key, ASPA): `decode` them, keep them
 * `raw` (framed, not decoded), or `skim` them (framed, counted, not kept).
 */
export type PayloadMode = "decode" | "raw" | "skim";

/** What a read ended with when it did not yield a frame. */
export type ReadEnd = "closed" | "timeout" | "unframeable";

/** True for the payload PDU types (IPv4/IPv6 Prefix, Router Key, ASPA). */
function isPayload(t: number): boolean {
  return t === 4 || t === 6 || t === 9 || t === 11;
}

/** Hex of `bytes`, cut after `max` bytes (with an ellipsis). */
export function hex(bytes: Uint8Array, max = 256): string {
  let s = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += bytes[i].toString(16).padStart(2, "0");
  return bytes.length > max ? `${s}…` : s;
}

/** A connection under a deadline (a time on the injected clock). */
export class ProbeConn {
  readonly #conn: RtrConn;
  readonly #clock: Clock;
  readonly #deadline: number;
  /** Received bytes not yet framed: `#buf[#off ..]`. */
  #buf = new Uint8Array(0);
  #off = 0;
  #chunk = new Uint8Array(65536);
  #pending: Promise<number | null> | null = null;
  #eof = false;
  #unframeable = false;
  /** Serial Notify PDUs received while reading (kept aside, not returned as frames). */
  readonly notifies: Frame[] = [];

  constructor(conn: RtrConn, clock: Clock, deadline: number) {
    this.#conn = conn;
    this.#clock = clock;
    this.#deadline = deadline;
  }

  /** True once the cache closed its side. */
  get closed(): boolean {
    return this.#eof && this.#off === this.#buf.length;
  }

  /** Send a PDU value or raw bytes (which may be deliberately malformed). */
  async send(what: Pdu | Uint8Array): Promise<void> {
    const bytes = what instanceof Uint8Array ? what : encodePdu(what);
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /**
   * The next frame, or why there is none: the cache closed, `waitMs` (default: until the
   * deadline) passed, or the Length field made framing impossible. Serial Notify frames are set
   * aside in `notifies` unless `keepNotify`; `mode` says what becomes of payload PDUs (SKIPPED
   * is returned for each skimmed one).
   */
  async next(
    waitMs?: number,
    keepNotify = false,
    mode: PayloadMode = "decode",
  ): Promise<Frame | ReadEnd> {
    const clock = this.#clock;
    const until = Math.min(this.#deadline, waitMs === undefined ? Infinity : clock.now() + waitMs);
    while (true) {
      const f = this.#take(mode);
      if (f === "unframeable") return f;
      if (f !== null) {
        if (!keepNotify && f.pdu?.type === 0) {
          this.notifies.push(f);
          continue;
        }
        return f;
      }
      if (this.#eof) {
        if (this.#off === this.#buf.length) return "closed";
        // The cache hung up inside a PDU: what it sent of it, once, then the close.
        const raw = this.#buf.subarray(this.#off);
        this.#off = this.#buf.length;
        const want = raw.length >= 8 ? new DataView(raw.buffer, raw.byteOffset).getUint32(4) : 8;
        const error = new DecodeError(
          ErrorCode.CorruptData,
          `The cache closed the connection inside a PDU: ${raw.length} of ${want} bytes`,
          raw,
        );
        return { raw, error };
      }
      const left = until - clock.now();
      if (left <= 0) return "timeout";
      this.#pending ??= this.#conn.read(this.#chunk).catch(() => null);
      let timer: TimerHandle | undefined;
      const n = await Promise.race([
        this.#pending,
        new Promise<"timeout">((r) => timer = clock.setTimer(left, () => r("timeout"))),
      ]);
      clock.clearTimer(timer);
      if (n === "timeout") continue;
      this.#pending = null;
      if (n === null) {
        this.#eof = true;
        continue;
      }
      const rest = this.#buf.length - this.#off;
      const next = new Uint8Array(rest + n);
      next.set(this.#buf.subarray(this.#off));
      next.set(this.#chunk.subarray(0, n), rest);
      this.#buf = next;
      this.#off = 0;
    }
  }

  /** A whole frame from the buffer, null when more bytes are needed. */
  #take(mode: PayloadMode): Frame | null | "unframeable" {
    if (this.#unframeable) return "unframeable";
    const off = this.#off, have = this.#buf.length - off;
    if (have < HEADER_LENGTH) return null;
    const len = new DataView(this.#buf.buffer, this.#buf.byteOffset + off).getUint32(4);
    if (len < HEADER_LENGTH || len > MAX_PDU_LENGTH) {
      // The header is returned once, as an undecodable frame; every later read ends here.
      this.#unframeable = true;
      const raw = this.#buf.slice(off, off + HEADER_LENGTH);
      const error = new DecodeError(
        ErrorCode.CorruptData,
        `Cannot frame PDU: length is ${len}, expected 8 to ${MAX_PDU_LENGTH}`,
        raw,
      );
      return { raw, error };
    }
    if (have < len) return null;
    const payload = isPayload(this.#buf[off + 1]);
    if (payload && mode === "skim") {
      this.#off += len;
      return SKIPPED;
    }
    // A view, not a copy: the buffer it pins is replaced, never written again.
    const raw = this.#buf.subarray(off, off + len);
    this.#off += len;
    if (payload && mode === "raw") return { raw };
    try {
      return { raw, pdu: decodePdu(raw) };
    } catch (e) {
      if (e instanceof DecodeError) return { raw, error: e };
      throw e;
    }
  }

  /**
   * Read up to and including the PDU that ends an answer (a frame of type End of Data, Cache
   * Reset or Error Report, decoded or not), or until the cache closes, `waitMs` passes or
   * framing breaks. Skimmed payload PDUs are only counted (in `skipped`); with `visit`, every
   * payload PDU goes to it and is counted, not kept, so a big table costs only what the
   * visitor keeps.
   */
  async answer(
    waitMs?: number,
    mode: PayloadMode = "decode",
    visit?: (f: Frame) => void,
  ): Promise<Answer> {
    const frames: Frame[] = [];
    let skipped = 0;
    while (true) {
      const f = await this.next(waitMs, false, mode);
      if (typeof f === "string") return { frames, end: f, skipped };
      if (f === SKIPPED) {
        skipped++;
        continue;
      }
      if (visit && frames.length > 0 && isPayload(f.raw[1])) {
        visit(f);
        skipped++;
        continue;
      }
      frames.push(f);
      const t = f.raw[1];
      if (t === 7 || t === 8 || t === 10) return { frames, end: "pdu", skipped };
    }
  }

  /** Wait up to `waitMs` for the cache to close; returns what arrived meanwhile. */
  async untilClosed(waitMs: number): Promise<{ closed: boolean; frames: Frame[] }> {
    const frames: Frame[] = [];
    while (true) {
      const f = await this.next(waitMs);
      if (f === "closed") return { closed: true, frames };
      if (typeof f === "string") return { closed: false, frames };
      frames.push(f);
    }
  }

  /** Close the connection (idempotent). */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** The frames of one answer and how it ended. */
export interface Answer {
  frames: Frame[];
  /** `pdu`: the last frame ended it (End of Data, Cache Reset, Error Report). */
  end: "pdu" | ReadEnd;
  /** Payload PDUs framed but not kept (a skimming read). */
  skipped: number;
}
