/**
 * The launcher of the bundled `wgsl-expanded` backend (the dense-attention
 * baseline): q packed from the standard q_nope and rotated q_pe, per-head K/V
 * expanded from the latent cache (in row chunks whose bindings fit the device), and
 * dense attention (expanded.wgsl): reading K and V through the plan's textures where it
 * has them, else bound per group of sequences. Every kernel parameter comes from the plan.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import type { AttentionBuffers, LaunchKit } from "./launch.ts";
import { denseGroups, queryTiles } from "./tables.ts";

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
  // 3. Dense attention: query tiles of QT queries. With the plan's K/V textures (copied
  //    from the expanded buffers as cache construction) every dispatch reads the whole
  //    textures; without them, one dispatch per group of sequences whose K/V rows fit one
  //    binding (one group unless K is huge).
  const headTiles = Math.ceil(h / v.headsPerTile);
  const kShape = v.keyTexture;
  const vShape = v.valueTexture;
  const textures = kShape !== undefined && vShape !== undefined;
  const attn = await kit.kernel("expanded.wgsl", "expanded", {
    WG: v.workgroupSize,
    HEADS: v.headsPerTile,
    QT: v.queryTile,
    QK_VEC4: kc / 4,
    V_VEC4: vDim / 4,
    BLOCK: v.keysPerBlock,
    RPTK: kShape?.rowsPerTexelRow ?? 1,
    RPTV: vShape?.rowsPerTexelRow ?? 1,
  }, textures ? ["tex"] : []);
  const qTilesOf = (tiles: number[]) => kit.upload(tiles.length ? tiles : [0, 1], "q_tiles", "u32");
  const params = (tiles: number, tileBegin: number, kBase: number, vBase: number) =>
    kit.uniform(
      kit.writer().u32(tiles).u32(tileBegin).u32(h).u32(headTiles).u32(kBase).u32(vBase)
        .f32(a.softmaxScale).f32(-Infinity),
    );
  if (textures) {
    const kvRows = layout.kRows * h;
    const kTex = await kit.rowsTexture("key_texture", k, kShape, {
      rows: kvRows,
      rowVec4: kc / 4,
      construction: true,
    });
    const vTex = await kit.rowsTexture("value_texture", vBuf, vShape, {
      rows: kvRows,
      rowVec4: vDim / 4,
      construction: true,
    });
    const tiles = queryTiles(layout, v.queryTile);
    const qTiles = qTilesOf(tiles);
    // The grid is (tiles x head tiles) workgroups along x: dispatches of at most
    // maxComputeWorkgroupsPerDimension of them.
    const perDispatch = Math.max(
      1,
      Math.floor(limits.maxComputeWorkgroupsPerDimension / headTiles),
    );
    for (let begin = 0; begin < tiles.length / 2; begin += perDispatch) {
      const n = Math.min(perDispatch, tiles.length / 2 - begin);
      kit.dispatch("expanded", attn, [
        params(n, begin, 0, 0),
        q,
        kTex,
        vTex,
        buffers.qMeta,
        buffers.kRows,
        buffers.out,
        buffers.lse,
        qTiles,
      ], [n * headTiles]);
    }
    return;
  }
  const { tiles, groups } = denseGroups(layout, v.queryTile, { rowK, rowV, maxBinding, align });
  const qTiles = qTilesOf(tiles);
  for (const g of groups) {
    kit.dispatch("expanded", attn, [
      params(g.tiles, g.tileBegin, g.kOffset / (4 * eb), g.vOffset / (4 * eb)),
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
