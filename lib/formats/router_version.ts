/**
 * Which router release a configuration fragment is written for (`--router-version`): BIRD
 * reads ASPA tables from 2.16 on, OpenBGPD reads `aspa-set` from 8.0 on. Without a version the
 * writers assume the releases Debian 12 ships (BIRD 2.0.12, OpenBGPD 7.7), which have neither,
 * so that the default output loads everywhere.
 */
import { UsageError } from "../errors.ts";

/** A release as [major, minor]. */
export type Release = readonly [number, number];

/** The releases the output is for, per router. */
export interface RouterVersions {
  /** BIRD release to write for (`--router-version bird=2.16`); absent: BIRD 2.0, no ASPA. */
  bird?: Release;
  /** OpenBGPD release to write for (`--router-version openbgpd=8`); absent: 7.x, no ASPA. */
  openbgpd?: Release;
}

/** Options of the bird and openbgpd writers. */
export interface RouterWriteOptions {
  /** Router releases to write for; absent: the releases Debian 12 ships. */
  routers?: RouterVersions;
}

/** First BIRD release with ASPA tables. */
export const BIRD_ASPA: Release = [2, 16];
/** First OpenBGPD release with `aspa-set`. */
export const OPENBGPD_ASPA: Release = [8, 0];

/** True when `r` is `min` or later. */
export function atLeast(r: Release | undefined, min: Release): boolean {
  return r !== undefined && (r[0] > min[0] || (r[0] === min[0] && r[1] >= min[1]));
}

/**
 * Parse `--router-version` values: `bird=2.0`, `bird=2.16`, `openbgpd=7.x`, `openbgpd=8`, each
 * repeatable or several in one comma-separated value.
 */
export function parseRouterVersions(values: string[]): RouterVersions {
  const out: RouterVersions = {};
  for (const v of values.flatMap((s) => s.split(","))) {
    const m = /^(bird|openbgpd)=(\d+)(?:\.(\d+|x))?(?:\.\d+)*$/i.exec(v.trim());
    if (!m) {
      throw new UsageError(
        `--router-version must be bird=VERSION or openbgpd=VERSION (e.g. bird=2.16, openbgpd=8), got ${
          JSON.stringify(v)
        }`,
      );
    }
    const release: Release = [Number(m[2]), m[3] === undefined || m[3] === "x" ? 0 : Number(m[3])];
    out[m[1].toLowerCase() as "bird" | "openbgpd"] = release;
  }
  return out;
}
