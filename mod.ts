/**
 * mla-harness: a headless WebGPU test and benchmark harness for Multi-Latent
 * Attention (MLA) kernels. The public API: the shared MLA adapter (config
 * ingestion, canonical spec, layouts, backends, `resolve()`, `explain`) and the
 * float64 reference, the GPU runtime and kernels, parity checks, case matrices and
 * the runner.
 *
 * @example
 * ```ts
 * import { presetSpec, resolve } from "./mod.ts";
 * const r = resolve({
 *   spec: presetSpec("deepseek-v2-lite"), dtype: "f32", backend: "cpu-reference",
 *   layout: { kind: "thd", cuSeqlensQ: [0, 5, 12], causal: true },
 * }, null);
 * ```
 *
 * @module
 */
export * from "./adapter/mod.ts";
export * from "./reference/mod.ts";
export * from "./parity/mod.ts";
export * from "./matrix/mod.ts";
export * from "./results/mod.ts";
export * from "./runner/mod.ts";
export * from "./gpu/mod.ts";
export {
  type AttentionSession,
  runAttention,
  type RunAttentionOptions,
  type RunAttentionResult,
} from "./kernels/attention.ts";
export type { Binding, LaunchLimits, ProfileLimits, RecordedPass } from "./kernels/launch.ts";
export type { SourceMutation } from "./kernels/source.ts";
export type { PlainProgress, ProgressMode, ProgressOutput } from "./report/progress.ts";
export {
  layerDeviceReason,
  type LayerRunResult,
  type LayerTiming,
  LayerUnsupportedError,
  runLayer,
  type RunLayerOptions,
} from "./kernels/layer.ts";
export { GEMM_TILE } from "./kernels/layer_encoder.ts";
export { type GpuLayerWeights, uploadLayerWeights } from "./kernels/layer_weights.ts";
export { runGemm, type RunGemmOptions } from "./kernels/gemm.ts";
export {
  decodeStep,
  type DecodeStepOptions,
  DEFAULT_PAGE_SIZE,
  LatentCache,
  type LatentCacheOptions,
} from "./kernels/decode.ts";
export { LAYER_FAULTS, type LayerFault, layerFault } from "./kernels/layer_faults.ts";
export * from "./weights/mod.ts";
export * from "./drift/mod.ts";
export { type RunReportsOptions, writeRunReports } from "./report/run_reports.ts";
export { readReportJson } from "./report/json.ts";
export { ReportFileError } from "./report/errors.ts";
export {
  type BackendModule,
  loadBackendModule,
  type LoadedBackendModule,
  registerBackendModule,
  validateBackendModule,
} from "./kernels/backend_module.ts";
export {
  type AbsorbQOptions,
  type AttentionBuffers,
  type AttentionLauncher,
  BACKEND_CONTRACT_VERSION,
  type DispatchPassOptions,
  type LaunchKit,
} from "./kernels/launch.ts";
export type { DenseGroup } from "./kernels/tables.ts";
export type { ModuleBarrierCheck } from "./kernels/module_barriers.ts";
export type { BarrierFinding } from "./kernels/compile_check.ts";
