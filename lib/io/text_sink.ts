/**
 * The buffered text sink every writer uses: text is encoded into one reused byte buffer and
 * written in large chunks to any writer (stdout, a file), keeping backpressure.
 */

/** Something bytes can be written to (Deno.stdout, a Deno.FsFile, a stream writer). */
export interface ByteWriter {
  /** Write some of `p`; resolves to the number of bytes written, like `Deno.Writer`. */
  write(p: Uint8Array): Promise<number>;
}

const enc = new TextEncoder();

/**
 * Buffers text as UTF-8 in one reusable byte buffer and writes it in large chunks; `await` on
 * write keeps backpressure. Text is encoded piece by piece (`encodeInto`), never joined into one
 * big string: large strings live in V8's old generation and would inflate the peak memory.
 */
export class TextSink {
  #w: ByteWriter;
  #buf: Uint8Array;
  #pos = 0;
  /** Bytes written so far (after encoding). */
  written = 0;
  /** A sink writing to `w`, buffering up to `limit` bytes (at least 4096) before each write. */
  constructor(w: ByteWriter, limit = 1 << 16) {
    this.#w = w;
    this.#buf = new Uint8Array(Math.max(4096, limit));
  }

  /** Append text; writes out the buffer when it is full. */
  async write(s: string): Promise<void> {
    let rest = s;
    while (rest.length > 0) {
      // Worst case 3 bytes per UTF-16 unit; encode what surely fits, flush, go on.
      if (this.#buf.length - this.#pos < Math.min(rest.length * 3, this.#buf.length)) {
        if (this.#pos > 0) await this.flush();
      }
      const room = this.#buf.length - this.#pos;
      const r = enc.encodeInto(rest, this.#buf.subarray(this.#pos));
      this.#pos += r.written;
      if (r.read === rest.length) return;
      rest = rest.slice(r.read);
      if (room === this.#buf.length && r.read === 0) {
        throw new RangeError("TextSink: cannot encode text into an empty buffer");
      }
      await this.flush();
    }
  }

  /** Write out everything buffered. */
  async flush(): Promise<void> {
    let off = 0;
    const n = this.#pos;
    while (off < n) off += await this.#w.write(this.#buf.subarray(off, n));
    this.written += n;
    this.#pos = 0;
  }

  /**
   * Write raw bytes after any buffered text, unbuffered (for writers that build large ASCII
   * chunks themselves); the caller may reuse `b` once this resolves.
   */
  async writeBytes(b: Uint8Array): Promise<void> {
    await this.flush();
    let off = 0;
    while (off < b.length) off += await this.#w.write(b.subarray(off));
    this.written += b.length;
  }
}
