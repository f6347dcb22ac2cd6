/** The PDU-decoding stream: one batch per chunk, any chunk boundaries, prefixes left in place. */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import {
  batchPdus,
  type PduBatch,
  PduDecodeStream,
  walkBatch,
} from "../../lib/wire/decode_stream.ts";
import { encodePdus, type Pdu } from "../../lib/wire/mod.ts";

const pdus: Pdu[] = [
  { type: 3, version: 1, sessionId: 9 },
  { type: 4, version: 1, flags: 1, prefixLength: 24, maxLength: 24, addr: [0xc0000200], asn: 1 },
  {
    type: 6,
    version: 1,
    flags: 1,
    prefixLength: 32,
    maxLength: 48,
    addr: [0x20010db8, 0, 0, 0],
    asn: 2,
  },
  { type: 0, version: 1, sessionId: 9, serial: 4 },
  { type: 4, version: 1, flags: 0, prefixLength: 16, maxLength: 24, addr: [0x0a000000], asn: 3 },
  { type: 7, version: 1, sessionId: 9, serial: 5, refresh: 1, retry: 2, expire: 600 },
];

async function run(chunks: Uint8Array[]): Promise<PduBatch[]> {
  const s = new PduDecodeStream();
  const out: PduBatch[] = [];
  const done = s.readable.pipeTo(new WritableStream({ write: (b) => void out.push(b) }));
  const w = s.writable.getWriter();
  for (const c of chunks) await w.write(c);
  await w.close();
  await done;
  return out;
}

Deno.test("decode stream: the same PDUs in order whatever the chunk boundaries", async () => {
  const bytes = encodePdus(pdus);
  for (let a = 0; a <= bytes.length; a += 3) {
    for (let b = a; b <= bytes.length; b += 7) {
      const batches = await run([bytes.slice(0, a), bytes.slice(a, b), bytes.slice(b)]);
      eq(batches.length, 3); // one batch per chunk, also for a chunk that completes nothing
      eq(batches.flatMap(batchPdus), pdus, `split at ${a}, ${b}`);
      eq(batches.reduce((n, x) => n + x.count, 0), pdus.length);
    }
  }
});

Deno.test("decode stream: whole Prefix PDUs are offered to the fast path from the chunk's bytes", async () => {
  const [b] = await run([encodePdus(pdus)]);
  eq(b.pdus.map((p) => p.type), [3, 0, 7]); // the prefixes are not decoded
  const seen: string[] = [];
  walkBatch(b, {
    prefix: (bytes, _view, off) => {
      seen.push(`prefix ${bytes[off + 1]}@${off}`);
      return true;
    },
    pdu: (p, raw) => {
      seen.push(`pdu ${p.type} ${raw().length}`);
      return true;
    },
  });
  eq(seen, ["pdu 3 8", "prefix 4@8", "prefix 6@28", "pdu 0 12", "prefix 4@72", "pdu 7 24"]);
});

Deno.test("decode stream: a malformed PDU ends the stream after the PDUs before it", async () => {
  const good = encodePdus(pdus.slice(0, 2));
  const bad = new Uint8Array([1, 4, 0, 0, 0, 0, 0, 3]); // length 3
  const batches = await run([new Uint8Array([...good, ...bad]), encodePdus(pdus)]);
  eq(batches.length, 1);
  assertOk(batches[0].error);
  eq(batchPdus(batches[0]), pdus.slice(0, 2));
});
