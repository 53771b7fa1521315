/**
 * Which float64 formulation the parity reference computes a case with. Both give
 * the same numbers (reference/attention.ts checks they agree to 1e-12); the dense
 * one expands per-head K/V and is used while that expansion is affordable.
 *
 * @module
 */
import type { MlaSpec, NormalizedLayout, ReferenceFormulation } from "./types.ts";

/** Largest dense-expansion cost (multiply-adds) for which the dense reference is used. */
export const DENSE_REFERENCE_BUDGET = 3e8;

/**
 * The reference formulation of a case: "dense" while expanding every key's per-head
 * K/V costs at most {@link DENSE_REFERENCE_BUDGET} multiply-adds, else "absorbed-f64".
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { referenceFormulation } from "./reference_choice.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true });
 * referenceFormulation(presetSpec("tiny"), layout); // "dense"
 * ```
 */
export function referenceFormulation(
  spec: MlaSpec,
  layout: NormalizedLayout,
): ReferenceFormulation {
  const expansion = layout.totalK * spec.numHeads * (spec.qkNopeHeadDim + spec.vHeadDim) *
    spec.kvLoraRank;
  return expansion <= DENSE_REFERENCE_BUDGET ? "dense" : "absorbed-f64";
}
