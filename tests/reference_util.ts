/**
 * Helpers of the reference test suites (no tests here).
 *
 * @module
 */
import assert from "node:assert/strict";

/** Options of {@link assertAllClose}. */
export interface CloseOptions {
  /** Tolerance relative to the largest |expected| value (default 1e-12). */
  rtol?: number;
  /** What is compared, for the message. */
  what?: string;
}

/**
 * Assert two tensors agree: same length, NaN and infinities at the same places with
 * the same sign, and max |a - b| <= rtol * max |b| over the finite entries.
 */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: CloseOptions = {},
): void {
  const rtol = options.rtol ?? 1e-12;
  const what = options.what ?? "tensor";
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  }
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      assert.ok(Object.is(a, b), `${what}[${i}]: ${a} vs expected ${b}`);
      continue;
    }
    const d = Math.abs(a - b);
    if (d > worst) {
      worst = d;
      worstAt = i;
    }
  }
  assert.ok(
    worst <= rtol * scale,
    `${what}: max abs diff ${worst} at ${worstAt} (${actual[worstAt]} vs ${
      expected[worstAt]
    }) > ${rtol} * ${scale}`,
  );
}

/** Count NaN entries. */
export function countNaN(t: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < t.length; i++) if (Number.isNaN(t[i])) n++;
  return n;
}

/** Max |a - b| over all entries (NaN if any entry is NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}
