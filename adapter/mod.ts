/**
 * The shared MLA adapter: config ingestion, the canonical spec, RoPE/YaRN math,
 * layout normalization, the backend registry and `resolve()`.
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./rope.ts";
export * from "./spec.ts";
export * from "./config.ts";
export * from "./presets.ts";
export * from "./source.ts";
export * from "./layout.ts";
export * from "./backends.ts";
export * from "./resolve.ts";
export * from "./explain.ts";
export * from "./json_file.ts";
export * from "./file_kind.ts";
export * from "./registry.ts";
export * from "./reference_choice.ts";
export * from "./loop_budget.ts";
export * from "./caps_file.ts";
export * from "./timing_scope.ts";
export * from "./plan_tuning.ts";
