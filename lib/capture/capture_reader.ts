/**
 * Reading one capture input end to end: gunzip when it starts with the gzip magic, detect the
 * format by its first bytes (pcap in either byte order and precision, pcapng, otherwise raw RTR
 * bytes as `--dump` and the old client write them), decode frames, track RTR connections and
 * hand every PDU, malformed span and gap to a CaptureHandler. Takes a byte stream; it never
 * opens files itself.
 */
import { sniffMagic } from "../io/mod.ts";
import { decodeFrame } from "./frame.ts";
import { type CaptureHandler, DEFAULT_RTR_PORTS, FlowTable, type RtrStream } from "./flows.ts";
import type { CaptureReader, ContainerFault, Packet } from "./packet.ts";
import { PduScanner } from "./pdu_scanner.ts";
import { pcapMagic, PcapReader } from "./pcap_reader.ts";
import { isPcapng, PcapngReader } from "./pcapng_reader.ts";

/** What an input turned out to be. */
export type InputFormat = "pcap" | "pcapng" | "raw";

/** Options of readCapture. */
export interface ReadCaptureOptions {
  /** TCP ports always taken as RTR (default DEFAULT_RTR_PORTS). */
  ports?: Iterable<number>;
  /** Also find RTR on other ports by its content (default true). */
  detect?: boolean;
  /** Name of the input, for records and messages. */
  file?: string;
  /** Called after each chunk has been processed (to write out what the handler collected). */
  drain?: () => Promise<void> | void;
}

/** Summary of one input. */
export interface CaptureSummary {
  file: string;
  format: InputFormat;
  gzip: boolean;
  /** Packets read (0 for raw input). */
  packets: number;
  /** RTR connections found (1 for raw input). */
  connections: number;
  /** True when the input held RTR: a connection taken as RTR, or a raw dump with a PDU. */
  found: boolean;
  /** Bytes read after decompression. */
  bytes: number;
  /** Why reading stopped early or the file ended badly, if it did. */
  fault: ContainerFault | null;
}

/** Format of an input from its first bytes (at least 4 unless the input is shorter). */
export function detectFormat(first: Uint8Array): InputFormat {
  if (isPcapng(first)) return "pcapng";
  if (pcapMagic(first)) return "pcap";
  return "raw";
}

/** True when bytes start with the gzip magic (RFC 1952 §2.3.1). */
export function isGzip(first: Uint8Array): boolean {
  return first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
}

/** Read chunks until at least `n` bytes are there (or the stream ends); returns them joined. */
async function peek(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; done: boolean }> {
  const parts: Uint8Array[] = [];
  let have = 0;
  while (have < n) {
    const { value, done } = await reader.read();
    if (done) {
      return { head: concat(parts, have), done: true };
    }
    if (value.length === 0) continue;
    parts.push(value);
    have += value.length;
  }
  return { head: concat(parts, have), done: false };
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A stream that yields `head` and then the rest of `reader`. */
function prepend(
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: boolean,
): ReadableStream<Uint8Array> {
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        if (head.length > 0) controller.enqueue(head);
        if (done) controller.close();
        return;
      }
      const { value, done: end } = await reader.read();
      if (end) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/**
 * Read one input to its end, passing everything found to `handler`. Never throws for bad
 * content: a damaged container or gzip stream ends the input with `fault` set.
 */
export async function readCapture(
  input: ReadableStream<Uint8Array>,
  handler: CaptureHandler,
  opts: ReadCaptureOptions = {},
): Promise<CaptureSummary> {
  const file = opts.file ?? "-";
  let reader = input.getReader();
  let { head, done } = await peek(reader, 4);
  let gzip = false;
  if (isGzip(head)) {
    gzip = true;
    const unzipped = prepend(head, reader, done).pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
    reader = unzipped.getReader();
    try {
      ({ head, done } = await peek(reader, 4));
    } catch (e) {
      return {
        file,
        format: "raw",
        gzip,
        packets: 0,
        connections: 0,
        found: false,
        bytes: 0,
        fault: { offset: 0, message: `Cannot decompress gzip input: ${errText(e)}` },
      };
    }
  }
  const format = detectFormat(head);
  const summary: CaptureSummary = {
    file,
    format,
    gzip,
    packets: 0,
    connections: 0,
    found: false,
    bytes: 0,
    fault: null,
  };
  const magic = format === "raw" ? sniffMagic(head) : null;
  if (magic === "xz" || magic === "bzip2" || magic === "zstd" || magic === "zip") {
    // A compressed file read as a raw dump would only yield garbage "malformed" records.
    await reader.cancel().catch(() => {});
    summary.fault = { offset: 0, message: `${magic} is not supported; gzip is` };
    return summary;
  }
  let feed: (chunk: Uint8Array) => void;
  let finish: () => ContainerFault | null;
  if (format === "raw") {
    const stream: RtrStream = {
      connection: { id: 1, flow: null, router: null, cache: null, file },
      direction: "cache",
    };
    const scanner = new PduScanner({
      pdu: (pdu, at) => handler.pdu(stream, pdu, at, null),
      malformed: (span) => handler.malformed(stream, span, null),
    });
    let offset = 0;
    summary.connections = 1;
    feed = (chunk) => {
      scanner.push(chunk, offset);
      offset += chunk.length;
    };
    finish = () => {
      scanner.end();
      handler.connectionEnd?.(stream.connection);
      summary.found = scanner.pdus > 0;
      return null;
    };
  } else {
    const table = new FlowTable(handler, file, opts.ports ?? DEFAULT_RTR_PORTS, opts.detect);
    const wanted = table.wanted;
    const container: CaptureReader = format === "pcap" ? new PcapReader() : new PcapngReader();
    const onPacket = (p: Packet) => {
      summary.packets++;
      const seg = decodeFrame(p.linkType, p.data, wanted);
      if (seg) table.segment(seg, p.time);
    };
    feed = (chunk) => container.push(chunk, onPacket);
    finish = () => {
      const fault = container.end();
      table.finish();
      summary.connections = table.connections;
      summary.found = table.connections > 0;
      return fault;
    };
  }
  if (head.length > 0) {
    summary.bytes += head.length;
    feed(head);
    await opts.drain?.();
  }
  while (!done) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      summary.fault = {
        offset: summary.bytes,
        message: gzip
          ? `Cannot decompress gzip input: ${errText(e)}`
          : `Cannot read input: ${errText(e)}`,
      };
      try {
        await reader.cancel();
      } catch { /* already failed */ }
      break;
    }
    if (r.done) break;
    summary.bytes += r.value.length;
    feed(r.value);
    await opts.drain?.();
  }
  const fault = finish();
  summary.fault ??= fault;
  await opts.drain?.();
  return summary;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
