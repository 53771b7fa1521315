/**
 * Shared pieces of the tests that check one backend against the float64 reference on this
 * machine's adapter (the gemm and tiled kernels' test files): planning a case on that backend, a
 * parity run, a poisoned run whose NaN must reach exactly the rows that see the key, and
 * the loop-budget boundary of one query.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type { DeviceCaps, Dtype, GpuPlan, LayoutRequest, MlaSpec } from "../adapter/types.ts";
import { backendChoice } from "../gpu/backend_choice.ts";
import { runAttention } from "../kernels/attention.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { compareAttention, summarize } from "../parity/compare.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { attention, denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { CAPS, gpu, gpuTest, layoutLabel, nameWithReason } from "./gpu_helpers.ts";

/** One case of a backend test. */
export interface BackendCase {
  preset: string;
  /** A spec to use instead of the preset's (a shape no preset has). */
  spec?: MlaSpec;
  dtype: Dtype;
  layout: LayoutRequest;
  kvSplits?: number;
  /** Plan against these caps instead of the adapter's (e.g. a smaller workgroup memory). */
  caps?: DeviceCaps | null;
}

/** Poisoned logical keys, and the logical query rows that see one. */
export interface Poison {
  layout: LayoutRequest;
  keys: number[];
  nanRows: number[];
  /** KV splits to force (backends that split). */
  kvSplits?: number;
}

/** The plan of a case on `backend` on this device, or why there is none. */
export function planOn(backend: string, c: BackendCase): { plan: GpuPlan; spec: MlaSpec } | string {
  const caps = c.caps === undefined ? CAPS : c.caps;
  if (caps === null) return "no WebGPU adapter";
  const spec = c.spec ?? presetSpec(c.preset);
  const r = resolve({ spec, dtype: c.dtype, backend, layout: c.layout }, caps, {
    kvSplits: c.kvSplits,
  });
  if (r.kind !== "plan") return r.reasons.map((x) => `${x.code}: ${x.message}`).join("; ");
  return { plan: gpuPlanOf(r), spec };
}

/** A case's name in a test step. */
export function caseLabel(c: BackendCase): string {
  return `${c.preset} ${c.dtype} ${layoutLabel(c.layout)}` +
    (c.kvSplits ? ` splits=${c.kvSplits}` : "");
}

/**
 * Run a case on `backend` and check it against the float64 reference (and its variant
 * family, when given): the dense formulation, or with `reference: "plan"` the one the plan
 * names ({@link planParityOn}).
 */
export async function parityOn(
  backend: string,
  c: BackendCase,
  options: { family?: string; seed?: number; reference?: "dense" | "plan" } = {},
): Promise<void> {
  const p = planOn(backend, c);
  if (typeof p === "string") throw new Error(`${caseLabel(c)}: ${p}`);
  const { plan, spec } = p;
  if (options.family) assert.equal(plan.variant.family, options.family, caseLabel(c));
  const inputs = makeAttentionInputs(spec, plan.layout, { seed: options.seed ?? 5 });
  const got = (await runAttention(await gpu(), plan, { spec, inputs })).outputs;
  const storedAs = plan.variant.dtype;
  const want = options.reference === "plan"
    ? attention(spec, plan.layout, {
      inputs,
      storedAs,
      path: plan.reference === "dense" ? "expanded" : "absorbed",
    })
    : denseAttention(spec, plan.layout, { inputs, storedAs });
  const res = compareAttention(got, want, {
    tolerance: toleranceFor(plan.variant.dtype, plan.path),
    numHeads: spec.numHeads,
    vDim: spec.vHeadDim,
  });
  assert.ok(res.pass, `${caseLabel(c)}\n${summarize(res.out)}\n${summarize(res.lse)}`);
}

/**
 * {@link parityOn} against the float64 reference in the formulation the plan names
 * (`plan.reference`, chosen by cost as the runner chooses it): the dense one for small
 * cases, the absorbed one where expanding every key's per-head K and V would cost seconds
 * (DeepSeek-V2-Lite's 16 heads over hundreds of keys). The checks are parityOn's.
 *
 * @example
 * ```ts ignore
 * import { planParityOn } from "./backend_parity_helpers.ts";
 * await planParityOn("wgsl-absorbed", { preset: "deepseek-v2-lite", dtype: "f32",
 *   layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 300, causal: true } });
 * ```
 */
export function planParityOn(
  backend: string,
  c: BackendCase,
  options: { family?: string; seed?: number } = {},
): Promise<void> {
  return parityOn(backend, c, { ...options, reference: "plan" });
}

/**
 * Run a poisoned tiny case on `backend`; check NaN exactly in the poison's rows (kernel and
 * reference), finite everywhere else, and parity.
 */
export async function checkPoisonOn(
  backend: string,
  p: Poison,
  options: {
    dtype: Dtype;
    value: number;
    mutate?: SourceMutation;
    /** Plan against these caps instead of the adapter's (see {@link BackendCase.caps}). */
    caps?: DeviceCaps | null;
    /** A spec instead of tiny's (see {@link BackendCase.spec}). */
    spec?: MlaSpec;
  },
): Promise<void> {
  const planned = planOn(backend, {
    preset: "tiny",
    spec: options.spec,
    dtype: options.dtype,
    layout: p.layout,
    kvSplits: p.kvSplits,
    caps: options.caps,
  });
  if (typeof planned === "string") throw new Error(planned);
  const { plan, spec } = planned;
  const inputs = makeAttentionInputs(spec, plan.layout, {
    seed: 2,
    poisonKeys: p.keys,
    poisonValue: options.value,
  });
  const got = (await runAttention(await gpu(), plan, { spec, inputs, mutate: options.mutate }))
    .outputs;
  const want = denseAttention(spec, plan.layout, { inputs, storedAs: plan.variant.dtype });
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

/**
 * The loop-budget boundary of one query on `backend` (tiny f32), as a test. At `maxKeys`
 * (the adapter's count for this device's budget) the plan is accepted, the last key (NaN)
 * reaches the LSE and, unpoisoned, the output is within 1e-5 of the float64 reference
 * everywhere (the cosine criterion of the f32 tolerance is not used: over tens of thousands
 * of keys f32 sums drift past it); 4 keys more are refused with `device.loop-budget`; and,
 * on Vulkan, run anyway (planned for a device without a budget) 10% more keys are off by
 * more than 1e-3, so the device really truncates and the count is not loose. Through GL
 * (the fallback) another compiler path may unroll what Vulkan leaves rolled: there only the
 * safe side is checked.
 */
export function loopBoundaryTest(
  name: string,
  backend: string,
  maxKeysOf: (spec: MlaSpec, budget: number) => number,
): void {
  gpuTest(name, async () => {
    const budget = CAPS!.loopIterationBudget!;
    const spec = presetSpec("tiny");
    const layout = (keys: number): LayoutRequest => ({
      kind: "bshd",
      batch: 1,
      seqQ: 1,
      seqK: keys,
      causal: true,
    });
    const run = async (plan: GpuPlan, poisonLast: boolean) => {
      const keys = plan.layout.totalK;
      const inputs = makeAttentionInputs(spec, plan.layout, {
        seed: poisonLast ? 5 : 6,
        poisonKeys: poisonLast ? [keys - 1] : [],
      });
      const got = (await runAttention(await gpu(), plan, { spec, inputs })).outputs;
      return { got, inputs };
    };
    const lastKeyReached = async (plan: GpuPlan): Promise<boolean> => {
      const { got } = await run(plan, true);
      const nan = Array.from(got.lse).filter((x) => Number.isNaN(x)).length;
      assert.ok(nan === 0 || nan === got.lse.length, `${nan} of ${got.lse.length} LSE NaN`);
      return nan > 0;
    };
    const maxError = async (plan: GpuPlan): Promise<number> => {
      const { got, inputs } = await run(plan, false);
      const want = denseAttention(spec, plan.layout, { inputs, storedAs: plan.variant.dtype });
      return compareAttention(got, want, {
        tolerance: toleranceFor("f32", plan.path),
        numHeads: spec.numHeads,
        vDim: spec.vHeadDim,
      }).out.maxAbs;
    };
    const maxKeys = maxKeysOf(spec, budget);
    const at = planOn(backend, { preset: "tiny", dtype: "f32", layout: layout(maxKeys) });
    assert.notEqual(typeof at, "string", String(at));
    const atPlan = (at as { plan: GpuPlan }).plan;
    assert.ok(await lastKeyReached(atPlan), `${maxKeys} keys: truncated`);
    const atError = await maxError(atPlan);
    assert.ok(atError < 1e-5, `${maxKeys} keys: max abs error ${atError}`);
    const over = planOn(backend, { preset: "tiny", dtype: "f32", layout: layout(maxKeys + 4) });
    assert.equal(typeof over, "string");
    assert.match(over as string, /device.loop-budget: .* at most \d+ keys per query fit/);
    const beyond = Math.ceil(maxKeys * 1.1);
    const r = resolve(
      { spec, dtype: "f32", backend, layout: layout(beyond) },
      { ...CAPS!, loopIterationBudget: null, adapter: { ...CAPS!.adapter, description: "x" } },
    );
    const beyondError = await maxError(gpuPlanOf(r));
    if (backendChoice().backend !== "gl") {
      assert.ok(beyondError > 1e-3, `${beyond} keys in one row: max abs error only ${beyondError}`);
    }
  }, {
    skip: CAPS === null || !CAPS.loopIterationBudget
      ? "the device has no loop budget (measured): nothing to check at the boundary"
      : null,
  });
}

/**
 * The FA2 prefill kernel's tile edges at tiny widths: a causal prefill whose query tiles are
 * 64 + 6 (or smaller, by the plan's SM count) and key tiles 32 + 32 + 26, bottom-right offset
 * 20 (tests/kernels_expanded_tiled_test.ts, tests/kernels_tiled_unrolled_test.ts).
 */
export const FA2_PARTIAL_TILES: LayoutRequest = {
  kind: "bshd",
  batch: 2,
  seqQ: 70,
  seqK: 90,
  causal: true,
};
/** Packed THD with padding rows, for the FA2 kernel (see {@link FA2_PARTIAL_TILES}). */
export const FA2_PACKED_THD: LayoutRequest = {
  kind: "thd",
  cuSeqlensQ: [0, 5, 75],
  cuSeqlensK: [0, 9, 100],
  cuSeqlensQPadded: [0, 8, 80],
  cuSeqlensKPadded: [0, 12, 104],
  causal: true,
};

/**
 * Tiny-width layouts every backend test covers: decode with a partial key group, MTP,
 * small causal prefill, packed THD with padding, paged block tables, an empty sequence.
 */
export const TINY_LAYOUTS: readonly LayoutRequest[] = [
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

/**
 * Parity at tiny widths over `layouts` (each a layout, or a layout with forced KV splits) in
 * f32 and f16, a step each (ignored with the reason); `family` (null: any) is the kernel
 * family each plan must have, `caps` plans against other caps than the adapter's, `check`
 * asserts more of each plan before it runs, and `skip` skips the whole test (e.g. too slow
 * on the GL fallback).
 */
export function tinyParityTest(
  name: string,
  backend: string,
  family: string | null,
  layouts: readonly (LayoutRequest | { layout: LayoutRequest; kvSplits: number })[],
  options: {
    seed?: number;
    skip?: string | null;
    caps?: DeviceCaps | null;
    check?: (plan: GpuPlan, c: BackendCase) => void;
  } = {},
): void {
  gpuTest(name, async (t) => {
    for (const dtype of ["f32", "f16"] as const) {
      for (const l of layouts) {
        const c: BackendCase = "kind" in l
          ? { preset: "tiny", dtype, layout: l, caps: options.caps }
          : { preset: "tiny", dtype, layout: l.layout, kvSplits: l.kvSplits, caps: options.caps };
        const p = planOn(backend, c);
        const why = typeof p === "string" ? p : null;
        await t.step({
          name: nameWithReason(caseLabel(c), why),
          ignore: why !== null,
          fn: async () => {
            if (typeof p !== "string") options.check?.(p.plan, c);
            await parityOn(backend, c, { family: family ?? undefined, seed: options.seed });
          },
        });
      }
    }
  }, { skip: CAPS === null ? "no WebGPU adapter" : options.skip ?? null });
}

/**
 * Parity of one model-size case on `backend` as a test: skipped with `skip` when given, with
 * the adapter's reasons when the device cannot plan it, and where the preset is too slow
 * (the GL fallback).
 */
export function modelParityTest(
  name: string,
  backend: string,
  c: BackendCase,
  options: { family?: string; seed?: number; skip?: string | null } = {},
): void {
  const p = planOn(backend, c);
  gpuTest(name, () => parityOn(backend, c, options), {
    specs: [c.preset],
    skip: options.skip ?? (typeof p === "string" ? p : null),
  });
}

/** A forced KV split on `backend` (a one-pass kernel) is refused, naming the backend. */
export function forcedSplitRefusedTest(name: string, backend: string): void {
  Deno.test(name, { ignore: CAPS === null }, () => {
    const p = planOn(backend, {
      preset: "tiny",
      dtype: "f32",
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 300, causal: true },
      kvSplits: 3,
    });
    assert.equal(typeof p, "string");
    assert.match(p as string, new RegExp(`variant\\.kv-splits: kvSplits = 3: ${backend} runs`));
  });
}

/**
 * NaN and Inf in poisoned keys reach exactly the rows that see them, f32 and f16, a step
 * each; `skip` skips the whole test.
 */
export function poisonTest(
  name: string,
  backend: string,
  poisons: readonly Poison[],
  options: { skip?: string | null } = {},
): void {
  gpuTest(name, async (t) => {
    for (const dtype of ["f32", "f16"] as const) {
      for (const value of [NaN, Infinity]) {
        for (const p of poisons) {
          const planned = planOn(backend, {
            preset: "tiny",
            dtype,
            layout: p.layout,
            kvSplits: p.kvSplits,
          });
          const why = typeof planned === "string" ? planned : null;
          await t.step({
            name: nameWithReason(`${dtype} ${value} ${layoutLabel(p.layout)}`, why),
            ignore: why !== null,
            fn: () => checkPoisonOn(backend, p, { dtype, value }),
          });
        }
      }
    }
  }, { skip: CAPS === null ? "no WebGPU adapter" : options.skip ?? null });
}
