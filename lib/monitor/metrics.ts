/**
 * What `rtr monitor --metrics` serves: Prometheus text exposition (version 0.0.4) with each
 * source's serial, session, version, records by type, last success and connected state, and per
 * ordered pair the records one holds that the other lacks, by type and by how long they have
 * differed (`visibility_seconds`: a record is counted in every bucket it has outlived); and
 * `/diff.json`, the current differences with their first-seen times.
 */
import type { Monitor } from "./monitor.ts";
import { PAYLOAD_KINDS } from "./comparison_index.ts";
import { payloadFields, recordTime } from "../formats/records.ts";

function label(v: string): string {
  return JSON.stringify(v);
}

/** The exposition text of the monitor's state at `now`. */
export function renderMonitorMetrics(m: Monitor, now: number): string {
  const out: string[] = [];
  const head = (name: string, help: string, type = "gauge") =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const src = m.sources;
  const per = (
    name: string,
    help: string,
    value: (i: number) => number | null | undefined,
  ) => {
    head(name, help);
    for (let i = 0; i < src.length; i++) {
      const v = value(i);
      if (v !== null && v !== undefined) out.push(`${name}{source=${label(src[i].name)}} ${v}`);
    }
  };
  per("rtr_monitor_serial", "Serial of the table a source holds.", (i) => src[i].serial);
  per("rtr_monitor_session_id", "Session id of a cache.", (i) => src[i].sessionId);
  per("rtr_monitor_protocol_version", "Negotiated RTR version.", (i) => src[i].version);
  head("rtr_monitor_records", "Records a source holds, by type.");
  for (const s of src) {
    if (!s.counts) continue;
    const c = s.counts;
    for (const [t, n] of [["vrp", c.vrps], ["routerKey", c.routerKeys], ["aspa", c.aspas]]) {
      out.push(`rtr_monitor_records{source=${label(s.name)},type="${t}"} ${n}`);
    }
  }
  per(
    "rtr_monitor_last_success_timestamp_seconds",
    "Unix time of a source's last successful sync or read.",
    (i) => src[i].lastSuccess === null ? null : src[i].lastSuccess! / 1000,
  );
  per(
    "rtr_monitor_connected",
    "1 while a cache is connected (a file: readable).",
    (i) => src[i].kind === "file" ? (src[i].unreachable ? 0 : 1) : (src[i].connected ? 1 : 0),
  );
  per("rtr_monitor_stale", "1 while a source is stale.", (i) => src[i].stale ? 1 : 0);
  per(
    "rtr_monitor_unreachable",
    "1 while a source is unreachable.",
    (i) => src[i].unreachable ? 1 : 0,
  );
  head(
    "rtr_monitor_diff",
    "Records source holds and lacking lacks, by type, differing at least visibility_seconds.",
  );
  const pc = m.index.pairCounts(now, m.bucketsSec);
  for (let a = 0; a < src.length; a++) {
    for (let b = 0; b < src.length; b++) {
      const c = pc[a][b];
      if (!c) continue;
      for (const k of PAYLOAD_KINDS) {
        m.bucketsSec.forEach((s, i) => {
          out.push(
            `rtr_monitor_diff{source=${label(src[a].name)},lacking=${
              label(src[b].name)
            },type="${k}",visibility_seconds="${s}"} ${c.visible[k][i]}`,
          );
        });
      }
    }
  }
  head("rtr_monitor_differences", "Records not held by every compared source.");
  out.push(`rtr_monitor_differences ${m.index.size}`);
  return out.join("\n") + "\n";
}

/** The `/diff.json` document: every current difference, oldest first. */
export function diffDocument(m: Monitor, now: number): Record<string, unknown> {
  const names = (xs: number[]) => xs.map((i) => m.sources[i].name);
  return {
    time: recordTime(now),
    sources: m.sources.map((s) => ({
      source: s.name,
      kind: s.kind,
      serial: s.serial ?? null,
      compared: s.counts !== null,
      stale: s.stale,
      unreachable: s.unreachable,
    })),
    differences: m.index.differences().map((d) => ({
      ...payloadFields(d.record),
      have: names(d.have),
      lack: names(d.lack),
      since: recordTime(d.since),
      seconds: Math.round((now - d.since) / 1000),
      disagreement: d.reported,
    })),
  };
}
