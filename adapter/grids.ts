/**
 * Dispatch grids against the device's maxComputeWorkgroupsPerDimension: the reasons a
 * support check gives where a pass's grid would not fit (`limits.workgroups`), so that
 * explain says unsupported, and why, where a run would fail in encodeDispatch.
 *
 * Three kinds of grid:
 * - one dimension that does not fold (a kernel's x, y or z as its launcher computes it):
 *   {@link gridReason} refuses a count over the limit;
 * - a 1-D pass folded into y (gpu/dispatch.ts `grid1d`, a launch kit's `grid1d`):
 *   {@link grid1dReason} refuses a pass whose workgroups a limit x limit grid cannot hold
 *   (never at WebGPU's 65535: over 4 billion workgroups; a device profile may lower the
 *   limit far enough);
 * - the harness's own passes around a backend's kernels (RoPE, query absorption,
 *   up-projection, q packing, K/V expansion, the split merge, the copies into textures):
 *   {@link harnessGridReasons}, from the plan's variant and harness tiles.
 *
 * @module
 */
import type {
  AttentionPath,
  CacheTextureShape,
  DeviceCaps,
  Dtype,
  HarnessTiles,
  KernelVariant,
  MlaSpec,
  NormalizedLayout,
  Reason,
} from "./types.ts";

/** WebGPU's default (and least) maxComputeWorkgroupsPerDimension. */
const DEFAULT_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * Invocations per workgroup of the harness's 1-D passes (gpu/dispatch.ts LINEAR_WORKGROUP,
 * restated: kernels/, util/ and adapter/ are bundled for a browser, and the adapter does not
 * import the GPU layer).
 */
export const LINEAR_PASS_WORKGROUP = 64;

/**
 * The device's workgroups per grid dimension (65535 where the caps do not say), or null
 * without a device.
 *
 * @example
 * ```ts
 * import { workgroupsPerDimension } from "./grids.ts";
 * workgroupsPerDimension(null); // null
 * ```
 */
export function workgroupsPerDimension(caps: DeviceCaps | null): number | null {
  if (caps === null) return null;
  return caps.limits.maxComputeWorkgroupsPerDimension ?? DEFAULT_WORKGROUPS_PER_DIMENSION;
}

/**
 * A `limits.workgroups` reason where one dimension of a pass's grid, `count` workgroups of
 * `what`, would exceed the device's maxComputeWorkgroupsPerDimension; none without a device.
 *
 * @example
 * ```ts
 * import { gridReason } from "./grids.ts";
 * const caps = { limits: { maxComputeWorkgroupsPerDimension: 8 } } as never;
 * gridReason(caps, "absorbed attention pass", "query tiles x head tiles", 9)[0].code;
 * // "limits.workgroups"
 * gridReason(caps, "absorbed attention pass", "query tiles x head tiles", 8); // []
 * ```
 */
export function gridReason(
  caps: DeviceCaps | null,
  pass: string,
  what: string,
  count: number,
): Reason[] {
  const limit = workgroupsPerDimension(caps);
  if (limit === null || count <= limit) return [];
  return [{
    code: "limits.workgroups",
    message: `the ${pass} needs ${count} workgroups along one dimension (${what}), over ` +
      `maxComputeWorkgroupsPerDimension ${limit}`,
  }];
}

/**
 * A `limits.workgroups` reason where a 1-D pass of `invocations` at `per` a workgroup
 * folded into y (gpu/dispatch.ts `grid1d`) would still not fit: more workgroups than a
 * limit x limit grid holds. None without a device.
 *
 * @example
 * ```ts
 * import { grid1dReason } from "./grids.ts";
 * const caps = { limits: { maxComputeWorkgroupsPerDimension: 8 } } as never;
 * grid1dReason(caps, "rope_k pass", 64 * 64, 64); // [] (an 8 x 8 grid)
 * grid1dReason(caps, "rope_k pass", 64 * 65, 64)[0].code; // "limits.workgroups"
 * ```
 */
export function grid1dReason(
  caps: DeviceCaps | null,
  pass: string,
  invocations: number,
  per: number = LINEAR_PASS_WORKGROUP,
): Reason[] {
  const limit = workgroupsPerDimension(caps);
  if (limit === null) return [];
  const groups = Math.ceil(invocations / per);
  if (groups <= limit * limit) return [];
  return [{
    code: "limits.workgroups",
    message: `the ${pass} needs ${groups} workgroups (${invocations} invocations at ${per} ` +
      `a workgroup), more than a ${limit} x ${limit} grid holds (it folds into y at ` +
      `maxComputeWorkgroupsPerDimension ${limit})`,
  }];
}

/** Vec4s per texel of a texture shape: 2 for packed f16 rows (rgba32uint), else 1. */
function vec4sPerTexel(t: CacheTextureShape): number {
  return t.format === "rgba32uint" ? 2 : 1;
}

/**
 * Rows of the largest chunk a copy of `rows` rows of `rowBytes` each binds at once (the
 * launch kit's expandChunks: as many rows as one storage binding holds), at most `rows`.
 */
function chunkRows(caps: DeviceCaps, rows: number, rowBytes: number): number {
  const binding = caps.limits.maxStorageBufferBindingSize ?? 134217728;
  return Math.max(1, Math.min(rows, Math.floor(binding / Math.max(1, rowBytes))));
}

/** What {@link harnessGridReasons} reads of a plan in the making. */
export interface HarnessGridQuery {
  /** The attention's shape. */
  readonly spec: MlaSpec;
  /** The case's layout. */
  readonly layout: NormalizedLayout;
  /** Storage dtype. */
  readonly dtype: Dtype;
  /** The device (null: none, nothing is checked). */
  readonly caps: DeviceCaps | null;
  /** The backend's path. */
  readonly path: AttentionPath;
  /** The backend's variant (its KV splits and textures). */
  readonly variant: KernelVariant;
  /** The tiles of the harness passes (adapter/harness_tiles.ts). */
  readonly harnessTiles: HarnessTiles;
  /** The value width of the attention core's output (the split merge's rows). */
  readonly valueWidth: number;
}

/**
 * The `limits.workgroups` reasons of the harness's own passes around a bundled backend's
 * kernels (kernels/launch.ts, kernels/attention.ts), each named with its grid: the RoPE of
 * q_pe and of the cache's k_pe; on the absorbed path the query absorption and the
 * up-projection (1-D walks on a cpu-class device, 2-D split forms with token blocks on y on
 * a gpu-class one); on the expanded path the q packing and the K/V expansion (per chunk of
 * key rows that fits one binding, the rows' blocks on y); the merge of KV splits; and the
 * copies of buffers into the variant's textures (per chunk, 1-D).
 *
 * @example
 * ```ts
 * import { harnessGridReasons } from "./grids.ts";
 * import { harnessTilesOf } from "./harness_tiles.ts";
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * const reasons = harnessGridReasons({
 *   spec: presetSpec("tiny"),
 *   layout: normalizeLayout({ kind: "bshd", batch: 64, seqQ: 1, seqK: 8, causal: true }),
 *   dtype: "f32",
 *   caps: { features: [], limits: { maxComputeWorkgroupsPerDimension: 4 } } as never,
 *   path: "expanded",
 *   variant: { kvSplits: 1 } as never,
 *   harnessTiles: harnessTilesOf("expanded"),
 *   valueWidth: 16,
 * });
 * reasons.some((r) => r.message.startsWith("the pack_q pass needs 96 workgroups")); // true
 * ```
 */
export function harnessGridReasons(g: HarnessGridQuery): Reason[] {
  const { spec, layout, caps, variant: v } = g;
  const limit = workgroupsPerDimension(caps);
  if (caps === null || limit === null) return [];
  const h = spec.numHeads;
  const r = spec.kvLoraRank;
  const rope = spec.qkRopeHeadDim;
  const nope = spec.qkNopeHeadDim;
  const vDim = spec.vChannels;
  const eb = g.dtype === "f16" ? 2 : 4;
  const reasons: Reason[] = [];
  // kernels/attention.ts: one invocation per (row, head, rotated pair).
  reasons.push(...grid1dReason(caps, "rope_q pass", layout.qRows * h * (rope / 2)));
  reasons.push(...grid1dReason(caps, "rope_k pass", layout.kRows * (rope / 2)));
  const tiles = g.harnessTiles;
  if (g.path === "absorbed") {
    const aq = tiles.absorbQ;
    if (aq !== undefined) {
      const rowBlocks = Math.ceil(layout.qRows / aq.rows);
      if (aq.nopeGroups === undefined) {
        reasons.push(
          ...grid1dReason(
            caps,
            "absorb_q pass",
            rowBlocks * h * (Math.ceil(r / (4 * aq.columns)) + rope / 4),
          ),
        );
      } else {
        reasons.push(
          ...gridReason(
            caps,
            "absorb_q pass (absorb_q_split)",
            `x: latent column blocks and the rope copy x ${h} heads`,
            (Math.ceil(r / (4 * aq.columns)) + 1) * h,
          ),
          ...gridReason(
            caps,
            "absorb_q pass (absorb_q_split)",
            `y: blocks of ${aq.rows} of the ${layout.qRows} query rows`,
            rowBlocks,
          ),
        );
      }
    }
    const up = tiles.upProj;
    if (up !== undefined) {
      const tokenBlocks = Math.ceil(layout.totalQ / up.tokens);
      const channelBlocks = Math.ceil(vDim / up.channels);
      if (up.latentLanes === undefined) {
        reasons.push(
          ...grid1dReason(caps, "up_proj pass", tokenBlocks * h * channelBlocks),
        );
      } else {
        reasons.push(
          ...gridReason(
            caps,
            "up_proj pass (up_proj_split)",
            `x: ${channelBlocks} channel blocks x ${h} heads`,
            channelBlocks * h,
          ),
          ...gridReason(
            caps,
            "up_proj pass (up_proj_split)",
            `y: blocks of ${up.tokens} of the ${layout.totalQ} query tokens`,
            tokenBlocks,
          ),
        );
      }
    }
  } else {
    reasons.push(
      ...grid1dReason(caps, "pack_q pass", layout.qRows * h * (nope + rope)),
    );
    const ex = tiles.expandKv;
    if (ex !== undefined) {
      const rowK = h * (nope + rope) * eb;
      const rowV = h * vDim * eb;
      const rows = Math.min(
        chunkRows(caps, layout.kRows, rowK),
        chunkRows(caps, layout.kRows, rowV),
      );
      reasons.push(
        ...gridReason(
          caps,
          "expand_kv pass",
          `x: channel tiles of ${h} heads' K and V rows in workgroups of ${ex.workgroupSize}`,
          Math.ceil(
            (Math.ceil(h * (nope + vDim) / ex.channels) + Math.ceil(h * rope / ex.channels)) /
              ex.workgroupSize,
          ),
        ),
        ...gridReason(
          caps,
          "expand_kv pass",
          `y: blocks of ${ex.rows} of the ${rows} key rows one binding holds`,
          Math.ceil(rows / ex.rows),
        ),
      );
    }
  }
  // kernels/launch.ts combineSplits: one invocation per (row, head, value vec4).
  if (v.kvSplits > 1) {
    reasons.push(
      ...grid1dReason(caps, "combine pass", layout.totalQ * h * (g.valueWidth / 4)),
    );
  }
  // kernels/launch.ts rowsTexture: one invocation per texel of a chunk of rows.
  // [texture, its shape, source rows, vec4s a row, bytes an element of the source]: the
  // absorbed query is copied from q_absorbed, f32 in every dtype (kernels/launch.ts absorbQ's
  // dtype "f32"); the other sources are in the storage dtype.
  const copies: [string, CacheTextureShape | undefined, number, number, number][] = [
    ["weight_texture", v.weightTexture, h * (nope + vDim), r / 4, eb],
    ["cache_texture", v.cacheTexture, layout.kRows, (r + rope) / 4, eb],
    g.path === "absorbed"
      ? ["query_texture", v.queryTexture, layout.qRows * h, (r + rope) / 4, 4]
      : ["query_texture", v.queryTexture, layout.qRows * h, spec.kChannels / 4, eb],
    ["key_texture", v.keyTexture, layout.kRows * h, spec.kChannels / 4, eb],
    ["value_texture", v.valueTexture, layout.kRows * h, spec.vChannels / 4, eb],
    ["expand_latent_texture", v.expandTextures?.latent, layout.kRows, (r + rope) / 4, eb],
    ["expand_weight_texture", v.expandTextures?.weights, h * (nope + vDim), r / 4, eb],
  ];
  for (const [name, shape, rows, rowVec4, bytes] of copies) {
    if (shape === undefined) continue;
    const chunk = chunkRows(caps, rows, rowVec4 * 4 * bytes);
    reasons.push(
      ...grid1dReason(caps, `${name} copy`, chunk * rowVec4 / vec4sPerTexel(shape)),
    );
  }
  return reasons;
}
