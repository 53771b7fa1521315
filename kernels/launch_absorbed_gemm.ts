/**
 * The launcher of the bundled `wgsl-absorbed-gemm` backend: query absorption, the
 * CPU-shaped latent MQA (absorbed_gemm.wgsl: scores, softmax and values passes around a
 * score buffer) and the W_UV up-projection. Every kernel parameter comes from the plan's
 * variant (adapter/gemm_plan.ts).
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import type { AttentionBuffers, LaunchKit } from "./launch.ts";
import { planBufferBytes } from "./launch.ts";
import { dispatchGemmSoftmax, gemmVariant } from "./gemm_softmax.ts";

/**
 * Encode the gemm-shaped absorbed path of a plan.
 *
 * @example
 * ```ts ignore
 * await launchAbsorbedGemm(plan, buffers, kit);
 * ```
 */
export async function launchAbsorbedGemm(
  plan: GpuPlan,
  buffers: AttentionBuffers,
  kit: LaunchKit,
): Promise<void> {
  const v = plan.variant;
  const a = plan.attention;
  const h = a.numHeads;
  const totalQ = plan.layout.totalQ;
  const { columnsPerInvocation: ev, scoreVec4PerRow: kmax4 } = gemmVariant(plan);
  // 1. q~ = [q_nope W_UK | q_pe] per row and head.
  const qAbs = await kit.absorbQ(plan, buffers);
  // 2. Scores, softmax (gemm_softmax.ts) and values; scores and values share their bindings.
  const params = {
    WG: v.workgroupSize,
    HT: v.headsPerTile,
    KEY_VEC4: a.keyWidth / 4,
    VAL_VEC4: a.valueWidth / 4,
    EV: ev,
  };
  const { x, xPart, lsePart } = kit.latentOutputs(plan, buffers);
  const probs = kit.storage(planBufferBytes(plan, "scores"), "scores");
  const bindings = [
    kit.uniform(kit.writer().u32(totalQ).u32(h).f32(a.softmaxScale).u32(kmax4)),
    qAbs,
    buffers.kvCache,
    buffers.qMeta,
    buffers.kRows,
    probs,
    xPart,
  ];
  const headTiles = Math.ceil(h / v.headsPerTile);
  const wg = v.workgroupSize;
  const groups = Math.ceil(kmax4 * 4 / v.keysPerBlock);
  kit.dispatch(
    "gemm_scores",
    await kit.kernel("absorbed_gemm.wgsl", "scores", params),
    bindings,
    [Math.ceil(groups / wg), headTiles, totalQ],
  );
  await dispatchGemmSoftmax(kit, plan, { qMeta: buffers.qMeta, probs, lse: lsePart });
  kit.dispatch(
    "gemm_values",
    await kit.kernel("absorbed_gemm.wgsl", "values", params),
    bindings,
    [Math.ceil(Math.ceil(a.valueWidth / 4 / ev) / wg), headTiles, totalQ],
  );
  // 3. o = W_UV x (one split: x is final, the LSE is in buffers.lse).
  await kit.finishLatent(plan, buffers, { x, xPart, lsePart });
}
