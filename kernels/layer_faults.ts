/**
 * Planted faults of the layer kernels: known bug classes written as rewrites of
 * one kernel's WGSL source, so tests (and `layer --plant-fault`) can prove the
 * full-layer parity check catches them. A rewrite whose pattern is missing throws,
 * so a kernel refactor cannot silently disable a fault.
 *
 * @module
 */
import type { SourceMutation } from "./source.ts";

/** One planted layer fault. */
export interface LayerFault {
  /** Stable id. */
  readonly id: string;
  /** The bug class. */
  readonly description: string;
  /** Where it shows: some faults need particular inputs. */
  readonly observableWith: string;
  /** The kernel file it rewrites. */
  readonly file: string;
  /** The rewrite (shape of runLayer's `mutate`). */
  readonly mutate: SourceMutation;
}

function rewrite(file: string, from: string, to: string): SourceMutation {
  return (fileName, source) => {
    if (fileName !== file) return source;
    if (!source.includes(from)) {
      throw new Error(`planted fault: pattern ${JSON.stringify(from)} not found in ${file}`);
    }
    return source.replace(from, to);
  };
}

/**
 * The layer faults.
 *
 * @example
 * ```ts
 * import { LAYER_FAULTS } from "./layer_faults.ts";
 * LAYER_FAULTS.map((f) => f.id); // ["rmsnorm-no-eps", "kv-split-wrong-half", ...]
 * ```
 */
export const LAYER_FAULTS: readonly LayerFault[] = Object.freeze([
  {
    id: "rmsnorm-no-eps",
    description:
      "RMSNorm without its epsilon: x / sqrt(mean(x^2)) instead of x / sqrt(mean(x^2) + eps)",
    observableWith: "small activations (mean square near eps), e.g. hidden states scaled by 1e-3",
    file: "rmsnorm.wgsl",
    mutate: rewrite("rmsnorm.wgsl", "+ params.eps);", "+ 0.0);"),
  },
  {
    id: "kv-split-wrong-half",
    description: "k_pe taken from the first rope columns of kv_a_proj_with_mqa (the latent half) " +
      "instead of its last rope columns",
    observableWith: "any input",
    file: "cache_append.wgsl",
    mutate: rewrite("cache_append.wgsl", "+ params.src_offset + c]", "+ 0u + c]"),
  },
  {
    id: "rmsnorm-no-weight",
    description: "RMSNorm without its learned weight (kv_a_layernorm / q_a_layernorm ignored)",
    observableWith: "any input (weights ~ 1 + N(0, 0.1^2))",
    file: "rmsnorm.wgsl",
    mutate: rewrite("rmsnorm.wgsl", "* inv * weight[c]", "* inv * (weight[c] * 0.0 + 1.0)"),
  },
]);

/**
 * A layer fault by id, or a RangeError listing the ids.
 *
 * @example
 * ```ts
 * import { layerFault } from "./layer_faults.ts";
 * layerFault("rmsnorm-no-eps").file; // "rmsnorm.wgsl"
 * ```
 */
export function layerFault(id: string): LayerFault {
  const f = LAYER_FAULTS.find((x) => x.id === id);
  if (!f) {
    throw new RangeError(
      `unknown layer fault "${id}"; known: ${LAYER_FAULTS.map((x) => x.id).join(", ")}`,
    );
  }
  return f;
}
