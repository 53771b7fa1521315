// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
/**
 * wgsl-absorbed-gemm (the CPU-shaped absorbed kernel: scores, softmax and values passes)
 * on this machine's adapter against the float64 reference: tiny widths over decode, MTP,
 * prefill, packed/padded THD, paged block tables and an empty sequence, in f32 and f16;
 * 20 heads (a partial head tile) and q_lora; one DeepSeek-V2-Lite decode per dtype;
 * NaN/Inf poison that must not leak; the values pass's wide column blocks and key splits
 * (V2-Lite widths, packed sequences with empty splits, r = 256); a forced split refused;
 * and the loop-budget boundary of the softmax row.
 */
import assert from "node:assert/strict";
import { gemmMaxKeys, gemmShape } from "../adapter/gemm_plan.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import { withParams } from "../adapter/spec.ts";
import type { LayoutRequest, MlaSpec } from "../adapter/types.ts";
import { runAttention } from "../kernels/attention.ts";
import { compareAttention, summarize } from "../parity/compare.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import {
  type BackendCase,
  caseLabel,
  forcedSplitRefusedTest,
  loopBoundaryTest,
  modelParityTest,
  planOn,
  planParityOn,
  type Poison,
  poisonTest,
  TINY_LAYOUTS,
  tinyParityTest,
} from "./backend_parity_helpers.ts";
import {
  assertMatchesPlanReference,
  assertSharedTextureRows,
  CAPS,
  cpuClassCaps,
  gpu,
  gpuClassCaps,
  gpuStep,
  gpuTest,
  planCase,
  runCase,
  withTextureSide,
} from "./gpu_helpers.ts";
import { measureAttention } from "../kernels/measure.ts";
import { LAVAPIPE_CAPS } from "./caps_fixtures.ts";

const BACKEND = "wgsl-absorbed-gemm";
const FAMILY = "absorbed-gemm";

tinyParityTest(
  "gemm parity at tiny widths: every layout, f32 and f16",
  BACKEND,
  FAMILY,
  TINY_LAYOUTS,
);

gpuTest("gemm parity: 20 heads (a partial head tile) and q_lora (tiny-kimi)", async (t) => {
  const kimi: BackendCase = {
    preset: "tiny-kimi",
    dtype: "f32",
    layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 50, causal: true },
  };
  await t.step(caseLabel(kimi), () => planParityOn(BACKEND, kimi, { family: FAMILY }));
  // 20 heads: one tile of 16 and a partial one that recomputes head 19 in its empty rows.
  const spec = { ...presetSpec("tiny"), numHeads: 20 };
  const layout: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 1, seqK: 33, causal: true };
  const r = resolve({ spec, dtype: "f32", backend: BACKEND, layout }, CAPS!);
  assert.equal(r.kind, "plan", JSON.stringify(r));
  const plan = gpuPlanOf(r);
  assert.equal(plan.variant.headsPerTile, 16);
  const inputs = makeAttentionInputs(spec, plan.layout, { seed: 9 });
  const got = (await runAttention(await gpu(), plan, { spec, inputs })).outputs;
  const want = denseAttention(spec, plan.layout, { inputs, storedAs: plan.variant.dtype });
  const res = compareAttention(got, want, {
    tolerance: toleranceFor("f32", "absorbed"),
    numHeads: 20,
    vDim: spec.vHeadDim,
  });
  assert.ok(res.pass, `20 heads\n${summarize(res.out)}\n${summarize(res.lse)}`);
}, { skip: CAPS === null ? "no WebGPU adapter" : null });

for (const dtype of ["f32", "f16"] as const) {
  modelParityTest(
    `gemm parity: one DeepSeek-V2-Lite decode ${dtype} (b 2, 300 keys)`,
    BACKEND,
    {
      preset: "deepseek-v2-lite",
      dtype,
      layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 300, causal: true },
    },
    { family: FAMILY },
  );
}

/** One values-pass case: its plan must have these columns and splits, and match the reference. */
interface ValueShapeCase {
  label: string;
  spec: string | MlaSpec;
  dtype: "f32" | "f16";
  layout: LayoutRequest;
  columns: number;
  splits: number;
}

const V2_LITE_R256 = withParams(presetSpec("deepseek-v2-lite"), { kvLoraRank: 256 });

const VALUE_SHAPES: readonly ValueShapeCase[] = [
  {
    label: "V2-Lite f32, b 2, 1100 keys: 16 columns, 4 splits of 276 keys",
    spec: "deepseek-v2-lite",
    dtype: "f32",
    layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 1100, causal: true },
    columns: 16,
    splits: 4,
  },
  {
    label: "V2-Lite f16, b 2, 1100 keys: 16 columns, 4 splits",
    spec: "deepseek-v2-lite",
    dtype: "f16",
    layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 1100, causal: true },
    columns: 16,
    splits: 4,
  },
  {
    // Sequence 0's 300 keys end in split 1: splits 2 and 3 have no key and write 0.
    label: "V2-Lite f32, packed THD of 300 and 1100 keys: empty splits",
    spec: "deepseek-v2-lite",
    dtype: "f32",
    layout: { kind: "thd", cuSeqlensQ: [0, 1, 2], cuSeqlensK: [0, 300, 1400], causal: true },
    columns: 16,
    splits: 4,
  },
  {
    // Shuffled pages of 64 rows; sequence 1's 350 keys end 50 keys into its second split.
    label: "V2-Lite f32, paged (64-row pages, shuffled), 600 and 350 keys: 2 splits",
    spec: "deepseek-v2-lite",
    dtype: "f32",
    layout: {
      kind: "bshd",
      batch: 2,
      seqQ: 1,
      seqK: 640,
      kvLens: [600, 350],
      causal: true,
      paging: {
        pageSize: 64,
        numPages: 20,
        blockTable: [[19, 3, 7, 11, 0, 15, 2, 9, 13, 5], [8, 1, 17, 4, 12, 6, 10, 14, 16, 18]],
      },
    },
    columns: 16,
    splits: 2,
  },
  {
    label: "V2-Lite widths with r = 256, f32, b 1, 600 keys: 8 columns, 2 splits",
    spec: V2_LITE_R256,
    dtype: "f32",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 600, causal: true },
    columns: 8,
    splits: 2,
  },
];

gpuTest("gemm values pass: wide column blocks and key splits match the reference", async (t) => {
  for (const c of VALUE_SHAPES) {
    const cs = { spec: c.spec, dtype: c.dtype, backend: BACKEND, layout: c.layout };
    await gpuStep(t, c.label, { cases: [cs], specs: [c.spec] }, async () => {
      const run = await runCase(cs);
      assert.equal(run.plan.variant.columnsPerInvocation, c.columns);
      assert.equal(run.plan.variant.valueSplits, c.splits);
      assertMatchesPlanReference(run, c.label);
    });
  }
}, { skip: CAPS === null ? "no WebGPU adapter" : null });

forcedSplitRefusedTest("gemm: a forced KV split is refused with the reason", BACKEND);

const POISONS: readonly Poison[] = [
  // MTP: key 39 is a causal future key of query 0 (same key group, same score vec4).
  { layout: { kind: "bshd", batch: 1, seqQ: 2, seqK: 40, causal: true }, keys: [39], nanRows: [1] },
  // Packed THD: the first key of sequence 1 sits right after sequence 0's keys.
  {
    layout: { kind: "thd", cuSeqlensQ: [0, 1, 2], cuSeqlensK: [0, 5, 12], causal: true },
    keys: [5],
    nanRows: [1],
  },
];

poisonTest("gemm: NaN and Inf in keys a row does not see never reach it", BACKEND, POISONS);

loopBoundaryTest(
  "gemm: the loop-budget boundary of the softmax row (tiny f32)",
  BACKEND,
  (spec, budget) =>
    gemmMaxKeys(
      gemmShape(
        spec,
        normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true }),
      ),
      budget,
    ),
);

gpuTest(
  "gemm: rows past a texture side share texture rows (the latent cache's, the query's)",
  async (t) => {
    // Both over maxTextureDimension2D on every adapter (8192-32768), so each texture holds
    // two or more rows per texture row: 2 x 16500 cache rows; 8200 tokens x 4 heads =
    // 32800 (row, head) query rows.
    const spec = presetSpec("tiny");
    const cases = [
      { name: "cache", batch: 2, seqK: 16500, rows: 33000 },
      { name: "query", batch: 8200, seqK: 2, rows: 32800 },
    ] as const;
    for (const c of cases) {
      const layout = { kind: "bshd", batch: c.batch, seqQ: 1, seqK: c.seqK, causal: true } as const;
      const cs = { spec, dtype: "f32", backend: BACKEND, layout } as const;
      const label = `${c.name} texture: tiny f32, b ${c.batch}, ${c.seqK} keys`;
      await gpuStep(t, label, { cases: [cs], specs: [spec] }, async () => {
        const run = await runCase(cs);
        const v = run.plan.variant;
        assertSharedTextureRows(c.name === "cache" ? v.cacheTexture : v.queryTexture, c.rows);
        assertMatchesPlanReference(run);
      });
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);

gpuTest(
  "gemm: timed replays leave cache construction out (k_pe's RoPE, the weight and cache textures) and time it once; q's RoPE and texture stay in",
  async (t) => {
    const spec = presetSpec("tiny");
    const layout = { kind: "bshd", batch: 2, seqQ: 1, seqK: 40, causal: true } as const;
    const cs = { spec, dtype: "f32", backend: BACKEND, layout } as const;
    // The RoPE of the cached k_pe (the model rotates each key once, when it writes it) and,
    // on a cpu-class device, w_kv_b's texture for the query absorption and up-projection
    // (plan.variant.weightTexture; a GPU reads the buffer) are construction too; q's RoPE
    // is per step. Planned for each class on every device.
    const classes = [
      {
        name: "cpu",
        caps: cpuClassCaps,
        construction: ["rope_k", "weight_texture", "cache_texture"],
      },
      { name: "gpu", caps: gpuClassCaps, construction: ["rope_k", "cache_texture"] },
    ] as const;
    for (const c of classes) {
      const label = `tiny f32, b 2, 40 keys, ${c.name}-class caps`;
      await gpuStep(t, label, { cases: [cs], specs: [spec] }, async () => {
        const { plan, inputs } = await planCase({ ...cs, caps: c.caps(CAPS!) });
        const m = await measureAttention(await gpu(), plan, {
          spec,
          inputs,
          scope: "all",
          reps: 2,
          warmup: 0,
        });
        assert.equal(plan.variant.weightTexture !== undefined, c.name === "cpu");
        assert.deepEqual(m.construction, c.construction);
        assert.equal(m.repeats.length, 2);
        for (const r of m.repeats) {
          const names = r.passes.map((p) => p.name);
          for (const n of m.construction) assert.ok(!names.includes(n), names.join(", "));
          assert.ok(
            names.includes("query_texture") && names.includes("gemm_scores"),
            names.join(),
          );
          assert.ok(names.includes("rope_q"), names.join());
        }
        assert.deepEqual(m.outsideCore?.passes.map((p) => p.name), c.construction);
      });
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);

gpuTest(
  "the probabilities: through a texture where one holds them (rows folded past its side), else from the score buffer; all match the reference",
  async (t) => {
    const BACKEND = "wgsl-absorbed-gemm";
    const planned = (c: BackendCase) => {
      const p = planOn(BACKEND, c);
      if (typeof p === "string") throw new Error(`${caseLabel(c)}: ${p}`);
      return p.plan.variant;
    };
    // The headline decode on lavapipe's caps: 64 (token, head) rows of 1024 vec4s.
    const v2 = planned({
      preset: "deepseek-v2-lite",
      dtype: "f32",
      layout: { kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true },
      caps: LAVAPIPE_CAPS,
    });
    assert.deepEqual(v2.probTexture, {
      format: "rgba32float",
      rowsPerTexelRow: 1,
      width: 1024,
      height: 64,
    });
    // A device of 256 texels a side (the caps, not the adapter, say so: the textures made
    // are smaller than the adapter's limit). 2000 keys are 500 vec4s a row: no texture.
    const small = withTextureSide(CAPS!, 256);
    const long: BackendCase = {
      preset: "tiny",
      dtype: "f32",
      layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 2000, causal: true },
      caps: small,
    };
    assert.equal(planned(long).probTexture, undefined);
    // 320 (token, head) rows of 2 vec4s: two rows per texture row.
    const folded: BackendCase = {
      preset: "tiny",
      dtype: "f32",
      layout: { kind: "bshd", batch: 80, seqQ: 1, seqK: 8, causal: true },
      caps: small,
    };
    assert.equal(planned(folded).probTexture?.rowsPerTexelRow, 2);
    // The expanded gemm kernel reads its probabilities the same way: a causal prefill of
    // 1100 keys (275 vec4s a row) has no texture on these caps; 80 x 4 rows fold in two.
    const longPrefill: BackendCase = {
      ...long,
      layout: { kind: "bshd", batch: 1, seqQ: 20, seqK: 1100, causal: true },
    };
    for (
      const [backend, c] of [[BACKEND, long], [BACKEND, folded], [
        "wgsl-expanded-gemm",
        longPrefill,
      ], ["wgsl-expanded-gemm", folded]] as const
    ) {
      const p = planOn(backend, c);
      if (typeof p === "string") throw new Error(`${backend} ${caseLabel(c)}: ${p}`);
      assert.equal(
        p.plan.variant.probTexture?.rowsPerTexelRow,
        c === folded ? 2 : undefined,
        `${backend} ${caseLabel(c)}`,
      );
      for (const dtype of ["f32", "f16"] as const) {
        await gpuStep(
          t,
          `${backend} ${caseLabel({ ...c, dtype })}`,
          { features: dtype === "f16" ? ["shader-f16"] : [] },
          () => planParityOn(backend, { ...c, dtype }),
        );
      }
    }
  },
);
