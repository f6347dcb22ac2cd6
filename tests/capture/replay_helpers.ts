/** Run lib/capture on bytes in memory and collect the NDJSON records as objects. */
import {
  type CaptureSummary,
  ProtocolChecker,
  readCapture,
  RecordCollector,
  type ReplayedTable,
  TableReplayer,
  violationLine,
} from "../../lib/capture/mod.ts";
import { encodePdus, type Pdu } from "../../lib/wire/mod.ts";
import type { Prng } from "../helpers/prng.ts";

/** A byte stream of `b`, cut into chunks of `chunk` bytes (or at seeded random sizes). */
export function streamOf(b: Uint8Array, chunk: number | Prng = 65536): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= b.length) {
        c.close();
        return;
      }
      const n = typeof chunk === "number" ? chunk : chunk.int(1, 4096);
      c.enqueue(b.slice(off, off + n));
      off += n;
    },
  });
}

/** Records of replaying `bytes` (default NDJSON mode). */
export async function replayRecords(
  bytes: Uint8Array,
  opts: { ports?: number[]; chunk?: number | Prng; file?: string; detect?: boolean } = {},
): Promise<{ records: any[]; summary: CaptureSummary }> {
  const rec = new RecordCollector();
  const summary = await readCapture(streamOf(bytes, opts.chunk), rec, {
    ports: opts.ports,
    detect: opts.detect,
    file: opts.file ?? "test",
  });
  const text = rec.take();
  const records = text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  return { records, summary };
}

/** Tables of replaying `bytes`. */
export async function replayTables(
  bytes: Uint8Array,
  opts: { ports?: number[] } = {},
): Promise<ReplayedTable[]> {
  const t = new TableReplayer();
  await readCapture(streamOf(bytes), t, { ports: opts.ports, file: "test" });
  return t.results();
}

/** Violation records of checking `bytes`. */
export async function replayCheck(
  bytes: Uint8Array,
  opts: { ports?: number[] } = {},
): Promise<any[]> {
  const out: any[] = [];
  const c = new ProtocolChecker((v) => out.push(JSON.parse(violationLine(v, false))));
  await readCapture(streamOf(bytes), c, { ports: opts.ports, file: "test" });
  return out;
}

/** PDUs as wire bytes. */
export function wire(...pdus: Pdu[]): Uint8Array {
  return encodePdus(pdus);
}

/** An IPv4 Prefix PDU value. */
export function v4(
  prefix: string,
  asn: number,
  opts: { maxLength?: number; withdraw?: boolean; version?: number } = {},
): Pdu {
  const [a, l] = prefix.split("/");
  const w = a.split(".").reduce((x, y) => x * 256 + Number(y), 0) >>> 0;
  const len = Number(l);
  return {
    type: 4,
    version: opts.version ?? 1,
    flags: opts.withdraw ? 0 : 1,
    prefixLength: len,
    maxLength: opts.maxLength ?? len,
    addr: [w],
    asn,
  };
}

/** A full response: Cache Response, PDUs, End of Data. */
export function response(version: number, sessionId: number, serial: number, body: Pdu[]): Pdu[] {
  return [
    { type: 3, version, sessionId },
    ...body,
    version === 0
      ? { type: 7, version, sessionId, serial }
      : { type: 7, version, sessionId, serial, refresh: 3600, retry: 600, expire: 7200 },
  ];
}
