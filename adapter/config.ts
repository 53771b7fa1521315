/**
 * Config ingestion: Hugging Face DeepSeek/Kimi `config.json` (transformers-4
 * `rope_theta` + `rope_scaling`, or transformers-5 `rope_parameters`) and
 * Megatron-style `MLATransformerConfig` JSON, validated with zod and turned into
 * one canonical {@link MlaSpec}. Unrelated keys of a full model config are ignored;
 * unknown keys inside the RoPE objects are not (they would change the frequencies).
 *
 * What a config means is decided by the models' own code: DeepSeek-V3's
 * `inference/model.py` and the model repositories' `modeling_deepseek.py`. Every
 * config they accept is accepted here (including `beta_fast == beta_slow`, as
 * Kimi-K2 ships); only values with no mathematical meaning are rejected.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError, type ConfigIssue, issuesFromSchema } from "./errors.ts";
import { readJsonFile } from "./json_file.ts";
import { wrongFileKindIssue } from "./file_kind.ts";
import { type ConfigFormat, detectConfigFormat } from "./config_format.ts";
export { type ConfigFormat, detectConfigFormat };
import { buildSpec, type MlaParams } from "./spec.ts";
import { longropeInvFreq, yarnGetMscale } from "./rope.ts";
import { nearMiss } from "../util/edit_distance.ts";
import { isRecord } from "../util/is_record.ts";
import type { MlaSpec, QueryTemperature, RopePairing, YarnParams } from "./types.ts";
import { MINICPM3_MODEL_TYPE, readMiniCpm3 } from "./config_minicpm3.ts";

/**
 * Which RoPE shape of an HF config was read: transformers-4 `rope_scaling` (with
 * `rope_theta` beside it), transformers-5 `rope_parameters`, both (they agreed),
 * neither (plain RoPE), or a Megatron config's flat keys.
 */
export type RopeShape =
  | "rope_scaling"
  | "rope_parameters"
  | "rope_parameters+rope_scaling"
  | "none"
  | "megatron";

/** A RoPE/YaRN/norm field that was absent in the config and took a default. */
export interface DefaultedField {
  /** Dotted config path, e.g. `rope_scaling.mscale_all_dim`. */
  readonly field: string;
  /** The value used. */
  readonly value: unknown;
  /** Why it matters, when it changes a derived value. */
  readonly note?: string;
}

/** How a config was read: its naming, its RoPE shape and every default applied. */
export interface ConfigReading {
  /** The naming read ("preset" for a bundled preset). */
  readonly format: ConfigFormat | "preset";
  /** The RoPE shape read. */
  readonly ropeShape: RopeShape;
  /** Absent fields that took a default, with the value used. */
  readonly defaulted: readonly DefaultedField[];
  /**
   * What an option put over the config's own reading (`--pairing`): the field, the value
   * used, and what the config alone gives. Absent when nothing was overridden.
   */
  readonly overridden?: readonly DefaultedField[];
}

/** A spec and how its config was read. */
export interface SpecReading {
  /** The canonical spec. */
  readonly spec: MlaSpec;
  /** How the config was read. */
  readonly reading: ConfigReading;
}

/**
 * Upper bound of every config dimension (hidden size, heads, ranks, head widths).
 * Kernels index with u32, so a product of two dimensions must stay below 2^32; the
 * largest published MLA dimension is 7168 (DeepSeek-V3's hidden size).
 */
export const MAX_CONFIG_DIM = 65536;

/**
 * Upper bound on the elements of one layer weight (q_proj, q_a_proj, q_b_proj,
 * kv_a_proj_with_mqa, kv_b_proj, o_proj): 2^29 f32 values = 2 GiB, the largest
 * storage binding a WebGPU device offers (maxStorageBufferBindingSize is below
 * 2^31 on every adapter seen, an H100 included). DeepSeek-V3's largest, o_proj, has
 * 117 M.
 */
export const MAX_WEIGHT_ELEMENTS = 2 ** 29;

const DIM_BOUND_REASON = `must be at most ${MAX_CONFIG_DIM} (kernels index with u32, so a ` +
  `product of two dimensions must stay below 2^32; published MLA models use at most 7168)`;

const isMissing = (input: unknown) => input === undefined;

function posInt(what = "a positive integer") {
  return z
    .number({
      error: (i) => isMissing(i.input) ? `is required; expected ${what}` : `must be ${what}`,
    })
    .int({ error: `must be ${what}` })
    .positive({ error: `must be ${what}` });
}

/** A positive integer config dimension, bounded by {@link MAX_CONFIG_DIM}. */
function dim(what = "a positive integer") {
  return posInt(what).max(MAX_CONFIG_DIM, { error: DIM_BOUND_REASON });
}

function positive(what = "a positive finite number") {
  return z
    .number({
      error: (i) => isMissing(i.input) ? `is required; expected ${what}` : `must be ${what}`,
    })
    .positive({ error: `must be ${what}` })
    .refine(Number.isFinite, { error: `must be ${what}` });
}

function nonNegative(what = "a finite number >= 0") {
  return z
    .number({ error: `must be ${what}` })
    .min(0, { error: `must be ${what}` })
    .refine(Number.isFinite, { error: `must be ${what}` });
}

/** RoPE base: log(theta) divides the YaRN correction dims, so theta must be above 1. */
const theta = positive().refine((v) => v > 1, {
  error: "must be > 1 (theta^(-2i/d) must decay, and ln(theta) divides the YaRN correction range)",
});

/** YaRN factor: 1 means no extension; below 1 would compress positions. */
const factor = z
  .number({
    error: (i) =>
      isMissing(i.input) ? "is required; expected a finite number >= 1" : "must be a number >= 1",
  })
  .min(1, { error: "must be >= 1 (1 = no extension)" })
  .refine(Number.isFinite, { error: "must be a finite number >= 1" });

// 0 (MLA with no positional channels at all, beside NoPE's unrotated ones) is refused with the
// reason: the latent cache row and every kernel carry a shared rope key.
const ropeDim = dim(
  "a positive integer (MLA without rope channels, 0, is not supported: the harness's cache " +
    "row and kernels carry a shared rope key)",
).refine((v) => v % 2 === 0, {
  error: "must be even (RoPE rotates pairs of channels)",
});

const qLora = z.union([dim(), z.null()], {
  error: (i) =>
    isMissing(i.input)
      ? "is required; expected a positive integer, or null for a direct q projection"
      : `must be a positive integer at most ${MAX_CONFIG_DIM}, or null for a direct q projection`,
});

const ROPE_TYPES = ["yarn", "deepseek_yarn", "longrope", "default"] as const;
const ropeTypeError = 'must be "yarn", "deepseek_yarn", "longrope" or "default" (the RoPE ' +
  "types MLA models use: YaRN is DeepSeek's and Kimi's, longrope MiniCPM3's; linear, dynamic " +
  "and llama3 scaling are not supported)";

/** A LongRoPE factor list: one positive divisor per rotated pair. */
const factorList = z.array(positive(), {
  error: "must be a list of positive finite numbers (one per rotated pair)",
});

/** MiniCPM3's LongRoPE keys (adapter/longrope.ts), shared by both HF shapes. */
const longropeKeys = {
  short_factor: factorList.optional(),
  long_factor: factorList.optional(),
};

/** The YaRN keys DeepSeek/Kimi configs use, shared by both HF shapes. */
const yarnKeys = {
  factor: factor.optional(),
  original_max_position_embeddings: posInt().optional(),
  beta_fast: positive().optional(),
  beta_slow: positive().optional(),
  mscale: nonNegative().optional(),
  mscale_all_dim: nonNegative().optional(),
};

/**
 * Mistral 4's query temperature (`llama_4_scaling_beta`), read only for model_type "mistral4"
 * (mistral4Reading), refused for any other.
 */
const mistralKeys = {
  llama_4_scaling_beta: nonNegative().optional(),
};

const hfRopeScaling = z.object({
  type: z.enum(ROPE_TYPES, { error: ropeTypeError }).optional(),
  rope_type: z.enum(ROPE_TYPES, { error: ropeTypeError }).optional(),
  ...yarnKeys,
  ...longropeKeys,
  ...mistralKeys,
});

const hfRopeParameters = z.object({
  rope_type: z.enum(ROPE_TYPES, {
    error: (i) => isMissing(i.input) ? `is required; ${ropeTypeError}` : ropeTypeError,
  }),
  // transformers 5 keeps the legacy `type` beside `rope_type` when it re-saves a
  // transformers-4 config (seen in a re-saved Kimi-K2 config).
  type: z.enum(ROPE_TYPES, { error: ropeTypeError }).optional(),
  rope_theta: theta.optional(),
  ...yarnKeys,
  ...longropeKeys,
  ...mistralKeys,
});

const hfSchema = z.object({
  hidden_size: dim(),
  num_attention_heads: dim(),
  q_lora_rank: qLora,
  kv_lora_rank: dim(),
  qk_nope_head_dim: dim(),
  qk_rope_head_dim: ropeDim,
  // Required, except for MiniCPM3 (model_type minicpm3), whose code derives it (readHf).
  v_head_dim: dim().optional(),
  // Read only to tell MiniCPM3 ("minicpm3": NeoX pairing, LongRoPE, v from hidden / heads).
  model_type: z.string({ error: "must be a string" }).optional(),
  rope_theta: theta.optional(),
  rms_norm_eps: positive().optional(),
  rope_scaling: hfRopeScaling.nullable().optional(),
  rope_parameters: hfRopeParameters.nullable().optional(),
  rope_pairing: z.enum(["interleaved", "neox"], {
    error: 'must be "interleaved" or "neox"',
  }).optional(),
  // transformers' DeepseekV3Config: true (its default) rotates the pairs (2i, 2i + 1),
  // false the halves (i, i + d/2) (`apply_rotary_pos_emb` instead of `..._interleave`).
  rope_interleave: z.boolean({ error: "must be true or false" }).optional(),
  // Written by transformers' save_pretrained (its config classes set them): the q/k head
  // width nope + rope, and head_dim = qk_rope_head_dim, the width its RoPE tables cover.
  qk_head_dim: dim().optional(),
  head_dim: dim().optional(),
  // Read only to say where DeepSeek's code and transformers' would differ (yarnAmbiguities).
  max_position_embeddings: posInt().optional(),
  // DeepSeek-V3.2's sparse attention: each query attends to the keys its indexer picks.
  index_topk: posInt().optional(),
  // Kimi Linear's and Kimi K3's MLA (model_type kimi_linear): true carries the
  // qk_rope_head_dim channels unrotated (no RoPE in MLA at all).
  mla_use_nope: z.boolean({ error: "must be true or false" }).optional(),
  // Kimi K3's: true multiplies the attention output by sigmoid(g_proj(x)) before o_proj.
  mla_use_output_gate: z.boolean({ error: "must be true or false" }).optional(),
  // Ling 3.0's (model_type bailing_hybrid, vLLM's BailingMoeV3MLAAttention): "head_wise" or
  // "element_wise" multiplies the attention output by sigmoid(g_proj(x)) (one gate per head, or
  // per channel) before its output projection; absent or null: no gate.
  gated_attention_proj_granularity_type: z.enum(["head_wise", "element_wise"], {
    error: 'must be "head_wise" or "element_wise" (the output gates Ling\'s MLA reads), or null ' +
      "for no gate",
  }).nullable().optional(),
  // LongCat-Flash's: true scales the q latent / the kv latent after its norm by
  // sqrt(hidden_size / rank).
  mla_scale_q_lora: z.boolean({ error: "must be true or false" }).optional(),
  mla_scale_kv_lora: z.boolean({ error: "must be true or false" }).optional(),
  // DeepSeek's code: biases on q_a_proj, kv_a_proj_with_mqa and o_proj.
  attention_bias: z.boolean({ error: "must be true or false" }).optional(),
  // vLLM's (and SGLang's) DeepseekV2Model: a query temperature 1 + beta * ln(1 + floor(position /
  // original_max_position_embeddings)) multiplied into q (Mistral Large 3 through vLLM's
  // params.json adapter); see llama4ScalingReading.
  llama_4_scaling: z.strictObject({
    beta: nonNegative(),
    original_max_position_embeddings: posInt(),
  }, {
    error: "must be an object { beta, original_max_position_embeddings } (vLLM's query " +
      "temperature), or null",
  }).nullable().optional(),
  // TransMLA's (transmla/transformers/mla.py): false builds no q_a_layernorm / kv_a_layernorm,
  // the latents passed on as projected (its converter writes false unless --use-qkv-norm).
  qk_latent_layernorm: z.boolean({ error: "must be true or false" }).optional(),
  // The same switch under BISA's name (TransMLA's DSA conversions, e.g. its Youtu-LLM-2B-Base-DSA
  // modeling_deepseek_v3.py): false deletes q_a_layernorm and kv_a_layernorm (default true).
  qk_latent_norm: z.boolean({ error: "must be true or false" }).optional(),
});

// Megatron's q_lora_rank has two defaults: MLATransformerConfig's 512 and the
// --q-lora-rank argument's None (a direct q). A config must say which.
const megatronQLora = z.union([dim(), z.null()], {
  error: (i) =>
    isMissing(i.input)
      ? "is required: Megatron's MLATransformerConfig defaults it to 512, its --q-lora-rank " +
        "argument to None (a direct q projection), so an absent key could be either; give a " +
        "positive integer, or null for a direct q projection"
      : `must be a positive integer at most ${MAX_CONFIG_DIM}, or null for a direct q projection`,
});

const megatronSchema = z.object({
  hidden_size: dim(),
  num_attention_heads: dim(),
  q_lora_rank: megatronQLora,
  kv_lora_rank: dim(),
  qk_head_dim: dim("a positive integer (the no-position width only)"),
  qk_pos_emb_head_dim: ropeDim,
  v_head_dim: dim(),
  rotary_base: theta.optional(),
  rope_type: z.enum(["rope", "yarn"], { error: 'must be "rope" or "yarn"' }).optional(),
  rotary_scaling_factor: factor.optional(),
  original_max_position_embeddings: posInt().optional(),
  beta_fast: positive().optional(),
  beta_slow: positive().optional(),
  mscale: nonNegative().optional(),
  mscale_all_dim: nonNegative().optional(),
  layernorm_epsilon: positive().optional(),
  // Not a Megatron config key: MLA always rotates interleaved pairs there (see
  // megatronKeyIssues); accepted as true, the value it always has.
  mla_rotary_interleaved: z.boolean({ error: "must be true or false" }).optional(),
  // Megatron builds MLA's q_layernorm and kv_layernorm (the latent norms) only with
  // qk_layernorm (--qk-layernorm); without it they are IdentityOp.
  qk_layernorm: z.boolean({ error: "must be true or false" }).optional(),
  // TransformerConfig's (and --add-bias-linear's) default true: MLA's linear_proj (o_proj) has a
  // bias then; DeepSeek's MLA trained with --disable-bias-linear states false.
  add_bias_linear: z.boolean({ error: "must be true or false" }).optional(),
  // TransformerConfig keys that change what MLA computes, read to refuse what the
  // harness does not compute (megatronKeyIssues) rather than ignore it.
  rotary_percent: positive().optional(),
  rotary_interleaved: z.boolean({ error: "must be true or false" }).optional(),
  normalization: z.string({ error: 'must be a string ("RMSNorm")' }).optional(),
  // TransformerConfig's attention variant: "dsa" is DeepSeek's sparse attention, each query
  // attending to the dsa_indexer_topk keys its indexer picks (read as HF's index_topk is).
  experimental_attention_variant: z.string({ error: "must be a string" }).nullable().optional(),
  // false: Megatron builds standard multi-head attention, whatever MLA widths the file holds.
  multi_latent_attention: z.boolean({ error: "must be true or false" }).optional(),
  // TransformerConfig keys its core attention (TEDotProductAttention) reads for MLA too:
  // "off-by-one" / "learnable" add a softmax offset (a sink); window_size a sliding window.
  softmax_type: z.string({ error: "must be a string" }).optional(),
  window_size: z.array(z.number({ error: "must be a list of two integers" }), {
    error: "must be a list of two integers, or null",
  }).nullable().optional(),
  dsa_indexer_topk: posInt().nullable().optional(),
});

/**
 * Megatron keys whose value MLA there does not compute as the harness would: every one
 * is refused, not read as something else (multi_latent_attention.py, rope_utils.py and
 * transformer_config.py of NVIDIA/Megatron-LM).
 */
function megatronKeyIssues(c: z.infer<typeof megatronSchema>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (c.mla_rotary_interleaved === false) {
    issues.push({
      path: "mla_rotary_interleaved",
      value: false,
      message: "is not a Megatron config key, and Megatron's MLA never rotates NeoX halves: " +
        "multi_latent_attention.py applies RoPE with mla_rotary_interleaved=True, pairs " +
        "(2i, 2i+1) as DeepSeek's code; remove the key (or give --rope-pairing neox to study " +
        "the other pairing)",
    });
  }
  if (c.rotary_interleaved === true) {
    issues.push({
      path: "rotary_interleaved",
      value: true,
      message: "is refused by Megatron with MLA (transformer_config.py: rotary_interleaved does " +
        "not work with multi_latent_attention); remove it or set false",
    });
  }
  // Only plain RoPE reads it (YarnRotaryEmbedding is built without it), and only a share
  // below 1 changes anything (RotaryEmbedding shrinks its width then).
  const ropeType = c.rope_type ?? MEGATRON_DEFAULTS.rope_type;
  if (ropeType === "rope" && c.rotary_percent !== undefined && c.rotary_percent < 1) {
    issues.push({
      path: "rotary_percent",
      value: c.rotary_percent,
      message: 'unsupported: with rope_type "rope" Megatron then rotates only that share of ' +
        "the RoPE channels and passes the rest through; the harness rotates all " +
        "qk_pos_emb_head_dim channels: use 1",
    });
  }
  // Two defaults again: MLATransformerConfig's 40, the --rotary-scaling-factor argument's
  // 1.0 (no scaling). It sets YaRN's frequencies and, with mscale_all_dim, the softmax's m.
  if (
    c.rotary_scaling_factor === undefined &&
    (ropeType === "yarn" || (c.mscale_all_dim !== undefined && c.mscale_all_dim !== 0))
  ) {
    issues.push({
      path: "rotary_scaling_factor",
      value: undefined,
      message: "is required: Megatron's MLATransformerConfig defaults it to 40, its " +
        "--rotary-scaling-factor argument to 1.0 (no YaRN scaling), so an absent key could be " +
        "either; give the factor the model was trained with",
    });
  }
  if (c.normalization !== undefined && c.normalization !== "RMSNorm") {
    issues.push({
      path: "normalization",
      value: c.normalization,
      message: 'unsupported: the harness computes the latent norms as RMSNorm; use "RMSNorm"',
    });
  }
  // With the latent norms built, their kind has two defaults too: MLATransformerConfig's
  // RMSNorm, TransformerConfig's (and its arguments') LayerNorm.
  if (c.multi_latent_attention === false) {
    issues.push({
      path: "multi_latent_attention",
      value: false,
      message: "says the model's attention is not MLA (Megatron then builds standard " +
        "multi-head attention, whatever MLA widths the file holds); the harness tests MLA: " +
        "give the config of an MLA model",
    });
  }
  if (c.softmax_type !== undefined && c.softmax_type !== "vanilla") {
    issues.push({
      path: "softmax_type",
      value: c.softmax_type,
      message: 'unsupported: "off-by-one" and "learnable" add an offset to the softmax ' +
        "denominator (an attention sink; the core attention applies it to MLA too), which the " +
        'harness does not compute: use "vanilla" (the default)',
    });
  }
  // TE's window (left, right): a left of -1 is unbounded, i.e. no window.
  if (c.window_size !== undefined && c.window_size !== null && c.window_size[0] !== -1) {
    issues.push({
      path: "window_size",
      value: c.window_size,
      message: "unsupported: a sliding window (each query attends only to the last " +
        `${c.window_size[0]} keys before it; the core attention applies it to MLA too), which ` +
        "the harness does not compute: use null (no window)",
    });
  }
  const variant = c.experimental_attention_variant;
  if (variant !== undefined && variant !== null && variant !== "dsa") {
    issues.push({
      path: "experimental_attention_variant",
      value: variant,
      message: 'unsupported: only "dsa" (DeepSeek\'s sparse attention over MLA) is read; ' +
        "another variant changes the attention (gated_delta_net's linear layers, dsv4_hybrid's " +
        "compressed and sliding-window branches), which the harness does not compute",
    });
  }
  if (variant === "dsa" && (c.dsa_indexer_topk === undefined || c.dsa_indexer_topk === null)) {
    issues.push({
      path: "dsa_indexer_topk",
      value: c.dsa_indexer_topk,
      message: 'is required with experimental_attention_variant "dsa": each query attends to ' +
        "that many keys its indexer picks (TransformerConfig has no default); give a positive " +
        "integer",
    });
  }
  if (variant !== "dsa" && c.dsa_indexer_topk !== undefined && c.dsa_indexer_topk !== null) {
    issues.push({
      path: "dsa_indexer_topk",
      value: c.dsa_indexer_topk,
      message: 'is read only with experimental_attention_variant "dsa" (without it Megatron ' +
        'builds dense MLA): set the variant to "dsa", or remove the key',
    });
  }
  if (c.qk_layernorm === true && c.normalization === undefined) {
    issues.push({
      path: "normalization",
      value: undefined,
      message: "is required with qk_layernorm: Megatron's MLATransformerConfig defaults it to " +
        "RMSNorm, TransformerConfig and its arguments to LayerNorm, and it picks the latent " +
        'norms\' kind; give "RMSNorm" (the harness computes no LayerNorm)',
    });
  }
  return issues;
}

/** Keys a RoPE object may hold; anything else is refused rather than ignored. */
const ROPE_OBJECT_KEYS: Record<"rope_scaling" | "rope_parameters", readonly string[]> = {
  rope_scaling: [
    "type",
    "rope_type",
    ...Object.keys(yarnKeys),
    ...Object.keys(longropeKeys),
    ...Object.keys(mistralKeys),
  ],
  rope_parameters: [
    "rope_type",
    "type",
    "rope_theta",
    ...Object.keys(yarnKeys),
    ...Object.keys(longropeKeys),
    ...Object.keys(mistralKeys),
  ],
};

/** transformers' own YaRN options that DeepSeek's and Kimi's code never read. */
const UNSUPPORTED_ROPE_KEYS: Record<string, string> = {
  truncate: "unsupported: transformers' YaRN `truncate` option is not used by DeepSeek/Kimi " +
    "(their find_correction_range always floors the low and ceils the high dimension); " +
    "remove the key",
  attention_factor: "unsupported: transformers' YaRN `attention_factor` is not used by " +
    "DeepSeek/Kimi (the softmax scale comes from mscale_all_dim, the cos/sin scale from " +
    "mscale / mscale_all_dim); remove the key and set mscale/mscale_all_dim",
};

/** model_type of Mistral 4's MLA (transformers' Mistral4ForCausalLM: Mistral Small 4). */
const MISTRAL4_MODEL_TYPE = "mistral4";

/** What {@link mistral4Reading} found. */
interface Mistral4Reading {
  /** The softmax takes no YaRN m^2 (mistral4 with YaRN). */
  readonly softmaxWithoutYarnM: boolean;
  /** The query temperature (a positive llama_4_scaling_beta), or undefined. */
  readonly queryTemperature: QueryTemperature | undefined;
  readonly issues: ConfigIssue[];
  readonly defaulted: DefaultedField[];
}

/**
 * Mistral 4 (model_type "mistral4", transformers' Mistral4Attention), read as its code reads
 * it: the softmax scale is (nope + rope)^-0.5 with no `yarn_apply_mscale` (DeepseekV3Attention,
 * which this reader otherwise follows, multiplies m(factor, mscale_all_dim)^2 in), cos/sin are
 * transformers' YaRN (m(mscale) / m(mscale_all_dim), as here), and every query is multiplied by
 * 1 + llama_4_scaling_beta * ln(1 + floor(position / original_max_position_embeddings)) after
 * RoPE. The temperature is 1 below that position; the spec carries it and resolve refuses
 * cases past it. `llama_4_scaling_beta` in another model's config is refused: DeepSeek's and
 * transformers' DeepseekV3 code never apply it.
 */
function mistral4Reading(
  c: { model_type?: string },
  chosen: HfYarnRaw | null | undefined,
  shape: string,
  yarn: YarnParams | null,
): Mistral4Reading {
  const issues: ConfigIssue[] = [];
  const defaulted: DefaultedField[] = [];
  const beta = chosen?.llama_4_scaling_beta;
  const mistral4 = c.model_type === MISTRAL4_MODEL_TYPE;
  if (!mistral4) {
    if (beta !== undefined) {
      issues.push({
        path: `${shape}.llama_4_scaling_beta`,
        value: beta,
        message: "is Mistral 4's query temperature (each query times 1 + beta * ln(1 + " +
          "floor(position / original_max_position_embeddings))), read only with model_type " +
          `"${MISTRAL4_MODEL_TYPE}" (transformers' Mistral4Attention applies it; DeepSeek's ` +
          "and DeepseekV3's code never do): give the model_type, or remove the key",
      });
    }
    return { softmaxWithoutYarnM: false, queryTemperature: undefined, issues, defaulted };
  }
  if (yarn !== null) {
    const m = yarnGetMscale(yarn.factor, yarn.mscaleAllDim);
    defaulted.push({
      field: "model_type",
      value: MISTRAL4_MODEL_TYPE,
      note: "Mistral 4 (transformers' Mistral4Attention): the softmax scale is " +
        "1/sqrt(qk_nope_head_dim + qk_rope_head_dim) with no YaRN m^2" +
        (m !== 1 ? ` (DeepSeek's code would multiply m^2 = ${g6(m * m)} in)` : ""),
    });
  }
  let queryTemperature: QueryTemperature | undefined;
  if (beta !== undefined && beta > 0) {
    const original = chosen?.original_max_position_embeddings;
    if (original === undefined) {
      issues.push({
        path: `${shape}.original_max_position_embeddings`,
        value: undefined,
        message: "is required with llama_4_scaling_beta: Mistral4Attention divides each " +
          "query's position by it for the query temperature (it fails without it)",
      });
    } else {
      queryTemperature = { beta, originalMaxPositionEmbeddings: original };
      defaulted.push({
        field: `${shape}.llama_4_scaling_beta`,
        value: beta,
        note: `Mistral 4's query temperature 1 + ${beta} * ln(1 + floor(position / ${original}))` +
          `: 1 below position ${original}; the harness computes no temperature and refuses ` +
          `cases with a query at position ${original} or later (spec.query-temperature)`,
      });
    }
  }
  return { softmaxWithoutYarnM: yarn !== null, queryTemperature, issues, defaulted };
}

/**
 * vLLM's top-level `llama_4_scaling` ({ beta, original_max_position_embeddings }), read by its
 * DeepseekV2Model (deepseek_v2.py, which runs deepseek_v2, deepseek_v3, kimi_k2, glm4_moe_lite and
 * Mistral Large 3) and SGLang's: every query times 1 + beta * ln(1 + floor(position /
 * original_max_position_embeddings)), the softmax keeping DeepSeek's YaRN m^2. vLLM's Mistral
 * params.json adapter writes it (Mistral Large 3); DeepSeek's own code and transformers'
 * DeepseekV3 never read it. Read as that code reads it (spec.queryTemperature: 1 below the
 * original length, later queries refused), and said; beside Mistral 4's rope-object
 * `llama_4_scaling_beta` (transformers' spelling of the same temperature) refused: give one.
 */
function llama4ScalingReading(
  c: z.infer<typeof hfSchema>,
  chosen: HfYarnRaw | null | undefined,
  shape: string,
): { queryTemperature?: QueryTemperature; issues: ConfigIssue[]; defaulted: DefaultedField[] } {
  const l4 = c.llama_4_scaling;
  if (l4 === undefined || l4 === null) return { issues: [], defaulted: [] };
  if (chosen?.llama_4_scaling_beta !== undefined) {
    return {
      issues: [{
        path: "llama_4_scaling",
        value: l4,
        message: `sits beside ${shape}.llama_4_scaling_beta, transformers' spelling of the same ` +
          "query temperature: keep one",
      }],
      defaulted: [],
    };
  }
  if (l4.beta === 0) return { issues: [], defaulted: [] };
  const original = l4.original_max_position_embeddings;
  return {
    queryTemperature: { beta: l4.beta, originalMaxPositionEmbeddings: original },
    issues: [],
    defaulted: [{
      field: "llama_4_scaling",
      value: l4,
      note: `vLLM's query temperature (DeepseekV2Model, deepseek_v2.py; Mistral Large 3): each ` +
        `query times 1 + ${l4.beta} * ln(1 + floor(position / ${original})), the softmax ` +
        `keeping DeepSeek's YaRN m^2; DeepSeek's own code and transformers' DeepseekV3 never ` +
        `read the key; 1 below position ${original}: the harness computes no temperature and ` +
        `refuses cases with a query at position ${original} or later (spec.query-temperature)`,
    }],
  };
}

const g6 = (v: number) => Number(v.toPrecision(6));

/**
 * transformers' Mistral4Config fills an absent or null `rope_parameters` with its own default
 * (YaRN factor 128, original_max_position_embeddings 8192, rope_theta 10000, beta_fast 32,
 * beta_slow 1, mscale 1, mscale_all_dim 1, llama_4_scaling_beta 0.1) before its parent reads a
 * legacy `rope_scaling`: a mistral4 config without the object is YaRN with a query temperature
 * there, which this reader would take for plain RoPE (DeepSeek's default). Refused naming the key.
 */
function mistral4RopeIssues(c: z.infer<typeof hfSchema>): ConfigIssue[] {
  if (c.model_type !== MISTRAL4_MODEL_TYPE) return [];
  if (c.rope_parameters !== undefined && c.rope_parameters !== null) return [];
  return [{
    path: "rope_parameters",
    value: c.rope_parameters,
    message: `is needed with model_type ${MISTRAL4_MODEL_TYPE}: transformers' Mistral4Config ` +
      "fills an absent or null rope_parameters with its own default (YaRN factor 128, " +
      "original_max_position_embeddings 8192, rope_theta 10000, beta_fast 32, beta_slow 1, " +
      "mscale 1, mscale_all_dim 1, llama_4_scaling_beta 0.1)" +
      (c.rope_scaling !== undefined && c.rope_scaling !== null
        ? ", before a transformers-4 rope_scaling is looked at"
        : "") +
      ", which this reader would not guess (it would read plain RoPE); state rope_parameters, " +
      "as Mistral Small 4's published config does",
  }];
}

/** HF YaRN defaults of modeling_deepseek.py's DeepseekV3YarnRotaryEmbedding. */
const HF_YARN_DEFAULTS = {
  original_max_position_embeddings: 4096,
  beta_fast: 32,
  beta_slow: 1,
  mscale: 1,
  mscale_all_dim: 0,
} as const;

const HF_DEFAULT_NOTES: Record<string, string> = {
  mscale_all_dim: "0: the softmax scale gets no m^2 factor",
  mscale: "cos/sin are scaled by m(mscale)/m(mscale_all_dim)",
};

function issuesOf(error: z.ZodError, input: unknown): ConfigIssue[] {
  return issuesFromSchema(error.issues, input);
}

function requireObject(raw: unknown, source: string): Record<string, unknown> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(source, [{
      path: "(root)",
      value: raw,
      message: "must be a JSON object of config keys",
    }]);
  }
  return raw as Record<string, unknown>;
}

/**
 * transformers-5 RoPE option `partial_rotary_factor`: its RoPE rotates
 * int(head_dim * factor) channels. head_dim is qk_rope_head_dim for DeepSeek, so only 1
 * describes the model there (DeepSeek's own code rotates every q_pe/k_pe channel; any other
 * value leaves cos/sin narrower than q_pe); Mistral 4's config sets head_dim to
 * qk_nope_head_dim + qk_rope_head_dim and the factor to qk_rope_head_dim / head_dim, which
 * rotates the same qk_rope_head_dim channels. A value that rotates them all is accepted,
 * anything else refused rather than ignored.
 */
function partialRotaryIssues(
  path: string,
  value: unknown,
  obj: Record<string, unknown>,
): ConfigIssue[] {
  if (value === 1) return [];
  // vLLM's BailingMoeV3MLAAttention drops the key (it is the linear-attention heads' share):
  // its MLA rotates all qk_rope_head_dim channels whatever it says (bailingNotes).
  if (obj.model_type === BAILING_HYBRID_MODEL_TYPE && typeof value === "number" && value > 0) {
    return [];
  }
  const nope = obj.qk_nope_head_dim;
  const rope = obj.qk_rope_head_dim;
  if (
    obj.model_type === MISTRAL4_MODEL_TYPE && typeof nope === "number" && typeof rope === "number"
  ) {
    // Mistral4Config: head_dim = nope + rope; its RoPE spans int(head_dim * factor) channels.
    if (typeof value === "number" && Math.trunc((nope + rope) * value) === rope) return [];
    return [{
      path,
      value,
      message: `must rotate all qk_rope_head_dim channels: Mistral 4's RoPE spans ` +
        `int(head_dim * partial_rotary_factor) channels with head_dim = qk_nope_head_dim + ` +
        `qk_rope_head_dim = ${nope + rope}, so give ${rope} / ${nope + rope} = ${
          rope / (nope + rope)
        } (or remove the key)`,
    }];
  }
  return [{
    path,
    value,
    message: "must be 1 if given: MLA rotates all qk_rope_head_dim channels of q_pe and " +
      "k_pe (the rope width is qk_rope_head_dim itself); set qk_rope_head_dim to the " +
      "rotated width instead, or remove the key",
  }];
}

/** Unsupported and unknown keys inside `rope_scaling` / `rope_parameters`. */
function ropeKeyIssues(obj: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if ("partial_rotary_factor" in obj) {
    issues.push(
      ...partialRotaryIssues("partial_rotary_factor", obj.partial_rotary_factor, obj),
    );
  }
  for (const shape of ["rope_scaling", "rope_parameters"] as const) {
    const r = obj[shape];
    if (r === null || typeof r !== "object" || Array.isArray(r)) continue;
    const known = ROPE_OBJECT_KEYS[shape];
    for (const [key, value] of Object.entries(r)) {
      if (key === "partial_rotary_factor") {
        issues.push(...partialRotaryIssues(`${shape}.${key}`, value, obj));
      } else if (key === "apply_yarn_scaling") {
        // vLLM's deepseek_v2.py: true (its default) builds deepseek_yarn, DeepSeek's YaRN as
        // read here; false builds "deepseek_llama_scaling" frequencies and takes no m^2.
        if (value !== true) {
          issues.push({
            path: `${shape}.${key}`,
            value,
            message: "is vLLM's switch (deepseek_v2.py): anything but true makes it build " +
              '"deepseek_llama_scaling" frequencies with no YaRN m^2 in the softmax instead of ' +
              "DeepSeek's YaRN, which the harness does not compute: not supported (true, vLLM's " +
              "default, or absent reads as DeepSeek's YaRN)",
          });
        }
      } else if (key in UNSUPPORTED_ROPE_KEYS) {
        issues.push({ path: `${shape}.${key}`, value, message: UNSUPPORTED_ROPE_KEYS[key] });
      } else if (!known.includes(key)) {
        issues.push({
          path: `${shape}.${key}`,
          value,
          message: `is not a key MLA RoPE reads (it would be ignored); known keys: ${
            known.join(", ")
          }`,
        });
      }
    }
  }
  return issues;
}

/** Each weight of the layer with its element count, for the size bound. */
function weightElements(p: MlaParams): [string, number][] {
  const k = p.qkNopeHeadDim + p.qkRopeHeadDim;
  const h = p.numHeads;
  const q: [string, number][] = p.qLoraRank === null
    ? [["q_proj [heads*(nope+rope), hidden]", h * k * p.hiddenSize]]
    : [
      ["q_a_proj [q_lora_rank, hidden]", p.qLoraRank * p.hiddenSize],
      ["q_b_proj [heads*(nope+rope), q_lora_rank]", h * k * p.qLoraRank],
    ];
  return [
    ...q,
    [
      "kv_a_proj_with_mqa [kv_lora_rank+rope, hidden]",
      (p.kvLoraRank + p.qkRopeHeadDim) * p.hiddenSize,
    ],
    ["kv_b_proj [heads*(nope+v), kv_lora_rank]", h * (p.qkNopeHeadDim + p.vHeadDim) * p.kvLoraRank],
    ["o_proj [hidden, heads*v]", p.hiddenSize * h * p.vHeadDim],
  ];
}

function checkWeightBounds(p: MlaParams, source: string): void {
  const issues: ConfigIssue[] = weightElements(p)
    .filter(([, n]) => n > MAX_WEIGHT_ELEMENTS)
    .map(([name, n]) => ({
      path: "(dimensions)",
      value: n,
      message: `elements in ${name}; one layer weight may hold at most ${MAX_WEIGHT_ELEMENTS} ` +
        "(2^29 f32 values = 2 GiB, the largest storage binding a WebGPU device offers)",
    }));
  if (issues.length > 0) throw new ConfigError(source, issues);
}

/**
 * A spec built from finite keys can still derive a number that is not finite (mscale_all_dim
 * 1e308 gives m = Infinity): refused naming what it derived from, never shown as Infinity in
 * explain's text and as null in its JSON, or passed to a kernel.
 */
function checkFiniteSpec(spec: MlaSpec, source: string): MlaSpec {
  const y = spec.yarn;
  const from = y
    ? `the YaRN factor ${y.factor}, mscale ${y.mscale}, mscale_all_dim ${y.mscaleAllDim}`
    : spec.yarnM !== 1
    ? "Megatron's rotary_scaling_factor and mscale_all_dim"
    : "the RoPE keys";
  const issues: ConfigIssue[] = [];
  if (!Number.isFinite(spec.softmaxScale) || spec.softmaxScale <= 0) {
    issues.push({
      path: "(softmax scale)",
      value: spec.softmaxScale,
      message:
        `is what m^2 / sqrt(${spec.kChannels}) gives with m = ${spec.yarnM} (from ${from}); ` +
        "it must be a positive finite number: give keys of a real model's size",
    });
  }
  if (!Number.isFinite(spec.ropeCosSinScale)) {
    issues.push({
      path: "(RoPE cos/sin scale)",
      value: spec.ropeCosSinScale,
      message: `is not finite (from ${from}); give keys of a real model's size`,
    });
  }
  // Every inverse frequency a case can use: LongRoPE's both lists (a case with long keys
  // switches to long_factor after this spec is read).
  const lr = spec.longrope;
  const tables: [string, readonly number[]][] = lr
    ? [
      ["short_factor", longropeInvFreq(spec.qkRopeHeadDim, spec.ropeTheta, lr.shortFactor)],
      ["long_factor", longropeInvFreq(spec.qkRopeHeadDim, spec.ropeTheta, lr.longFactor)],
    ]
    : [["inverse frequencies", spec.invFreq]];
  for (const [name, freqs] of tables) {
    const at = freqs.findIndex((f) => !Number.isFinite(f));
    if (at >= 0) {
      issues.push({
        path: lr ? `rope_scaling.${name}[${at}]` : "(RoPE inverse frequencies)",
        value: lr ? (name === "short_factor" ? lr.shortFactor : lr.longFactor)[at] : freqs[at],
        message: `gives the inverse frequency ${freqs[at]} at pair ${at} (rope theta ` +
          `${spec.ropeTheta}, from ${lr ? `the ${name} list` : from}); give keys of a real ` +
          "model's size",
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  return spec;
}

/** Options of the spec-from-config functions. */
export interface SpecFromConfigOptions {
  /** Name recorded in the spec and used in error messages. */
  name: string;
  /** Override the RoPE pairing the config implies. */
  ropePairing?: RopePairing;
}

type HfYarnRaw = z.infer<typeof hfRopeScaling> | z.infer<typeof hfRopeParameters>;

/** One RoPE shape resolved: theta, YaRN (or null) and the defaults it took. */
interface RopeRead {
  theta: number;
  yarn: YarnParams | null;
  /** The RoPE object when its type is "longrope" (checked in readHf, which knows the widths). */
  longrope: HfYarnRaw | null;
  defaulted: DefaultedField[];
}

function yarnFrom(r: HfYarnRaw, shape: string, defaulted: DefaultedField[]): YarnParams {
  const pick = <K extends keyof typeof HF_YARN_DEFAULTS>(key: K): number => {
    const v = r[key];
    if (v !== undefined) return v;
    defaulted.push({
      field: `${shape}.${key}`,
      value: HF_YARN_DEFAULTS[key],
      ...(HF_DEFAULT_NOTES[key] ? { note: HF_DEFAULT_NOTES[key] } : {}),
    });
    return HF_YARN_DEFAULTS[key];
  };
  return {
    factor: r.factor ?? 1,
    originalMaxPositionEmbeddings: pick("original_max_position_embeddings"),
    betaFast: pick("beta_fast"),
    betaSlow: pick("beta_slow"),
    mscale: pick("mscale"),
    mscaleAllDim: pick("mscale_all_dim"),
  };
}

function ropeTypeOf(r: z.infer<typeof hfRopeScaling>): (typeof ROPE_TYPES)[number] | undefined {
  return r.type ?? r.rope_type;
}

/**
 * YaRN keys stated beside the plain RoPE type "default": the models' code reads none
 * of them then, so a `factor` there (say a YaRN config with the wrong type) would be
 * dropped without a word.
 */
function unreadWithDefault(r: HfYarnRaw, shape: string): ConfigIssue[] {
  return [...Object.keys(yarnKeys), ...Object.keys(longropeKeys)]
    .filter((key) => r[key as keyof HfYarnRaw] !== undefined)
    // Mistral 4's query temperature reads the original length with plain RoPE too.
    .filter((key) =>
      !(key === "original_max_position_embeddings" && r.llama_4_scaling_beta !== undefined)
    )
    .map((key) => ({
      path: `${shape}.${key}`,
      value: r[key as keyof HfYarnRaw],
      message: 'is not read when the RoPE type is "default" (plain RoPE, no YaRN); remove ' +
        `it, or set the type to "${key in longropeKeys ? "longrope" : "yarn"}"`,
    }));
}

/** LongRoPE lists beside a YaRN type: YaRN never reads them. */
function unreadWithYarn(r: HfYarnRaw, shape: string): ConfigIssue[] {
  return Object.keys(longropeKeys)
    .filter((key) => r[key as keyof typeof longropeKeys] !== undefined)
    .map((key) => ({
      path: `${shape}.${key}`,
      value: r[key as keyof typeof longropeKeys],
      message: 'is read only by the RoPE type "longrope" (MiniCPM3), not by YaRN; remove it, ' +
        'or set the type to "longrope"',
    }));
}

/** transformers-4 shape: `rope_theta` beside `rope_scaling`. */
function readRopeScaling(
  c: z.infer<typeof hfSchema>,
  issues: ConfigIssue[],
): RopeRead {
  const defaulted: DefaultedField[] = [];
  let t = c.rope_theta;
  if (t === undefined) {
    t = 10000;
    defaulted.push({ field: "rope_theta", value: 10000 });
  }
  const rs = c.rope_scaling;
  if (rs === undefined || rs === null) {
    defaulted.push({ field: "rope_scaling", value: null, note: "plain RoPE, no YaRN" });
    return { theta: t, yarn: null, longrope: null, defaulted };
  }
  if (rs.type !== undefined && rs.rope_type !== undefined && rs.type !== rs.rope_type) {
    issues.push({
      path: "rope_scaling.type",
      value: rs.type,
      message: `disagrees with rope_scaling.rope_type ${JSON.stringify(rs.rope_type)}; give one`,
    });
  }
  const type = ropeTypeOf(rs);
  if (type === undefined) {
    issues.push({
      path: "rope_scaling.type",
      value: undefined,
      message: 'is required (or "rope_type"): "yarn"',
    });
    return { theta: t, yarn: null, longrope: null, defaulted };
  }
  if (type === "default") {
    issues.push(...unreadWithDefault(rs, "rope_scaling"));
    return { theta: t, yarn: null, longrope: null, defaulted };
  }
  if (type === "longrope") return { theta: t, yarn: null, longrope: rs, defaulted };
  issues.push(...unreadWithYarn(rs, "rope_scaling"));
  if (rs.factor === undefined) {
    issues.push({
      path: "rope_scaling.factor",
      value: undefined,
      message: "is required; expected a finite number >= 1",
    });
  }
  return { theta: t, yarn: yarnFrom(rs, "rope_scaling", defaulted), longrope: null, defaulted };
}

/** transformers-5 shape: everything inside `rope_parameters`. */
function readRopeParameters(
  rp: z.infer<typeof hfRopeParameters>,
  topTheta: number | undefined,
  issues: ConfigIssue[],
): RopeRead {
  const defaulted: DefaultedField[] = [];
  let t = rp.rope_theta ?? topTheta;
  if (t === undefined) {
    t = 10000;
    defaulted.push({ field: "rope_parameters.rope_theta", value: 10000 });
  }
  if (rp.type !== undefined && rp.type !== rp.rope_type) {
    issues.push({
      path: "rope_parameters.type",
      value: rp.type,
      message: `disagrees with rope_parameters.rope_type ${JSON.stringify(rp.rope_type)}; give one`,
    });
  }
  if (rp.rope_type === "default") {
    issues.push(...unreadWithDefault(rp, "rope_parameters"));
    return { theta: t, yarn: null, longrope: null, defaulted };
  }
  if (rp.rope_type === "longrope") return { theta: t, yarn: null, longrope: rp, defaulted };
  issues.push(...unreadWithYarn(rp, "rope_parameters"));
  if (rp.factor === undefined) {
    issues.push({
      path: "rope_parameters.factor",
      value: undefined,
      message: 'is required when rope_type is "yarn"; expected a finite number >= 1',
    });
  }
  return {
    theta: t,
    yarn: yarnFrom(rp, "rope_parameters", defaulted),
    longrope: null,
    defaulted,
  };
}

const YARN_FIELD_NAMES: Record<keyof YarnParams, string> = {
  factor: "factor",
  originalMaxPositionEmbeddings: "original_max_position_embeddings",
  betaFast: "beta_fast",
  betaSlow: "beta_slow",
  mscale: "mscale",
  mscaleAllDim: "mscale_all_dim",
};

/** Both shapes present: every value they state must agree (defaults included). */
function disagreements(
  c: z.infer<typeof hfSchema>,
  fromParams: RopeRead,
  fromScaling: RopeRead,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const both = "(both rope_parameters and rope_theta/rope_scaling are present and disagree; " +
    "give one shape)";
  if (c.rope_theta !== undefined && fromParams.theta !== c.rope_theta) {
    issues.push({
      path: "rope_parameters.rope_theta",
      value: fromParams.theta,
      message: `disagrees with rope_theta ${c.rope_theta} ${both}`,
    });
  }
  if (c.rope_scaling === undefined) return issues;
  const betaP = c.rope_parameters?.llama_4_scaling_beta;
  const betaS = c.rope_scaling?.llama_4_scaling_beta;
  if (betaP !== betaS) {
    issues.push({
      path: "rope_parameters.llama_4_scaling_beta",
      value: betaP,
      message: `disagrees with rope_scaling.llama_4_scaling_beta ${betaS} ${both}`,
    });
  }
  const a = fromParams.yarn;
  const b = fromScaling.yarn;
  const la = fromParams.longrope;
  const lb = fromScaling.longrope;
  const lrFields = (r: HfYarnRaw | null) =>
    r && JSON.stringify([r.short_factor, r.long_factor, r.original_max_position_embeddings]);
  if ((a === null) !== (b === null) || (la === null) !== (lb === null)) {
    issues.push({
      path: "rope_parameters.rope_type",
      value: c.rope_parameters?.rope_type,
      message: `disagrees with rope_scaling ${JSON.stringify(c.rope_scaling)} ${both}`,
    });
  } else if (la && lb && lrFields(la) !== lrFields(lb)) {
    issues.push({
      path: "rope_parameters",
      value: "longrope",
      message: "short_factor, long_factor or original_max_position_embeddings disagree with " +
        `rope_scaling's ${both}`,
    });
  } else if (a && b) {
    for (const key of Object.keys(YARN_FIELD_NAMES) as (keyof YarnParams)[]) {
      if (a[key] !== b[key]) {
        const name = YARN_FIELD_NAMES[key];
        issues.push({
          path: `rope_parameters.${name}`,
          value: a[key],
          message: `disagrees with rope_scaling.${name} ${b[key]} ${both}`,
        });
      }
    }
  }
  return issues;
}

/**
 * The epsilon of the attention's two latent norms (q_a_layernorm, kv_a_layernorm) under HF
 * names: DeepSeek's modeling_deepseek.py, transformers' DeepseekV2/V3 and DeepSeek-V3's
 * inference/model.py all build them without the config's `rms_norm_eps` (which their
 * decoder norms read), so with RMSNorm's default 1e-6. Megatron builds them with its
 * `layernorm_epsilon`. Inference engines differ: vLLM's and SGLang's DeepseekV2 attention
 * build them with `rms_norm_eps`, so where it is not 1e-6 (Moonlight, Kimi Linear: 1e-5)
 * the engines compute another layer than the model's code; the harness follows the model's.
 */
const LATENT_NORM_EPS = 1e-6;

/**
 * Where DeepSeek's modeling_deepseek.py (which this reader follows) and transformers'
 * DeepseekV3 read a YaRN config differently, so one spec cannot be both models' numbers:
 * - no `original_max_position_embeddings`: DeepSeek's code uses 4096, transformers'
 *   `max_position_embeddings`; they differ when that is stated and is not 4096;
 * - `mscale` and `mscale_all_dim` not both stated and non-zero: DeepSeek's code scales
 *   cos/sin by m(mscale) / m(mscale_all_dim) (defaults 1 and 0), transformers' by
 *   m(factor, 1) (`_compute_yarn_parameters`); they differ unless the two are absent or
 *   at those defaults.
 * Published configs state all of them; a trimmed config is asked to.
 */
function yarnAmbiguities(
  r: HfYarnRaw,
  shape: string,
  maxPositions: number | undefined,
  factorValue: number,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (
    r.original_max_position_embeddings === undefined && maxPositions !== undefined &&
    maxPositions !== HF_YARN_DEFAULTS.original_max_position_embeddings
  ) {
    issues.push({
      path: `${shape}.original_max_position_embeddings`,
      value: undefined,
      message: "is needed here, because the models' code disagrees without it: DeepSeek's " +
        `modeling_deepseek.py uses 4096, transformers' DeepseekV3 max_position_embeddings ` +
        `(${maxPositions}), which give different YaRN frequencies; state it`,
    });
  }
  const both = !!r.mscale && !!r.mscale_all_dim;
  const atDefaults = (r.mscale === undefined || r.mscale === 1) &&
    (r.mscale_all_dim === undefined || r.mscale_all_dim === 0);
  if (factorValue > 1 && !both && !atDefaults) {
    const given = r.mscale !== undefined ? "mscale" : "mscale_all_dim";
    issues.push({
      path: `${shape}.${given}`,
      value: r[given],
      message: "is given without a non-zero " +
        `${given === "mscale" ? "mscale_all_dim" : "mscale"}, and the models' code disagrees ` +
        "then: DeepSeek's scales cos/sin by m(mscale) / m(mscale_all_dim), transformers' by " +
        "m(factor) unless both are set; state both",
    });
  }
  return issues;
}

/**
 * transformers' derived widths, where a config states them: `qk_head_dim` (nope + rope)
 * and `head_dim` (qk_rope_head_dim, the width its RoPE tables span). Its config classes
 * derive both from the widths (recent ones whatever the file says: GLM-5.2's config.json,
 * saved by transformers 5.12, stores head_dim 192 and is read with 64), so a stated value is
 * not what the model reads: one that disagrees is named in `defaulted`, not obeyed.
 */
function derivedWidthNotes(c: z.infer<typeof hfSchema>): DefaultedField[] {
  const notes: DefaultedField[] = [];
  const k = c.qk_nope_head_dim + c.qk_rope_head_dim;
  if (c.qk_head_dim !== undefined && c.qk_head_dim !== k) {
    notes.push({
      field: "qk_head_dim",
      value: k,
      note: `the config's ${c.qk_head_dim} is not read: transformers derives qk_head_dim as ` +
        "qk_nope_head_dim + qk_rope_head_dim",
    });
  }
  // Mistral4Config's head_dim is nope + rope (its RoPE spans head_dim * partial_rotary_factor).
  const mistral4Head = c.model_type === MISTRAL4_MODEL_TYPE && c.head_dim === k;
  if (c.head_dim !== undefined && c.head_dim !== c.qk_rope_head_dim && !mistral4Head) {
    notes.push({
      field: "head_dim",
      value: c.qk_rope_head_dim,
      note: `the config's ${c.head_dim} is not read: MLA's widths are qk_nope_head_dim, ` +
        "qk_rope_head_dim and v_head_dim (transformers' DeepseekV3 sets head_dim to " +
        "qk_rope_head_dim, the width its RoPE frequencies span; other models' configs give it " +
        "other meanings)",
    });
  }
  return notes;
}

/**
 * Unknown top-level keys one or two edits away from a key the reader knows (say
 * `rotary_scaling_factr`): a full model config holds many unrelated keys, which are
 * ignored, but a near-miss of a MLA key is almost surely that key misspelt, and
 * ignoring it would silently use a default instead.
 */
function typoIssues(obj: Record<string, unknown>, known: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(obj)) {
    if (key.length < 6) continue;
    const near = nearMiss(key, known);
    if (near !== undefined) {
      issues.push({
        path: key,
        value: obj[key],
        message: `is not a key this reader knows; did you mean "${near}"? (unrelated keys ` +
          "of a model config are ignored, a misspelt MLA key would silently take a default)",
      });
    }
  }
  return issues;
}

/**
 * Canonical spec and reading from a Hugging Face DeepSeek/Kimi config object, in
 * the transformers-4 shape (`rope_theta` + `rope_scaling` with `type` or
 * `rope_type`) or the transformers-5 shape (`rope_parameters`). Absent optional
 * keys take modeling_deepseek.py's defaults (rope_theta 10000, YaRN beta_fast 32,
 * beta_slow 1, mscale 1, mscale_all_dim 0, original length 4096), and each one is listed
 * in `reading.defaulted`; where transformers' DeepseekV3 would read an absent YaRN key
 * otherwise, the key is required (yarnAmbiguities). The latent norms' eps is 1e-6
 * whatever `rms_norm_eps` says (the models build them without it).
 *
 * @example
 * ```ts
 * import { readHf } from "./config.ts";
 * const { spec, reading } = readHf({
 *   hidden_size: 64, num_attention_heads: 4, q_lora_rank: null, kv_lora_rank: 32,
 *   qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 16,
 *   rope_parameters: { rope_type: "yarn", rope_theta: 50000, factor: 32, beta_fast: 1, beta_slow: 1 },
 * }, { name: "mine" });
 * reading.ropeShape; // "rope_parameters"
 * spec.yarn?.betaFast; // 1
 * ```
 */
export function readHf(raw: unknown, options: SpecFromConfigOptions): SpecReading {
  const obj = requireObject(raw, options.name);
  const notMla = notMlaIssues(obj);
  if (notMla.some((i) => i.path === "model_type")) throw new ConfigError(options.name, notMla);
  const parsed = hfSchema.safeParse(obj);
  const keyIssues = [
    ...ropeKeyIssues(obj),
    ...megatronKeysInHf(obj),
    ...notMla,
    ...openPanguIssues(obj),
    ...softcapIssues(obj),
    ...transmlaScalarIssues(obj),
  ];
  if (!parsed.success) {
    throw new ConfigError(options.name, [...issuesOf(parsed.error, obj), ...keyIssues]);
  }
  const issues = [...keyIssues];
  const c = parsed.data;
  const fromScaling = readRopeScaling(c, issues);
  let rope = fromScaling;
  let ropeShape: RopeShape = c.rope_scaling ? "rope_scaling" : "none";
  if (c.rope_parameters !== undefined && c.rope_parameters !== null) {
    const fromParams = readRopeParameters(c.rope_parameters, c.rope_theta, issues);
    const scalingStated = c.rope_scaling !== undefined;
    issues.push(...disagreements(c, fromParams, fromScaling));
    rope = fromParams;
    ropeShape = scalingStated ? "rope_parameters+rope_scaling" : "rope_parameters";
  }
  const unreadNopeYarn = kimiNopeYarn(c, rope);
  if (unreadNopeYarn !== null) rope = unreadNopeYarn.rope;
  issues.push(...typoIssues(obj, Object.keys(hfSchema.shape)));
  const interleave = c.rope_interleave === undefined
    ? undefined
    : c.rope_interleave
    ? "interleaved"
    : "neox";
  const alwaysInterleaved = c.model_type === undefined
    ? undefined
    : ALWAYS_INTERLEAVED[c.model_type];
  if (c.rope_interleave === false && alwaysInterleaved !== undefined) {
    issues.push({
      path: "rope_interleave",
      value: false,
      message: `is not read by ${alwaysInterleaved} (model_type ${c.model_type}), which always ` +
        "rotates interleaved pairs (2i, 2i+1): false would " +
        "be read as NeoX halves here, another model; remove the key (or study the other " +
        "pairing with --pairing neox)",
    });
  }
  if (c.rope_pairing !== undefined && interleave !== undefined && c.rope_pairing !== interleave) {
    issues.push({
      path: "rope_pairing",
      value: c.rope_pairing,
      message: `disagrees with rope_interleave ${c.rope_interleave} (which means ${
        JSON.stringify(interleave)
      }); give one`,
    });
  }
  if (c.mla_use_nope === true && rope.yarn !== null && nopeUnreadIssues(c).length === 0) {
    issues.push({
      path: "mla_use_nope",
      value: true,
      message:
        `beside a YaRN ${
          c.rope_parameters ? "rope_parameters" : "rope_scaling"
        } (factor ${rope.yarn.factor}) is read only with model_type ${KIMI_LINEAR_MODEL_TYPE}: ` +
        "Kimi Linear's code (Moonshot's modeling_kimi.py, vLLM's kimi_linear.py, transformers' " +
        "KimiLinearAttention) computes the softmax scale 1/sqrt(qk_nope_head_dim + " +
        "qk_rope_head_dim) and never reads the YaRN object, while DeepSeek's code (which reads " +
        `no mla_use_nope) would rotate with YaRN and multiply m^2 in; with model_type ${
          c.model_type === undefined ? "absent" : JSON.stringify(c.model_type)
        } which code is meant is not guessed: give model_type ${KIMI_LINEAR_MODEL_TYPE}, or ` +
        "remove the YaRN scaling or mla_use_nope",
    });
  }
  if (c.mla_use_nope === true && options.ropePairing !== undefined) {
    issues.push({
      path: "mla_use_nope",
      value: true,
      message: `leaves no RoPE for the pairing ${options.ropePairing} (--pairing) to apply ` +
        "to: drop --pairing",
    });
  }
  if (c.mla_scale_q_lora === true && c.q_lora_rank === null) {
    issues.push({
      path: "mla_scale_q_lora",
      value: true,
      message: "needs a q_lora_rank, which is null: the q latent it scales by " +
        "sqrt(hidden_size / q_lora_rank) exists only with a low-rank q; give a q_lora_rank " +
        "or remove the key",
    });
  }
  issues.push(
    ...longcatScaleIssues(c),
    ...longcatWidthIssues(c),
    ...longcatNgramIssues(c),
    ...kimiLinearNopeIssues(c),
    ...openPanguDeepseekNamesIssues(c),
    ...bailingIssues(c, rope),
    ...nopeUnreadIssues(c),
    ...unreadVariantIssues(c),
  );
  const chosen = c.rope_parameters ?? c.rope_scaling;
  const ropeObject = c.rope_parameters ? "rope_parameters" : "rope_scaling";
  const mistral4 = mistral4Reading(c, chosen, ropeObject, rope.yarn);
  issues.push(...mistral4.issues, ...mistral4RopeIssues(c));
  const llama4 = llama4ScalingReading(c, chosen, ropeObject);
  issues.push(...llama4.issues);
  const minicpm3 = readMiniCpm3(c, rope.longrope, ropeObject);
  issues.push(...minicpm3.issues);
  // MiniCPM3's modeling_minicpm.py (MiniCPMAttention._init_rope) builds linear, dynamic or
  // longrope RoPE and raises "Unknown RoPE scaling type" on any other; its softmax scale is
  // (nope + rope)^-0.5 whatever the RoPE. Read with DeepSeek's YaRN (m^2 in the softmax), such a
  // config would be no code's layer.
  if (c.model_type === MINICPM3_MODEL_TYPE && rope.yarn !== null) {
    issues.push({
      path: `${ropeObject}.${c.rope_parameters ? "rope_type" : "type"}`,
      value: chosen?.rope_type ?? (c.rope_scaling ? ropeTypeOf(c.rope_scaling) : undefined),
      message: `is not a RoPE type MiniCPM3's code runs: modeling_minicpm.py builds linear, ` +
        'dynamic or longrope RoPE and raises "Unknown RoPE scaling type" on YaRN (its softmax ' +
        "scale is (nope + rope)^-0.5 whatever the RoPE, where DeepSeek's YaRN reading would " +
        'multiply m^2 in); use "longrope" (MiniCPM3\'s) or no scaling',
    });
  }
  if (c.mla_use_nope === true && rope.longrope !== null) {
    issues.push({
      path: "mla_use_nope",
      value: true,
      message: `beside a longrope ${ropeObject} is refused: no model's code runs both`,
    });
  }
  if (rope.yarn !== null && chosen && c.mla_use_nope !== true) {
    const shape = c.rope_parameters ? "rope_parameters" : "rope_scaling";
    issues.push(...yarnAmbiguities(chosen, shape, c.max_position_embeddings, rope.yarn.factor));
  }
  if (
    c.qk_latent_layernorm !== undefined && c.qk_latent_norm !== undefined &&
    c.qk_latent_layernorm !== c.qk_latent_norm
  ) {
    issues.push({
      path: "qk_latent_norm",
      value: c.qk_latent_norm,
      message: `disagrees with qk_latent_layernorm ${c.qk_latent_layernorm} (BISA's and ` +
        "TransMLA's names for the same switch of the latent norms); give one",
    });
  }
  const noLatentNorms = c.qk_latent_layernorm === false || c.qk_latent_norm === false;
  if (issues.length > 0) throw new ConfigError(options.name, issues);
  // Without RoPE its base and scaling are never used: their defaults are no news.
  const defaulted = [
    ...rope.defaulted.filter((d) =>
      !(c.mla_use_nope === true && ["rope_theta", "rope_scaling"].includes(d.field))
    ),
    ...derivedWidthNotes(c),
    ...minicpm3.defaulted,
    ...mistral4.defaulted,
    ...llama4.defaulted,
  ];
  // transformers 4.x (before 5) takes YaRN's factor as max_position_embeddings / original
  // whenever the original is given; DeepSeek's code and transformers 5 read `factor`, as the
  // harness does. Where the two differ (a config whose max positions were edited) it is said.
  const y = rope.yarn;
  const original = chosen && "original_max_position_embeddings" in chosen
    ? chosen.original_max_position_embeddings
    : undefined;
  if (
    y !== null && c.mla_use_nope !== true && typeof original === "number" &&
    c.max_position_embeddings !== undefined && c.max_position_embeddings / original !== y.factor
  ) {
    defaulted.push({
      field: `${c.rope_parameters ? "rope_parameters" : "rope_scaling"}.factor`,
      value: y.factor,
      note: `read as given, as DeepSeek's code and transformers 5 read it; transformers 4.x ` +
        `uses max_position_embeddings / original_max_position_embeddings = ` +
        `${c.max_position_embeddings} / ${original} = ${
          c.max_position_embeddings / original
        } instead, so its YaRN differs for this config`,
    });
  }
  if (c.rms_norm_eps !== LATENT_NORM_EPS) {
    defaulted.push({
      field: "rms_norm_eps",
      value: LATENT_NORM_EPS,
      note: `q_a_layernorm and kv_a_layernorm are built without it (eps 1e-6) in DeepSeek's and ` +
        `transformers' code${
          c.rms_norm_eps === undefined
            ? ""
            : `; the config's ${c.rms_norm_eps} is the decoder norms' (vLLM and SGLang build ` +
              "the latent norms with it: their layer differs from the model's code there)"
        }`,
    });
  }
  defaulted.push(
    ...deepseekV2NativeNote(c, rope.yarn),
    ...transmlaScalarNote(obj),
    ...bailingNotes(obj),
  );
  if (unreadNopeYarn !== null) defaulted.push(unreadNopeYarn.note);
  const window = obj.sliding_window;
  if (window !== undefined && window !== null && slidingWindowSwitchedOff(obj)) {
    defaulted.push({
      field: "sliding_window",
      value: null,
      note: `the config's ${JSON.stringify(window)} is not read: use_sliding_window is false ` +
        "(Qwen2's switch; TransMLA's Llama-based MLA code builds a plain causal mask), so every " +
        "query attends to all keys before it",
    });
  }
  const indexTopK = c.index_topk ??
    (c.model_type !== undefined && SPARSE_MODEL_TYPES.includes(c.model_type)
      ? SPARSE_DEFAULT_TOPK
      : undefined);
  if (indexTopK !== undefined) {
    defaulted.push({
      field: "index_topk",
      value: indexTopK,
      note: (c.index_topk === undefined
        ? `absent: model_type ${c.model_type}'s default (transformers' DeepseekV32Config and ` +
          "GlmMoeDsaConfig, DeepSeek-V3.2's inference ModelArgs); "
        : "") +
        "DeepSeek-V3.2's sparse attention attends to the keys its indexer picks; the " +
        `harness computes dense MLA, the same only where a query sees at most ${indexTopK} ` +
        "keys, and refuses cases with more (spec.sparse-attention)",
    });
  }
  if (c.mla_use_nope === true) {
    defaulted.push({
      field: "mla_use_nope",
      value: true,
      note: `no RoPE (Kimi Linear, Kimi K3): the ${c.qk_rope_head_dim} rope channels of q and ` +
        "of the shared key are carried unrotated (inv_freq all 0, every rotation the " +
        "identity); rope_theta and the pairing are not used",
    });
  }
  const gated = c.mla_use_output_gate === true ||
    (c.gated_attention_proj_granularity_type !== undefined &&
      c.gated_attention_proj_granularity_type !== null);
  if (
    c.gated_attention_proj_granularity_type !== undefined &&
    c.gated_attention_proj_granularity_type !== null
  ) {
    const perHead = c.gated_attention_proj_granularity_type === "head_wise";
    defaulted.push({
      field: "gated_attention_proj_granularity_type",
      value: c.gated_attention_proj_granularity_type,
      note: `Ling's output gate (vLLM's BailingMoeV3MLAAttention): the layer multiplies the ` +
        `attention output by sigmoid(g_proj(x)), ${
          perHead ? "one gate per head" : "one gate per output channel"
        }, before its output projection: the attention core is unchanged; \`layer\` and mode ` +
        "layer refuse the spec (spec.output-gate: the harness's layer has no gate)",
    });
  }
  if (c.mla_use_output_gate === true) {
    defaulted.push({
      field: "mla_use_output_gate",
      value: true,
      note: "the layer multiplies the attention output by sigmoid(g_proj(x)) before o_proj: " +
        "the attention core is unchanged; `layer` and mode layer refuse the spec " +
        "(spec.output-gate: the harness's layer has no gate)",
    });
  }
  const latentScales = [
    ["mla_scale_q_lora", "q latent after q_a_layernorm", "q_lora_rank", c.q_lora_rank],
    ["mla_scale_kv_lora", "latent after kv_a_layernorm", "kv_lora_rank", c.kv_lora_rank],
  ] as const;
  for (const [key, latent, rankKey, rank] of latentScales) {
    if (c[key] === true && rank !== null) {
      defaulted.push({
        field: key,
        value: true,
        note: `LongCat-Flash's latent scaling: the ${latent} is multiplied by ` +
          `sqrt(hidden_size / ${rankKey}) = ${Math.sqrt(c.hidden_size / rank).toPrecision(6)} ` +
          "(the full layer applies it; the attention core takes the latents as given)",
      });
    }
  }
  if (noLatentNorms) {
    const key = c.qk_latent_layernorm === false ? "qk_latent_layernorm" : "qk_latent_norm";
    defaulted.push({
      field: key,
      value: false,
      note: `no latent norms (${
        key === "qk_latent_layernorm"
          ? "TransMLA's MLAAttention builds no q_a_layernorm or kv_a_layernorm"
          : "BISA's DeepseekV3Attention deletes q_a_layernorm and kv_a_layernorm"
      }): the attention core is unchanged; \`layer\` and mode layer refuse the ` +
        "spec (spec.no-latent-norms: the harness's layer always applies them)",
    });
  }
  if (c.attention_bias === true) {
    defaulted.push({
      field: "attention_bias",
      value: true,
      note: "biases on the attention's projections (DeepSeek's code: q_a_proj, " +
        "kv_a_proj_with_mqa and o_proj; TransMLA's: q_proj or q_b_proj and kv_a_proj, none on " +
        "o_proj): the attention core is " +
        "unchanged; `layer` and mode layer refuse the spec (spec.attention-bias: the " +
        "harness's layer has no biases)",
    });
  }
  const ropePairing = options.ropePairing ?? c.rope_pairing ?? interleave ?? minicpm3.pairing;
  if (
    minicpm3.pairing !== undefined && ropePairing === minicpm3.pairing && c.mla_use_nope !== true
  ) {
    if (
      c.rope_pairing === undefined && interleave === undefined && options.ropePairing === undefined
    ) {
      defaulted.push({
        field: "rope_pairing",
        value: "neox",
        note: "MiniCPM3's pairing (i, i + d/2): its code applies rotate_half to q_pe and k_pe " +
          "as projected (modeling_minicpm.py, transformers' MiniCPM3Attention), with no " +
          "de-interleaving",
      });
    }
  } else if (
    c.rope_interleave === false && c.rope_pairing === undefined &&
    options.ropePairing === undefined && c.mla_use_nope !== true
  ) {
    defaulted.push({
      field: "rope_interleave",
      value: false,
      note: (c.model_type?.startsWith("pangu")
        ? "read as vLLM's OpenPanguMLAAttention (openpangu.py: is_neox_style = not " +
          "rope_interleave) and transformers' DeepseekV3Attention read it: NeoX halves " +
          "(i, i + d/2); "
        : "read as transformers' DeepseekV3Attention (and the classes built on it) reads it, " +
          "the one code that reads the key: NeoX halves (i, i + d/2) (apply_rotary_pos_emb, not " +
          "..._interleave); ") +
        "DeepSeek's own code (modeling_deepseek.py, the auto_map of DeepSeek's " +
        "and Kimi's configs, and inference/model.py), TransMLA's MLAAttention and vLLM's " +
        "deepseek_v2.py (is_neox_style=False) never read it and rotate interleaved pairs " +
        "(2i, 2i+1): --pairing interleaved gives theirs" +
        (isRecord(obj.auto_map)
          ? "; this config's auto_map names remote code, which transformers runs instead of " +
            "its own class with trust_remote_code"
          : ""),
    });
  } else if (ropePairing === undefined && c.mla_use_nope !== true) {
    defaulted.push({
      field: "rope_pairing",
      value: "interleaved",
      note: "DeepSeek's pairing (2i, 2i+1): neither rope_pairing (a harness key) nor " +
        "transformers' rope_interleave (default true) is given",
    });
  }
  const params: MlaParams = {
    hiddenSize: c.hidden_size,
    numHeads: c.num_attention_heads,
    qLoraRank: c.q_lora_rank,
    kvLoraRank: c.kv_lora_rank,
    qkNopeHeadDim: c.qk_nope_head_dim,
    qkRopeHeadDim: c.qk_rope_head_dim,
    vHeadDim: minicpm3.vHeadDim ?? 0,
    rmsNormEps: LATENT_NORM_EPS,
    ropeTheta: rope.theta,
    yarn: rope.yarn,
    ropePairing: ropePairing ?? "interleaved",
    ...(minicpm3.longrope ? { longrope: minicpm3.longrope } : {}),
    ...(indexTopK === undefined ? {} : { indexTopK }),
    ...(mistral4.softmaxWithoutYarnM ? { softmaxWithoutYarnM: true as const } : {}),
    ...(mistral4.queryTemperature ? { queryTemperature: mistral4.queryTemperature } : {}),
    ...(llama4.queryTemperature ? { queryTemperature: llama4.queryTemperature } : {}),
    ...(c.mla_use_nope === true ? { mlaUseNope: true as const } : {}),
    ...(gated ? { mlaOutputGate: true as const } : {}),
    ...(c.mla_scale_q_lora === true ? { mlaScaleQLora: true as const } : {}),
    ...(c.mla_scale_kv_lora === true ? { mlaScaleKvLora: true as const } : {}),
    ...(c.attention_bias === true ? { attentionBias: true as const } : {}),
    ...(noLatentNorms ? { noLatentNorms: true as const } : {}),
  };
  checkWeightBounds(params, options.name);
  return {
    spec: checkFiniteSpec(buildSpec(params, { name: options.name, source: "hf" }), options.name),
    reading: { format: "hf", ropeShape, defaulted },
  };
}

/**
 * Canonical spec from a Hugging Face DeepSeek config object; see {@link readHf}
 * for the shapes and defaults.
 *
 * @example
 * ```ts
 * import { specFromHf } from "./config.ts";
 * const spec = specFromHf({
 *   hidden_size: 64, num_attention_heads: 4, q_lora_rank: null, kv_lora_rank: 32,
 *   qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 16,
 * }, { name: "mine" });
 * spec.softmaxScale; // 1 / sqrt(24)
 * ```
 */
export function specFromHf(raw: unknown, options: SpecFromConfigOptions): MlaSpec {
  return readHf(raw, options).spec;
}

/**
 * HF RoPE keys in a config read with Megatron's names: Megatron reads `rotary_base`,
 * `rope_type`, `rotary_scaling_factor` and flat YaRN keys, so these would be ignored
 * and its defaults (factor 40, theta 10000) used instead. (A boolean `rope_scaling`
 * is left alone: Megatron's own flag of that name is not a RoPE object.)
 */
function hfKeysInMegatron(obj: Record<string, unknown>): ConfigIssue[] {
  const megatronName: Record<string, string> = {
    rope_theta: "rotary_base",
    rope_scaling: "rope_type, rotary_scaling_factor and the flat YaRN keys",
    rope_parameters: "rope_type, rotary_scaling_factor and the flat YaRN keys",
  };
  const renamed = Object.entries(megatronName)
    .filter(([key]) =>
      key in obj &&
      (key === "rope_theta" ||
        (obj[key] !== null && typeof obj[key] === "object"))
    )
    .map(([key, name]) => ({
      path: key,
      value: obj[key],
      message: `is a Hugging Face key, which a Megatron config does not read (it reads ${name}); ` +
        "give the Megatron key, or read the file as HF with --format hf",
    }));
  // HF's pairing key has no Megatron counterpart: its MLA always rotates interleaved pairs.
  if ("rope_interleave" in obj) {
    renamed.push({
      path: "rope_interleave",
      value: obj.rope_interleave,
      message: "is a Hugging Face key, which a Megatron config does not read: Megatron's MLA " +
        "always rotates interleaved pairs (2i, 2i+1); remove it, or read the file as HF with " +
        "--format hf",
    });
  }
  // Keys of other models' HF configs with no Megatron counterpart: ignoring one would
  // silently drop what it changes.
  const hfOnly = HF_MODEL_VARIANT_KEYS.filter((key) => key in obj).map((key) => ({
    path: key,
    value: obj[key],
    message: "is a Hugging Face key with no Megatron counterpart, which a Megatron config " +
      "does not read; remove it, or read the file as HF with --format hf",
  }));
  return [...renamed, ...hfOnly];
}

/**
 * `use_mla: false` (DeepSeek-VL2's and DeepSeek-OCR's language configs): their code then
 * builds plain multi-head attention, whatever MLA widths the file also holds.
 */
/**
 * model_types whose attention is not the MLA the harness computes, though their configs hold
 * some of its keys (q_lora_rank, qk_rope_head_dim), and why: such a config is refused by its
 * model_type alone, not with the missing MLA keys or near-miss names its other keys would draw.
 */
const NOT_MLA_MODEL_TYPES: Readonly<Record<string, string>> = {
  deepseek_v4: "is DeepSeek-V4, whose attention is not MLA: one shared key-value head of " +
    "head_dim channels (no kv_lora_rank latent expanded by kv_b_proj), with compressed sparse " +
    "and sliding-window branches and a grouped output projection (o_groups, o_lora_rank); the " +
    "harness tests MLA: give the config of an MLA model",
};

function notMlaIssues(obj: Record<string, unknown>): ConfigIssue[] {
  const type = obj.model_type;
  if (typeof type === "string" && Object.hasOwn(NOT_MLA_MODEL_TYPES, type)) {
    return [{ path: "model_type", value: type, message: NOT_MLA_MODEL_TYPES[type] }];
  }
  return obj.use_mla === false
    ? [{
      path: "use_mla",
      value: false,
      message: "says the model's attention is not MLA (DeepSeek-VL2's and DeepSeek-OCR's code " +
        "builds multi-head attention then, whatever MLA widths the file holds); the harness " +
        "tests MLA: give the config of an MLA model",
    }]
    : [];
}

/**
 * openPangu's MLA keys (vLLM's openpangu.py, `OpenPanguMLAAttention`): each one, when set,
 * changes what the attention computes and the harness computes none of them, so a config that
 * sets one is refused by name rather than read as DeepSeek's MLA.
 */
function openPanguIssues(obj: Record<string, unknown>): ConfigIssue[] {
  const set = (key: string) => {
    const v = obj[key];
    return v !== undefined && v !== null && v !== 0 && v !== false &&
      !(Array.isArray(v) && v.length === 0);
  };
  const why: [string, string][] = [
    [
      "param_sink_number",
      "adds that many learned sink keys (param_sink_k_pe and param_sink_compressed_kv, and " +
      "values with param_sink_with_value) that every query attends to beside the sequence's " +
      "own keys (openPangu's StaticSinkMLAAttention); the harness attends to the sequence's " +
      "keys only, so a config with sinks is not read (without them it is another model)",
    ],
    [
      "sliding_window",
      "makes the attention look only at the last sliding_window keys (openPangu's MLA in the " +
      "layers swa_layers names, in every layer without it; a conversion of a windowed model " +
      "such as Gemma 2 or Mistral in its windowed layers); the harness computes full causal " +
      "attention, so a sliding-window config is not read (null or absent: no window; beside " +
      "use_sliding_window: false, Qwen2's switch, the window is off and read as none)",
    ],
    [
      "sliding_window_list",
      "gives the key windows of openPangu's sliding-window MLA layers (swa_layers); the " +
      "harness computes full causal attention, so such a config is not read",
    ],
    [
      "swa_layers",
      "names the layers in which openPangu's MLA attends only to a window of recent keys; the " +
      "harness computes full causal attention, so such a config is not read",
    ],
    [
      "use_mome",
      "adds openPangu's MoME, a causal convolution over the q and kv latents and the attention " +
      "output (router_sliding_window taps), which the harness does not compute, so such a config " +
      "is not read (false or absent: no MoME)",
    ],
  ];
  return why
    .filter(([key]) => set(key))
    .filter(([key]) => !(key === "sliding_window" && slidingWindowSwitchedOff(obj)))
    .map(([key, message]) => ({ path: key, value: obj[key], message }));
}

/**
 * `use_sliding_window: false` beside `sliding_window` (Qwen2's switch, kept by TransMLA's
 * conversion of Qwen2.5 to MLA, whose config says model_type deepseek_v3): the window is off.
 * Qwen2's code reads the window only when the switch is on, and TransMLA's MLA model is Llama's
 * (LlamaModel's plain causal mask, an MLAAttention that takes no window), so the key is unused
 * and read as absent, said in `defaulted`.
 */
function slidingWindowSwitchedOff(obj: Record<string, unknown>): boolean {
  return obj.use_sliding_window === false;
}

/**
 * model_types whose code rotates interleaved pairs whatever `rope_interleave` says (transformers'
 * DeepseekV32Config and GlmMoeDsaConfig drop the key; LongcatFlashMLA never reads it), with the
 * attention class that does.
 */
const ALWAYS_INTERLEAVED: Readonly<Record<string, string>> = {
  // DeepseekV2Config has no rope_interleave; DeepseekV2Attention rotates complex pairs
  // (apply_rotary_emb, view_as_complex), modeling_deepseek.py de-interleaves then rotate_half.
  deepseek_v2: "DeepSeek-V2's modeling_deepseek.py or transformers' DeepseekV2Attention",
  deepseek_v32: "transformers' DeepseekV32Attention",
  glm_moe_dsa: "transformers' GlmMoeDsaAttention",
  longcat_flash: "transformers' LongcatFlashMLA",
  // Kimi-K2's config maps to its repository's modeling_deepseek.py (DeepSeek-V3's code, which
  // de-interleaves q_pe/k_pe and applies rotate_half); transformers has no kimi_k2 class.
  kimi_k2: "Kimi-K2's modeling_deepseek.py (DeepSeek-V3's code)",
  // Ling 3.0: vLLM's BailingMoeV3MLAAttention builds its RoPE with is_neox_style=False.
  bailing_hybrid: "vLLM's BailingMoeV3MLAAttention (bailing_moe_v3.py)",
};

/**
 * `attn_logit_softcapping` (Gemma 2's key): TransMLA's MLAAttention, which converts Gemma 2 to
 * MLA, passes it to its attention as `softcap`, each score s becoming c * tanh(s / c) before the
 * softmax. The harness computes no cap, so a config that sets one is refused by name rather than
 * read as plain MLA (null, absent or 0: no cap).
 */
function softcapIssues(obj: Record<string, unknown>): ConfigIssue[] {
  const v = obj.attn_logit_softcapping;
  if (v === undefined || v === null || v === 0) return [];
  return [{
    path: "attn_logit_softcapping",
    value: v,
    message: "caps every attention score s at c * tanh(s / c) before the softmax (Gemma 2's " +
      "key; TransMLA's MLAAttention passes it to its attention as softcap), which the harness " +
      "does not compute: not supported (null or absent: no cap)",
  }];
}

/**
 * `query_pre_attn_scalar` (Gemma 2's key, which TransMLA's converter wrote into every config it
 * converted until June 2025): TransMLA's MLA code of then (modeling_llamamla.py and
 * modeling_gemma2mla.py of May 2025 under model_type deepseek_v3; transmla/transformers/mla.py
 * of June 2025 under llamamla, mixtralmla, gemma2mla) scales the softmax by
 * `query_pre_attn_scalar ** -0.5` (the source model's head width, not nope + rope); the June
 * code also rotates NeoX halves (Gemma 2's apply_rotary_pos_emb) and builds no latent norms.
 * Its code since 20 June 2025 folds that scale into q's weights (lora_qkv.py: original scaling
 * / (nope + rope)^-0.5), scales by (nope + rope)^-0.5, and its converter writes
 * `qk_latent_layernorm`. So the key beside `qk_latent_layernorm` is not read (said in
 * `defaulted`: {@link transmlaScalarNote}); without it the config is the older code's, whose
 * scale the harness does not compute: refused naming the key and both scales.
 */
function transmlaScalarIssues(obj: Record<string, unknown>): ConfigIssue[] {
  const v = obj.query_pre_attn_scalar;
  if (v === undefined || v === null || "qk_latent_layernorm" in obj) return [];
  const nope = obj.qk_nope_head_dim;
  const rope = obj.qk_rope_head_dim;
  const k = typeof nope === "number" && typeof rope === "number" ? nope + rope : undefined;
  const scales = typeof v === "number" && v > 0 && k !== undefined
    ? ` (${g6(v ** -0.5)} here, where (qk_nope_head_dim + qk_rope_head_dim)^-0.5 = ` +
      `${g6(k ** -0.5)})`
    : "";
  return [{
    path: "query_pre_attn_scalar",
    value: v,
    message: "is the softmax scale's width in TransMLA's MLA code before June 2025's rewrite " +
      "(modeling_llamamla.py, modeling_gemma2mla.py, mla.py: scale query_pre_attn_scalar^-0.5" +
      `${scales}; its June 2025 mla.py also rotates NeoX halves and builds no latent norms), ` +
      "and is folded into q's weights by its code since (which scales by (nope + rope)^-0.5 and " +
      "whose converter writes qk_latent_layernorm); without qk_latent_layernorm this config is " +
      "the older code's, whose scale the harness does not compute: not supported (a config of " +
      "today's converter states qk_latent_layernorm)",
  }];
}

/** `query_pre_attn_scalar` beside `qk_latent_layernorm`: today's TransMLA does not read it. */
function transmlaScalarNote(obj: Record<string, unknown>): DefaultedField[] {
  const v = obj.query_pre_attn_scalar;
  if (v === undefined || v === null || !("qk_latent_layernorm" in obj)) return [];
  return [{
    field: "query_pre_attn_scalar",
    value: null,
    note: `the config's ${JSON.stringify(v)} is not read: TransMLA's converter (since June ` +
      "2025, which writes qk_latent_layernorm) folds the source model's scale " +
      "query_pre_attn_scalar^-0.5 into q's weights, and its MLAAttention scales the softmax by " +
      "(qk_nope_head_dim + qk_rope_head_dim)^-0.5",
  }];
}

/**
 * An openPangu model_type (pangu_ultra_moe, pangu_ultra_moe_mtp, ...) in DeepSeek's key names:
 * vLLM's openpangu.py builds OpenPanguMLAAttention from those names, which never reads the
 * config's rope_scaling (it builds a deepseek_yarn rotary embedding with factor 1, plain RoPE over
 * rope_theta, and scales the softmax by (nope + rope)^-0.5 with no m^2), while Huawei's omni-infer
 * passes the object to DeepSeek's MLA: a scaled RoPE object is refused, as with openPangu's own
 * names (readOpenPangu). With pangu_ultra_moe rope_theta is required: the config class such a
 * config loads with (OpenPanguMoEConfig) defaults it to 25600000, vLLM's set_default_rope_theta
 * and this reader to 10000.
 */
function openPanguDeepseekNamesIssues(c: z.infer<typeof hfSchema>): ConfigIssue[] {
  const type = c.model_type;
  if (type === undefined || !type.startsWith("pangu")) return [];
  const issues: ConfigIssue[] = [];
  const k = c.qk_nope_head_dim + c.qk_rope_head_dim;
  for (const key of ["rope_scaling", "rope_parameters"] as const) {
    const r = c[key];
    const ropeType = r ? r.rope_type ?? r.type : undefined;
    if (!r || ropeType === undefined || ropeType === "default") continue;
    const m = r.factor !== undefined && r.mscale_all_dim
      ? yarnGetMscale(r.factor, r.mscale_all_dim)
      : 1;
    issues.push({
      path: key,
      value: r,
      message: `is not read by vLLM's OpenPanguMLAAttention (openpangu.py, model_type ${type}), ` +
        "which builds its rotary embedding with factor 1 (plain RoPE over rope_theta) and " +
        `scales the softmax by 1/sqrt(${k}) = ${g6(1 / Math.sqrt(k))}` +
        (m !== 1
          ? `, where DeepSeek's reading of the object gives m^2 / sqrt(${k}) = ${
            g6((m * m) / Math.sqrt(k))
          }`
          : "") +
        ", while Huawei's omni-infer passes it to DeepSeek's MLA: the codes disagree; remove " +
        "it (or null) to read the model as vLLM runs it",
    });
  }
  const ultra = type === "pangu_ultra_moe" || type === "pangu_ultra_moe_mtp";
  if (ultra && c.rope_theta === undefined && c.rope_parameters?.rope_theta === undefined) {
    issues.push({
      path: "rope_theta",
      value: undefined,
      message: `is needed with model_type ${type}, because its codes disagree without it: ` +
        `the config class it loads with (OpenPanguMoEConfig) defaults it to ` +
        `${OPENPANGU_THETA_DEFAULT}, vLLM's set_default_rope_theta (and this reader) to 10000; ` +
        "state it",
    });
  }
  return issues;
}

/** model_type of Ling 3.0 (inclusionAI's BailingMoeV3: MLA layers beside linear attention). */
const BAILING_HYBRID_MODEL_TYPE = "bailing_hybrid";

/**
 * Ling 3.0 (model_type bailing_hybrid) read as vLLM's BailingMoeV3MLAAttention computes it
 * (bailing_moe_v3.py): softmax scale qk_head_dim^-0.5 whatever the RoPE object says (no YaRN
 * m^2), interleaved pairs (is_neox_style=False), and a RoPE built by vLLM's generic get_rope from
 * the config's rope_scaling (its YaRN is transformers', cos/sin scaled by 0.1 ln(factor) + 1, not
 * DeepSeek's): a YaRN object is refused rather than read as DeepSeek's.
 */
function bailingIssues(c: z.infer<typeof hfSchema>, rope: RopeRead): ConfigIssue[] {
  if (c.model_type !== BAILING_HYBRID_MODEL_TYPE || rope.yarn === null) return [];
  const shape = c.rope_parameters ? "rope_parameters" : "rope_scaling";
  const k = c.qk_nope_head_dim + c.qk_rope_head_dim;
  return [{
    path: shape,
    value: c[shape],
    message: `is not read as DeepSeek's YaRN by Ling's MLA (vLLM's BailingMoeV3MLAAttention, ` +
      `model_type ${BAILING_HYBRID_MODEL_TYPE}): it scales the softmax by 1/sqrt(${k}) = ` +
      `${g6(1 / Math.sqrt(k))} with no m^2 and hands the object to vLLM's generic RoPE ` +
      "(transformers' YaRN: cos/sin scaled by 0.1 ln(factor) + 1), which the harness does not " +
      "compute: not supported (no scaling, or null, reads as plain RoPE over rope_theta)",
  }];
}

/** What Ling 3.0's MLA does not read: its partial_rotary_factor (the linear heads' share). */
function bailingNotes(obj: Record<string, unknown>): DefaultedField[] {
  if (obj.model_type !== BAILING_HYBRID_MODEL_TYPE) return [];
  const notes: DefaultedField[] = [];
  const inner = isRecord(obj.rope_parameters)
    ? obj.rope_parameters.partial_rotary_factor
    : undefined;
  for (
    const [field, v] of [
      ["partial_rotary_factor", obj.partial_rotary_factor],
      ["rope_parameters.partial_rotary_factor", inner],
    ] as const
  ) {
    if (v === undefined || v === 1) continue;
    notes.push({
      field,
      value: null,
      note: `the config's ${JSON.stringify(v)} is not read by Ling's MLA: vLLM's ` +
        "BailingMoeV3MLAAttention drops it (the linear-attention heads' share) and rotates all " +
        "qk_rope_head_dim channels",
    });
  }
  return notes;
}

/** model_type of LongCat-Flash, whose latent scaling the models' code reads differently. */
const LONGCAT_MODEL_TYPE = "longcat_flash";

/**
 * LongCat-Flash's latent scaling keys where the models' code disagrees: transformers'
 * LongcatFlashMLA multiplies q and the kv latent by sqrt(hidden_size / rank) whatever the config
 * says (LongcatFlashConfig has no such keys), vLLM's and SGLang's longcat_flash only where the
 * key is true (vLLM's FlashConfig defaults both to false). A longcat_flash config that does not
 * state true (LongCat-Flash's published config states both) is one spec in one and another in
 * the other: refused naming the key, not read as either. The q key only with a low-rank q.
 */
function longcatScaleIssues(c: z.infer<typeof hfSchema>): ConfigIssue[] {
  if (c.model_type !== LONGCAT_MODEL_TYPE) return [];
  const keys = [
    ["mla_scale_q_lora", "q_lora_rank", c.q_lora_rank],
    ["mla_scale_kv_lora", "kv_lora_rank", c.kv_lora_rank],
  ] as const;
  return keys.filter(([key, , rank]) => rank !== null && c[key] !== true).map(
    ([key, rankKey, rank]) => ({
      path: key,
      value: c[key],
      message: `${c[key] === undefined ? "is needed" : "must be true"} with model_type ` +
        `${LONGCAT_MODEL_TYPE}, because the models' code disagrees otherwise: transformers' ` +
        `LongcatFlashMLA always multiplies the latent by sqrt(hidden_size / ${rankKey}) = ` +
        `${g6(Math.sqrt(c.hidden_size / (rank ?? 1)))} (it reads no such key), vLLM's and ` +
        "SGLang's longcat_flash only when the key is true (vLLM defaults it to false); state " +
        "true, as LongCat-Flash's published config does (or drop model_type to read the " +
        "config as DeepSeek's MLA without the scaling)",
    }),
  );
}

/**
 * LongCat-Flash-Lite (model_type longcat_flash_ngram): vLLM's longcat_flash_ngram.py builds
 * longcat_flash's FlashConfig from the config (FlashConfig(**hf_config.__dict__)) and runs its
 * FlashModel, whose FlashConfig takes rope_theta 1000000 where the config has none; this reader's
 * default is DeepSeek's 10000. An absent rope_theta is refused naming both rather than read as
 * 10000.
 */
function longcatNgramIssues(c: z.infer<typeof hfSchema>): ConfigIssue[] {
  if (c.model_type !== "longcat_flash_ngram") return [];
  if (c.rope_theta !== undefined || c.rope_parameters?.rope_theta !== undefined) return [];
  return [{
    path: "rope_theta",
    value: undefined,
    message: "is needed with model_type longcat_flash_ngram, because its codes disagree " +
      "without it: vLLM's longcat_flash_ngram.py runs longcat_flash's FlashModel with its " +
      "FlashConfig, which defaults it to 1000000, DeepSeek's code (this reader's default) to " +
      "10000; state it",
  }];
}

/** LongcatFlashConfig's head_dim default (transformers): a field of its own, not derived. */
const LONGCAT_HEAD_DIM_DEFAULT = 64;

/**
 * LongCat-Flash's widths and RoPE base where its codes disagree or one of them fails, refused
 * naming the fields rather than read as vLLM's (or DeepSeek's) alone:
 * - head_dim: transformers' LongcatFlashConfig keeps it as a field of its own (default 64, not
 *   derived from qk_rope_head_dim as DeepseekV3Config's is), its rotary embedding spans head_dim
 *   channels, and LongcatFlashMLA rotates q_rot and k_rot of qk_rope_head_dim channels with
 *   those tables: where the two differ it fails, while vLLM's longcat_flash (DeepseekV2's MLA)
 *   rotates qk_rope_head_dim channels;
 * - qk_head_dim: LongcatFlashMLA views q with the config's qk_head_dim before splitting it into
 *   qk_nope_head_dim + qk_rope_head_dim, so any other value fails there (vLLM ignores it);
 * - rope_theta absent: transformers' LongcatFlashConfig takes 10000000, vLLM's FlashConfig
 *   1000000, DeepSeek's code (this reader's default) 10000.
 */
function longcatWidthIssues(c: z.infer<typeof hfSchema>): ConfigIssue[] {
  if (c.model_type !== LONGCAT_MODEL_TYPE) return [];
  const issues: ConfigIssue[] = [];
  const rope = c.qk_rope_head_dim;
  const headDim = c.head_dim ?? LONGCAT_HEAD_DIM_DEFAULT;
  if (headDim !== rope) {
    issues.push({
      path: "head_dim",
      value: c.head_dim,
      message: (c.head_dim === undefined
        ? `is absent, so LongcatFlashConfig's default ${headDim} applies, which differs`
        : "differs") +
        ` from qk_rope_head_dim ${rope}, and LongCat-Flash's codes disagree then: ` +
        "transformers' LongcatFlashConfig keeps head_dim as its own field and builds the RoPE " +
        `tables over head_dim = ${headDim} channels, which fail on LongcatFlashMLA's ${rope} ` +
        `rotated channels of q and k; vLLM's longcat_flash rotates qk_rope_head_dim = ${rope}; ` +
        `state head_dim ${rope}, equal to qk_rope_head_dim`,
    });
  }
  const k = c.qk_nope_head_dim + rope;
  if (c.qk_head_dim !== undefined && c.qk_head_dim !== k) {
    issues.push({
      path: "qk_head_dim",
      value: c.qk_head_dim,
      message: `is not qk_nope_head_dim + qk_rope_head_dim = ${k}: transformers' ` +
        "LongcatFlashConfig keeps qk_head_dim as given and LongcatFlashMLA views each q head " +
        "with it before splitting it into qk_nope_head_dim + qk_rope_head_dim, which fails; " +
        `vLLM's longcat_flash ignores it; give ${k} or remove the key`,
    });
  }
  const theta = c.rope_theta ?? c.rope_parameters?.rope_theta;
  if (theta === undefined) {
    issues.push({
      path: "rope_theta",
      value: undefined,
      message: "is needed with model_type longcat_flash, because its codes disagree without " +
        "it: transformers' LongcatFlashConfig takes 10000000, vLLM's FlashConfig 1000000, " +
        "DeepSeek's code (this reader's default) 10000; state it, as LongCat-Flash's " +
        "published config does (10000000)",
    });
  }
  return issues;
}

/**
 * model_types whose every layer is DeepSeek's sparse attention (DSA): transformers'
 * DeepseekV32Config and GlmMoeDsaConfig, and DeepSeek-V3.2's inference ModelArgs, all default
 * index_topk to {@link SPARSE_DEFAULT_TOPK}, so a config without the key is sparse, not dense.
 */
const SPARSE_MODEL_TYPES: readonly string[] = ["deepseek_v32", "glm_moe_dsa"];

/** Their index_topk default. */
const SPARSE_DEFAULT_TOPK = 2048;

/** model_type of Kimi Linear (and of Kimi K3's nested language model). */
const KIMI_LINEAR_MODEL_TYPE = "kimi_linear";

/**
 * A kimi_linear config with `mla_use_nope: true` beside a YaRN or longrope RoPE object: every
 * code that runs it ignores the object. Moonshot's modeling_kimi.py (KimiMLAAttention:
 * `self.scaling = self.q_head_dim ** (-0.5)`, no rotary embedding; its KimiLinearConfig stores
 * rope_scaling unread), vLLM's kimi_linear.py (`self.scaling = self.qk_head_dim**-0.5`,
 * `rotary_emb=None`) and transformers' KimiLinearAttention (which sets `self.scaling =
 * self.qk_head_dim ** (-0.5)` after DeepseekV3Attention's YaRN m^2, and rotates nothing) all
 * give 1/sqrt(nope + rope) and rotate nothing. So the spec takes no YaRN and no LongRoPE (scale
 * 1/sqrt(k), no m^2) and `defaulted` says the object is not read, with the scale DeepSeek's code
 * would have given under YaRN. Null for any other config (the caller refuses a scaled RoPE
 * beside NoPE without this model_type).
 */
function kimiNopeYarn(
  c: z.infer<typeof hfSchema>,
  rope: RopeRead,
): { rope: RopeRead; note: DefaultedField } | null {
  const y = rope.yarn;
  if (c.mla_use_nope !== true || c.model_type !== KIMI_LINEAR_MODEL_TYPE) return null;
  if (y === null && rope.longrope === null) return null;
  const shape = c.rope_parameters ? "rope_parameters" : "rope_scaling";
  const k = c.qk_nope_head_dim + c.qk_rope_head_dim;
  const m = y === null ? 1 : yarnGetMscale(y.factor, y.mscaleAllDim);
  const what = y === null ? "LongRoPE (longrope)" : `YaRN (factor ${y.factor})`;
  return {
    rope: {
      ...rope,
      yarn: null,
      longrope: null,
      defaulted: rope.defaulted.filter((d) => !d.field.startsWith(`${shape}.`)),
    },
    note: {
      field: shape,
      value: null,
      note: `the config's ${what} is not read: Kimi Linear's MLA has no RoPE ` +
        "(mla_use_nope), and its code (Moonshot's modeling_kimi.py, vLLM's kimi_linear.py, " +
        `transformers' KimiLinearAttention) scales the softmax by 1/sqrt(${k}) = ` +
        `${g6(1 / Math.sqrt(k))} with no ${y === null ? "LongRoPE cos/sin scale" : "YaRN m^2"}` +
        (m !== 1
          ? ` (DeepSeek's code would give m^2 / sqrt(${k}) = ${g6((m * m) / Math.sqrt(k))})`
          : ""),
    },
  };
}

/**
 * model_types of the DeepSeek family with the attention code that runs each: none of them reads
 * Kimi's `mla_use_nope` or `mla_use_output_gate` (they rotate the qk_rope_head_dim channels and
 * gate nothing whatever the keys say), and only longcat_flash reads LongCat's `mla_scale_*`.
 * Such a key in such a config is no key of that model, so reading it would be another model's
 * layer (unreadVariantIssues).
 */
const NOPE_UNREAD: Readonly<Record<string, string>> = {
  deepseek_v2: "DeepSeek-V2's modeling_deepseek.py and transformers' DeepseekV2Attention",
  deepseek_v3: "DeepSeek-V3's modeling_deepseek.py and transformers' DeepseekV3Attention",
  deepseek_v32: "transformers' DeepseekV32Attention",
  kimi_k2: "Kimi-K2's modeling_deepseek.py (DeepSeek-V3's code)",
  glm4_moe_lite: "transformers' Glm4MoeLiteAttention (DeepseekV3Attention)",
  glm_moe_dsa: "transformers' GlmMoeDsaAttention",
  longcat_flash: "transformers' LongcatFlashMLA and vLLM's longcat_flash",
  mistral4: "transformers' Mistral4Attention",
  minicpm3: "MiniCPM3's modeling_minicpm.py and transformers' MiniCPM3Attention",
};

/** `mla_use_nope: true` under a model_type whose code rotates regardless: refused by name. */
function nopeUnreadIssues(c: z.infer<typeof hfSchema>): ConfigIssue[] {
  if (c.mla_use_nope !== true || c.model_type === undefined) return [];
  if (!Object.hasOwn(NOPE_UNREAD, c.model_type)) return [];
  return [{
    path: "mla_use_nope",
    value: true,
    message: `is not read by ${NOPE_UNREAD[c.model_type]} (model_type ${c.model_type}): that ` +
      "code rotates the qk_rope_head_dim channels whatever the key says, so read as NoPE it would " +
      `be another model's layer; remove it, or give model_type ${KIMI_LINEAR_MODEL_TYPE} (Kimi's ` +
      "NoPE MLA, whose code reads it)",
  }];
}

/**
 * Kimi K3's output gate and LongCat-Flash's latent scaling set to true under a DeepSeek-family
 * model_type whose code does not read them (the scaling only longcat_flash reads): refused by
 * name, as {@link nopeUnreadIssues}, rather than read into the layer.
 */
function unreadVariantIssues(c: z.infer<typeof hfSchema>): ConfigIssue[] {
  const type = c.model_type;
  if (type === undefined || !Object.hasOwn(NOPE_UNREAD, type)) return [];
  const keys: [string, boolean, string][] = [
    ["mla_use_output_gate", c.mla_use_output_gate === true, `${KIMI_LINEAR_MODEL_TYPE} (Kimi K3)`],
    [
      "gated_attention_proj_granularity_type",
      c.gated_attention_proj_granularity_type !== undefined &&
      c.gated_attention_proj_granularity_type !== null,
      `${BAILING_HYBRID_MODEL_TYPE} (Ling 3.0)`,
    ],
    [
      "mla_scale_q_lora",
      c.mla_scale_q_lora === true && type !== LONGCAT_MODEL_TYPE,
      "longcat_flash",
    ],
    [
      "mla_scale_kv_lora",
      c.mla_scale_kv_lora === true && type !== LONGCAT_MODEL_TYPE,
      "longcat_flash",
    ],
  ];
  return keys.filter(([, set]) => set).map(([key, , reader]) => ({
    path: key,
    value: key === "gated_attention_proj_granularity_type" ? c[key] : true,
    message: `is not read by ${NOPE_UNREAD[type]} (model_type ${type}), whose layer has no such ` +
      `${key.includes("gate") ? "gate" : "scaling"}: read, it would be another model's ` +
      `layer; remove it, or give model_type ${reader}, whose code reads it`,
  }));
}

/**
 * Kimi Linear's MLA (model_type kimi_linear) is NoPE in every code that runs it: Moonshot's
 * modeling_kimi.py (KimiMLAAttention) and vLLM's kimi_linear.py assert `mla_use_nope`, and
 * transformers' KimiLinearAttention applies no RoPE whatever the key says. A kimi_linear config
 * without `mla_use_nope: true` would be read here with RoPE, which none of them computes:
 * refused naming the key.
 */
function kimiLinearNopeIssues(c: z.infer<typeof hfSchema>): ConfigIssue[] {
  if (c.model_type !== KIMI_LINEAR_MODEL_TYPE || c.mla_use_nope === true) return [];
  return [{
    path: "mla_use_nope",
    value: c.mla_use_nope,
    message: `${c.mla_use_nope === undefined ? "is needed" : "must be true"} with model_type ` +
      "kimi_linear: its MLA has no RoPE in any code that runs it (Moonshot's modeling_kimi.py " +
      "and vLLM's kimi_linear.py assert mla_use_nope; transformers' KimiLinearAttention " +
      "rotates nothing whatever the key says), so reading the qk_rope_head_dim channels with " +
      "RoPE would be no model's layer; state true, as Kimi Linear's published config does",
  }];
}

/**
 * DeepSeek-V2's two codes disagree on its softmax scale under YaRN: the model repository's
 * modeling_deepseek.py (its config's auto_map, which this reader follows) and vLLM's
 * deepseek_v2.py multiply m(factor, mscale_all_dim)^2 in, transformers' own DeepseekV2Attention
 * (model_type deepseek_v2 loaded without trust_remote_code) keeps (nope + rope)^-0.5. The spec
 * is the model's; `defaulted` says what transformers' class computes instead, so a comparison
 * with it is not a mystery.
 */
function deepseekV2NativeNote(
  c: z.infer<typeof hfSchema>,
  yarn: YarnParams | null,
): DefaultedField[] {
  if (c.model_type !== "deepseek_v2" || yarn === null || c.mla_use_nope === true) return [];
  const m = yarnGetMscale(yarn.factor, yarn.mscaleAllDim);
  if (m === 1) return [];
  const k = c.qk_nope_head_dim + c.qk_rope_head_dim;
  return [{
    field: "model_type",
    value: "deepseek_v2",
    note: `softmax scale m^2 / sqrt(${k}) = ${g6((m * m) / Math.sqrt(k))} (m = ${g6(m)}), as ` +
      "DeepSeek-V2's modeling_deepseek.py (the config's auto_map code) and vLLM compute it; " +
      "transformers' own DeepseekV2Attention (loaded without trust_remote_code) omits YaRN's " +
      `m^2 and computes 1 / sqrt(${k}) = ${g6(1 / Math.sqrt(k))}: its output differs`,
  }];
}

/** openPangu-Ultra-MoE's names for the MLA widths, with DeepSeek's HF name of each. */
const OPENPANGU_NAMES: Readonly<Record<string, string>> = {
  attention_q_lora_dim: "q_lora_rank",
  attention_kv_lora_dim: "kv_lora_rank",
  attention_qk_dim: "qk_nope_head_dim",
  attention_qk_rope_dim: "qk_rope_head_dim",
  attention_v_dim: "v_head_dim",
};

/**
 * A config in openPangu's naming (model_type pangu_ultra_moe): an MLA model, so "not an MLA
 * config" would mislead; its names are not read (the harness does not guess its code's reading
 * of them), and the refusal says so, key by key.
 */
function openPanguNamingIssues(obj: Record<string, unknown>): ConfigIssue[] {
  return Object.entries(OPENPANGU_NAMES).filter(([key]) => key in obj).map(([key, hf]) => ({
    path: key,
    value: obj[key],
    message: `is openPangu's name for DeepSeek's ${hf} (openPangu-Ultra-MoE names its MLA ` +
      "widths attention_*_dim); the harness reads only DeepSeek's HF names and Megatron's, " +
      "and does not read openPangu's config as its own code does: not supported",
  }));
}

/** OpenPanguMoEConfig's rope_theta default (its config class; DeepSeek's code takes 10000). */
const OPENPANGU_THETA_DEFAULT = 25600000;

/**
 * An openPangu-Ultra-MoE config (its attention_*_dim names), read as its attention code reads it:
 * OpenPanguMoEAttention (the model's transformers-style modeling code) scales the softmax by
 * (attention_qk_dim + attention_qk_rope_dim)^-0.5 with no YaRN, rotates attention_qk_rope_dim
 * channels with plain RoPE over rope_theta, never reads rope_scaling, and builds its latent norms
 * with RMSNorm's default eps; that is DeepSeek's MLA under other names, read so. What its codes
 * do not agree on is required rather than guessed: the pairing (the transformers-style code
 * de-interleaves q_pe and k_pe before rotate_half, interleaved pairs; Huawei's omni-infer
 * PanguUltraMoE passes rope_is_neox_style=True), rope_theta (OpenPanguMoEConfig defaults it to
 * 25600000, omni-infer to 10000), a YaRN rope_scaling (omni-infer passes it to DeepSeek's MLA, the
 * transformers-style code never reads it) and a null attention_q_lora_dim (its forward always
 * calls q_a_proj). Each width name is required too (the config class's defaults are not guessed).
 * Issues name openPangu's keys.
 */
function readOpenPangu(obj: Record<string, unknown>, options: SpecFromAnyOptions): SpecReading {
  const issues: ConfigIssue[] = [];
  const hfNames: Record<string, unknown> = {};
  for (const [pangu, hf] of Object.entries(OPENPANGU_NAMES)) {
    if (hf in obj) {
      issues.push({
        path: hf,
        value: obj[hf],
        message: `sits beside openPangu's ${pangu}, its name for the same width: keep one naming`,
      });
    }
    if (!(pangu in obj)) {
      issues.push({
        path: pangu,
        value: undefined,
        message: `is required with openPangu's naming (DeepSeek's ${hf}): its config class's ` +
          "default is not guessed; state it",
      });
    } else hfNames[hf] = obj[pangu];
  }
  if (obj.attention_q_lora_dim === null) {
    issues.push({
      path: "attention_q_lora_dim",
      value: null,
      message: "is null, but openPangu's OpenPanguMoEAttention always projects q through " +
        "q_a_proj, q_a_layernorm and q_b_proj in its forward (it fails without them): give the " +
        "q latent width",
    });
  }
  const pairing = options.ropePairing ?? obj.rope_pairing;
  if (pairing === undefined) {
    issues.push({
      path: "rope_pairing",
      value: undefined,
      message: "is required with openPangu's naming, because its codes disagree on the pairing: " +
        "the transformers-style OpenPanguMoEAttention de-interleaves q_pe and k_pe before " +
        "rotate_half (interleaved pairs (2i, 2i+1), DeepSeek's), Huawei's omni-infer " +
        "PanguUltraMoE passes rope_is_neox_style=True (halves); give --pairing interleaved|neox " +
        '(or the harness key "rope_pairing")',
    });
  }
  const theta = obj.rope_theta;
  if (theta === undefined) {
    issues.push({
      path: "rope_theta",
      value: undefined,
      message: "is required with openPangu's naming, because its codes disagree without it: " +
        `OpenPanguMoEConfig defaults it to ${OPENPANGU_THETA_DEFAULT}, omni-infer's ` +
        "PanguUltraMoE (and DeepSeek's code) to 10000; state it",
    });
  }
  for (const key of ["rope_scaling", "rope_parameters"]) {
    const r = obj[key];
    const type = isRecord(r) ? r.rope_type ?? r.type : undefined;
    if (isRecord(r) && type !== "default") {
      issues.push({
        path: key,
        value: r,
        message: "is not read by openPangu's OpenPanguMoEAttention (plain RoPE over rope_theta, " +
          "softmax scale (attention_qk_dim + attention_qk_rope_dim)^-0.5), while omni-infer's " +
          "PanguUltraMoE passes it to DeepSeek's MLA (YaRN frequencies and m^2): the codes " +
          "disagree; remove it (or null) to read the model as its transformers-style code runs it",
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(options.name, issues);
  const renamed = Object.fromEntries(
    Object.entries(obj).filter(([key]) => !(key in OPENPANGU_NAMES)),
  );
  const toPangu = Object.fromEntries(Object.entries(OPENPANGU_NAMES).map(([p, h]) => [h, p]));
  let read: SpecReading;
  try {
    read = readHf({ ...renamed, ...hfNames }, options);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new ConfigError(
      options.name,
      e.issues.map((i) => ({ ...i, path: toPangu[i.path] ?? i.path })),
    );
  }
  return {
    spec: read.spec,
    reading: {
      ...read.reading,
      defaulted: [{
        field: "(naming)",
        value: "openpangu",
        note: "openPangu-Ultra-MoE's attention_*_dim names read as DeepSeek's (attention_qk_dim " +
          "= qk_nope_head_dim, attention_qk_rope_dim = qk_rope_head_dim, attention_v_dim = " +
          "v_head_dim, attention_q_lora_dim / attention_kv_lora_dim = q_lora_rank / " +
          "kv_lora_rank), as its OpenPanguMoEAttention computes them: softmax scale " +
          "(qk + rope)^-0.5, plain RoPE, latent norms with eps 1e-6",
      }, ...read.reading.defaulted.filter((d) => d.field !== "rope_pairing")],
    },
  };
}

/** The HF keys of other models' MLA variants (each changes what the model computes). */
const HF_MODEL_VARIANT_KEYS: readonly string[] = [
  "gated_attention_proj_granularity_type",
  "llama_4_scaling",
  "qk_latent_layernorm",
  "qk_latent_norm",
  "mla_use_nope",
  "mla_use_output_gate",
  "mla_scale_q_lora",
  "mla_scale_kv_lora",
  "attention_bias",
  "index_topk",
];

/**
 * Megatron-only keys in an HF config (`qk_layernorm`: HF's latent norms always exist), which
 * the HF reader would otherwise ignore.
 */
function megatronKeysInHf(obj: Record<string, unknown>): ConfigIssue[] {
  return "qk_layernorm" in obj
    ? [{
      path: "qk_layernorm",
      value: obj.qk_layernorm,
      message: "is a Megatron key, which an HF config does not read (DeepSeek's HF code " +
        "always builds q_a_layernorm and kv_a_layernorm); remove it, or read the file as " +
        "Megatron with --format megatron",
    }]
    : [];
}

const MEGATRON_DEFAULTS = {
  rope_type: "yarn",
  rotary_base: 10000,
  rotary_scaling_factor: 40,
  original_max_position_embeddings: 4096,
  beta_fast: 32,
  beta_slow: 1,
  // MLATransformerConfig's since July 2025 (Megatron-LM 62f0a97); 0.707 and 0.707 before
  mscale: 1.0,
  mscale_all_dim: 0.0,
  layernorm_epsilon: 1e-5,
  mla_rotary_interleaved: true,
  qk_layernorm: false,
  add_bias_linear: true,
} as const;

const MSCALE_HISTORY = "MLATransformerConfig's default since July 2025 (Megatron-LM 62f0a97); " +
  "before it both defaulted to 0.707 there (1.0 as arguments) and the softmax used m(factor, " +
  "mscale) instead of m(factor, mscale_all_dim), so a config of an older Megatron with mscale " +
  "!= mscale_all_dim computed another softmax scale than it is read with here";

/** Why a Megatron default matters, where it changes what the harness computes or refuses. */
const MEGATRON_DEFAULT_NOTES: Partial<Record<keyof typeof MEGATRON_DEFAULTS, string>> = {
  mscale: MSCALE_HISTORY,
  mscale_all_dim: MSCALE_HISTORY,
  mla_rotary_interleaved: "not a config key: Megatron's MLA always rotates interleaved pairs " +
    "(multi_latent_attention.py passes mla_rotary_interleaved=True)",
  qk_layernorm: "Megatron's TransformerConfig default: MLA's q_layernorm and kv_layernorm are " +
    "IdentityOp, so the full layer is refused (spec.no-latent-norms); DeepSeek's MLA trained " +
    "with --qk-layernorm states true",
  add_bias_linear: "TransformerConfig's default (and --add-bias-linear's): MLA's linear_proj " +
    "(its o_proj) has a bias, so the full layer is refused (spec.attention-bias); DeepSeek's " +
    "MLA trained with --disable-bias-linear states false",
};

/**
 * Canonical spec and reading from a Megatron `MLATransformerConfig`-style object.
 * Note that `qk_head_dim` is the no-position width only; k_channels = qk_head_dim +
 * qk_pos_emb_head_dim. Absent keys take Megatron's defaults (rope_type "yarn",
 * rotary_base 10000, mscale 1, mscale_all_dim 0 (MLATransformerConfig since July 2025),
 * qk_layernorm false: no latent norms, add_bias_linear true: a bias on linear_proj), each listed
 * in `reading.defaulted`; a key with two
 * defaults in Megatron (its config class's and its arguments') is required: q_lora_rank,
 * rotary_scaling_factor under YaRN, normalization with qk_layernorm. RoPE pairs are interleaved, as
 * Megatron's MLA always rotates them, and with rope_type "rope" the softmax keeps Megatron's
 * m(rotary_scaling_factor, mscale_all_dim)^2.
 *
 * @example
 * ```ts
 * import { readMegatron } from "./config.ts";
 * const { spec, reading } = readMegatron({
 *   hidden_size: 2048, num_attention_heads: 16, q_lora_rank: null, kv_lora_rank: 512,
 *   qk_head_dim: 128, qk_pos_emb_head_dim: 64, v_head_dim: 128, rotary_scaling_factor: 40,
 * }, { name: "v2-lite-megatron" });
 * spec.kChannels; // 192
 * reading.defaulted.some((d) => d.field === "mscale_all_dim"); // true
 * ```
 */
export function readMegatron(raw: unknown, options: SpecFromConfigOptions): SpecReading {
  const obj = requireObject(raw, options.name);
  const parsed = megatronSchema.safeParse(obj);
  const keyIssues = [
    ...hfKeysInMegatron(obj),
    ...typoIssues(obj, Object.keys(megatronSchema.shape)),
  ];
  if (!parsed.success) {
    throw new ConfigError(options.name, [...issuesOf(parsed.error, obj), ...keyIssues]);
  }
  const c = parsed.data;
  keyIssues.push(...megatronKeyIssues(c));
  if (keyIssues.length > 0) throw new ConfigError(options.name, keyIssues);
  const defaulted: DefaultedField[] = [];
  const pick = <K extends keyof typeof MEGATRON_DEFAULTS>(
    key: K,
  ): NonNullable<(typeof c)[K]> | (typeof MEGATRON_DEFAULTS)[K] => {
    const v = c[key];
    if (v !== undefined && v !== null) return v as NonNullable<(typeof c)[K]>;
    const note = MEGATRON_DEFAULT_NOTES[key];
    defaulted.push({ field: key, value: MEGATRON_DEFAULTS[key], ...(note ? { note } : {}) });
    return MEGATRON_DEFAULTS[key];
  };
  const ropeType = pick("rope_type");
  const rotaryBase = pick("rotary_base");
  const yarn: YarnParams | null = ropeType === "rope" ? null : {
    factor: pick("rotary_scaling_factor"),
    originalMaxPositionEmbeddings: pick("original_max_position_embeddings"),
    betaFast: pick("beta_fast"),
    betaSlow: pick("beta_slow"),
    mscale: pick("mscale"),
    mscaleAllDim: pick("mscale_all_dim"),
  };
  // Megatron scales the softmax by m(rotary_scaling_factor, mscale_all_dim)^2 before it
  // looks at rope_type (multi_latent_attention.py __init__): with plain RoPE too.
  const ropeM = ropeType === "rope"
    ? yarnGetMscale(pick("rotary_scaling_factor"), pick("mscale_all_dim"))
    : 1;
  const eps = pick("layernorm_epsilon");
  const latentNorms = pick("qk_layernorm");
  const projBias = pick("add_bias_linear");
  const topK = c.experimental_attention_variant === "dsa" && typeof c.dsa_indexer_topk === "number"
    ? c.dsa_indexer_topk
    : undefined;
  if (topK !== undefined) {
    defaulted.push({
      field: "dsa_indexer_topk",
      value: topK,
      note: "DeepSeek's sparse attention (experimental_attention_variant dsa) attends to the " +
        `keys its indexer picks; the harness computes dense MLA, the same only where a query ` +
        `sees at most ${topK} keys, and refuses cases with more (spec.sparse-attention)`,
    });
  }
  const interleaved = options.ropePairing === undefined ? pick("mla_rotary_interleaved") : false;
  const params: MlaParams = {
    hiddenSize: c.hidden_size,
    numHeads: c.num_attention_heads,
    qLoraRank: c.q_lora_rank,
    kvLoraRank: c.kv_lora_rank,
    qkNopeHeadDim: c.qk_head_dim,
    qkRopeHeadDim: c.qk_pos_emb_head_dim,
    vHeadDim: c.v_head_dim,
    rmsNormEps: eps,
    ropeTheta: rotaryBase,
    yarn,
    ropePairing: options.ropePairing ?? (interleaved ? "interleaved" : "neox"),
    ...(latentNorms ? {} : { noLatentNorms: true as const }),
    ...(projBias ? { attentionBias: true as const } : {}),
    ...(ropeM !== 1 ? { softmaxMscale: ropeM } : {}),
    ...(topK !== undefined ? { indexTopK: topK } : {}),
  };
  checkWeightBounds(params, options.name);
  return {
    spec: checkFiniteSpec(
      buildSpec(params, { name: options.name, source: "megatron" }),
      options.name,
    ),
    reading: { format: "megatron", ropeShape: "megatron", defaulted },
  };
}

/**
 * Canonical spec from a Megatron `MLATransformerConfig`-style object; see
 * {@link readMegatron}.
 *
 * @example
 * ```ts
 * import { specFromMegatron } from "./config.ts";
 * const spec = specFromMegatron({
 *   hidden_size: 2048, num_attention_heads: 16, q_lora_rank: null, kv_lora_rank: 512,
 *   qk_head_dim: 128, qk_pos_emb_head_dim: 64, v_head_dim: 128, rotary_scaling_factor: 40,
 * }, { name: "v2-lite-megatron" });
 * spec.kChannels; // 192
 * ```
 */
export function specFromMegatron(raw: unknown, options: SpecFromConfigOptions): MlaSpec {
  return readMegatron(raw, options).spec;
}

/** HF's and Megatron's own head-width keys both present: which naming is meant is unclear. */
function mixedNamingIssue(obj: Record<string, unknown>): ConfigIssue | null {
  const hf = ["qk_nope_head_dim", "qk_rope_head_dim"].filter((k) => k in obj);
  if (!("qk_pos_emb_head_dim" in obj) || hf.length === 0) return null;
  return {
    path: "qk_pos_emb_head_dim",
    value: obj.qk_pos_emb_head_dim,
    message: `is Megatron's name for the RoPE width, beside HF's ${hf.join(" and ")}: the ` +
      "config mixes the two namings (HF: qk_nope_head_dim + qk_rope_head_dim; Megatron: " +
      "qk_head_dim + qk_pos_emb_head_dim); keep one, or say which with --format hf|megatron",
  };
}

/** Options of {@link specFromConfig}. */
export interface SpecFromAnyOptions extends SpecFromConfigOptions {
  /** Force a naming instead of detecting it. */
  format?: ConfigFormat;
}

/** Every key either reader reads (what a nesting must not leave beside it). */
const MLA_KEYS: ReadonlySet<string> = new Set(
  [...Object.keys(hfSchema.shape), ...Object.keys(megatronSchema.shape)]
    .filter((key) => key !== "model_type"),
);

/**
 * The keys under which a multimodal model's config.json nests its language model's config
 * (Kimi K3's and Kimi-VL's `text_config`, DeepSeek-VL2's `language_config`).
 */
export const NESTED_CONFIG_KEYS: readonly string[] = ["text_config", "language_config"];

/**
 * The nested language-model config of a wrapper config: only where the top level holds no
 * MLA keys of its own and exactly one nesting key holds them (otherwise the top level is
 * read, and fails as it would).
 */
function nestedConfig(
  obj: Record<string, unknown>,
  source: string,
): { key: string; inner: Record<string, unknown> } | null {
  const holding = NESTED_CONFIG_KEYS.filter((k) => {
    const v = obj[k];
    return isRecord(v) && detectConfigFormat(v) !== null;
  });
  if (detectConfigFormat(obj) !== null) {
    // The top level is read. A nesting that holds other MLA numbers is not silently dropped.
    const issues: ConfigIssue[] = [];
    for (const k of holding) {
      const keys = Object.entries(obj[k] as Record<string, unknown>)
        .filter(([key, v]) => MLA_KEYS.has(key) && JSON.stringify(v) !== JSON.stringify(obj[key]))
        .map(([key]) => key);
      if (keys.length > 0) {
        issues.push({
          path: k,
          value: keys,
          message: "are MLA keys whose values differ from the top level's (which is read; " +
            `${k} would be ignored): which language model to read is not guessed; keep one set`,
        });
      }
    }
    if (issues.length > 0) throw new ConfigError(source, issues);
    return null;
  }
  if (holding.length > 1) {
    throw new ConfigError(source, [{
      path: "(root)",
      value: holding,
      message: `has no MLA keys of its own and MLA keys in both ${holding.join(" and ")}: ` +
        "which language model to read is not guessed; keep one",
    }]);
  }
  if (holding.length === 0) {
    const present = NESTED_CONFIG_KEYS.filter((k) => k in obj);
    if (present.length === 0) return null;
    throw new ConfigError(
      source,
      present.map((k) => ({
        path: k,
        value: obj[k],
        message: isRecord(obj[k])
          ? "holds no MLA keys (qk_nope_head_dim, qk_rope_head_dim, kv_lora_rank or Megatron's " +
            "qk_head_dim, qk_pos_emb_head_dim), and the top level has none either"
          : "must be an object holding the language model's MLA config (the top level has no " +
            "MLA keys)",
      })),
    );
  }
  const key = holding[0];
  const inner = obj[key] as Record<string, unknown>;
  // MLA keys beside the nesting would be ignored: refused by name, unless the nesting states
  // the same value (a copy changes nothing).
  const beside = Object.keys(obj).filter((k) =>
    MLA_KEYS.has(k) && JSON.stringify(inner[k]) !== JSON.stringify(obj[k])
  );
  if (beside.length > 0) {
    throw new ConfigError(
      source,
      beside.map((k) => ({
        path: k,
        value: obj[k],
        message: `sits beside ${key}, whose language model is read; it would be ignored: ` +
          `move it into ${key} or remove it`,
      })),
    );
  }
  return { key, inner };
}

/** The keys that tell an MLA config's naming (detectConfigFormat), as messages list them. */
const WIDTH_KEYS = [
  "kv_lora_rank",
  "qk_nope_head_dim",
  "qk_rope_head_dim",
  "qk_head_dim",
  "qk_pos_emb_head_dim",
] as const;

/**
 * Top-level objects other than {@link NESTED_CONFIG_KEYS} that hold MLA keys, in a config
 * whose top level holds none (say an InternVL-style `llm_config`): which of a wrapper's
 * nestings is its language model is the wrapper's code's choice, which this reader does not
 * guess, so the file is refused naming the key to extract rather than called "not an MLA
 * config".
 */
function unreadNestingIssues(obj: Record<string, unknown>): ConfigIssue[] {
  return Object.entries(obj)
    .filter(([key, v]) =>
      !NESTED_CONFIG_KEYS.includes(key) && isRecord(v) && detectConfigFormat(v) !== null
    )
    .map(([key, v]) => ({
      path: key,
      value: WIDTH_KEYS.filter((k) => k in (v as Record<string, unknown>)),
      message: "holds MLA keys, but the top level has none and a nested language model is " +
        `read only from ${NESTED_CONFIG_KEYS.join(" or ")} (Kimi-VL's, Kimi K3's, ` +
        `Mistral Small 4's and DeepSeek-VL2's nestings): save the object under ${key} as a ` +
        "config.json of its own and give that file",
    }));
}

/** Read a nested config: its errors name their keys under the nesting key; the reading says so. */
function readNested(
  nested: { key: string; inner: Record<string, unknown> },
  options: SpecFromAnyOptions,
): SpecReading {
  let read: SpecReading;
  try {
    read = readConfig(nested.inner, options);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new ConfigError(
      options.name,
      e.issues.map((i) => ({
        ...i,
        path: i.path === "(root)" ? nested.key : `${nested.key}.${i.path}`,
      })),
    );
  }
  return {
    spec: read.spec,
    reading: {
      ...read.reading,
      defaulted: [{
        field: nested.key,
        value: "read",
        note: `the top level has no MLA keys: the language model's config nested in ` +
          `${nested.key} (a multimodal model's) is read`,
      }, ...read.reading.defaulted],
    },
  };
}

/**
 * Canonical spec and reading from a parsed config of either naming (detected
 * unless given).
 *
 * @example
 * ```ts
 * import { readConfig } from "./config.ts";
 * const { reading } = readConfig({
 *   hidden_size: 64, num_attention_heads: 4, q_lora_rank: null, kv_lora_rank: 32,
 *   qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 16,
 * }, { name: "mine" });
 * reading.ropeShape; // "none"
 * ```
 */
export function readConfig(raw: unknown, options: SpecFromAnyOptions): SpecReading {
  const obj = requireObject(raw, options.name);
  const nested = nestedConfig(obj, options.name);
  if (nested !== null) return readNested(nested, options);
  const mixed = options.format === undefined ? mixedNamingIssue(obj) : null;
  if (mixed) throw new ConfigError(options.name, [mixed]);
  // A language model nested under another key: named, also with --format (which would read
  // the wrapper's top level and ask for every MLA key).
  // Another of the harness's files is named as such first (it may nest snake_case MLA keys).
  const unread =
    detectConfigFormat(obj) === null && wrongFileKindIssue(obj, "model-config") === null
      ? unreadNestingIssues(obj)
      : [];
  if (unread.length > 0) throw new ConfigError(options.name, unread);
  const format = options.format ?? detectConfigFormat(obj);
  if (format === null) {
    const notMla = notMlaIssues(obj).filter((i) => i.path === "model_type");
    if (notMla.length > 0) throw new ConfigError(options.name, notMla);
    if (openPanguNamingIssues(obj).length > 0) return readOpenPangu(obj, options);
    // another of the harness's files (a caps file, a run report, ...): say which
    const other = wrongFileKindIssue(obj, "model-config");
    if (other !== null) throw new ConfigError(options.name, [other], "not a model config");
    throw new ConfigError(options.name, [{
      path: "(root)",
      value: Object.keys(obj).slice(0, 6),
      message: "is not an MLA config: expected HF keys (qk_nope_head_dim, qk_rope_head_dim, " +
        "kv_lora_rank) or Megatron keys (qk_head_dim, qk_pos_emb_head_dim)",
    }]);
  }
  return format === "hf" ? readHf(obj, options) : readMegatron(obj, options);
}

/**
 * Canonical spec from a parsed config of either naming (detected unless given).
 *
 * @example
 * ```ts
 * import { specFromConfig } from "./config.ts";
 * const spec = specFromConfig({
 *   hidden_size: 64, num_attention_heads: 4, q_lora_rank: null, kv_lora_rank: 32,
 *   qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 16,
 * }, { name: "mine" });
 * spec.source; // "hf"
 * ```
 */
export function specFromConfig(raw: unknown, options: SpecFromAnyOptions): MlaSpec {
  return readConfig(raw, options).spec;
}

/**
 * Read and parse a config file, keeping how it was read. A missing file, invalid
 * JSON or an invalid config throws a {@link ConfigError} naming the file.
 *
 * @example
 * ```ts ignore
 * import { readConfigFile } from "./config.ts";
 * const { spec, reading } = await readConfigFile("config.json");
 * ```
 */
export async function readConfigFile(
  path: string,
  options: Partial<SpecFromAnyOptions> = {},
): Promise<SpecReading> {
  const raw = await readJsonFile(path, { what: "config" });
  const name = options.name ?? path.split("/").pop() ?? path;
  return readConfig(raw, { ...options, name });
}

/**
 * Read and parse a config file. A missing file, invalid JSON or an invalid config
 * throws a {@link ConfigError} naming the file.
 *
 * @example
 * ```ts ignore
 * import { specFromFile } from "./config.ts";
 * const spec = await specFromFile("config.json");
 * ```
 */
export async function specFromFile(
  path: string,
  options: Partial<SpecFromAnyOptions> = {},
): Promise<MlaSpec> {
  return (await readConfigFile(path, options)).spec;
}
