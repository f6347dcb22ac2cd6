/**
 * The disagreement history of `rtr monitor --data-dir DIR`: every `disagreement`, `resolved`,
 * `stale`, `unreachable` and `recovered` record appended to `DIR/disagreements.ndjson`, one whole
 * line per write (a killed monitor leaves at most a torn last line, which the reader skips), and
 * the story `--report` tells from it: one `incident` per record that diverged (what, which
 * sources had it and which lacked it, from when to when), the source events, and a `report`
 * total.
 */
import { RtrError } from "../errors.ts";
import { AtomicFile } from "../io/mod.ts";
import { errText } from "../transport.ts";
import { recordTime } from "../formats/records.ts";

/** Name of the history file inside the data dir. */
export const INCIDENT_FILE = "disagreements.ndjson";

/** Appends monitor records to the history file (the one file writer, in append mode). */
export class IncidentLog {
  readonly #file: AtomicFile;
  private constructor(file: AtomicFile) {
    this.#file = file;
  }

  /** Open (creating) `DIR/disagreements.ndjson` for appending; creates DIR. */
  static async open(dir: string): Promise<IncidentLog> {
    try {
      await Deno.mkdir(dir, { recursive: true });
      return new IncidentLog(await AtomicFile.create(`${dir}/${INCIDENT_FILE}`, { append: true }));
    } catch (e) {
      throw new RtrError(
        `Cannot use data dir ${dir}: ${e instanceof RtrError ? e.message : errText(e)}`,
      );
    }
  }

  /** Append whole lines (each without newline), flushed together. */
  async append(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    await this.#file.sink.write(lines.map((l) => l + "\n").join(""));
    await this.#file.sink.flush();
  }

  /** Close the file. */
  async close(): Promise<void> {
    await this.#file.commit().catch(() => {});
  }
}

/** Read the history records of `dir` (torn or foreign lines skipped). */
export async function readIncidents(dir: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${INCIDENT_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new RtrError(`Cannot read ${dir}/${INCIDENT_FILE}: no such file`);
    }
    throw new RtrError(`Cannot read ${dir}/${INCIDENT_FILE}: ${errText(e)}`);
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      const r = JSON.parse(line);
      if (r && typeof r === "object" && typeof r.type === "string") out.push(r);
    } catch { /* a torn last line */ }
  }
  return out;
}

const PAYLOAD_FIELDS = [
  "record",
  "prefix",
  "maxLength",
  "asn",
  "ski",
  "pubkey",
  "customer_asid",
  "providers",
];

function payloadOf(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of PAYLOAD_FIELDS) if (r[f] !== undefined) out[f] = r[f];
  return out;
}

interface Open {
  payload: Record<string, unknown>;
  have: string[];
  lack: string[];
  since: number;
}

/** The story of [from, to] (ms) from the history records: records to print, in time order. */
export function buildReport(
  records: Record<string, unknown>[],
  from: number,
  to: number,
): Record<string, unknown>[] {
  const open = new Map<string, Open>();
  const incidents: { start: number; rec: Record<string, unknown> }[] = [];
  const events: { start: number; rec: Record<string, unknown> }[] = [];
  const sources: Record<string, { unreachable: number; stale: number; recovered: number }> = {};
  const src = (name: string) => sources[name] ??= { unreachable: 0, stale: 0, recovered: 0 };
  const byKind = { vrps: 0, routerKeys: 0, aspas: 0 };
  const count = (kind: unknown) => {
    if (kind === "vrp") byKind.vrps++;
    else if (kind === "routerKey") byKind.routerKeys++;
    else if (kind === "aspa") byKind.aspas++;
  };
  const incident = (o: Open, until: number | null) => {
    const end = until ?? to;
    if (end < from || o.since > to) return;
    count(o.payload.record);
    incidents.push({
      start: o.since,
      rec: {
        type: "incident",
        ...o.payload,
        have: o.have,
        lack: o.lack,
        since: recordTime(o.since),
        until: until === null ? null : recordTime(until),
        seconds: Math.round((end - o.since) / 1000),
        open: until === null,
      },
    });
  };
  for (const r of records) {
    const time = Date.parse(String(r.time));
    if (!Number.isFinite(time)) continue;
    if (r.type === "disagreement" || r.type === "resolved") {
      const payload = payloadOf(r);
      const key = JSON.stringify(payload);
      const since = Date.parse(String(r.since));
      if (r.type === "disagreement") {
        const o = open.get(key);
        const have = (r.have as string[]) ?? [], lack = (r.lack as string[]) ?? [];
        if (o) {
          o.have = [...new Set([...o.have, ...have])];
          o.lack = [...new Set([...o.lack, ...lack])];
        } else open.set(key, { payload, have, lack, since: Number.isFinite(since) ? since : time });
      } else {
        const o = open.get(key);
        if (o) {
          open.delete(key);
          incident(o, time);
        }
      }
    } else if (r.type === "stale" || r.type === "unreachable" || r.type === "recovered") {
      if (time < from || time > to) continue;
      const name = String(r.source);
      src(name)[r.type]++;
      events.push({ start: time, rec: r });
    }
  }
  for (const o of open.values()) incident(o, null);
  const all = [...incidents, ...events].sort((a, b) => a.start - b.start);
  return [
    ...all.map((x) => x.rec),
    {
      type: "report",
      from: recordTime(from),
      to: recordTime(to),
      incidents: incidents.length,
      open: incidents.filter((x) => x.rec.open).length,
      byKind,
      sources,
    },
  ];
}

/** One human line for a report record. */
export function reportText(r: Record<string, unknown>): string {
  const what = (x: Record<string, unknown>) =>
    x.record === "vrp"
      ? `VRP ${x.prefix} max ${x.maxLength} AS${x.asn}`
      : x.record === "routerKey"
      ? `router key AS${x.asn} SKI ${x.ski}`
      : `ASPA AS${x.customer_asid} providers ${(x.providers as number[]).join(",")}`;
  switch (r.type) {
    case "incident":
      return `${r.since}  ${what(r)}: held by ${(r.have as string[]).join(", ")}, missing from ${
        (r.lack as string[]).join(", ")
      }, ${r.open ? `still open after ${r.seconds} s` : `for ${r.seconds} s until ${r.until}`}`;
    case "stale":
      return `${r.time}  ${r.source} stale (${r.reason}) since ${r.since}`;
    case "unreachable":
      return `${r.time}  ${r.source} unreachable: ${r.reason}`;
    case "recovered":
      return `${r.time}  ${r.source} recovered from ${r.from}`;
    case "report": {
      const k = r.byKind as Record<string, number>;
      return `${r.from} to ${r.to}: ${r.incidents} records diverged (${k.vrps} VRPs, ${k.routerKeys} router keys, ${k.aspas} ASPA), ${r.open} still open`;
    }
  }
  return JSON.stringify(r);
}
