/**
 * `rtr follow`: stay in sync with a cache (lib/follower.ts), stream every change as NDJSON on
 * stdout (flushed at each End of Data), keep the history in `--data-dir` (lib/store), print the
 * old client's stderr lines, and optionally serve Prometheus metrics.
 */
import { follow, type FollowEvent } from "../follower.ts";
import { RtrError, UsageError } from "../errors.ts";
import { HistoryStore } from "../store/history_store.ts";
import { syncLine, writeDiff } from "../formats/write.ts";
import { diffCounts } from "../formats/ndjson.ts";
import { tableCounts } from "../model/mod.ts";
import { errorName } from "../wire/mod.ts";
import type { ResumeState } from "../session/mod.ts";
import type { WireTap } from "../transport.ts";
import { errText } from "../transport.ts";
import { flag, parseCommandArgs, splitHostPort, str } from "./args.ts";
import type { Command } from "./command.ts";
import {
  cacheTarget,
  CONNECT_HELP,
  CONNECT_OPTIONS,
  sourceName,
  startFromFlags,
} from "./common.ts";
import { createDumpTap } from "./dump.ts";
import { stdoutSink, warn } from "./io.ts";
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
  --data-dir DIR    keep the history here (default ./data): per-serial files in the old
                    rpki-rtr-client layout, routingtable.json, state.json; a restart
                    resumes with a Serial Query from the stored session and serial
  --no-history      keep nothing on disk (stream only)
  --serial N        with --session: start from this serial with a Serial Query
  --session S       session id for --serial
  --dump FILE       append the bytes received to FILE (raw dump format; a name
                    ending in .pcap records both directions as pcap)
  --metrics A:P     serve Prometheus metrics on http://A:P/metrics
  -h, --help        show this help

stderr carries the old client's lines (…: CONNECT host.port, …: SESSION s NEW SERIAL a->b,
…: DUMP ROUTES: session_id=s serial=n announce=A/withdraw=W) and any warnings.

Exit codes: 0 stopped by a signal; 1 the data dir cannot be used; 2 usage.
`;

/** `YYYY-MM-DD-HHMMSS` in UTC, as the old client stamped its stderr lines. */
export function oldStamp(t: number): string {
  const d = new Date(t).toISOString();
  return `${d.slice(0, 10)}-${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}`;
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("follow", args, {
    ...CONNECT_OPTIONS,
    "data-dir": { type: "string" },
    "no-history": { type: "boolean" },
    serial: { type: "string" },
    session: { type: "string" },
    dump: { type: "string" },
    metrics: { type: "string" },
  });
  const opts = cacheTarget("follow", p);
  const source = sourceName(opts);
  const startFrom = startFromFlags(p);
  const metricsAt = str(p, "metrics");
  const metricsAddr = metricsAt ? splitHostPort(metricsAt, 9847, 0) : undefined;
  const verbose = flag(p, "verbose");
  const noHistory = flag(p, "no-history");
  if (noHistory && str(p, "data-dir")) {
    throw new UsageError("--no-history and --data-dir exclude each other");
  }

  let store: HistoryStore | null = null;
  let resume: (ResumeState & { lastSuccess?: number }) | undefined;
  if (!noHistory) {
    const dir = str(p, "data-dir") ?? "./data";
    try {
      store = await HistoryStore.open(dir, { create: true });
    } catch (e) {
      throw new RtrError(
        `Cannot use data dir ${dir}: ${e instanceof RtrError ? e.message : errText(e)}`,
      );
    }
    for (const n of store.notes ?? []) warn(`rtr: ${n}`);
    const st = await store.readState();
    if (st && !startFrom) {
      const lastSuccess = Date.parse(st.lastSuccess);
      const fresh = Date.now() - lastSuccess < st.expire * 1000;
      if (st.source !== source) {
        warn(
          `rtr: data dir holds a table from ${st.source}, not ${source}: starting with a Reset Query`,
        );
      } else if (!fresh) {
        warn(
          `rtr: stored table from ${st.lastSuccess} has expired (expire ${st.expire} s): starting with a Reset Query`,
        );
      } else if (st.version > (opts.version ?? 2)) {
        warn(
          `rtr: stored session is at version ${st.version}, above --protocol ${opts.version}: starting with a Reset Query`,
        );
      } else {
        const table = await store.loadCurrentTable();
        if (table) {
          resume = {
            version: st.version,
            sessionId: st.sessionId,
            serial: st.serial,
            table,
            timers: { refresh: st.refresh, retry: st.retry, expire: st.expire },
            lastSuccess,
          };
          if (verbose && resume) {
            warn(
              `rtr: resuming session ${st.sessionId} serial ${st.serial} (version ${st.version}) from ${dir}`,
            );
          }
        }
      }
    }
  }

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

  const dumpPath = str(p, "dump");
  const dump = dumpPath ? await createDumpTap(dumpPath, true) : undefined;
  const tap: WireTap = {
    received(bytes, time) {
      metrics.bytes += bytes.length;
      dump?.received(bytes, time);
    },
    sent: dump?.sent?.bind(dump),
    connected: dump?.connected?.bind(dump),
    closed: dump?.closed?.bind(dump),
    finish: async () => await dump?.finish(),
  };

  const sink = stdoutSink();
  let connPdus = 0;
  const onEvent = async (ev: FollowEvent) => {
    const time = new Date(ev.time).toISOString();
    switch (ev.kind) {
      case "connected":
        metrics.connected = true;
        connPdus = 0;
        warn(`${oldStamp(ev.time)}: CONNECT ${ev.host}.${ev.port}`);
        break;
      case "commit": {
        const r = ev.result;
        const counts = tableCounts(r.table);
        const d = diffCounts(r.diff);
        await writeDiff(sink, r.diff);
        await sink.write(
          syncLine(
            {
              source,
              version: r.version,
              sessionId: r.sessionId,
              serial: r.serial,
              refresh: r.version > 0 ? r.timers.refresh : undefined,
              retry: r.version > 0 ? r.timers.retry : undefined,
              expire: r.version > 0 ? r.timers.expire : undefined,
              generated: new Date(ev.time),
              reset: r.reset,
            },
            counts,
            { previousSerial: r.previousSerial, announced: d.announced, withdrawn: d.withdrawn },
          ) + "\n",
        );
        await sink.flush();
        // Every new serial is recorded, even one that changed nothing; a poll that found the
        // same serial again adds nothing to the history.
        if (store && (r.reset || r.previousSerial !== r.serial)) {
          await store.recordSync({
            time: new Date(ev.time),
            sessionId: r.sessionId,
            version: r.version,
            serial: r.serial,
            previousSerial: r.previousSerial,
            reset: r.reset,
            diff: r.diff,
            table: r.table,
            timers: r.timers,
            source,
          });
        }
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
        metrics.serial = r.serial;
        metrics.sessionId = r.sessionId;
        metrics.version = r.version;
        metrics.records = {
          vrp_ipv4: counts.vrpsIpv4,
          vrp_ipv6: counts.vrpsIpv6,
          router_key: counts.routerKeys,
          aspa: counts.aspas,
        };
        metrics.lastSuccess = ev.time;
        metrics.lastDurationMs = ev.durationMs;
        metrics.pdus += ev.pdus - connPdus;
        connPdus = ev.pdus;
        metrics.syncs++;
        if (r.reset) metrics.resets++;
        break;
      }
      case "cacheReset":
        metrics.cacheResets++;
        await sink.write(JSON.stringify({ type: "cacheReset", source, time }) + "\n");
        await sink.flush();
        if (verbose) warn(`rtr: cache answered Cache Reset; sending Reset Query`);
        break;
      case "notify":
        if (verbose) warn(`rtr: Serial Notify: session ${ev.sessionId} serial ${ev.serial}`);
        break;
      case "disconnected":
        metrics.connected = false;
        metrics.reconnects++;
        await sink.write(
          JSON.stringify({
            type: "disconnected",
            source,
            reason: ev.reason,
            retryIn: ev.retryInSec,
            time,
          }) + "\n",
        );
        await sink.flush();
        warn(`rtr: ${ev.reason}; reconnecting in ${ev.retryInSec} s`);
        break;
      case "error":
        if (ev.code !== undefined) {
          metrics.errors.set(ev.code, (metrics.errors.get(ev.code) ?? 0) + 1);
        }
        await sink.write(
          JSON.stringify({
            type: "error",
            source,
            code: ev.code,
            name: ev.code !== undefined ? errorName(ev.code) : undefined,
            message: ev.message,
            fatal: ev.fatal,
            time,
          }) + "\n",
        );
        await sink.flush();
        warn(`rtr: ${ev.message}`);
        break;
      case "expired": {
        metrics.expiries++;
        const c = tableCounts(ev.dropped);
        await sink.write(
          JSON.stringify({
            type: "expired",
            source,
            lastSuccess: new Date(ev.lastSuccess).toISOString(),
            flushed: { vrps: c.vrps, routerKeys: c.routerKeys, aspas: c.aspas },
            time,
          }) + "\n",
        );
        await sink.flush();
        if (store) await store.flush();
        metrics.records = { vrp_ipv4: 0, vrp_ipv6: 0, router_key: 0, aspa: 0 };
        metrics.serial = null;
        warn(
          `rtr: no successful sync since ${
            new Date(ev.lastSuccess).toISOString()
          }: Expire passed, table flushed`,
        );
        break;
      }
      case "warning":
        warn(`rtr: warning: ${ev.message}`);
        break;
    }
  };

  try {
    await follow({ ...opts, resume, startFrom, tap, signal: ac.signal, onEvent });
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    ac.abort();
    await tap.finish();
    await sink.flush().catch(() => {});
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
