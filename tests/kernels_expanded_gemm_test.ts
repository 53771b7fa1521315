/**
 * wgsl-expanded-gemm (the CPU-shaped dense kernel for prefill: scores, softmax and values
 * passes per head over query tiles of 16) on this machine's adapter against the float64
 * reference: tiny widths over causal prefill (partial and several query tiles), decode,
 * MTP, packed/padded THD, paged block tables, an empty sequence and K/V bound per group
 * of sequences (one group here: this device's bindings hold every sequence; the grouping
 * itself is kernels/tables.ts denseGroups, shared with wgsl-expanded), in f32 and f16; one DeepSeek-V2-Lite causal prefill per dtype; NaN/Inf
 * poison that must not leak (keys a tile's earlier queries do not see); a forced split
 * refused; and the loop-budget boundary of the softmax row.
 */
import assert from "node:assert/strict";
import { GEMM_QUERY_TILE, gemmMaxKeys } from "../adapter/gemm_plan.ts";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type { Dtype, GpuPlan, LayoutRequest, MlaSpec } from "../adapter/types.ts";
import { backendChoice } from "../gpu/backend_choice.ts";
import { runAttention } from "../kernels/attention.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { compareAttention, summarize } from "../parity/compare.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { CAPS, gpu, gpuTest, layoutLabel, nameWithReason } from "./gpu_helpers.ts";

const BACKEND = "wgsl-expanded-gemm";

interface GemmCase {
  preset: string;
  dtype: Dtype;
  layout: LayoutRequest;
  kvSplits?: number;
}

/** The plan of a case on this device, or why there is none. */
function planOf(c: GemmCase): { plan: GpuPlan; spec: MlaSpec } | string {
  if (CAPS === null) return "no WebGPU adapter";
  const spec = presetSpec(c.preset);
  const r = resolve({ spec, dtype: c.dtype, backend: BACKEND, layout: c.layout }, CAPS, {
    kvSplits: c.kvSplits,
  });
  if (r.kind !== "plan") return r.reasons.map((x) => `${x.code}: ${x.message}`).join("; ");
  return { plan: gpuPlanOf(r), spec };
}

function label(c: GemmCase): string {
  return `${c.preset} ${c.dtype} ${layoutLabel(c.layout)}`;
}

async function parity(c: GemmCase, seed = 5): Promise<void> {
  const p = planOf(c);
  if (typeof p === "string") throw new Error(`${label(c)}: ${p}`);
  const { plan, spec } = p;
  assert.equal(plan.variant.family, "expanded-gemm");
  const inputs = makeAttentionInputs(spec, plan.layout, { seed });
  const got = (await runAttention(await gpu(), plan, { spec, inputs })).outputs;
  const want = denseAttention(spec, plan.layout, { inputs });
  const res = compareAttention(got, want, {
    tolerance: toleranceFor(plan.variant.dtype, plan.path),
    numHeads: spec.numHeads,
    vDim: spec.vHeadDim,
  });
  assert.ok(res.pass, `${label(c)}\n${summarize(res.out)}\n${summarize(res.lse)}`);
}

const TINY_LAYOUTS: readonly LayoutRequest[] = [
  // Causal prefill: 40 queries are tiles of 16, 16 and 8; the diagonal blocks mask.
  { kind: "bshd", batch: 2, seqQ: 40, seqK: 40, causal: true },
  // Prefill against a longer cache (bottom-right causal), non-causal too.
  { kind: "bshd", batch: 1, seqQ: 20, seqK: 53, causal: true },
  { kind: "bshd", batch: 1, seqQ: 20, seqK: 53, causal: false },
  // Decode, a partial last key group (37 = 2 x 16 + 5) and a partial vec4 of scores.
  { kind: "bshd", batch: 2, seqQ: 1, seqK: 37, causal: true },
  // MTP: two queries of a sequence see 39 and 40 keys.
  { kind: "bshd", batch: 1, seqQ: 2, seqK: 40, causal: true },
  // Prefill, causal: every query its own key count.
  { kind: "bshd", batch: 2, seqQ: 5, seqK: 9, causal: true },
  // Packed THD with padding rows (NaN) between sequences.
  {
    kind: "thd",
    cuSeqlensQ: [0, 1, 3],
    cuSeqlensK: [0, 5, 70],
    cuSeqlensQPadded: [0, 2, 5],
    cuSeqlensKPadded: [0, 8, 80],
    causal: true,
  },
  // Paged block tables (pages out of order), cache lengths below capacity.
  {
    kind: "bshd",
    batch: 2,
    seqQ: 1,
    seqK: 48,
    kvLens: [37, 21],
    causal: true,
    paging: { pageSize: 16, numPages: 6, blockTable: [[5, 1, 3], [2, 0, 4]] },
  },
  // A sequence with no key: output 0, LSE -inf.
  { kind: "bshd", batch: 2, seqQ: 1, seqK: 8, kvLens: [0, 5], causal: true },
];

gpuTest("expanded gemm parity at tiny widths: every layout, f32 and f16", async (t) => {
  for (const dtype of ["f32", "f16"] as const) {
    for (const layout of TINY_LAYOUTS) {
      const c: GemmCase = { preset: "tiny", dtype, layout };
      const p = planOf(c);
      const why = typeof p === "string" ? p : null;
      await t.step({
        name: nameWithReason(label(c), why),
        ignore: why !== null,
        fn: () => parity(c),
      });
    }
  }
}, { skip: CAPS === null ? "no WebGPU adapter" : null });

for (const dtype of ["f32", "f16"] as const) {
  const c: GemmCase = {
    preset: "deepseek-v2-lite",
    dtype,
    layout: { kind: "bshd", batch: 1, seqQ: 100, seqK: 100, causal: true },
  };
  gpuTest(
    `expanded gemm parity: one DeepSeek-V2-Lite causal prefill ${dtype} (100 x 100)`,
    () => parity(c),
    {
      specs: ["deepseek-v2-lite"],
      skip: (() => {
        const p = planOf(c);
        return typeof p === "string" ? p : null;
      })(),
    },
  );
}

Deno.test("expanded gemm: a forced KV split is refused with the reason", {
  ignore: CAPS === null,
}, () => {
  const p = planOf({
    preset: "tiny",
    dtype: "f32",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 300, causal: true },
    kvSplits: 3,
  });
  assert.equal(typeof p, "string");
  assert.match(p as string, /variant\.kv-splits: kvSplits = 3: wgsl-expanded-gemm runs/);
});

/** Poisoned logical keys, and the logical query rows that see one. */
const POISONS: readonly { layout: LayoutRequest; keys: number[]; nanRows: number[] }[] = [
  // MTP: key 39 is a causal future key of query 0 (same key group, same score vec4).
  { layout: { kind: "bshd", batch: 1, seqQ: 2, seqK: 40, causal: true }, keys: [39], nanRows: [1] },
  // Prefill: key 9 is seen by queries 9..19 of the tile, not by queries 0..8.
  {
    layout: { kind: "bshd", batch: 1, seqQ: 20, seqK: 20, causal: true },
    keys: [9],
    nanRows: [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  },
  // Packed THD: the first key of sequence 1 sits right after sequence 0's keys.
  {
    layout: { kind: "thd", cuSeqlensQ: [0, 1, 2], cuSeqlensK: [0, 5, 12], causal: true },
    keys: [5],
    nanRows: [1],
  },
];

/** Run a poisoned case; check NaN exactly in `nanRows` (kernel and reference) and parity. */
async function checkPoison(
  p: (typeof POISONS)[number],
  options: { dtype: Dtype; value: number; mutate?: SourceMutation },
): Promise<void> {
  const planned = planOf({ preset: "tiny", dtype: options.dtype, layout: p.layout });
  if (typeof planned === "string") throw new Error(planned);
  const { plan, spec } = planned;
  const inputs = makeAttentionInputs(spec, plan.layout, {
    seed: 2,
    poisonKeys: p.keys,
    poisonValue: options.value,
  });
  const got = (await runAttention(await gpu(), plan, { spec, inputs, mutate: options.mutate }))
    .outputs;
  const want = denseAttention(spec, plan.layout, { inputs });
  const h = spec.numHeads;
  const v = spec.vHeadDim;
  for (let q = 0; q < plan.layout.totalQ; q++) {
    const nan = p.nanRows.includes(q);
    for (let hd = 0; hd < h; hd++) {
      for (const [name, r] of [["reference", want], ["kernel", got]] as const) {
        const l = r.lse[q * h + hd];
        assert.ok(nan ? Number.isNaN(l) : Number.isFinite(l), `${name} LSE row ${q}: ${l}`);
        const row = Array.from(r.out.subarray((q * h + hd) * v, (q * h + hd + 1) * v));
        assert.ok(
          row.every((x) => nan ? Number.isNaN(x) : Number.isFinite(x)),
          `${name} out row ${q} head ${hd}: expected ${nan ? "NaN" : "finite"}`,
        );
      }
    }
  }
  const res = compareAttention(got, want, {
    tolerance: toleranceFor(plan.variant.dtype, plan.path),
    numHeads: h,
    vDim: v,
  });
  assert.ok(res.pass, `${summarize(res.out)}\n${summarize(res.lse)}`);
}

gpuTest("expanded gemm: NaN and Inf in keys a row does not see never reach it", async (t) => {
  for (const dtype of ["f32", "f16"] as const) {
    for (const value of [NaN, Infinity]) {
      for (const p of POISONS) {
        const planned = planOf({ preset: "tiny", dtype, layout: p.layout });
        const why = typeof planned === "string" ? planned : null;
        await t.step({
          name: nameWithReason(`${dtype} ${value} ${layoutLabel(p.layout)}`, why),
          ignore: why !== null,
          fn: () => checkPoison(p, { dtype, value }),
        });
      }
    }
  }
}, { skip: CAPS === null ? "no WebGPU adapter" : null });

gpuTest(
  "expanded gemm: multiplying masked value rows by p = 0 (instead of selecting) leaks NaN, and is caught",
  async () => {
    const pattern = "let cv = mat4x4<f32>(select(z, ce[0], vis.x), select(z, ce[1], vis.y),";
    let applied = 0;
    const mutate: SourceMutation = (file, src) => {
      if (file !== "expanded_gemm.wgsl") return src;
      assert.ok(src.includes(pattern), "the select of masked rows is gone from expanded_gemm.wgsl");
      applied++;
      return src.replace(
        /let cv = mat4x4<f32>\(select\(z, ce\[0\], vis\.x\), select\(z, ce\[1\], vis\.y\),\s*select\(z, ce\[2\], vis\.z\), select\(z, ce\[3\], vis\.w\)\);/,
        "let cv = ce;",
      );
    };
    await assert.rejects(
      () => checkPoison(POISONS[1], { dtype: "f32", value: NaN, mutate }),
      /kernel (LSE|out) row [0-8]\b/,
    );
    assert.ok(applied > 0);
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);

/**
 * The loop budget at its boundary (tiny f32, one query; here the values pass, whose rolled
 * 16-query loop costs 18 iterations per 4 keys, bounds it). At the adapter's count
 * (gemmMaxKeys) the plan is accepted, the last key (NaN) reaches the LSE and, unpoisoned,
 * the output is within 1e-5 of the float64 reference everywhere (the cosine criterion of
 * the f32 tolerance is not used: over 87k keys f32 sums drift past it); 4 keys more are
 * refused with the reason; and run anyway (planned for a device without a budget), 10%
 * more keys are off by more than 1e-3 (the softmax's normalizing loop is cut short,
 * leaving the last keys' probabilities unnormalized), so the device really truncates and
 * the count is not loose.
 */
gpuTest("expanded gemm: the loop-budget boundary of the values pass (tiny f32)", async () => {
  const budget = CAPS!.loopIterationBudget!;
  const spec = presetSpec("tiny");
  const layout = (keys: number): LayoutRequest => ({
    kind: "bshd",
    batch: 1,
    seqQ: 1,
    seqK: keys,
    causal: true,
  });
  const lastKeyReached = async (plan: GpuPlan): Promise<boolean> => {
    const keys = plan.layout.totalK;
    const inputs = makeAttentionInputs(spec, plan.layout, { seed: 5, poisonKeys: [keys - 1] });
    const got = (await runAttention(await gpu(), plan, { spec, inputs })).outputs;
    const nan = Array.from(got.lse).filter((x) => Number.isNaN(x)).length;
    assert.ok(nan === 0 || nan === got.lse.length, `${nan} of ${got.lse.length} LSE NaN`);
    return nan > 0;
  };
  const maxKeys = gemmMaxKeys({ keyVec4: spec.kChannels / 4 }, budget, {
    valuesTripCost: GEMM_QUERY_TILE + 2,
  });
  const at = planOf({ preset: "tiny", dtype: "f32", layout: layout(maxKeys) });
  assert.notEqual(typeof at, "string", String(at));
  assert.ok(await lastKeyReached((at as { plan: GpuPlan }).plan), `${maxKeys} keys: truncated`);
  const over = planOf({ preset: "tiny", dtype: "f32", layout: layout(maxKeys + 4) });
  assert.equal(typeof over, "string");
  assert.match(over as string, /device.loop-budget: .* at most \d+ keys per query fit/);
  const maxError = async (plan: GpuPlan): Promise<number> => {
    const inputs = makeAttentionInputs(spec, plan.layout, { seed: 6 });
    const got = (await runAttention(await gpu(), plan, { spec, inputs })).outputs;
    const want = denseAttention(spec, plan.layout, { inputs });
    return compareAttention(got, want, {
      tolerance: toleranceFor("f32", plan.path),
      numHeads: spec.numHeads,
      vDim: spec.vHeadDim,
    }).out.maxAbs;
  };
  const atError = await maxError((at as { plan: GpuPlan }).plan);
  assert.ok(atError < 1e-5, `${maxKeys} keys: max abs error ${atError}`);
  const beyond = Math.ceil(maxKeys * 1.1);
  const r = resolve(
    { spec, dtype: "f32", backend: BACKEND, layout: layout(beyond) },
    { ...CAPS!, loopIterationBudget: null, adapter: { ...CAPS!.adapter, description: "x" } },
  );
  const beyondError = await maxError(gpuPlanOf(r));
  // Through GL (the fallback) the shader takes another compiler path, which may unroll what
  // the Vulkan path leaves rolled: there the count is only an upper bound, so only its safe
  // side is checked.
  if (backendChoice().backend !== "gl") {
    assert.ok(beyondError > 1e-3, `${beyond} keys in one row: max abs error only ${beyondError}`);
  }
}, {
  skip: CAPS === null || !CAPS.loopIterationBudget
    ? "the device has no loop budget (measured): nothing to check at the boundary"
    : null,
});
