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
