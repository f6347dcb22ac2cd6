/**
 * Where `validate` and `show` get their table (`--from SOURCE`): a table file in any dialect
 * (every dialect the readers know, gzip too; `-` is stdin), a `follow` data directory (its current table,
 * `DIR/routingtable.json`, the old client's name), or a cache `HOST[:PORT]`, synchronised once
 * first. Without `--from`: `./data` when it exists.
 */
import { syncOnce } from "../client.ts";
import { InputError, UsageError } from "../errors.ts";
import { readTableFile } from "../formats/read.ts";
import type { PayloadTable } from "../model/table.ts";
import {
  metadataPartialFrom,
  partialTableWarning,
  readTableMetadata,
  TABLE_FILE,
} from "../store/history_store.ts";
import type { OptionSpec, Parsed } from "./args.ts";
import {
  clearProgress,
  CONNECT_OPTIONS,
  connectOptions,
  DATA_DIR_DEFAULT_HELP,
  DEFAULT_DATA_DIR,
  defaultDataDir,
  sourceName,
  ttyProgress,
  verboseLog,
} from "./common.ts";
import { warn } from "./io.ts";
import { fileErrorText, isStdinPath } from "../io/mod.ts";

/** Name of the current table inside a data directory (the history store's). */
export const CURRENT_TABLE = TABLE_FILE;

export { DEFAULT_DATA_DIR };

/** Flags for a table source: `--from`, and the connection flags used when it is a cache. */
export const SOURCE_OPTIONS: OptionSpec = (() => {
  const { host: _h, port: _p, ...connect } = CONNECT_OPTIONS;
  return { from: { type: "string" }, ...connect };
})();

/** Help lines for SOURCE_OPTIONS. */
export const SOURCE_HELP =
  `  --from SOURCE     the table: a file in any dialect (rpki-client, StayRTR, rtrdump,
                    Routinator, RTRlib JSON, CSV, NDJSON; .gz too; - is stdin), a data
                    directory of 'rtr follow' (its DIR/${CURRENT_TABLE}), or a cache
                    HOST[:PORT] or ssh://USER@HOST[:PORT] to sync from first (default
                    port 8282). Default: the data
                    directory (${DATA_DIR_DEFAULT_HELP}) when it exists
  --protocol N, --timeout S, --tls, --ca FILE, --cert FILE, --key FILE, --tls-insecure,
  --bind ADDR, --ssh-key FILE and the other --ssh-… flags
                    connection options when SOURCE is a cache (see 'rtr snapshot --help')
  -v, --verbose     say on stderr where the table came from and how big it is`;

/** A loaded table and a short description of where it came from. */
export interface SourceTable {
  table: PayloadTable;
  /** The file path, or `HOST:PORT` of the cache. */
  source: string;
}

/** Does `spec` look like a file path rather than HOST[:PORT]? */
function looksLikePath(spec: string): boolean {
  if (/^ssh:\/\//i.test(spec)) return false;
  return spec.includes("/") || spec.startsWith(".") ||
    /\.(json|gz|csv|ndjson|txt)$/i.test(spec);
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new InputError(`Cannot read ${path}: ${fileErrorText(e)}`, { cause: e });
  }
}

/** Load the table named by `--from` (or the default data directory). */
export async function loadSource(p: Parsed, cmd: string): Promise<SourceTable> {
  const log = verboseLog(p);
  const from = typeof p.values.from === "string" ? p.values.from : undefined;
  let spec = from;
  if (spec === undefined) {
    const dir = defaultDataDir();
    if (!(await statOrNull(dir))?.isDirectory) {
      throw new UsageError(
        `No table to use: give --from FILE, DIR or HOST[:PORT] (${dir} does not exist; see 'rtr ${cmd} --help')`,
      );
    }
    spec = dir;
  }
  if (spec === "") throw new UsageError(`--from must not be empty (see 'rtr ${cmd} --help')`);
  const stdin = isStdinPath(spec);
  const info = stdin ? null : await statOrNull(spec);
  if (stdin || info) {
    let path = spec;
    if (info?.isDirectory) {
      path = `${spec.replace(/\/+$/, "")}/${CURRENT_TABLE}`;
      if (!(await statOrNull(path))) {
        throw new InputError(
          `Cannot read ${spec}: no ${CURRENT_TABLE} in it, expected a data directory of 'rtr follow'`,
        );
      }
    }
    const started = performance.now();
    const loaded = await readTableFile(path);
    // A table `follow --serial` wrote holds only the changes since that serial: say so once.
    // (Regular files only: a FIFO's bytes must not be read twice.)
    const regular = !stdin && (info?.isFile || info?.isDirectory);
    const partialFrom = regular ? metadataPartialFrom(await readTableMetadata(path)) : null;
    if (partialFrom !== null) warn(`rtr: warning: ${partialTableWarning(partialFrom)}`);
    for (const w of loaded.warnings.slice(0, 5)) warn(`rtr: warning: ${w}`);
    if (loaded.warnings.length > 5) {
      warn(`rtr: warning: … and ${loaded.warnings.length - 5} more repairs in ${path}`);
    }
    log(
      `loaded ${loaded.table.vrps.size} VRPs from ${
        stdin ? "stdin" : path
      } (${loaded.dialect}) in ${Math.round(performance.now() - started)} ms`,
    );
    return { table: loaded.table, source: path };
  }
  if (looksLikePath(spec)) throw new InputError(`Cannot read ${spec}: no such file`);
  const opts = connectOptions(p, spec);
  opts.log = log;
  opts.onProgress = ttyProgress();
  const source = sourceName(opts);
  log(`CONNECT ${source} (protocol ${opts.version})`);
  let outcome;
  try {
    outcome = await syncOnce(opts);
  } finally {
    clearProgress();
  }
  const r = outcome.result!;
  for (const w of r.warnings) warn(`rtr: warning: ${w}`);
  log(
    `synced ${r.table.vrps.size} VRPs at version ${r.version}, session ${r.sessionId} serial ${r.serial} in ${
      (outcome.elapsedMs / 1000).toFixed(2)
    } s`,
  );
  return { table: r.table, source };
}
