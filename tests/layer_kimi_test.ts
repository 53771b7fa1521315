/**
 * Issue 11: the full MLA layer on a Kimi-like small config (Kimi-K2's RoPE: theta
 * 5e4, YaRN factor 32 with beta_fast == beta_slow == 1, mscale 1/1; low-rank q)
 * against the float64 reference, both attention paths, f32 and f16; and the same
 * config given to `layer --config` as a file. Full-size weights are never run.
 */
import { currentBackend } from "../drift/device_key.ts";
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import type { Dtype, LayoutRequest, MlaSpec } from "../adapter/types.ts";
import { requestGpuAdapter } from "../gpu/device.ts";
import { uploadLayerWeights } from "../kernels/layer_weights.ts";
import { compareLayer } from "../parity/compare_layer.ts";
import { layerToleranceFor } from "../parity/tolerance.ts";
import { makeHiddenStates, makeLayerWeights } from "../reference/inputs.ts";
import { mlaLayer } from "../reference/layer.ts";
import { gpu, HAS_ADAPTER } from "./gpu_helpers.ts";
import { runCli } from "./helpers_cli.ts";
import { runLayerAt } from "./layer_helpers.ts";

const HAS_F16 = HAS_ADAPTER && (await requestGpuAdapter()).features.has("shader-f16");

const LAYOUTS: LayoutRequest[] = [
  { kind: "bshd", batch: 2, seqQ: 6, seqK: 6, causal: true },
  { kind: "thd", cuSeqlensQ: [0, 3, 9], causal: true },
];

async function parityOf(spec: MlaSpec, dtype: Dtype): Promise<void> {
  const ctx = await gpu();
  const weights = makeLayerWeights(spec, { seed: 11 });
  const uploaded = uploadLayerWeights(ctx, { spec, weights, dtype });
  try {
    for (const req of LAYOUTS) {
      const layout = normalizeLayout(req);
      const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 11, layout });
      const want = mlaLayer(spec, layout, { weights, hidden, path: "expanded", storedAs: dtype });
      for (const path of ["absorbed", "expanded"] as const) {
        const got = await runLayerAt(ctx, {
          spec,
          layout: req,
          weights: uploaded,
          hidden,
          path,
          dtype,
        });
        assert.equal(got.plan.path, path);
        const p = compareLayer(got, want, {
          rows: Array.from({ length: layout.totalQ }, (_, i) => i),
          hidden: spec.hiddenSize,
          heads: spec.numHeads,
          tolerance: layerToleranceFor(dtype),
        });
        assert.ok(p.pass, `${req.kind} ${path} ${dtype}\n${p.out.summary}\n${p.lse.summary}`);
      }
    }
  } finally {
    uploaded.destroy();
  }
}

Deno.test({
  name: "layer parity tiny-kimi (beta 1/1, q_lora): both paths, f32, bshd and thd",
  ignore: !HAS_ADAPTER,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const spec = presetSpec("tiny-kimi");
    // The case must really exercise Kimi's RoPE: betas equal, frequencies above the
    // ramp divided by 32 (by hand: rope 8, theta 5e4, corr(1) = 2.40 -> low 2, high 3).
    assert.deepEqual([spec.yarn?.betaFast, spec.yarn?.betaSlow, spec.qPath], [1, 1, "low-rank"]);
    assert.ok(Math.abs(spec.invFreq[3] - Math.pow(50000, -6 / 8) / 32) < 1e-18);
    await parityOf(spec, "f32");
  },
});

Deno.test({
  name: HAS_F16
    ? "layer parity tiny-kimi (beta 1/1, q_lora): both paths, f16, bshd and thd"
    : "layer parity tiny-kimi f16 (IGNORED: the device has no shader-f16)",
  ignore: !HAS_F16,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => await parityOf(presetSpec("tiny-kimi"), "f16"),
});

Deno.test({
  name: "layer --config <Kimi-like config.json>: parity passes, f32 and f16" +
    (HAS_F16 ? "" : " [f16 not covered here: the device has no shader-f16]"),
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-layer-kimi-" });
    try {
      for (const dtype of HAS_F16 ? ["f32", "f16"] : ["f32"]) {
        const r = await runCli([
          "layer",
          "--config",
          "tests/fixtures/hf_kimi_like_tiny_config.json",
          "--input",
          "tests/fixtures/safetensors/tiny_input_bshd.safetensors",
          "--dtype",
          dtype,
          "--out",
          `${dir}/y_${dtype}.safetensors`,
        ], { DENO_WEBGPU_BACKEND: currentBackend() }); // the backend this process uses
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /parity vs float64 reference \(10 of 10 rows\): PASS/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
