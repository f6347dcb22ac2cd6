/** `snapshot --dump x.pcap` writes a capture that tshark decodes and `rtr replay` rebuilds. */
import { assertEquals as eq } from "../helpers/assert.ts";
import { requirePeers, runCommand, runRtr } from "../helpers/peers.ts";
import { startFakeCache } from "../helpers/fake_cache.ts";
import type { Pdu } from "../../lib/wire/mod.ts";

Deno.test("snapshot --dump x.pcap: tshark decodes every PDU and replay --table gives the same table", async () => {
  if (!requirePeers("tshark")) return;
  const response: Pdu[] = [
    { type: 3, version: 1, sessionId: 9 },
    {
      type: 4,
      version: 1,
      flags: 1,
      prefixLength: 24,
      maxLength: 24,
      addr: [0xc0000200],
      asn: 64496,
    },
    {
      type: 6,
      version: 1,
      flags: 1,
      prefixLength: 32,
      maxLength: 48,
      addr: [0x20010db8, 0, 0, 0],
      asn: 64497,
    },
    { type: 7, version: 1, sessionId: 9, serial: 3, refresh: 3600, retry: 600, expire: 7200 },
  ];
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(response);
  });
  const dir = await Deno.makeTempDir();
  try {
    const pcap = `${dir}/s.pcap`;
    const snap = await runRtr([
      "snapshot",
      `127.0.0.1:${cache.port}`,
      "--protocol",
      "1",
      "--dump",
      pcap,
      "--format",
      "csv",
    ]);
    eq(snap.code, 0, snap.stderr);
    const t = await runCommand("tshark", [
      "-r",
      pcap,
      "-d",
      `tcp.port==${cache.port},rpkirtr`,
      "-Y",
      "rpkirtr",
      "-T",
      "fields",
      "-e",
      "rpki-rtr.pdu_type",
    ], { timeoutMs: 60000 });
    eq(t.code, 0, t.stderr);
    const types = t.stdout.trim().split("\n").flatMap((l) => l.split(",")).map(Number);
    eq(types, [2, 3, 4, 6, 7]);
    const replay = await runRtr([
      "replay",
      pcap,
      "--port",
      `${cache.port}`,
      "--table",
      "--format",
      "csv",
    ]);
    eq(replay.code, 0, replay.stderr);
    eq(replay.stdout, snap.stdout);
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
