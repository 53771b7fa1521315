/**
 * Kernel edge cases and cross-checks: split-KV vs single pass, absorbed vs
 * expanded on the GPU, THD vs the same sequences in BSHD (bit-equal), NaN poison
 * in padding rows, zero-length key sequences, rows that see no key, and readable
 * compile errors.
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type { AttentionInputs, LayoutRequest, NormalizedLayout } from "../adapter/types.ts";
import { ShaderCompileError } from "../gpu/errors.ts";
import { runAttention } from "../kernels/attention.ts";
import { compare, summarize } from "../parity/compare.ts";
import {
  assertMatchesReference,
  gpu,
  type GpuNeeds,
  gpuStep,
  gpuTest,
  planCase,
  runCase,
} from "./gpu_helpers.ts";

const DECODE_ZERO: LayoutRequest = {
  kind: "bshd",
  batch: 3,
  seqQ: 1,
  seqK: 300,
  kvLens: [300, 0, 9],
  causal: true,
};

gpuTest("split-KV matches the single pass and the reference", async (t) => {
  for (const preset of ["tiny", "deepseek-v2-lite"]) {
    await gpuStep(t, preset, { specs: [preset] }, async () => {
      const one = await runCase({
        spec: preset,
        dtype: "f32",
        backend: "wgsl-absorbed",
        layout: DECODE_ZERO,
        kvSplits: 1,
      });
      const four = await runCase({
        spec: preset,
        dtype: "f32",
        backend: "wgsl-absorbed",
        layout: DECODE_ZERO,
        kvSplits: 4,
      });
      assert.equal(four.plan.variant.kvSplits, 4);
      for (const run of [one, four]) {
        assertMatchesReference(run);
      }
      // Different summation order only: f32 rounding level (observed <= 1e-6).
      const out = compare(four.result.outputs.out, one.result.outputs.out, {
        atol: 1e-5,
        rtol: 1e-4,
        maxCosDiff: 1e-10,
      });
      const lse = compare(four.result.outputs.lse, one.result.outputs.lse, {
        atol: 1e-5,
        rtol: 1e-5,
      });
      assert.ok(out.pass && lse.pass, `${summarize(out)}\n${summarize(lse)}`);
    });
  }
});

gpuTest("absorbed and expanded agree on the GPU", async (t) => {
  const layout: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 2, seqK: 12, causal: true };
  for (const dtype of ["f32", "f16"] as const) {
    const needs: GpuNeeds = {
      cases: [{ spec: "deepseek-v2-lite", dtype, backend: "wgsl-absorbed", layout }],
    };
    await gpuStep(t, dtype, needs, async () => {
      const a = await runCase({
        spec: "deepseek-v2-lite",
        dtype,
        backend: "wgsl-absorbed",
        layout,
      });
      const e = await runCase({
        spec: "deepseek-v2-lite",
        dtype,
        backend: "wgsl-expanded",
        layout,
      });
      // Megatron's criterion (cosine > 0.9999, i.e. cos_diff < 1e-4) and, tighter,
      // the tolerance-table bound each path has against the reference (f32: 1e-8).
      const res = compare(a.result.outputs.out, e.result.outputs.out, {
        atol: dtype === "f32" ? 1e-5 : 8e-3,
        rtol: dtype === "f32" ? 1e-3 : 3.2e-2,
        maxCosDiff: dtype === "f32" ? 1e-8 : 1e-5,
      });
      assert.ok(res.pass, summarize(res));
    });
  }
});

/** Copy the logical rows of `src` (layout `from`) into fresh NaN-padded buffers of layout `to`. */
function relayout(
  src: AttentionInputs,
  from: NormalizedLayout,
  to: NormalizedLayout,
  widths: { q: [number, number]; k: [number, number] },
): AttentionInputs {
  const move = (
    a: ArrayLike<number>,
    rowsOut: number,
    w: number,
    fr: readonly number[],
    tr: readonly number[],
  ) => {
    const out = new Float64Array(rowsOut * w).fill(NaN);
    fr.forEach((r, i) => {
      for (let j = 0; j < w; j++) out[tr[i] * w + j] = a[r * w + j];
    });
    return out;
  };
  return {
    qNope: move(src.qNope, to.qRows, widths.q[0], from.qRowOf, to.qRowOf),
    qPe: move(src.qPe, to.qRows, widths.q[1], from.qRowOf, to.qRowOf),
    latent: move(src.latent, to.kRows, widths.k[0], from.kRowOf, to.kRowOf),
    kPe: move(src.kPe, to.kRows, widths.k[1], from.kRowOf, to.kRowOf),
    wKvB: src.wKvB,
  };
}

gpuTest("THD (padded) gives bit-equal results to the same sequences in BSHD", async (t) => {
  const spec = presetSpec("tiny");
  const bshdReq: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 5, seqK: 5, causal: true };
  const thdReq: LayoutRequest = {
    kind: "thd",
    cuSeqlensQ: [0, 5, 10],
    cuSeqlensQPadded: [0, 7, 14],
    causal: true,
  };
  const ctx = await gpu();
  for (const backend of ["wgsl-absorbed", "wgsl-expanded"] as const) {
    for (const dtype of ["f32", "f16"] as const) {
      const needs: GpuNeeds = { cases: [{ spec: "tiny", dtype, backend, layout: bshdReq }] };
      await gpuStep(t, `${backend} ${dtype}`, needs, async () => {
        const b = await planCase({ spec: "tiny", dtype, backend, layout: bshdReq });
        const thdPlan = resolve({ spec, dtype, backend, layout: thdReq }, ctx.caps);
        assert.equal(thdPlan.kind, "plan");
        if (thdPlan.kind !== "plan") return;
        const h = spec.numHeads;
        const thdInputs = relayout(b.inputs, b.plan.layout, normalizeLayout(thdReq), {
          q: [h * spec.qkNopeHeadDim, h * spec.qkRopeHeadDim],
          k: [spec.kvLoraRank, spec.qkRopeHeadDim],
        });
        const rb = await runAttention(ctx, b.plan, { spec, inputs: b.inputs });
        const rt = await runAttention(ctx, gpuPlanOf(thdPlan), { spec, inputs: thdInputs });
        // Same kernels, same per-query key order and block split: identical bits.
        assert.deepEqual(rt.outputs.out, rb.outputs.out);
        assert.deepEqual(rt.outputs.lse, rb.outputs.lse);
      });
    }
  }
});

gpuTest(
  "NaN padding never leaks; zero-length key sequences and unseeing rows give 0 and -inf",
  async (t) => {
    // Sequence 0: 3 queries over 2 keys (bottom-right: query 0 sees nothing);
    // sequence 1: zero keys; sequence 2: a normal one. Padding rows are NaN.
    const layout: LayoutRequest = {
      kind: "bshd",
      batch: 3,
      seqQ: 3,
      seqK: 6,
      kvLens: [2, 0, 6],
      causal: true,
    };
    for (const backend of ["wgsl-absorbed", "wgsl-expanded"] as const) {
      for (const kvSplits of backend === "wgsl-absorbed" ? [1, 3] : [undefined]) {
        await t.step(`${backend} splits=${kvSplits ?? 1}`, async () => {
          const run = await runCase({ spec: "tiny", dtype: "f32", backend, layout, kvSplits });
          const { out, lse } = run.result.outputs;
          const h = run.spec.numHeads;
          const v = run.spec.vHeadDim;
          const blind = [0, 3, 4, 5]; // logical queries that see no key
          for (let q = 0; q < 9; q++) {
            for (let hd = 0; hd < h; hd++) {
              const l = lse[q * h + hd];
              if (blind.includes(q)) assert.equal(l, -Infinity, `lse of blind row ${q}`);
              else assert.ok(Number.isFinite(l), `lse of row ${q} is ${l}`);
              for (let j = 0; j < v; j++) {
                const x = out[(q * h + hd) * v + j];
                if (blind.includes(q)) assert.equal(x, 0, `out of blind row ${q}`);
                else assert.ok(Number.isFinite(x), `out of row ${q} is ${x}`);
              }
            }
          }
          assertMatchesReference(run);
        });
      }
    }
  },
);

gpuTest("a broken kernel gives a readable compile error with file and line", async () => {
  const { spec, plan, inputs } = await planCase({
    spec: "tiny",
    dtype: "f32",
    backend: "wgsl-absorbed",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true },
  });
  const raw = await Deno.readTextFile(new URL("../kernels/absorbed.wgsl", import.meta.url));
  const line = raw.split("\n").findIndex((l) => l.includes("let qm = q_meta[t];")) + 1;
  assert.ok(line > 0);
  const err = await runAttention(await gpu(), plan, {
    spec,
    inputs,
    mutate: (file, src) =>
      file === "absorbed.wgsl" ? src.replace("let qm = q_meta[t];", "let qm = q_metaa[t];") : src,
  }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof ShaderCompileError, `expected ShaderCompileError, got ${err}`);
  assert.match(err.message, new RegExp(`^absorbed\\.wgsl:${line}:\\d+: error: `));
  assert.ok(err.message.includes("q_metaa"), err.message);
  assert.equal(err.diagnostics[0].line, line);
  assert.ok(err.diagnostics[0].sourceLine.includes("let qm = q_metaa[t];"));
});
