/**
 * The launcher of the bundled `wgsl-expanded` backend (the dense-attention
 * baseline): q packed from the standard q_nope and rotated q_pe, per-head K/V
 * expanded from the latent cache (in row chunks whose bindings fit the device), and
 * dense attention (expanded.wgsl): reading K and V through the plan's textures where it
 * has them, else bound per group of sequences. Every kernel parameter comes from the plan.
 *
 * @module
 */
import { expandedTextureBinding } from "../adapter/gemm_plan.ts";
import type { GpuPlan } from "../adapter/types.ts";
import {
  type AttentionBuffers,
  type Binding,
  type LaunchKit,
  packedRows,
  variantFields,
} from "./launch.ts";
import { queryTiles } from "./tables.ts";

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
  // 1-2. q packed, per-head K/V expanded from the cache (the kit's dense preparation).
  const dense = await kit.expandDense(plan, buffers);
  const { q, k, v: vBuf } = dense;
  // 3. Dense attention: query tiles of QT queries. With the plan's K/V textures (copied
  //    from the expanded buffers as cache construction) every dispatch reads the whole
  //    textures; without them, one dispatch per group of sequences whose K/V rows fit one
  //    binding (one group unless K is huge).
  const headTiles = Math.ceil(h / v.headsPerTile);
  const kShape = v.keyTexture;
  const vShape = v.valueTexture;
  const textures = kShape !== undefined && vShape !== undefined;
  // Packed f16 rows (rgba32uint, two vec4s per texel; the plan packs K and V alike) are the
  // `packed` switch, other textures `stex` (read-only storage) or `tex` (sampled) as
  // expandedTextureBinding says, none the buffer path.
  const packed = packedRows("wgsl-expanded", textures ? [kShape, vShape] : []);
  const textureSwitch = expandedTextureBinding(v) === "storage" ? "stex" : "tex";
  const attn = await kit.kernel("expanded.wgsl", "expanded", {
    WG: v.workgroupSize,
    HEADS: v.headsPerTile,
    QT: v.queryTile,
    QK_VEC4: kc / 4,
    V_VEC4: vDim / 4,
    BLOCK: v.keysPerBlock,
    DSTEP: variantFields(plan, ["decodeStep"], "wgsl-expanded").decodeStep,
    RPTK: kShape?.rowsPerTexelRow ?? 1,
    RPTV: vShape?.rowsPerTexelRow ?? 1,
    CPT: packed.CPT,
  }, packed.CPT === 2 ? packed.switches : textures ? [textureSwitch] : []);
  const { tiles, groups } = textures
    ? { tiles: queryTiles(layout, v.queryTile), groups: null }
    : kit.denseGroups(plan, dense);
  const qTiles = kit.upload(tiles.length ? tiles : [0, 1], "q_tiles", "u32");
  // What each dispatch binds as K and V, over which tiles: the whole textures over every
  // tile, or each group's slices of the buffers over its tiles.
  let parts: { tileBegin: number; tiles: number; base: number[]; kv: Binding[] }[];
  if (groups === null) {
    const t = await kit.keyValueTextures(plan, {
      k,
      v: vBuf,
      keyTexture: kShape!,
      valueTexture: vShape!,
    });
    parts = [{ tileBegin: 0, tiles: tiles.length / 2, base: [0, 0], kv: [t.key, t.value] }];
  } else {
    parts = groups.map((g) => ({
      tileBegin: g.tileBegin,
      tiles: g.tiles,
      base: [g.kBase, g.vBase],
      kv: [
        { buffer: k, offset: g.kOffset, size: g.kSize },
        { buffer: vBuf, offset: g.vOffset, size: g.vSize },
      ],
    }));
  }
  // The grid is (tiles x head tiles) workgroups along x: dispatches of at most
  // maxComputeWorkgroupsPerDimension of them (a decode of tens of thousands of sequences).
  const perDispatch = Math.max(
    1,
    Math.floor(kit.limits.maxComputeWorkgroupsPerDimension / headTiles),
  );
  for (const p of parts) {
    for (let begin = 0; begin < p.tiles; begin += perDispatch) {
      const n = Math.min(perDispatch, p.tiles - begin);
      kit.dispatch("expanded", attn, [
        kit.uniform(
          kit.writer().u32(n).u32(p.tileBegin + begin).u32(h).u32(headTiles)
            .u32(p.base[0]).u32(p.base[1]).f32(a.softmaxScale).f32(-Infinity),
        ),
        q,
        ...p.kv,
        buffers.qMeta,
        buffers.kRows,
        buffers.out,
        buffers.lse,
        qTiles,
      ], [n * headTiles]);
    }
  }
}
