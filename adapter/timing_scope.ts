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
