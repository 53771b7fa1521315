/**
 * How the full layer's parity fares when the hidden states are larger than the unit-scale
 * seeded ones the layer tolerances were derived from (docs/tolerances.md, "The full
 * layer"): tiny-yarn and DeepSeek-V2-Lite, thd 5 + 7 tokens, both dtypes and paths, with
 * the seeded hidden states as they are and five times as large with three channels fifty
 * times (an outlier-channel shape), each against the reference of what the layer stores.
 *
 *   DENO_WEBGPU_BACKEND=vulkan deno run -A tools/layer_input_scale.ts
 *
 * One line per run: PASS or FAIL under `layerToleranceFor`, the output's summary and the
 * LSE's largest error, and the largest |LSE| (about the largest scaled score: how large the
 * scores are). `--preset <name>` and `--dtype <d>` (repeatable) run those only; `--uniform
 * 1,2,4,8,16` scales every hidden value by each factor instead of the two fixed scalings,
 * to find where the tolerances stop holding. The exit status is 0 whatever the lines say:
 * the tool measures, the suite's parity tests judge. A run this adapter cannot make (f16
 * without shader-f16, a layer over the GL fallback's size cap) is a line saying so; when no
 * run could be made the exit status is 1.
 *
 * @module
 */
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { HARNESS_FEATURES } from "../gpu/device.ts";
import { toolGpuContext } from "./tool_gpu.ts";
import { LayerUnsupportedError, runLayer } from "../kernels/layer.ts";
import { compareLayer } from "../parity/compare_layer.ts";
import { layerToleranceFor } from "../parity/tolerance.ts";
import { makeHiddenStates, makeLayerWeights } from "../reference/inputs.ts";
import { mlaLayer } from "../reference/layer.ts";
import { resolveLayerPlan } from "../runner/layer_plan.ts";
import { toolArgs } from "./tool_args.ts";

const PRESETS = ["tiny-yarn", "deepseek-v2-lite"];
const usage = `usage: deno run -A tools/layer_input_scale.ts [--preset ${PRESETS.join("|")} ...] ` +
  "[--uniform k,k,...] [--dtype f32|f16]";
const { values } = toolArgs(
  {
    options: {
      preset: { type: "string", multiple: true },
      uniform: { type: "string" },
      dtype: { type: "string", multiple: true },
    },
  },
  usage,
);
// --uniform: every hidden value times k instead of the two fixed scalings (where the
// tolerances stop holding as the scores grow)
const uniform = values.uniform?.split(",").map((k) => k.trim()) ?? [];
if (uniform.some((k) => !/^\d+(\.\d+)?$/.test(k) || Number(k) <= 0)) {
  console.error(`--uniform ${values.uniform}: expected positive factors, e.g. 1,2,4,8\n${usage}`);
  Deno.exit(2);
}
const dtypes = values.dtype ?? ["f32", "f16"];
if (dtypes.some((d) => d !== "f32" && d !== "f16")) {
  console.error(`--dtype ${dtypes.join(", ")}: expected f32 or f16\n${usage}`);
  Deno.exit(2);
}
const presets = values.preset ?? PRESETS;
const unknown = presets.filter((p) => !PRESETS.includes(p));
if (unknown.length > 0) {
  console.error(`--preset ${unknown.join(", ")}: expected ${PRESETS.join(" or ")}`);
  Deno.exit(2);
}
const ctx = await toolGpuContext("layer_input_scale", { optionalFeatures: HARNESS_FEATURES });
const req: LayoutRequest = { kind: "thd", cuSeqlensQ: [0, 5, 12], causal: true };
const layout = normalizeLayout(req);
const scalings: [string, (hidden: number) => (v: number, i: number) => number][] =
  uniform.length > 0 ? uniform.map((k) => [`uniform x${k}`, () => (v) => v * Number(k)]) : [
    ["unit scale", () => (v) => v],
    ["x5, 3 channels x50", (hs) => (v, i) => v * (i % hs < 3 ? 50 : 5)],
  ];
let measured = 0;
for (const preset of presets) {
  const spec = presetSpec(preset);
  const weights = makeLayerWeights(spec, { seed: 9 });
  for (const [label, scaling] of scalings) {
    const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 9, layout })
      .map(scaling(spec.hiddenSize));
    for (const dtype of dtypes as ("f32" | "f16")[]) {
      if (dtype === "f16" && !ctx.hasFeature("shader-f16")) {
        // said, not left out unsaid (the GL fallback has no shader-f16)
        console.log(`${preset} ${label} f16: not run (this adapter has no shader-f16)`);
        continue;
      }
      for (const path of ["absorbed", "expanded"] as const) {
        let plan: ReturnType<typeof resolveLayerPlan>;
        try {
          plan = resolveLayerPlan(ctx.caps, { spec, layout: req, path, dtype });
        } catch (e) {
          // V2-Lite on the GL fallback: its size cap (was an uncaught error, a stack trace)
          if (!(e instanceof LayerUnsupportedError)) throw e;
          console.log(`${preset} ${label} ${dtype} ${path}: not run here: ${e.message}`);
          continue;
        }
        measured++;
        const got = await runLayer(ctx, { spec, plan, weights, hidden });
        const want = mlaLayer(spec, layout, { weights, hidden, path, storedAs: dtype });
        const p = compareLayer(got, want, {
          rows: Array.from({ length: layout.totalQ }, (_, i) => i),
          hidden: spec.hiddenSize,
          heads: spec.numHeads,
          tolerance: layerToleranceFor(dtype),
        });
        // the scores' size: the LSE is about the largest scaled score of its row
        const largest = Math.max(...Array.from(want.lse).filter(Number.isFinite).map(Math.abs));
        console.log(
          `${preset} ${label} ${dtype} ${path}: ${p.pass ? "PASS" : "FAIL"}; ${p.out.summary}; ` +
            `LSE max abs ${p.lse.maxAbs.toExponential(2)}${p.lse.pass ? "" : " (FAILED)"}; ` +
            `largest |LSE| ${largest.toFixed(1)}`,
        );
      }
    }
  }
}
ctx.destroy();
if (measured === 0) {
  console.error("layer_input_scale: no run could be made on this adapter (the lines say why)");
  Deno.exit(1);
}
