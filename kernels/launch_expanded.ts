/**
 * The launcher of the bundled `wgsl-expanded` backend (the dense-attention
 * baseline): q packed from the standard q_nope and rotated q_pe, per-head K/V
 * expanded from the latent cache (in row chunks whose bindings fit the device), and
 * dense attention (expanded.wgsl) per group of sequences. Every kernel parameter
 * comes from the plan.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import type { AttentionBuffers, LaunchKit } from "./launch.ts";
import { denseGroups } from "./tables.ts";

/**
 * Encode the expanded path of a plan.
 *
 * @example
 * ```ts ignore
 * await launchExpanded(plan, buffers, kit);
 * ```
 */
export async function launchExpanded(
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
  const eb = v.dtype === "f16" ? 2 : 4;
  const limits = kit.device.limits;
  const maxBinding = limits.maxStorageBufferBindingSize;
  const align = limits.minStorageBufferOffsetAlignment;
  // 1-2. q packed, per-head K/V expanded from the cache (the kit's dense preparation).
  const { q, k, v: vBuf, rowK, rowV } = await kit.expandDense(plan, buffers);
  // 3. Dense attention: query tiles of QT queries, one dispatch per group of
  //    sequences whose K/V rows fit one binding (one group unless K is huge).
  const headTiles = Math.ceil(h / v.headsPerTile);
  const attn = await kit.kernel("expanded.wgsl", "expanded", {
    WG: v.workgroupSize,
    HEADS: v.headsPerTile,
    QT: v.queryTile,
    QK_VEC4: kc / 4,
    V_VEC4: vDim / 4,
    BLOCK: v.keysPerBlock,
  });
  const { tiles, groups } = denseGroups(layout, v.queryTile, { rowK, rowV, maxBinding, align });
  const qTiles = kit.upload(tiles.length ? tiles : [0, 1], "q_tiles", "u32");
  for (const g of groups) {
    kit.dispatch("expanded", attn, [
      kit.uniform(
        kit.writer().u32(g.tiles).u32(g.tileBegin).u32(h).u32(headTiles)
          .u32(g.kOffset / (4 * eb)).u32(g.vOffset / (4 * eb))
          .f32(a.softmaxScale).f32(-Infinity),
      ),
      q,
      { buffer: k, offset: g.kOffset, size: g.kSize },
      { buffer: vBuf, offset: g.vOffset, size: g.vSize },
      buffers.qMeta,
      buffers.kRows,
      buffers.out,
      buffers.lse,
      qTiles,
    ], [g.tiles * headTiles]);
  }
}
