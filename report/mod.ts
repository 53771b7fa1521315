/**
 * Report writers of a run: results.jsonl (streamed, durable per line), report.json
 * (atomic), JUnit XML, a Markdown summary, console progress, and the merge of sharded run
 * folders.
 *
 * @example
 * ```ts
 * import { JsonlWriter, writeRunOutputs } from "./mod.ts";
 * import type { CaseResult, RunReport } from "../results/types.ts";
 * declare const result: CaseResult;
 * declare const report: RunReport;
 * const w = await JsonlWriter.open("out/smoke/results.jsonl");
 * await w.write(result);
 * await w.close();
 * await writeRunOutputs("out/smoke", report, { jsonl: false });
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./totals.ts";
export * from "./validate.ts";
export * from "./adapter_info.ts";
export * from "./xml.ts";
export * from "./jsonl.ts";
export * from "./json.ts";
export * from "./junit.ts";
export * from "./markdown.ts";
export * from "./progress.ts";
export * from "./fingerprint_diff.ts";
export * from "./merge.ts";
export * from "./run_state.ts";
export * from "./output_paths.ts";
export * from "./run_reports.ts";
export * from "./explain_command.ts";
export * from "./case_groups.ts";
export * from "./finish_commands.ts";
export * from "./not_covered.ts";
export * from "./verdict.ts";
export { runReportHtml, writeRunHtml } from "./html/mod.ts";
