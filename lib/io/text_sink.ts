/**
 * Byte output primitives for every layer that writes: a buffered text sink over any writer (stdout,
 * a file) that keeps backpressure, and atomic file output (temporary name in the same directory,
 * fsync, then rename), so that a killed process never leaves a half-written file (design.md §8).
 */

/** Something bytes can be written to (Deno.stdout, a Deno.FsFile, a stream writer). */
export interface ByteWriter {
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

/** A file being written under a temporary name; `commit` renames it into place. */
export class AtomicFile {
  readonly path: string;
  readonly tmpPath: string;
  #file: Deno.FsFile;
  /** Sink for the file's text. */
  readonly sink: TextSink;
  #done = false;

  private constructor(path: string, tmpPath: string, file: Deno.FsFile) {
    this.path = path;
    this.tmpPath = tmpPath;
    this.#file = file;
    this.sink = new TextSink(file, 1 << 18);
  }

  /** Create the temporary file beside `path`. */
  static async create(path: string): Promise<AtomicFile> {
    const slash = path.lastIndexOf("/");
    const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
    const base = slash >= 0 ? path.slice(slash + 1) : path;
    const tmp = `${dir}.${base}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    return new AtomicFile(path, tmp, file);
  }

  /** Write raw bytes (after any buffered text). */
  async writeBytes(b: Uint8Array): Promise<void> {
    await this.sink.flush();
    let off = 0;
    while (off < b.length) off += await this.#file.write(b.subarray(off));
  }

  /** Flush, fsync and rename into place. */
  async commit(): Promise<void> {
    if (this.#done) return;
    await this.sink.flush();
    await this.#file.sync();
    this.#file.close();
    this.#done = true;
    await Deno.rename(this.tmpPath, this.path);
  }

  /** Drop the temporary file; the target is untouched. */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      this.#file.close();
    } catch { /* already closed */ }
    await Deno.remove(this.tmpPath).catch(() => {});
  }
}

/** Write `data` to `path` atomically. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const f = await AtomicFile.create(path);
  try {
    if (typeof data === "string") await f.sink.write(data);
    else await f.writeBytes(data);
    await f.commit();
  } catch (e) {
    await f.abort();
    throw e;
  }
}
