/**
 * Hot-path benchmarks (`deno bench --allow-all bench/`): decoding 1,000,000 IPv4/IPv6 Prefix PDUs
 * from one memory buffer through PduFramer, and VrpSetBuilder.build of an 800k-VRP table. Each
 * bench prints its rate (best of its runs) when the bench process ends.
 */
import { VrpSetBuilder } from "../lib/model/vrp_set.ts";
import { encodeInto, type Pdu, PduFramer } from "../lib/wire/mod.ts";

const PDUS = 1_000_000;
const VRPS = 800_000;
const RUNS = 5;

/** mulberry32: the same pseudo-random input on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** 1,000,000 prefix PDUs, 80% IPv4 and 20% IPv6, version 2, in one buffer. */
function prefixStream(): Uint8Array {
  const rnd = prng(1);
  const v4 = Math.round(PDUS * 0.8);
  const buf = new Uint8Array(v4 * 20 + (PDUS - v4) * 32);
  const view = new DataView(buf.buffer);
  let off = 0;
  for (let i = 0; i < PDUS; i++) {
    const isV4 = i % 5 !== 4;
    const plen = isV4 ? 8 + (rnd() % 17) : 16 + (rnd() % 33);
    const words = isV4 ? 1 : 4;
    const addr = Array.from({ length: words }, (_, k) => {
      const bits = plen - 32 * k;
      const m = bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
      return (rnd() & m) >>> 0;
    });
    const pdu: Pdu = {
      type: isV4 ? 4 : 6,
      version: 2,
      flags: 1,
      prefixLength: plen,
      maxLength: Math.min(plen + (rnd() % 4), isV4 ? 32 : 128),
      addr,
      asn: rnd(),
    };
    off = encodeInto(pdu, buf, view, off);
  }
  return buf;
}

const stream = prefixStream();
const best = new Map<string, number>();

function record(name: string, ms: number): void {
  best.set(name, Math.min(best.get(name) ?? Infinity, ms));
}

function decodeAll(chunkSize: number): number {
  const framer = new PduFramer();
  let v4 = 0;
  const onPdu = (p: Pdu) => {
    if (p.type === 4) v4++;
  };
  for (let off = 0; off < stream.length; off += chunkSize) {
    framer.push(stream.subarray(off, Math.min(off + chunkSize, stream.length)), onPdu);
  }
  if (framer.pdus !== PDUS || framer.buffered !== 0) throw new Error("framing lost PDUs");
  return v4;
}

const DECODE_WHOLE = "decode 1M prefix PDUs, one chunk";
Deno.bench({
  name: DECODE_WHOLE,
  group: "decode",
  n: RUNS,
  warmup: 1,
  fn() {
    const t0 = performance.now();
    decodeAll(stream.length);
    record(DECODE_WHOLE, performance.now() - t0);
  },
});

const DECODE_64K = "decode 1M prefix PDUs, 64 KiB chunks";
Deno.bench({
  name: DECODE_64K,
  group: "decode",
  n: RUNS,
  warmup: 1,
  fn() {
    const t0 = performance.now();
    decodeAll(65536);
    record(DECODE_64K, performance.now() - t0);
  },
});

/** 800k VRP records (80% IPv4) as flat arrays, in random order. */
function vrpRecords(): { v6: Uint8Array; addr: Uint32Array; plen: Uint8Array; asn: Uint32Array } {
  const rnd = prng(2);
  const v6 = new Uint8Array(VRPS), plen = new Uint8Array(VRPS);
  const addr = new Uint32Array(VRPS * 4), asn = new Uint32Array(VRPS);
  for (let i = 0; i < VRPS; i++) {
    const isV6 = i % 5 === 4;
    v6[i] = isV6 ? 1 : 0;
    plen[i] = isV6 ? 32 : 24;
    addr[4 * i] = isV6 ? (0x20010000 | (rnd() & 0xffff)) >>> 0 : (rnd() & 0xffffff00) >>> 0;
    asn[i] = rnd() % 400000;
  }
  return { v6, addr, plen, asn };
}

const recs = vrpRecords();

/** Add the 800k records to a builder and build the set. */
function buildRandom(): number {
  const b = new VrpSetBuilder(VRPS);
  const a = [0, 0, 0, 0];
  for (let i = 0; i < VRPS; i++) {
    a[0] = recs.addr[4 * i];
    b.add(recs.v6[i] === 1, a, recs.plen[i], recs.plen[i], recs.asn[i]);
  }
  return b.build().set.size;
}

/** The same records already in set order (as a file or a sorted cache sends them). */
const sortedData = (() => {
  const b = new VrpSetBuilder(VRPS);
  const a = [0, 0, 0, 0];
  for (let i = 0; i < VRPS; i++) {
    a[0] = recs.addr[4 * i];
    b.add(recs.v6[i] === 1, a, recs.plen[i], recs.plen[i], recs.asn[i]);
  }
  return b.build().set.data;
})();

function buildSorted(): number {
  const d = sortedData, n = d.length / 6;
  const b = new VrpSetBuilder(n);
  const a = [0, 0, 0, 0];
  for (let i = 0, x = 0; i < n; i++, x += 6) {
    a[0] = d[x + 1];
    a[1] = d[x + 2];
    a[2] = d[x + 3];
    a[3] = d[x + 4];
    b.add(d[x] >>> 16 === 1, a, (d[x] >>> 8) & 255, d[x] & 255, d[x + 5]);
  }
  return b.build().set.size;
}

const BUILD_RANDOM = "VrpSetBuilder add + build, 800k VRPs in random order";
Deno.bench({
  name: BUILD_RANDOM,
  group: "build",
  n: RUNS,
  warmup: 1,
  fn() {
    const t0 = performance.now();
    buildRandom();
    record(BUILD_RANDOM, performance.now() - t0);
  },
});

const BUILD_SORTED = "VrpSetBuilder add + build, 800k VRPs already sorted";
Deno.bench({
  name: BUILD_SORTED,
  group: "build",
  n: RUNS,
  warmup: 1,
  fn() {
    const t0 = performance.now();
    buildSorted();
    record(BUILD_SORTED, performance.now() - t0);
  },
});

globalThis.addEventListener("unload", () => {
  const lines = ["", "rates (best of runs):"];
  for (
    const [name, count, unit] of [
      [DECODE_WHOLE, PDUS, "PDUs"],
      [DECODE_64K, PDUS, "PDUs"],
      [BUILD_RANDOM, VRPS, "VRPs"],
      [BUILD_SORTED, VRPS, "VRPs"],
    ] as const
  ) {
    const ms = best.get(name);
    if (ms === undefined) continue;
    lines.push(`  ${name}: ${ms.toFixed(0)} ms, ${(count / ms / 1000).toFixed(2)} M ${unit}/s`);
  }
  console.log(lines.join("\n"));
});
