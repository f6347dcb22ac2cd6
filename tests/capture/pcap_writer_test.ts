/** PcapWriter (`--dump FILE.pcap`): what it writes reads back, and tshark decodes it as RPKI-RTR. */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import { requirePeers, runCommand } from "../helpers/peers.ts";
import {
  MAX_SEGMENT_PAYLOAD,
  type Packet,
  PcapReader,
  PcapWriter,
  type PcapWriterOptions,
} from "../../lib/capture/mod.ts";
import { encodePdus, type Pdu } from "../../lib/wire/mod.ts";
import { replayRecords, response, v4 } from "./replay_helpers.ts";
import {
  Conversation,
  frame,
  ipPacket,
  type Link,
  linkTypeOf,
  pcapngFile,
  timed,
} from "./synth.ts";

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678) + 0.25; // a quarter of a millisecond past

function cat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A session written by PcapWriter; `big` makes the response span several segments. */
function written(opts: PcapWriterOptions & { v6?: boolean; big?: boolean } = {}) {
  const parts: Uint8Array[] = [];
  const w = new PcapWriter((b) => parts.push(b.slice()), opts);
  const body: Pdu[] = [];
  const n = opts.big ? 10000 : 2;
  for (let i = 0; i < n; i++) body.push(v4(`10.${(i >> 8) & 255}.${i & 255}.0/24`, 64496 + i));
  const resp = encodePdus(response(1, 7, 42, body));
  w.connected(
    { hostname: opts.v6 ? "2001:db8::1" : "192.0.2.1", port: 51234 },
    { hostname: opts.v6 ? "2001:db8::2" : "192.0.2.2", port: 8282 },
    T0,
  );
  w.sent(encodePdus([{ type: 2, version: 1 }]), T0 + 1);
  w.received(resp, T0 + 2);
  w.closed(T0 + 3);
  return { file: cat(parts), writer: w, pdus: n + 3, respLen: resp.length };
}

Deno.test("PcapWriter output reads back: both directions, real ports, times, IPv4 and IPv6, µs and ns, Ethernet and raw", async () => {
  for (const linkType of ["ethernet", "raw"] as const) {
    for (const nanos of [false, true]) {
      for (const v6 of [false, true]) {
        const what = `${linkType} ${nanos ? "ns" : "µs"} ipv${v6 ? 6 : 4}`;
        const { file, pdus } = written({ linkType, nanos, v6 });
        const { records, summary } = await replayRecords(file);
        eq(summary.fault, null, what);
        eq(records.length, pdus, what);
        eq(records.map((r) => r.direction), ["router", "cache", "cache", "cache", "cache"], what);
        eq(
          records[0].flow,
          v6 ? "[2001:db8::1]:51234>[2001:db8::2]:8282" : "192.0.2.1:51234>192.0.2.2:8282",
        );
        eq(
          records[0].time,
          nanos ? "2026-01-02T03:04:05.679250000Z" : "2026-01-02T03:04:05.679250Z",
          what,
        );
        eq(records[4].serial, 42);
      }
    }
  }
});

Deno.test("PcapWriter splits a large write into segments of at most 65495 bytes with running sequence numbers", async () => {
  const { file, respLen } = written({ big: true, isn: [100, 0xffffff00] });
  const sizes: number[] = [];
  const seqs: number[] = [];
  const r = new PcapReader();
  r.push(file, (p: Packet) => {
    const tcp = 14 + 20;
    const payload = p.data.length - tcp - 20;
    const v = new DataView(p.data.buffer, p.data.byteOffset);
    if (payload > 0 && v.getUint16(tcp) === 8282) {
      sizes.push(payload);
      seqs.push(v.getUint32(tcp + 4));
    }
  });
  eq(r.end(), null);
  eq(sizes.reduce((a, b) => a + b, 0), respLen);
  assertOk(sizes.every((s) => s <= MAX_SEGMENT_PAYLOAD));
  eq(sizes.length, Math.ceil(respLen / MAX_SEGMENT_PAYLOAD));
  // The cache's sequence numbers start after its SYN and wrap past 2^32.
  eq(seqs[0], 0xffffff01);
  eq(seqs[1], (0xffffff01 + MAX_SEGMENT_PAYLOAD) >>> 0);
  const { records } = await replayRecords(file);
  eq(records.length, 10000 + 3);
});

Deno.test("PcapWriter starts a new connection on each connect, and one on its own if data comes first", async () => {
  const parts: Uint8Array[] = [];
  const w = new PcapWriter((b) => parts.push(b.slice()), { linkType: "raw" });
  w.received(encodePdus([{ type: 0, version: 1, sessionId: 1, serial: 1 }]), T0);
  w.connected({ hostname: "10.0.0.1", port: 40001 }, { hostname: "10.0.0.2", port: 323 }, T0 + 1);
  w.sent(encodePdus([{ type: 2, version: 1 }]), T0 + 2);
  w.connected({ hostname: "10.0.0.1", port: 40002 }, { hostname: "10.0.0.2", port: 323 }, T0 + 3);
  w.sent(encodePdus([{ type: 2, version: 0 }]), T0 + 4);
  const { records } = await replayRecords(cat(parts));
  eq(records.map((r) => `${r.flow} ${r.direction} ${r.name}`), [
    "127.0.0.1:49152>127.0.0.1:323 cache Serial Notify",
    "10.0.0.1:40001>10.0.0.2:323 router Reset Query",
    "10.0.0.1:40002>10.0.0.2:323 router Reset Query",
  ]);
});

Deno.test("tshark decodes PcapWriter output as RPKI-RTR with valid checksums and no TCP complaints", async () => {
  if (!requirePeers("tshark")) return;
  for (const opts of [{}, { linkType: "raw" as const, nanos: true, v6: true }, { big: true }]) {
    const { file, pdus } = written(opts);
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(path, file);
      // One pass: every frame's checksum verdicts, TCP analysis flags and RPKI-RTR PDU types.
      const r = await runCommand("tshark", [
        "-r",
        path,
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-d",
        "tcp.port==8282,rpkirtr",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-e",
        "tcp.checksum.status",
        "-e",
        "ip.checksum.status",
        "-e",
        "tcp.analysis.flags",
        "-e",
        "rpki-rtr.pdu_type",
      ]);
      eq(r.code, 0, r.stderr);
      const rows = r.stdout.trim().split("\n").map((l) => l.split("|"));
      const what = JSON.stringify(opts);
      for (const [tcpSum, ipSum, flags] of rows) {
        eq(tcpSum, "1", what); // 0 bad, 1 good, 2 unverified
        if (!opts.v6) eq(ipSum, "1", what);
        eq(flags, "", what);
      }
      const types = rows.flatMap((row) => row[3] ? row[3].split(",") : []);
      eq(types.length, pdus, what);
      eq([types[0], types[1], types[types.length - 1]], ["2", "3", "7"]);
    } finally {
      await Deno.remove(path);
    }
  }
});

Deno.test("tshark and replay agree on a pcapng holding one session per link type", async () => {
  if (!requirePeers("tshark")) return;
  const resp = encodePdus(response(1, 7, 42, [v4("192.0.2.0/24", 1), v4("198.51.100.0/22", 2)]));
  const links: Link[] = [
    "ethernet",
    "vlan",
    "qinq",
    "sll",
    "sll2",
    "null",
    "loop",
    "raw",
    "ipv4",
    "ipv6",
  ];
  const packets = links.flatMap((link, i) => {
    const six = link === "ipv6" || link === "sll2" || link === "null";
    const c = six
      ? new Conversation("2001:db8::1", 50000 + i, "2001:db8::2", 8282)
      : new Conversation("10.0.0.1", 50000 + i, "10.0.0.2", 8282);
    const segs = [
      ...c.handshake(),
      ...c.data(true, encodePdus([{ type: 2, version: 1 }])),
      ...c.data(false, resp, 7),
      ...c.close(),
    ];
    return timed(
      segs.map((s) => frame(link, ipPacket(s, { ipv6Ext: link === "ipv6" }))),
      1700000000 + i,
      i,
    );
  });
  const file = pcapngFile([{ ifaces: links.map((l) => ({ linkType: linkTypeOf(l) })), packets }]);
  const path = await Deno.makeTempFile({ suffix: ".pcapng" });
  try {
    await Deno.writeFile(path, file);
    const r = await runCommand("tshark", [
      "-r",
      path,
      "-d",
      "tcp.port==8282,rpkirtr",
      "-Y",
      "rpkirtr",
      "-T",
      "fields",
      "-e",
      "tcp.srcport",
      "-e",
      "tcp.dstport",
      "-e",
      "rpki-rtr.pdu_type",
    ]);
    eq(r.code, 0, r.stderr);
    const theirs = new Map<string, string[]>();
    for (const line of r.stdout.trim().split("\n")) {
      const [sp, dp, types] = line.split("\t");
      const port = sp === "8282" ? dp : sp;
      theirs.set(port, [...(theirs.get(port) ?? []), ...types.split(",")]);
    }
    const { records } = await replayRecords(file);
    const ours = new Map<string, string[]>();
    for (const x of records) {
      const port = x.flow.split(">")[0].split(":").pop();
      ours.set(port, [...(ours.get(port) ?? []), String(x.pduType)]);
    }
    eq(ours.size, links.length);
    eq(ours, theirs);
  } finally {
    await Deno.remove(path);
  }
});
