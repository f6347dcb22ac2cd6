/**
 * `rtr diff A B`: the net change from A to B, where each side is a serial recorded in the
 * history directory (lib/store/), a table file in any dialect `rtr` reads (lib/formats/read.ts),
 * or a cache `HOST:PORT` synced on the spot. VRPs compare by (prefix, maxLength, ASN) (RFC 6811),
 * router keys by SKI case-insensitively, ASN and key (RFC 8210 §5.10), ASPA by customer and
 * provider set (8210bis §5.12). Exit codes follow diff(1): 0 same, 1 different, 2 trouble.
 */
import { describeError, InputError, UsageError } from "../errors.ts";
import type { Command } from "./command.ts";
import { flag, parseCommandArgs, type Parsed, str } from "./args.ts";
import { CONNECT_OPTIONS, connectOptions, defaultDataDir, ENV_HELP } from "./common.ts";
import { stdoutSink, type TextSink, warn } from "./io.ts";
import {
  type Aspa,
  diffIsEmpty,
  type PayloadTable,
  type RouterKey,
  tableCounts,
  type TableDiff,
  type Vrp,
  VrpSet,
} from "../model/mod.ts";
import { readTableFile } from "../formats/read.ts";
import { writeDiff } from "../formats/write.ts";
import { syncOnce, type SyncOptions } from "../client.ts";
import { HistoryStore, partialTableWarning } from "../store/history_store.ts";
import { diffSerials, tableAtSerial } from "../store/history_diff.ts";
import { exactDiff, netDiff } from "../store/delta.ts";
import { filterDiff, filterIsEmpty, type PayloadFilter } from "../model/filter.ts";
import { FILTER_OPTIONS, parseFilter } from "./filter_options.ts";

const HELP = `Usage: rtr diff A B [options]

What changed from A to B. A and B are each:
  a serial recorded in the history directory   380
  a table file (rpki-client / rtrdump / Routinator / RTRTR / GoRTR / rtrclient JSON, CSV,
  our NDJSON, gzipped or not; - reads standard input)
  a cache to sync with now                     HOST:PORT, [IPv6]:PORT or ssh://USER@HOST[:PORT]

Between two serials the recorded deltas are composed; across a reset the full tables are
compared. An unknown serial or a gap in the history is an error naming what is missing.
A plain number is always a serial: write ./380 for a file named 380.

Options:
  --data-dir DIR     history directory written by 'rtr follow' (default: $RTR_DATA_DIR,
                     else ./data)
  --session ID       use serials of this session id (default: the most recent copy)
  --format F         ndjson (default): one announce/withdraw record per line;
                     text: + and - lines; json: one document with counts (printed
                     also when A and B agree, with zero counts)
  --asn N            only records of AS N: a VRP's origin, a router key's ASN, an
                     ASPA's customer (repeatable: any of them)
  --prefix P         only VRPs with prefix P exactly; P+ for P and every more
                     specific prefix (repeatable: any of them)
  --type T           only records of type T: vrp, routerKey or aspa (repeatable)
  --only T           compare records of type T only (same as --type): --only vrp tells
                     whether a CSV (VRPs only) and a full table agree on the VRPs
  --protocol N       highest protocol version to propose to a cache: 0, 1 or 2 (default 2)
  --timeout S        seconds to wait for a cache's connection and End of Data (default 30)
  --tls              connect to the caches with TLS
  --ca FILE          PEM CA certificate(s) to trust for --tls, beside the system store
  --cert FILE        PEM client certificate for --tls (with --key)
  --key FILE         PEM private key of --cert
  --tls-insecure     with --tls: do not verify the caches' certificates (labs only)
  --bind ADDR        connect to the caches from this local address
  --ssh-key FILE     for ssh:// caches; and --ssh-password-file, --ssh-known-hosts,
                     --ssh-host-key-fingerprint, --ssh-insecure-accept, --ssh-user as in
                     'rtr snapshot --help'
  -v, --verbose      say on stderr what was read and how the change was computed
  -h, --help         show this help

${ENV_HELP}

Exit codes: 0 same, 1 different, 2 trouble (usage, unreadable input, unknown serial, gap).
`;

/** One side of the comparison, as given and as resolved. */
type Operand =
  | { kind: "serial"; text: string; serial: number }
  | { kind: "file"; text: string; path: string }
  | { kind: "cache"; text: string };

const CACHE_RE = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/;

async function classify(text: string): Promise<Operand> {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0xffffffff) throw new UsageError(`Serial ${text} is above 4294967295`);
    return { kind: "serial", text, serial: n };
  }
  if (text === "-") return { kind: "file", text, path: "-" };
  try {
    const st = await Deno.stat(text);
    if (st.isDirectory) throw new InputError(`${text} is a directory, not a table file`);
    return { kind: "file", text, path: text };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (/^ssh:\/\//i.test(text)) return { kind: "cache", text };
  const m = CACHE_RE.exec(text);
  if (m) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new UsageError(`Port must be 1 to 65535, got ${port}`);
    return { kind: "cache", text };
  }
  throw new InputError(`No such file, serial or cache: ${text}`);
}

/** What the output says about a side. */
type Label = Record<string, string | number>;

interface Resolved {
  table: PayloadTable;
  label: Label;
  /** The input's format cannot hold router keys or ASPA (CSV, RTRlib JSON). */
  vrpsOnly?: boolean;
}

/** Dialects that carry VRPs only. */
const VRP_ONLY = new Set(["rpki-client-csv", "rtrlib-csv", "rtrlib"]);

interface Options {
  dataDir: string;
  sessionId?: number;
  /** Connection options for a cache operand `HOST:PORT`. */
  connect: (target: string) => SyncOptions;
  /** Diagnostics for -v (a no-op otherwise). */
  log: (line: string) => void;
  /** Records compared (--asn, --prefix, --type, --only). */
  filter: PayloadFilter;
}

async function openStore(o: Options, cache: { store?: HistoryStore }): Promise<HistoryStore> {
  if (!cache.store) {
    cache.store = await HistoryStore.open(o.dataDir);
    const partialFrom = cache.store.partialFrom;
    if (partialFrom !== null) warn(`rtr: warning: ${partialTableWarning(partialFrom)}`);
  }
  return cache.store;
}

async function resolveTable(
  op: Operand,
  o: Options,
  cache: { store?: HistoryStore },
): Promise<Resolved> {
  switch (op.kind) {
    case "file": {
      const t = await readTableFile(op.path);
      for (const w of t.warnings) warn(`rtr: warning: ${op.path}: ${w}`);
      o.log(`rtr: ${op.path}: ${t.dialect} table, ${describeCounts(t.table)}`);
      return { table: t.table, label: { file: op.path }, vrpsOnly: VRP_ONLY.has(t.dialect) };
    }
    case "cache": {
      const out = await syncOnce({ ...o.connect(op.text), log: o.log });
      const r = out.result;
      if (!r) throw new InputError(`Cache ${op.text} answered Cache Reset and sent no table`);
      o.log(
        `rtr: ${op.text}: session ${r.sessionId} serial ${r.serial} version ${r.version}, ${
          describeCounts(r.table)
        }`,
      );
      return {
        table: r.table,
        label: {
          source: op.text,
          session_id: r.sessionId,
          serial: r.serial,
          version: r.version,
        },
      };
    }
    case "serial": {
      const store = await openStore(o, cache);
      const { table, entry } = await tableAtSerial(store, {
        serial: op.serial,
        sessionId: o.sessionId,
      });
      o.log(`rtr: serial ${op.serial}: table rebuilt from ${store.dir}, ${describeCounts(table)}`);
      return { table, label: entryLabel(entry) };
    }
  }
}

function describeCounts(t: PayloadTable): string {
  const c = tableCounts(t);
  return `${c.vrps} VRPs, ${c.routerKeys} router keys, ${c.aspas} ASPA`;
}

function entryLabel(e: { serial: number; sessionId: number | null; path: string }): Label {
  const l: Label = { serial: e.serial };
  if (e.sessionId !== null) l.session_id = e.sessionId;
  l.file = e.path;
  return l;
}

/** Exact delta from A to B and labels for both sides. */
async function compute(
  a: Operand,
  b: Operand,
  o: Options,
): Promise<{ delta: TableDiff; from: Label; to: Label }> {
  const cache: { store?: HistoryStore } = {};
  if (a.kind === "serial" && b.kind === "serial") {
    const store = await openStore(o, cache);
    const r = await diffSerials(
      store,
      { serial: a.serial, sessionId: o.sessionId },
      { serial: b.serial, sessionId: o.sessionId },
    );
    o.log(
      r.method === "deltas"
        ? `rtr: composed the recorded deltas (${r.filesRead} files read)`
        : `rtr: a reset lies between: compared full tables (${r.filesRead} files read)`,
    );
    return { delta: r.delta, from: entryLabel(r.from), to: entryLabel(r.to) };
  }
  // Two caches are synced at the same time, so that they are compared at the same moment.
  const [ra, rb] = await Promise.all([resolveTable(a, o, cache), resolveTable(b, o, cache)]);
  // Nothing to warn about when only VRPs are compared (--only vrp, or a prefix filter).
  const onlyVrps = (o.filter.types?.length === 1 && o.filter.types[0] === "vrp") ||
    (o.filter.prefixes?.length ?? 0) > 0;
  for (const [x, y] of [[ra, rb], [rb, ra]]) {
    if (
      !onlyVrps && x.vrpsOnly && !y.vrpsOnly && (y.table.routerKeys.length || y.table.aspas.length)
    ) {
      warn(
        `rtr: warning: ${x.label.file} holds VRPs only (its format has no router keys or ASPA; --only vrp compares the VRPs alone)`,
      );
    }
  }
  return { delta: exactDiff(ra.table, rb.table), from: ra.label, to: rb.label };
}

// ---------------------------------------------------------------------------------------------
// Output

function asPlain(v: Vrp) {
  return { asn: v.asn, prefix: v.prefix, maxLength: v.maxLength };
}

function keyPlain(k: RouterKey) {
  return { asn: k.asn, ski: k.ski.toUpperCase(), pubkey: k.pubkey };
}

function aspaPlain(a: Aspa) {
  return { customer_asid: a.customer, providers: a.providers };
}

async function writeJson(sink: TextSink, d: TableDiff, from: Label, to: Label): Promise<void> {
  const side = (v: VrpSet, k: RouterKey[], a: Aspa[]) => ({
    vrps: [...v].map(asPlain),
    router_keys: k.map(keyPlain),
    aspas: a.map(aspaPlain),
  });
  const doc = {
    from,
    to,
    announce: side(d.vrps.announced, d.routerKeys.announced, d.aspas.announced),
    withdraw: side(d.vrps.withdrawn, d.routerKeys.withdrawn, d.aspas.withdrawn),
    counts: {
      announce: {
        vrps: d.vrps.announced.size,
        router_keys: d.routerKeys.announced.length,
        aspas: d.aspas.announced.length,
      },
      withdraw: {
        vrps: d.vrps.withdrawn.size,
        router_keys: d.routerKeys.withdrawn.length,
        aspas: d.aspas.withdrawn.length,
      },
    },
  };
  await sink.write(JSON.stringify(doc) + "\n");
}

function labelText(l: Label): string {
  if (l.source !== undefined) {
    return `cache ${l.source} (session ${l.session_id}, serial ${l.serial}, version ${l.version})`;
  }
  if (l.serial !== undefined) {
    return l.session_id !== undefined
      ? `serial ${l.serial} (session ${l.session_id}, ${l.file})`
      : `serial ${l.serial} (${l.file})`;
  }
  return `${l.file}`;
}

function vrpText(sign: string, v: Vrp): string {
  return `${sign} ${v.prefix} maxlen ${v.maxLength} AS${v.asn}\n`;
}

/** Human-readable `+`/`-` lines from an exact delta, sorted, a changed ASPA as `-` then `+`. */
async function writeText(sink: TextSink, d: TableDiff, from: Label, to: Label): Promise<void> {
  await sink.write(`--- ${labelText(from)}\n+++ ${labelText(to)}\n`);
  const all = d.vrps.withdrawn.apply(d.vrps.announced, new VrpSet());
  for (let i = 0; i < all.size; i++) {
    const added = d.vrps.announced.indexOfRecord(all.data, i) >= 0;
    await sink.write(vrpText(added ? "+" : "-", all.at(i)));
  }
  const keys = [
    ...d.routerKeys.withdrawn.map((k) => ["-", k] as const),
    ...d.routerKeys.announced.map((k) => ["+", k] as const),
  ].sort((x, y) =>
    x[1].asn - y[1].asn || (x[1].ski.toUpperCase() < y[1].ski.toUpperCase() ? -1 : 1)
  );
  for (const [s, k] of keys) {
    await sink.write(`${s} router-key AS${k.asn} SKI ${k.ski.toUpperCase()} key ${k.pubkey}\n`);
  }
  const aspas = [
    ...d.aspas.withdrawn.map((a) => ["-", a] as const),
    ...d.aspas.announced.map((a) => ["+", a] as const),
  ].sort((x, y) => x[1].customer - y[1].customer || (x[0] === "-" ? -1 : 1));
  for (const [s, a] of aspas) {
    const p = a.providers.length ? a.providers.map((n) => `AS${n}`).join(", ") : "(none)";
    await sink.write(`${s} aspa AS${a.customer} providers ${p}\n`);
  }
}

function parseOptions(p: Parsed): Options {
  const dataDir = str(p, "data-dir") ?? defaultDataDir();
  const s = str(p, "session");
  let sessionId: number | undefined;
  if (s !== undefined) {
    if (!/^\d+$/.test(s) || Number(s) > 65535) {
      throw new UsageError(
        `--session must be a whole number from 0 to 65535, got ${JSON.stringify(s)}`,
      );
    }
    sessionId = Number(s);
  }
  // Check --protocol, --timeout and the TLS and SSH flags now.
  connectOptions(p, p.positionals.find((t) => /^ssh:\/\//i.test(t)) ?? "localhost:8282");
  return {
    dataDir,
    sessionId,
    connect: (target) => connectOptions(p, target),
    log: flag(p, "verbose") ? warn : () => {},
    filter: parseFilter(p, ["type", "only"]),
  };
}

async function run(args: string[]): Promise<number> {
  try {
    const { host: _h, port: _p, ...connectFlags } = CONNECT_OPTIONS;
    const p = parseCommandArgs("diff", args, {
      ...connectFlags,
      "data-dir": { type: "string" },
      session: { type: "string" },
      format: { type: "string" },
      ...FILTER_OPTIONS,
      only: { type: "string", multiple: true },
    });
    const format = str(p, "format") ?? "ndjson";
    if (!["ndjson", "text", "json"].includes(format)) {
      throw new UsageError(
        `--format must be ndjson, text or json, got ${
          JSON.stringify(format)
        } (see 'rtr diff --help')`,
      );
    }
    if (p.positionals.length !== 2) {
      throw new UsageError(
        `Expected two things to compare, got ${p.positionals.length} (see 'rtr diff --help')`,
      );
    }
    const o = parseOptions(p);
    if (p.positionals[0] === "-" && p.positionals[1] === "-") {
      throw new UsageError("Only one side can be standard input (-)");
    }
    const [a, b] = await Promise.all(p.positionals.map(classify));
    const computed = await compute(a, b, o);
    const { from, to } = computed;
    const delta = filterIsEmpty(o.filter) ? computed.delta : filterDiff(o.filter, computed.delta);
    const net = netDiff(delta);
    const sink = stdoutSink();
    if (diffIsEmpty(net)) {
      // Agreement is a result too: the JSON document says so with zero counts.
      if (format === "json") {
        await writeJson(sink, net, from, to);
        await sink.flush();
      }
      return 0;
    }
    if (format === "ndjson") await writeDiff(sink, net);
    else if (format === "json") await writeJson(sink, net, from, to);
    else await writeText(sink, delta, from, to);
    await sink.flush();
    return 1;
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return 1;
    warn(`rtr: ${describeError(e)}`);
    return 2;
  }
}

/** The `diff` subcommand. */
export const command: Command = {
  name: "diff",
  summary: "what changed between two serials, files or caches",
  help: HELP,
  run,
};
