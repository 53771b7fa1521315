/**
 * Seeded paged key caches: a shuffled block table for given key lengths (the page order
 * comes from the project PRNG, util/prng.ts, like every other seeded input).
 *
 * @module
 */
import type { Paging } from "../adapter/types.ts";
import { makePrng } from "../util/prng.ts";

/**
 * A shuffled paged pool for the given key lengths (FlashMLA's test shape): every
 * sequence gets ceil(kLen / pageSize) pages drawn from a random permutation of the
 * pool, the pool has one spare page (never referenced, poisoned like all unused
 * rows), and each block-table row is padded with -1 to the widest sequence.
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
  const { pageSize } = options;
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
