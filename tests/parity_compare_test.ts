import assert from "node:assert/strict";
import { compare, compareAttention, summarize, unravelIndex } from "../parity/mod.ts";
import { layerToleranceFor, TOLERANCE_MARGIN, toleranceFor, TOLERANCES } from "../parity/mod.ts";
import { compareLayer } from "../parity/compare_layer.ts";
import type { AttentionTolerance } from "../parity/mod.ts";
import { FAULTS } from "../parity/faults.ts";
import { presetSpec } from "../adapter/presets.ts";
import { withParams } from "../adapter/spec.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { attention as referenceAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";

const TOL = { atol: 1e-4, rtol: 1e-3 };

function ramp(n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.37) + 0.1 * i;
  return x;
}

Deno.test("compare: identical arrays pass with zero error", () => {
  const x = ramp(64);
  const r = compare(x, Float64Array.from(x), { ...TOL, maxCosDiff: 0, maxNormRel: 0 });
  assert.equal(r.pass, true);
  assert.deepEqual(r.checks, []);
  assert.equal(r.count, 64);
  assert.equal(r.passing, 64);
  assert.equal(r.fractionPassing, 1);
  assert.equal(r.maxAbs, 0);
  assert.equal(r.maxRel, 0);
  assert.equal(r.cosDiff, 0);
  assert.equal(r.normRel, 0);
  assert.equal(r.nonfiniteMismatches.count, 0);
  assert.equal(r.nonfiniteMismatches.firstIndex, null);
});

Deno.test("compare: a single planted error beyond tol fails and names its index", () => {
  const want = ramp(100);
  const got = Float32Array.from(want); // f32 rounding stays well within tol
  got[37] += 0.05;
  const r = compare(got, want, TOL);
  assert.equal(r.pass, false);
  assert.deepEqual(r.checks, ["elementwise"]);
  assert.equal(r.passing, 99);
  assert.equal(r.fractionPassing, 0.99);
  assert.equal(r.maxAbsIndex, 37);
  assert.equal(r.witnesses.worst?.index, 37);
  assert.equal(r.witnesses.maxAbs?.index, 37);
  assert.equal(r.witnesses.maxAbs?.actual, got[37]);
  assert.equal(r.witnesses.maxAbs?.expected, want[37]);
  assert.ok(Math.abs(r.maxAbs - 0.05) < 1e-6);
});

Deno.test("compare: worst-vs-tol element is reported when it is not the max abs element", () => {
  // Index 0: abs err 0.5 on a large value, within rtol. Index 2: abs err 0.01 on a
  // small value, beyond both atol and rtol.
  const r = compare([1000.5, 1, 0.01], [1000, 1, 0], { atol: 1e-3, rtol: 1e-3 });
  assert.equal(r.pass, false);
  assert.equal(r.maxAbsIndex, 0);
  assert.equal(r.witnesses.worst?.index, 2);
  assert.match(r.summary, /worst vs tol at \[2\] \(got 0\.01, want 0\)/);
});

Deno.test("compare: within atol passes, within rtol passes, beyond both fails", () => {
  // |d| = 5e-5 <= atol on a small value.
  assert.equal(compare([1e-6 + 5e-5], [1e-6], TOL).pass, true);
  // |d| = 0.5 > atol but <= rtol * 1000 = 1.
  assert.equal(compare([1000.5], [1000], TOL).pass, true);
  // Exactly at the bounds passes (<=).
  assert.equal(compare([0.25], [0], { atol: 0.25, rtol: 0 }).pass, true);
  assert.equal(compare([2.5], [2], { atol: 0, rtol: 0.25 }).pass, true);
  // |d| = 2e-3 > atol and > rtol * 1 = 1e-3.
  const r = compare([1.002], [1], TOL);
  assert.equal(r.pass, false);
  assert.deepEqual(r.checks, ["elementwise"]);
});

Deno.test("compare: NaN where the reference is finite fails the nonfinite check", () => {
  const r = compare([1, NaN, 3, NaN], [1, 2, 3, 4], { atol: 10, rtol: 10 });
  assert.equal(r.pass, false);
  assert.deepEqual(r.checks, ["nonfinite-mismatch"]);
  assert.equal(r.nonfiniteMismatches.count, 2);
  assert.equal(r.nonfiniteMismatches.firstIndex, 1);
  assert.deepEqual(r.witnesses.firstNonfinite, { index: 1, actual: "NaN", expected: 2 });
  assert.equal(r.passing, 2);
  // Finite metrics cover only positions finite in both.
  assert.equal(r.maxAbs, 0);
  assert.equal(r.cosDiff, 0);
  // Finite where the reference is NaN fails too; NaN vs NaN passes.
  assert.deepEqual(compare([0], [NaN], TOL).checks, ["nonfinite-mismatch"]);
  assert.equal(compare([NaN], [NaN], TOL).pass, true);
});

Deno.test("compare: -inf matches -inf exactly; -inf vs +inf and -inf vs NaN fail", () => {
  const ok = compare([-Infinity, 1], [-Infinity, 1], TOL);
  assert.equal(ok.pass, true);
  assert.equal(ok.passing, 2);
  const bad = compare([1, -Infinity], [1, Infinity], { atol: 1e9, rtol: 0 });
  assert.equal(bad.pass, false);
  assert.deepEqual(bad.checks, ["nonfinite-mismatch"]);
  assert.equal(bad.nonfiniteMismatches.firstIndex, 1);
  assert.match(bad.summary, /got -Infinity, want Infinity/);
  assert.equal(compare([-Infinity], [NaN], TOL).pass, false);
  assert.equal(compare([-Infinity], [-1e308], { atol: 1e9, rtol: 1e9 }).pass, false);
});

Deno.test("compare: cos_diff of x with itself is 0, of x with -x is 2 (by hand)", () => {
  // x = [1, 2, 3]: sum(xy) with y = x is 14, sum(x^2 + y^2) = 28 -> 1 - 28/28 = 0.
  // y = -x: sum(xy) = -14 -> 1 - 2(-14)/28 = 2.
  const x = [1, 2, 3];
  assert.equal(compare(x, x, TOL).cosDiff, 0);
  const neg = compare(x, x.map((v) => -v), { ...TOL, maxCosDiff: 1e-8 });
  assert.equal(neg.cosDiff, 2);
  assert.ok(neg.checks.includes("cos_diff"));
  // Orthogonal: x = [1, 0], y = [0, 1] -> 1 - 0/2 = 1.
  assert.equal(compare([1, 0], [0, 1], TOL).cosDiff, 1);
  // All zeros: 0/0 is 0.
  assert.equal(compare([0, 0], [0, 0], TOL).cosDiff, 0);
});

Deno.test("compare: cos_diff matches the textbook formula on random data", () => {
  const a = ramp(50);
  const e = a.map((v, i) => v + 0.01 * Math.cos(i));
  let xy = 0;
  let xx = 0;
  for (let i = 0; i < a.length; i++) {
    xy += a[i] * e[i];
    xx += a[i] * a[i] + e[i] * e[i];
  }
  const textbook = 1 - (2 * xy) / xx;
  const r = compare(a, e, TOL);
  assert.ok(Math.abs(r.cosDiff - textbook) < 1e-12, `${r.cosDiff} vs ${textbook}`);
});

Deno.test("compare: a uniform 1% scale error passes a loose atol but fails cos_diff / norm_rel", () => {
  const want = ramp(256);
  const got = want.map((v) => v * 1.01);
  const r = compare(got, want, { atol: 1, rtol: 0, maxCosDiff: 1e-6, maxNormRel: 1e-3 });
  assert.equal(r.fractionPassing, 1);
  assert.ok(!r.checks.includes("elementwise"));
  assert.deepEqual(r.checks, ["cos_diff", "norm_rel"]);
  // For y = (1+s)x: cos_diff = s^2 / (1 + (1+s)^2), norm_rel = s.
  const s = 0.01;
  assert.ok(Math.abs(r.cosDiff - (s * s) / (1 + (1 + s) ** 2)) < 1e-12);
  assert.ok(r.normRel !== null && Math.abs(r.normRel - s) < 1e-12);
});

Deno.test("compare: normRel by hand on a 3-element example", () => {
  // a - e = [1, 0, -2] -> ||a - e|| = sqrt(5); ||e|| = sqrt(4 + 9 + 36) = 7.
  const r = compare([3, 3, 4], [2, 3, 6], { atol: 0, rtol: 0, maxNormRel: 0.5 });
  assert.equal(r.normRel, Math.sqrt(5) / 7);
  assert.ok(!r.checks.includes("norm_rel"));
  // Zero reference with a nonzero actual: unbounded, reported as null and failing.
  const z = compare([1, 0], [0, 0], { atol: 1, rtol: 0, maxNormRel: 1 });
  assert.equal(z.normRel, null);
  assert.deepEqual(z.checks, ["norm_rel"]);
});

Deno.test("compare: maxRel skips zero references and names its index", () => {
  const r = compare([0.5, 1.1, 2.1], [0, 1, 2], { atol: 1, rtol: 0, shape: [3] });
  assert.equal(r.maxRelIndex, 1);
  assert.ok(Math.abs(r.maxRel - 0.1) < 1e-12);
  assert.deepEqual(r.maxRelAt, [1]);
});

Deno.test("compare: length mismatch fails and compares the common prefix", () => {
  const r = compare([1, 2, 3], [1, 2], TOL);
  assert.equal(r.pass, false);
  assert.deepEqual(r.checks, ["length"]);
  assert.equal(r.count, 2);
  assert.equal(r.actualLength, 3);
  assert.equal(r.expectedLength, 2);
  assert.match(r.summary, /length mismatch: got 3, want 2/);
});

Deno.test("compare: shape gives multi-indices and bracketed locations", () => {
  assert.deepEqual(unravelIndex(0, [2, 3, 4]), [0, 0, 0]);
  assert.deepEqual(unravelIndex(17, [2, 3, 4]), [1, 1, 1]);
  assert.deepEqual(unravelIndex(23, [2, 3, 4]), [1, 2, 3]);
  const want = new Float64Array(3 * 6 * 20).fill(0.116);
  const got = Float64Array.from(want);
  const flat = 2 * 6 * 20 + 5 * 20 + 17;
  got[flat] = 0.113;
  got[3] = NaN;
  const r = compare(got, want, { ...TOL, shape: [3, 6, 20] });
  assert.equal(r.maxAbsIndex, flat);
  assert.deepEqual(r.maxAbsAt, [2, 5, 17]);
  assert.deepEqual(r.witnesses.maxAbs?.at, [2, 5, 17]);
  assert.deepEqual(r.nonfiniteMismatches.firstAt, [0, 0, 3]);
  assert.deepEqual(r.shape, [3, 6, 20]);
  assert.match(r.summary, /at \[2,5,17\]/);
  assert.throws(() => compare(got, want, { ...TOL, shape: [3, 6, 19] }), RangeError);
});

Deno.test("compare: summary names the worst index with got and want, FlashMLA-style", () => {
  const want = new Float64Array(3 * 6 * 20).fill(0.116);
  const got = Float64Array.from(want);
  got[2 * 6 * 20 + 5 * 20 + 17] = 0.113;
  const r = compare(got, want, { ...TOL, maxCosDiff: 1e-3, shape: [3, 6, 20], label: "out" });
  assert.ok(
    r.summary.startsWith("out: max abs err 3e-3 at [2,5,17] (got 0.113, want 0.116); "),
    r.summary,
  );
  assert.match(r.summary, /; 99\.7% within tol \(359\/360\); /);
  assert.match(r.summary, /; cos_diff \d(\.\d)?e-\d+; /);
  assert.match(r.summary, /; norm_rel /);
  assert.match(r.summary, /FAILED elementwise$/);
  assert.ok(!r.summary.includes("\n"));
  // Digits grow so the difference stays visible.
  const fine = compare([0.5000012], [0.5], { atol: 1e-7, rtol: 0 });
  assert.match(fine.summary, /\(got 0\.5000012, want 0\.5\)/);
  // A passing result has no FAILED tail and shows 100%.
  const ok = compare([1], [1], TOL);
  assert.match(ok.summary, /100% within tol \(1\/1\)/);
  assert.ok(!ok.summary.includes("FAILED"));
  assert.equal(summarize(r), r.summary);
});

Deno.test("compare: the result is plain JSON data and round-trips", () => {
  const r = compare([NaN, -Infinity, 1.5, 0], [1, -Infinity, 1, 0], {
    ...TOL,
    maxCosDiff: 1e-8,
    shape: [2, 2],
    label: "lse",
  });
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

Deno.test("compare: invalid options throw RangeError", () => {
  assert.throws(() => compare([1], [1], { atol: -1, rtol: 0 }), RangeError);
  assert.throws(() => compare([1], [1], { atol: 0, rtol: NaN }), RangeError);
  assert.throws(() => compare([1], [1], { atol: 0, rtol: 0, maxCosDiff: -1 }), RangeError);
});

// ---------------------------------------------------------------------------
// compareAttention

const H = 2;
const V = 3;
const LOOSE: AttentionTolerance = {
  out: { atol: 1e-4, rtol: 1e-3, maxCosDiff: 1e-8 },
  lse: { atol: 1e-4, rtol: 1e-5 },
};

function attention(totalQ: number): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(totalQ * H * V);
  for (let i = 0; i < out.length; i++) out[i] = Math.cos(i * 0.7);
  const lse = new Float64Array(totalQ * H);
  for (let i = 0; i < lse.length; i++) lse[i] = 2 + Math.sin(i);
  return { out, lse };
}

function rowsOf(
  full: { out: Float64Array; lse: Float64Array },
  rows: number[],
): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(rows.length * H * V);
  const lse = new Float64Array(rows.length * H);
  rows.forEach((r, k) => {
    out.set(full.out.subarray(r * H * V, (r + 1) * H * V), k * H * V);
    lse.set(full.lse.subarray(r * H, (r + 1) * H), k * H);
  });
  return { out, lse };
}

Deno.test("compareAttention: identical outputs pass; out and lse are checked separately", () => {
  const want = attention(4);
  const got = { out: Float32Array.from(want.out), lse: Float32Array.from(want.lse) };
  // f32 rounding of the output is within tol; f32 rounding of lse ~2.5 is ~1e-7 <= atol.
  const ok = compareAttention(got, want, { tolerance: LOOSE, numHeads: H, vDim: V });
  assert.equal(ok.pass, true, ok.out.summary + "\n" + ok.lse.summary);
  assert.deepEqual(ok.out.shape, [4, H, V]);
  assert.deepEqual(ok.lse.shape, [4, H]);
  assert.equal(ok.out.label, "out");
  assert.equal(ok.lse.label, "lse");

  const badLse = { out: want.out, lse: Float64Array.from(want.lse) };
  badLse.lse[5] += 0.01;
  const r = compareAttention(badLse, want, { tolerance: LOOSE, numHeads: H, vDim: V });
  assert.equal(r.pass, false);
  assert.equal(r.out.pass, true);
  assert.equal(r.lse.pass, false);
  assert.deepEqual(r.lse.maxAbsAt, [2, 1]);
});

Deno.test("compareAttention: -inf LSE of an empty row must match -inf", () => {
  const want = attention(2);
  want.lse[0] = -Infinity;
  want.out.fill(0, 0, V);
  const got = { out: Float64Array.from(want.out), lse: Float64Array.from(want.lse) };
  assert.equal(compareAttention(got, want, { tolerance: LOOSE, numHeads: H, vDim: V }).pass, true);
  got.lse[0] = 0;
  const r = compareAttention(got, want, { tolerance: LOOSE, numHeads: H, vDim: V });
  assert.deepEqual(r.lse.checks, ["nonfinite-mismatch"]);
  assert.doesNotMatch(r.lse.summary, /sees no key/);
  // FlashMLA's convention (+inf) said only "got Infinity, want -Infinity": now why -inf
  got.lse[0] = Infinity;
  const flash = compareAttention(got, want, { tolerance: LOOSE, numHeads: H, vDim: V });
  assert.deepEqual(flash.lse.checks, ["nonfinite-mismatch"]);
  assert.match(
    flash.lse.summary,
    /first at \[0,0\] \(got Infinity, want -Infinity\) \(a query that sees no key: its LSE is -Infinity here, \+inf in FlashMLA's convention\)/,
  );
});

Deno.test("compareAttention: rows compares only those rows and names logical rows", () => {
  const full = attention(6);
  const rows = [4, 1];
  const want = rowsOf(full, rows); // the reference computed only these rows
  const got = { out: Float64Array.from(full.out), lse: Float64Array.from(full.lse) };
  // Garbage in unselected rows (0, 2, 3, 5) does not matter.
  got.out[0] = NaN;
  got.out[3 * H * V + 2] = 99;
  got.lse[5 * H] = -Infinity;
  const ok = compareAttention(got, want, { tolerance: LOOSE, rows, numHeads: H, vDim: V });
  assert.equal(ok.pass, true, ok.out.summary + "\n" + ok.lse.summary);
  assert.equal(ok.out.count, rows.length * H * V);
  assert.equal(ok.lse.count, rows.length * H);

  // A bad value in a selected row fails, and is named by its logical row.
  const flat = 1 * H * V + 1 * V + 2; // row 1, head 1, dim 2
  got.out[flat] += 1;
  const r = compareAttention(got, want, { tolerance: LOOSE, rows, numHeads: H, vDim: V });
  assert.equal(r.pass, false);
  assert.equal(r.lse.pass, true);
  assert.deepEqual(r.out.maxAbsAt, [1, 1, 2]);
  assert.equal(r.out.maxAbsIndex, flat);
  assert.equal(r.out.witnesses.maxAbs?.index, flat);
  assert.match(r.out.summary, /^out: max abs err 1e0 at \[1,1,2\] /);

  // The same with a full-size expected array: only the selected rows are read.
  const fullWant = { out: Float64Array.from(full.out), lse: Float64Array.from(full.lse) };
  fullWant.out[0] = 123;
  const r2 = compareAttention(got, fullWant, { tolerance: LOOSE, rows, numHeads: H, vDim: V });
  assert.deepEqual(r2.out.maxAbsAt, [1, 1, 2]);
  assert.equal(r2.out.count, rows.length * H * V);
});

Deno.test("compareAttention: a short actual array is a length failure, bad options throw", () => {
  const want = attention(3);
  const got = { out: want.out.subarray(0, 2 * H * V), lse: want.lse.subarray(0, 2 * H) };
  const r = compareAttention(got, want, { tolerance: LOOSE, numHeads: H, vDim: V });
  assert.deepEqual(r.out.checks, ["length"]);
  const rr = compareAttention(got, rowsOf(want, [2]), {
    tolerance: LOOSE,
    rows: [2],
    numHeads: H,
    vDim: V,
  });
  assert.deepEqual(rr.out.checks, ["length"]);
  assert.throws(
    () => compareAttention(want, want, { tolerance: LOOSE, numHeads: H, vDim: 4 }),
    RangeError,
  );
  assert.throws(
    () => compareAttention(want, want, { tolerance: LOOSE, rows: [-1], numHeads: H, vDim: V }),
    RangeError,
  );
});

// ---------------------------------------------------------------------------
// tolerance table

Deno.test("tolerance: every cell covers the observed errors with the margin, and no more than 10x", () => {
  // Observed maxima from docs/tolerances.md (tools/derive_tolerances.ts on lavapipe, both
  // device classes, against the reference of the stored inputs): the smoke matrix, long
  // contexts and, since session 57, the other presets (tools/tolerance_presets_matrix.json:
  // V3 and Kimi-K2 erred more in f32, and f16 expanded's cos_diff).
  const observed = {
    f32: {
      absorbed: { outAbs: 4.6e-6, cos: 4.0e-13, lseAbs: 2.6e-6 },
      expanded: { outAbs: 4.6e-6, cos: 7.5e-13, lseAbs: 3.2e-6 },
    },
    f16: {
      // session 62: today's kernels (the absorbed query in f32), the smoke matrix x 6 seeds
      // and the other presets x 3, both classes: out Kimi-K2, cos_diff V2-Lite, LSE DeepSeek-V2
      absorbed: { outAbs: 2.371e-4, cos: 3.85e-10, lseAbs: 1.77e-4 },
      expanded: { outAbs: 1.8e-3, cos: 8.6e-8, lseAbs: 1.2e-3 },
    },
  };
  for (const dtype of ["f32", "f16"] as const) {
    for (const path of ["absorbed", "expanded"] as const) {
      const t = toleranceFor(dtype, path);
      const o = observed[dtype][path];
      const within = (tol: number, seen: number, what: string) => {
        assert.ok(
          tol >= seen * TOLERANCE_MARGIN,
          `${dtype}/${path} ${what}: ${tol} < ${seen} x margin`,
        );
        assert.ok(
          tol <= seen * 10 * TOLERANCE_MARGIN,
          `${dtype}/${path} ${what}: ${tol} is too loose`,
        );
      };
      within(t.out.atol, o.outAbs, "out atol");
      within(t.out.maxCosDiff!, o.cos, "out cos_diff");
      within(t.lse.atol, o.lseAbs, "lse atol");
      assert.equal(t, TOLERANCES[dtype][path]);
    }
  }
  assert.ok(Object.isFrozen(TOLERANCES.f32.absorbed.out));
  assert.ok(TOLERANCE_MARGIN > 1);
  // Every f16 tolerance is looser than its f32 counterpart.
  const f32 = toleranceFor("f32", "absorbed");
  const f16 = toleranceFor("f16", "absorbed");
  assert.ok(f16.out.atol > f32.out.atol && f16.out.rtol > f32.out.rtol);
  assert.ok(f16.out.maxCosDiff > f32.out.maxCosDiff);
  assert.ok(f16.lse.atol > f32.lse.atol && f16.lse.rtol > f32.lse.rtol);
});

Deno.test("layer tolerance: every cell covers the observed errors with the margin, and no more than 10x", () => {
  // Observed maxima from docs/tolerances.md "The full layer" (tools/derive_tolerances.ts
  // --mode layer on lavapipe, both device classes, the larger of the two, four digits).
  const observed = {
    f32: { outAbs: 4.292e-6, cos: 3.013e-13, normRel: 7.762e-7, lseAbs: 5.567e-6 },
    f16: { outAbs: 1.953e-3, cos: 1.013e-7, normRel: 4.502e-4, lseAbs: 1.296e-3 },
    // the absorbed path's own (--filter "dtype=f16;path=absorbed", session 62: two digits)
    "f16 absorbed": { outAbs: 1.953e-3, cos: 3.4e-8, normRel: 2.6e-4, lseAbs: 4.1e-4 },
  };
  for (const dtype of ["f32", "f16", "f16 absorbed"] as const) {
    const t = dtype === "f16 absorbed"
      ? layerToleranceFor("f16", "absorbed")
      : layerToleranceFor(dtype);
    const o = observed[dtype];
    const within = (tol: number, seen: number, what: string) => {
      assert.ok(tol >= seen * TOLERANCE_MARGIN, `${dtype} ${what}: ${tol} < ${seen} x margin`);
      assert.ok(tol <= seen * 10 * TOLERANCE_MARGIN, `${dtype} ${what}: ${tol} is too loose`);
    };
    within(t.out.atol, o.outAbs, "out atol");
    within(t.out.maxCosDiff, o.cos, "out cos_diff");
    within(t.out.maxNormRel!, o.normRel, "out norm_rel");
    within(t.lse.atol, o.lseAbs, "lse atol");
    // the output's rtol follows the attention cells (parity/tolerance.ts): never wider
    assert.ok(
      t.out.rtol <= toleranceFor(dtype === "f32" ? "f32" : "f16", "expanded").out.rtol,
      `${dtype} out rtol`,
    );
  }
});

Deno.test("layer tolerance: f16 absorbed has its own cell, but not for a query held in f16", () => {
  assert.equal(layerToleranceFor("f16", "expanded"), layerToleranceFor("f16"));
  assert.equal(layerToleranceFor("f32", "absorbed"), layerToleranceFor("f32"));
  const own = layerToleranceFor("f16", "absorbed");
  assert.ok(own.out.maxCosDiff < layerToleranceFor("f16").out.maxCosDiff / 2);
  // a user backend's f16 query (kit.absorbQ's default) keeps the shared cell
  assert.equal(
    layerToleranceFor("f16", "absorbed", { absorbedQuery: "storage" }),
    layerToleranceFor("f16"),
  );
  assert.throws(() => layerToleranceFor("f16", "dense" as "absorbed"), /attention path "dense"/);
});

Deno.test("f16 absorbed: errors its old cell (derived while the absorbed query was f16) let through fail", () => {
  // The cell was atol 3.8e-3, cos_diff 2.3e-7, LSE atol 3.8e-3: 10^4 to 10^7 above the clean
  // kernels' cos_diff. Each of these passed it.
  const t = toleranceFor("f16", "absorbed");
  const n = 4096;
  const want = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.7) * 1.9);
  // the output written through f16 (a kernel storing it in the storage dtype): cos_diff ~4e-8
  const f16Out = compare(want.map((v) => Math.f16round(v)), want, t.out);
  assert.deepEqual(f16Out.checks, ["cos_diff"], f16Out.summary);
  // one element near 0 (below atol / rtol) 2e-3 off in a V2-Lite-sized output (2 rows x 16
  // heads x 128): atol only (cos_diff 2.7e-10)
  const one = Float64Array.from(want);
  one[0] += 2e-3;
  const oneOff = compare(one, want, t.out);
  assert.deepEqual(oneOff.checks, ["elementwise"], oneOff.summary);
  // the LSE written through f16: off by up to half an f16 step (2e-3 between 4 and 8)
  const lse = Float64Array.from({ length: 256 }, (_, i) => 4 + (i * 0.01573) % 4);
  const f16Lse = compare(lse.map((v) => Math.f16round(v)), lse, t.lse);
  assert.deepEqual(f16Lse.checks, ["elementwise"], f16Lse.summary);
  assert.ok(f16Lse.maxAbs > 1e-3 && f16Lse.maxAbs < 3.8e-3, f16Lse.summary);
});

Deno.test("compareAttention: the f16 absorbed LSE's allowance grows with the largest |LSE| of the compared rows", () => {
  // Measured on lavapipe (session 62), V2-Lite f16 absorbed, 4 queries over 200 keys with q
  // scaled by 1, 4, 10 and 40: the LSE's largest error grows with the scores (5.8e-5, 5.0e-4,
  // 8.9e-4, 3.7e-3 at largest |LSE| 8, 31, 64, 255), 7.3e-6 to 1.6e-5 of the largest |LSE|,
  // not of its own: an LSE near 0 (a causal prefill's first query, whose LSE is its one
  // score) in such a tensor has no room on rtol, and atol (7.1e-4) is the unit-scale one.
  const t = toleranceFor("f16", "absorbed");
  const [heads, vDim] = [4, 2];
  const want = {
    out: new Float64Array(2 * heads * vDim),
    lse: Float64Array.from([255, 0.5, -3, 162.8, 80, 12, -0.4, 40]),
  };
  const off = (d: number, lse = want.lse) => ({
    out: new Float32Array(want.out),
    lse: Float64Array.from(lse, (v, i) => v + (i % 2 === 0 ? d : -d)),
  });
  const o = { tolerance: t, numHeads: heads, vDim };
  const scaled = compareAttention(off(3.7e-3), want, o);
  assert.ok(scaled.lse.pass, scaled.lse.summary);
  assert.equal(scaled.lse.tolerance.atol, 9.3e-5 * 255, "the atol in force is recorded");
  // with rows, the compared rows' largest |LSE| (row 1: 80), not the whole tensor's
  const row1 = compareAttention(off(3.7e-3), {
    out: want.out.slice(heads * vDim),
    lse: want.lse.slice(heads),
  }, { ...o, rows: [1] });
  assert.ok(row1.lse.pass, row1.lse.summary);
  assert.equal(row1.lse.tolerance.atol, 9.3e-5 * 80);
  const unitLse = Float64Array.from([5, 0.5, -3, 6.2, 8, 1.2, -0.4, 4]);
  const unit = compareAttention(off(3.7e-3, unitLse), { out: want.out, lse: unitLse }, o);
  assert.equal(unit.lse.pass, false, "at unit scale the same error fails");
  // not without bound: a tenth of the largest |LSE|'s allowance more fails
  assert.equal(compareAttention(off(0.03), want, o).lse.pass, false);
});

Deno.test("the f16 absorbed cell sees one key of 600 dropped: causal-diagonal-excluded on the float64 reference", () => {
  // docs/tolerances.md "What the tolerances see": with one head over 600 keys the dropped key
  // passed the old f16 cell in seeds 2, 3 and 4 (0.02, 0.13 and 0.51 of it); the cell derived
  // from today's kernels catches all 80 runs, these by 18x and 73x.
  const fault = FAULTS.find((f) => f.id === "causal-diagonal-excluded");
  assert.ok(fault && fault.apply.kind === "plan");
  const spec = withParams(presetSpec("deepseek-v2-lite"), { numHeads: 1 });
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 600, causal: true });
  const plan = { layout } as Parameters<typeof fault.apply.change>[0]["plan"];
  const shifted = fault.apply.change({ spec, plan }).plan.layout;
  const tolerance = toleranceFor("f16", "absorbed");
  for (const seed of [3, 4]) {
    const inputs = makeAttentionInputs(spec, layout, { seed });
    const o = { inputs, path: "absorbed", storedAs: "f16" } as const;
    const want = referenceAttention(spec, layout, o);
    const got = referenceAttention(spec, shifted, o);
    const r = compareAttention(got, want, { tolerance, numHeads: 1, vDim: spec.vHeadDim });
    assert.equal(r.pass, false, `seed ${seed}: ${r.out.summary}`);
    // by more than the margin: the kernel's own error may use up to a quarter of the cell
    assert.ok(
      r.out.cosDiff > TOLERANCE_MARGIN * tolerance.out.maxCosDiff,
      `seed ${seed}: ${r.out.summary}`,
    );
  }
});

Deno.test("tolerance: unknown keys throw RangeError", () => {
  const dtype = "bf16" as unknown as "f16";
  assert.throws(() => toleranceFor(dtype, "absorbed"), RangeError);
  const path = "fused" as unknown as "absorbed";
  assert.throws(() => toleranceFor("f32", path), RangeError);
});

Deno.test("layer LSE: an LSE off by a constant fails at unit scale; an error that grows with the largest |LSE| passes", () => {
  const heads = 4;
  const rows = [0, 1];
  const check = (dtype: "f32" | "f16", want: number[], got: number[]) =>
    compareLayer(
      { out: new Float32Array(rows.length), lse: Float32Array.from(got) },
      { out: new Float64Array(rows.length), lse: Float64Array.from(want) },
      { rows, hidden: 1, heads, tolerance: layerToleranceFor(dtype) },
    ).lse;
  // Unit-scale LSEs (the smoke matrix's layer cases: 0.01 to 7). The planted fault lse-offset
  // adds 0.01 to every LSE: it passed f16's old rtol (9.5e-2) at every |LSE| above 0.11.
  const unit = [3.1, 2.5, 4.2, 0.8, 1.9, 5.7, 2.2, 0.4];
  const f16 = check("f16", unit, unit.map((v) => v + 0.01));
  assert.equal(f16.pass, false, f16.summary);
  assert.equal(f16.passing, 0, f16.summary);
  // f32: 1e-4 passed the old rtol (1.5e-3) at every |LSE| above 0.067
  const f32 = check("f32", unit, unit.map((v) => v + 1e-4));
  assert.equal(f32.pass, false, f32.summary);
  // Hidden states 8x as large: the largest |LSE| is ~200, and every LSE of the tensor is off
  // by up to 2.4e-2 (f16) / 1.8e-4 (f32), also the one near 0 (tools/layer_input_scale.ts).
  const large = [198, 0.151, -3, 80, 150, 12, -0.5, 40];
  const noisy = (d: number) => large.map((v, i) => v + (i % 2 === 0 ? d : -d));
  const f16Large = check("f16", large, noisy(2.4e-2));
  assert.ok(f16Large.pass, f16Large.summary);
  assert.equal(f16Large.tolerance.atol, 9.1e-4 * 198, "the atol in force is recorded");
  assert.ok(check("f32", large, noisy(1.8e-4)).pass);
  // ... but not without bound: eight times that is past it
  assert.equal(check("f16", large, noisy(0.2)).pass, false);
});

Deno.test("layer parity: with rowShape, positions name the files' elements, not the compared rows", () => {
  // 2 sequences of 3 tokens, hidden 2, 2 heads; rows 0, 4 and 5 compared. Token 4 = [1, 1].
  const [hidden, heads, rows] = [2, 2, [0, 4, 5]];
  const want = { out: new Float64Array(12).fill(1), lse: new Float64Array(12).fill(1) };
  const got = { out: new Float32Array(12).fill(1), lse: new Float32Array(12).fill(1) };
  got.out[4 * hidden + 1] = 2; // token 4, column 1: the largest error
  got.out[5 * hidden + 0] = NaN; // token 5, column 0: a nonfinite mismatch
  got.lse[5 * heads + 1] = 3; // token 5, head 1
  const o = { rows, hidden, heads, tolerance: layerToleranceFor("f32") };
  const bshd = compareLayer(got, want, { ...o, rowShape: [2, 3] });
  assert.deepEqual(bshd.out.witnesses.maxAbs?.at, [1, 1, 1]);
  assert.equal(bshd.out.witnesses.maxAbs?.index, 4 * hidden + 1);
  assert.deepEqual(bshd.out.maxAbsAt, [1, 1, 1]);
  assert.deepEqual(bshd.out.nonfiniteMismatches.firstAt, [1, 2, 0]);
  assert.match(bshd.out.summary, /max abs err 1e0 at \[1,1,1\] .*first at \[1,2,0\]/);
  assert.deepEqual(bshd.lse.witnesses.maxAbs?.at, [5, 1]);
  assert.match(bshd.lse.summary, /max abs err 2e0 at \[5,1\]/);
  // packed (THD): [token, hidden]
  const thd = compareLayer(got, want, { ...o, rowShape: [6] });
  assert.match(thd.out.summary, /at \[4,1\] .*first at \[5,0\]/);
  // without it (run's layer cases), the compared rows as before
  assert.match(compareLayer(got, want, o).out.summary, /at \[1,1\] .*first at \[2,0\]/);
});

Deno.test("the f32 cell sees one key of 4096 dropped: causal-diagonal-excluded on the float64 reference", () => {
  // A one-position causal shift in a long decode drops one key of 4096 (its weight ~1/4096):
  // the f32 tolerance must see that from the float64 effect alone, with room for the
  // kernel's own error (docs/tolerances.md "What the tolerances see"). One head: the
  // dropped key's weight is then one draw, not the largest of several heads'.
  const fault = FAULTS.find((f) => f.id === "causal-diagonal-excluded");
  assert.ok(fault && fault.apply.kind === "plan");
  const spec = withParams(presetSpec("deepseek-v2-lite"), { numHeads: 1 });
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 4096, causal: true });
  // the fault changes only the plan's layout: the reference reads that layout as the kernel would
  const plan = { layout } as Parameters<typeof fault.apply.change>[0]["plan"];
  const shifted = fault.apply.change({ spec, plan }).plan.layout;
  const tolerance = toleranceFor("f32", "absorbed");
  for (const seed of [1, 2]) {
    const inputs = makeAttentionInputs(spec, layout, { seed });
    const want = referenceAttention(spec, layout, { inputs, path: "absorbed" });
    const got = referenceAttention(spec, shifted, { inputs, path: "absorbed" });
    const r = compareAttention(got, want, { tolerance, numHeads: 1, vDim: spec.vHeadDim });
    assert.equal(r.pass, false, `seed ${seed}: ${r.out.summary}`);
    // seeds 1 and 2 measured 5e5 and 2e5 times the cos_diff tolerance: keep a 100x margin
    assert.ok(r.out.cosDiff > 100 * tolerance.out.maxCosDiff, `seed ${seed}: ${r.out.summary}`);
  }
});
