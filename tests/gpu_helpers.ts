/**
 * Shared setup of the GPU test suites: one context per test module, the adapter
 * check that decides `ignore`, and a runner that resolves a case, makes seeded
 * inputs, runs the kernel and compares it with the float64 reference.
 *
 * @module
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type {
  AttentionInputs,
  CacheTextureShape,
  DeviceCaps,
  Dtype,
  GpuPlan,
  LayoutRequest,
  MlaSpec,
} from "../adapter/types.ts";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { runAttention, type RunAttentionResult } from "../kernels/attention.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { type AttentionCompareResult, compareAttention, summarize } from "../parity/compare.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { attention, denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { isGlFallback, TOO_SLOW_CODE, tooSlowReason } from "../adapter/slow_device.ts";
import { hasCompiler } from "../tools/c_shim.ts";

/** Whether a WebGPU adapter exists (tests are ignored, and say so, when not). */
export const HAS_ADAPTER: boolean = await hasAdapter();

if (!HAS_ADAPTER) {
  console.warn(
    "GPU tests IGNORED (not passed): no WebGPU adapter. Install mesa-vulkan-drivers " +
      "(the harness then picks Vulkan by itself).",
  );
}

let shared: GpuContext | null = null;

/** The module's shared context (created on first use). */
export async function gpu(): Promise<GpuContext> {
  if (!shared || shared.lost) {
    shared = await GpuContext.create({ optionalFeatures: ["shader-f16", "timestamp-query"] });
  }
  return shared;
}

/**
 * The capabilities of this machine's adapter (features, limits, measured loop budget), or
 * null without one. Read once at load so that `ignore` can be decided when tests register.
 */
export const CAPS: DeviceCaps | null = HAS_ADAPTER ? (await gpu()).caps : null;

/** What a GPU test needs of the device; the adapter (the seam) answers, not the test. */
export interface GpuNeeds {
  /** Cases that must be supported on this device (the adapter's `resolve` decides). */
  readonly cases?: readonly CaseSpec[];
  /** WebGPU features the test uses directly (not through a plan). */
  readonly features?: readonly GPUFeatureName[];
  /** Presets or specs the test runs at (too big for a slow device: ignored there). */
  readonly specs?: readonly (string | MlaSpec)[];
  /** Why the test would be ignored regardless of the device, e.g. "takes > 1 min here". */
  readonly skip?: string | null;
}

/**
 * Why a test cannot run on this device, or null when it can: no adapter, a feature the
 * adapter lacks, a case the adapter refuses (its reason codes and messages), or `skip`.
 *
 * @example
 * ```ts
 * import { ignoreReason } from "./gpu_helpers.ts";
 * ignoreReason({ cases: [{ spec: "tiny", dtype: "f16", backend: "wgsl-absorbed",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: false } }] });
 * // null with lavapipe; "dtype.f16-unavailable: ..." on the GL fallback
 * ```
 */
export function ignoreReason(needs: GpuNeeds = {}): string | null {
  if (!HAS_ADAPTER || CAPS === null) return "no WebGPU adapter";
  for (const f of needs.features ?? []) {
    if (!CAPS.features.includes(f)) {
      return `the adapter lacks the WebGPU feature ${f} (${CAPS.adapter.description})`;
    }
  }
  for (const c of needs.cases ?? []) {
    const spec = typeof c.spec === "string" ? presetSpec(c.spec) : c.spec;
    const plan = resolve(
      { spec, dtype: c.dtype, backend: c.backend, layout: c.layout },
      CAPS,
      { kvSplits: c.kvSplits },
    );
    if (plan.kind !== "plan") {
      return plan.reasons.map((r) => `${r.code}: ${r.message}`).join("; ");
    }
    const slow = tooSlowReason(spec, CAPS);
    if (slow !== null) return `${slow.code}: ${slow.message}`;
  }
  for (const spec of needs.specs ?? []) {
    const why = sizeReason(spec);
    if (why !== null) return why;
  }
  return needs.skip ?? null;
}

/**
 * Why a preset or spec is too big for this device's speed (the GL fallback), or null: for
 * steps of a test that mixes sizes (`t.step({ name, ignore: sizeReason(spec) !== null })`).
 *
 * @example
 * ```ts
 * import { sizeReason } from "./gpu_helpers.ts";
 * sizeReason("tiny"); // null
 * sizeReason("deepseek-v2-lite"); // "device.too-slow: ..." on the GL fallback, else null
 * ```
 */
export function sizeReason(spec: string | MlaSpec): string | null {
  if (CAPS === null) return "no WebGPU adapter";
  const slow = tooSlowReason(typeof spec === "string" ? presetSpec(spec) : spec, CAPS);
  return slow === null ? null : `${slow.code}: ${slow.message}`;
}

/**
 * A test name that carries the reason it is ignored on this device (unchanged when the
 * test runs), so `deno test` output says why.
 *
 * @example
 * ```ts
 * import { nameWithReason } from "./gpu_helpers.ts";
 * nameWithReason("decode f16", "dtype.f16-unavailable: ..."); // "decode f16 [ignored here: ...]"
 * ```
 */
export function nameWithReason(name: string, reason: string | null): string {
  return reason === null ? name : `${name} [ignored here: ${reason}]`;
}

/**
 * Deno.test options of a GPU test: ignored without an adapter or when the device lacks
 * what `needs` asks for (the reason goes into the name); resource and op sanitizers off
 * because pipelines and the device outlive a single test on purpose (they are cached per
 * module).
 */
export function gpuTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  needs: GpuNeeds = {},
): void {
  const reason = ignoreReason(needs);
  Deno.test({
    name: nameWithReason(name, reason),
    ignore: reason !== null,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

/** One case of a parity run. */
export interface CaseSpec {
  /** Preset name or a spec. */
  spec: string | MlaSpec;
  /** Storage dtype. */
  dtype: Dtype;
  /** Backend. */
  backend: string;
  /** Layout. */
  layout: LayoutRequest;
  /** Forced KV splits (absorbed). */
  kvSplits?: number;
  /** Seed of the inputs. Default 1. */
  seed?: number;
  /** Caps to plan against (e.g. a smaller texture side). Default: the device's. */
  caps?: DeviceCaps;
}

/** What {@link runCase} returns. */
export interface CaseRun {
  spec: MlaSpec;
  plan: GpuPlan;
  inputs: AttentionInputs;
  result: RunAttentionResult;
}

/** Resolve a case and make its inputs. */
export async function planCase(
  c: CaseSpec,
): Promise<{ spec: MlaSpec; plan: GpuPlan; inputs: AttentionInputs }> {
  const ctx = await gpu();
  const spec = typeof c.spec === "string" ? presetSpec(c.spec) : c.spec;
  const plan = gpuPlanOf(
    resolve({ spec, dtype: c.dtype, backend: c.backend, layout: c.layout }, c.caps ?? ctx.caps, {
      kvSplits: c.kvSplits,
    }),
  );
  const inputs = makeAttentionInputs(spec, plan.layout, { seed: c.seed ?? 1 });
  return { spec, plan, inputs };
}

/** Resolve, make inputs, run on the GPU. */
export async function runCase(c: CaseSpec, mutate?: SourceMutation): Promise<CaseRun> {
  const { spec, plan, inputs } = await planCase(c);
  const result = await runAttention(await gpu(), plan, { spec, inputs, mutate });
  return { spec, plan, inputs, result };
}

/** Compare a run with the float64 dense reference under the tolerance table. */
export function checkAgainstReference(run: CaseRun): AttentionCompareResult {
  const want = denseAttention(run.spec, run.plan.layout, {
    inputs: run.inputs,
    storedAs: run.plan.variant.dtype,
  });
  return compareAttention(run.result.outputs, want, {
    tolerance: toleranceFor(run.plan.variant.dtype, run.plan.path),
    numHeads: run.spec.numHeads,
    vDim: run.spec.vHeadDim,
  });
}

/**
 * Compare a run with the float64 reference in the formulation its plan names
 * (`plan.reference`, chosen by cost as the runner chooses it): dense for small cases,
 * absorbed for long caches of many heads, where expanding every key's per-head K and V
 * costs about 10x the absorbed formulation (DeepSeek-V2-Lite's 16 heads over 14k keys:
 * seconds). Both compute the same attention in float64; tests/reference_attention_test.ts
 * checks that they agree.
 *
 * @example
 * ```ts ignore
 * import { checkAgainstPlanReference, runCase } from "./gpu_helpers.ts";
 * const run = await runCase({ spec: "tiny", dtype: "f32", backend: "wgsl-absorbed",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true } });
 * checkAgainstPlanReference(run).pass; // true
 * ```
 */
export function checkAgainstPlanReference(run: CaseRun): AttentionCompareResult {
  const want = attention(run.spec, run.plan.layout, {
    inputs: run.inputs,
    storedAs: run.plan.variant.dtype,
    path: run.plan.reference === "dense" ? "expanded" : "absorbed",
  });
  return compareAttention(run.result.outputs, want, {
    tolerance: toleranceFor(run.plan.variant.dtype, run.plan.path),
    numHeads: run.spec.numHeads,
    vDim: run.spec.vHeadDim,
  });
}

/**
 * Assert that a run matches the float64 dense reference ({@link checkAgainstReference}),
 * the message summarizing the output and LSE comparisons (after `label`, when given).
 */
export function assertMatchesReference(run: CaseRun, label?: string): void {
  const res = checkAgainstReference(run);
  assert.ok(
    res.pass,
    `${label === undefined ? "" : `${label}\n`}${summarize(res.out)}\n${summarize(res.lse)}`,
  );
}

/**
 * Assert that a run matches the float64 reference in its plan's formulation
 * ({@link checkAgainstPlanReference}), as {@link assertMatchesReference} does with the dense
 * one.
 *
 * @example
 * ```ts ignore
 * import { assertMatchesPlanReference, runCase } from "./gpu_helpers.ts";
 * assertMatchesPlanReference(await runCase({ spec: "deepseek-v2-lite", dtype: "f32",
 *   backend: "wgsl-absorbed", layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 300, causal: true } }));
 * ```
 */
export function assertMatchesPlanReference(run: CaseRun, label?: string): void {
  const res = checkAgainstPlanReference(run);
  assert.ok(
    res.pass,
    `${label === undefined ? "" : `${label}\n`}${summarize(res.out)}\n${summarize(res.lse)}`,
  );
}

/** A short label of a layout request. */
export function layoutLabel(l: LayoutRequest): string {
  if (l.kind === "thd") {
    return `thd q=${l.cuSeqlensQ.join(",")} k=${(l.cuSeqlensK ?? l.cuSeqlensQ).join(",")}` +
      `${l.cuSeqlensQPadded ? " padded" : ""} causal=${l.causal ? 1 : 0}`;
  }
  return `${l.kind} b=${l.batch} sq=${l.seqQ} sk=${l.seqK}` +
    `${l.kvLens ? ` kv=${l.kvLens.join(",")}` : ""} causal=${l.causal ? 1 : 0}`;
}

/**
 * A step of a GPU test, ignored (with the reason in its name) when the device lacks what
 * `needs` asks for, as {@link gpuTest} does for whole tests.
 *
 * @example
 * ```ts ignore
 * import { gpuStep } from "./gpu_helpers.ts";
 * await gpuStep(t, "deepseek-v2-lite", { specs: ["deepseek-v2-lite"] }, async () => {});
 * ```
 */
export async function gpuStep(
  t: Deno.TestContext,
  name: string,
  needs: GpuNeeds,
  fn: () => Promise<void>,
): Promise<boolean> {
  const reason = ignoreReason(needs);
  return await t.step({
    name: nameWithReason(name, reason),
    ignore: reason !== null,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

/**
 * A reason to ignore work measured to take over a minute on the GL fallback (software
 * llvmpipe through GL), or null on any other device (or without one: {@link gpuTest} says so).
 *
 * @example
 * ```ts
 * import { slowOnGlFallback } from "./gpu_helpers.ts";
 * slowOnGlFallback("the tiled kernel: 40 s to 4 min per case"); // null on lavapipe
 * ```
 */
export function slowOnGlFallback(what: string): string | null {
  return CAPS !== null && isGlFallback(CAPS)
    ? `${TOO_SLOW_CODE}: ${what} on the GL fallback (measured on this machine kind)`
    : null;
}

/**
 * `caps` as a GPU-class device would give them (no loop budget, not a fallback adapter, not
 * named as a CPU implementation): plans then take the paths GPUs take (the K/V expansion's
 * buffer reads), which tiny cases can run on this device within its real loop budget.
 *
 * @example
 * ```ts ignore
 * deviceClassOf(gpuClassCaps(CAPS!))?.kind; // "gpu"
 * ```
 */
export function gpuClassCaps(caps: DeviceCaps): DeviceCaps {
  // A class set by hand (MLA_HARNESS_DEVICE_CLASS=cpu) would win over the rules: drop it.
  const { deviceClass: _class, deviceClassFrom: _from, ...own } = caps;
  return {
    ...own,
    loopIterationBudget: null,
    adapter: {
      vendor: "test",
      architecture: "test",
      device: "test",
      description: "a GPU-class test device",
      isFallbackAdapter: false,
    },
  };
}

/**
 * `caps` as a cpu-class device would give them (the class set by hand, the device's own
 * loop budget kept): plans then take the paths CPU-class devices take (weights and the
 * latent cache read through textures) on any device, a GPU included.
 *
 * @example
 * ```ts ignore
 * deviceClassOf(cpuClassCaps(CAPS!))?.kind; // "cpu"
 * ```
 */
export function cpuClassCaps(caps: DeviceCaps): DeviceCaps {
  const { deviceClassFrom: _from, ...own } = caps;
  return { ...own, deviceClass: "cpu" };
}

/** `caps` with textures of `side` texels a side (smaller than the adapter's limit). */
export function withTextureSide(caps: DeviceCaps, side: number): DeviceCaps {
  return { ...caps, limits: { ...caps.limits, maxTextureDimension2D: side } };
}

/**
 * The caps a fault scenario is planned on: this device's, or as a device of the scenario's
 * `deviceClass` gives them, with textures of at most its `maxTextureSide`.
 */
export function scenarioCaps(
  caps: DeviceCaps,
  scenario: { deviceClass?: "cpu" | "gpu"; maxTextureSide?: number },
): DeviceCaps {
  const { deviceClass, maxTextureSide } = scenario;
  const classed = deviceClass === undefined
    ? caps
    : deviceClass === "gpu"
    ? gpuClassCaps(caps)
    : cpuClassCaps(caps);
  const side = classed.limits.maxTextureDimension2D ?? 8192; // WebGPU's default
  return maxTextureSide === undefined || side <= maxTextureSide
    ? classed
    : withTextureSide(classed, maxTextureSide);
}

/**
 * Assert that `tex` holds `rows` rows with two or more per texture row, within this device's
 * texture side (a case built to pass maxTextureDimension2D on every adapter, 8192-32768).
 */
export function assertSharedTextureRows(tex: CacheTextureShape | undefined, rows: number): void {
  assert.ok(tex, "the plan has no texture");
  const maxDim = CAPS?.limits.maxTextureDimension2D ?? 8192;
  assert.ok(tex.rowsPerTexelRow >= 2, JSON.stringify(tex));
  assert.ok(tex.width <= maxDim && tex.height <= maxDim, JSON.stringify(tex));
  assert.equal(tex.height, Math.ceil(rows / tex.rowsPerTexelRow));
}

/**
 * Why tools/spirv_audit.ts cannot read this machine's driver's SPIR-V here (no adapter, the
 * GL fallback, no C compiler for its shim), or null.
 *
 * @example
 * ```ts
 * import { spirvAuditSkip } from "./gpu_helpers.ts";
 * const skip = await spirvAuditSkip(); // null on lavapipe with cc installed
 * ```
 */
export async function spirvAuditSkip(): Promise<string | null> {
  if (CAPS === null) return "no WebGPU adapter";
  if (isGlFallback(CAPS)) return "the GL fallback: wgpu gives it GLSL, not SPIR-V";
  if (!(await hasCompiler())) return "no C compiler (cc) to build tools/spirv_shim/icd_shim.c";
  return null;
}
