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

/**
 * What each split form asks of the device: invocations per workgroup (one-dimensional, so
 * maxComputeWorkgroupSizeX bounds them too) and bytes of workgroup memory (its `part`
 * array of vec4<f32>: (RG - 1) x TT x LC in absorb_q_split.wgsl, MB x (LJ + 1) in
 * up_proj_split.wgsl).
 */
const ABSORB_Q_SPLIT_NEEDS = {
  file: "absorb_q_split.wgsl",
  walk: "absorb_q.wgsl",
  invocations: ABSORB_Q_SPLIT.columns * ABSORB_Q_SPLIT.nopeGroups,
  workgroupBytes: (ABSORB_Q_SPLIT.nopeGroups - 1) * ABSORB_Q_SPLIT.rows *
    ABSORB_Q_SPLIT.columns * 16,
} as const;
const UP_PROJ_SPLIT_NEEDS = {
  file: "up_proj_split.wgsl",
  walk: "up_proj.wgsl",
  invocations: UP_PROJ_SPLIT.workgroupSize,
  // MB = (WG / LJ) x CPG = the tile's channels, PSTRIDE = LJ + 1 (kernels/launch.ts's CPG)
  workgroupBytes: UP_PROJ_SPLIT.channels * (UP_PROJ_SPLIT.latentLanes + 1) * 16,
} as const;

/** Options of {@link harnessTilesOf}. */
export interface HarnessTilesOptions {
  /**
   * The device's class (adapter/device_class.ts): "gpu" takes the split forms of the query
   * absorption and the up-projection; "cpu" or none (no device) their one-lane walks.
   */
  readonly deviceClass?: DeviceClassName | null;
  /**
   * The device's limits (a caps file's, or the adapter's): a split form whose workgroup is
   * over maxComputeInvocationsPerWorkgroup or maxComputeWorkgroupSizeX, or whose workgroup
   * memory is over maxComputeWorkgroupStorageSize (WebGPU's defaults where absent: 256, 256
   * and 16384), is not taken; its one-lane walk is ({@link harnessSplitRefusals} says why).
   */
  readonly limits?: Readonly<Record<string, number>>;
}

/**
 * Why a split form cannot run on a device of these limits (each limit it is over), or
 * empty when it fits.
 */
function splitProblems(
  needs: { invocations: number; workgroupBytes: number },
  limits: Readonly<Record<string, number>> | undefined,
): string[] {
  const l = limits ?? {};
  const out: string[] = [];
  for (const name of ["maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX"]) {
    const max = l[name] ?? 256;
    if (needs.invocations > max) {
      out.push(`its workgroup of ${needs.invocations} invocations is over ${name} ${max}`);
    }
  }
  const bytes = l.maxComputeWorkgroupStorageSize ?? 16384;
  if (needs.workgroupBytes > bytes) {
    out.push(
      `its ${needs.workgroupBytes} bytes of workgroup memory are over ` +
        `maxComputeWorkgroupStorageSize ${bytes}`,
    );
  }
  return out;
}

/**
 * Why a gpu-class device runs the one-lane walk of the query absorption or the up-projection
 * instead of its split form (adapter/harness_tiles.ts): one line per split form its limits
 * refuse, naming the limit; empty when both fit (or the device is not gpu-class, or the path
 * has no such pass).
 *
 * @example
 * ```ts
 * import { harnessSplitRefusals } from "./harness_tiles.ts";
 * harnessSplitRefusals("absorbed", {
 *   deviceClass: "gpu",
 *   limits: { maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupSizeX: 128 },
 * }); // ["up_proj.wgsl, not up_proj_split.wgsl: its workgroup of 256 invocations is over ..."]
 * ```
 */
export function harnessSplitRefusals(
  path: AttentionPath,
  options: HarnessTilesOptions = {},
): string[] {
  if (options.deviceClass !== "gpu" || path !== "absorbed") return [];
  return [ABSORB_Q_SPLIT_NEEDS, UP_PROJ_SPLIT_NEEDS].flatMap((n) => {
    const problems = splitProblems(n, options.limits);
    return problems.length === 0 ? [] : [`${n.walk}, not ${n.file}: ${problems.join("; ")}`];
  });
}

/**
 * The tiles of the harness passes a plan of `path` runs: the absorbed path absorbs q and
 * up-projects the latent outputs, the expanded path expands K and V. On a gpu-class device
 * the query absorption splits its sum over the nope channels over a workgroup's lane groups
 * (absorb_q_split.wgsl) and the up-projection its sum over the latent width over a
 * workgroup's lanes (up_proj_split.wgsl), where the device's limits take the split's
 * workgroup ({@link HarnessTilesOptions.limits}).
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
  // a split form the device's limits refuse would fail at pipeline creation: its walk runs
  const fits = (n: { invocations: number; workgroupBytes: number }) =>
    splitProblems(n, options.limits).length === 0;
  const absorbQ = gpu && fits(ABSORB_Q_SPLIT_NEEDS) ? ABSORB_Q_SPLIT : ABSORB_Q;
  const upProj = gpu && fits(UP_PROJ_SPLIT_NEEDS) ? UP_PROJ_SPLIT : UP_PROJ;
  return path === "absorbed"
    ? { absorbQ: { ...absorbQ }, upProj: { ...upProj } }
    : { expandKv: { ...EXPAND_KV } };
}
