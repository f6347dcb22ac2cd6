/**
 * Reassembly of one direction of a TCP connection (RFC 9293 §3.4 sequence space) from captured
 * segments: in-order delivery, out-of-order segments held back, retransmissions and overlaps
 * trimmed (the bytes seen first win), sequence wrap-around, and missing data (lost by the
 * capture or cut by the snap length) reported as gaps so that the reader can resynchronise.
 */

/** Receives the reassembled byte stream of one direction. */
export interface ByteStreamSink {
  /** In-order bytes starting at stream offset `offset`; the view is valid during the call. */
  data(bytes: Uint8Array, offset: number): void;
  /** `length` bytes from stream offset `offset` are missing from the capture. */
  gap(offset: number, length: number): void;
}

/** Limits of a reassembler. */
export interface ReassemblerOptions {
  /** Bytes held back out of order before the hole in front of them is declared a gap. */
  maxPendingBytes?: number;
  /** Segments held back before the same happens. */
  maxPendingSegments?: number;
}

interface Held {
  off: number;
  data: Uint8Array;
  /** Bytes announced by the IP header but not captured, right after `data`. */
  missing: number;
}

/** Segments further than this beyond the expected offset are not plausible (max TCP window). */
const MAX_AHEAD = 1 << 30;

/** Reassembles one direction of a TCP connection. */
export class TcpReassembler {
  #sink: ByteStreamSink;
  #maxBytes: number;
  #maxSegs: number;
  #started = false;
  /** Sequence number of stream offset 0. */
  #base = 0;
  /** Next expected stream offset. */
  #next = 0;
  #held: Held[] = [];
  /** Segments being delivered (see #run). */
  #stack: { h: Held; before: number }[] = [];
  #heldBytes = 0;
  /** Highest stream offset any segment reached (including missing bytes). */
  #seen = 0;
  /** Stream offset of the FIN, once seen. */
  fin = -1;
  /** True when the SYN was captured (the stream starts at its first byte). */
  sawSyn = false;
  /** Bytes dropped as retransmitted or overlapping. */
  duplicateBytes = 0;
  /** Segments that arrived ahead of a hole. */
  outOfOrder = 0;
  /** Segments dropped as outside any plausible window. */
  implausible = 0;
  /** Bytes reported missing. */
  gapBytes = 0;

  constructor(sink: ByteStreamSink, opts: ReassemblerOptions = {}) {
    this.#sink = sink;
    this.#maxBytes = opts.maxPendingBytes ?? 4 << 20;
    this.#maxSegs = opts.maxPendingSegments ?? 4096;
  }

  /** Next expected stream offset (bytes delivered or declared missing so far). */
  get offset(): number {
    return this.#next;
  }

  /** Bytes currently held back out of order. */
  get pendingBytes(): number {
    return this.#heldBytes;
  }

  /** Initial sequence number: the SYN's, or the first segment's when no SYN was captured (-1 before). */
  isn = -1;

  /** Feed one captured segment of this direction. */
  segment(seq: number, flags: number, payload: Uint8Array, missing = 0): void {
    const syn = (flags & 2) !== 0;
    let dataSeq = seq;
    if (syn) {
      dataSeq = (seq + 1) >>> 0;
      if (!this.#started) {
        this.#started = true;
        this.sawSyn = true;
        this.isn = seq;
        this.#base = dataSeq;
      }
    }
    const len = payload.length;
    if (!this.#started) {
      if (len === 0 && missing === 0 && (flags & 1) === 0) return;
      this.#started = true;
      this.isn = seq;
      this.#base = dataSeq;
    }
    const rel = (((dataSeq - this.#base) >>> 0) - this.#next) | 0;
    if (rel > MAX_AHEAD || rel < -MAX_AHEAD) {
      this.implausible++;
      return;
    }
    const off = this.#next + rel;
    const end = off + len + missing;
    if ((flags & 1) !== 0 && this.fin < 0) this.fin = end;
    if (len + missing === 0) return;
    if (end > this.#seen) this.#seen = end;
    if (end <= this.#next) {
      this.duplicateBytes += len;
      return;
    }
    if (off <= this.#next) {
      this.#deliver(off, payload, missing);
      return;
    }
    // Ahead of a hole: hold a copy.
    this.outOfOrder++;
    const h: Held = { off, data: payload.slice(), missing };
    const held = this.#held;
    let i = held.length;
    while (i > 0 && held[i - 1].off > off) i--;
    held.splice(i, 0, h);
    this.#heldBytes += len;
    if (this.#heldBytes > this.#maxBytes || held.length > this.#maxSegs) this.#skipHole();
  }

  /**
   * Deliver a segment that starts at or before the expected offset. Bytes that a held segment
   * already covers are taken from the held one (it was captured first). Iterative: a held
   * segment starting inside the one being delivered goes on an explicit stack, so thousands of
   * held segments released at once cannot overflow the call stack.
   */
  #deliver(off: number, data: Uint8Array, missing: number): void {
    // Bytes before the expected offset were delivered already.
    this.duplicateBytes += Math.min(Math.max(this.#next - off, 0), data.length);
    if (this.#held.length === 0) {
      // Common case: nothing held back, no bookkeeping.
      const from = this.#next - off;
      if (data.length > from) {
        const at = this.#next;
        this.#next = off + data.length;
        this.#sink.data(from > 0 ? data.subarray(from) : data, at);
      }
      this.#tail(off + data.length, missing);
      return;
    }
    this.#stack.push({ h: { off, data, missing }, before: -1 });
    this.#run();
  }

  /** Report the bytes announced after a segment's data but not captured. */
  #tail(end: number, missing: number): void {
    if (missing === 0) return;
    const stop = end + missing;
    if (stop > this.#next) {
      const n = stop - this.#next;
      const at = this.#next;
      this.#next = stop;
      this.gapBytes += n;
      this.#sink.gap(at, n);
    }
  }

  /**
   * Work through the delivery stack: the top frame delivers its bytes up to the next held
   * segment that starts inside it; that one is pushed and goes first; a finished frame reports
   * its missing tail and lets every held segment now in order follow.
   */
  #run(): void {
    const held = this.#held;
    const st = this.#stack;
    if (st.length === 0 && !this.#pushDrainable()) return;
    while (st.length > 0) {
      const f = st[st.length - 1];
      const { off, data } = f.h;
      const end = off + data.length;
      if (f.before >= 0) {
        // Back from a held segment that started inside this one: its bytes replaced ours.
        this.duplicateBytes += Math.min(this.#next, end) - f.before;
        f.before = -1;
      }
      let pushed = false;
      while (this.#next < end) {
        const from = this.#next - off;
        let to = data.length;
        if (held.length > 0 && held[0].off < end) to = Math.max(from, held[0].off - off);
        if (to > from) {
          const at = this.#next;
          this.#next = off + to;
          this.#sink.data(from > 0 || to < data.length ? data.subarray(from, to) : data, at);
        }
        if (to === data.length) break;
        // A held segment starts inside this one: it goes first, then whatever is left of this.
        const h = held.shift()!;
        this.#heldBytes -= h.data.length;
        if (h.off + h.data.length + h.missing > this.#next) {
          f.before = this.#next;
          this.duplicateBytes += Math.min(Math.max(this.#next - h.off, 0), h.data.length);
          st.push({ h, before: -1 });
          pushed = true;
          break;
        }
        this.duplicateBytes += h.data.length;
      }
      if (pushed) continue;
      st.pop();
      this.#tail(end, f.h.missing);
      this.#pushDrainable();
    }
  }

  /** Push the first held segment that is now in order (dropping fully covered ones). */
  #pushDrainable(): boolean {
    const held = this.#held;
    while (held.length > 0 && held[0].off <= this.#next) {
      const h = held.shift()!;
      this.#heldBytes -= h.data.length;
      if (h.off + h.data.length + h.missing > this.#next) {
        this.duplicateBytes += Math.min(Math.max(this.#next - h.off, 0), h.data.length);
        this.#stack.push({ h, before: -1 });
        return true;
      }
      this.duplicateBytes += h.data.length;
    }
    return false;
  }

  #drain(): void {
    this.#run();
  }

  /** Declare the hole before the first held segment missing and go on from there. */
  #skipHole(): void {
    const held = this.#held;
    if (held.length === 0) return;
    const n = held[0].off - this.#next;
    if (n > 0) {
      const at = this.#next;
      this.#next = held[0].off;
      this.gapBytes += n;
      this.#sink.gap(at, n);
    }
    this.#drain();
  }

  /** End of the capture or of the connection: report every hole, deliver everything held. */
  finish(): void {
    while (this.#held.length > 0) this.#skipHole();
    const end = Math.max(this.#seen, this.fin);
    if (end > this.#next) {
      const n = end - this.#next;
      const at = this.#next;
      this.#next = end;
      this.gapBytes += n;
      this.#sink.gap(at, n);
    }
  }
}
