/**
 * JUnit XML: one `<testsuite>` named after the matrix, one `<testcase>` per case, the
 * environment fingerprint in `<properties>`.
 *
 * @module
 */
import type { CaseResult, ParityRecord, RunReport } from "../results/types.ts";
import { adapterIdentity } from "./adapter_info.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { isExpectedSkip, missingIds, notRunIds } from "./totals.ts";
import { escapeXml } from "./xml.ts";
import { errorFigure, percentFigure } from "./figures.ts";

function seconds(ms: number): string {
  return Number.isFinite(ms) ? (Math.max(0, ms) / 1000).toFixed(3) : "0.000";
}

function attrs(pairs: Readonly<Record<string, string | number>>): string {
  return Object.entries(pairs).map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`).join("");
}

function text(s: string): string {
  return escapeXml(s, { keepNewlines: true });
}

function failingSides(r: CaseResult): [string, ParityRecord][] {
  const sides: [string, ParityRecord][] = [];
  if (r.out && !r.out.pass) sides.push(["out", r.out]);
  if (r.lse && !r.lse.pass) sides.push(["lse", r.lse]);
  return sides;
}

/**
 * The one-line failure message of a failed case: the summary (worst error and its index)
 * of each failing side of the comparison, or the result's message when no side is
 * recorded.
 *
 * @example
 * ```ts
 * import { failureMessage } from "./junit.ts";
 * import type { CaseResult } from "../results/types.ts";
 * declare const r: CaseResult;
 * failureMessage(r); // "out: max abs err 5e-2 at [0,3,17] (got 0.113, want 0.163); ... | lse: ..."
 * ```
 */
export function failureMessage(r: CaseResult): string {
  const sides = failingSides(r);
  if (sides.length === 0) return r.message;
  // A record's summary is labelled by its comparison already ("out: max abs err ...").
  // The sides apart as the console's line and report.html's card give them (" | "): "; "
  // separates the parts within a side too, and "...; FAILED elementwise; lse: max abs..."
  // read as one side's.
  return sides.map(([name, p]) =>
    p.summary.startsWith(`${name}: `) ? p.summary : `${name}: ${p.summary}`
  )
    .join(" | ");
}

// The figures as the failure message writes them: "max abs 0.38080238983125914" and
// "passing 0.2301025390625" under a message saying "max abs err 3.8e-1" and "23.0% within
// tol". The unrounded figures are the testcase's properties (parityProperties).
function parityLines(name: string, p: ParityRecord): string[] {
  const at = p.maxAbsAt ? `[${p.maxAbsAt.join(",")}]` : "n/a";
  return [
    `${name}: ${p.pass ? "pass" : "FAIL"}${p.checks.length ? ` (${p.checks.join(", ")})` : ""}`,
    `  max abs ${errorFigure(p.maxAbs)} at ${at}, max rel ${errorFigure(p.maxRel)}, ` +
    `cos diff ${errorFigure(p.cosDiff)}, norm rel ${
      p.normRel === null ? "n/a" : errorFigure(p.normRel)
    }, ${percentFigure(p.fractionPassing)} within tol`,
    `  ${p.summary}`,
  ];
}

/**
 * A compared case's parity figures unrounded, as testcase properties (`out.maxAbs`,
 * `lse.cosDiff`, ...): the text gives them as its message does, rounded.
 */
function parityProperties(r: CaseResult): string {
  const props: [string, string][] = [];
  for (const [name, p] of [["out", r.out], ["lse", r.lse]] as const) {
    if (!p) continue;
    props.push(
      [`${name}.maxAbs`, String(p.maxAbs)],
      [`${name}.maxRel`, String(p.maxRel)],
      [`${name}.cosDiff`, String(p.cosDiff)],
      [`${name}.normRel`, String(p.normRel ?? "n/a")],
      [`${name}.fractionPassing`, String(p.fractionPassing)],
    );
    if (p.headroom !== undefined) props.push([`${name}.headroom`, String(p.headroom)]);
  }
  if (props.length === 0) return "";
  return `<properties>\n${
    props.map(([name, value]) => `        <property${attrs({ name, value })}/>\n`).join("")
  }      </properties>\n      `;
}

function detail(r: CaseResult): string {
  // a failure's first line as its message attribute gives it (r.message joins the sides
  // with " | ", the message with "; ")
  const lines = [r.status === "fail" ? failureMessage(r) : r.message];
  lines.push(
    `decision: ${r.decision}, expected: ${r.expect.support}` +
      (r.expect.codes?.length ? ` (${r.expect.codes.join(", ")})` : ""),
  );
  if (r.backend) lines.push(`backend: ${r.backend}${r.planDigest ? `, plan ${r.planDigest}` : ""}`);
  if (r.reference) {
    const rows = r.rowsChecked !== undefined && r.rowsTotal !== undefined
      ? `, rows checked ${r.rowsChecked}/${r.rowsTotal}`
      : "";
    lines.push(`reference: ${r.reference}${rows}`);
  }
  if (r.out) lines.push(...parityLines("out", r.out));
  if (r.lse) lines.push(...parityLines("lse", r.lse));
  for (const reason of r.reasons ?? []) lines.push(`reason ${reason.code}: ${reason.message}`);
  return lines.join("\n");
}

/**
 * The message of a skipped case: the decision and every reason (`code: message`), or the
 * result's message when no reasons are recorded. A case the matrix expects to run that was
 * refused (for want of a device feature, or by `--backend`: not covered) says so, never "as
 * expected".
 *
 * @example
 * ```ts
 * import { skipMessage } from "./junit.ts";
 * import type { CaseResult } from "../results/types.ts";
 * declare const r: CaseResult;
 * skipMessage(r); // "unsupported as expected: dtype.f16-unavailable: ..."
 * // expected supported: "not covered: unsupported here, where the matrix expects supported: ..."
 * ```
 */
export function skipMessage(r: CaseResult): string {
  const reasons = r.reasons ?? [];
  const list = reasons.length
    ? reasons.map((x) => `${x.code}: ${x.message}`).join("; ")
    : r.message.replace(/^(rejected as expected|unsupported on this device): /, "");
  // junit.xml said "unsupported as expected" of the f16 cases of a device without shader-f16,
  // which the matrix expects supported and which checked nothing
  return r.expect.support === r.decision
    ? `${r.decision} as expected: ${list}`
    : `not covered: ${r.decision} here, where the matrix expects ${r.expect.support}: ${list}`;
}

function testcase(r: CaseResult): string {
  const open = `    <testcase${
    attrs({
      classname: `mla.${r.params.path}.${r.params.dtype}`,
      name: r.id,
      time: seconds(r.wallMs),
    })
  }`;
  let body: string;
  if (r.status === "fail") {
    body = `${parityProperties(r)}<failure${
      attrs({ message: failureMessage(r), type: "parity" })
    }>${text(detail(r))}</failure>`;
  } else if (r.status === "unexpected") {
    body = `<failure${attrs({ message: r.message, type: "unexpected-decision" })}>${
      text(detail(r))
    }</failure>`;
  } else if (r.status === "error") {
    body = `<error${attrs({ message: r.message, type: "error" })}>${text(detail(r))}</error>`;
  } else if (isExpectedSkip(r)) {
    body = `<skipped${attrs({ message: skipMessage(r) })}/>`;
  } else {
    return `${open}/>`;
  }
  return `${open}>\n      ${body}\n    </testcase>`;
}

/** The `<error>` message of a case a run never reached. */
export const NOT_RUN_MESSAGE = "not run: the run ended before this case";

/** The `<error>` message of a case missing from a merge (no merged folder has a result). */
export const MISSING_MESSAGE = "not run: missing from the folders merged";

function notRunCase(id: string, message: string): string {
  return `    <testcase${attrs({ classname: "mla.not-run", name: id, time: "0.000" })}>\n` +
    `      <error${attrs({ message, type: "not-run" })}/>\n    </testcase>`;
}

/**
 * The most barrier-check findings junit.xml's properties, summary.md and report.html name one
 * by one (report.json keeps them all).
 */
export const MAX_BARRIER_ROWS = 50;

/**
 * The fingerprint and run settings as JUnit properties (name → value), in a fixed order:
 * runtime, host, adapter, harness revision, kernel hashes (`kernel.<file>`), then the
 * matrix filter, shard and interruption, for a merged report the number of missing cases
 * (`run.missing`), and with user backends the barrier check's findings (`run.barrierFindings`,
 * their count; `barrier.1` ..., the first 50).
 *
 * @example
 * ```ts
 * import { junitProperties } from "./junit.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * junitProperties(report)["runtime.deno"]; // "2.9.6"
 * ```
 */
export function junitProperties(report: RunReport): Record<string, string> {
  const fp = report.fingerprint;
  const a = adapterIdentity(fp.adapter);
  const props: Record<string, string> = {
    "runtime.deno": fp.runtime.deno,
    "runtime.v8": fp.runtime.v8,
    "runtime.typescript": fp.runtime.typescript,
    "host.os": fp.host.os,
    "host.arch": fp.host.arch,
    "host.cpus": String(fp.host.cpus),
    "host.cpuModel": fp.host.cpuModel,
    "adapter.description": a.description ?? "none",
    "adapter.vendor": a.vendor ?? "none",
    "adapter.architecture": a.architecture ?? "none",
  };
  if (a.driver !== null) props["adapter.driver"] = a.driver;
  props["harness.revision"] = fp.harnessRevision ?? "unknown";
  for (const name of Object.keys(fp.kernelHashes).sort()) {
    props[`kernel.${name}`] = fp.kernelHashes[name];
  }
  props["run.filter"] = report.filter ?? "";
  props["run.shard"] = report.shard ?? "";
  props["run.interrupted"] = String(report.interrupted);
  if (report.plantedFault !== undefined) props["run.plantedFault"] = report.plantedFault;
  // the cases that ran the clean kernels (summary.md and report.html say how many and why)
  if (report.plantedFault !== undefined && report.plantedFaultClean !== undefined) {
    props["run.plantedFaultClean"] = String(report.plantedFaultClean.length);
  }
  // GPU errors outside every case's error scope: no testcase includes them
  if (report.lateGpuErrors !== undefined && report.lateGpuErrors.length > 0) {
    props["run.lateGpuErrors"] = String(report.lateGpuErrors.length);
  }
  // the static barrier check of the user backends' WGSL: said, not counted as a failure
  // (a finding is a lead to read; summary.md lists them under "Barrier check")
  const barriers = report.barrierFindings;
  if (barriers !== undefined) props["run.barrierFindings"] = String(barriers.length);
  // the first ones, as summary.md and report.html list them (report.json has them all)
  (barriers ?? []).slice(0, MAX_BARRIER_ROWS).forEach((f, i) => {
    props[`barrier.${i + 1}`] = `${f.kind} ${f.location} of backend ${f.backend} ` +
      `(${f.labels.join("; ")}): ${f.message}`;
  });
  // A merge that lacks cases: how many of its matrix no merged folder had.
  const missing = missingIds(report).length;
  if (missing > 0) props["run.missing"] = String(missing);
  return props;
}

/**
 * The run as JUnit XML. Per case: `fail` and `unexpected` → `<failure>` (the message
 * carries the worst error and its index); `error` → `<error>`; a pass whose decision was
 * unsupported/invalid (as expected) → `<skipped>` with the reasons; ids this shard owned
 * but never ran (an interrupted run) → `<error type="not-run">`, and so are the cases a
 * merge lacks (`RunReport.missing`; their message says they are missing from the merged
 * shards), so the suite is red.
 *
 * @example
 * ```ts
 * import { toJunitXml } from "./junit.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * const xml = toJunitXml(report);
 * xml.startsWith("<?xml"); // true
 * ```
 */
export function toJunitXml(report: RunReport): string {
  const notRun = notRunIds(report);
  const missing = new Set(missingIds(report));
  let failures = 0, errors = notRun.length, skipped = 0, totalMs = 0;
  for (const r of report.results) {
    if (r.status === "fail" || r.status === "unexpected") failures++;
    else if (r.status === "error") errors++;
    else if (isExpectedSkip(r)) skipped++;
    totalMs += Number.isFinite(r.wallMs) ? r.wallMs : 0;
  }
  const started = Date.parse(report.startedAt), ended = Date.parse(report.endedAt);
  const runMs = Number.isFinite(started) && Number.isFinite(ended) ? ended - started : totalMs;
  const counts = {
    tests: report.results.length + notRun.length,
    failures,
    errors,
    skipped,
    time: seconds(runMs),
  };
  const props = Object.entries(junitProperties(report))
    .map(([name, value]) => `      <property${attrs({ name, value })}/>`);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites${attrs({ name: "mla-harness", ...counts })}>`,
    `  <testsuite${attrs({ name: report.matrix, ...counts, timestamp: report.startedAt })}>`,
    `    <properties>`,
    ...props,
    `    </properties>`,
    ...report.results.map(testcase),
    ...notRun.map((id) => notRunCase(id, missing.has(id) ? MISSING_MESSAGE : NOT_RUN_MESSAGE)),
    `  </testsuite>`,
    `</testsuites>`,
    "",
  ].join("\n");
}

/**
 * Writes junit.xml atomically.
 *
 * @example
 * ```ts
 * import { writeJunit } from "./junit.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * await writeJunit("out/junit.xml", report);
 * ```
 */
export function writeJunit(path: string, report: RunReport): Promise<void> {
  return writeTextAtomic(path, toJunitXml(report));
}
