/**
 * Running cases: a matrix case to an adapter request, one case end to end, a whole
 * matrix with resume and reports, the environment fingerprint, and the result types.
 *
 * @module
 */
export * from "./types.ts";
export * from "./case_request.ts";
export * from "./run_case.ts";
export * from "./run_matrix.ts";
export * from "./fingerprint.ts";
export * from "./layer_files.ts";
export * from "./layer_plan.ts";
