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
export type { DeviceClass, DeviceClassName, WorkgroupMemoryTier } from "./device_class.ts";
export * from "./json_file.ts";
export * from "./file_kind.ts";
export * from "./registry.ts";
export * from "./reference_choice.ts";
export * from "./loop_budget.ts";
// caps_file.ts's zod schemas (featureNameSchema, limitValueSchema, limitsSchema) stay inside
// the project (matrix/schema.ts builds on them): the public API exposes no zod type.
export {
  featureNameProblem,
  isMinLimit,
  limitNameProblem,
  parseCaps,
  PROFILE_LIMIT_NAMES,
  profileLimitProblem,
  readCapsFile,
  reportedNameProblem,
  VENDOR_FEATURE_PREFIX,
  WEBGPU_FEATURE_NAMES,
  WEBGPU_LIMIT_NAMES,
} from "./caps_file.ts";
export * from "./timing_scope.ts";
export * from "./plan_tuning.ts";
