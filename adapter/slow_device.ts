/**
 * Cases too big for the GL fallback. With no Vulkan driver, wgpu runs WebGPU on llvmpipe
 * through GL, where compiling and running the attention kernels at real model sizes takes
 * minutes per case (measured on our 2-core machines: the first DeepSeek-V2-Lite decode
 * case, absorbed, did not finish in 100 s; expanded took 24 s, then 2-5 s a case, and 4
 * queries over 1100 keys ran for over 8 minutes), while the tiny presets take 0.1 s a case
 * and lavapipe (Vulkan) runs the whole smoke matrix in about a minute. Such cases are not
 * run there: `resolve()` refuses every GPU backend for them with `device.too-slow` when the
 * caps say the device is the GL fallback (`webgpuBackend` "gl" and a fallback adapter), so
 * `explain` says what `run` does; `run` reports them as not covered on this device, with
 * how to get them (install lavapipe), instead of stalling the run.
 *
 * The size is the latent work per key row the kernels do for all heads,
 * `kv_lora_rank × heads` (tiny: 32 × 4 = 128; V2-Lite: 512 × 16 = 8192).
 *
 * @module
 */
import type { DeviceCaps, MlaSpec, Reason } from "./types.ts";

/** Largest `kv_lora_rank × heads` run on the GL fallback (the tiny presets are far below). */
export const GL_FALLBACK_MAX_LATENT_WORK = 1024;

/** Reason code of a case not run because the device is too slow for its size. */
export const TOO_SLOW_CODE = "device.too-slow";

/**
 * Whether a device is the GL fallback: a software (fallback) adapter whose caps say it runs
 * under wgpu's GL backend (`webgpuBackend`, recorded when the harness creates the device; a
 * caps file without it is not the GL fallback).
 *
 * @example
 * ```ts
 * import { isGlFallback } from "./slow_device.ts";
 * isGlFallback({ adapter: { vendor: "", architecture: "", device: "", description: "llvmpipe",
 *   isFallbackAdapter: true }, features: [], limits: {}, webgpuBackend: "gl" }); // true
 * ```
 */
export function isGlFallback(caps: DeviceCaps): boolean {
  return caps.webgpuBackend === "gl" && caps.adapter.isFallbackAdapter === true;
}

/**
 * The reason a case is not run on this device because it is too slow for the case's size,
 * or null when it runs.
 *
 * @example
 * ```ts
 * import { tooSlowReason } from "./slow_device.ts";
 * import { presetSpec } from "./presets.ts";
 * const caps = { adapter: { vendor: "", architecture: "", device: "", description: "llvmpipe",
 *   isFallbackAdapter: true }, features: [], limits: {}, webgpuBackend: "gl" };
 * tooSlowReason(presetSpec("deepseek-v2-lite"), caps)?.code; // "device.too-slow"
 * ```
 */
export function tooSlowReason(spec: MlaSpec, caps: DeviceCaps): Reason | null {
  if (!isGlFallback(caps)) return null;
  const work = spec.kvLoraRank * spec.numHeads;
  if (work <= GL_FALLBACK_MAX_LATENT_WORK) return null;
  return {
    code: TOO_SLOW_CODE,
    message: `kv_lora_rank ${spec.kvLoraRank} x ${spec.numHeads} heads = ${work} is above ` +
      `${GL_FALLBACK_MAX_LATENT_WORK}, the largest the GL fallback (llvmpipe through GL) runs: ` +
      "it needs minutes per case at model sizes",
  };
}

/**
 * Most workgroup-memory elements a kernel declares on the GL fallback (counted per
 * array element: an f32 or a vec4 is one). WebGPU zero-fills workgroup memory before a
 * kernel runs. Under GL, wgpu's shader translator writes that fill as one store per
 * element in a single straight-line block, and llvmpipe compiles such a block in time
 * that grows with the square of its stores. `deno run -A tools/gl_zero_init_probe.ts`
 * (one workgroup array of f32, compiled at the first dispatch), on the GL fallback of a
 * 2-core machine, in two runs (the second beside other work): 256 elements 0.3-0.4 s, 1024
 * 3.8-5.0 s, 2048 21-32 s, 4096 88-166 s (1024 vec4s 11-14 s); the same 4096 on lavapipe,
 * which zero-fills through its driver, 0.04 s. The
 * tiled kernels size their tiles for workgroup memory in bytes (thousands of elements at
 * tiny widths), so on the GL fallback they take smaller tiles, within this many elements
 * (`tiledShape`, `fa2QueryTile` in adapter/tiled_plan.ts). A smaller tile computes the
 * same attention: parity holds at any tile; only speed changes.
 */
export const GL_FALLBACK_MAX_WORKGROUP_ELEMENTS = 1024;

/**
 * The most workgroup-memory elements a kernel should declare on this device: the
 * {@link GL_FALLBACK_MAX_WORKGROUP_ELEMENTS} cap on the GL fallback, else null (no cap).
 *
 * @example
 * ```ts
 * import { workgroupElementCap } from "./slow_device.ts";
 * workgroupElementCap({ adapter: { vendor: "", architecture: "", device: "",
 *   description: "llvmpipe", isFallbackAdapter: true }, features: [], limits: {},
 *   webgpuBackend: "gl" }); // 1024
 * workgroupElementCap(null); // null
 * ```
 */
export function workgroupElementCap(caps: DeviceCaps | null): number | null {
  return caps !== null && isGlFallback(caps) ? GL_FALLBACK_MAX_WORKGROUP_ELEMENTS : null;
}
