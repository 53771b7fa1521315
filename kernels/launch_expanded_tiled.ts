/**
 * The launcher of the bundled `wgsl-expanded-tiled` backend: q packed and K/V expanded
 * exactly as `wgsl-expanded` does (cache construction, not part of the attention
 * core), then the FlashAttention-2-shaped dense kernel (expanded_fa2.wgsl) per group
 * of sequences whose K/V rows fit one binding.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import { grid1d } from "../gpu/dispatch.ts";
import { type AttentionBuffers, type LaunchKit, planBufferBytes } from "./launch.ts";
import { denseGroups, expandChunks } from "./tables.ts";

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
  const nope = a.qkNopeHeadDim;
  const rope = a.qkRopeHeadDim;
  const r = a.kvLoraRank;
  const kc = a.keyWidth;
  const vDim = a.valueWidth;
  const eb = v.dtype === "f16" ? 2 : 4;
  const limits = kit.device.limits;
  const maxBinding = limits.maxStorageBufferBindingSize;
  const align = limits.minStorageBufferOffsetAlignment;
  // 1. q = [q_nope | rotated q_pe] per row and head.
  const q = kit.storage(planBufferBytes(plan, "q"), "q");
  const pack = await kit.kernel("pack_q.wgsl", "pack_q");
  kit.dispatch(
    "pack_q",
    pack,
    [
      kit.uniform(kit.writer().u32(layout.qRows * h).u32(nope).u32(rope)),
      buffers.qNope,
      buffers.qPe,
      q,
    ],
    grid1d(layout.qRows * h * kc),
    { core: false },
  );
  // 2. Per-head K and V from the cache (timed as its own pass, "expand_kv").
  const rowK = h * kc * eb;
  const rowV = h * vDim * eb;
  const k = kit.storage(planBufferBytes(plan, "k"), "k");
  const vBuf = kit.storage(planBufferBytes(plan, "v"), "v");
  const expand = await kit.kernel("expand_kv.wgsl", "expand_kv");
  for (const [row0, rows] of expandChunks(layout.kRows, rowK, rowV, maxBinding, align)) {
    kit.dispatch(
      "expand_kv",
      expand,
      [
        kit.uniform(
          kit.writer().u32(rows).u32(row0).u32(h).u32(nope).u32(vDim).u32(rope).u32(r / 4)
            .u32((r + rope) / 4),
        ),
        buffers.kvCache,
        buffers.kvCache,
        buffers.wKvB,
        { buffer: k, offset: row0 * rowK, size: rows * rowK },
        { buffer: vBuf, offset: row0 * rowV, size: rows * rowV },
      ],
      [Math.ceil(h * (nope + vDim + rope) / 64), Math.ceil(rows / 8)],
      { core: false },
    );
  }
  // 3. The tiled attention: one workgroup per (query tile, head).
  const attn = await kit.kernel("expanded_fa2.wgsl", "expanded_fa2", {
    QK_VEC4: kc / 4,
    V_VEC4: vDim / 4,
  });
  const { tiles, groups } = denseGroups(layout, v.queryTile, { rowK, rowV, maxBinding, align });
  const qTiles = kit.upload(tiles.length ? tiles : [0, 1], "q_tiles", "u32");
  for (const g of groups) {
    kit.dispatch("expanded_fa2", attn, [
      kit.uniform(
        kit.writer().u32(g.tiles).u32(g.tileBegin).u32(h)
          .u32(g.kOffset / (4 * eb)).u32(g.vOffset / (4 * eb))
          .f32(a.softmaxScale * Math.LOG2E).f32(-Infinity),
      ),
      q,
      { buffer: k, offset: g.kOffset, size: g.kSize },
      { buffer: vBuf, offset: g.vOffset, size: g.vSize },
      buffers.qMeta,
      buffers.kRows,
      buffers.out,
      buffers.lse,
      qTiles,
    ], [g.tiles * h]);
  }
}
