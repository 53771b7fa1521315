/**
 * The launcher of the bundled `wgsl-expanded-gemm` backend: q packed and K/V expanded
 * (the kit's dense preparation) and copied into textures, then the CPU-shaped dense
 * attention (expanded_gemm.wgsl: scores and values passes per group of sequences, the
 * groups of the expanded path, around the shared softmax pass). Every kernel parameter comes from
 * the plan's variant (adapter/gemm_plan.ts).
 *
 * @module
 */
import { gemmValueColumnGroups } from "../adapter/gemm_plan.ts";
import type { GpuPlan } from "../adapter/types.ts";
import type { AttentionBuffers, LaunchKit } from "./launch.ts";
import { packedRows, planBufferBytes, variantFields } from "./launch.ts";
import { dispatchGemmSoftmax, gemmProbTexture, gemmVariant } from "./gemm_softmax.ts";
import { balancedTiles } from "./tables.ts";

/**
 * Encode the gemm-shaped expanded path of a plan.
 *
 * @example
 * ```ts ignore
 * await launchExpandedGemm(plan, buffers, kit);
 * ```
 */
export async function launchExpandedGemm(
  plan: GpuPlan,
  buffers: AttentionBuffers,
  kit: LaunchKit,
): Promise<void> {
  const v = plan.variant;
  const a = plan.attention;
  const h = a.numHeads;
  const kc = a.keyWidth;
  const vDim = a.valueWidth;
  const { columnsPerInvocation: ev, scoreVec4PerRow: kmax4 } = gemmVariant(plan);
  const { queryTexture, keyTexture, valueTexture } = variantFields(
    plan,
    ["queryTexture", "keyTexture", "valueTexture"],
    "wgsl-expanded-gemm",
  );
  // 1-2. q packed, per-head K/V expanded from the cache (the kit's dense preparation).
  const dense = await kit.expandDense(plan, buffers);
  const { q, k, v: vBuf } = dense;
  // Then into the textures the passes read them through (expanded_gemm.wgsl): K and V as
  // cache construction, q as part of its packing (outside the attention core, as pack_q).
  const rows = plan.layout.qRows * h;
  const qTex = await kit.rowsTexture("query_texture", q, queryTexture, {
    rows,
    rowVec4: kc / 4,
  });
  const { key: kTex, value: vTex } = await kit.keyValueTextures(plan, {
    k,
    v: vBuf,
    keyTexture,
    valueTexture,
  });
  const packed = packedRows("wgsl-expanded-gemm", [queryTexture, keyTexture, valueTexture]);
  // The probabilities through a texture where the plan has one: the softmax writes it, the
  // values pass reads it (expanded_gemm.wgsl's ptex lines).
  const pt = gemmProbTexture(kit, plan);
  const params = {
    WG: v.workgroupSize,
    KG: v.keysPerBlock,
    QT: v.queryTile,
    QK_VEC4: kc / 4,
    V_VEC4: vDim / 4,
    EV: ev,
    RPTQ: queryTexture.rowsPerTexelRow,
    RPTK: keyTexture.rowsPerTexelRow,
    RPTV: valueTexture.rowsPerTexelRow,
    // Packed f16 rows (the plan packs q, K and V alike): texels of two vec4s.
    CPT: packed.CPT,
    RPTP: pt?.rowsPerTexelRow ?? 1,
  };
  const switches = [...packed.switches, ...(pt ? ["ptex"] : [])];
  const scoresPipe = await kit.kernel("expanded_gemm.wgsl", "scores", params, switches);
  const valuesPipe = await kit.kernel("expanded_gemm.wgsl", "values", params, switches);
  const probs = kit.storage(planBufferBytes(plan, "scores"), "scores");
  const { tiles, groups } = kit.denseGroups(plan, dense);
  // Each group's tiles heaviest, lightest, next heaviest, ...: lavapipe runs one
  // contiguous run of a grid per thread, and in increasing order (a causal prefill) the
  // last thread would get most of the work (measured 1.4-1.6x, docs/benchmarks.md).
  const order = balancedTiles(plan.layout, tiles, groups);
  const qTiles = kit.upload(order.length ? order : [0, 1], "q_tiles", "u32");
  const wg = v.workgroupSize;
  const keyGroups = Math.ceil(kmax4 * 4 / v.keysPerBlock);
  // 3. Scores per group (its K binding), the softmax over every row, values per group.
  const bindingsOf = (g: (typeof groups)[number]) => [
    kit.uniform(
      kit.writer().u32(g.tiles).u32(g.tileBegin).u32(h).f32(a.softmaxScale).u32(kmax4),
    ),
    qTex,
    kTex,
    vTex,
    buffers.qMeta,
    buffers.kRows,
    qTiles,
    probs,
    buffers.out,
  ];
  for (const g of groups) {
    // Lanes along the heads (expanded_gemm.wgsl scores): x = key groups.
    kit.dispatch("gemm_scores", scoresPipe, bindingsOf(g), [
      keyGroups,
      Math.ceil(h / wg),
      g.tiles,
    ]);
  }
  await dispatchGemmSoftmax(kit, plan, {
    qMeta: buffers.qMeta,
    probs,
    lse: buffers.lse,
    probTexture: pt,
  });
  for (const g of groups) {
    kit.dispatch("gemm_values", valuesPipe, pt ? [...bindingsOf(g), pt.view] : bindingsOf(g), [
      gemmValueColumnGroups(vDim / 4, ev, wg),
      h,
      g.tiles,
    ]);
  }
}
