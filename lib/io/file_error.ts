/**
 * File errors in words: one short phrase for what went wrong opening, reading or writing a path,
 * without Deno's permission hints ("run again with --allow-all") or `(os error N)` tails.
 */

/** A short, single-line description of a file error (`no such file`, `is a directory`, …). */
export function fileErrorText(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.AlreadyExists) return "already exists";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  if (e instanceof Deno.errors.NotCapable) {
    return "a special file rtr does not open (use - for the standard streams)";
  }
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Error) {
    const m = e.message.split("\n")[0];
    if (/Requires .* access to|--allow-/.test(m)) return "permission denied";
    if (/Not a directory/i.test(m)) return "a component of the path is not a directory";
    if (/Read-only file system/i.test(m)) return "read-only file system";
    if (/No space left/i.test(m)) return "no space left on device";
    return m.replace(/\s*\(os error \d+\).*$/, "").replace(/\.$/, "");
  }
  return String(e);
}

/** True for the errors Deno raises when its own permissions, not the OS, refuse a path. */
export function isDenoPermissionError(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable ||
    (e instanceof Deno.errors.PermissionDenied && /Requires .* access to/.test(e.message));
}
