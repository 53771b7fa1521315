/**
 * RoPE in float64: hand-rotated vectors for both pairings, identity at position 0,
 * the cos/sin scale, heads layout, and the relative-position property.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { withParams } from "../adapter/spec.ts";
import type { MlaSpec } from "../adapter/types.ts";
import { applyRope, ropeParams, rotateVector } from "../reference/rope_apply.ts";
import { makePrng } from "../util/prng.ts";

const cos2 = -0.4161468365471424;
const sin2 = 0.9092974268256817;
const cos1 = 0.5403023058681398;
const sin1 = 0.8414709848078965;

function near(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-14): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `[${i}] ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("rope: interleaved pairs (0,1), (2,3) rotated by hand", () => {
  // x = [1, 2, 3, 4], invFreq [1, 0.5], position 2: pair 0 at angle 2, pair 1 at angle 1.
  const y = applyRope(new Float64Array([1, 2, 3, 4]), [2], {
    invFreq: [1, 0.5],
    pairing: "interleaved",
  });
  near(y, [
    1 * cos2 - 2 * sin2, // -2.234741690198506
    1 * sin2 + 2 * cos2, // 0.0770037537313969
    3 * cos1 - 4 * sin1, // -1.7449770216271667
    3 * sin1 + 4 * cos1, // 4.685622177896248
  ]);
  near(y, [-2.234741690198506, 0.0770037537313969, -1.7449770216271667, 4.685622177896248]);
});

Deno.test("rope: neox pairs (0,2), (1,3) differ from interleaved", () => {
  const x = new Float64Array([1, 2, 3, 4]);
  const y = applyRope(x, [2], { invFreq: [1, 0.5], pairing: "neox" });
  near(y, [1 * cos2 - 3 * sin2, 2 * cos1 - 4 * sin1, 1 * sin2 + 3 * cos2, 2 * sin1 + 4 * cos1]);
  const z = applyRope(x, [2], { invFreq: [1, 0.5], pairing: "interleaved" });
  assert.ok(Math.abs(y[0] - z[0]) > 0.5);
  assert.deepEqual(x, new Float64Array([1, 2, 3, 4]), "input is not mutated");
});

Deno.test("rope: position 0 is the identity; cosSinScale scales the norm", () => {
  const x = makePrng(1, "x").fillNormal(new Float64Array(8));
  near(applyRope(x, [0], { invFreq: [1, 0.1, 0.01, 0.001], pairing: "interleaved" }), [...x], 0);
  const y = applyRope(x, [37], {
    invFreq: [1, 0.1, 0.01, 0.001],
    pairing: "neox",
    cosSinScale: 1.5,
  });
  const norm = (v: Float64Array) => Math.hypot(...v);
  assert.ok(Math.abs(norm(y) - 1.5 * norm(x)) < 1e-12);
});

Deno.test("rope: [rows, heads, dim] uses each row's position for every head; rows option", () => {
  const rp = { invFreq: [1, 0.5], pairing: "interleaved" as const };
  const head = [1, 2, 3, 4];
  const x = new Float64Array([...head, ...head, ...head, ...head]); // rows 2, heads 2
  const y = applyRope(x, [0, 2], { ...rp, heads: 2 });
  const rotated = [
    1 * cos2 - 2 * sin2,
    1 * sin2 + 2 * cos2,
    3 * cos1 - 4 * sin1,
    3 * sin1 + 4 * cos1,
  ];
  near(y, [...head, ...head, ...rotated, ...rotated]);
  const only = applyRope(x, [2, 2], { ...rp, heads: 2, rows: [1] });
  near(only, [...head, ...head, ...rotated, ...rotated]);
  assert.throws(() => applyRope(x, [0], { ...rp, heads: 2 }), RangeError);
  const v = new Float64Array([9, 1, 0]);
  rotateVector(v, 1, { invFreq: [Math.PI / 2], pairing: "interleaved", offset: 1 });
  near(v, [9, 0, 1], 1e-15);
});

Deno.test("rope: scores depend only on the position difference (tiny and tiny-yarn)", () => {
  for (const name of ["tiny", "tiny-yarn"]) {
    for (const pairing of ["interleaved", "neox"] as const) {
      const spec = withParams(presetSpec(name), { ropePairing: pairing });
      const rp = ropeParams(spec);
      const q = makePrng(2, "q").fillNormal(new Float64Array(spec.qkRopeHeadDim));
      const k = makePrng(2, "k").fillNormal(new Float64Array(spec.qkRopeHeadDim));
      const dot = (m: number, n: number) => {
        const a = applyRope(q, [m], rp);
        const b = applyRope(k, [n], rp);
        const s = rp.cosSinScale ?? 1;
        return a.reduce((acc, v, i) => acc + v * b[i], 0) / (s * s);
      };
      const ref = dot(5, 2);
      assert.ok(Math.abs(dot(103, 100) - ref) < 1e-11, `${name} ${pairing}`);
      assert.ok(Math.abs(dot(3, 0) - ref) < 1e-11);
      assert.ok(Math.abs(dot(3, 1) - ref) > 1e-6, "a different distance gives another score");
    }
  }
});

Deno.test("rope: a position, slice, pairing, frequency or scale it cannot rotate by is a RangeError", () => {
  const rp = { invFreq: [1, 0.5], pairing: "interleaved" as const };
  const x = new Float64Array([1, 2, 3, 4]);
  // Each gave NaN rows, a backwards rotation, neox pairs or an unrotated tail, silently.
  const cases: [() => unknown, RegExp][] = [
    [() => applyRope(x, [NaN], rp), /positions\[0\] must be a whole number >= 0, found NaN/],
    [() => applyRope(x, [-1], rp), /positions\[0\] .* found -1/],
    [
      () => applyRope(x, [1], { ...rp, pairing: "inter" as "neox" }),
      /pairing must be "interleaved" or "neox", found "inter"/,
    ],
    [() => applyRope(x, [1], { ...rp, invFreq: [1, NaN] }), /invFreq\[1\] must be a finite number/],
    [() => applyRope(x, [1], { ...rp, cosSinScale: NaN }), /cosSinScale must be a finite number/],
    [
      () => rotateVector(new Float64Array(2), 1, rp),
      /rope slice \[offset 0, \+ 4\) is not inside vec \(2 values\)/,
    ],
    [() => rotateVector(new Float64Array(4), 1, { ...rp, offset: 3 }), /rope slice \[offset 3/],
    [
      () => rotateVector(new Float64Array(4), 0.5, rp),
      /position must be a whole number >= 0, found 0\.5/,
    ],
  ];
  for (const [f, message] of cases) {
    assert.throws(f, (e: Error) => e instanceof RangeError && message.test(e.message));
  }
});

Deno.test("rope: rotateVector refuses a frequency or scale applyRope refuses; missing options, tensor or positions are named", () => {
  const rp = { invFreq: [1], pairing: "interleaved" as const };
  type Rv = Parameters<typeof rotateVector>[2];
  type Ar = Parameters<typeof applyRope>[2];
  const cases: [() => unknown, RegExp][] = [
    // each rotated into NaN (or by 2 for the string "2") silently, where applyRope refused
    [
      () => rotateVector(new Float64Array([1, 0]), 1, { ...rp, invFreq: [NaN] }),
      /^rotateVector: invFreq\[0\] must be a finite number, found NaN$/,
    ],
    [
      () => rotateVector(new Float64Array([1, 0]), 1, { ...rp, cosSinScale: NaN }),
      /^rotateVector: cosSinScale must be a finite number, found NaN$/,
    ],
    [
      () => rotateVector(new Float64Array([1, 0]), 1, { ...rp, cosSinScale: "2" } as unknown as Rv),
      /^rotateVector: cosSinScale must be a finite number, found "2"$/,
    ],
    // each failed with "Cannot read properties of undefined" or "Cannot destructure"
    [
      () => rotateVector(new Float64Array(2), 1, undefined as unknown as Rv),
      /^rotateVector: options must be an object \{ invFreq, pairing, cosSinScale\?, offset\? \}, found undefined$/,
    ],
    [
      () => rotateVector(new Float64Array(2), 1, { pairing: "neox" } as unknown as Rv),
      /^rotateVector: invFreq must be an array of finite numbers .*found undefined$/,
    ],
    [
      () => applyRope(new Float64Array(2), [1], undefined as unknown as Ar),
      /^applyRope: options must be an object \{ invFreq, pairing/,
    ],
    [
      () => applyRope(undefined as unknown as Float64Array, [1], rp),
      /^applyRope: x must be an array or typed array of numbers, found undefined$/,
    ],
    [
      () => applyRope(new Float64Array(2), undefined as unknown as number[], rp),
      /^applyRope: positions must be an array of whole numbers >= 0 \(one per row\), found undefined$/,
    ],
    // the string "0" was read a character at a time: "row 0 is outside [0, 1)"
    [
      () => applyRope(new Float64Array(2), [1], { ...rp, rows: "0" } as unknown as Ar),
      /^applyRope: rows must be an array of row indices \(integers in \[0, positions\.length = 1\)\), found "0"$/,
    ],
    [() => ropeParams(undefined as unknown as MlaSpec), /^ropeParams: spec must be an MlaSpec/],
  ];
  for (const [f, message] of cases) {
    assert.throws(
      f,
      (e: Error) => e instanceof RangeError && message.test(e.message),
      `${message}`,
    );
  }
});
