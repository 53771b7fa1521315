/**
 * The launcher of the bundled `wgsl-absorbed` backend: query absorption, the latent
 * MQA kernel (absorbed.wgsl, split-KV), the combine pass when the plan splits, and
 * the W_UV up-projection. Every kernel parameter comes from the plan.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import type { AttentionBuffers, LaunchKit } from "./launch.ts";
import { queryTiles } from "./tables.ts";

/**
 * Encode the absorbed path of a plan.
 *
 * @example
 * ```ts ignore
 * await launchAbsorbed(plan, buffers, kit);
 * ```
 */
export async function launchAbsorbed(
  plan: GpuPlan,
  buffers: AttentionBuffers,
  kit: LaunchKit,
): Promise<void> {
  const v = plan.variant;
  const a = plan.attention;
  const h = a.numHeads;
  const totalQ = plan.layout.totalQ;
  // 1. q~ = [q_nope W_UK | q_pe] per row and head, in f32 whatever the storage dtype: q_nope
  // W_UK can pass f16's 65504 where q_nope, the cache and the reference stay in range.
  const qAbs = await kit.absorbQ(plan, buffers, { dtype: "f32" });
  // 2. Latent MQA over the plan's query tiles, head tiles and KV splits.
  const tiles = Math.ceil(h / v.headsPerTile);
  const qTileTable = queryTiles(plan.layout, v.queryTile);
  const attn = await kit.kernel("absorbed.wgsl", "absorbed", {
    WG: v.workgroupSize,
    HEADS: v.headsPerTile,
    HPL: v.headsPerInvocation,
    KEY_VEC4: a.keyWidth / 4,
    VAL_VEC4: a.valueWidth / 4,
    QT: v.queryTile,
    BLOCK: v.keysPerBlock,
  });
  const { x, xPart, lsePart } = kit.latentOutputs(plan, buffers);
  kit.dispatch("absorbed", attn, [
    kit.uniform(
      kit.writer().u32(qTileTable.length / 2).u32(totalQ).u32(h).u32(tiles).u32(v.kvSplits)
        .f32(a.softmaxScale).f32(-Infinity),
    ),
    qAbs,
    buffers.kvCache,
    buffers.qMeta,
    buffers.kRows,
    xPart,
    lsePart,
    kit.upload(qTileTable.length ? qTileTable : [0, 1], "q_tiles", "u32"),
  ], [(qTileTable.length / 2) * tiles, v.kvSplits]);
  // 3. Merge the splits (when split), then o = W_UV x.
  await kit.finishLatent(plan, buffers, { x, xPart, lsePart });
}
