/**
 * Output plumbing for commands: stdout as a TextSink and one-line diagnostics on stderr; the
 * sink, the atomic file writer and input opening live in lib/io/ (re-exported here).
 */
import { TextSink } from "../io/mod.ts";

export {
  AtomicFile,
  type ByteWriter,
  checkOutputPath,
  fileErrorText,
  isStdinPath,
  openInput,
  outputStream,
  readInput,
  TextSink,
  writeFileAtomic,
} from "../io/mod.ts";

const enc = new TextEncoder();

/** The process's stdout as a sink. */
export function stdoutSink(): TextSink {
  return new TextSink(Deno.stdout);
}

/** Write one line to stderr, synchronously (diagnostics only). */
export function warn(line: string): void {
  Deno.stderr.writeSync(enc.encode(line.endsWith("\n") ? line : line + "\n"));
}
