/**
 * Probe reports: plain text for people, NDJSON (one `scenario` record per scenario, then one
 * `summary`), and JUnit XML for CI dashboards (a not-applicable scenario is a skipped test case).
 * Text and NDJSON are written as each scenario completes; JUnit at the end.
 */
import type { ScenarioResult } from "./scenario.ts";

/** Report formats. */
export const REPORT_FORMATS = ["text", "ndjson", "junit"] as const;
/** A report format. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Counts of a finished probe. */
export interface ProbeSummary {
  /** The cache probed, `HOST:PORT`. */
  target: string;
  /** Scenarios that passed. */
  passed: number;
  /** Scenarios that failed. */
  failed: number;
  /** Scenarios not applicable to this cache or `--protocol`. */
  notApplicable: number;
}

/** Count results by status. */
export function summarize(target: string, results: ScenarioResult[]): ProbeSummary {
  return {
    target,
    passed: results.filter((r) => r.status === "pass").length,
    failed: results.filter((r) => r.status === "fail").length,
    notApplicable: results.filter((r) => r.status === "not-applicable").length,
  };
}

/** Turns results into the text of one format: a chunk per result, and the ending. */
export interface ReportWriter {
  /** The text to print for one finished scenario (empty when the format waits for the end). */
  result(r: ScenarioResult): string;
  /** The text that ends the report: the summary line or record, or the whole JUnit document. */
  end(results: ScenarioResult[], summary: ProbeSummary): string;
}

const LABEL: Record<ScenarioResult["status"], string> = {
  pass: "PASS",
  fail: "FAIL",
  "not-applicable": "N/A ",
};

/** The writer for `format`. */
export function reportWriter(format: ReportFormat): ReportWriter {
  switch (format) {
    case "text":
      return {
        result: (r) =>
          `${LABEL[r.status]}  ${r.id.padEnd(19)} ${r.detail}\n` +
          (r.status === "fail"
            ? `      ${"".padEnd(19)} ${r.section}${r.hex ? `; bytes ${r.hex}` : ""}\n`
            : ""),
        end: (_, s) =>
          `${s.target}: ${s.passed} passed, ${s.failed} failed, ${s.notApplicable} not applicable\n`,
      };
    case "ndjson":
      return {
        result: (r) =>
          JSON.stringify({
            type: "scenario",
            id: r.id,
            group: r.group,
            status: r.status,
            section: r.section,
            detail: r.detail,
            ...(r.hex ? { hex: r.hex } : {}),
          }) + "\n",
        end: (_, s) => JSON.stringify({ type: "summary", ...s }) + "\n",
      };
    case "junit":
      return { result: () => "", end: junit };
  }
}

/** XML-escape text for attributes and bodies (control characters dropped). */
function esc(s: string): string {
  // Control characters other than tab, LF and CR are not allowed in XML 1.0.
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, "").replace(/&/g, "&amp;")
    .replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function junit(results: ScenarioResult[], s: ProbeSummary): string {
  const cases = results.map((r) => {
    const open = `    <testcase classname="rtr.probe.${esc(r.group)}" name="${esc(r.id)}">`;
    if (r.status === "pass") {
      return `${open}\n      <system-out>${esc(r.detail)}</system-out>\n    </testcase>`;
    }
    if (r.status === "not-applicable") {
      return `${open}\n      <skipped message="${esc(r.detail)}"/>\n    </testcase>`;
    }
    const body = `${r.section}${r.hex ? `\nbytes: ${r.hex}` : ""}`;
    return `${open}\n      <failure message="${esc(r.detail)}">${
      esc(body)
    }</failure>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="rtr probe" tests="${results.length}" failures="${s.failed}" skipped="${s.notApplicable}">
  <testsuite name="rtr probe ${
    esc(s.target)
  }" tests="${results.length}" failures="${s.failed}" errors="0" skipped="${s.notApplicable}">
${cases.join("\n")}
  </testsuite>
</testsuites>
`;
}
