/**
 * What a payload source checks before it publishes a re-read table, so that a file caught in
 * the middle of a rewrite is never served (a half-read table would make every router withdraw
 * what is missing, RFC 8210 §6.2): the file must be settled (size and modification time equal
 * in two looks a short interval apart), and a table that drops more than a set share of the
 * records served now is refused unless the operator allowed large drops.
 */

/** Size and modification time of a file. */
export interface FileStamp {
  size: number;
  mtimeMs: number | null;
}

/** How `waitSettled` looks at the file and waits. */
export interface SettleOptions {
  /** Looks at the file. */
  stat: () => Promise<FileStamp>;
  /** Waits `ms` milliseconds. */
  sleep: (ms: number) => Promise<void>;
  /** Interval between two looks, ms; default 100. */
  intervalMs?: number;
  /** Looks before giving up on a file that keeps changing; default 20. */
  maxLooks?: number;
}

/**
 * Resolve true once two looks `intervalMs` apart see the same size and modification time;
 * false when the file still changes after `maxLooks` looks (a writer is still at work).
 */
export async function waitSettled(o: SettleOptions): Promise<boolean> {
  const interval = o.intervalMs ?? 100, looks = Math.max(2, o.maxLooks ?? 20);
  let before = await o.stat();
  for (let i = 1; i < looks; i++) {
    await o.sleep(interval);
    const now = await o.stat();
    if (now.size === before.size && now.mtimeMs === before.mtimeMs) return true;
    before = now;
  }
  return false;
}

/**
 * Why a reload from `before` to `after` records must be refused (a drop above `maxDrop`, a share
 * from 0 to 1), or null when it may be published. An empty table replacing a non-empty one is
 * a drop of the whole table.
 */
export function largeDrop(before: number, after: number, maxDrop: number): string | null {
  if (before === 0 || after >= before) return null;
  const share = (before - after) / before;
  if (share <= maxDrop) return null;
  return `${after} records would replace ${before}, a drop of ${percent(share)} (above ${
    percent(maxDrop)
  })`;
}

function percent(share: number): string {
  return `${+(share * 100).toFixed(1)} %`;
}
