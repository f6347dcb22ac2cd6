/**
 * `rtr follow`: stay in sync with a cache (lib/follower.ts, RFC 8210 §6), stream every change as
 * NDJSON on stdout (flushed at each End of Data, after the history is on disk), keep the history
 * in `--data-dir` (lib/store), print the old client's stderr lines, and optionally serve
 * Prometheus metrics.
 */
import { follow, type FollowEvent } from "../follower.ts";
import { RtrError, UsageError } from "../errors.ts";
import { HistoryStore } from "../store/history_store.ts";
import { syncLine, writeDiff } from "../formats/write.ts";
import { diffCounts } from "../formats/ndjson.ts";
import { ndjsonStream } from "../formats/ndjson_stream.ts";
import {
  cacheResetLine,
  disconnectedLine,
  expiredLine,
  sessionErrorLine,
} from "../formats/records.ts";
import { filterDiff, filterIsEmpty, filterTable, type PayloadFilter } from "../model/filter.ts";
import { FILTER_OPTIONS, parseFilter } from "./filter_options.ts";
import type { TextSink } from "../io/mod.ts";
import { tableCounts } from "../model/mod.ts";
import { errorName } from "../wire/mod.ts";
import type { ResumeState } from "../session/mod.ts";
import type { WireTap } from "../transport.ts";
import { errText } from "../transport.ts";
import { flag, parseCommandArgs, type Parsed, seconds, splitHostPort, str } from "./args.ts";
import type { Command } from "./command.ts";
import {
  cacheTarget,
  CONNECT_HELP,
  CONNECT_OPTIONS,
  DATA_DIR_DEFAULT_HELP,
  defaultDataDir,
  ENV_HELP,
  LIMIT_HELP,
  LIMIT_OPTIONS,
  responseCaps,
  sourceName,
  startFromFlags,
} from "./common.ts";
import { createDumpTap } from "./dump.ts";
import { warn } from "./io.ts";
import { FollowMetrics, serveMetrics } from "./metrics.ts";

const help = `Usage: rtr follow [HOST[:PORT]] [options]

Stay in sync with an RPKI cache and stream every change as NDJSON on stdout: one record
per announced or withdrawn VRP, router key or ASPA, then one "sync" record per End of
Data. Follows RFC 8210 timing: Serial Query at Refresh, Serial Notify answered at once,
Cache Reset answered with a Reset Query, reconnect after Retry (with jitter), and the
table flushed when Expire passes without a successful sync. Stop with SIGINT or SIGTERM
(the write in progress finishes; exit 0).

Options:
${CONNECT_HELP}
  --retry S         wait S seconds after a failed connect or query (default: the
                    cache's Retry, 600 before the first sync), with ±10% jitter
  --data-dir DIR    keep the history here (default ${DATA_DIR_DEFAULT_HELP}): per-serial
                    files in the old rpki-rtr-client layout, routingtable.json,
                    state.json; a restart resumes with a Serial Query from the stored
                    session and serial
  --no-history      keep nothing on disk (stream only)
  --serial N        with --session: start from this serial with a Serial Query
  --session S       session id for --serial
  --dump FILE       append the bytes received to FILE (raw dump format; a name
                    ending in .pcap records both directions as pcap)
  --metrics A:P     serve Prometheus metrics on http://A:P/metrics
  --asn N           print only records of AS N: a VRP's origin, a router key's ASN, an
                    ASPA's customer (repeatable); the history on disk stays whole
  --prefix P        print only VRPs with prefix P exactly; P+ for P and every more
                    specific prefix (repeatable)
  --type T          print only records of type T: vrp, routerKey or aspa (repeatable)
${LIMIT_HELP}
  -h, --help        show this help

stderr carries the old client's lines (…: CONNECT host.port, …: SESSION s NEW SERIAL a->b,
…: DUMP ROUTES: session_id=s serial=n announce=A/withdraw=W), each Error Report once,
every version downgrade, when the next connection attempt is due, and any warnings.

${ENV_HELP}

Exit codes: 0 stopped by a signal; 1 the data dir cannot be used; 2 usage.
`;

/** `YYYY-MM-DD-HHMMSS` in UTC, as the old client stamped its stderr lines. */
export function oldStamp(t: number): string {
  const d = new Date(t).toISOString();
  return `${d.slice(0, 10)}-${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}`;
}

type Resume = ResumeState & { lastSuccess?: number };

/** Open the data dir and read what a restart resumes from (none when stale or foreign). */
async function openHistory(
  p: Parsed,
  source: string,
  version: number,
  startFrom: unknown,
): Promise<{ store: HistoryStore | null; resume?: Resume }> {
  if (flag(p, "no-history")) return { store: null };
  const dir = str(p, "data-dir") ?? defaultDataDir();
  let store: HistoryStore;
  try {
    store = await HistoryStore.open(dir, { create: true });
  } catch (e) {
    throw new RtrError(
      `Cannot use data dir ${dir}: ${e instanceof RtrError ? e.message : errText(e)}`,
    );
  }
  for (const n of store.notes ?? []) warn(`rtr: ${n}`);
  const st = await store.readState();
  if (!st || startFrom) return { store };
  const lastSuccess = Date.parse(st.lastSuccess);
  if (st.source !== source) {
    warn(
      `rtr: data dir holds a table from ${st.source}, not ${source}: starting with a Reset Query`,
    );
  } else if (Date.now() - lastSuccess >= st.expire * 1000) {
    warn(
      `rtr: stored table from ${st.lastSuccess} has expired (expire ${st.expire} s): starting with a Reset Query`,
    );
  } else if (st.version > version) {
    warn(
      `rtr: stored session is at version ${st.version}, above --protocol ${version}: starting with a Reset Query`,
    );
  } else {
    const table = await store.loadCurrentTable();
    if (!table) return { store };
    if (flag(p, "verbose")) {
      warn(
        `rtr: resuming session ${st.sessionId} serial ${st.serial} (version ${st.version}) from ${dir}`,
      );
    }
    return {
      store,
      resume: {
        version: st.version,
        sessionId: st.sessionId,
        serial: st.serial,
        table,
        timers: { refresh: st.refresh, retry: st.retry, expire: st.expire },
        lastSuccess,
      },
    };
  }
  return { store };
}

/** Turns follower events into records on stdout, history on disk, stderr lines and metrics. */
export class FollowPrinter {
  #connPdus = 0;
  /** The serial of `--serial`, until the first End of Data (that table is partial). */
  partialFrom?: number;
  constructor(
    readonly sink: TextSink,
    readonly store: HistoryStore | null,
    readonly metrics: FollowMetrics,
    readonly source: string,
    readonly target: { host: string; port: number },
    readonly verbose: boolean,
    /** What stdout shows (`--asn`, `--prefix`, `--type`); the history stays whole. */
    readonly filter: PayloadFilter = { asns: [], prefixes: [], types: [] },
  ) {}

  async #record(line: string): Promise<void> {
    await this.sink.write(line + "\n");
    await this.sink.flush();
  }

  async on(ev: FollowEvent): Promise<void> {
    const m = this.metrics;
    switch (ev.kind) {
      case "connected":
        m.connected = true;
        this.#connPdus = 0;
        warn(`${oldStamp(ev.time)}: CONNECT ${this.target.host}.${this.target.port}`);
        break;
      case "commit":
        await this.#commit(ev);
        break;
      case "cacheReset":
        m.cacheResets++;
        await this.#record(cacheResetLine({ source: this.source, time: ev.time }));
        if (this.verbose) warn(`rtr: cache answered Cache Reset; sending Reset Query`);
        break;
      case "notify":
        if (this.verbose) warn(`rtr: Serial Notify: session ${ev.sessionId} serial ${ev.serial}`);
        break;
      case "disconnected": {
        m.connected = false;
        m.reconnects++;
        await this.#record(
          disconnectedLine({
            source: this.source,
            reason: ev.reason,
            retryIn: ev.retryInSec,
            time: ev.time,
          }),
        );
        const due = ev.retryInSec === 0
          ? "reconnecting now"
          : `reconnecting in ${ev.retryInSec} s (at ${new Date(ev.retryAt).toISOString()})`;
        // An error already said on stderr is not said again.
        warn(ev.afterError ? `rtr: ${due}` : `rtr: ${ev.reason}; ${due}`);
        break;
      }
      case "error":
        if (ev.code !== undefined) m.errors.set(ev.code, (m.errors.get(ev.code) ?? 0) + 1);
        await this.#record(
          sessionErrorLine({
            source: this.source,
            code: ev.code,
            name: ev.code !== undefined ? errorName(ev.code) : undefined,
            message: ev.message,
            fatal: ev.fatal,
            time: ev.time,
          }),
        );
        warn(`rtr: ${ev.message}`);
        break;
      case "expired": {
        m.expiries++;
        const c = tableCounts(ev.dropped);
        if (this.store) await this.store.flush();
        await this.#record(
          expiredLine({
            source: this.source,
            lastSuccess: ev.lastSuccess,
            flushed: { vrps: c.vrps, routerKeys: c.routerKeys, aspas: c.aspas },
            time: ev.time,
          }),
        );
        m.records = { vrp_ipv4: 0, vrp_ipv6: 0, router_key: 0, aspa: 0 };
        m.serial = null;
        warn(
          `rtr: no successful sync since ${
            new Date(ev.lastSuccess).toISOString()
          }: Expire passed, table flushed`,
        );
        break;
      }
      case "downgrade":
        warn(`rtr: ${ev.message}`);
        break;
      case "warning":
        warn(`rtr: warning: ${ev.message}`);
        break;
    }
  }

  async #commit(ev: Extract<FollowEvent, { kind: "commit" }>): Promise<void> {
    const r = ev.result;
    const counts = tableCounts(r.table);
    const d = diffCounts(r.diff);
    // stdout shows the filtered records, and its sync record counts what it showed.
    const filtered = !filterIsEmpty(this.filter);
    const shown = filtered ? filterDiff(this.filter, r.diff) : r.diff;
    const shownCounts = filtered ? tableCounts(filterTable(this.filter, r.table)) : counts;
    const sd = filtered ? diffCounts(shown) : d;
    // History first: when the sync record appears, its serial is on disk (and state.json's
    // lastSuccess moves on every End of Data, so a quiet healthy session never looks expired).
    await this.store?.recordSync({
      time: new Date(ev.time),
      sessionId: r.sessionId,
      version: r.version,
      serial: r.serial,
      previousSerial: r.previousSerial,
      reset: r.reset,
      diff: r.diff,
      table: r.table,
      timers: r.timers,
      source: this.source,
      partialFrom: this.partialFrom,
    });
    this.partialFrom = undefined;
    await writeDiff(this.sink, shown);
    await this.sink.write(
      syncLine(
        {
          source: this.source,
          version: r.version,
          sessionId: r.sessionId,
          serial: r.serial,
          refresh: r.version > 0 ? r.timers.refresh : undefined,
          retry: r.version > 0 ? r.timers.retry : undefined,
          expire: r.version > 0 ? r.timers.expire : undefined,
          generated: new Date(ev.time),
          reset: r.reset,
        },
        shownCounts,
        {
          previousSerial: r.previousSerial,
          announced: sd.announced,
          withdrawn: sd.withdrawn,
          downgradedFrom: ev.downgradedFrom,
        },
      ) + "\n",
    );
    await this.sink.flush();
    if (r.previousSerial !== r.serial || r.reset) {
      warn(
        `${oldStamp(ev.time)}: SESSION ${r.sessionId} NEW SERIAL ${
          r.previousSerial ?? "none"
        }->${r.serial}`,
      );
    }
    warn(
      `${
        oldStamp(ev.time)
      }: DUMP ROUTES: session_id=${r.sessionId} serial=${r.serial} announce=${d.announced}/withdraw=${d.withdrawn}`,
    );
    const m = this.metrics;
    m.serial = r.serial;
    m.sessionId = r.sessionId;
    m.version = r.version;
    m.records = {
      vrp_ipv4: counts.vrpsIpv4,
      vrp_ipv6: counts.vrpsIpv6,
      router_key: counts.routerKeys,
      aspa: counts.aspas,
    };
    m.lastSuccess = ev.time;
    m.lastDurationMs = ev.durationMs;
    m.pdus += ev.pdus - this.#connPdus;
    this.#connPdus = ev.pdus;
    m.syncs++;
    if (r.reset) m.resets++;
  }
}

/** The tap that counts received bytes for the metrics and feeds `--dump`. */
async function metricsTap(metrics: FollowMetrics, dumpPath?: string): Promise<WireTap> {
  const dump = dumpPath ? await createDumpTap(dumpPath, true) : undefined;
  return {
    received(bytes, time) {
      metrics.bytes += bytes.length;
      dump?.received(bytes, time);
    },
    sent: dump?.sent?.bind(dump),
    connected: dump?.connected?.bind(dump),
    closed: dump?.closed?.bind(dump),
    finish: async () => await dump?.finish(),
  };
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("follow", args, {
    ...CONNECT_OPTIONS,
    retry: { type: "string" },
    "data-dir": { type: "string" },
    "no-history": { type: "boolean" },
    serial: { type: "string" },
    session: { type: "string" },
    dump: { type: "string" },
    metrics: { type: "string" },
    ...FILTER_OPTIONS,
    ...LIMIT_OPTIONS,
  });
  const filter = parseFilter(p);
  const caps = responseCaps(p);
  const opts = cacheTarget("follow", p);
  const source = sourceName(opts);
  const startFrom = startFromFlags(p);
  const retrySec = str(p, "retry") !== undefined ? seconds(p, "retry", 0) : undefined;
  const metricsAt = str(p, "metrics");
  const metricsAddr = metricsAt ? splitHostPort(metricsAt, 9847, 0) : undefined;
  if (flag(p, "no-history") && str(p, "data-dir")) {
    throw new UsageError("--no-history and --data-dir exclude each other");
  }
  const { store, resume } = await openHistory(p, source, opts.version ?? 2, startFrom);

  const ac = new AbortController();
  const stop = () => ac.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);

  const metrics = new FollowMetrics();
  if (metricsAddr) {
    try {
      const port = await serveMetrics(metricsAddr.host, metricsAddr.port, metrics, ac.signal);
      warn(`rtr: metrics on http://${metricsAddr.host}:${port}/metrics`);
    } catch (e) {
      for (const s of signals) Deno.removeSignalListener(s, stop);
      throw new RtrError(`Cannot serve metrics on ${metricsAt}: ${errText(e)}`);
    }
  }

  const tap = await metricsTap(metrics, str(p, "dump"));
  const out = ndjsonStream(Deno.stdout.writable);
  const printer = new FollowPrinter(
    out.sink,
    store,
    metrics,
    source,
    opts,
    flag(p, "verbose"),
    filter,
  );
  printer.partialFrom = startFrom?.serial;
  try {
    await follow({
      ...opts,
      ...caps,
      retrySec,
      resume,
      startFrom,
      tap,
      signal: ac.signal,
      onEvent: (ev) => printer.on(ev),
    });
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    ac.abort();
    await tap.finish();
    await out.close().catch(() => {});
  }
  return 0;
}

/** The `follow` subcommand. */
export const command: Command = {
  name: "follow",
  summary: "stay in sync with a cache, stream every change, keep a history",
  help,
  run,
};
