/**
 * RoPE precision: the GPU rope kernel (float64-built cos/sin table, f32 rotation)
 * against float64 RoPE at positions near 0 and near 20000 (beyond 16k, where an
 * angle formed in f32 as position * inv_freq has lost ~1e-3 rad). The error must
 * stay flat with position.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { withParams } from "../adapter/spec.ts";
import { runRope } from "../kernels/rope.ts";
import { applyRope, ropeParams } from "../reference/rope_apply.ts";
import { makePrng } from "../util/prng.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";

const ROWS = 64;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** What a kernel forming the angle in f32 would produce (for contrast). */
function naiveF32(x: Float32Array, positions: number[], invFreq: readonly number[], neox: boolean) {
  const f = Math.fround;
  const half = invFreq.length;
  const out = Float32Array.from(x);
  positions.forEach((p, r) => {
    for (let i = 0; i < half; i++) {
      const angle = f(f(p) * f(invFreq[i]));
      const c = f(Math.cos(angle));
      const s = f(Math.sin(angle));
      const ia = r * 2 * half + (neox ? i : 2 * i);
      const ib = r * 2 * half + (neox ? i + half : 2 * i + 1);
      const a = out[ia];
      const b = out[ib];
      out[ia] = f(f(a * c) - f(b * s));
      out[ib] = f(f(a * s) + f(b * c));
    }
  });
  return out;
}

for (const preset of ["deepseek-v2-lite", "tiny"]) {
  for (const pairing of ["interleaved", "neox"] as const) {
    gpuTest(`rope precision stays flat beyond 16k: ${preset} ${pairing}`, async () => {
      const spec = withParams(presetSpec(preset), { ropePairing: pairing });
      const rope = spec.qkRopeHeadDim;
      // Inputs representable in f32, so only the rotation's error is measured.
      const x = Float32Array.from(
        makePrng(7, "rope-test").fillNormal(new Float64Array(ROWS * rope), { std: 1 }),
      );
      const errAt = async (start: number) => {
        const positions = Array.from({ length: ROWS }, (_, i) => start + i);
        const got = await runRope(await gpu(), spec, { data: x, heads: 1, positions });
        const want = applyRope(x, positions, ropeParams(spec));
        const naive = naiveF32(x, positions, spec.invFreq, pairing === "neox");
        return { gpu: maxAbsDiff(got, want), naive: maxAbsDiff(naive, want) };
      };
      const low = await errAt(0);
      const high = await errAt(20000);
      // f32 rotation of N(0,1) values: a few ulps of |x| ~ 4 (observed <= 1e-6).
      assert.ok(low.gpu < 4e-6, `error near position 0: ${low.gpu}`);
      assert.ok(high.gpu < 4e-6, `error near position 20000: ${high.gpu}`);
      // Flat: the high-position error is within a small factor of the low one.
      assert.ok(
        high.gpu <= 4 * low.gpu + 1e-6,
        `rope error grows with position: ${low.gpu} at ~0, ${high.gpu} at ~20000`,
      );
      // The test can tell: an f32 angle would be far worse at 20000.
      assert.ok(high.naive > 10 * high.gpu, `naive f32 angle error ${high.naive} vs ${high.gpu}`);
    });
  }
}
