/**
 * 1-D passes fold their grids into y at the launch kit's per-dimension limit
 * (gpu/dispatch.ts `grid1d`, `LaunchKit.grid1d`), which a device profile may set below the
 * device's own; every kernel then folds (x, y) back through `num_workgroups`. At WebGPU's
 * 65535 that takes over 4 million invocations; a kit limit of 16 makes the cache construction's
 * RoPE and the query passes of a small case fold, and the results still match the float64
 * reference.
 */
import assert from "node:assert/strict";
import { specFromConfig } from "../adapter/config.ts";
import { presetSpec } from "../adapter/presets.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { checkWorkgroups, grid1d, LINEAR_WORKGROUP } from "../gpu/dispatch.ts";
import { runAttention } from "../kernels/attention.ts";
import {
  CAPS,
  checkAgainstReference,
  cpuClassCaps,
  gpu,
  gpuClassCaps,
  gpuTest,
  planCase,
} from "./gpu_helpers.ts";

const LIMIT = 16;
/** 9 sequences of 64 keys: 576 cached k_pe rows; the 2-D core grids stay within 16. */
const LAYOUT: LayoutRequest = { kind: "bshd", batch: 9, seqQ: 1, seqK: 64, causal: true };

Deno.test("grid1d folds into y at a given limit and refuses what a limit x limit grid cannot hold", () => {
  assert.deepEqual(grid1d(LINEAR_WORKGROUP * 36, LINEAR_WORKGROUP, { limit: LIMIT }), [16, 3]);
  assert.deepEqual(grid1d(LINEAR_WORKGROUP * 16, LINEAR_WORKGROUP, { limit: LIMIT }), [16, 1]);
  assert.throws(() => grid1d(257, 1, { limit: LIMIT }), /257 workgroups, more than a 16 x 16 grid/);
});

Deno.test("checkWorkgroups: integers >= 0 within the limit (WebGPU truncated 1.5 to 1)", () => {
  checkWorkgroups("p", [0, 16, 1], LIMIT);
  assert.throws(
    () => checkWorkgroups("p", [1.5]),
    /^RangeError: p: workgroup count x 1\.5 must be an integer >= 0$/,
  );
  assert.throws(() => checkWorkgroups("p", [1, -1]), /p: workgroup count y -1 must be/);
  assert.throws(() => checkWorkgroups("p", [1, 1, NaN]), /p: workgroup count z NaN must be/);
  assert.throws(
    () => checkWorkgroups("p", [17], LIMIT),
    /^Error: p: 17 workgroups exceed the limit 16$/,
  );
  // a bare count failed as "workgroups is not iterable", and a fourth count was dropped
  type Counts = Parameters<typeof checkWorkgroups>[1];
  assert.throws(
    () => checkWorkgroups('pass "p"', 4 as unknown as Counts),
    /^RangeError: pass "p": workgroups must be an array of 1 to 3 counts, \[x, y\?, z\?\], got 4$/,
  );
  assert.throws(
    () => checkWorkgroups("p", [1, 1, 1, 1] as unknown as Counts),
    /workgroups must be an array of 1 to 3 counts, \[x, y\?, z\?\], got 4 counts$/,
  );
  assert.throws(() => checkWorkgroups("p", [] as unknown as Counts), /got 0 counts$/);
  assert.throws(
    () => checkWorkgroups("p", ["4"] as unknown as Counts),
    /^RangeError: p: workgroup count x "4" must be an integer >= 0$/,
  );
});

const CASES = [
  { backend: "wgsl-absorbed", deviceClass: "cpu" },
  { backend: "wgsl-absorbed-gemm", deviceClass: "cpu" },
  // the split projections (2-D grids: token blocks on y) around the lane core
  // (the tiled one compiles for minutes on the GL fallback)
  { backend: "wgsl-absorbed", deviceClass: "gpu" },
] as const;

for (const c of CASES) {
  gpuTest(
    `${c.backend} (${c.deviceClass}-class plan) matches the reference with its 1-D grids folded at a kit limit of ${LIMIT}`,
    async () => {
      const spec = presetSpec("tiny");
      const caps = c.deviceClass === "gpu" ? gpuClassCaps(CAPS!) : cpuClassCaps(CAPS!);
      const { plan, inputs } = await planCase({
        spec,
        dtype: "f32",
        backend: c.backend,
        layout: LAYOUT,
        caps,
      });
      // the RoPE of the cached k_pe: one invocation per (key, rotated pair), far over 16 x 64
      const ropeK = LAYOUT.batch * LAYOUT.seqK * (spec.qkRopeHeadDim / 2);
      assert.ok(grid1d(ropeK, LINEAR_WORKGROUP, { limit: LIMIT })[1] > 1, "rope_k folds");
      const result = await runAttention(await gpu(), plan, {
        spec,
        inputs,
        limits: { maxComputeWorkgroupsPerDimension: LIMIT },
      });
      const res = checkAgainstReference({ spec, plan, inputs, result });
      assert.ok(res.pass, `${c.backend}: ${JSON.stringify(res.out).slice(0, 300)}`);
    },
  );
}

/** tiny's widths with 32 heads: enough (query, head) rows for the softmax grid to fold. */
const HEADS32 = specFromConfig({
  hidden_size: 64,
  num_attention_heads: 32,
  q_lora_rank: null,
  kv_lora_rank: 32,
  qk_nope_head_dim: 16,
  qk_rope_head_dim: 8,
  v_head_dim: 16,
}, { name: "tiny-32-heads" });

const SOFTMAX_CASES = [
  // 4 x 32 rows: 16 softmax workgroups of 8, [12, 2] at 12; the other grids fit.
  {
    backend: "wgsl-absorbed-gemm",
    limit: 12,
    layout: { kind: "bshd", batch: 4, seqQ: 1, seqK: 32, causal: true },
  },
  // 16 x 32 rows: 64 workgroups, [32, 2] at 32 (the values pass puts the 32 heads on y).
  {
    backend: "wgsl-expanded-gemm",
    limit: 32,
    layout: { kind: "bshd", batch: 1, seqQ: 16, seqK: 16, causal: true },
  },
] as const;

for (const c of SOFTMAX_CASES) {
  gpuTest(
    `${c.backend}: its softmax grid folds into y at a kit limit of ${c.limit} and matches the reference`,
    async () => {
      const caps = cpuClassCaps(CAPS!);
      const limited = {
        ...caps,
        limits: { ...caps.limits, maxComputeWorkgroupsPerDimension: c.limit },
      };
      // The adapter finds every grid within the limit (the softmax's folded)...
      const { plan, inputs } = await planCase({
        spec: HEADS32,
        dtype: "f32",
        backend: c.backend,
        layout: c.layout,
        caps: limited,
      });
      const rows = plan.layout.totalQ * HEADS32.numHeads;
      const wg = plan.variant.workgroupSize;
      assert.ok(Math.ceil(rows / wg) > c.limit, "unfolded, the softmax grid is over the limit");
      assert.ok(grid1d(rows, wg, { limit: c.limit })[1] > 1, "the softmax folds");
      // ... and the run, at that limit, dispatches it and matches.
      const result = await runAttention(await gpu(), plan, {
        spec: HEADS32,
        inputs,
        limits: { maxComputeWorkgroupsPerDimension: c.limit },
      });
      const res = checkAgainstReference({ spec: HEADS32, plan, inputs, result });
      assert.ok(res.pass, `${c.backend}: ${JSON.stringify(res.out).slice(0, 300)}`);
    },
  );
}
