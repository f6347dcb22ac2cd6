/**
 * The names that mean the process's own standard streams: `-` (stdin where a file is read,
 * stdout where one is written) and `/dev/stdin`, `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
 * `/proc/self/fd/N` for N = 0, 1, 2. Deno refuses to open those paths without `--allow-all`, so
 * every reader and writer maps them to `Deno.stdin` / `Deno.stdout` / `Deno.stderr` first.
 */

const STREAM_RE = /^\/(?:dev\/(stdin|stdout|stderr)|dev\/fd\/([012])|proc\/self\/fd\/([012]))$/;

/** Which standard stream a path names (`-` excluded: its meaning depends on the direction). */
function streamOf(path: string): 0 | 1 | 2 | null {
  const m = STREAM_RE.exec(path);
  if (!m) return null;
  if (m[1]) return m[1] === "stdin" ? 0 : m[1] === "stdout" ? 1 : 2;
  return Number(m[2] ?? m[3]) as 0 | 1 | 2;
}

/** The standard stream to write to for output path `path` (`-` is stdout), or null. */
export function outputStream(path: string): typeof Deno.stdout | typeof Deno.stderr | null {
  if (path === "-") return Deno.stdout;
  const n = streamOf(path);
  return n === 1 ? Deno.stdout : n === 2 ? Deno.stderr : null;
}

/** True when input path `path` means standard input (`-`, `/dev/stdin`, `/dev/fd/0`, …). */
export function isStdinPath(path: string): boolean {
  return path === "-" || streamOf(path) === 0;
}
