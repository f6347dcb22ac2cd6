/**
 * Watching one file for changes. The file's directory is watched, not the file: editors and
 * atomic writers replace a file by renaming a new one over it, which a watch on the old inode
 * would never see. Bursts of events are folded into one call after a short quiet time.
 */

/** A running watch; `close` stops it. */
export interface FileWatch {
  close(): void;
}

/**
 * Call `onChange` once events on `file` have been quiet for `debounceMs`. Throws (a
 * `Deno.errors` error) when the directory cannot be watched; the caller says so and offers
 * another way to reload (SIGHUP).
 */
export async function watchFile(
  file: string,
  onChange: () => void,
  debounceMs = 150,
): Promise<FileWatch> {
  const slash = file.lastIndexOf("/");
  const dir = slash >= 0 ? file.slice(0, slash) || "/" : ".";
  const realDir = await Deno.realPath(dir);
  const target = `${realDir === "/" ? "" : realDir}/${file.slice(slash + 1)}`;
  const watcher = Deno.watchFs(realDir, { recursive: false });
  let timer: ReturnType<typeof setTimeout> | undefined;
  (async () => {
    try {
      for await (const ev of watcher) {
        if (ev.kind === "access" || !ev.paths.includes(target)) continue;
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      }
    } catch { /* watcher closed */ }
  })();
  return {
    close() {
      clearTimeout(timer);
      try {
        watcher.close();
      } catch { /* closed */ }
    },
  };
}
