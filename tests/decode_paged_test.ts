/**
 * Decode against a paged latent cache (kernels/decode.ts): prefill 37 and 20
 * tokens into a cache of page size 16 (pages handed out in shuffled order, a
 * spare page, unused rows NaN, table entries past a sequence's pages -1), then 3
 * decode steps of 1-2 tokens per sequence, each appending the new latent and k_pe
 * rows on the GPU and attending over the grown cache. Every step is checked
 * against the float64 reference of the whole sequences (causal: a token's output
 * only depends on the tokens before it), for a paged and a contiguous cache.
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import type { AttentionPath, Dtype } from "../adapter/types.ts";
import { compareLayer } from "../parity/compare_layer.ts";
import {
  decodeStep,
  DEFAULT_PAGE_SIZE,
  LatentCache,
  type LatentCacheOptions,
} from "../kernels/decode.ts";
import { uploadLayerWeights } from "../kernels/layer_weights.ts";
import { layerFault } from "../kernels/layer_faults.ts";
import { layerToleranceFor } from "../parity/tolerance.ts";
import { makeHiddenStates, makeLayerWeights } from "../reference/inputs.ts";
import { mlaLayer } from "../reference/layer.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";
import { resolveLayerPlan } from "../runner/layer_plan.ts";
import type { GpuPlan } from "../adapter/types.ts";
import type { GpuContext } from "../gpu/device.ts";

/** The step's one plan, resolved for the layout the cache gives it (as a runner would). */
function planFor(
  ctx: GpuContext,
  cache: LatentCache,
  newTokens: readonly number[],
  path: AttentionPath = "absorbed",
): GpuPlan {
  return resolveLayerPlan(ctx.caps, {
    spec: cache.spec,
    layout: cache.layoutFor(newTokens),
    path,
    dtype: cache.dtype,
  });
}

const SPEC = presetSpec("tiny-yarn");
const STEPS = [[37, 20], [1, 2], [2, 1], [1, 1]];
const FINAL = [0, 1].map((b) => STEPS.reduce((a, s) => a + s[b], 0)); // [41, 24]
const FULL = normalizeLayout({
  kind: "thd",
  cuSeqlensQ: [0, FINAL[0], FINAL[0] + FINAL[1]],
  causal: true,
});
const WEIGHTS = makeLayerWeights(SPEC, { seed: 7 });
const HIDDEN = makeHiddenStates(FULL.qRows, SPEC.hiddenSize, { seed: 7 });
/** The reference of what each dtype's layer stores (storedAs). */
const REF = {
  f32: mlaLayer(SPEC, FULL, {
    weights: WEIGHTS,
    hidden: HIDDEN,
    path: "expanded",
    storedAs: "f32",
  }),
  f16: mlaLayer(SPEC, FULL, {
    weights: WEIGHTS,
    hidden: HIDDEN,
    path: "expanded",
    storedAs: "f16",
  }),
};

/** Logical rows (of FULL) of each step's new tokens, sequence after sequence. */
function stepRows(): number[][] {
  const done = [0, 0];
  return STEPS.map((st) => {
    const rows: number[] = [];
    st.forEach((n, b) => {
      for (let i = 0; i < n; i++) rows.push(FULL.seqs[b].qStart + done[b] + i);
      done[b] += n;
    });
    return rows;
  });
}

function gather(src: Float64Array, rows: readonly number[], width: number): Float64Array {
  const out = new Float64Array(rows.length * width);
  rows.forEach((r, i) => out.set(src.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

async function decodeAll(
  o: { pageSize: number | null; path: AttentionPath; dtype: Dtype },
): Promise<{ outs: Float32Array[]; cache: LatentCache }> {
  const ctx = await gpu();
  const weights = uploadLayerWeights(ctx, { spec: SPEC, weights: WEIGHTS, dtype: o.dtype });
  const cache = LatentCache.create(ctx, {
    spec: SPEC,
    dtype: o.dtype,
    batch: 2,
    capacity: 48,
    pageSize: o.pageSize,
    seed: 3,
  });
  const outs: Float32Array[] = [];
  try {
    const rowsOf = stepRows();
    for (let s = 0; s < STEPS.length; s++) {
      const rows = rowsOf[s];
      const got = await decodeStep(ctx, {
        cache,
        weights,
        newTokens: STEPS[s],
        hidden: gather(HIDDEN, rows, SPEC.hiddenSize),
        plan: planFor(ctx, cache, STEPS[s], o.path),
      });
      const p = compareLayer(got, {
        out: gather(REF[o.dtype].out, rows, SPEC.hiddenSize),
        lse: gather(REF[o.dtype].lse, rows, SPEC.numHeads),
      }, {
        rows: rows.map((_, i) => i),
        hidden: SPEC.hiddenSize,
        heads: SPEC.numHeads,
        tolerance: layerToleranceFor(o.dtype),
      });
      assert.ok(p.pass, `step ${s} (${STEPS[s]}): ${p.out.summary}\n${p.lse.summary}`);
      outs.push(got.out);
    }
  } finally {
    weights.destroy();
  }
  return { outs, cache };
}

for (const path of ["absorbed", "expanded"] as const) {
  for (const dtype of ["f32", "f16"] as const) {
    gpuTest(
      `decode ${path} ${dtype}: prefill + 3 steps, paged (16) vs contiguous vs reference`,
      async () => {
        const paged = await decodeAll({ pageSize: 16, path, dtype });
        const contiguous = await decodeAll({ pageSize: null, path, dtype });
        try {
          // The same keys in the same order: paging changes where rows live, not the result.
          paged.outs.forEach((o, s) => assert.deepEqual(o, contiguous.outs[s], `step ${s}`));
          assert.deepEqual(paged.cache.lengths, FINAL);
          assert.deepEqual(contiguous.cache.lengths, FINAL);
        } finally {
          paged.cache.destroy();
          contiguous.cache.destroy();
        }
      },
      // f16 storage needs shader-f16: the adapter decides, for the smallest decode case.
      {
        cases: [{
          spec: SPEC,
          dtype,
          backend: `wgsl-${path}`,
          layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 1, causal: false },
        }],
      },
    );
  }
}

gpuTest(
  "paged cache: rows land at the block table's physical rows, everything else stays NaN",
  async () => {
    const ctx = await gpu();
    const { cache } = await decodeAll({ pageSize: 16, path: "absorbed", dtype: "f32" });
    try {
      // 48 tokens / 16 = 3 pages per sequence, 2 sequences, 1 spare: 7 pages.
      assert.equal(cache.numPages, 7);
      const table = cache.blockTable;
      assert.equal(table[0].filter((p) => p >= 0).length, 3); // 41 tokens
      assert.deepEqual(table[1].slice(2), [-1]); // 24 tokens: the third entry is never assigned
      const used = table.flat().filter((p) => p >= 0);
      assert.equal(new Set(used).size, used.length, "no page shared");
      assert.notDeepEqual(used, [...used].sort((a, b) => a - b), "pages are not in order");

      const { latent, kPe } = await cache.read(ctx);
      const r = SPEC.kvLoraRank;
      const rope = SPEC.qkRopeHeadDim;
      const refLatent = REF.f32.intermediates.attentionInputs.latent;
      const refKvA = REF.f32.intermediates.kvA;
      const occupied = new Set<number>();
      FINAL.forEach((len, b) => {
        for (let j = 0; j < len; j++) {
          const row = table[b][Math.floor(j / 16)] * 16 + (j % 16);
          occupied.add(row);
          const src = FULL.kRowOf[FULL.seqs[b].kStart + j];
          for (let c = 0; c < r; c++) {
            assert.ok(
              Math.abs(latent[row * r + c] - refLatent[src * r + c]) < 1e-4,
              `latent ${b}/${j}`,
            );
          }
          for (let c = 0; c < rope; c++) {
            const want = refKvA[src * (r + rope) + r + c]; // k_pe: the last rope columns of kv_a
            assert.ok(Math.abs(kPe[row * rope + c] - want) < 1e-4, `k_pe ${b}/${j}`);
          }
        }
      });
      for (let row = 0; row < cache.rows; row++) {
        if (occupied.has(row)) continue;
        assert.ok(Number.isNaN(latent[row * r]) && Number.isNaN(kPe[row * rope]), `row ${row}`);
      }
    } finally {
      cache.destroy();
    }
  },
);

gpuTest(
  "latent cache: defaults to page size 64; a step past capacity or of the wrong shape, or a bad option, throws",
  async () => {
    const ctx = await gpu();
    const spec = presetSpec("tiny");
    const cache = LatentCache.create(ctx, { spec, batch: 1, capacity: 100 });
    const host = makeLayerWeights(spec, { seed: 1 });
    const weights = uploadLayerWeights(ctx, { spec, weights: host });
    try {
      assert.equal(cache.pageSize, DEFAULT_PAGE_SIZE);
      assert.equal(cache.numPages, 3);
      assert.throws(() => cache.layoutFor([101]), /sequence 0 would hold 101 tokens, capacity 100/);
      assert.throws(
        () => cache.layoutFor([1, 1]),
        /newTokens lists 2 sequences, the cache holds 1/,
      );
      // sparePages -1 made a pool a page short, found only when a step ran out of pages
      const create = (o: Partial<LatentCacheOptions>) => () =>
        LatentCache.create(ctx, { spec, batch: 1, capacity: 8, ...o });
      assert.throws(
        create({ sparePages: -1 }),
        /^RangeError: sparePages must be an integer >= 0, got -1$/,
      );
      assert.throws(
        create({ sparePages: 0.5 }),
        /^RangeError: sparePages must be an integer >= 0, got 0\.5$/,
      );
      assert.throws(
        create({ dtype: "bf16" as Dtype }),
        /^RangeError: dtype must be "f32" or "f16", got "bf16"$/,
      );
      assert.throws(
        () => uploadLayerWeights(ctx, { spec, weights: host, dtype: "bf16" as Dtype }),
        /^RangeError: uploadLayerWeights: dtype must be "f32" or "f16", got "bf16"$/,
      );
      await assert.rejects(
        () =>
          decodeStep(ctx, {
            cache,
            weights,
            newTokens: [2],
            hidden: new Float64Array(64),
            plan: planFor(ctx, cache, [2]),
          }),
        /hidden has 64 values, expected 2 new tokens \* hidden 64/,
      );
      assert.deepEqual(cache.lengths, [0]);
    } finally {
      cache.destroy();
      weights.destroy();
    }
  },
);

gpuTest("decode: a planted kv-split fault in the cache append is caught", async () => {
  const ctx = await gpu();
  const weights = uploadLayerWeights(ctx, { spec: SPEC, weights: WEIGHTS });
  const cache = LatentCache.create(ctx, { spec: SPEC, batch: 2, capacity: 48, pageSize: 16 });
  try {
    const rows = stepRows()[0];
    const got = await decodeStep(ctx, {
      cache,
      weights,
      newTokens: STEPS[0],
      hidden: gather(HIDDEN, rows, SPEC.hiddenSize),
      plan: planFor(ctx, cache, STEPS[0]),
      mutate: layerFault("kv-split-wrong-half").mutate,
    });
    const p = compareLayer(got, {
      out: gather(REF.f32.out, rows, SPEC.hiddenSize),
      lse: gather(REF.f32.lse, rows, SPEC.numHeads),
    }, {
      rows: rows.map((_, i) => i),
      hidden: SPEC.hiddenSize,
      heads: SPEC.numHeads,
      tolerance: layerToleranceFor("f32"),
    });
    assert.ok(!p.pass && p.out.checks.includes("norm_rel"), p.out.summary);
  } finally {
    cache.destroy();
    weights.destroy();
  }
});

gpuTest(
  "a refused decode step takes no pages: the free pages, block table and next layout stay",
  async () => {
    const ctx = await gpu();
    const spec = presetSpec("tiny");
    const weights = uploadLayerWeights(ctx, { spec, weights: makeLayerWeights(spec, { seed: 1 }) });
    const make = () => LatentCache.create(ctx, { spec, batch: 2, capacity: 32, pageSize: 4 });
    const cache = make();
    const clean = make(); // the same seed, never refused
    const hidden = (n: number) => makeHiddenStates(n, spec.hiddenSize, { seed: n });
    const step = (c: LatentCache, newTokens: number[], rows = newTokens[0] + newTokens[1]) =>
      decodeStep(ctx, {
        cache: c,
        weights,
        newTokens,
        plan: planFor(ctx, c, newTokens),
        hidden: hidden(rows),
      });
    try {
      await step(cache, [3, 2]);
      await step(clean, [3, 2]);
      const state = () => ({
        free: cache.freePages,
        table: cache.blockTable.map((r) => [...r]),
        next: cache.layoutFor([1, 1]),
      });
      const before = state();
      assert.equal(before.free, cache.numPages - 2);
      assert.deepEqual(before.table.map((r) => r.filter((p) => p >= 0).length), [1, 1]);
      // refused steps that would grow each sequence by pages: a wrong hidden, a stale plan
      for (const grow of [[29, 0], [0, 30], [20, 20]]) {
        await assert.rejects(step(cache, grow, 1), /hidden has 64 values, expected/);
        assert.deepEqual(state(), before, `after refusing ${grow}`);
      }
      const early = planFor(ctx, cache, [8, 8]);
      await step(cache, [1, 1]);
      await step(clean, [1, 1]);
      await assert.rejects(
        decodeStep(ctx, { cache, weights, newTokens: [8, 8], plan: early, hidden: hidden(16) }),
        /plan keys do not match the cache/,
      );
      assert.deepEqual(cache.blockTable, clean.blockTable, "pages as if nothing was refused");
      assert.equal(cache.freePages, clean.freePages);
      // every page is still there for the sequences to grow into: both fill up to capacity
      await step(cache, [28, 29]);
      assert.deepEqual(cache.lengths, [32, 32]);
      assert.equal(cache.freePages, 1, "the spare page");
    } finally {
      cache.destroy();
      clean.destroy();
      weights.destroy();
    }
  },
);
