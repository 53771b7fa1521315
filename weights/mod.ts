/**
 * Weights and inputs from safetensors: a dependency-free reader/writer (lazy,
 * validated), F16/BF16 conversions, and the Hugging Face names of an MLA layer
 * with spec checks.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, SafetensorsFile } from "./mod.ts";
 * const f = await SafetensorsFile.fromBytes(
 *   encodeSafetensors({ x: { dtype: "F16", shape: [1], data: [0.5] } }),
 *   { source: "mem" },
 * );
 * await f.read("x"); // Float32Array [0.5]
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./dtypes.ts";
export * from "./fp8.ts";
export * from "./safetensors.ts";
export * from "./hf_names.ts";
export * from "./sharded.ts";
