/**
 * `validate --aspa` on worker threads (lib/cli/aspa_threads.ts) answers exactly as one thread
 * does: the same bytes in input order, the same bad-line reports in order with the same line
 * numbers, the same counts, for every format, whatever the read sizes; and a program that feeds
 * one line at a time gets each answer before it sends the next.
 */
import assert from "node:assert/strict";
import { Prng } from "../helpers/prng.ts";
import { type AspaFormat, AspaWriter } from "../../lib/cli/aspa_writer.ts";
import { type AspaWork, type ThreadPlan, verifyInput } from "../../lib/cli/aspa_threads.ts";
import { AspaIndex, RovIndex } from "../../lib/rov/mod.ts";
import { VrpSet } from "../../lib/model/vrp_set.ts";
import type { Vrp } from "../../lib/model/types.ts";

const rng = new Prng(1103);
const ASNS = Array.from({ length: 60 }, (_, i) => 64500 + i);
const pick = () => ASNS[rng.int(0, ASNS.length - 1)];
const ASPAS = ASNS.slice(0, 45).map((customer, i) => ({
  customer,
  providers: i % 9 === 0 ? [0] : [pick(), pick()],
}));
const VRPS: Vrp[] = Array.from({ length: 80 }, (_, i) => ({
  prefix: `10.${i}.0.0/16`,
  maxLength: 16 + (i % 9),
  asn: pick(),
}));

/** A few thousand input lines of every kind, as bytes (with a BOM, no final newline). */
function input(lines: number): Uint8Array {
  const out: string[] = [];
  for (let n = 0; n < lines; n++) {
    const path = Array.from({ length: rng.int(0, 6) }, pick);
    const prefix = `10.${rng.int(0, 90)}.${rng.int(0, 255)}.0/${rng.int(16, 24)}`;
    const k = rng.int(0, 19);
    if (k === 0) out.push("# a comment");
    else if (k === 1) out.push("");
    else if (k === 2) out.push(`${prefix} ${path.join(" ")} 6450x`); // bad AS number
    else if (k === 3) out.push(`${prefix} ${path.join(" ")} {64510,64511}`);
    else if (k === 4) out.push(`${prefix} ${path.join(" ")} neighbour=provider`);
    else if (k === 5) out.push(`${prefix} ${path.join(" ")} neighbour-as=${pick()}`);
    else if (k === 6) {
      out.push(
        `TABLE_DUMP2|1700000000|B|192.0.2.1|${path[0] ?? 64500}|${prefix}|${
          path.join(" ")
        }|IGP|192.0.2.1|0|0||NAG||`,
      );
    } else if (k === 7) out.push(`BGP4MP|1700000000|W|192.0.2.1|64500|${prefix}`);
    else if (k === 8) out.push(`  ${prefix}\t${path.join(" ")}  `);
    else out.push(`${prefix} ${path.join(" ")}`);
  }
  return new TextEncoder().encode("\ufeff" + out.join("\n"));
}

/** Resolve when `ok()` holds, polling on timers; fail after `ms`. */
async function until(ok: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A stream of `bytes` in reads of random sizes, some long, some short; past `holdAt` bytes it
 * waits (bounded) until `go()` holds, e.g. until a worker is ready.
 */
function chunked(bytes: Uint8Array, holdAt: number, go: () => boolean): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    async pull(c) {
      // A macrotask between reads, as between reads of a pipe: the workers' messages get in.
      await new Promise((r) => setTimeout(r, 0));
      if (at > holdAt) await until(go, "a worker");
      if (at >= bytes.length) return c.close();
      const k = rng.int(0, 2);
      const n = k === 0
        ? rng.int(1, 200)
        : k === 1
        ? rng.int(2000, 9000)
        : rng.int(16 << 10, 40 << 10);
      c.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

/** Run the thread pool over `bytes`; everything it produced. */
async function run(bytes: Uint8Array, format: AspaFormat, plan: ThreadPlan) {
  const set = VrpSet.from(VRPS), aspa = new AspaIndex(ASPAS);
  const chunks: Uint8Array[] = [], warnings: string[] = [];
  const out = {
    write: (b: Uint8Array) => {
      chunks.push(b.slice());
      return Promise.resolve(b.length);
    },
  };
  const opts = { format, role: "customer" as const, neighbourAs: -1 };
  const w = new AspaWriter(
    new RovIndex(set),
    aspa,
    { ...opts, warn: (l) => warnings.push(l) },
    out,
  );
  const work: AspaWork = { vrps: set.data, aspa: aspa.parts, ...opts };
  let ready = false;
  const { bad, workerBatches } = await verifyInput(
    chunked(bytes, plan.threads > 1 ? plan.inlineBytes : Infinity, () => ready),
    w,
    out,
    work,
    { ...plan, onReady: () => ready = true },
  );
  if (format === "summary") w.summary(bad);
  await w.flush();
  const text = new TextDecoder().decode(
    chunks.reduce((a, b) => {
      const c = new Uint8Array(a.length + b.length);
      c.set(a);
      c.set(b, a.length);
      return c;
    }, new Uint8Array(0)),
  );
  return { text, warnings, bad, seen: { ...w.seen }, counts: [...w.counts], workerBatches };
}

for (const format of ["ndjson", "text", "summary"] as const) {
  Deno.test(`validate --aspa on 3 worker threads answers as one thread does (--format ${format})`, async () => {
    const bytes = input(6000);
    const one = await run(bytes, format, { threads: 1, inlineBytes: 0, batchBytes: 1 << 19 });
    // Small batches and a small inline part: many batches, spread over the three workers.
    const three = await run(bytes, format, { threads: 3, inlineBytes: 20_000, batchBytes: 9000 });
    assert.ok(one.bad > 100, `bad lines: ${one.bad}`);
    assert.ok(one.text.length > (format === "summary" ? 200 : 10_000));
    assert.equal(one.workerBatches, 0);
    assert.ok(three.workerBatches >= 8, `batches on workers: ${three.workerBatches}`);
    assert.deepEqual({ ...three, workerBatches: 0 }, one);
    if (format !== "ndjson") {
      // The line numbers count every line, the BOM-led first one included.
      const lines = new TextDecoder().decode(bytes).split("\n");
      for (const warning of one.warnings) {
        const m = /^rtr: line (\d+): /.exec(warning);
        assert.ok(m, warning);
        assert.match(lines[Number(m[1]) - 1], /6450x/);
      }
      assert.equal(one.warnings.length, one.bad);
    }
  });
}

Deno.test("validate --aspa on worker threads answers a line fed alone before the next is sent", async () => {
  const set = VrpSet.from(VRPS), aspa = new AspaIndex(ASPAS);
  let written = "";
  const out = {
    write: (b: Uint8Array) => {
      written += new TextDecoder().decode(b);
      return Promise.resolve(b.length);
    },
  };
  const opts = { format: "ndjson" as const, role: "customer" as const, neighbourAs: -1 };
  const w = new AspaWriter(new RovIndex(set), aspa, opts, out);
  const lines = ["10.1.0.0/16 64500 64501", "10.2.0.0/16 64502", "nonsense", "10.3.0.0/16 64503"];
  let sent = 0, ready = false;
  const answered = () => written.split("\n").length - 1;
  const input = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent > 0) await until(() => answered() === sent, `the answer to line ${sent}`);
      // The first line is answered on the main thread; the rest once a worker is ready.
      if (sent === 1) await until(() => ready, "a worker");
      if (sent === lines.length) return c.close();
      c.enqueue(new TextEncoder().encode(lines[sent++] + "\n"));
    },
  });
  const work: AspaWork = { vrps: set.data, aspa: aspa.parts, ...opts };
  const r = await verifyInput(input, w, out, work, {
    threads: 2,
    inlineBytes: 0,
    batchBytes: 1 << 19,
    onReady: () => ready = true,
  });
  assert.deepEqual(r, { bad: 1, inlineBatches: 1, workerBatches: 3 });
  const recs = written.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(recs.map((x) => x.type), ["validation", "validation", "error", "validation"]);
  assert.equal(recs[2].line, 3);
});
