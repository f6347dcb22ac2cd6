/** `snapshot --dump x.pcap` writes a capture that tshark decodes and `rtr replay` rebuilds. */
import { assertEquals as eq } from "../helpers/assert.ts";
import { requirePeers, runCommand, runRtr } from "../helpers/peers.ts";
import { response, samplePrefixes, startFakeCache } from "../helpers/fake_cache.ts";

Deno.test("snapshot --dump x.pcap: tshark decodes every PDU and replay --table gives the same table", async () => {
  if (!requirePeers("tshark")) return;
  const cache = startFakeCache(async (c) => {
    await c.readPdu();
    await c.write(response(1, 9, 3, samplePrefixes(1)));
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
