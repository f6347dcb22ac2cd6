/**
 * The output end of the pipeline: NDJSON text written through a TextSink (which batches it into
 * 64 KiB of UTF-8) and a TransformStream into any byte WritableStream, `Deno.stdout.writable`
 * above all, with backpressure: a write waits while the destination is busy. Reusable by every
 * command that streams records.
 */
import { TextSink } from "../io/mod.ts";

/** A TextSink streaming into a WritableStream; `close` flushes and waits for the last byte. */
export interface NdjsonOutput {
  readonly sink: TextSink;
  /** Flush what is buffered and wait until the destination took it. */
  flush(): Promise<void>;
  /** Flush, end the stream (the destination itself stays open) and wait for the pipe. */
  close(): Promise<void>;
}

/**
 * A TransformStream that copies each batch out of the sink's reused buffer, piped into `dest`
 * (left open at the end: stdout outlives one command's records).
 */
export function ndjsonStream(dest: WritableStream<Uint8Array>): NdjsonOutput {
  const stage = new TransformStream<Uint8Array, Uint8Array>(
    { transform: (chunk, c) => c.enqueue(chunk.slice()) },
    { highWaterMark: 1 },
    { highWaterMark: 1 },
  );
  const piped = stage.readable.pipeTo(dest, { preventClose: true });
  piped.catch(() => {});
  const writer = stage.writable.getWriter();
  let failed: unknown = undefined;
  piped.catch((e) => failed ??= e);
  const sink = new TextSink({
    async write(p) {
      if (failed !== undefined) throw failed;
      await writer.ready;
      await writer.write(p);
      return p.length;
    },
  });
  return {
    sink,
    async flush() {
      await sink.flush();
    },
    async close() {
      await sink.flush();
      await writer.close();
      await piped;
    },
  };
}
