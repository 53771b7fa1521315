/**
 * Seeded paged key caches: a shuffled block table for given key lengths (the page order
 * comes from the project PRNG, util/prng.ts, like every other seeded input).
 *
 * @module
 */
import type { Paging } from "../adapter/types.ts";
import { makePrng } from "../util/prng.ts";
import { checkOptions, checkSeed, shown } from "./spec_check.ts";

/**
 * A shuffled paged pool for the given key lengths (FlashMLA's test shape): every
 * sequence gets ceil(kLen / pageSize) pages drawn from a random permutation of the
 * pool, the pool has one spare page (never referenced, poisoned like all unused
 * rows), and each block-table row is padded with -1 to the widest sequence. Throws a
 * RangeError when `pageSize` is not a whole number >= 1 or a key length not one >= 0.
 *
 * @example
 * ```ts
 * import { shuffledPaging } from "./paging.ts";
 * const p = shuffledPaging([5, 0, 3], { pageSize: 2, seed: 1 });
 * p.numPages; // 6
 * ```
 */
export function shuffledPaging(
  kLens: readonly number[],
  options: { pageSize: number; seed: number },
): Paging {
  // missing options or key lengths failed with "Cannot destructure property 'pageSize'" or
  // "Cannot read properties of undefined (reading 'forEach')"; a string seed said "got 1"
  checkOptions(options, "shuffledPaging", "{ pageSize, seed }");
  if (!Array.isArray(kLens)) {
    throw new RangeError(
      `shuffledPaging: kLens must be an array of key lengths (whole numbers >= 0), found ${
        shown(kLens)
      }`,
    );
  }
  checkSeed(options.seed, "shuffledPaging");
  const { pageSize } = options;
  // A fractional page size or key length made a table whose pages do not hold the keys
  // (1.5: pages of "1.5 rows"), a negative length a row of no pages, and page size 0 failed
  // with "n must be an integer >= 0, got Infinity": silently or far from the argument.
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new RangeError(
      `shuffledPaging: pageSize must be a whole number >= 1, found ${shown(pageSize)}`,
    );
  }
  kLens.forEach((k, i) => {
    if (!Number.isSafeInteger(k) || k < 0) {
      throw new RangeError(
        `shuffledPaging: kLens[${i}] must be a whole number >= 0 (a key length), found ${shown(k)}`,
      );
    }
  });
  const need = kLens.map((k) => Math.ceil(k / pageSize));
  const numPages = need.reduce((a, b) => a + b, 0) + 1;
  const perm = makePrng(options.seed, "block-table").permutation(numPages);
  const width = Math.max(1, ...need);
  let next = 0;
  const blockTable = need.map((n) => {
    const row = perm.slice(next, next + n);
    next += n;
    return [...row, ...Array(width - n).fill(-1)];
  });
  return { pageSize, numPages, blockTable };
}
