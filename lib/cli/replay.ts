/**
 * `rtr replay FILE…`: decode what was really on the wire. Reads raw dumps, pcap and pcapng
 * (gzip or not), reassembles the RTR connections in them and prints one NDJSON record per PDU,
 * malformed span and gap; `--table` rebuilds the table a router would have ended with, `--check`
 * reports what a strict router would have flagged (lib/capture).
 */
import { InputError, UsageError } from "../errors.ts";
import {
  type CaptureHandler,
  damagedLine,
  DEFAULT_RTR_PORTS,
  gapLine,
  ProtocolChecker,
  readCapture,
  RecordCollector,
  streamFields,
  TableReplayer,
  violationLine,
} from "../capture/mod.ts";
import { OUTPUT_FORMATS, type OutputFormat, writeTable } from "../formats/write.ts";
import { parseRouterVersions, type RouterWriteOptions } from "../formats/router_version.ts";
import type { Command } from "./command.ts";
import { flag, parseCommandArgs, type Parsed } from "./args.ts";
import { fileErrorText, isStdinPath, type TextSink, warn } from "./io.ts";
import { ndjsonStream } from "../formats/ndjson_stream.ts";

const HELP = `Usage: rtr replay FILE… [options]

Decode RTR sessions from captures: raw dumps (rtr --dump, the old client's raw-data.bin),
pcap (either byte order, µs or ns) and pcapng, gzip-compressed or not ("-" reads stdin).
TCP connections are reassembled in both directions; every PDU becomes one NDJSON record on
stdout. RTR is found on any port by its first PDU (a Reset or Serial Query from the router; a
Cache Response, Cache Reset, Serial Notify or Error Report from the cache); connections on
ports ${DEFAULT_RTR_PORTS.join(", ")} and any --port are always decoded (also when the capture
starts in the middle of a session).

Options:
      --port N       always decode TCP port N as RTR (repeatable)
      --table        apply each stream as a router would and print the resulting table
      --format F     table format with --table: json (default), ndjson, csv, openbgpd, bird
      --router-version R
                     with --format bird / openbgpd: the release to write for, e.g. bird=2.16
                     or openbgpd=8 (they read ASPA); default: BIRD 2.0 / OpenBGPD 7, ASPA
                     left out with a comment
      --check        print what a strict router would flag as "violation" records; exit 1 if any
  -h, --help         show this help

Records: {"type":"pdu",…} per PDU, {"type":"malformed",…} for bytes that are not a valid PDU
(errorCode is the RFC code a router would send), {"type":"gap",…} for bytes missing from the
capture, {"type":"damaged",…} when the capture file itself is broken.

Exit codes: 0 ok (also with malformed data); 1 --check found violations, a file held no RTR
stream ("no RTR stream found" on stderr), or a file cannot be opened; 2 usage.
`;

interface Input {
  name: string;
  stream: ReadableStream<Uint8Array>;
  close: () => void;
}

async function openInput(name: string): Promise<Input> {
  if (isStdinPath(name)) return { name, stream: Deno.stdin.readable, close: () => {} };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(name, { read: true });
    const st = await file.stat();
    if (st.isDirectory) {
      file.close();
      throw new InputError(`Cannot read ${name}: is a directory`);
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`Cannot open ${name}: ${fileErrorText(e)}`);
  }
  let closed = false;
  // Large reads: a replay is I/O-light per byte, so per-chunk costs show.
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(1 << 20);
      let n: number | null;
      try {
        n = await file.read(buf);
      } catch (e) {
        controller.error(e);
        return;
      }
      if (n === null) controller.close();
      else controller.enqueue(buf.subarray(0, n));
    },
  });
  return {
    name,
    stream,
    close: () => {
      if (closed) return;
      closed = true;
      try {
        file.close();
      } catch { /* the stream closed it */ }
    },
  };
}

function ports(p: Parsed): number[] {
  const v = p.values.port;
  const list = Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
  const out = [...DEFAULT_RTR_PORTS];
  for (const s of list) {
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) {
      throw new UsageError(
        `--port must be a whole number from 1 to 65535, got ${JSON.stringify(s)}`,
      );
    }
    out.push(Number(s));
  }
  return out;
}

async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs("replay", args, {
    port: { type: "string", multiple: true },
    table: { type: "boolean" },
    check: { type: "boolean" },
    format: { type: "string" },
    "router-version": { type: "string", multiple: true },
  });
  if (p.positionals.length === 0) {
    throw new UsageError("Missing FILE (see 'rtr replay --help')");
  }
  const portList = ports(p);
  const table = flag(p, "table");
  const check = flag(p, "check");
  if (table && check) throw new UsageError("--table and --check cannot be combined");
  const format = (p.values.format ?? "json") as OutputFormat;
  if (p.values.format !== undefined && !table) {
    throw new UsageError("--format only applies with --table");
  }
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new UsageError(
      `--format must be one of ${OUTPUT_FORMATS.join(", ")}, got ${JSON.stringify(format)}`,
    );
  }
  const rv = p.values["router-version"];
  const routerOpts: RouterWriteOptions = {
    routers: parseRouterVersions(Array.isArray(rv) ? rv.map(String) : []),
  };
  if (rv !== undefined && format !== "bird" && format !== "openbgpd") {
    throw new UsageError("--router-version only applies with --format bird or openbgpd");
  }
  const files = p.positionals;
  // Open every file first: an unreadable one is a clear error before any output.
  const inputs: Input[] = [];
  try {
    for (const f of files) inputs.push(await openInput(f));
  } catch (e) {
    for (const i of inputs) i.close();
    throw e;
  }
  // The output end of the pipeline (as for snapshot and follow): records through a TextSink and
  // a TransformStream into stdout, so a slow reader holds the capture reading back.
  const out = ndjsonStream(Deno.stdout.writable);
  const sink = out.sink;
  try {
    if (table) return await replayTables(inputs, portList, sink, format, routerOpts);
    if (check) return await replayCheck(inputs, portList, sink);
    return await replayRecords(inputs, portList, sink);
  } finally {
    for (const i of inputs) i.close();
    await out.close();
  }
}

/** An input that yielded no RTR stream; `damaged` when its own error was said already. */
interface Empty {
  name: string;
  damaged: boolean;
}

/**
 * Say which inputs held no RTR at all; true when one did not (exit 1). A damaged or refused file
 * has had its one line already, so it is not called empty as well.
 */
function nothingFound(empty: Empty[], inputs: Input[]): boolean {
  if (empty.length === 0) return false;
  const silent = empty.filter((e) => !e.damaged);
  if (inputs.length === 1 && silent.length === 1) warn("rtr replay: no RTR stream found");
  else if (inputs.length > 1) {
    for (const e of silent) warn(`rtr replay: ${e.name}: no RTR stream found`);
  }
  return true;
}

async function replayRecords(inputs: Input[], portList: number[], sink: TextSink): Promise<number> {
  const rec = new RecordCollector({ withFile: inputs.length > 1 });
  const empty: Empty[] = [];
  for (const input of inputs) {
    const summary = await readCapture(input.stream, rec, {
      ports: portList,
      file: input.name,
      drain: async () => {
        if (rec.size > 0) {
          await sink.writeBytes(rec.view());
          rec.reset();
        }
      },
    });
    if (summary.fault) {
      rec.add(damagedLine(input.name, summary.format, summary.fault.offset, summary.fault.message));
      warn(
        `rtr replay: ${input.name}: ${summary.fault.message} (at offset ${summary.fault.offset})`,
      );
    }
    if (!summary.found) empty.push({ name: input.name, damaged: Boolean(summary.fault) });
    await sink.writeBytes(rec.view());
    rec.reset();
  }
  return nothingFound(empty, inputs) ? 1 : 0;
}

async function replayCheck(inputs: Input[], portList: number[], sink: TextSink): Promise<number> {
  const withFile = inputs.length > 1;
  const lines: string[] = [];
  const checker = new ProtocolChecker((v) => lines.push(violationLine(v, withFile)));
  // Gaps are printed too (they make the verdict uncertain) but are not violations.
  const handler: CaptureHandler = {
    pdu: checker.pdu.bind(checker),
    malformed: checker.malformed.bind(checker),
    gap: (stream, offset, length, time) =>
      lines.push(gapLine(streamFields(stream, time, withFile), offset, length)),
    connectionEnd: checker.connectionEnd.bind(checker),
  };
  const drain = async () => {
    if (lines.length > 0) await sink.write(lines.splice(0).join(""));
  };
  const empty: Empty[] = [];
  for (const input of inputs) {
    const summary = await readCapture(input.stream, handler, {
      ports: portList,
      file: input.name,
      drain,
    });
    if (!summary.found) empty.push({ name: input.name, damaged: Boolean(summary.fault) });
    if (summary.fault) {
      await sink.write(
        damagedLine(input.name, summary.format, summary.fault.offset, summary.fault.message),
      );
      warn(
        `rtr replay: ${input.name}: ${summary.fault.message} (at offset ${summary.fault.offset})`,
      );
    }
  }
  await drain();
  const none = nothingFound(empty, inputs);
  if (checker.count > 0) {
    warn(`rtr replay: ${checker.count} protocol violation${checker.count === 1 ? "" : "s"}`);
    return 1;
  }
  return none ? 1 : 0;
}

async function replayTables(
  inputs: Input[],
  portList: number[],
  sink: TextSink,
  format: OutputFormat,
  routerOpts: RouterWriteOptions,
): Promise<number> {
  const rep = new TableReplayer();
  const empty: Empty[] = [];
  for (const input of inputs) {
    const summary = await readCapture(input.stream, rep, { ports: portList, file: input.name });
    if (!summary.found) empty.push({ name: input.name, damaged: Boolean(summary.fault) });
    if (summary.fault) {
      warn(
        `rtr replay: ${input.name}: ${summary.fault.message} (at offset ${summary.fault.offset})`,
      );
    }
  }
  const results = rep.results();
  const none = nothingFound(empty, inputs);
  for (const r of results) {
    for (const n of r.notes) warn(`rtr replay: ${r.source}: ${n}`);
    if (r.gapBytes > 0) {
      warn(
        `rtr replay: ${r.source}: ${r.gapBytes} bytes missing from the capture; the table may be incomplete`,
      );
    }
    if (r.commits === 0) {
      warn(`rtr replay: ${r.source}: no complete response (Cache Response … End of Data)`);
      continue;
    }
    await writeTable(sink, r.table, format, {
      source: r.source,
      version: r.version ?? undefined,
      sessionId: r.sessionId ?? undefined,
      serial: r.serial ?? undefined,
      refresh: r.timers?.refresh,
      retry: r.timers?.retry,
      expire: r.timers?.expire,
      generated: r.committedAt ?? new Date(),
      reset: r.reset,
    }, routerOpts);
  }
  return none ? 1 : 0;
}

/** The `replay` subcommand. */
export const command: Command = {
  name: "replay",
  summary: "decode raw dumps, pcap and pcapng captures of RTR sessions",
  help: HELP,
  run,
};
