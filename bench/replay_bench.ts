/**
 * In-process benchmarks of lib/capture on a generated 100k-VRP capture (PcapWriter, one write
 * of the whole response): reading and framing only, NDJSON records, table replay and checks.
 * `deno bench --allow-all bench/replay_bench.ts`; see bench/replay_e2e.ts for the end-to-end
 * comparison with tshark.
 */
import {
  type CaptureHandler,
  PcapWriter,
  ProtocolChecker,
  readCapture,
  RecordCollector,
  TableReplayer,
} from "../lib/capture/mod.ts";
import { encodePdus, type Pdu } from "../lib/wire/mod.ts";

function capture(n: number): Uint8Array {
  const pdus: Pdu[] = [{ type: 3, version: 1, sessionId: 1 }];
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    if (i % 5 === 4) {
      pdus.push({
        type: 6,
        version: 1,
        flags: 1,
        prefixLength: 48,
        maxLength: 48,
        addr: [0x20010db8, x & 0xffff0000, 0, 0],
        asn: 64496 + (x % 60000),
      });
    } else {
      pdus.push({
        type: 4,
        version: 1,
        flags: 1,
        prefixLength: 24,
        maxLength: 24,
        addr: [(x & 0xffffff00) >>> 0],
        asn: 64496 + (x % 60000),
      });
    }
  }
  pdus.push({
    type: 7,
    version: 1,
    sessionId: 1,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 7200,
  });
  const parts: Uint8Array[] = [];
  const w = new PcapWriter((b) => parts.push(b), { isn: [1, 2] });
  w.connected({ hostname: "10.0.0.1", port: 40000 }, { hostname: "10.0.0.2", port: 8282 }, 0);
  w.sent(encodePdus([{ type: 2, version: 1 }]), 1);
  w.received(encodePdus(pdus), 2);
  w.closed(3);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const FILE = capture(100000);

function stream(): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= FILE.length) return c.close();
      c.enqueue(FILE.subarray(off, off + (1 << 20)));
      off += 1 << 20;
    },
  });
}

const noop: CaptureHandler = { pdu() {}, malformed() {}, gap() {} };

Deno.bench("read, reassemble and frame 100k PDUs", async () => {
  await readCapture(stream(), noop);
});

Deno.bench("NDJSON records of 100k PDUs", async () => {
  const rec = new RecordCollector();
  await readCapture(stream(), rec, { drain: () => rec.reset() });
});

Deno.bench("--table of 100k PDUs", async () => {
  const t = new TableReplayer();
  await readCapture(stream(), t);
  t.results();
});

Deno.bench("--check of 100k PDUs", async () => {
  await readCapture(stream(), new ProtocolChecker(() => {}));
});
