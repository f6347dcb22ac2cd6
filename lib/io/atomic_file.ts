/**
 * The one file writer every output uses (`-o`, `--dump` raw and pcap taps, the history store's
 * per-serial files, routingtable.json and state.json): a killed process never leaves a
 * half-written file, and no one can make `rtr` write through a name they planted.
 *
 * - A regular file (or a new one) is written under a temporary name in the target's own
 *   directory, `.NAME.PID.RANDOM.tmp` (RANDOM: 16 hex digits from crypto.getRandomValues),
 *   created exclusively (O_CREAT|O_EXCL: a symlink or file already at that name is never
 *   followed or reused), fsynced, renamed over the target, and the directory fsynced. Every
 *   failure path removes the temporary file. {@link parseTemporaryName} recognises the pattern
 *   so the history store can clean up after a killed process.
 * - A symlink target: the file the link points to is written atomically (the link stays a link).
 * - A target that is not a regular file (FIFO, character device such as /dev/null) is written
 *   through directly: never unlinked, truncated or renamed.
 * - `-`, `/dev/stdout`, `/dev/stderr` (and `/dev/fd/1`, `/dev/fd/2`) write to the process's own
 *   streams, which Deno does not allow opening by path.
 * - A directory, or a missing or unwritable directory, fails with one line; callers run
 *   {@link checkOutputPath} before any network work so a bad path costs nothing.
 */
import { RtrError } from "../errors.ts";
import { fileErrorText } from "./file_error.ts";
import { outputStream } from "./std_stream.ts";
import { TextSink } from "./text_sink.ts";

/** How many random names to try before giving up on an exclusive create. */
const CREATE_TRIES = 8;
/** Longest chain of symlinks followed to find the real target. */
const MAX_LINKS = 40;

const TEMPORARY_RE = /^\.(.+)\.(\d+)\.([0-9a-f]{8}|[0-9a-f]{16})\.tmp$/;

/** 16 lower-case hex digits from the system's cryptographic random source. */
export function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** The temporary name used for `base` in its directory: `.BASE.PID.RANDOM.tmp`. */
export function temporaryName(base: string, suffix: string = randomSuffix()): string {
  return `.${base}.${Deno.pid}.${suffix}.tmp`;
}

/**
 * The target name and writer's process id of a temporary file name, or null when `name` is not
 * one (also matches the 8-digit names of earlier versions).
 */
export function parseTemporaryName(name: string): { base: string; pid: number } | null {
  const m = TEMPORARY_RE.exec(name);
  return m ? { base: m[1], pid: Number(m[2]) } : null;
}

function splitPath(path: string): { dir: string; base: string } {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return { dir: ".", base: path };
  return { dir: slash === 0 ? "/" : path.slice(0, slash), base: path.slice(slash + 1) };
}

function join(dir: string, base: string): string {
  return dir === "/" ? `/${base}` : `${dir}/${base}`;
}

/** Error of a file that cannot be written (exit 1), one line naming the path. */
function cannotWrite(path: string, why: string, cause?: unknown): RtrError {
  return new RtrError(`Cannot write ${path}: ${why}`, cause ? { cause } : undefined);
}

/** Where the bytes for an output path really go. */
type Target =
  | { kind: "stream"; stream: typeof Deno.stdout | typeof Deno.stderr }
  | { kind: "special"; path: string }
  | { kind: "regular"; path: string; mode: number | null };

/** Follow symlinks at `path` to the file they name (which may not exist yet). */
async function resolveTarget(path: string): Promise<Target> {
  const std = outputStream(path);
  if (std) return { kind: "stream", stream: std };
  if (path === "" || path.endsWith("/")) throw cannotWrite(path || '""', "is a directory");
  let p = path;
  for (let i = 0; i <= MAX_LINKS; i++) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(p);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { kind: "regular", path: p, mode: null };
      throw cannotWrite(path, fileErrorText(e), e);
    }
    if (info.isSymlink) {
      const link = await Deno.readLink(p).catch((e) => {
        throw cannotWrite(path, fileErrorText(e), e);
      });
      p = link.startsWith("/") ? link : join(splitPath(p).dir, link);
      const std2 = outputStream(p);
      if (std2) return { kind: "stream", stream: std2 };
      continue;
    }
    if (info.isDirectory) throw cannotWrite(path, "is a directory");
    if (info.isFile) return { kind: "regular", path: p, mode: info.mode ?? null };
    return { kind: "special", path: p };
  }
  throw cannotWrite(path, "too many levels of symbolic links");
}

/** The directory a regular target's temporary file goes into must exist and be a directory. */
async function checkDirectory(shown: string, target: string): Promise<string> {
  const { dir } = splitPath(target);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw cannotWrite(shown, `no directory ${dir}`, e);
    throw cannotWrite(shown, fileErrorText(e), e);
  }
  if (!info.isDirectory) throw cannotWrite(shown, `${dir} is not a directory`);
  return dir;
}

/**
 * Create a new temporary file for `base` in `dir`, exclusively (never through an existing name
 * or symlink), retrying with fresh random names; `suffix` is for tests.
 */
export async function createTemporary(
  dir: string,
  base: string,
  suffix: () => string = randomSuffix,
): Promise<{ path: string; file: Deno.FsFile }> {
  for (let i = 0;; i++) {
    const path = join(dir, temporaryName(base, suffix()));
    try {
      const file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
      return { path, file };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || i + 1 >= CREATE_TRIES) throw e;
    }
  }
}

/** fsync a directory so a rename in it is durable (best effort: not every system allows it). */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const f = await Deno.open(dir, { read: true });
    try {
      await f.sync();
    } finally {
      f.close();
    }
  } catch { /* not supported here */ }
}

/**
 * Check that `path` can be written as an output, without creating it: `-` and the standard
 * streams pass, a FIFO or device passes, a directory fails, and for a regular file the directory
 * must exist and accept a new file. Throws an RtrError (exit 1) with one line; call it before
 * any network work.
 */
export async function checkOutputPath(path: string): Promise<void> {
  const t = await resolveTarget(path);
  if (t.kind !== "regular") return;
  const dir = await checkDirectory(path, t.path);
  let probe: { path: string; file: Deno.FsFile };
  try {
    probe = await createTemporary(dir, splitPath(t.path).base);
  } catch (e) {
    throw cannotWrite(path, fileErrorText(e), e);
  }
  probe.file.close();
  await Deno.remove(probe.path).catch(() => {});
}

/** Options of {@link AtomicFile.create}. */
export interface AtomicFileOptions {
  /** Add to the end of an existing file instead of replacing it (follow's `--dump`). */
  append?: boolean;
  /** Random part of the temporary name (tests only). */
  suffix?: () => string;
}

/**
 * An output file: written under a temporary name and renamed into place on `commit` (regular
 * files), or written straight through (standard streams, FIFOs, devices, `append`).
 */
export class AtomicFile {
  /** The path as given. */
  readonly path: string;
  /** The temporary file's path, or null when writing straight through. */
  readonly tmpPath: string | null;
  /** Sink for the file's text. */
  readonly sink: TextSink;
  #target: string | null;
  #file: Deno.FsFile | null;
  #w: { write(p: Uint8Array): Promise<number>; writeSync(p: Uint8Array): number };
  #done = false;

  private constructor(
    path: string,
    target: string | null,
    tmpPath: string | null,
    file: Deno.FsFile | null,
    w: { write(p: Uint8Array): Promise<number>; writeSync(p: Uint8Array): number },
  ) {
    this.path = path;
    this.#target = target;
    this.tmpPath = tmpPath;
    this.#file = file;
    this.#w = w;
    this.sink = new TextSink(w, 1 << 18);
  }

  /**
   * Open `path` for writing (see the module comment for what each kind of target gets). Fails
   * with one line naming `path` before anything is written.
   */
  static async create(path: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    const t = await resolveTarget(path);
    if (t.kind === "stream") return new AtomicFile(path, null, null, null, t.stream);
    if (t.kind === "special" || options.append) {
      if (t.kind === "regular") await checkDirectory(path, t.path);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(
          t.path,
          t.kind === "special" ? { write: true } : { append: true, create: true },
        );
      } catch (e) {
        throw cannotWrite(path, fileErrorText(e), e);
      }
      return new AtomicFile(path, null, null, file, file);
    }
    const dir = await checkDirectory(path, t.path);
    let tmp: { path: string; file: Deno.FsFile };
    try {
      tmp = await createTemporary(dir, splitPath(t.path).base, options.suffix);
    } catch (e) {
      throw cannotWrite(path, fileErrorText(e), e);
    }
    if (t.mode !== null && (t.mode & 0o777) !== 0o644) {
      // Keep the replaced file's permissions (best effort).
      await Deno.chmod(tmp.path, t.mode & 0o777).catch(() => {});
    }
    return new AtomicFile(path, t.path, tmp.path, tmp.file, tmp.file);
  }

  /** Write raw bytes (after any buffered text). */
  async writeBytes(b: Uint8Array): Promise<void> {
    await this.sink.writeBytes(b);
  }

  /** Write raw bytes synchronously, bypassing the sink's buffer (for wire taps). */
  writeSync(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) off += this.#w.writeSync(b.subarray(off));
  }

  /** Flush, fsync and rename into place (or just flush and close a straight-through file). */
  async commit(): Promise<void> {
    if (this.#done) return;
    try {
      await this.sink.flush();
      if (this.tmpPath !== null) await this.#file!.sync();
    } catch (e) {
      await this.abort();
      throw e;
    }
    this.#done = true;
    this.#close();
    if (this.tmpPath === null) return;
    try {
      await Deno.rename(this.tmpPath, this.#target!);
    } catch (e) {
      await Deno.remove(this.tmpPath).catch(() => {});
      throw cannotWrite(this.path, fileErrorText(e), e);
    }
    await syncDirectory(splitPath(this.#target!).dir);
  }

  /** Drop the temporary file (the target is untouched); a straight-through file is closed. */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (this.tmpPath === null) await this.sink.flush().catch(() => {});
    this.#close();
    if (this.tmpPath !== null) await Deno.remove(this.tmpPath).catch(() => {});
  }

  #close(): void {
    try {
      this.#file?.close();
    } catch { /* already closed */ }
  }
}

/** Write `data` to `path` atomically (see {@link AtomicFile}). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const f = await AtomicFile.create(path);
  try {
    if (typeof data === "string") await f.sink.write(data);
    else await f.writeBytes(data);
  } catch (e) {
    await f.abort();
    throw e;
  }
  await f.commit();
}
