/**
 * The launcher of the bundled `wgsl-absorbed-tiled` backend: query absorption, the
 * GPU-shaped latent MQA kernel (absorbed_tiled.wgsl: key tiles staged in workgroup
 * memory, split-KV), the combine pass when the plan splits, and the W_UV
 * up-projection. Every kernel parameter comes from the plan's variant.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import { tiledKeysPerTrip, tiledUnrolledValueKeys } from "../adapter/tiled_plan.ts";
import { type AttentionBuffers, type LaunchKit, variantFields } from "./launch.ts";
import { queryTiles } from "./tables.ts";

/**
 * Encode the tiled absorbed path of a plan.
 *
 * @example
 * ```ts ignore
 * await launchAbsorbedTiled(plan, buffers, kit);
 * ```
 */
export async function launchAbsorbedTiled(
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
  // 2. Tiled latent MQA: grid x = query tiles x head tiles, y = KV splits.
  const headTiles = Math.ceil(h / v.headsPerTile);
  const qTileTable = queryTiles(plan.layout, v.queryTile);
  const rg = variantFields(plan, ["valueRowGroups"], "wgsl-absorbed-tiled").valueRowGroups;
  const attn = await kit.kernel("absorbed_tiled.wgsl", "absorbed_tiled", {
    WG: v.workgroupSize,
    HT: v.headsPerTile,
    QT: v.queryTile,
    KT: v.keysPerBlock,
    KPT: tiledKeysPerTrip(v),
    VU_N: tiledUnrolledValueKeys({ ...v, valueRowGroups: rg }),
    RG: rg,
    KEY_VEC4: a.keyWidth / 4,
    VAL_VEC4: a.valueWidth / 4,
  });
  const { x, xPart, lsePart } = kit.latentOutputs(plan, buffers);
  kit.dispatch("absorbed_tiled", attn, [
    kit.uniform(
      kit.writer().u32(qTileTable.length / 2).u32(totalQ).u32(h).u32(headTiles).u32(v.kvSplits)
        .f32(a.softmaxScale * Math.LOG2E).f32(-Infinity),
    ),
    qAbs,
    buffers.kvCache,
    buffers.qMeta,
    buffers.kRows,
    xPart,
    lsePart,
    kit.upload(qTileTable.length ? qTileTable : [0, 1], "q_tiles", "u32"),
  ], [(qTileTable.length / 2) * headTiles, v.kvSplits]);
  // 3. Merge the splits (when split), then o = W_UV x.
  await kit.finishLatent(plan, buffers, { x, xPart, lsePart });
}
