/**
 * FLOP and byte counts of one attention case (FlashMLA's conventions) and the
 * roofline fraction.
 *
 * - FLOP = 2 * (d + dv) * h_q * pairs, where pairs = sum over queries of the keys
 *   each one sees. For decode without a mask pairs = b * s_q * s_k, which is
 *   FlashMLA's `b * h_q * s_q * s_k * 2 * (d + dv)`; for a causal mask it counts
 *   only the visible (query, key) pairs, the work the kernels actually do.
 *   Absorbed: d = kv_lora + rope (576), dv = kv_lora (512). Dense: d = nope + rope
 *   (192), dv = v (128).
 * - bytes with FlashMLA's element counts: absorbed: 4 * q + sizeof(dtype) * cache +
 *   4 * out, q = b*s_q*h*576, cache = keys*576 (read once, shared by every head),
 *   out = b*s_q*h*512; dense: sizeof(dtype) * (q + K + V) + 4 * out, q = b*s_q*h*192,
 *   K = keys*h*192, V = keys*h*128, out = b*s_q*h*128 (keys = sum of the sequences' cache
 *   lengths). The output is 4 bytes an element in both dtypes: every kernel writes it in
 *   f32 (FlashMLA, which writes bf16, counts 2). So is the absorbed query q~ = [q_nope W_UK |
 *   q_pe]: every absorbed kernel reads it in f32 whatever the storage dtype (kernels/launch.ts
 *   `absorbQ` with `dtype: "f32"`: q_nope W_UK can pass f16's 65504).
 * - roofline_fraction = max(bytes / memory bandwidth, FLOP / FMA peak) / time: the
 *   share of the time the better of the two ceilings says is unavoidable (the memory
 *   bandwidth is the best of the measured copy, read and texture-read ceilings).
 *
 * @module
 */
import type { AttentionPath, Dtype, MlaSpec } from "../adapter/types.ts";

/** Bytes of an output element: the kernels write the output in f32 whatever the dtype. */
const OUT_BYTES = 4;

/**
 * Bytes of an absorbed query element: every absorbed kernel reads q~ = [q_nope W_UK | q_pe]
 * in f32 whatever the storage dtype (kernels/launch_absorbed*.ts `absorbQ(..., { dtype: "f32" })`).
 */
const Q_ABSORBED_BYTES = 4;

/** Shape of a case as the formulas need it. */
export interface WorkShape {
  /** Heads h_q. */
  readonly heads: number;
  /** Query tokens in all (b * s_q for uniform layouts). */
  readonly queries: number;
  /** Cached keys in all (sum of cache lengths: b * s_k for uniform layouts). */
  readonly keys: number;
  /** Visible (query, key) pairs (b * s_q * s_k without a mask). */
  readonly pairs: number;
}

/** FLOP and bytes of one case. */
export interface Work {
  /** Floating-point operations. */
  readonly flop: number;
  /** Bytes of q, cache (or K and V) and output. */
  readonly bytes: number;
  /** Key width d and value width dv used. */
  readonly d: number;
  /** Value width. */
  readonly dv: number;
}

/**
 * FLOP and bytes of a case by FlashMLA's formulas (see the module doc).
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { workOf } from "./formulas.ts";
 * const spec = presetSpec("deepseek-v2-lite");
 * const w = workOf(spec, { path: "absorbed", dtype: "f32",
 *   shape: { heads: 16, queries: 4, keys: 4 * 4096, pairs: 4 * 4096 } });
 * w.flop; // 4 * 16 * 4096 * 2 * (576 + 512) = 570425344
 * ```
 */
export function workOf(
  spec: MlaSpec,
  options: { path: AttentionPath; dtype: Dtype; shape: WorkShape },
): Work {
  const { heads, queries, keys, pairs } = options.shape;
  const eb = options.dtype === "f16" ? 2 : 4;
  if (options.path === "absorbed") {
    const d = spec.kvLoraRank + spec.qkRopeHeadDim;
    const dv = spec.kvLoraRank;
    // q~ (queries*h*d, f32) + cache (keys*d, shared by all heads) + out (queries*h*dv, f32)
    const bytes = Q_ABSORBED_BYTES * queries * heads * d + eb * keys * d +
      OUT_BYTES * queries * heads * dv;
    return { flop: 2 * (d + dv) * heads * pairs, bytes, d, dv };
  }
  const d = spec.qkNopeHeadDim + spec.qkRopeHeadDim;
  const dv = spec.vHeadDim;
  // q (queries*h*d) + K (keys*h*d) + V (keys*h*dv) + out (queries*h*dv, f32)
  const bytes = eb * (queries * heads * d + keys * heads * (d + dv)) +
    OUT_BYTES * queries * heads * dv;
  return { flop: 2 * (d + dv) * heads * pairs, bytes, d, dv };
}

/**
 * Roofline fraction: max(bytes / memory bandwidth, FLOP / FMA peak) / time. The memory
 * bandwidth is the best of the measured copy, read and texture-read ceilings
 * (bench/ceilings.ts `memoryRoof`).
 *
 * @example
 * ```ts
 * import { rooflineFraction } from "./formulas.ts";
 * // 1 GB at 10 GB/s = 100 ms; 1 GFLOP at 100 GFLOP/s = 10 ms; measured 200 ms
 * rooflineFraction({ flop: 1e9, bytes: 1e9 }, { ms: 200, memoryGBps: 10, fmaGflops: 100 }); // 0.5
 * ```
 */
export function rooflineFraction(
  work: { flop: number; bytes: number },
  options: { ms: number; memoryGBps: number; fmaGflops: number },
): number {
  const memMs = work.bytes / (options.memoryGBps * 1e6);
  const flopMs = work.flop / (options.fmaGflops * 1e6);
  return Math.max(memMs, flopMs) / options.ms;
}
