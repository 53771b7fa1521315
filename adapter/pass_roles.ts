/**
 * What each of the harness's own GPU passes is, for timing: part of the attention core,
 * per-step work around it, or cache construction. An MLA rule, so it lives with the
 * adapter: the launch kit (kernels/launch.ts) takes a harness pass's role from here, never
 * from the launcher, and `run`/`bench` time by it (kernels/measure.ts: scope "core" replays
 * the core, scope "all" the core and the per-step passes, neither replays construction).
 * A user backend's own passes name their role when they dispatch.
 *
 * @module
 */
import type { AttentionPath } from "./types.ts";

/**
 * - "core": the attention core (what FlashMLA's kernel does: scores, softmax, values, the
 *   split combine, and the layout copies those kernels read their query through);
 * - "step": per-step work outside the core (q_pe's RoPE, the q absorption, the q packing,
 *   the up-projection), replayed by scope "all";
 * - "construction": turning the cache into the form the kernels read, which a serving loop
 *   does once per key, when it writes it: timed once, never replayed.
 */
export type PassRole = "core" | "step" | "construction";

/** A harness pass's role, with why; by path where the two paths differ. */
interface RoleEntry {
  readonly role: PassRole | Readonly<Record<AttentionPath, PassRole>>;
  readonly why: string;
}

const ROLES: Readonly<Record<string, RoleEntry>> = {
  rope_q: { role: "step", why: "every query's q_pe is rotated every step" },
  rope_k: {
    role: "construction",
    why: "the model caches k_pe rotated: each key is rotated once, when it is written",
  },
  absorb_q: { role: "step", why: "q_nope x W_UK, a projection ahead of the core" },
  pack_q: { role: "step", why: "q packed per head for the expanded kernels" },
  up_proj: { role: "step", why: "x x W_UV, a projection after the core" },
  query_texture: {
    role: { absorbed: "core", expanded: "step" },
    why: "absorbed: the absorbed q the scores pass reads, copied every step by the core; " +
      "expanded: part of the q packing",
  },
  cache_texture: {
    role: "construction",
    why: "the latent cache kept in the texture form the gemm kernels read",
  },
  key_texture: { role: "construction", why: "the expanded K kept as a texture" },
  value_texture: { role: "construction", why: "the expanded V kept as a texture" },
  weight_texture: { role: "construction", why: "w_kv_b copied into a texture once" },
  expand_weight_texture: { role: "construction", why: "w_kv_b copied into a texture once" },
  expand_latent_texture: {
    role: "construction",
    why: "the latent cache as the K/V expansion reads it",
  },
  expand_kv: { role: "construction", why: "K/V expanded from the latent cache, per key" },
  absorbed: { role: "core", why: "the attention core" },
  absorbed_tiled: { role: "core", why: "the attention core" },
  combine: { role: "core", why: "the split-K combine of the core" },
  expanded: { role: "core", why: "the attention core" },
  expanded_fa2: { role: "core", why: "the attention core" },
  gemm_scores: { role: "core", why: "the attention core" },
  gemm_softmax: { role: "core", why: "the attention core" },
  gemm_values: { role: "core", why: "the attention core" },
  gemm_split_sum: { role: "core", why: "the split-K sum of the core" },
};

/**
 * The role of the harness pass `name` on `path`, or undefined when `name` is not one of
 * the harness's passes (a user backend's own).
 *
 * @example
 * ```ts
 * import { passRole } from "./pass_roles.ts";
 * passRole("absorbed", "rope_k"); // "construction"
 * passRole("expanded", "query_texture"); // "step"
 * passRole("absorbed", "my_pass"); // undefined
 * ```
 */
export function passRole(path: AttentionPath, name: string): PassRole | undefined {
  const entry = Object.hasOwn(ROLES, name) ? ROLES[name] : undefined;
  if (entry === undefined) return undefined;
  return typeof entry.role === "string" ? entry.role : entry.role[path];
}

/**
 * Why the harness pass `name` has its role (undefined for other names).
 *
 * @example
 * ```ts
 * import { passRoleReason } from "./pass_roles.ts";
 * passRoleReason("rope_k"); // "the model caches k_pe rotated: ..."
 * ```
 */
export function passRoleReason(name: string): string | undefined {
  return Object.hasOwn(ROLES, name) ? ROLES[name].why : undefined;
}

/**
 * The names of the harness's passes (a user backend's pass may not take one).
 *
 * @example
 * ```ts
 * import { HARNESS_PASS_NAMES } from "./pass_roles.ts";
 * HARNESS_PASS_NAMES.includes("gemm_scores"); // true
 * ```
 */
export const HARNESS_PASS_NAMES: readonly string[] = Object.freeze(Object.keys(ROLES));
