/**
 * `naive`: a deliberately simple, correct absorbed MLA backend, written only against
 * docs/backends.md (backend contract version 1). It doubles as the contract's test:
 *
 * ```sh
 * deno task harness run --backend-module examples/backends/naive/mod.ts --backend naive \
 *   --matrix smoke --filter 'preset=tiny'
 * ```
 *
 * One invocation per (query, head) walks every key the query sees (naive.wgsl). The
 * harness's query absorption and up-projection passes do the rest. Its support check
 * states every limit it has: no KV splits, a loop budget it counts the way the
 * device does, f16 only with shader-f16, vec4 widths.
 *
 * The imports are types only: nothing of the harness is loaded at run time.
 *
 * @module
 */
import type { SupportAnswer, SupportQuery } from "../../../adapter/backends.ts";
import type { Reason } from "../../../adapter/types.ts";
import type { AttentionBuffers, LaunchKit } from "../../../kernels/launch.ts";
import type { GpuPlan } from "../../../adapter/types.ts";

/** The backend contract version this module implements. */
export const contractVersion = 1;
/** Backend id (select it with `--backend naive`). */
export const id = "naive";
/** One line for `explain`. */
export const description =
  "example: one invocation per (query, head), every visible key in turn (examples/backends/naive)";
/** The path it computes: attention over the shared latent (absorbed). */
export const path = "absorbed";
/** Its WGSL, hashed into the run's fingerprint. */
export const files = ["naive.wgsl"];

const SOURCE_URL = new URL("./naive.wgsl", import.meta.url);
const WORKGROUP = 64;

/**
 * Loop iterations one invocation of naive.wgsl runs over `keys` keys, counted as a
 * device with a loop budget counts them (a loop run of n trips costs n + 1): the
 * zeroing loop, the key loop, per key the score loop and the value loop, and the
 * normalizing loop.
 */
function iterations(keys: number, keyVec4: number, valVec4: number): number {
  return (valVec4 + 1) + (keys + 1) + keys * ((keyVec4 + 1) + (valVec4 + 1)) + (valVec4 + 1);
}

/**
 * Support: every reason this backend cannot run the case, or its variant and buffers.
 *
 * @example
 * ```ts ignore
 * check(query).reasons; // [] when supported
 * ```
 */
export function check(q: SupportQuery): SupportAnswer {
  const { spec, layout, dtype, caps } = q;
  const reasons: Reason[] = [];
  const r = spec.kvLoraRank;
  const keyWidth = r + spec.qkRopeHeadDim;
  const h = spec.numHeads;
  if (caps === null) {
    reasons.push({ code: "device.none", message: "no WebGPU adapter is available" });
  } else if (dtype === "f16" && !caps.features.includes("shader-f16")) {
    reasons.push({
      code: "dtype.f16-unavailable",
      message: "dtype f16 needs the WebGPU feature shader-f16, which this adapter lacks",
    });
  }
  if (r % 4 !== 0 || spec.qkRopeHeadDim % 4 !== 0) {
    reasons.push({
      code: "shape.not-vec4",
      message: `kv_lora_rank ${r} and qk_rope_head_dim ${spec.qkRopeHeadDim} must be ` +
        "multiples of 4 (naive.wgsl reads vec4)",
    });
  }
  if (q.kvSplits !== undefined && q.kvSplits !== 1) {
    reasons.push({
      code: "variant.kv-splits",
      message: `naive has no KV splits (asked for ${q.kvSplits}); use 1`,
    });
  }
  const longest = layout.seqs.reduce((m, s) => Math.max(m, s.kLen), 0);
  const budget = q.loop.budget;
  const need = iterations(longest, keyWidth / 4, r / 4);
  if (budget !== null && need > budget) {
    let most = 0;
    while (iterations(most + 1, keyWidth / 4, r / 4) <= budget) most++;
    reasons.push({
      code: "device.loop-budget",
      message: `one invocation would walk ${longest} keys in ${need} loop iterations, over ` +
        `this device's loop budget of ${budget}; naive has no KV splits, so at most ${most} ` +
        "keys per sequence fit",
    });
  }
  const buffers = [
    // f32 in every dtype: launch asks kit.absorbQ for an f32 q~ (f16 can overflow, 65504)
    { name: "q_absorbed", bytes: layout.qRows * h * keyWidth * 4 },
    { name: "x_latent", bytes: layout.totalQ * h * r * 4 },
  ];
  if (caps !== null) {
    const limit = Math.min(
      caps.limits.maxStorageBufferBindingSize ?? 134217728,
      caps.limits.maxBufferSize ?? 268435456,
    );
    for (const b of buffers) {
      if (b.bytes > limit) {
        reasons.push({
          code: "limits.buffer-too-large",
          message: `buffer ${b.name} needs ${b.bytes} bytes, over the device's limit ${limit}`,
        });
      }
    }
  }
  return {
    reasons,
    path: "absorbed",
    variant: {
      family: "naive",
      dtype,
      workgroupSize: WORKGROUP,
      headsPerTile: 1,
      kvSplits: 1,
      queryTile: 1,
      headsPerInvocation: 1,
      keysPerBlock: 1,
    },
    buffers,
    keyWidth,
    valueWidth: r,
  };
}

let source: string | null = null;

/**
 * Launch: the harness's query absorption, naive.wgsl, the harness's up-projection.
 *
 * @example
 * ```ts ignore
 * await launch(plan, buffers, kit);
 * ```
 */
export async function launch(
  plan: GpuPlan,
  buffers: AttentionBuffers,
  kit: LaunchKit,
): Promise<void> {
  if (source === null) {
    // In Chromium the page's server serves only the files `files` lists: check the status,
    // or a 404 page would be compiled as the kernel.
    const r = await fetch(SOURCE_URL);
    if (!r.ok) throw new Error(`fetch ${SOURCE_URL}: ${r.status} ${await r.text()}`);
    source = await r.text();
  }
  // Sized from the plan's "q_absorbed"; f32 whatever the storage dtype: q_nope W_UK can pass
  // f16's largest finite value (65504) where q_nope and the cache stay in range.
  const qAbs = await kit.absorbQ(plan, buffers, { dtype: "f32" });
  await attendAndProject(plan, buffers, kit, { qAbsorbed: qAbs, code: source });
}

/**
 * naive.wgsl over an absorbed query already made (`code`: naive.wgsl's text, as fetched or
 * edited; `fileName`, default "naive.wgsl", names it in diagnostics), then the harness's
 * up-projection: the part of {@link launch} after `absorbQ`.
 *
 * @example
 * ```ts ignore
 * await attendAndProject(plan, buffers, kit, { qAbsorbed, code });
 * ```
 */
export async function attendAndProject(
  plan: GpuPlan,
  buffers: AttentionBuffers,
  kit: LaunchKit,
  options: { qAbsorbed: GPUBuffer; code: string; fileName?: string },
): Promise<void> {
  const a = plan.attention;
  const bytes = (name: string) => plan.buffers.find((b) => b.name === name)!.bytes;
  const x = kit.storage(bytes("x_latent"), "x_latent");
  const fileName = options.fileName ?? "naive.wgsl";
  const pipeline = await kit.compile({ fileName, code: options.code }, "naive", {
    KEY_VEC4: a.keyWidth / 4,
    VAL_VEC4: a.valueWidth / 4,
  });
  const n = plan.layout.totalQ * a.numHeads;
  const groups = Math.max(1, Math.ceil(n / plan.variant.workgroupSize));
  const gx = Math.min(groups, 65535);
  kit.dispatch("naive", pipeline, [
    kit.uniform(
      kit.writer().u32(plan.layout.totalQ).u32(a.numHeads).f32(a.softmaxScale).f32(-Infinity),
    ),
    options.qAbsorbed,
    buffers.kvCache,
    buffers.qMeta,
    buffers.kRows,
    x,
    buffers.lse,
  ], [gx, Math.ceil(groups / gx)]);
  await kit.upProject(plan, buffers, x);
}
