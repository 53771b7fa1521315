// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
/**
 * The full layer on the GPU (kernels/layer.ts) against the float64 reference
 * (reference/layer.ts mlaLayer): tiny (direct q), tiny-yarn (low-rank q) and a
 * DeepSeek-V2-Lite-shaped layer (hidden 2048, 16 heads, r 512), both attention
 * paths, f32 and f16, BSHD and THD; the GEMM on its own; planted faults caught.
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import type { AttentionPath, Dtype, LayoutRequest, MlaSpec } from "../adapter/types.ts";
import { compareLayer, type LayerParity } from "../parity/compare_layer.ts";
import { runGemm } from "../kernels/gemm.ts";
import { uploadLayerWeights } from "../kernels/layer_weights.ts";
import { runLayerAt } from "./layer_helpers.ts";
import { LAYER_FAULTS, layerFault } from "../kernels/layer_faults.ts";
import { layerToleranceFor } from "../parity/tolerance.ts";
import { ALL_FAULTS, sourceMutation } from "../parity/faults.ts";
import { withNonFiniteRows } from "../reference/sample_rows.ts";
import { makeHiddenStates, makeLayerWeights } from "../reference/inputs.ts";
import { linear, mlaLayer } from "../reference/layer.ts";
import { makePrng } from "../util/prng.ts";
import { gpu, type GpuNeeds, gpuStep, gpuTest, ignoreReason } from "./gpu_helpers.ts";

function parity(
  spec: MlaSpec,
  got: { out: Float32Array; lse: Float32Array },
  want: { out: Float64Array; lse: Float64Array },
  dtype: Dtype,
  path?: AttentionPath,
): LayerParity {
  const n = want.lse.length / spec.numHeads;
  return compareLayer(got, want, {
    rows: Array.from({ length: n }, (_, i) => i),
    hidden: spec.hiddenSize,
    heads: spec.numHeads,
    tolerance: layerToleranceFor(dtype, path),
  });
}

/** f16 GEMM needs shader-f16 (no plan to ask: the feature itself); f32 runs everywhere. */
const GEMM_F16 = ignoreReason({ features: ["shader-f16"] });

gpuTest(
  "gemm: y = x W^T with edge tiles, k padded to vec4, weight split into chunks" +
    (GEMM_F16 === null ? "" : ` [f16 not covered here: ${GEMM_F16}]`),
  async () => {
    const ctx = await gpu();
    const rng = makePrng(5, "gemm-test");
    for (const [m, n, k, chunk] of [[5, 7, 6, undefined], [9, 70, 12, 16], [1, 3, 1, 2]] as const) {
      const x = rng.fillNormal(new Float64Array(m * k), {});
      const w = rng.fillNormal(new Float64Array(n * k), {});
      const want = linear(x, w, { inFeatures: k });
      for (const dtype of GEMM_F16 === null ? ["f32", "f16"] as const : ["f32"] as const) {
        const got = await runGemm(ctx, {
          x,
          weight: w,
          inFeatures: k,
          outFeatures: n,
          dtype,
          maxChunkRows: chunk,
        });
        assert.equal(got.length, m * n);
        const tol = dtype === "f32" ? 1e-5 : 2e-2;
        got.forEach((v, i) =>
          assert.ok(Math.abs(v - want[i]) <= tol * (1 + Math.abs(want[i])), `${m}x${n}x${k} ${i}`)
        );
      }
    }
  },
);

gpuTest("runGemm refuses a fractional width or chunk, or an unknown dtype, naming it", async () => {
  const ctx = await gpu();
  const base = { x: [1, 2], weight: [1, 0, 0, 1, 1, 1], inFeatures: 2, outFeatures: 3 };
  assert.deepEqual(await runGemm(ctx, { ...base, maxChunkRows: 2 }), Float32Array.of(1, 2, 3));
  // maxChunkRows 1.5 returned [1, 3, 0]; inFeatures 1.5 [5, NaN, NaN, NaN]
  for (
    const [change, want] of [
      [
        { maxChunkRows: 1.5 },
        /^RangeError: runGemm: maxChunkRows must be an integer >= 1, got 1\.5$/,
      ],
      [{ maxChunkRows: 0 }, /^RangeError: runGemm: maxChunkRows must be an integer >= 1, got 0$/],
      [{ x: [1, 2, 3], weight: [1, 2, 3], inFeatures: 1.5, outFeatures: 2 }, /inFeatures .* 1\.5/],
      [{ outFeatures: NaN }, /^RangeError: runGemm: outFeatures must be an integer >= 1, got NaN$/],
      [
        { dtype: "bf16" as Dtype },
        /^RangeError: runGemm: dtype must be "f32" or "f16", got "bf16"$/,
      ],
    ] as const
  ) {
    await assert.rejects(runGemm(ctx, { ...base, ...change }), want, JSON.stringify(change));
  }
});

const CASES: { preset: string; layouts: LayoutRequest[] }[] = [
  {
    preset: "tiny",
    layouts: [
      { kind: "bshd", batch: 2, seqQ: 5, seqK: 5, causal: true },
      { kind: "thd", cuSeqlensQ: [0, 5, 12], causal: true },
      // padded rows are NaN in the input and must never leak
      { kind: "thd", cuSeqlensQ: [0, 3, 7], cuSeqlensQPadded: [0, 4, 9], causal: true },
    ],
  },
  {
    preset: "tiny-yarn",
    layouts: [
      { kind: "bshd", batch: 1, seqQ: 9, seqK: 9, causal: true },
      { kind: "thd", cuSeqlensQ: [0, 1, 6, 12], causal: true },
    ],
  },
  {
    preset: "deepseek-v2-lite",
    layouts: [
      { kind: "bshd", batch: 2, seqQ: 4, seqK: 4, causal: true },
      { kind: "thd", cuSeqlensQ: [0, 3, 8], causal: true },
    ],
  },
];

for (const { preset, layouts } of CASES) {
  gpuTest(`layer parity ${preset}: both paths, f32 and f16, bshd and thd`, async (t) => {
    const ctx = await gpu();
    const spec = presetSpec(preset);
    const weights = makeLayerWeights(spec, { seed: 1 });
    const uploaded = {
      f32: uploadLayerWeights(ctx, { spec, weights, dtype: "f32" }),
      f16: uploadLayerWeights(ctx, { spec, weights, dtype: "f16" }),
    };
    try {
      for (const req of layouts) {
        const layout = normalizeLayout(req);
        const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 1, layout });
        // The reference of what each dtype's layer stores (storedAs).
        const wantOf = (dtype: Dtype) =>
          mlaLayer(spec, layout, { weights, hidden, path: "expanded", storedAs: dtype });
        const wants = { f32: wantOf("f32"), f16: wantOf("f16") };
        for (const path of ["absorbed", "expanded"] as const) {
          for (const dtype of ["f32", "f16"] as const) {
            const want = wants[dtype];
            const label = `${req.kind}${
              "cuSeqlensQPadded" in req ? " padded" : ""
            } ${path} ${dtype}`;
            const needs: GpuNeeds = {
              cases: [{ spec, dtype, backend: `wgsl-${path}`, layout: req }],
            };
            await gpuStep(t, label, needs, async () => {
              const got = await runLayerAt(ctx, {
                spec,
                layout: req,
                weights: uploaded[dtype],
                hidden,
                path,
                dtype,
              });
              assert.equal(got.out.length, layout.totalQ * spec.hiddenSize);
              assert.equal(got.plan.path, path);
              const p = parity(spec, got, want, dtype, path);
              assert.ok(p.pass, `${p.out.summary}\n${p.lse.summary}`);
            });
          }
        }
      }
    } finally {
      uploaded.f32.destroy();
      uploaded.f16.destroy();
    }
  }, { specs: [preset] }); // model sizes are too slow for the GL fallback: ignored there
}

gpuTest("layer: the same tokens as bshd and as thd give bit-equal outputs", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny-yarn");
  const weights = makeLayerWeights(spec, { seed: 2 });
  const hidden = makeHiddenStates(10, spec.hiddenSize, { seed: 2 });
  for (const path of ["absorbed", "expanded"] as const) {
    const bshd = await runLayerAt(ctx, {
      spec,
      weights,
      hidden,
      path,
      layout: { kind: "bshd", batch: 2, seqQ: 5, seqK: 5, causal: true },
    });
    const thd = await runLayerAt(ctx, {
      spec,
      weights,
      hidden,
      path,
      layout: { kind: "thd", cuSeqlensQ: [0, 5, 10], causal: true },
    });
    assert.deepEqual(thd.out, bshd.out, path);
    assert.deepEqual(thd.lse, bshd.lse, path);
  }
});

gpuTest("layer: bad inputs are RangeErrors naming the problem", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny");
  const weights = makeLayerWeights(spec, { seed: 1 });
  const layout: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 3, seqK: 3, causal: true };
  await assert.rejects(
    () => runLayerAt(ctx, { spec, layout, weights, hidden: new Float64Array(5) }),
    /hidden has 5 values, expected qRows 3 \* hidden 64/,
  );
  await assert.rejects(
    () =>
      runLayerAt(ctx, {
        spec,
        layout,
        weights: { ...weights, oProj: new Float64Array(3) },
        hidden: new Float64Array(3 * 64),
      }),
    /weights\.oProj has 3 values, expected \[64, 64\]/,
  );
  await assert.rejects(
    () =>
      runLayerAt(ctx, {
        spec,
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 3, causal: true },
        weights,
        hidden: new Float64Array(64),
      }),
    /runLayer is self-attention/,
  );
});

/** Run a planted layer fault and the clean layer on the same case; return both parities. */
async function withFault(
  id: string,
  scale: number,
): Promise<{ clean: LayerParity; bad: LayerParity }> {
  const ctx = await gpu();
  const spec = presetSpec("tiny-yarn"); // low-rank: both RMSNorms are exercised
  const req: LayoutRequest = { kind: "thd", cuSeqlensQ: [0, 4, 9], causal: true };
  const layout = normalizeLayout(req);
  const weights = makeLayerWeights(spec, { seed: 3 });
  const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 3, layout })
    .map((v) => v * scale);
  const want = mlaLayer(spec, layout, { weights, hidden, path: "expanded", storedAs: "f32" });
  const run = (mutate?: (f: string, s: string) => string) =>
    runLayerAt(ctx, { spec, layout: req, weights, hidden, path: "absorbed", mutate });
  return {
    clean: parity(spec, await run(), want, "f32"),
    bad: parity(spec, await run(layerFault(id).mutate), want, "f32"),
  };
}

gpuTest("planted fault rmsnorm-no-eps is caught on small activations (norm_rel)", async () => {
  // Hidden states scaled by 1e-3 put the latent's mean square near eps (1e-6).
  const { clean, bad } = await withFault("rmsnorm-no-eps", 1e-3);
  assert.ok(clean.pass, clean.out.summary);
  assert.ok(!bad.pass);
  assert.ok(bad.out.checks.includes("norm_rel"), bad.out.summary);
  assert.ok(bad.out.normRel! > 100 * layerToleranceFor("f32").out.maxNormRel!);
});

gpuTest("planted fault kv-split-wrong-half is caught (k_pe from the latent half)", async () => {
  const { clean, bad } = await withFault("kv-split-wrong-half", 1);
  assert.ok(clean.pass, clean.out.summary);
  assert.ok(!bad.pass);
  assert.ok(bad.out.checks.includes("norm_rel") && bad.lse.checks.includes("elementwise"));
});

gpuTest("planted fault rmsnorm-no-weight is caught", async () => {
  const { bad } = await withFault("rmsnorm-no-weight", 1);
  assert.ok(!bad.pass);
  assert.ok(bad.out.checks.includes("norm_rel"), bad.out.summary);
});

gpuTest(
  "a layer output row no kernel wrote fails its parity outside the sampled rows",
  async () => {
    const ctx = await gpu();
    const spec = presetSpec("tiny-yarn"); // hidden 64: o_proj is the only GEMM 64 columns wide
    const req: LayoutRequest = { kind: "thd", cuSeqlensQ: [0, 4, 9], causal: true };
    const layout = normalizeLayout(req);
    const weights = makeLayerWeights(spec, { seed: 3 });
    const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 3, layout });
    // o_proj never stores token 6 (the GEMM's other dispatches are whole)
    const mutate = sourceMutation("o-proj-row-unwritten", "gemm.wgsl", {
      pattern: "if (row < params.m) {",
      replacement: "if (row < params.m && !(row == 6u && params.n == 64u)) {",
    });
    for (const dtype of GEMM_F16 === null ? ["f32", "f16"] as const : ["f32"] as const) {
      const got = await runLayerAt(ctx, { spec, layout: req, weights, hidden, dtype, mutate });
      // every sequence's first and last token (what a sample always holds), and the rows that
      // hold a non-finite value (reference/sample_rows.ts): token 6 was never written
      const rows = withNonFiniteRows([0, 3, 4, 8], { out: got.out, lse: got.lse, rows: 9 });
      assert.deepEqual(rows, [0, 3, 4, 6, 8], `${dtype}: token 6 reads back NaN`);
      // every element of it, in f16 storage too (a NaN word of f32 is half zeros as two f16s)
      const row6 = Array.from(got.out.subarray(6 * 64, 7 * 64));
      assert.ok(row6.every(Number.isNaN), `${dtype}: token 6 is ${row6.slice(0, 4)}...`);
      const want = mlaLayer(spec, layout, {
        weights,
        hidden,
        path: "absorbed",
        rows,
        storedAs: dtype,
      });
      const p = compareLayer(got, want, {
        rows,
        hidden: spec.hiddenSize,
        heads: spec.numHeads,
        tolerance: layerToleranceFor(dtype),
      });
      assert.ok(
        !p.pass && p.out.checks.includes("nonfinite-mismatch"),
        `${dtype}: ${p.out.summary}`,
      );
      assert.ok(p.lse.pass, p.lse.summary);
    }
  },
);

// The f16 absorbed layer's own cell (parity/tolerance.ts, session 62): absorbed.wgsl's and
// absorbed_tiled.wgsl's scores and outputs accumulated in f16 move a tiny layer case's output
// by cos_diff 1.6e-7 to 3.1e-7, which the cell both paths shared (4.1e-7, set by the expanded
// path's f16 K and V) let through; the absorbed path's own (1.4e-7) does not.
for (
  const [id, backend] of [
    ["f16-accumulation", "wgsl-absorbed"],
    ["tiled-f16-accumulation", "wgsl-absorbed-tiled"],
  ] as const
) {
  const req: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 12, seqK: 12, causal: true };
  const spec = presetSpec("tiny");
  gpuTest(`layer f16 absorbed: ${id} on tiny is caught by the absorbed path's cell`, async () => {
    const ctx = await gpu();
    const fault = ALL_FAULTS.find((f) => f.id === id);
    assert.ok(fault?.apply.kind === "source", id);
    const weights = makeLayerWeights(spec, { seed: 1000 });
    const layout = normalizeLayout(req);
    const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 1000, layout });
    const want = mlaLayer(spec, layout, { weights, hidden, path: "absorbed", storedAs: "f16" });
    const run = { spec, layout: req, weights, hidden, backend, dtype: "f16" as const };
    const clean = parity(spec, await runLayerAt(ctx, run), want, "f16", "absorbed");
    assert.ok(clean.pass, `clean: ${clean.out.summary}\n${clean.lse.summary}`);
    const got = await runLayerAt(ctx, { ...run, mutate: fault.apply.mutate });
    const shared = parity(spec, got, want, "f16");
    assert.ok(shared.pass, `the shared cell passes it: ${shared.out.summary}`);
    const own = parity(spec, got, want, "f16", "absorbed");
    assert.ok(!own.pass, `${id} passed: ${own.out.summary}\n${own.lse.summary}`);
  }, { cases: [{ spec, dtype: "f16", backend, layout: req }] });
}

Deno.test("every layer fault has a test above", () => {
  assert.deepEqual(LAYER_FAULTS.map((f) => f.id), [
    "rmsnorm-no-eps",
    "kv-split-wrong-half",
    "rmsnorm-no-weight",
  ]);
  assert.throws(() => layerFault("nope"), /unknown layer fault "nope"; known: rmsnorm-no-eps/);
});
