/**
 * The real captures in ../shared/data/captures (StayRTR 0.5.1 and a probe client, v0 and v1,
 * reset then Serial Notify and a serial delta) and tcpdump's malformed one-packet capture:
 * every PDU and field agrees with tshark's own decoding, the counts, events and VRP hashes with
 * the `.expected.json` and `.client-view.json` beside each capture, and `--table` ends with
 * exactly the published VRP set the session moved to.
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import { requirePeers, requireSharedData, runCommand, SHARED } from "../helpers/peers.ts";
import {
  type CaptureHandler,
  readCapture,
  type RtrStream,
  type Timestamp,
} from "../../lib/capture/mod.ts";
import { formatPrefix, VrpSet } from "../../lib/model/mod.ts";
import type { Pdu } from "../../lib/wire/mod.ts";
import { replayCheck, replayRecords, replayTables } from "./replay_helpers.ts";

const DIR = `${SHARED}data/captures/`;
const PORT = 18283;
const CAPTURES = [
  {
    name: "stayrtr-0.5.1_vrps-2017-06-01_to_2017-06-06_reset+serial_v1_probe",
    finalSet: "authenticated-2017-06-06T05:37:16Z.vrps.json.gz",
  },
  {
    name: "stayrtr-0.5.1_vrps-2017-06-06_to_2017-06-08_reset+serial_v0_probe",
    finalSet: "authenticated-2017-06-08T05:21:08Z.vrps.json.gz",
  },
];

async function gunzip(path: string): Promise<Uint8Array> {
  const f = await Deno.open(path);
  const s = f.readable.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

interface Seen {
  direction: string;
  pdu: Pdu;
  length: number;
  time: Timestamp | null;
}

async function collect(
  bytes: Uint8Array,
): Promise<{ seen: Seen[]; gaps: number; malformed: number }> {
  const seen: Seen[] = [];
  let gaps = 0, malformed = 0;
  const h: CaptureHandler = {
    pdu: (s: RtrStream, pdu, at, time) =>
      seen.push({ direction: s.direction, pdu, length: at.length, time }),
    malformed: () => malformed++,
    gap: () => gaps++,
  };
  await readCapture(new Blob([bytes as BlobPart]).stream(), h, { ports: [PORT] });
  return { seen, gaps, malformed };
}

function vrpText(p: Pdu & { type: 4 | 6 }): string {
  return `${p.asn} ${formatPrefix(p.type === 4 ? 4 : 6, p.addr, p.prefixLength)}-${p.maxLength}`;
}

async function sha256Hex(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The `.expected.json` view of one direction, computed from our decoding. */
async function expectedView(seen: Seen[], direction: string) {
  const mine = seen.filter((s) => s.direction === direction);
  const counts: Record<string, number> = {};
  const events: Record<string, number>[] = [];
  const announced: string[] = [], withdrawn: string[] = [];
  for (const { pdu } of mine) {
    const k = `v${pdu.version} type${pdu.type}`;
    counts[k] = (counts[k] ?? 0) + 1;
    if (pdu.type === 4 || pdu.type === 6) {
      ((pdu.flags & 1) ? announced : withdrawn).push(vrpText(pdu));
      continue;
    }
    const e: Record<string, number> = { type: pdu.type, version: pdu.version };
    if ("sessionId" in pdu) e.session_id = pdu.sessionId;
    else if (pdu.type === 2) e.session_id = 0;
    if ("serial" in pdu) e.serial = pdu.serial;
    if (pdu.type === 7 && pdu.refresh !== undefined) {
      e.refresh = pdu.refresh;
      e.retry = pdu.retry!;
      e.expire = pdu.expire!;
    }
    events.push(e);
  }
  announced.sort();
  withdrawn.sort();
  return {
    bytes: mine.reduce((a, s) => a + s.length, 0),
    events,
    pdu_counts: counts,
    announced_vrps: announced.length,
    withdrawn_vrps: withdrawn.length,
    // The VRP hash: SHA-256 of the sorted "ASN prefix-maxLength" lines joined by newlines.
    announced_sha256: await sha256Hex(announced.join("\n")),
    withdrawn_sha256: await sha256Hex(withdrawn.join("\n")),
    first_vrps: announced.slice(0, 3),
    first_withdrawals: withdrawn.slice(0, 3),
  };
}

for (const cap of CAPTURES) {
  Deno.test(`${cap.name}: counts, events and VRP hashes match the .expected.json`, async () => {
    if (!requireSharedData("captures")) return;
    const bytes = await gunzip(`${DIR}${cap.name}.pcapng.gz`);
    const expected = JSON.parse(await Deno.readTextFile(`${DIR}${cap.name}.expected.json`));
    const { seen, gaps, malformed } = await collect(bytes);
    eq(gaps, 0);
    eq(malformed, 0);
    for (
      const [key, direction] of [["stream0 client->server", "router"], [
        "stream0 server->client",
        "cache",
      ]]
    ) {
      const want = expected[key];
      const got = await expectedView(seen, direction);
      eq(want.seq_gaps, 0);
      eq(want.router_keys, []);
      eq(want.aspa_pdus, 0);
      eq(got, {
        bytes: want.bytes,
        events: want.events,
        pdu_counts: want.pdu_counts,
        announced_vrps: want.announced_vrps,
        withdrawn_vrps: want.withdrawn_vrps,
        announced_sha256: want.announced_sha256,
        withdrawn_sha256: want.withdrawn_sha256,
        first_vrps: want.first_vrps,
        first_withdrawals: want.first_withdrawals,
      }, key);
    }
  });

  Deno.test(`${cap.name}: the two responses match the .client-view.json`, async () => {
    if (!requireSharedData("captures")) return;
    const view = JSON.parse(await Deno.readTextFile(`${DIR}${cap.name}.client-view.json`));
    const { seen } = await collect(await gunzip(`${DIR}${cap.name}.pcapng.gz`));
    const cache = seen.filter((s) => s.direction === "cache").map((s) => s.pdu);
    const responses: { sessionId: number; serial: number; pdus: Record<string, number> }[] = [];
    let notify: number | null = null;
    let cur: { sessionId: number; serial: number; pdus: Record<string, number> } | null = null;
    for (const p of cache) {
      if (p.type === 0) notify = p.serial;
      if (p.type === 3) cur = { sessionId: p.sessionId, serial: -1, pdus: {} };
      if (!cur) continue;
      const k = `v${p.version} type${p.type}${"flags" in p ? ` flags${p.flags & 1}` : ""}`;
      cur.pdus[k] = (cur.pdus[k] ?? 0) + 1;
      if (p.type === 7) {
        cur.serial = p.serial;
        responses.push(cur);
        cur = null;
      }
    }
    eq(responses.length, 2);
    const router = seen.filter((s) => s.direction === "router").map((s) => s.pdu);
    const sq = router.find((p) => p.type === 1) as Pdu & { type: 1 };
    eq({
      reset: {
        session_id: responses[0].sessionId,
        serial: responses[0].serial,
        pdus: responses[0].pdus,
      },
      serial_notify: { serial: notify },
      serial_query: {
        session_id: sq.sessionId,
        serial: responses[1].serial,
        pdus: responses[1].pdus,
      },
    }, view);
  });

  Deno.test(`${cap.name}: --table ends with exactly the VRP set the cache moved to`, async () => {
    if (!requireSharedData("captures") || !requireSharedData("vrps_2017_weekly")) return;
    const tables = await replayTables(await gunzip(`${DIR}${cap.name}.pcapng.gz`), {
      ports: [PORT],
    });
    eq(tables.length, 1);
    const t = tables[0];
    eq(t.notes, []);
    eq(t.commits, 2);
    eq(t.reset, false);
    eq(t.serial, 1);
    const set = JSON.parse(
      new TextDecoder().decode(await gunzip(`${SHARED}data/vrps_2017_weekly/${cap.finalSet}`)),
    );
    const want = VrpSet.from(set.roas);
    const d = VrpSet.diff(want, t.table.vrps);
    eq([d.announced.size, d.withdrawn.size], [0, 0]);
    eq(t.table.vrps.size, set.metadata.vrps);
  });

  Deno.test(`${cap.name}: --check finds nothing to flag`, async () => {
    if (!requireSharedData("captures")) return;
    eq(await replayCheck(await gunzip(`${DIR}${cap.name}.pcapng.gz`), { ports: [PORT] }), []);
  });

  Deno.test(`${cap.name}: every PDU and field agrees with tshark -T json`, async () => {
    if (!requireSharedData("captures") || !requirePeers("tshark")) return;
    const gz = `${DIR}${cap.name}.pcapng.gz`;
    const tmp = await Deno.makeTempFile({ suffix: ".pcapng" });
    try {
      await Deno.writeFile(tmp, await gunzip(gz));
      const fields = [
        "frame.time_epoch",
        "tcp.srcport",
        "rpki-rtr.version",
        "rpki-rtr.pdu_type",
        "rpki-rtr.session_id",
        "rpki-rtr.serial_number",
        "rpki-rtr.flags",
        "rpki-rtr.prefix_length",
        "rpki-rtr.max_length",
        "rpki-rtr.ipv4_prefix",
        "rpki-rtr.ipv6_prefix",
        "rpki-rtr.as_number",
        "rpki-rtr.refresh_interval",
        "rpki-rtr.retry_interval",
        "rpki-rtr.expire_interval",
      ];
      const r = await runCommand("tshark", [
        "-r",
        tmp,
        "-d",
        `tcp.port==${PORT},rpkirtr`,
        "-Y",
        "rpkirtr",
        "-T",
        "json",
        ...fields.flatMap((f) => ["-e", f]),
      ], { timeoutMs: 60000 });
      eq(r.code, 0, r.stderr);
      const frames = (JSON.parse(r.stdout) as { _source: { layers: Record<string, string[]> } }[])
        .map((f) => f._source.layers);
      // Our records, grouped into the frames that completed them (same time, same sender).
      const { records } = await replayRecords(await Deno.readFile(tmp), { ports: [PORT] });
      const ours: Record<string, string[]>[] = [];
      let lastKey = "";
      for (const rec of records) {
        eq(rec.type, "pdu");
        const m = /^(.{19})\.(\d{9})Z$/.exec(rec.time)!;
        const epoch = `${Date.parse(m[1] + "Z") / 1000}.${m[2]}`;
        const port = rec.direction === "cache"
          ? String(PORT)
          : rec.flow.split(">")[0].split(":")[1];
        const key = `${epoch} ${port}`;
        if (key !== lastKey) {
          ours.push({ "frame.time_epoch": [epoch], "tcp.srcport": [port] });
          lastKey = key;
        }
        const f = ours[ours.length - 1];
        const add = (k: string, v: string | number) => (f[k] ??= []).push(String(v));
        add("rpki-rtr.version", rec.version);
        add("rpki-rtr.pdu_type", rec.pduType);
        if (rec.sessionId !== undefined) add("rpki-rtr.session_id", rec.sessionId);
        if (rec.serial !== undefined) add("rpki-rtr.serial_number", rec.serial);
        if (rec.action) add("rpki-rtr.flags", rec.action === "announce" ? "0x01" : "0x00");
        if (rec.prefix) {
          const [addr, len] = rec.prefix.split("/");
          add("rpki-rtr.prefix_length", len);
          add("rpki-rtr.max_length", rec.maxLength);
          add(rec.pduType === 4 ? "rpki-rtr.ipv4_prefix" : "rpki-rtr.ipv6_prefix", addr);
          add("rpki-rtr.as_number", rec.asn);
        }
        if (rec.refresh !== undefined) {
          add("rpki-rtr.refresh_interval", rec.refresh);
          add("rpki-rtr.retry_interval", rec.retry);
          add("rpki-rtr.expire_interval", rec.expire);
        }
      }
      eq(ours.length, frames.length);
      for (let i = 0; i < frames.length; i++) eq(ours[i], frames[i], `frame ${i}`);
      assertOk(records.length > 40000);
    } finally {
      await Deno.remove(tmp);
    }
  });
}

Deno.test("tcpdump's malformed RPKI-RTR packet: one malformed record (version 171, as tcpdump says), then the gap of the truncated frame", async () => {
  if (!requireSharedData("captures")) return;
  const bytes = await Deno.readFile(`${DIR}tcpdump-tests_rpki-rtr-oobr.pcap`);
  const tcpdump = await Deno.readTextFile(`${DIR}tcpdump-tests_rpki-rtr-oobr.out`);
  const { records, summary } = await replayRecords(bytes);
  eq(summary.fault, null);
  eq(records.length, 2);
  const [m, g] = records;
  eq(m.type, "malformed");
  eq(m.flow, "76.19.6.127:49600>19.128.128.20:323");
  eq(m.direction, "cache");
  eq(m.time, "1975-04-27T03:20:48.999999Z");
  eq(m.errorCode, 4);
  eq(m.hex, "ab0603ab00000003e800");
  // tcpdump prints the version it found: RPKI-RTRv171.
  assertOk(tcpdump.includes("RPKI-RTRv171") && m.message.includes("version 171"));
  eq(g, { ...g, type: "gap", offset: 10, bytes: 12 });
  const check = await replayCheck(bytes);
  eq(check.map((v) => v.rule), ["malformed"]);
  const tables = await replayTables(bytes);
  eq(tables[0].commits, 0);
});
