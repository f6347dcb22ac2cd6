/**
 * What a written table says about where it came from: the TableMeta every writer takes, and the
 * output format names.
 */

/** Output formats of `snapshot` (and of anything that writes a whole table). */
export type OutputFormat = "json" | "ndjson" | "csv" | "openbgpd" | "bird";

/** Every OutputFormat, in the order help text lists them. */
export const OUTPUT_FORMATS: OutputFormat[] = ["json", "ndjson", "csv", "openbgpd", "bird"];

/** Provenance of a table: the cache, the session and when it was synced. */
export interface TableMeta {
  /** Where the table came from, e.g. `rtr.rpki.cloudflare.com:8282` or a file name. */
  source?: string;
  /** RTR protocol version negotiated. */
  version?: number;
  sessionId?: number;
  serial?: number;
  /** Refresh, Retry and Expire intervals (seconds) from End of Data. */
  refresh?: number;
  retry?: number;
  expire?: number;
  /** When the table was complete (End of Data), written as `buildtime` and `generated`. */
  generated: Date;
  /** True for a full table (Reset Query); the NDJSON `sync` record says so (default true). */
  reset?: boolean;
}
