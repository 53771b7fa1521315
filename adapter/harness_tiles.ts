/**
 * The register tiles of the harness's own passes around a backend's attention core (the
 * query absorption and the up-projection on the absorbed path, the K/V expansion on the
 * expanded path), chosen here so that a plan carries every parameter its passes run with:
 * the launch kit (kernels/launch.ts) reads them from `plan.harnessTiles`, the kernels take
 * them as `// @param`s and `const_assert` the written-out form, and the plan digest covers
 * them.
 *
 * @module
 */
import type { AttentionPath, HarnessTiles } from "./types.ts";

/**
 * absorb_q.wgsl: TR rows x TC output vec4 columns per invocation (16 vec4 FMAs per 8 loads).
 */
const ABSORB_Q = { rows: 4, columns: 4 } as const;
/**
 * up_proj.wgsl: TT tokens x TM output channels per invocation (lavapipe counts loads per
 * FMA within a lane: 16 channels took the 256-token prefill's pass from 231 to 77 ms).
 */
const UP_PROJ = { tokens: 4, channels: 16 } as const;
/** expand_kv.wgsl: workgroups of 64 invocations, each a tile of 8 rows x 4 channels. */
const EXPAND_KV = { rows: 8, channels: 4, workgroupSize: 64 } as const;

/**
 * The tiles of the harness passes a plan of `path` runs: the absorbed path absorbs q and
 * up-projects the latent outputs, the expanded path expands K and V.
 *
 * @example
 * ```ts
 * import { harnessTilesOf } from "./harness_tiles.ts";
 * harnessTilesOf("absorbed").absorbQ; // { rows: 4, columns: 4 }
 * harnessTilesOf("expanded").absorbQ; // undefined
 * ```
 */
export function harnessTilesOf(path: AttentionPath): HarnessTiles {
  return path === "absorbed"
    ? { absorbQ: { ...ABSORB_Q }, upProj: { ...UP_PROJ } }
    : { expandKv: { ...EXPAND_KV } };
}
