/**
 * `rtr replay` on a capture made in the test: dumpcap on the loopback interface records
 * `rtr snapshot` syncing from StayRTR 0.5.1 (protocol 2: prefixes, router keys, legacy ASPA);
 * replaying the capture with `--table` yields exactly the table `snapshot` printed, and the
 * records agree with tshark's decoding of the same file (issue 5 acceptance).
 */
import { assertEquals as eq, assertOk } from "../helpers/assert.ts";
import { requirePeers, runCommand, runRtr, startStayRtr, stopChild } from "../helpers/peers.ts";
import { readCapture, RecordCollector } from "../../lib/capture/mod.ts";

const TABLE = new URL("../../testdata/interop-table.json", import.meta.url).pathname;

function ndjson(text: string): any[] {
  return text.trim().split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

function payload(records: any[]): string[] {
  return records.flatMap((r) =>
    r.type === "vrp"
      ? [`vrp ${r.prefix} ${r.maxLength} ${r.asn}`]
      : r.type === "routerKey"
      ? [`key ${r.asn} ${r.ski} ${r.pubkey}`]
      : r.type === "aspa"
      ? [`aspa ${r.customer_asid} ${r.providers.join(",")}`]
      : []
  ).sort();
}

/** Start dumpcap on lo for one port; resolves once it says it is capturing. */
async function startCapture(port: number, path: string) {
  const child = new Deno.Command("dumpcap", {
    args: ["-i", "lo", "-f", `tcp port ${port}`, "-w", path],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.getReader();
  const dec = new TextDecoder();
  let seen = "";
  const deadline = Date.now() + 15000;
  while (!/Capturing on/.test(seen)) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`dumpcap did not start: ${seen}`);
    }
    const r = await Promise.race([
      reader.read(),
      new Promise<{ done: true; value: undefined }>((res) =>
        setTimeout(() => res({ done: true, value: undefined }), Math.max(1, deadline - Date.now()))
      ),
    ]);
    if (r.value) seen += dec.decode(r.value);
    if (r.done && !r.value) break;
  }
  (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* closed */ }
  })();
  return {
    /** Wait (bounded) until the file holds `done(records)`, then stop dumpcap. */
    stop: async (done: () => Promise<boolean>) => {
      // dumpcap writes captured packets to the file in batches: poll for what we need.
      const until = Date.now() + 10000;
      while (Date.now() < until && !(await done())) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await stopChild(child, "SIGTERM", 10000);
    },
  };
}

Deno.test("a dumpcap capture of snapshot against StayRTR replays to the table snapshot printed", async () => {
  if (!requirePeers("stayrtr", "dumpcap", "tshark")) return;
  const dir = await Deno.makeTempDir();
  const doc = JSON.parse(await Deno.readTextFile(TABLE));
  const now = new Date();
  doc.metadata.buildtime = now.toISOString().replace(/\.\d+Z$/, "Z");
  doc.metadata.generated = Math.floor(now.getTime() / 1000);
  await Deno.writeTextFile(`${dir}/table.json`, JSON.stringify(doc));
  const cache = await startStayRtr(`${dir}/table.json`);
  const pcap = `${dir}/lo.pcapng`;
  try {
    const cap = await startCapture(cache.port, pcap);
    let snap;
    try {
      snap = await runRtr(["snapshot", `127.0.0.1:${cache.port}`, "--format", "ndjson"]);
    } finally {
      await cap.stop(async () => {
        try {
          const t = new RecordCollector();
          await readCapture((await Deno.open(pcap)).readable, t, { ports: [cache.port] });
          return t.take().includes('"name":"End of Data"');
        } catch {
          return false;
        }
      });
    }
    eq(snap.code, 0, snap.stderr);
    const want = payload(ndjson(snap.stdout));
    assertOk(want.some((s) => s.startsWith("aspa")) && want.some((s) => s.startsWith("key")));
    const port = String(cache.port);
    const t = await runRtr(["replay", "--port", port, "--table", "--format", "ndjson", pcap]);
    eq(t.code, 0, t.stderr);
    eq(payload(ndjson(t.stdout)), want);
    // The PDU records agree with tshark on the PDU types.
    const recs = ndjson((await runRtr(["replay", "--port", port, pcap])).stdout);
    eq(recs.filter((r) => r.type !== "pdu"), []);
    const ts = await runCommand("tshark", [
      "-r",
      pcap,
      "-d",
      `tcp.port==${port},rpkirtr`,
      "-Y",
      "rpkirtr",
      "-T",
      "fields",
      "-e",
      "rpki-rtr.pdu_type",
    ]);
    const theirs = ts.stdout.trim().split(/[\n,]/).filter((x) => x !== "");
    // tshark 4.0 has no ASPA: it reads the body of a type 11 PDU as more PDUs. Compare up to
    // the first ASPA, and the End of Data that ends the response.
    const ours = recs.map((r) => String(r.pduType));
    const firstAspa = ours.indexOf("11");
    assertOk(firstAspa > 0);
    eq(ours.slice(0, firstAspa + 1), theirs.slice(0, firstAspa + 1));
    eq(ours[ours.length - 1], theirs[theirs.length - 1]);
    eq((await runRtr(["replay", "--port", port, "--check", pcap])).code, 1); // v2 order: StayRTR breaks §4.8
  } finally {
    await cache.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
