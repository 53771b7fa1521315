/**
 * Near-miss names: the Levenshtein distance of two short strings, and the known name a
 * string is one or two edits away from (a misspelt key, feature or limit).
 *
 * @module
 */

/**
 * Levenshtein distance (insertions, deletions and substitutions) of two strings.
 *
 * @example
 * ```ts
 * import { editDistance } from "./edit_distance.ts";
 * editDistance("shader-f17", "shader-f16"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j] + 1, cur[j - 1] + 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The first of `known` that `name` is at most `most` edits away from without being it, or
 * undefined (also for `name` in `known`).
 *
 * @example
 * ```ts
 * import { nearMiss } from "./edit_distance.ts";
 * nearMiss("maxBufferSizee", ["maxBufferSize", "maxBindGroups"]); // "maxBufferSize"
 * nearMiss("maxBufferSize", ["maxBufferSize"]); // undefined
 * ```
 */
export function nearMiss(name: string, known: readonly string[], most = 2): string | undefined {
  if (known.includes(name)) return undefined;
  return known.find((k) =>
    Math.abs(k.length - name.length) <= most && editDistance(k, name) <= most
  );
}

/**
 * The one of `known` nearest to `name` by edit distance (the first of equals).
 *
 * @example
 * ```ts
 * import { nearest } from "./edit_distance.ts";
 * nearest("deepseek-v4", ["tiny", "deepseek-v3", "deepseek-v2"]); // "deepseek-v3"
 * ```
 */
export function nearest(name: string, known: readonly string[]): string {
  let best = known[0];
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/**
 * The one of `known` that `name` most likely misspells, or undefined: the one name `name`
 * is a prefix of, else of the names at most `most` edits away (fewer edits than `name` has
 * characters) or that `name` is a prefix of, the one fewest edits away when no other is as
 * near. Undefined for `name` in `known`, for no close name, and for a tie (`deepseek-v` is
 * as near `deepseek-v2` as `deepseek-v3`): a suggestion is made only where one name stands
 * out.
 *
 * @example
 * ```ts
 * import { closeName } from "./edit_distance.ts";
 * closeName("smok", ["smoke", "nightly", "adapter"]); // "smoke"
 * closeName("nigh", ["smoke", "nightly", "adapter"]); // "nightly" (a unique prefix)
 * closeName("tiny-y", ["tiny", "tiny-yarn"]); // "tiny-yarn" (the prefix wins)
 * closeName("deepseek-v", ["deepseek-v2", "deepseek-v3"]); // undefined (a tie)
 * closeName("llama", ["smoke", "nightly", "adapter"]); // undefined
 * ```
 */
export function closeName(name: string, known: readonly string[], most = 2): string | undefined {
  if (name === "" || known.includes(name)) return undefined;
  const extended = known.filter((k) => k.startsWith(name));
  if (extended.length === 1) return extended[0];
  const close = known
    .map((k) => ({ k, d: editDistance(name, k) }))
    .filter(({ k, d }) => (d <= most && d < name.length) || k.startsWith(name));
  if (close.length === 0) return undefined;
  const least = Math.min(...close.map((c) => c.d));
  const nearest = close.filter((c) => c.d === least);
  return nearest.length === 1 ? nearest[0].k : undefined;
}

/**
 * `did you mean "X"? ` for the {@link closeName} of `name` in `known`, or "" where no name
 * stands out: the start of a hint that goes on to list `known`.
 *
 * @example
 * ```ts
 * import { didYouMean } from "./edit_distance.ts";
 * didYouMean("smok", ["smoke", "nightly"]); // 'did you mean "smoke"? '
 * didYouMean("llama", ["smoke", "nightly"]); // ""
 * ```
 */
export function didYouMean(name: string, known: readonly string[]): string {
  const near = closeName(name, known);
  return near === undefined ? "" : `did you mean "${near}"? `;
}
