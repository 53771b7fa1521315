/**
 * Joining records that say the same thing under several labels (a barrier-check finding
 * seen in f32 and in f16, or in two shards).
 *
 * @module
 */

/**
 * The items with equal keys merged into the first of them, their `labels` joined in
 * first-seen order; the items in the order their keys first appear.
 *
 * @example
 * ```ts
 * import { mergeLabels } from "./merge_labels.ts";
 * const a = { at: "k.wgsl:3", labels: ["f32"] }, b = { at: "k.wgsl:3", labels: ["f16", "f32"] };
 * mergeLabels([a, b], (x) => x.at); // [{ at: "k.wgsl:3", labels: ["f32", "f16"] }]
 * ```
 */
export function mergeLabels<T extends { readonly labels: readonly string[] }>(
  items: readonly T[],
  keyOf: (item: T) => string,
): T[] {
  const byKey = new Map<string, { item: T; labels: string[] }>();
  for (const x of items) {
    const key = keyOf(x);
    const seen = byKey.get(key);
    if (seen === undefined) byKey.set(key, { item: x, labels: [...x.labels] });
    else for (const l of x.labels) if (!seen.labels.includes(l)) seen.labels.push(l);
  }
  return [...byKey.values()].map(({ item, labels }) => ({ ...item, labels }));
}
