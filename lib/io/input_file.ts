/**
 * Opening an input by name: `-`, `/dev/stdin` (and `/dev/fd/0`) read standard input, which Deno
 * does not allow opening by path; anything else is opened read-only. Reading a whole input
 * decompresses gzip as a stream and stops at a size cap (a small gzip file can expand to many
 * gigabytes), and refuses the compressed formats it cannot read by name.
 */
import { InputError } from "../errors.ts";
import { fileErrorText } from "./file_error.ts";
import { sniffMagic } from "./magic.ts";
import { isStdinPath } from "./std_stream.ts";

/** Default cap on the size of a whole input, and on a gzip input's decompressed size: 1 GiB. */
export const MAX_DECOMPRESSED_BYTES = 1 << 30;

/** An open input: its display name, its bytes as a stream, and how to let it go. */
export interface Input {
  /** `stdin`, or the path. */
  name: string;
  readable: ReadableStream<Uint8Array>;
  close(): void;
}

/** Open `path` for reading (`-` and `/dev/stdin` are standard input); one-line InputError. */
export async function openInput(path: string): Promise<Input> {
  if (isStdinPath(path)) return { name: "stdin", readable: Deno.stdin.readable, close: () => {} };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new InputError(`Cannot read ${path}: ${fileErrorText(e)}`, { cause: e });
  }
  try {
    if ((await file.stat()).isDirectory) throw new Deno.errors.IsADirectory("is a directory");
  } catch (e) {
    file.close();
    throw new InputError(`Cannot read ${path}: ${fileErrorText(e)}`, { cause: e });
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      file.close();
    } catch { /* the stream closed it */ }
  };
  // Large reads: per-chunk costs show on big inputs.
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(1 << 20);
      let n: number | null;
      try {
        n = await file.read(buf);
      } catch (e) {
        close();
        controller.error(e);
        return;
      }
      if (n === null) {
        close();
        controller.close();
      } else controller.enqueue(buf.subarray(0, n));
    },
    cancel() {
      close();
    },
  });
  return { name: path, readable, close };
}

/** Read a stream to its end, failing once more than `max` bytes arrived. */
async function collect(
  s: ReadableStream<Uint8Array>,
  max: number,
  tooBig: () => Error,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = s.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooBig();
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Options of {@link readInput}. */
export interface ReadInputOptions {
  /** Cap on the input's size, decompressed (default {@link MAX_DECOMPRESSED_BYTES}). */
  maxDecompressed?: number;
  /** What the reader takes, for the message about an unreadable format (default "a table"). */
  expected?: string;
}

function sizeText(n: number): string {
  return n % (1 << 30) === 0 ? `${n / (1 << 30)} GiB` : `${Math.round(n / (1 << 20))} MiB`;
}

/**
 * Read all of an input (see {@link openInput}) within the size cap (also against endless inputs
 * such as /dev/zero), gunzipping it when it starts with the gzip magic, within the same cap on
 * the decompressed size; xz, bzip2, zstd, zip, pcap and pcapng are refused by name.
 */
export async function readInput(path: string, options: ReadInputOptions = {}): Promise<Uint8Array> {
  const input = await openInput(path);
  const max = options.maxDecompressed ?? MAX_DECOMPRESSED_BYTES;
  let bytes: Uint8Array;
  try {
    bytes = await collect(
      input.readable,
      max,
      () => new InputError(`Cannot read ${input.name}: larger than ${sizeText(max)}`),
    );
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`Cannot read ${input.name}: ${fileErrorText(e)}`, { cause: e });
  } finally {
    input.close();
  }
  const magic = sniffMagic(bytes);
  if (magic === "gzip") {
    const gz = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(
        new DecompressionStream("gzip") as unknown as TransformStream<
          Uint8Array,
          Uint8Array
        >,
      );
    const tooBig = () =>
      new InputError(
        `Cannot read ${input.name}: gzip input expands to more than ${sizeText(max)}`,
      );
    try {
      bytes = await collect(gz, max, tooBig);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`Cannot read ${input.name}: not valid gzip (${fileErrorText(e)})`, {
        cause: e,
      });
    }
    const inner = sniffMagic(bytes);
    if (inner !== null && inner !== "gzip") throw unsupported(input.name, inner, options, true);
    return bytes;
  }
  if (magic !== null) throw unsupported(input.name, magic, options, false);
  return bytes;
}

function unsupported(
  name: string,
  magic: string,
  options: ReadInputOptions,
  gzipped: boolean,
): InputError {
  const what = gzipped ? `gzip-compressed ${magic}` : magic;
  if (magic === "pcap" || magic === "pcapng") {
    return new InputError(
      `Cannot read ${name}: it is a ${what} capture, not ${
        options.expected ?? "a table"
      } (see 'rtr replay')`,
    );
  }
  return new InputError(`Cannot read ${name}: ${what} is not supported; gzip is`);
}
