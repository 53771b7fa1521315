/**
 * Which passes of a plan `run` and `bench` time (kernels/measure.ts replays them): an
 * MLA rule, so it lives with the adapter. The expanded path's K/V expansion is cache
 * construction (on lavapipe it costs more than the attention itself), so that path is
 * timed by its attention core; the absorbed path's passes are all timed, except cache
 * construction (adapter/pass_roles.ts says which passes are which).
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

/**
 * The revision of the rules a run's timing samples were taken under, recorded in every
 * timing record (`timing.rules`; baselines keep it): which passes a scope replays, which
 * passes are cache construction (timed once, never replayed), and how the replays are
 * queued. Samples of different rules time different work, so drift never compares them.
 * Bump it when any of these changes.
 *
 * 1: replays of the case's scope (kernels/measure.ts), waited for one by one on a cpu-class
 * device and queued on a gpu-class one; the expanded path's K/V expansion, the latent cache's
 * copy into a texture, w_kv_b's copy into a texture and the cached k_pe's RoPE are cache
 * construction. Records without `rules` were taken before it was recorded, under rules that
 * changed more than once without a mark (the cache texture's fill left the absorbed path's
 * samples at 1087d0f, the cached k_pe's RoPE at 8d8aa4a, and lavapipe's replays stopped
 * being queued at 79b1c70).
 *
 * @example
 * ```ts
 * import { TIMING_RULES } from "./timing_scope.ts";
 * TIMING_RULES; // 1
 * ```
 */
export const TIMING_RULES = 1;

/**
 * A record's timing rules as messages name them: the number, or "not recorded" for a record
 * taken before they were.
 *
 * @example
 * ```ts
 * import { timingRulesText } from "./timing_scope.ts";
 * timingRulesText(1); // "1"
 * timingRulesText(undefined); // "not recorded"
 * ```
 */
export function timingRulesText(rules: number | undefined): string {
  return rules === undefined ? "not recorded" : String(rules);
}
