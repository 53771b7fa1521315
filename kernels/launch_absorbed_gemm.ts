/**
 * The launcher of the bundled `wgsl-absorbed-gemm` backend: query absorption, the
 * CPU-shaped latent MQA (absorbed_gemm.wgsl: scores, softmax and values passes around a
 * score buffer) and the W_UV up-projection. Every kernel parameter comes from the plan's
 * variant (adapter/gemm_plan.ts).
 *
 * @module
 */
import { gemmValueColumnGroups } from "../adapter/gemm_plan.ts";
import type { GpuPlan } from "../adapter/types.ts";
import type { AttentionBuffers, LaunchKit } from "./launch.ts";
import { packedRows, planBufferBytes, variantFields } from "./launch.ts";
import { dispatchGemmSoftmax, gemmProbTexture, gemmVariant } from "./gemm_softmax.ts";
import { LINEAR_WORKGROUP } from "../gpu/dispatch.ts";

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
  const { valueSplits: splits, keysPerValueSplit: splitKeys, cacheTexture, queryTexture } =
    variantFields(
      plan,
      ["valueSplits", "keysPerValueSplit", "cacheTexture", "queryTexture"],
      "wgsl-absorbed-gemm",
    );
  const keyVec4 = a.keyWidth / 4;
  // 1. q~ = [q_nope W_UK | q_pe] per row and head, then into the texture the scores pass
  // reads it through (a pass of the attention core: it runs every decode step). Both f32
  // whatever the storage dtype (the plan's query texture is rgba32float): q_nope W_UK can
  // pass f16's 65504 where q_nope, the cache and the reference stay in range.
  const qAbs = await kit.absorbQ(plan, buffers, { dtype: "f32" });
  const qRows = plan.layout.qRows * h;
  const qTex = await kit.rowsTexture("query_texture", qAbs, queryTexture, {
    rows: qRows,
    rowVec4: keyVec4,
    dtype: "f32",
  });
  // 2. The latent cache into the texture both passes read it through: cache construction,
  // outside the attention core (a serving loop keeps its cache in this form and appends
  // to it; run and bench time it once, apart).
  const cacheTex = await kit.rowsTexture("cache_texture", buffers.kvCache, cacheTexture, {
    rows: plan.layout.kRows,
    rowVec4: keyVec4,
  });
  // 3. Scores, softmax (gemm_softmax.ts) and values; scores and values share their bindings.
  // Packed f16 cache rows: texels of two vec4s (the query's texture is rgba32float, never
  // packed: absorbed_gemm.wgsl's ldq reads two of its texels per cache texel).
  if (queryTexture.format !== "rgba32float") {
    throw new Error(
      `wgsl-absorbed-gemm: the plan's query texture is ${queryTexture.format}; the absorbed ` +
        "query is f32 (rgba32float) in every dtype",
    );
  }
  const packed = packedRows("wgsl-absorbed-gemm", [cacheTexture]);
  // The probabilities through a texture where the plan has one: the softmax writes it, the
  // values pass reads it (absorbed_gemm.wgsl's ptex lines).
  const pt = gemmProbTexture(kit, plan);
  const switches = [...packed.switches, ...(pt ? ["ptex"] : [])];
  const params = {
    WG: v.workgroupSize,
    KG: v.keysPerBlock,
    HT: v.headsPerTile,
    KEY_VEC4: keyVec4,
    VAL_VEC4: a.valueWidth / 4,
    EV: ev,
    RPT: cacheTexture.rowsPerTexelRow,
    RPTQ: queryTexture.rowsPerTexelRow,
    CPT: packed.CPT,
    RPTP: pt?.rowsPerTexelRow ?? 1,
  };
  const { x, xPart, lsePart } = kit.latentOutputs(plan, buffers);
  const probs = kit.storage(planBufferBytes(plan, "scores"), "scores");
  // With key splits the values pass writes one partial x per split, summed into x below.
  const valueParts = splits > 1
    ? kit.storage(planBufferBytes(plan, "x_value_parts"), "x_value_parts")
    : xPart;
  const bindings = [
    kit.uniform(
      kit.writer().u32(totalQ).u32(h).f32(a.softmaxScale).u32(kmax4).u32(splitKeys).u32(splits),
    ),
    qTex,
    cacheTex,
    buffers.qMeta,
    buffers.kRows,
    probs,
    valueParts,
  ];
  const headTiles = Math.ceil(h / v.headsPerTile);
  const wg = v.workgroupSize;
  const groups = Math.ceil(kmax4 * 4 / v.keysPerBlock);
  kit.dispatch(
    "gemm_scores",
    await kit.kernel("absorbed_gemm.wgsl", "scores", params, switches),
    bindings,
    [Math.ceil(groups / wg), headTiles, totalQ],
  );
  await dispatchGemmSoftmax(kit, plan, {
    qMeta: buffers.qMeta,
    probs,
    lse: lsePart,
    probTexture: pt,
  });
  kit.dispatch(
    "gemm_values",
    await kit.kernel("absorbed_gemm.wgsl", "values", params, switches),
    pt ? [...bindings, pt.view] : bindings,
    [gemmValueColumnGroups(a.valueWidth / 4, ev, wg), headTiles, totalQ * splits],
  );
  if (splits > 1) {
    const n = totalQ * h * (a.valueWidth / 4);
    kit.dispatch(
      "gemm_split_sum",
      await kit.kernel("split_sum.wgsl", "split_sum", { WG: LINEAR_WORKGROUP }),
      [kit.uniform(kit.writer().u32(n).u32(splits)), valueParts, xPart],
      kit.grid1d(n),
    );
  }
  // 4. o = W_UV x (one split: x is final, the LSE is in buffers.lse).
  await kit.finishLatent(plan, buffers, { x, xPart, lsePart });
}
