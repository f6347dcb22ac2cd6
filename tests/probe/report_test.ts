/** Probe report writers (text, NDJSON, JUnit) and the documented bound of a probe. */
import { assertEquals as eq } from "../helpers/assert.ts";
import {
  probeBoundMs,
  reportWriter,
  type ScenarioResult,
  SCENARIOS,
  selectScenarios,
  summarize,
} from "../../lib/probe/mod.ts";
import { probeOptions } from "./helpers.ts";

const RESULTS: ScenarioResult[] = [
  { id: "version-0", group: "version", section: "RFC 6810 §5", status: "pass", detail: "ok" },
  {
    id: "reset-order",
    group: "response",
    section: "8210bis §11.2",
    status: "fail",
    detail: 'AS1 <after> AS2 & "x"',
    hex: "0204",
  },
  {
    id: "notify",
    group: "notify",
    section: "RFC 8210 §8.2",
    status: "not-applicable",
    detail: "no --change-cmd given",
  },
];

Deno.test("probe reports: text lines, NDJSON records and JUnit XML with escaping", () => {
  const s = summarize("127.0.0.1:8282", RESULTS);
  eq(s, { target: "127.0.0.1:8282", passed: 1, failed: 1, notApplicable: 1 });
  const text = reportWriter("text");
  eq(
    RESULTS.map((r) => text.result(r)).join("") + text.end(RESULTS, s),
    [
      "PASS  version-0           ok",
      'FAIL  reset-order         AS1 <after> AS2 & "x"',
      "                          8210bis §11.2; bytes 0204",
      "N/A   notify              no --change-cmd given",
      "127.0.0.1:8282: 1 passed, 1 failed, 1 not applicable",
      "",
    ].join("\n"),
  );
  const nd = reportWriter("ndjson");
  eq(JSON.parse(nd.result(RESULTS[1])), {
    type: "scenario",
    id: "reset-order",
    group: "response",
    status: "fail",
    section: "8210bis §11.2",
    detail: 'AS1 <after> AS2 & "x"',
    hex: "0204",
  });
  eq(nd.result(RESULTS[0]).includes('"hex"'), false);
  const junit = reportWriter("junit");
  eq(junit.result(RESULTS[0]), "");
  const xml = junit.end(RESULTS, s);
  eq(
    xml.split("\n").filter((l) => /failure|skipped|testsuite /.test(l)),
    [
      '<testsuites name="rtr probe" tests="3" failures="1" skipped="1">',
      '  <testsuite name="rtr probe 127.0.0.1:8282" tests="3" failures="1" errors="0" skipped="1">',
      '      <failure message="AS1 &lt;after&gt; AS2 &amp; &quot;x&quot;">8210bis §11.2',
      "bytes: 0204</failure>",
      '      <skipped message="no --change-cmd given"/>',
    ],
  );
});

Deno.test("probe bound: each scenario's timeout, plus the notify wait with a change command", () => {
  const change = () => Promise.resolve({ ok: true, detail: "ok" });
  const o = probeOptions(1, { timeoutMs: 1000, notifyTimeoutMs: 5000, change });
  eq(probeBoundMs(o, SCENARIOS), SCENARIOS.length * 1000 + 5000);
  eq(probeBoundMs(o, selectScenarios(["version"])), 5000);
  // Without --change-cmd, notify is not applicable at once: README and --help promise
  // (number of scenarios) × --timeout, and stderr says "at most …" from this.
  const bare = probeOptions(1, { timeoutMs: 1000, notifyTimeoutMs: 5000 });
  eq(probeBoundMs(bare, SCENARIOS), SCENARIOS.length * 1000);
});

Deno.test("README documents every scenario as --help does: id, what it sends, what passes, section", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const rows = readme.split("\n").map((l) => l.replace(/\s+\|/g, " |").replace(/\|\s+/g, "| "));
  for (const s of SCENARIOS) {
    const want = `| \`${s.id}\` | ${s.sends} | ${s.passes} | ${s.section} |`;
    eq(rows.filter((r) => r === want).length, 1, `README row for ${s.id}:\n${want}`);
  }
});
