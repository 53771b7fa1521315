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
import type { DeviceClassName } from "./device_class.ts";

/**
 * absorb_q.wgsl: TR rows x TC output vec4 columns per invocation (16 vec4 FMAs per 8 loads).
 */
const ABSORB_Q = { rows: 4, columns: 4 } as const;
/**
 * up_proj.wgsl: TT tokens x TM output channels per invocation (lavapipe counts loads per
 * FMA within a lane: 16 channels took the 256-token prefill's pass from 231 to 77 ms).
 */
const UP_PROJ = { tokens: 4, channels: 16 } as const;
/**
 * absorb_q_split.wgsl (gpu-class devices): a workgroup takes 4 rows x 32 output vec4s of one
 * head, 4 groups of 32 lanes splitting the nope channels (128 invocations; 384 vec4s of
 * workgroup memory, which the GL fallback compiles in about 2 s where 768 took 7).
 * absorb_q.wgsl gave the V2-Lite headline decode 768 invocations, 12 workgroups, on a
 * 132-SM GPU; this gives it 64 (and 16 that copy the rope columns), each lane 32 steps
 * instead of 128.
 */
const ABSORB_Q_SPLIT = { rows: 4, columns: 32, nopeGroups: 4 } as const;
/**
 * up_proj_split.wgsl (gpu-class devices): a workgroup of 256 invocations takes 4 tokens x 16
 * channels of one head, 32 lanes splitting each channel's latent width (8 groups of 2
 * channels). up_proj.wgsl's one-invocation walk gave the V2-Lite headline decode 128
 * invocations, two workgroups, on a 132-SM GPU; this gives it 128 workgroups.
 */
const UP_PROJ_SPLIT = { tokens: 4, channels: 16, latentLanes: 32, workgroupSize: 256 } as const;
/** expand_kv.wgsl: workgroups of 64 invocations, each a tile of 8 rows x 4 channels. */
const EXPAND_KV = { rows: 8, channels: 4, workgroupSize: 64 } as const;

/** Options of {@link harnessTilesOf}. */
export interface HarnessTilesOptions {
  /**
   * The device's class (adapter/device_class.ts): "gpu" takes the split forms of the query
   * absorption and the up-projection; "cpu" or none (no device) their one-lane walks.
   */
  readonly deviceClass?: DeviceClassName | null;
}

/**
 * The tiles of the harness passes a plan of `path` runs: the absorbed path absorbs q and
 * up-projects the latent outputs, the expanded path expands K and V. On a gpu-class device
 * the query absorption splits its sum over the nope channels over a workgroup's lane groups
 * (absorb_q_split.wgsl) and the up-projection its sum over the latent width over a
 * workgroup's lanes (up_proj_split.wgsl).
 *
 * @example
 * ```ts
 * import { harnessTilesOf } from "./harness_tiles.ts";
 * harnessTilesOf("absorbed").absorbQ; // { rows: 4, columns: 4 }
 * harnessTilesOf("absorbed", { deviceClass: "gpu" }).upProj?.latentLanes; // 32
 * harnessTilesOf("absorbed", { deviceClass: "gpu" }).absorbQ?.nopeGroups; // 4
 * harnessTilesOf("expanded").absorbQ; // undefined
 * ```
 */
export function harnessTilesOf(
  path: AttentionPath,
  options: HarnessTilesOptions = {},
): HarnessTiles {
  const gpu = options.deviceClass === "gpu";
  const absorbQ = gpu ? ABSORB_Q_SPLIT : ABSORB_Q;
  const upProj = gpu ? UP_PROJ_SPLIT : UP_PROJ;
  return path === "absorbed"
    ? { absorbQ: { ...absorbQ }, upProj: { ...upProj } }
    : { expandKv: { ...EXPAND_KV } };
}
