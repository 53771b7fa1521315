/**
 * The f16 absorbed query cannot overflow (issue 13): q~ = q_nope W_UK sums nope products and
 * can pass f16's largest finite value, 65504, while q_nope, w_kv_b, the latent cache and the
 * float64 reference all stay in range. The bundled absorbed kernels keep q~ in f32 in every
 * dtype (kit.absorbQ with `dtype: "f32"`, absorb_q_io.wgsl, an rgba32float query texture in
 * wgsl-absorbed-gemm); stored as f16 it became inf and every output of the case NaN.
 *
 * The inputs are seeded random ones scaled so that the expanded K and V, and so the scores'
 * sizes, are those of an ordinary case: w_kv_b x S and the latent / S (K = W_UK c and
 * V = W_UV c unchanged), q_nope x A. Powers of two, so the f16 rounding is that of the
 * unscaled values (but for the few latent values S makes subnormal). q~ grows by A x S.
 */
import assert from "node:assert/strict";
import type { DeviceCaps, LayoutRequest, MlaSpec } from "../adapter/types.ts";
import { runAttention } from "../kernels/attention.ts";
import { compareAttention, summarize } from "../parity/compare.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { denseAttention } from "../reference/attention.ts";
import { type Float64AttentionInputs, makeAttentionInputs } from "../reference/inputs.ts";
import { stored } from "../reference/stored.ts";
import { caseLabel, planOn } from "./backend_parity_helpers.ts";
import { CAPS, cpuClassCaps, gpu, gpuClassCaps, gpuTest } from "./gpu_helpers.ts";

const F16_MAX = 65504;
/** q_nope's factor. */
const A = 1024;
/** w_kv_b's factor, and the latent's divisor. */
const S = 64;

/** Seeded inputs whose absorbed query passes f16's range (see the module's comment). */
function scaledInputs(spec: MlaSpec, layout: Parameters<typeof makeAttentionInputs>[1]) {
  const base = makeAttentionInputs(spec, layout, { seed: 13 });
  const inputs: Float64AttentionInputs = {
    ...base,
    qNope: base.qNope.map((x) => x * A),
    wKvB: base.wKvB.map((x) => x * S),
    latent: base.latent.map((x) => x / S),
  };
  return inputs;
}

/** max |q~| over the real query rows, from the f16-rounded inputs the kernel reads. */
function maxAbsorbed(spec: MlaSpec, inputs: Float64AttentionInputs, qRows: number): number {
  const h = spec.numHeads, nope = spec.qkNopeHeadDim, r = spec.kvLoraRank;
  const per = nope + spec.vHeadDim;
  const q = stored(inputs.qNope, "f16");
  const w = stored(inputs.wKvB, "f16");
  let most = 0;
  for (let row = 0; row < qRows; row++) {
    for (let hd = 0; hd < h; hd++) {
      const qb = (row * h + hd) * nope;
      if (!Number.isFinite(q[qb])) continue; // a padding row
      for (let j = 0; j < r; j++) {
        let s = 0;
        for (let n = 0; n < nope; n++) {
          s += q[qb + n] * w[(hd * per + n) * r + j];
        }
        most = Math.max(most, Math.abs(s));
      }
    }
  }
  return most;
}

const maxFinite = (a: ArrayLike<number>) =>
  Array.from(a).reduce((m, x) => Number.isFinite(x) ? Math.max(m, Math.abs(x)) : m, 0);

interface RangeCase {
  backend: string;
  preset: string;
  layout: LayoutRequest;
  caps: DeviceCaps;
  /** The variant facts the case is there for. */
  expect?: { absorbSplit?: boolean; queryTile?: number; cacheFormat?: string };
}

gpuTest(
  "f16 absorbed query past 65504: every bundled absorbed backend matches the float64 reference",
  async (t) => {
    const caps = CAPS!;
    const decode = { kind: "bshd", batch: 2, seqQ: 1, seqK: 20, causal: true } as const;
    const prefill = { kind: "bshd", batch: 1, seqQ: 4, seqK: 8, causal: true } as const;
    const cpu = cpuClassCaps(caps);
    const gpuClass = gpuClassCaps(caps);
    const cases: RangeCase[] = [
      // absorb_q.wgsl, then absorbed.wgsl's decode and its 4-query tiles
      { backend: "wgsl-absorbed", preset: "tiny", layout: decode, caps: cpu },
      {
        backend: "wgsl-absorbed",
        preset: "tiny",
        layout: prefill,
        caps: cpu,
        expect: { queryTile: 4 },
      },
      // absorb_q_split.wgsl (gpu class)
      {
        backend: "wgsl-absorbed",
        preset: "tiny",
        layout: decode,
        caps: gpuClass,
        expect: { absorbSplit: true },
      },
      // the query texture beside an rgba16float cache, then beside a packed one
      {
        backend: "wgsl-absorbed-gemm",
        preset: "tiny",
        layout: decode,
        caps: cpu,
        expect: { cacheFormat: "rgba16float" },
      },
      {
        backend: "wgsl-absorbed-gemm",
        preset: "deepseek-v2-lite",
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 16, causal: true },
        caps: cpu,
        expect: { cacheFormat: "rgba32uint" },
      },
      { backend: "wgsl-absorbed-tiled", preset: "tiny", layout: decode, caps: gpuClass },
      { backend: "wgsl-absorbed-tiled", preset: "tiny", layout: prefill, caps: gpuClass },
    ];
    for (const c of cases) {
      const label = `${c.backend} ${caseLabel({ ...c, dtype: "f16" })} ` +
        (c.caps === gpuClass ? "(gpu class)" : "(cpu class)");
      await t.step(label, async () => {
        const planned = planOn(c.backend, { ...c, dtype: "f16" });
        if (typeof planned === "string") throw new Error(`${label}: ${planned}`);
        const { plan, spec } = planned;
        const v = plan.variant;
        if (c.expect?.absorbSplit !== undefined) {
          assert.equal(plan.harnessTiles?.absorbQ?.nopeGroups !== undefined, c.expect.absorbSplit);
        }
        if (c.expect?.queryTile) assert.equal(v.queryTile, c.expect.queryTile);
        if (c.expect?.cacheFormat) {
          assert.equal(v.cacheTexture?.format, c.expect.cacheFormat);
          assert.equal(v.queryTexture?.format, "rgba32float");
        }
        const inputs = scaledInputs(spec, plan.layout);
        // The case is what it claims: q~ past f16's range, every f16 input within it.
        const most = maxAbsorbed(spec, inputs, plan.layout.qRows);
        assert.ok(most > 2 * F16_MAX, `max |q~| ${most}`);
        for (const [name, a] of Object.entries(inputs)) {
          assert.ok(maxFinite(a as Float64Array) < F16_MAX / 2, `${name} within f16's range`);
        }
        const want = denseAttention(spec, plan.layout, { inputs, storedAs: "f16" });
        assert.ok(Array.from(want.out).every(Number.isFinite), "reference out finite");
        const got = (await runAttention(await gpu(), plan, { spec, inputs })).outputs;
        const nonFinite = Array.from(got.out).filter((x) => !Number.isFinite(x)).length;
        assert.equal(nonFinite, 0, `${nonFinite} of ${got.out.length} outputs not finite`);
        const res = compareAttention(got, want, {
          tolerance: toleranceFor("f16", "absorbed"),
          numHeads: spec.numHeads,
          vDim: spec.vHeadDim,
        });
        assert.ok(res.pass, `${label}\n${summarize(res.out)}\n${summarize(res.lse)}`);
      });
    }
  },
  // f16 cases: a device without shader-f16 (the GL fallback) has none to run
  { features: ["shader-f16"], specs: ["deepseek-v2-lite"] },
);
