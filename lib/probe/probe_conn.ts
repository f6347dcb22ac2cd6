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
import type { RtrConn } from "../transport.ts";

/** One PDU as received: its bytes, and its decoded value or the decoding error. */
export interface Frame {
  raw: Uint8Array;
  pdu?: Pdu;
  error?: DecodeError;
}

/** What a read ended with when it did not yield a frame. */
export type ReadEnd = "closed" | "timeout" | "unframeable";

/** Hex of `bytes`, cut after `max` bytes (with an ellipsis). */
export function hex(bytes: Uint8Array, max = 256): string {
  let s = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += bytes[i].toString(16).padStart(2, "0");
  return bytes.length > max ? `${s}…` : s;
}

/** A connection under a deadline (ms since the epoch, from the injected clock). */
export class ProbeConn {
  readonly #conn: RtrConn;
  readonly #now: () => number;
  readonly #deadline: number;
  #buf = new Uint8Array(0);
  #chunk = new Uint8Array(65536);
  #pending: Promise<number | null> | null = null;
  #eof = false;
  #unframeable = false;
  /** Serial Notify PDUs received while reading (kept aside, not returned as frames). */
  readonly notifies: Frame[] = [];
  /** Every frame returned so far, in order. */
  readonly frames: Frame[] = [];

  constructor(conn: RtrConn, now: () => number, deadline: number) {
    this.#conn = conn;
    this.#now = now;
    this.#deadline = deadline;
  }

  /** True once the cache closed its side. */
  get closed(): boolean {
    return this.#eof && this.#buf.length === 0;
  }

  /** Bytes of a PDU left incomplete when the cache closed, if any. */
  get leftover(): Uint8Array {
    return this.#buf;
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
   * aside in `notifies` unless `keepNotify`.
   */
  async next(waitMs?: number, keepNotify = false): Promise<Frame | ReadEnd> {
    const until = Math.min(this.#deadline, waitMs === undefined ? Infinity : this.#now() + waitMs);
    while (true) {
      const f = this.#take();
      if (f === "unframeable") return f;
      if (f !== null) {
        if (!keepNotify && f.pdu?.type === 0) {
          this.notifies.push(f);
          continue;
        }
        this.frames.push(f);
        return f;
      }
      if (this.#eof) return "closed";
      const left = until - this.#now();
      if (left <= 0) return "timeout";
      this.#pending ??= this.#conn.read(this.#chunk).catch(() => null);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.#pending,
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (n === "timeout") continue;
      this.#pending = null;
      if (n === null) {
        this.#eof = true;
        continue;
      }
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(this.#chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }

  /** A whole frame from the buffer, null when more bytes are needed. */
  #take(): Frame | null | "unframeable" {
    if (this.#unframeable) return "unframeable";
    if (this.#buf.length < HEADER_LENGTH) return null;
    const len = new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(4);
    if (len < HEADER_LENGTH || len > MAX_PDU_LENGTH) {
      this.#unframeable = true;
      const raw = this.#buf.slice(0, HEADER_LENGTH);
      this.frames.push({
        raw,
        error: new DecodeError(
          ErrorCode.CorruptData,
          `Cannot frame PDU: length is ${len}, expected 8 to ${MAX_PDU_LENGTH}`,
          raw,
        ),
      });
      return "unframeable";
    }
    if (this.#buf.length < len) return null;
    const raw = this.#buf.slice(0, len);
    this.#buf = this.#buf.slice(len);
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
   * framing breaks.
   */
  async answer(waitMs?: number): Promise<Answer> {
    const frames: Frame[] = [];
    while (true) {
      const f = await this.next(waitMs);
      if (typeof f === "string") return { frames, end: f };
      frames.push(f);
      const t = f.raw[1];
      if (t === 7 || t === 8 || t === 10) return { frames, end: "pdu" };
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
}
