/**
 * mla-harness: a headless WebGPU test and benchmark harness for Multi-Latent
 * Attention (MLA) kernels. The public API: the shared MLA adapter (config
 * ingestion, canonical spec, layouts, backends, `resolve()`, `explain`) and the
 * float64 reference.
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
