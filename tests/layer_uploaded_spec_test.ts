/**
 * Weights uploaded once (uploadLayerWeights) are used with the spec they were uploaded
 * for, compared by value: a second `presetSpec("tiny")` (or `loadSpec`) of the same model is
 * the same spec, and runLayer and decodeStep take them; weights of another spec are refused,
 * naming the field that differs. A decode step's plan must address its cache as it is now.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { loadSpec } from "../adapter/source.ts";
import { decodeStep, LatentCache } from "../kernels/decode.ts";
import { runLayer } from "../kernels/layer.ts";
import { type GpuLayerWeights, uploadLayerWeights } from "../kernels/layer_weights.ts";
import type { GpuPlan, LayerWeights } from "../adapter/types.ts";
import { specDifference } from "../adapter/spec.ts";
import { makeHiddenStates, makeLayerWeights } from "../reference/inputs.ts";
import { resolveLayerPlan } from "../runner/layer_plan.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";
import { GpuContext } from "../gpu/device.ts";

Deno.test("specDifference: two readings of one model are the same spec", async () => {
  assert.notEqual(presetSpec("tiny"), presetSpec("tiny"));
  assert.equal(specDifference(presetSpec("tiny"), presetSpec("tiny")), null);
  assert.equal(specDifference(presetSpec("tiny"), await loadSpec("tiny")), null);
  assert.equal(specDifference(presetSpec("tiny"), presetSpec("tiny-yarn")), "invFreq");
});

gpuTest("runLayer: weights uploaded for another presetSpec() of the same model", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny");
  const weights = makeLayerWeights(spec, { seed: 1 });
  const uploaded = uploadLayerWeights(ctx, { spec: presetSpec("tiny"), weights });
  try {
    const plan = resolveLayerPlan(ctx.caps, {
      spec,
      path: "absorbed",
      dtype: "f32",
      layout: { kind: "bshd", batch: 1, seqQ: 4, seqK: 4, causal: true },
    });
    const hidden = makeHiddenStates(4, spec.hiddenSize, { seed: 2 });
    const a = await runLayer(ctx, { spec, plan, weights: uploaded, hidden });
    const b = await runLayer(ctx, { spec, plan, weights, hidden });
    assert.deepEqual(a.out, b.out);
  } finally {
    uploaded.destroy();
  }
});

gpuTest("runLayer: weights uploaded for another spec are refused naming the field", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny-yarn");
  const other = presetSpec("tiny");
  const uploaded = uploadLayerWeights(ctx, {
    spec: other,
    weights: makeLayerWeights(other, { seed: 1 }),
  });
  try {
    const plan = resolveLayerPlan(ctx.caps, {
      spec,
      path: "absorbed",
      dtype: "f32",
      layout: { kind: "bshd", batch: 1, seqQ: 4, seqK: 4, causal: true },
    });
    await assert.rejects(
      runLayer(ctx, {
        spec,
        plan,
        weights: uploaded,
        hidden: makeHiddenStates(4, spec.hiddenSize, { seed: 2 }),
      }),
      /uploaded weights are f32 for tiny; asked f32 for tiny-yarn \(the specs differ in \w+\)/,
    );
  } finally {
    uploaded.destroy();
  }
});

gpuTest("decodeStep: a cache and weights made from two presetSpec() calls", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny");
  const weights = uploadLayerWeights(ctx, {
    spec: presetSpec("tiny"),
    weights: makeLayerWeights(spec, { seed: 1 }),
  });
  const cache = LatentCache.create(ctx, { spec, batch: 1, capacity: 16, pageSize: 8 });
  try {
    const step = await decodeStep(ctx, {
      cache,
      weights,
      newTokens: [3],
      plan: resolveLayerPlan(ctx.caps, { spec, layout: cache.layoutFor([3]), dtype: "f32" }),
      hidden: makeHiddenStates(3, spec.hiddenSize, { seed: 1 }),
    });
    assert.equal(step.out.length, 3 * spec.hiddenSize);
  } finally {
    cache.destroy();
    weights.destroy();
  }
});

gpuTest(
  "decodeStep: a plan resolved before the previous step ran, or for another cache, is refused (it overwrote cached rows)",
  async () => {
    const ctx = await gpu();
    const spec = presetSpec("tiny");
    const weights = uploadLayerWeights(ctx, { spec, weights: makeLayerWeights(spec, { seed: 1 }) });
    const cache = LatentCache.create(ctx, { spec, batch: 1, capacity: 16, pageSize: 4 });
    const other = LatentCache.create(ctx, { spec, batch: 1, capacity: 16, pageSize: 4, seed: 2 });
    const planFor = (c: LatentCache, n: number[]) =>
      resolveLayerPlan(ctx.caps, { spec, layout: c.layoutFor(n), dtype: "f32" });
    try {
      const prefill = planFor(cache, [3]);
      const early = planFor(cache, [1]); // keys [1]: resolved while the cache was empty
      const hidden = (n: number, seed: number) => makeHiddenStates(n, spec.hiddenSize, { seed });
      await decodeStep(ctx, {
        cache,
        weights,
        newTokens: [3],
        plan: prefill,
        hidden: hidden(3, 1),
      });
      const before = await cache.read(ctx);
      await assert.rejects(
        decodeStep(ctx, { cache, weights, newTokens: [1], plan: early, hidden: hidden(1, 2) }),
        /plan keys do not match the cache: its keys per sequence are \[1\], the cache holds \[3\] and newTokens \[1\] add up to \[4\]/,
      );
      // another cache of the same lengths whose pages lie elsewhere
      await decodeStep(ctx, {
        cache: other,
        weights,
        newTokens: [3],
        plan: planFor(other, [3]),
        hidden: hidden(3, 1),
      });
      const foreign = planFor(other, [1]);
      assert.notEqual(other.blockTable[0][0], cache.blockTable[0][0]);
      await assert.rejects(
        decodeStep(ctx, { cache, weights, newTokens: [1], plan: foreign, hidden: hidden(1, 2) }),
        /plan keys do not match the cache: key 0 of sequence 0 is at row \d+ in the plan and at row \d+ in the cache/,
      );
      // nothing was written, and the cache goes on with a plan of its own
      assert.deepEqual(await cache.read(ctx), before);
      assert.deepEqual(cache.lengths, [3]);
      const step = await decodeStep(ctx, {
        cache,
        weights,
        newTokens: [1],
        plan: planFor(cache, [1]),
        hidden: hidden(1, 2),
      });
      assert.equal(step.out.length, spec.hiddenSize);
    } finally {
      cache.destroy();
      other.destroy();
      weights.destroy();
    }
  },
);

gpuTest(
  "runLayer and decodeStep: a plan resolved for another spec of the same widths is refused (the kernels ran its scale and RoPE)",
  async () => {
    const ctx = await gpu();
    const spec = presetSpec("tiny");
    const other = presetSpec("tiny-yarn"); // tiny's widths, YaRN's scale and frequencies
    const host = makeLayerWeights(spec, { seed: 1 });
    const weights = uploadLayerWeights(ctx, { spec, weights: host });
    const cache = LatentCache.create(ctx, { spec, batch: 1, capacity: 8, pageSize: 4 });
    const hidden = makeHiddenStates(4, spec.hiddenSize, { seed: 2 });
    const want =
      /the plan's attention differs from spec tiny in softmaxScale .*resolve the plan for tiny/;
    try {
      const layout = { kind: "bshd" as const, batch: 1, seqQ: 4, seqK: 4, causal: true };
      // before: the output of tiny-yarn's attention on tiny's weights, no error
      await assert.rejects(
        runLayer(ctx, {
          spec,
          plan: resolveLayerPlan(ctx.caps, { spec: other, layout, dtype: "f32" }),
          weights: host,
          hidden,
        }),
        want,
      );
      await assert.rejects(
        decodeStep(ctx, {
          cache,
          weights,
          newTokens: [4],
          plan: resolveLayerPlan(ctx.caps, {
            spec: other,
            layout: cache.layoutFor([4]),
            dtype: "f32",
          }),
          hidden,
        }),
        want,
      );
      assert.deepEqual(cache.lengths, [0]);
    } finally {
      cache.destroy();
      weights.destroy();
    }
  },
);

gpuTest(
  "runLayer and decodeStep name a destroyed cache or weights, or another context's (WebGPU named a buffer label)",
  async () => {
    const ctx = await gpu();
    const other = await GpuContext.create();
    const spec = presetSpec("tiny");
    const host = makeLayerWeights(spec, { seed: 1 });
    const live = uploadLayerWeights(ctx, { spec, weights: host });
    const gone = uploadLayerWeights(ctx, { spec, weights: host });
    gone.destroy();
    const foreign = uploadLayerWeights(other, { spec, weights: host });
    const cache = LatentCache.create(ctx, { spec, batch: 1, capacity: 8, pageSize: 4 });
    const elsewhere = LatentCache.create(other, { spec, batch: 1, capacity: 8, pageSize: 4 });
    const hidden = makeHiddenStates(2, spec.hiddenSize, { seed: 2 });
    const layout = { kind: "bshd" as const, batch: 1, seqQ: 2, seqK: 2, causal: true };
    const layerPlan = resolveLayerPlan(ctx.caps, { spec, layout, dtype: "f32" });
    const step = (c: LatentCache, weights: typeof live) =>
      decodeStep(ctx, {
        cache: c,
        weights,
        newTokens: [2],
        plan: resolveLayerPlan(ctx.caps, { spec, layout: c.layoutFor([2]), dtype: "f32" }),
        hidden,
      });
    const destroyedW = /the uploaded weights \(tiny, f32\) were destroyed \(weights\.destroy\(\)\)/;
    const otherW =
      /the uploaded weights \(tiny, f32\) were uploaded to another GpuContext's device/;
    try {
      await assert.rejects(
        runLayer(ctx, { spec, plan: layerPlan, weights: gone, hidden }),
        new RegExp(`^Error: runLayer: ${destroyedW.source}`),
      );
      await assert.rejects(
        runLayer(ctx, { spec, plan: layerPlan, weights: foreign, hidden }),
        new RegExp(`^Error: runLayer: ${otherW.source}`),
      );
      await assert.rejects(
        step(cache, gone),
        new RegExp(`^Error: decodeStep: ${destroyedW.source}`),
      );
      await assert.rejects(
        step(cache, foreign),
        new RegExp(`^Error: decodeStep: ${otherW.source}`),
      );
      await assert.rejects(
        step(elsewhere, live),
        /^Error: decodeStep: the cache was created on another GpuContext's device/,
      );
      assert.equal((await step(cache, live)).out.length, 2 * spec.hiddenSize);
      // read: WebGPU's "Buffer with 'cache_latent' label has been destroyed" named no cache
      await assert.rejects(
        elsewhere.read(ctx),
        /^Error: LatentCache\.read: the cache was created on another GpuContext's device: read it with the GpuContext it was created on$/,
      );
      assert.equal((await cache.read(ctx)).latent.length, cache.rows * spec.kvLoraRank);
      cache.destroy();
      await assert.rejects(
        step(cache, live),
        /^Error: decodeStep: the cache was destroyed \(cache\.destroy\(\)\)/,
      );
      await assert.rejects(
        cache.read(ctx),
        /^Error: LatentCache\.read: the cache was destroyed \(cache\.destroy\(\)\): read it before$/,
      );
    } finally {
      [live, foreign].forEach((w) => w.destroy());
      [cache, elsewhere].forEach((c) => c.destroy());
      other.destroy();
    }
  },
);

gpuTest(
  "runLayer and decodeStep name host weights, a missing weight or an unsupported answer (a TypeError reading undefined)",
  async () => {
    const ctx = await gpu();
    const spec = presetSpec("tiny");
    const host = makeLayerWeights(spec, { seed: 1 });
    const hidden = makeHiddenStates(2, spec.hiddenSize, { seed: 2 });
    const layout = { kind: "bshd" as const, batch: 1, seqQ: 2, seqK: 2, causal: true };
    const plan = resolveLayerPlan(ctx.caps, { spec, layout, dtype: "f32" });
    const cache = LatentCache.create(ctx, { spec, batch: 1, capacity: 8, pageSize: 4 });
    try {
      await assert.rejects(
        decodeStep(ctx, {
          cache,
          weights: host as unknown as GpuLayerWeights,
          newTokens: [2],
          plan: resolveLayerPlan(ctx.caps, { spec, layout: cache.layoutFor([2]), dtype: "f32" }),
          hidden,
        }),
        /^TypeError: decodeStep: weights must be uploaded once with uploadLayerWeights/,
      );
      const { kvANorm: _, ...noNorm } = host;
      await assert.rejects(
        runLayer(ctx, { spec, plan, weights: noNorm as LayerWeights, hidden }),
        /^RangeError: weights\.kvANorm is missing: it must hold 32 values$/,
      );
      const { oProj: __, ...noOut } = host;
      await assert.rejects(
        runLayer(ctx, { spec, plan, weights: noOut as LayerWeights, hidden }),
        /^RangeError: weights\.oProj is missing: it must hold \[64, 64\]$/,
      );
      const unsupported = {
        kind: "unsupported",
        backend: "wgsl-absorbed",
        reasons: [{ code: "limits.buffer-too-large", message: "buffer q_nope needs 512 bytes" }],
      } as unknown as GpuPlan;
      await assert.rejects(
        runLayer(ctx, { spec, plan: unsupported, weights: host, hidden }),
        /^TypeError: runLayer: the plan is resolve\(\)'s answer unsupported \(wgsl-absorbed\): limits\.buffer-too-large: buffer q_nope needs 512 bytes$/,
      );
      assert.deepEqual(cache.lengths, [0]);
    } finally {
      cache.destroy();
    }
  },
);
