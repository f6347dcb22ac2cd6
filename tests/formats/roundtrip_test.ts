import assert from "node:assert/strict";
import fc from "fast-check";
import { parseTableText } from "../../lib/formats/read.ts";
import { writeTable } from "../../lib/formats/write.ts";
import { VrpSetBuilder } from "../../lib/model/mod.ts";
import { runCommand } from "../helpers/peers.ts";
import { memorySink } from "./table_fixtures.ts";

const vrpArb = fc.oneof(
  fc.record({
    v6: fc.constant(false),
    words: fc.tuple(fc.nat({ max: 0xffffffff })),
    length: fc.integer({ min: 0, max: 32 }),
    extra: fc.nat({ max: 8 }),
    asn: fc.nat({ max: 0xffffffff }),
  }),
  fc.record({
    v6: fc.constant(true),
    words: fc.tuple(
      fc.nat({ max: 0xffffffff }),
      fc.constantFrom(0, 0xabcd0000),
      fc.constant(0),
      fc.nat({ max: 0xffffffff }),
    ),
    length: fc.integer({ min: 0, max: 128 }),
    extra: fc.nat({ max: 16 }),
    asn: fc.nat({ max: 0xffffffff }),
  }),
);

Deno.test("json, ndjson and csv outputs read back to the same VRP set (random tables)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(vrpArb, { maxLength: 50 }), async (items) => {
      const b = new VrpSetBuilder();
      for (const it of items) {
        const max = it.v6 ? 128 : 32;
        const words = it.words.map((w, k) => {
          const bits = it.length - 32 * k;
          return bits <= 0 ? 0 : bits >= 32 ? w : (w & (0xffffffff << (32 - bits))) >>> 0;
        });
        b.add(it.v6, words, it.length, Math.min(max, it.length + it.extra), it.asn);
      }
      const table = { vrps: b.build().set, routerKeys: [], aspas: [] };
      for (const f of ["json", "ndjson", "csv"] as const) {
        const m = memorySink();
        await writeTable(m.sink, table, f, { generated: new Date(0) });
        const back = parseTableText(m.text());
        assert.deepEqual(back.table.vrps, table.vrps, f);
        assert.deepEqual(back.warnings, [], f);
      }
    }),
    { numRuns: 150 },
  );
});

Deno.test("parseTableText() reads CSV with CRLF, spaces, comments and reports line numbers", () => {
  const text = "# made by hand\r\nASN,IP Prefix,Max Length,Trust Anchor\r\n\r\n" +
    " AS1 , 10.0.0.0/8 , 16 , x\r\nAS2,2001:DB8::/32,,\r\n";
  assert.deepEqual(
    [...parseTableText(text).table.vrps].map((v) => `${v.prefix} ${v.maxLength} ${v.asn}`),
    ["10.0.0.0/8 16 1", "2001:db8::/32 32 2"],
  );
  assert.throws(() => parseTableText(text + "AS3,10.0.0.0/8,7,\n", "t.csv"), {
    message: 'Cannot read t.csv: line 6: maxLength is "7", expected 8..32 for 10.0.0.0/8',
  });
  assert.throws(() => parseTableText("AS1,10.0.0.0/8\n", "t.csv"), {
    message:
      'Cannot read t.csv: line 1: row is "AS1,10.0.0.0/8", expected ASN,IP Prefix,Max Length[,…]',
  });
});

Deno.test("readTableFile('-') reads stdin, gzip included", async () => {
  const script = `import { readTableFile } from ${
    JSON.stringify(new URL("../../lib/formats/read.ts", import.meta.url).href)
  };
    const t = await readTableFile("-");
    console.log(t.dialect, t.table.vrps.size);`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/s.ts`, script);
    const csv = "ASN,IP Prefix,Max Length,Trust Anchor\nAS1,10.0.0.0/8,8,\n";
    const r = await runCommand(Deno.execPath(), ["run", "-A", `${dir}/s.ts`], {
      stdin: csv,
      timeoutMs: 15000,
    });
    assert.equal(r.stdout.trim(), "rpki-client-csv 1", r.stderr);
    const gz = new Uint8Array(
      await new Response(
        new Blob([csv]).stream().pipeThrough(new CompressionStream("gzip")),
      ).arrayBuffer(),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${dir}/s.ts`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 15000);
    const w = child.stdin.getWriter();
    await w.write(gz);
    await w.close();
    const out = await child.output();
    clearTimeout(timer);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "rpki-client-csv 1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
