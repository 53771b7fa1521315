/**
 * The launcher of the bundled `wgsl-expanded-tiled` backend: q packed and K/V expanded
 * exactly as `wgsl-expanded` does (cache construction, not part of the attention
 * core), then the FlashAttention-2-shaped dense kernel (expanded_fa2.wgsl) per group
 * of sequences whose K/V rows fit one binding.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import { type AttentionBuffers, type LaunchKit, planBufferBytes, variantFields } from "./launch.ts";

/**
 * Encode the tiled expanded path of a plan.
 *
 * @example
 * ```ts ignore
 * await launchExpandedTiled(plan, buffers, kit);
 * ```
 */
export async function launchExpandedTiled(
  plan: GpuPlan,
  buffers: AttentionBuffers,
  kit: LaunchKit,
): Promise<void> {
  const v = plan.variant;
  const a = plan.attention;
  const layout = plan.layout;
  const h = a.numHeads;
  const kc = a.keyWidth;
  const vDim = a.valueWidth;
  // 1-2. q packed, per-head K/V expanded from the cache exactly as wgsl-expanded does
  //      (the kit's dense preparation, timed as its own passes).
  const dense = await kit.expandDense(plan, buffers);
  const { q, k, v: vBuf } = dense;
  // 3. The tiled attention: one workgroup per (query tile, head), tiles of the plan's
  //    query tile (64, or 32 / 16 to fill a GPU's SMs: adapter/tiled_plan.ts fa2QueryTile).
  //    The kernel's BQ must be at least the host's tile (a shorter tile is a partial one).
  const attn = await kit.kernel("expanded_fa2.wgsl", "expanded_fa2", {
    QK_VEC4: kc / 4,
    V_VEC4: vDim / 4,
    BQ: v.queryTile,
    BK: v.keysPerBlock,
    WG: v.workgroupSize,
    DKV: variantFields(plan, ["chunkVec4"], "wgsl-expanded-tiled").chunkVec4,
  });
  const { tiles, groups } = kit.denseGroups(plan, dense);
  const qTiles = kit.upload(tiles.length ? tiles : [0, 1], "q_tiles", "u32");
  // KV splits (grid y; a decode's few tiles would leave a GPU's SMs idle): each split's
  // normalized partial and LSE, merged by the combine pass into out and lse (part of the
  // attention core). One split writes out and lse itself.
  const splits = v.kvSplits;
  const outPart = splits > 1 ? kit.storage(planBufferBytes(plan, "out_part"), "out_part") : null;
  const lsePart = splits > 1 ? kit.storage(planBufferBytes(plan, "lse_part"), "lse_part") : null;
  for (const g of groups) {
    kit.dispatch("expanded_fa2", attn, [
      kit.uniform(
        kit.writer().u32(g.tiles).u32(g.tileBegin).u32(h)
          .u32(g.kBase).u32(g.vBase)
          .f32(a.softmaxScale * Math.LOG2E).f32(-Infinity).u32(splits).u32(layout.totalQ),
      ),
      q,
      { buffer: k, offset: g.kOffset, size: g.kSize },
      { buffer: vBuf, offset: g.vOffset, size: g.vSize },
      buffers.qMeta,
      buffers.kRows,
      outPart ?? buffers.out,
      lsePart ?? buffers.lse,
      qTiles,
    ], [g.tiles * h, splits]);
  }
  if (outPart !== null && lsePart !== null) {
    await kit.combineSplits(plan, { xPart: outPart, lsePart, x: buffers.out, lse: buffers.lse });
  }
}
