/**
 * The sources of `rtr monitor`: a cache followed with the RFC 8210 §6 timing by lib/follower.ts
 * (Serial Notify, Refresh, Retry, Expire), or a table file in any dialect re-read when it changes
 * (a directory watch, with a poll of its size, time and inode as a fallback). Each reports to a
 * `SourceSink`; neither judges anything.
 */
import { type Clock, sleep } from "../clock.ts";
import { follow, type FollowOptions } from "../follower.ts";
import { RtrError } from "../errors.ts";
import { readTableFile } from "../formats/read.ts";
import { emptyTable, type PayloadTable, VrpSet } from "../model/mod.ts";
import { errText } from "../transport.ts";
import type { SourceSync } from "./monitor.ts";

/** Where a source reports. Each call is awaited before the next. */
export interface SourceSink {
  connected(time: number): Promise<void> | void;
  sync(sync: SourceSync, time: number): Promise<void> | void;
  /** Cannot connect, lost the connection, or cannot read the file. */
  lost(reason: string, time: number): Promise<void> | void;
  /** Expire passed without a successful sync: the table is gone. */
  expired(time: number): Promise<void> | void;
  /** A diagnostic line (an Error Report, a warning). */
  warn(line: string, time: number): Promise<void> | void;
}

/** Follow one cache until `opts.signal` aborts. */
export async function runCacheSource(
  opts: Omit<FollowOptions, "onEvent">,
  sink: SourceSink,
): Promise<void> {
  await follow({
    ...opts,
    onEvent: async (ev) => {
      switch (ev.kind) {
        case "connected":
          await sink.connected(ev.time);
          break;
        case "commit": {
          const r = ev.result;
          await sink.sync({
            table: r.table,
            vrpDelta: r.diff.vrps,
            serial: r.serial,
            sessionId: r.sessionId,
            version: r.version,
          }, ev.time);
          break;
        }
        case "disconnected":
          await sink.lost(ev.reason, ev.time);
          break;
        case "expired":
          await sink.expired(ev.time);
          break;
        case "error":
          await sink.warn(ev.message, ev.time);
          break;
        case "warning":
        case "downgrade":
          await sink.warn(ev.message, ev.time);
          break;
      }
    },
  });
}

/** Options of a file source. */
export interface FileSourceOptions {
  signal: AbortSignal;
  clock: Clock;
  /** How often to look at the file when no change event arrives (ms). */
  pollMs: number;
}

/** What identifies one version of a file on disk. */
function stamp(i: Deno.FileInfo): string {
  return `${i.size} ${i.mtime?.getTime() ?? 0} ${i.ino ?? 0}`;
}

/** Watch one table file and report each new content until the signal aborts. */
export async function runFileSource(
  path: string,
  sink: SourceSink,
  opts: FileSourceOptions,
): Promise<void> {
  const { signal, clock } = opts;
  let last: string | null = null;
  let table: PayloadTable | null = null;
  let wake = new AbortController();
  let watcher: Deno.FsWatcher | null = null;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  try {
    watcher = Deno.watchFs(dir, { recursive: false });
    (async () => {
      try {
        for await (const _ of watcher!) wake.abort();
      } catch { /* closed */ }
    })();
  } catch { /* no watch: the poll alone */ }
  const onAbort = () => watcher?.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    while (!signal.aborted) {
      let info: Deno.FileInfo | null = null;
      let failure: string | null = null;
      try {
        info = await Deno.stat(path);
        if (!info.isFile) failure = `Cannot read ${path}: not a file`;
      } catch (e) {
        failure = e instanceof Deno.errors.NotFound
          ? `Cannot read ${path}: no such file`
          : `Cannot read ${path}: ${errText(e)}`;
      }
      if (failure === null && info && stamp(info) !== last) {
        const s = stamp(info);
        try {
          const loaded = await readTableFile(path);
          const before = table ?? emptyTable();
          const vrpDelta = VrpSet.diff(before.vrps, loaded.table.vrps);
          const changed = table === null || vrpDelta.announced.size > 0 ||
            vrpDelta.withdrawn.size > 0 ||
            JSON.stringify([before.routerKeys, before.aspas]) !==
              JSON.stringify([loaded.table.routerKeys, loaded.table.aspas]);
          const serial = loaded.metadata.serial;
          await sink.sync({
            table: loaded.table,
            vrpDelta: table === null ? undefined : vrpDelta,
            serial: typeof serial === "number" ? serial : undefined,
            changed,
          }, clock.now());
          table = loaded.table;
          last = s;
        } catch (e) {
          failure = e instanceof RtrError ? e.message : `Cannot read ${path}: ${errText(e)}`;
          last = s;
        }
      }
      if (failure !== null) {
        // A missing file is looked at again; a broken one only once it changes.
        if (info === null) last = null;
        await sink.lost(failure, clock.now());
      }
      if (wake.signal.aborted) wake = new AbortController();
      await sleep(clock, opts.pollMs, AbortSignal.any([signal, wake.signal]));
      // A rewrite comes as several events: let it finish before reading.
      if (wake.signal.aborted && !signal.aborted) await sleep(clock, 50, signal);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    try {
      watcher?.close();
    } catch { /* closed */ }
  }
}
