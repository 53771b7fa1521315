/**
 * The launcher of the bundled `wgsl-absorbed-tiled` backend: query absorption, the
 * GPU-shaped latent MQA kernel (absorbed_tiled.wgsl: key tiles staged in workgroup
 * memory, split-KV), the combine pass when the plan splits, and the W_UV
 * up-projection. Every kernel parameter comes from the plan's variant.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import { grid1d } from "../gpu/dispatch.ts";
import { type AttentionBuffers, type LaunchKit, planBufferBytes } from "./launch.ts";
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
  // 1. q~ = [q_nope W_UK | q_pe] per row and head.
  const qAbs = kit.storage(planBufferBytes(plan, "q_absorbed"), "q_absorbed");
  await kit.absorbQ(plan, buffers, qAbs);
  // 2. Tiled latent MQA: grid x = query tiles x head tiles, y = KV splits.
  const headTiles = Math.ceil(h / v.headsPerTile);
  const qTileTable = queryTiles(plan.layout, v.queryTile);
  const attn = await kit.kernel("absorbed_tiled.wgsl", "absorbed_tiled", {
    WG: v.workgroupSize,
    HT: v.headsPerTile,
    QT: v.queryTile,
    KT: v.keysPerBlock,
    KEY_VEC4: a.keyWidth / 4,
    VAL_VEC4: a.valueWidth / 4,
  });
  const split = v.kvSplits > 1;
  const x = kit.storage(planBufferBytes(plan, "x_latent"), "x_latent");
  const xPart = split ? kit.storage(planBufferBytes(plan, "x_latent_out"), "x_part") : x;
  const lsePart = split ? kit.storage(planBufferBytes(plan, "lse_part"), "lse_part") : buffers.lse;
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
  if (split) {
    const comb = await kit.kernel("combine.wgsl", "combine");
    kit.dispatch("combine", comb, [
      kit.uniform(
        kit.writer().u32(totalQ * h).u32(a.valueWidth / 4).u32(v.kvSplits).f32(-Infinity),
      ),
      xPart,
      lsePart,
      x,
      buffers.lse,
    ], grid1d(totalQ * h * (a.valueWidth / 4)));
  }
  // 3. o = W_UV x.
  await kit.upProject(plan, buffers, x);
}
