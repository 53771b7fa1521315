/**
 * Which passes of a plan `run` and `bench` time (kernels/measure.ts replays them): an
 * MLA rule, so it lives with the adapter. The expanded path's K/V expansion is cache
 * construction (on lavapipe it costs more than the attention itself), so that path is
 * timed by its attention core; the absorbed path's passes are all timed, except the
 * cached keys' RoPE, which the model does when it writes a key (`ropeIsConstruction`).
 *
 * @module
 */
import type { AttentionPath } from "./types.ts";

/** Which passes a timed repetition replays: the attention core only, or every pass. */
export type TimingScope = "core" | "all";

/**
 * The timing scope of an attention path: "core" for the expanded path (its K/V
 * expansion is cache construction, timed apart), "all" for the absorbed path.
 *
 * @example
 * ```ts
 * import { timingScopeOf } from "./timing_scope.ts";
 * timingScopeOf("expanded"); // "core"
 * timingScopeOf("absorbed"); // "all"
 * ```
 */
export function timingScopeOf(path: AttentionPath): TimingScope {
  return path === "expanded" ? "core" : "all";
}

/** The two RoPE passes `runAttention` records before the attention core. */
export type RopeTarget = "q_pe" | "k_pe";

/**
 * Whether rotating `target` is cache construction (timed once, never replayed) rather
 * than per-step work: an MLA rule, so it lives here. DeepSeek's code rotates k_pe when
 * it computes a key and caches it rotated, so each cached key is rotated once, when it
 * is written; q_pe is rotated for every query, every step.
 *
 * @example
 * ```ts
 * import { ropeIsConstruction } from "./timing_scope.ts";
 * ropeIsConstruction("k_pe"); // true
 * ropeIsConstruction("q_pe"); // false
 * ```
 */
export function ropeIsConstruction(target: RopeTarget): boolean {
  return target === "k_pe";
}
