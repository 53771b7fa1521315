/**
 * The device's loop budget (adapter/loop_budget.ts, gpu/loop_budget.ts): the probe
 * measures it, the context carries it, and the adapter's iteration count is exact
 * at the attention kernels' boundaries: at the most keys the budget allows one
 * invocation, the kernel matches the float64 reference; one block more, forced past
 * the adapter, it silently drops keys (which is why the adapter refuses it).
 */
import assert from "node:assert/strict";
import {
  attentionLoopIterations,
  keysPerBlock,
  LLVMPIPE_LOOP_BUDGET,
  loopBudgetOf,
  maxKeysWithinBudget,
} from "../adapter/loop_budget.ts";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import { withParams } from "../adapter/spec.ts";
import type { BackendId, LayoutRequest, MlaSpec, Plan } from "../adapter/types.ts";
import { measureLoopBudget } from "../gpu/loop_budget.ts";
import { runAttention } from "../kernels/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { isGlFallback, TOO_SLOW_CODE } from "../adapter/slow_device.ts";
import {
  checkAgainstPlanReference,
  gpu,
  gpuTest,
  HAS_ADAPTER,
  nameWithReason,
  sizeReason,
} from "./gpu_helpers.ts";

const CAPS = HAS_ADAPTER ? (await gpu()).caps : null;
const budget = CAPS?.loopIterationBudget ?? null;

gpuTest("the probe measures the loop budget; the context carries it", async () => {
  const ctx = await gpu();
  const measured = await measureLoopBudget(ctx.device);
  assert.equal(ctx.caps.loopIterationBudget, measured);
  assert.equal(loopBudgetOf(ctx.caps), measured);
  const a = ctx.caps.adapter;
  if (/llvmpipe|lavapipe/i.test(`${a.device} ${a.description}`)) {
    // Mesa's gallivm limiter (LP_MAX_TGSI_LOOP_ITERATIONS).
    assert.equal(measured, LLVMPIPE_LOOP_BUDGET);
  }
});

/** One boundary: the kernel, a spec with its loop widths, and queries per sequence. */
interface Boundary {
  name: string;
  backend: BackendId;
  spec: MlaSpec;
  seqQ: number;
  keyVec4: number;
  valueVec4: number;
  /**
   * The count is an upper bound here, not exact: one block past still passes (the
   * compiler unrolls some of this kernel's d loops), so only "at the most" is checked.
   */
  upperBound?: boolean;
  /**
   * wgsl-expanded's decode: the d-loop step (plan `decodeStep`) this boundary is about. At
   * one vec4 per trip the boundary is where the adapter switches to 4 (not a refusal); at
   * 4 it refuses one block past.
   */
  decodeStep?: number;
}

// DeepSeek-V2-Lite's loop widths (absorbed: kv_lora 512 + rope 64 -> 144 / 128 vec4s;
// expanded: nope 128 + rope 64 -> 48, v 128 -> 32) and its 16 heads (the kernel
// variants the smoke matrix compiles too), with the widths the kernel's loops do not
// see made small, so the float64 reference stays cheap.
// Smaller loop widths are not used: the compiler unrolls short constant-trip d loops,
// which then cost nothing, and the count (still a safe upper bound) is not exact.
const v2l = presetSpec("deepseek-v2-lite");
const forAbsorbed = withParams(v2l, { qkNopeHeadDim: 16, vHeadDim: 16 });
// (expanded: one head, or its K/V over 40k keys would not fit one binding).
const forExpanded = withParams(v2l, { numHeads: 1, kvLoraRank: 16 });
// The one-fetch decode copies its query row first (49 iterations at 48 vec4s). At V2-Lite's
// V width the most keys leave 50 iterations unused, so a count without the copy would give
// the same boundary; a V of 160 (40 vec4s) leaves 20, and a count without the copy would
// allow one block too many.
const forExpandedV160 = withParams(forExpanded, { vHeadDim: 160 });
const BOUNDARIES: Boundary[] = [
  {
    name: "absorbed decode",
    backend: "wgsl-absorbed",
    spec: forAbsorbed,
    seqQ: 1,
    keyVec4: 144,
    valueVec4: 128,
  },
  {
    name: "absorbed 4-query tiles",
    backend: "wgsl-absorbed",
    spec: forAbsorbed,
    seqQ: 4,
    keyVec4: 144,
    valueVec4: 128,
  },
  {
    name: "expanded decode, one vec4 per trip (v 160)",
    backend: "wgsl-expanded",
    spec: forExpandedV160,
    seqQ: 1,
    keyVec4: 48,
    valueVec4: 40,
    upperBound: true,
    decodeStep: 1,
  },
  {
    name: "expanded decode, 4 vec4s per trip",
    backend: "wgsl-expanded",
    spec: forExpanded,
    seqQ: 1,
    keyVec4: 48,
    valueVec4: 32,
    upperBound: true,
    decodeStep: 4,
  },
  {
    // The prefill tile accumulates in its output rows (a zeroing and a normalizing loop,
    // session 22); its count is exact (the decode tile's is an upper bound).
    name: "expanded 4-query tiles",
    backend: "wgsl-expanded",
    spec: forExpanded,
    seqQ: 4,
    keyVec4: 48,
    valueVec4: 32,
    decodeStep: 4,
  },
];

/** A plan of one sequence with `keys` keys in one invocation, even past the budget. */
function planOf(b: Boundary, keys: number): Plan {
  const layout: LayoutRequest = { kind: "bshd", batch: 1, seqQ: b.seqQ, seqK: keys, causal: true };
  // Resolved as for a device without a budget, so the adapter does not refuse it; for the
  // expanded decode's 4-vec4 boundary, with a budget 3x the device's: one vec4 per trip
  // needs about 3.4x more iterations there, so the adapter picks 4 and does not refuse it.
  const caps = {
    ...CAPS!,
    loopIterationBudget: b.decodeStep === 4 ? 3 * budget! : null,
  };
  const plan = resolve({ spec: b.spec, dtype: "f32", backend: b.backend, layout }, caps, {
    kvSplits: b.backend === "wgsl-absorbed" ? 1 : undefined,
  });
  if (plan.kind !== "plan") throw new Error(JSON.stringify(plan.reasons));
  return plan;
}

for (const b of BOUNDARIES) {
  // Needs a device with a loop budget (lavapipe in CI); on others there is no boundary. The
  // boundary is tens of thousands of keys through one invocation: on the GL fallback that
  // takes far over a minute (absorbed decode ran 19 min there), so it is ignored there.
  const why = budget === null
    ? "no loop budget on this device: no boundary to test"
    : sizeReason(b.spec) ??
      (CAPS !== null && isGlFallback(CAPS)
        ? `${TOO_SLOW_CODE}: ${b.name} at the boundary takes far over a minute on the GL fallback`
        : null);
  Deno.test({
    name: nameWithReason(
      `loop budget boundary, ${b.name}: exact at the most keys` +
        (b.upperBound ? "" : ", keys dropped one block past"),
      why,
    ),
    ignore: why !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const ctx = await gpu();
      const probe = planOf(b, 64);
      const shape = {
        queryTile: b.seqQ >= 4 ? 4 : 1,
        keyVec4: b.keyVec4,
        valueVec4: b.valueVec4,
        headsPerInvocation: probe.variant.headsPerTile / probe.variant.workgroupSize,
        dStep: b.decodeStep,
        // absorbed.wgsl and expanded.wgsl's prefill tile accumulate in their output rows
        // (a zeroing and a normalizing loop)
        inPlaceOutput: b.backend === "wgsl-absorbed" || b.seqQ >= 4,
      };
      // 16-head absorbed decode runs 2 heads per invocation (their rows are all in place:
      // the count does not depend on it).
      if (b.backend === "wgsl-absorbed" && shape.queryTile === 1) {
        assert.equal(shape.headsPerInvocation, 2);
      }
      const most = maxKeysWithinBudget(budget!, shape);
      const block = probe.variant.keysPerBlock;
      assert.equal(block, keysPerBlock(shape.queryTile));
      assert.ok(attentionLoopIterations({ ...shape, keys: most }) <= budget!);
      assert.ok(attentionLoopIterations({ ...shape, keys: most + block }) > budget!);
      const verdicts: boolean[] = [];
      const plans = [most, most + block].map((keys) => planOf(b, keys));
      // Inputs are made once, for the longer run: the generator fills each tensor in index
      // order, so the first rows of its latent and k_pe are the rows makeAttentionInputs gives
      // the shorter run (bshd, batch 1: no padding rows; the same queries and weights).
      // Making both sets took about a second of the absorbed boundaries' time.
      const longer = makeAttentionInputs(b.spec, plans[1].layout, { seed: 5 });
      for (const plan of plans) {
        assert.equal(plan.variant.queryTile, shape.queryTile);
        assert.equal(plan.variant.decodeStep, b.decodeStep);
        const { kRows, totalK, qRows } = plan.layout;
        assert.equal(kRows, totalK, "bshd batch 1 has no padding key rows");
        assert.equal(qRows, plans[1].layout.qRows);
        const inputs = {
          ...longer,
          latent: longer.latent.slice(0, kRows * b.spec.kvLoraRank),
          kPe: longer.kPe.slice(0, kRows * b.spec.qkRopeHeadDim),
        };
        const gp = gpuPlanOf(plan);
        const result = await runAttention(ctx, gp, { spec: b.spec, inputs });
        // The plan's reference, as the runner's: the absorbed one for the absorbed decode (16
        // heads over 14k keys; the dense one expanded every key per head, about 10 s a run).
        if (b.backend === "wgsl-absorbed" && b.seqQ === 1) {
          assert.equal(gp.reference, "absorbed-f64");
        }
        verdicts.push(
          checkAgainstPlanReference({ spec: b.spec, plan: gp, inputs, result }).pass,
        );
      }
      assert.equal(verdicts[0], true, `${b.name}: at the most keys`);
      if (!b.upperBound) assert.equal(verdicts[1], false, `${b.name}: one block past`);
      // And the adapter, on this device, refuses exactly what fails, or (the expanded
      // decode at one vec4 per trip) takes 4 vec4s per trip from one block past on.
      const onDevice = (seqK: number) =>
        resolve(
          {
            spec: b.spec,
            dtype: "f32",
            backend: b.backend,
            layout: { kind: "bshd", batch: 1, seqQ: b.seqQ, seqK, causal: true },
          },
          ctx.caps,
          { kvSplits: b.backend === "wgsl-absorbed" ? 1 : undefined },
        );
      const past = onDevice(most + block);
      if (b.decodeStep === 1) {
        const at = onDevice(most);
        assert.ok(at.kind === "plan" && past.kind === "plan");
        assert.equal(at.variant.decodeStep, 1);
        assert.equal(past.variant.decodeStep, 4);
      } else {
        assert.equal(past.kind, "unsupported");
      }
    },
  });
}
