/** Capture containers, link types and input detection: pcap, pcapng, raw, gzip. */
import { assertEquals as eq, assertIncludes, assertOk } from "../helpers/assert.ts";
import { Prng } from "../helpers/prng.ts";
import {
  Conversation,
  frame,
  ipPacket,
  type Link,
  linkTypeOf,
  pcapFile,
  pcapngFile,
  timed,
} from "./synth.ts";
import { replayRecords, response, v4, wire } from "./replay_helpers.ts";
import { detectFormat } from "../../lib/capture/mod.ts";

const BODY = [v4("192.0.2.0/24", 64496), v4("198.51.100.0/22", 65536, { maxLength: 24 })];
const RESPONSE = wire(...response(1, 7, 42, BODY));

/** Frames of a whole session: handshake, Reset Query, response, close. */
function session(link: Link, six: boolean, mss = 1460, port = 8282): Uint8Array[] {
  const c = six
    ? new Conversation("2001:db8::1", 51234, "2001:db8::2", port)
    : new Conversation("10.0.0.1", 51234, "10.0.0.2", port);
  const segs = [
    ...c.handshake(),
    ...c.data(true, wire({ type: 2, version: 1 })),
    ...c.data(false, RESPONSE, mss),
    ...c.close(),
  ];
  return segs.map((s) => frame(link, ipPacket(s)));
}

function summary(records: any[]): string[] {
  return records.map((r) =>
    r.type === "pdu" ? `${r.direction} ${r.name}${r.prefix ? " " + r.prefix : ""}` : r.type
  );
}

const EXPECTED = [
  "router Reset Query",
  "cache Cache Response",
  "cache IPv4 Prefix 192.0.2.0/24",
  "cache IPv4 Prefix 198.51.100.0/22",
  "cache End of Data",
];

const LINKS: Link[] = ["ethernet", "vlan", "qinq", "sll", "sll2", "null", "loop", "raw"];

Deno.test("readCapture() decodes one session from every link type, IPv4 and IPv6, pcap in both byte orders, µs and ns", async () => {
  for (const link of LINKS) {
    for (const six of [false, true]) {
      for (const bigEndian of [false, true]) {
        for (const nanos of [false, true]) {
          const file = pcapFile(linkTypeOf(link), timed(session(link, six, 7)), {
            bigEndian,
            nanos,
          });
          const { records, summary: s } = await replayRecords(file);
          const what = `${link} ipv${six ? 6 : 4} ${bigEndian ? "BE" : "LE"} ${
            nanos ? "ns" : "µs"
          }`;
          eq(s.format, "pcap", what);
          eq(s.fault, null, what);
          eq(summary(records), EXPECTED, what);
          eq(
            records[0].flow,
            six ? "[2001:db8::1]:51234>[2001:db8::2]:8282" : "10.0.0.1:51234>10.0.0.2:8282",
            what,
          );
          // Time of the packet that completed the PDU, with the capture's precision.
          assertOk(
            nanos
              ? /^2023-11-14T22:13:20\.\d{9}Z$/.test(records[0].time)
              : /^2023-11-14T22:13:20\.\d{6}Z$/.test(records[0].time),
            `${what}: ${records[0].time}`,
          );
        }
      }
    }
  }
});

Deno.test("readCapture() gives the exact capture time of the packet that completes a PDU", async () => {
  const frames = session("raw", false);
  const pkts = timed(frames);
  // The Reset Query is in the fourth packet: 3 ms after the base, plus 123 ns.
  const ns = await replayRecords(pcapFile(101, pkts, { nanos: true }));
  eq(ns.records[0].time, "2023-11-14T22:13:20.003000123Z");
  const us = await replayRecords(pcapFile(101, pkts));
  eq(us.records[0].time, "2023-11-14T22:13:20.003000Z");
});

Deno.test("readCapture() reads pcapng with several interfaces, resolutions, offsets and sections in both byte orders", async () => {
  const eth = session("ethernet", false);
  const sll2 = session("sll2", true, 5, 323);
  const raw = session("raw", false, 3, 3323);
  const file = pcapngFile([
    {
      ifaces: [
        { linkType: 1 },
        { linkType: 276, tsresol: 9 },
        { linkType: 101, tsresol: 0x80 | 20, tsoffset: 1000 },
      ],
      packets: [
        ...timed(eth, 1700000000, 0),
        ...timed(sll2, 1700000100, 1),
        ...timed(raw, 1700000200, 2),
      ],
    },
    {
      bigEndian: true,
      ifaces: [{ linkType: 113, tsresol: 3 }],
      packets: timed(session("sll", false, 11, 324), 1700000300, 0),
    },
  ]);
  eq(detectFormat(file), "pcapng");
  const { records, summary: s } = await replayRecords(file);
  eq(s.fault, null);
  eq(s.format, "pcapng");
  eq(s.connections, 4);
  const byFlow = new Map<string, any[]>();
  for (const r of records) byFlow.set(r.flow, [...(byFlow.get(r.flow) ?? []), r]);
  eq([...byFlow.keys()], [
    "10.0.0.1:51234>10.0.0.2:8282",
    "[2001:db8::1]:51234>[2001:db8::2]:323",
    "10.0.0.1:51234>10.0.0.2:3323",
    "10.0.0.1:51234>10.0.0.2:324",
  ]);
  for (const rs of byFlow.values()) eq(summary(rs), EXPECTED);
  eq(
    byFlow.get("[2001:db8::1]:51234>[2001:db8::2]:323")![0].time,
    "2023-11-14T22:15:00.003000123Z",
  );
  // 2^-20 s resolution (about 1 µs): 6 digits, within one tick of the written time.
  const t = byFlow.get("10.0.0.1:51234>10.0.0.2:3323")![0].time as string;
  assertOk(/^2023-11-14T22:16:40\.00(2999|3000)Z$/.test(t), t);
  // Millisecond resolution prints 6 digits.
  eq(byFlow.get("10.0.0.1:51234>10.0.0.2:324")![0].time, "2023-11-14T22:18:20.003000Z");
});

Deno.test("readCapture() reads pcapng Simple Packet Blocks (no time)", async () => {
  const file = pcapngFile([{
    ifaces: [{ linkType: 1 }],
    packets: timed(session("ethernet", false)),
    simple: true,
  }]);
  const { records } = await replayRecords(file);
  eq(summary(records), EXPECTED);
  eq(records[0].time, undefined);
});

Deno.test("readCapture() gives the same records whatever the chunk boundaries", async () => {
  const file = pcapngFile([{
    ifaces: [{ linkType: 1 }],
    packets: timed(session("ethernet", true, 13)),
  }]);
  const whole = await replayRecords(file, { chunk: file.length });
  for (const seed of [1, 2, 3]) {
    eq((await replayRecords(file, { chunk: new Prng(seed) })).records, whole.records);
  }
  eq((await replayRecords(file, { chunk: 1 })).records, whole.records);
  const p = pcapFile(1, timed(session("vlan", false, 3)));
  eq((await replayRecords(p, { chunk: 1 })).records, (await replayRecords(p)).records);
});

Deno.test("readCapture() takes anything that is not pcap or pcapng as raw RTR bytes, gzip or not", async () => {
  const raw = wire({ type: 0, version: 1, sessionId: 7, serial: 41 }, ...response(1, 7, 42, BODY));
  for (const input of [raw, await gzip(raw)]) {
    const { records, summary: s } = await replayRecords(input, { chunk: new Prng(9) });
    eq(s.format, "raw");
    eq(records.map((r) => `${r.direction} ${r.name}`), [
      "cache Serial Notify",
      "cache Cache Response",
      "cache IPv4 Prefix",
      "cache IPv4 Prefix",
      "cache End of Data",
    ]);
    eq(records[0].flow, undefined);
    eq(records[0].time, undefined);
    eq(records[4], {
      type: "pdu",
      direction: "cache",
      version: 1,
      pduType: 7,
      name: "End of Data",
      sessionId: 7,
      serial: 42,
      refresh: 3600,
      retry: 600,
      expire: 7200,
    });
  }
  const gz = await replayRecords(await gzip(pcapFile(1, timed(session("ethernet", false)))));
  eq(gz.summary.gzip, true);
  eq(gz.summary.format, "pcap");
  eq(summary(gz.records), EXPECTED);
  eq((await replayRecords(new Uint8Array(0))).records, []);
});

Deno.test("readCapture() finds RTR on any port by its first PDU, and on the ports it is given", async () => {
  const frames = session("ethernet", false, 1460, 9999);
  const file = pcapFile(1, timed(frames));
  const found = await replayRecords(file);
  eq(summary(found.records), EXPECTED);
  eq(found.records[0].flow, "10.0.0.1:51234>10.0.0.2:9999");
  eq(found.summary.connections, 1);
  eq(found.summary.found, true);
  eq(summary((await replayRecords(file, { ports: [9999] })).records), EXPECTED);
  // UDP and non-IP frames on the way are skipped silently.
  const udp = ipPacket({ src: "10.0.0.9", dst: "10.0.0.2", sport: 323, dport: 323, seq: 0 });
  udp[9] = 17;
  const arp = frame("ethernet", new Uint8Array(28));
  arp[12] = 0x08;
  arp[13] = 0x06;
  const mixed = pcapFile(1, timed([frame("ethernet", udp), arp, ...session("ethernet", false)]));
  eq(summary((await replayRecords(mixed)).records), EXPECTED);
});

Deno.test("readCapture() reports a damaged capture file and keeps what came before", async () => {
  const good = pcapFile(1, timed(session("ethernet", false)));
  // Truncated in the middle of the last record.
  const cut = await replayRecords(good.subarray(0, good.length - 10));
  eq(summary(cut.records), EXPECTED);
  assertIncludes(cut.summary.fault!.message, "ends inside record");
  // An absurd captured length stops the file there.
  const bad = good.slice();
  new DataView(bad.buffer).setUint32(24 + 8, 0x7fffffff, true);
  const r = await replayRecords(bad);
  eq(r.records, []);
  eq(r.summary.fault!.offset, 24);
  assertIncludes(r.summary.fault!.message, "captured length is 2147483647");
  // pcapng with a block length that is not a multiple of 4.
  const ng = pcapngFile([{
    ifaces: [{ linkType: 1 }],
    packets: timed(session("ethernet", false)),
  }]);
  const ngBad = ng.slice();
  new DataView(ngBad.buffer).setUint32(ng.length - 4, 13, true);
  const n = await replayRecords(ngBad);
  assertIncludes(n.summary.fault!.message, "trailing length is 13");
  // A gzip stream that breaks off.
  const gz = await gzip(good);
  const g = await replayRecords(gz.subarray(0, gz.length - 30));
  assertOk(g.summary.fault !== null);
});

async function gzip(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** A pcap of sessions: [router→cache bytes, cache→router bytes] on a port pair, with or without SYN. */
function flows(
  specs: {
    port: number;
    router: Uint8Array;
    cache: Uint8Array;
    syn?: boolean;
    cacheFirst?: boolean;
  }[],
): Uint8Array {
  const frames: Uint8Array[] = [];
  specs.forEach((f, i) => {
    const c = new Conversation(`10.0.1.${i + 1}`, 40000 + i, "10.0.0.2", f.port);
    const segs = [
      ...(f.syn === false ? [] : c.handshake()),
      ...(f.cacheFirst ? [] : c.data(true, f.router)),
      ...c.data(false, f.cache, 100),
      ...(f.cacheFirst ? c.data(true, f.router) : []),
      ...c.close(),
    ];
    frames.push(...segs.map((s) => frame("ethernet", ipPacket(s))));
  });
  return pcapFile(1, timed(frames));
}

const te = (s: string) => new TextEncoder().encode(s);

Deno.test("readCapture() leaves connections on other ports alone unless they open like RTR", async () => {
  const http = {
    port: 80,
    router: te("GET / HTTP/1.1\r\n\r\n"),
    cache: te("HTTP/1.1 200 OK\r\n\r\n"),
  };
  // Bytes that look like an RTR header at first glance but do not hold up.
  const badVersion = {
    port: 5000,
    router: wire({ type: 2, version: 1 }).map((b, i) => i === 0 ? 3 : b),
    cache: new Uint8Array(0),
  };
  const badLength = {
    port: 5001,
    router: new Uint8Array([1, 2, 0, 0, 0, 0, 0, 9, 0]),
    cache: new Uint8Array(0),
  };
  const badType = {
    port: 5002,
    router: new Uint8Array([1, 4, 0, 0, 0, 0, 0, 20]),
    cache: new Uint8Array(20),
  };
  // A Reset Query sent by the side that answered the SYN: not how RTR starts.
  const wrongSide = { port: 5003, router: te("hello"), cache: wire({ type: 2, version: 1 }) };
  const rtr = { port: 42820, router: wire({ type: 2, version: 1 }), cache: RESPONSE };
  const r = await replayRecords(flows([http, badVersion, badLength, badType, wrongSide, rtr]));
  eq(summary(r.records), EXPECTED);
  eq(new Set(r.records.map((x) => x.flow)), new Set(["10.0.1.6:40005>10.0.0.2:42820"]));
  eq(r.summary.connections, 1);
  const none = await replayRecords(flows([http, badVersion, badLength, badType, wrongSide]));
  eq(none.records, []);
  eq(none.summary.found, false);
  eq(none.summary.connections, 0);
  // Without detection only the given ports count.
  eq((await replayRecords(flows([rtr]), { detect: false })).records, []);
});

Deno.test("readCapture() tells the router from the cache by content when the SYN was not captured", async () => {
  // Cache on the higher port and no handshake: ports alone would get the roles wrong.
  const rtr = {
    port: 60000,
    router: wire({ type: 2, version: 2 }),
    cache: wire(...response(2, 7, 42, BODY)),
    syn: false,
  };
  const r = await replayRecords(flows([rtr]));
  eq(r.records[0].flow, "10.0.1.1:40000>10.0.0.2:60000");
  eq(r.records.map((x) => `${x.direction} ${x.name}`).slice(0, 2), [
    "router Reset Query",
    "cache Cache Response",
  ]);
  // The cache speaking first (Serial Notify), the router's query after it.
  const notify = {
    port: 60001,
    router: wire({ type: 1, version: 1, sessionId: 7, serial: 41 }),
    cache: wire({ type: 0, version: 1, sessionId: 7, serial: 42 }),
    syn: false,
    cacheFirst: true,
  };
  const n = await replayRecords(flows([notify]));
  eq(n.records.map((x) => `${x.direction} ${x.name}`), [
    "cache Serial Notify",
    "router Serial Query",
  ]);
  eq(n.records[0].flow, "10.0.1.1:40000>10.0.0.2:60001");
  // An Error Report from the cache is a first PDU too.
  const err = {
    port: 60002,
    router: te("x"),
    cache: wire({ type: 10, version: 1, errorCode: 4, pdu: new Uint8Array(0), text: "no" }),
  };
  const e = await replayRecords(flows([err]));
  eq(e.records.filter((x) => x.type === "pdu").map((x) => `${x.direction} ${x.name}`), [
    "cache Error Report",
  ]);
});
