/**
 * Seeded paged block tables: shape, and arguments no table can be made for; how the
 * references show a wrong-typed count, position or row.
 */
import assert from "node:assert/strict";
import { makeHiddenStates, paddingRows } from "../reference/inputs.ts";
import { shuffledPaging } from "../reference/paging.ts";
import { applyRope, rotateVector } from "../reference/rope_apply.ts";
import { withNonFiniteRows } from "../reference/sample_rows.ts";

Deno.test("paging: every sequence gets ceil(kLen / pageSize) distinct pages, padded with -1", () => {
  const p = shuffledPaging([5, 0, 3], { pageSize: 2, seed: 1 });
  assert.equal(p.numPages, 3 + 0 + 2 + 1);
  assert.deepEqual(p.blockTable.map((row) => row.filter((x) => x >= 0).length), [3, 0, 2]);
  assert.ok(p.blockTable.every((row) => row.length === 3));
  const used = p.blockTable.flat().filter((x) => x >= 0);
  assert.equal(new Set(used).size, used.length);
});

Deno.test("paging: a page size or key length no table holds is a RangeError naming it", () => {
  // 1.5 and 2.5 made tables whose pages do not hold the keys, -3 a row of no pages, silently
  const cases: [number[], number, RegExp][] = [
    [[5, 3], 1.5, /pageSize must be a whole number >= 1, found 1\.5/],
    [[5, 3], 0, /pageSize must be a whole number >= 1, found 0/],
    [[5, 3], NaN, /pageSize .* found NaN/],
    [[5, -3], 2, /kLens\[1\] must be a whole number >= 0 .* found -3/],
    [[2.5], 2, /kLens\[0\] .* found 2\.5/],
  ];
  for (const [kLens, pageSize, message] of cases) {
    assert.throws(
      () => shuffledPaging(kLens, { pageSize, seed: 1 }),
      (e: Error) => e instanceof RangeError && message.test(e.message),
    );
  }
});

Deno.test("paging: missing options or key lengths, or a seed of another type, are a RangeError naming them", () => {
  type Options = Parameters<typeof shuffledPaging>[1];
  // "Cannot destructure property 'pageSize'", "Cannot read properties of undefined (reading
  // 'forEach')" and "seed must be a safe integer, got 1" (for the string "1")
  assert.throws(
    () => shuffledPaging([1, 2], undefined as unknown as Options),
    /^RangeError: shuffledPaging: options must be an object \{ pageSize, seed \}, found undefined$/,
  );
  assert.throws(
    () => shuffledPaging(undefined as unknown as number[], { pageSize: 2, seed: 1 }),
    /^RangeError: shuffledPaging: kLens must be an array of key lengths .*found undefined$/,
  );
  assert.throws(
    () => shuffledPaging([1], { pageSize: 2, seed: "1" as unknown as number }),
    /^RangeError: shuffledPaging: seed must be a safe integer \(the case seed\), found "1"$/,
  );
});

// A string where a number belongs was shown as the number it reads as: "pageSize must be a
// whole number >= 1, found 2", "positions[0] must be a whole number >= 0, found 1", a message
// that contradicts itself; the value is now shown as written.
Deno.test("reference: a string where a count, position or row belongs is shown quoted, as written", () => {
  const cases: [() => unknown, RegExp][] = [
    [
      () => shuffledPaging([1], { pageSize: "2" as unknown as number, seed: 1 }),
      /^shuffledPaging: pageSize must be a whole number >= 1, found "2"$/,
    ],
    [
      () => shuffledPaging(["3" as unknown as number], { pageSize: 2, seed: 1 }),
      /^shuffledPaging: kLens\[0\] must be a whole number >= 0 \(a key length\), found "3"$/,
    ],
    [
      () =>
        applyRope(new Float64Array(2), ["1" as unknown as number], {
          invFreq: [1],
          pairing: "neox",
        }),
      /^positions\[0\] must be a whole number >= 0, found "1"$/,
    ],
    [
      () =>
        rotateVector(new Float64Array(2), "1" as unknown as number, {
          invFreq: [1],
          pairing: "neox",
        }),
      /^position must be a whole number >= 0, found "1"$/,
    ],
    [
      () => makeHiddenStates("2" as unknown as number, 4, { seed: 1 }),
      /^makeHiddenStates: rows must be a whole number >= 0, found "2"$/,
    ],
    [
      () => paddingRows(3, ["0" as unknown as number]),
      /^paddingRows: used row "0" is not a row of the buffer of 3 rows/,
    ],
    [
      () => withNonFiniteRows(["0" as unknown as number], { out: [0], lse: [0], rows: 1 }),
      /^withNonFiniteRows: sample row "0" is not a row of the 1 rows/,
    ],
  ];
  for (const [f, message] of cases) {
    assert.throws(
      f,
      (e: Error) => e instanceof RangeError && message.test(e.message),
      `${message}`,
    );
  }
});
