/**
 * What an HF config means when it is MiniCPM3's (model_type `minicpm3`, openbmb/MiniCPM3-4B),
 * and its LongRoPE (`rope_scaling.type` "longrope"), read as the model's code reads them. The
 * sources (formulas read, no code copied):
 * - the model repository's remote code `modeling_minicpm.py` (`MiniCPMAttention`,
 *   `MiniCPMLongRoPE`, `apply_rotary_pos_emb` with `rotate_half`) and `configuration_minicpm.py`;
 * - transformers' `src/transformers/models/minicpm3/modular_minicpm3.py` and
 *   `configuration_minicpm3.py`, with `modeling_rope_utils.py`
 *   (`_compute_longrope_parameters`, `longrope_frequency_update`).
 *
 * Facts used:
 * - pairing: both apply `rotate_half` (halves, i with i + d/2) to q_pe and k_pe as the
 *   projections give them; no de-interleaving as in DeepSeek-V2's code, so NeoX pairing;
 * - value width: the remote code uses hidden_size / num_attention_heads whatever the config
 *   says, transformers `v_head_dim`, defaulting to hidden_size / num_attention_heads;
 * - softmax scale: (nope + rope)^-0.5 in both (transformers' `yarn_apply_mscale` would add
 *   m(factor, mscale_all_dim)^2 for any non-default RoPE type with `mscale_all_dim`, which the
 *   remote code never reads: such a key is refused);
 * - LongRoPE: see adapter/longrope.ts; the remote code needs `original_max_position_embeddings`
 *   in the RoPE object, reads neither `factor` nor `attention_factor` (transformers reads both
 *   for the cos/sin scale), and builds its first cos/sin cache at `max_position_embeddings`:
 *   with max positions above the original length it uses `long_factor` for every length,
 *   transformers `short_factor` up to the original length. Where the two codes disagree the
 *   config is refused (exit 2), naming both.
 *
 * @module
 */
import type { ConfigIssue } from "./errors.ts";
import type { DefaultedField } from "./config.ts";
import { sameFactors } from "./longrope.ts";
import type { LongRopeParams, RopePairing } from "./types.ts";

/** model_type of MiniCPM3's config. */
export const MINICPM3_MODEL_TYPE = "minicpm3";

/** The config keys this module reads (validated by the HF schema before). */
export interface MiniCpm3Input {
  readonly model_type?: string;
  readonly hidden_size: number;
  readonly num_attention_heads: number;
  readonly qk_rope_head_dim: number;
  readonly v_head_dim?: number;
  readonly max_position_embeddings?: number;
  readonly rope_interleave?: boolean;
  readonly rope_pairing?: RopePairing;
}

/** The RoPE object of type "longrope", as the HF schema parsed it. */
export interface LongRopeRaw {
  readonly short_factor?: readonly number[];
  readonly long_factor?: readonly number[];
  readonly original_max_position_embeddings?: number;
  readonly factor?: number;
  readonly beta_fast?: number;
  readonly beta_slow?: number;
  readonly mscale?: number;
  readonly mscale_all_dim?: number;
}

/** What {@link readMiniCpm3} found. */
export interface MiniCpm3Reading {
  /** The value width (the config's, or hidden / heads for MiniCPM3 without one). */
  readonly vHeadDim: number | undefined;
  /** LongRoPE, read with the short list ({@link LongRopeParams.factors} "short"). */
  readonly longrope: LongRopeParams | undefined;
  /** The pairing the model's code implies when the config states none (NeoX for MiniCPM3). */
  readonly pairing: RopePairing | undefined;
  readonly issues: ConfigIssue[];
  readonly defaulted: DefaultedField[];
}

/** Keys of a longrope object that MiniCPM3's LongRoPE does not read, and why each matters. */
const UNREAD_BY_LONGROPE: Record<string, string> = {
  factor: "is not read by MiniCPM3's LongRoPE (modeling_minicpm.py takes the cos/sin scale from " +
    "max_position_embeddings / original_max_position_embeddings), while transformers' " +
    "_compute_longrope_parameters takes it from factor: the two codes disagree; remove it",
  mscale_all_dim: "is not read by MiniCPM3's modeling_minicpm.py, while transformers' " +
    "MiniCPM3Attention (yarn_apply_mscale) multiplies the softmax scale by its m^2 for any " +
    "RoPE type but default: the two codes disagree; remove it",
  mscale: "is a YaRN key, which LongRoPE does not read; remove it",
  beta_fast: "is a YaRN key, which LongRoPE does not read; remove it",
  beta_slow: "is a YaRN key, which LongRoPE does not read; remove it",
};

/** LongRoPE of a MiniCPM3 config, or the issues that stop it being read exactly. */
function readLongRope(
  c: MiniCpm3Input,
  r: LongRopeRaw,
  shape: string,
  issues: ConfigIssue[],
): LongRopeParams | undefined {
  const before = issues.length;
  for (const [key, why] of Object.entries(UNREAD_BY_LONGROPE)) {
    const v = r[key as keyof LongRopeRaw];
    if (v !== undefined) issues.push({ path: `${shape}.${key}`, value: v, message: why });
  }
  const half = c.qk_rope_head_dim / 2;
  for (const key of ["short_factor", "long_factor"] as const) {
    const list = r[key];
    if (list === undefined) {
      issues.push({
        path: `${shape}.${key}`,
        value: undefined,
        message: `is required for longrope; expected ${half} positive numbers (one per ` +
          "rotated pair of the qk_rope_head_dim channels)",
      });
    } else if (list.length !== half) {
      issues.push({
        path: `${shape}.${key}`,
        value: `${list.length} numbers`,
        message: `must hold qk_rope_head_dim / 2 = ${half} numbers (one per rotated pair)`,
      });
    }
  }
  const original = r.original_max_position_embeddings;
  if (original === undefined) {
    issues.push({
      path: `${shape}.original_max_position_embeddings`,
      value: undefined,
      message: "is required for longrope: MiniCPM3's modeling_minicpm.py reads it from the " +
        "RoPE object (transformers would take max_position_embeddings instead)",
    });
  }
  const maxPositions = c.max_position_embeddings;
  if (maxPositions === undefined) {
    issues.push({
      path: "max_position_embeddings",
      value: undefined,
      message: "is required for longrope: with original_max_position_embeddings it gives the " +
        "cos/sin scale sqrt(1 + ln(max / original) / ln(original))",
    });
  }
  if (original !== undefined && maxPositions !== undefined && maxPositions < original) {
    issues.push({
      path: "max_position_embeddings",
      value: maxPositions,
      message: `is below original_max_position_embeddings ${original}: MiniCPM3's ` +
        "modeling_minicpm.py then scales cos/sin by sqrt(1 + ln(max / original) / " +
        "ln(original)) < 1, transformers by 1; the two codes disagree",
    });
  }
  if (issues.length > before || original === undefined || maxPositions === undefined) {
    return undefined;
  }
  const params: LongRopeParams = {
    shortFactor: r.short_factor ?? [],
    longFactor: r.long_factor ?? [],
    originalMaxPositionEmbeddings: original,
    maxPositionEmbeddings: maxPositions,
    factors: "short",
  };
  if (maxPositions > original && !sameFactors(params)) {
    issues.push({
      path: `${shape}.long_factor`,
      value: `${params.longFactor.length} numbers`,
      message: `differs from short_factor while max_position_embeddings ${maxPositions} is ` +
        `above original_max_position_embeddings ${original}: MiniCPM3's modeling_minicpm.py ` +
        "builds its cos/sin cache at max_position_embeddings and so uses long_factor for " +
        "every length, transformers short_factor up to the original length; the two codes " +
        "disagree",
    });
    return undefined;
  }
  return params;
}

/**
 * The MiniCPM3 reading of an HF config (model_type "minicpm3", or a longrope RoPE object):
 * value width, LongRoPE and pairing as its code reads them, with the issues that stop an
 * exact reading and the defaults taken. For other configs: only `v_head_dim` required.
 *
 * @example
 * ```ts
 * import { readMiniCpm3 } from "./config_minicpm3.ts";
 * const r = readMiniCpm3({
 *   model_type: "minicpm3", hidden_size: 2560, num_attention_heads: 40, qk_rope_head_dim: 32,
 * }, null, "rope_scaling");
 * r.vHeadDim; // 64
 * r.pairing; // "neox"
 * ```
 */
export function readMiniCpm3(
  c: MiniCpm3Input,
  longrope: LongRopeRaw | null,
  shape: string,
): MiniCpm3Reading {
  const issues: ConfigIssue[] = [];
  const defaulted: DefaultedField[] = [];
  const isMiniCpm3 = c.model_type === MINICPM3_MODEL_TYPE;
  if (!isMiniCpm3) {
    if (longrope !== null) {
      issues.push({
        path: `${shape}.${shape === "rope_parameters" ? "rope_type" : "type"}`,
        value: "longrope",
        message: `is read as MiniCPM3's code reads it, for model_type "${MINICPM3_MODEL_TYPE}" ` +
          `only; this config's model_type is ${JSON.stringify(c.model_type ?? null)} (DeepSeek's ` +
          "and Kimi's code do not run longrope): state the model_type",
      });
    }
    if (c.v_head_dim === undefined) {
      issues.push({
        path: "v_head_dim",
        value: undefined,
        message: "is required; expected a positive integer",
      });
    }
    return { vHeadDim: c.v_head_dim, longrope: undefined, pairing: undefined, issues, defaulted };
  }
  const derivedV = c.hidden_size / c.num_attention_heads;
  let vHeadDim = c.v_head_dim;
  if (!Number.isInteger(derivedV)) {
    issues.push({
      path: "hidden_size",
      value: c.hidden_size,
      message: `must be a multiple of num_attention_heads ${c.num_attention_heads} for ` +
        "MiniCPM3 (its code takes the value width as hidden_size / num_attention_heads)",
    });
  } else if (vHeadDim === undefined) {
    vHeadDim = derivedV;
    defaulted.push({
      field: "v_head_dim",
      value: derivedV,
      note: "MiniCPM3: hidden_size / num_attention_heads (modeling_minicpm.py always, " +
        "transformers' MiniCPM3Config when v_head_dim is absent)",
    });
  } else if (vHeadDim !== derivedV) {
    issues.push({
      path: "v_head_dim",
      value: vHeadDim,
      message: `differs from hidden_size / num_attention_heads = ${derivedV}: MiniCPM3's ` +
        "modeling_minicpm.py uses that whatever the config says, transformers' MiniCPM3 uses " +
        "v_head_dim; the two codes disagree",
    });
  }
  const interleaved = c.rope_interleave === true || c.rope_pairing === "interleaved";
  if (interleaved) {
    const key = c.rope_interleave === true ? "rope_interleave" : "rope_pairing";
    issues.push({
      path: key,
      value: c[key],
      message: "says interleaved pairs, but MiniCPM3's code rotates halves (rotate_half on " +
        'q_pe and k_pe as projected): remove it, or use "--pairing interleaved" to test ' +
        "another pairing on purpose",
    });
  }
  const lr = longrope === null ? undefined : readLongRope(c, longrope, shape, issues);
  if (lr !== undefined) {
    defaulted.push({
      field: `${shape}.short_factor`,
      value: "keys up to original_max_position_embeddings",
      note: `LongRoPE (MiniCPM3): a case whose longest sequence has more than ` +
        `${lr.originalMaxPositionEmbeddings} keys uses long_factor, any other short_factor ` +
        `(as both codes pick by the key count)${
          sameFactors(lr) ? "; here the two lists are equal" : ""
        }`,
    });
  }
  return { vHeadDim, longrope: lr, pairing: "neox", issues, defaulted };
}
