/**
 * The softmax pass of the gemm-shaped backends (kernels/gemm_softmax.wgsl), between their
 * scores and values passes.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import { type LaunchKit, variantFields } from "./launch.ts";

/**
 * The gemm-specific fields of a plan's variant (set by the gemm backends' checks,
 * adapter/gemm_plan.ts), or an error naming the variant that lacks them.
 *
 * @example
 * ```ts ignore
 * const { columnsPerInvocation, scoreVec4PerRow } = gemmVariant(plan);
 * ```
 */
export function gemmVariant(
  plan: GpuPlan,
): { columnsPerInvocation: number; scoreVec4PerRow: number } {
  return variantFields(
    plan,
    ["columnsPerInvocation", "scoreVec4PerRow"],
    "a gemm backend (wgsl-absorbed-gemm, wgsl-expanded-gemm)",
  );
}

/** The buffers the softmax pass reads and writes. */
export interface GemmSoftmaxBuffers {
  /** q_meta of the standard buffers (keys each query sees). */
  readonly qMeta: GPUBuffer;
  /** Scores in, normalized probabilities out: [totalQ, h, scoreVec4PerRow] vec4s. */
  readonly probs: GPUBuffer;
  /** The rows' LSE: [totalQ, h] (the output LSE). */
  readonly lse: GPUBuffer;
  /**
   * Where the normalized probabilities go instead of back into `probs`: the plan's
   * probTexture (wgsl-absorbed-gemm), its view and rows per texture row. Omitted: in place.
   */
  readonly probTexture?: GemmProbTexture | null;
}

/** The probability texture of a gemm plan, made by {@link gemmProbTexture}. */
export interface GemmProbTexture {
  /** The view the softmax writes and the values pass reads. */
  readonly view: GPUTextureView;
  /** Rows per texture row (the kernels' RPTP). */
  readonly rowsPerTexelRow: number;
}

/**
 * The texture a gemm plan's softmax writes its probabilities into and its values pass
 * reads them through (the plan's `probTexture`), or null where the plan has none (the
 * values pass then reads the score buffer). The kernels take it with the `ptex` switch
 * and RPTP = its rowsPerTexelRow.
 *
 * @example
 * ```ts ignore
 * const pt = gemmProbTexture(kit, plan);
 * const switches = pt ? ["ptex"] : [];
 * ```
 */
export function gemmProbTexture(kit: LaunchKit, plan: GpuPlan): GemmProbTexture | null {
  const shape = plan.variant.probTexture;
  if (shape === undefined) return null;
  // P is f32 whatever the dtype: the kernels declare p_tex rgba32float.
  if (shape.format !== "rgba32float") {
    throw new Error(
      `plan ${plan.variant.family}: probTexture format ${shape.format}; the gemm kernels ` +
        "write and read probabilities as rgba32float",
    );
  }
  const view = kit.texture(shape, shape.format, "probs_texture").createView();
  return { view, rowsPerTexelRow: shape.rowsPerTexelRow };
}

/**
 * Dispatch the softmax pass over every (query, head) row of a gemm-shaped plan.
 *
 * @example
 * ```ts ignore
 * await dispatchGemmSoftmax(kit, plan, { qMeta, probs, lse });
 * ```
 */
export async function dispatchGemmSoftmax(
  kit: LaunchKit,
  plan: GpuPlan,
  buffers: GemmSoftmaxBuffers,
): Promise<void> {
  const v = plan.variant;
  const h = plan.attention.numHeads;
  const rows = plan.layout.totalQ * h;
  const { scoreVec4PerRow } = gemmVariant(plan);
  const pt = buffers.probTexture ?? null;
  kit.dispatch(
    "gemm_softmax",
    await kit.kernel(
      "gemm_softmax.wgsl",
      "softmax",
      { WG: v.workgroupSize, RPTP: pt?.rowsPerTexelRow ?? 1 },
      pt ? ["ptex"] : [],
    ),
    [
      kit.uniform(kit.writer().u32(rows).u32(h).u32(scoreVec4PerRow).f32(-Infinity)),
      buffers.qMeta,
      buffers.probs,
      buffers.lse,
      ...(pt ? [pt.view] : []),
    ],
    // Folded into y past the kit's per-dimension limit (the kernel unfolds it).
    kit.grid1d(rows, v.workgroupSize),
  );
}
