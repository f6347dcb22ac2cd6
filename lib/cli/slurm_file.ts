/**
 * `--slurm FILE`: local exceptions (RFC 8416, with the ASPA entries of SLURM version 2 as
 * lib/model/slurm.ts names them) read from a file for `snapshot`, `validate` and `serve`, and
 * watched for `serve`: a changed file is read again, and a file that cannot be read or is not
 * valid SLURM is refused with one line saying why, the last good one staying in force.
 */
import { type FileWatch, watchFile } from "../io/mod.ts";
import { InputError, RtrError } from "../errors.ts";
import { applySlurm, parseSlurm, type Slurm, slurmCounts } from "../model/slurm.ts";
import type { PayloadTable } from "../model/mod.ts";
import { type Parsed, str } from "./args.ts";

/** Help line of `--slurm` for snapshot and validate. */
export const SLURM_HELP =
  `  --slurm FILE      apply the local exceptions in FILE (SLURM, RFC 8416; version 2
                    adds ASPA) to the table first: what routers behind 'rtr serve
                    --slurm FILE' would get`;

/** A SLURM file that cannot be used: `Cannot read SLURM file PATH: REASON`. */
export class SlurmFileError extends InputError {
  /** What is wrong, without the path. */
  readonly reason: string;
  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`Cannot read SLURM file ${path}: ${reason}`, options);
    this.reason = reason;
  }
}

/** Read and check a SLURM file; throws SlurmFileError with one line saying what is wrong. */
export async function readSlurmFile(path: string): Promise<Slurm> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : (e as Error).message.replace(/\s*\(os error \d+\).*$/, "");
    throw new SlurmFileError(path, why, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SlurmFileError(path, `not JSON: ${(e as Error).message}`, { cause: e });
  }
  try {
    return parseSlurm(doc);
  } catch (e) {
    if (e instanceof RtrError) throw new SlurmFileError(path, e.message, { cause: e });
    throw e;
  }
}

/** The SLURM file of `--slurm`, read and checked (undefined without the flag). */
export async function slurmFlag(p: Parsed): Promise<Slurm | undefined> {
  const path = str(p, "slurm");
  return path === undefined ? undefined : await readSlurmFile(path);
}

/** `table` with `slurm`'s exceptions applied (as it is without one). */
export function withSlurm(table: PayloadTable, slurm: Slurm | undefined): PayloadTable {
  return slurm ? applySlurm(table, slurm) : table;
}

/** Settings of a watched SLURM file. */
export interface SlurmWatchOptions {
  /** Put a (newly read, valid) SLURM in force; throws to refuse it (it is then not in force). */
  apply: (slurm: Slurm, why: string) => void;
  /** One line per load or refusal. */
  log: (line: string) => void;
}

/** A SLURM file for `serve`: read at start, again when it changes or on request. */
export class SlurmWatch {
  readonly path: string;
  readonly #o: SlurmWatchOptions;
  #current: Slurm | null = null;
  #loads = 0;
  #refusals = 0;
  #watch: FileWatch | undefined;
  #loading: Promise<boolean> | null = null;
  #again = false;

  constructor(path: string, options: SlurmWatchOptions) {
    this.path = path;
    this.#o = options;
  }

  /** The SLURM in force (null before the first good one). */
  get current(): Slurm | null {
    return this.#current;
  }

  /** Good loads and refusals so far. */
  get loads(): number {
    return this.#loads;
  }
  get refusals(): number {
    return this.#refusals;
  }

  /** Read the file and put it in force; false (after a log line) when it is refused. */
  reload(why: string): Promise<boolean> {
    if (this.#loading) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      let ok: boolean;
      do {
        this.#again = false;
        ok = await this.#loadOnce(why);
      } while (this.#again);
      this.#loading = null;
      return ok;
    })();
    return this.#loading;
  }

  async #loadOnce(why: string): Promise<boolean> {
    const keep = this.#current ? "the previous SLURM stays in force" : "no SLURM in force";
    let s: Slurm;
    try {
      s = await readSlurmFile(this.path);
      this.#o.apply(s, why);
    } catch (e) {
      this.#refusals++;
      const reason = e instanceof SlurmFileError ? e.reason : (e as Error).message;
      this.#o.log(`refused SLURM ${this.path} (${why}): ${reason}; ${keep}`);
      return false;
    }
    this.#current = s;
    this.#loads++;
    this.#o.log(`SLURM ${this.path} (${why}): version ${s.version}, ${slurmCounts(s)} in force`);
    return true;
  }

  /** Watch the file's directory (editors and atomic writers replace a file by renaming). */
  async watch(): Promise<void> {
    const file = this.path;
    try {
      this.#watch = await watchFile(file, () => this.reload("file changed"));
    } catch (e) {
      this.#o.log(`cannot watch SLURM ${file}: ${(e as Error).message}; reload with SIGHUP`);
    }
  }

  /** Stop watching and wait for a load under way. */
  async close(): Promise<void> {
    this.#watch?.close();
    if (this.#loading) await this.#loading;
  }
}
