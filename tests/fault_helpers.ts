/**
 * One test per planted source fault of a kernel family: in its scenario, on the backend it
 * is planted in (`faultBackendOf`), the clean kernel passes the comparison with the float64
 * reference and the faulty one fails it (and the fault's file was compiled at all). Used by
 * the tiled and the gemm families' fault tests.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import { runAttention } from "../kernels/attention.ts";
import { type AttentionCompareResult, compareAttention, summarize } from "../parity/compare.ts";
import { type Fault, faultBackendOf, type FaultScenario } from "../parity/faults.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { type AttentionResult, denseAttention } from "../reference/attention.ts";
import { type Float64AttentionInputs, makeAttentionInputs } from "../reference/inputs.ts";
import type { GpuContext } from "../gpu/device.ts";
import type { GpuPlan, MlaSpec } from "../adapter/types.ts";
import { CAPS, gpu, gpuTest, scenarioCaps, slowOnGlFallback } from "./gpu_helpers.ts";

/** A kernel's outputs, as runAttention gives them. */
type Outputs = { out: Float32Array | Float64Array; lse: Float32Array | Float64Array };

/**
 * The reference and the clean kernel's verdict, once per scenario and backend: most faults of
 * a family share a scenario, and each clean run and float64 reference would otherwise be
 * repeated per fault.
 */
const cleanRuns = new Map<string, Promise<{ want: AttentionResult; cleanPass: string | null }>>();

/**
 * The check a fault's outputs must fail: the comparison with the scenario's float64 reference
 * (true spec and layout) at the scenario's tolerance. First asserts that the clean kernel of
 * `plan` passes it (run once per scenario and backend in this process, then remembered).
 */
export async function faultCheck(
  ctx: GpuContext,
  plan: GpuPlan,
  options: { spec: MlaSpec; scenario: FaultScenario; inputs: Float64AttentionInputs },
): Promise<(outputs: Outputs) => AttentionCompareResult> {
  const { spec, scenario: sc, inputs } = options;
  const check = (o: Outputs, want: AttentionResult) =>
    compareAttention(o, want, {
      tolerance: toleranceFor(sc.dtype, sc.path),
      numHeads: spec.numHeads,
      vDim: spec.vHeadDim,
    });
  // The plan follows from the scenario and the backend (the caps are this process's).
  const key = JSON.stringify([sc, plan.backend]);
  let once = cleanRuns.get(key);
  if (once === undefined) {
    once = (async () => {
      const want = denseAttention(spec, plan.layout, { inputs, storedAs: sc.dtype });
      const clean = check((await runAttention(ctx, plan, { spec, inputs })).outputs, want);
      const cleanPass = clean.pass
        ? null
        : `clean run must pass:\n${summarize(clean.out)}\n${summarize(clean.lse)}`;
      return { want, cleanPass };
    })();
    cleanRuns.set(key, once);
  }
  const { want, cleanPass } = await once;
  assert.equal(cleanPass, null);
  return (o) => check(o, want);
}

/** Register `<family> fault <id> is caught` for every fault (skipped with `skip` when set). */
export function faultsCaughtTests(
  family: string,
  faults: readonly Fault[],
  options: {
    skip?: string | null;
    /** Plan every scenario as this device class would (tests/gpu_helpers.ts scenarioCaps). */
    deviceClass?: "cpu" | "gpu";
    /**
     * On the GL fallback, run only the faults this keeps (the others are ignored there, with
     * this reason); every fault runs on any other device, lavapipe in CI included.
     */
    glFallbackSample?: { keep: (fault: Fault) => boolean; why: string };
  } = {},
): void {
  for (const fault of faults) {
    const sc = options.deviceClass === undefined
      ? fault.scenario
      : { ...fault.scenario, deviceClass: options.deviceClass };
    const spec = presetSpec(sc.preset);
    const r = CAPS === null ? null : resolve(
      { spec, dtype: sc.dtype, backend: faultBackendOf(fault, sc.path), layout: sc.layout },
      scenarioCaps(CAPS, sc),
      { kvSplits: sc.kvSplits },
    );
    const why = r === null
      ? "no WebGPU adapter"
      : r.kind !== "plan"
      ? r.reasons.map((x) => `${x.code}: ${x.message}`).join("; ")
      // A gpu-class plan of a tiled kernel has no workgroup-element cap (it follows the
      // adapter, and these caps name a GPU): on the GL fallback its tiles compile for
      // minutes (3 min 50 s for one FA2 fault's gpu-class plan, session 31). Lavapipe runs
      // them in CI.
      : sc.deviceClass === "gpu" && /-tiled/.test(r.backend)
      ? slowOnGlFallback("a gpu-class plan's workgroup memory")
      : options.glFallbackSample && !options.glFallbackSample.keep(fault)
      ? slowOnGlFallback(options.glFallbackSample.why)
      : null;
    gpuTest(`${family} fault ${fault.id} is caught`, async () => {
      const ctx = await gpu();
      const plan = gpuPlanOf(r!);
      const inputs = makeAttentionInputs(spec, plan.layout, { seed: 11 });
      const check = await faultCheck(ctx, plan, { spec, scenario: sc, inputs });
      assert.equal(fault.apply.kind, "source");
      if (fault.apply.kind !== "source") return;
      const { mutate, file } = fault.apply;
      let applied = 0;
      const faulty = await runAttention(ctx, plan, {
        spec,
        inputs,
        mutate: (f, src) => {
          if (f === file) applied++;
          return mutate(f, src);
        },
      });
      assert.ok(applied > 0, `fault ${fault.id}: ${file} was never compiled in its scenario`);
      const res = check(faulty.outputs);
      assert.ok(
        !res.pass,
        `fault ${fault.id} NOT caught:\n${summarize(res.out)}\n${summarize(res.lse)}`,
      );
      console.log(`  ${fault.id}: ${summarize(res.out)} | ${summarize(res.lse)}`);
    }, { skip: why ?? options.skip ?? null });
  }
}
