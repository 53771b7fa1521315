/**
 * Seeded paged block tables: shape, and arguments no table can be made for.
 */
import assert from "node:assert/strict";
import { shuffledPaging } from "../reference/paging.ts";

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
