/**
 * Running cases: a matrix case to an adapter request, one case end to end, a whole
 * matrix with resume (results.jsonl and run.json; the reports are written by the caller,
 * see report/ `writeRunReports`), the environment fingerprint. The result types live in
 * results/.
 *
 * @module
 */
export * from "./case_request.ts";
export * from "./run_case.ts";
export * from "./run_matrix.ts";
export * from "./fingerprint.ts";
export * from "./layer_files.ts";
export * from "./layer_plan.ts";
export * from "./run_options.ts";
