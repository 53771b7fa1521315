/**
 * Config ingestion: Hugging Face DeepSeek `config.json` and Megatron-style
 * `MLATransformerConfig` JSON, validated with zod and turned into one canonical
 * {@link MlaSpec}. Unrelated keys of a full model config are ignored.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { readJsonFile } from "./json_file.ts";
import { buildSpec, type MlaParams } from "./spec.ts";
import type { MlaSpec, RopePairing } from "./types.ts";

/** Which naming a config uses. */
export type ConfigFormat = "hf" | "megatron";

const isMissing = (input: unknown) => input === undefined;

function posInt(what = "a positive integer") {
  return z
    .number({
      error: (i) => isMissing(i.input) ? `is required; expected ${what}` : `must be ${what}`,
    })
    .int({ error: `must be ${what}` })
    .positive({ error: `must be ${what}` });
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

const ropeDim = posInt().refine((v) => v % 2 === 0, {
  error: "must be even (RoPE rotates pairs of channels)",
});

const qLora = z.union([posInt(), z.null()], {
  error: (i) =>
    isMissing(i.input)
      ? "is required; expected a positive integer, or null for a direct q projection"
      : "must be a positive integer, or null for a direct q projection",
});

const hfRopeScaling = z
  .object({
    type: z.enum(["yarn", "deepseek_yarn"], {
      error: 'must be "yarn" or "deepseek_yarn" (the only scaling MLA models use here)',
    }).optional(),
    rope_type: z.enum(["yarn", "deepseek_yarn"], {
      error: 'must be "yarn" or "deepseek_yarn" (the only scaling MLA models use here)',
    }).optional(),
    factor: z.number({ error: "is required; expected a number >= 1" }).min(1, {
      error: "must be >= 1",
    }),
    original_max_position_embeddings: posInt().optional(),
    beta_fast: positive().optional(),
    beta_slow: positive().optional(),
    mscale: nonNegative().optional(),
    mscale_all_dim: nonNegative().optional(),
  })
  .refine((r) => r.type !== undefined || r.rope_type !== undefined, {
    error: 'needs "type" (or "rope_type"): "yarn"',
    path: ["type"],
  })
  .refine((r) => (r.beta_fast ?? 32) > (r.beta_slow ?? 1), {
    error: "must be greater than beta_slow",
    path: ["beta_fast"],
  });

const hfSchema = z.object({
  hidden_size: posInt(),
  num_attention_heads: posInt(),
  q_lora_rank: qLora,
  kv_lora_rank: posInt(),
  qk_nope_head_dim: posInt(),
  qk_rope_head_dim: ropeDim,
  v_head_dim: posInt(),
  rope_theta: positive().refine((v) => v > 1, { error: "must be > 1" }).optional(),
  rms_norm_eps: positive().optional(),
  rope_scaling: hfRopeScaling.nullable().optional(),
  rope_pairing: z.enum(["interleaved", "neox"], {
    error: 'must be "interleaved" or "neox"',
  }).optional(),
});

const megatronSchema = z
  .object({
    hidden_size: posInt(),
    num_attention_heads: posInt(),
    q_lora_rank: qLora.optional(),
    kv_lora_rank: posInt(),
    qk_head_dim: posInt("a positive integer (the no-position width only)"),
    qk_pos_emb_head_dim: ropeDim,
    v_head_dim: posInt(),
    rotary_base: positive().refine((v) => v > 1, { error: "must be > 1" }).optional(),
    rope_type: z.enum(["rope", "yarn"], { error: 'must be "rope" or "yarn"' }).optional(),
    rotary_scaling_factor: z.number({ error: "must be a number >= 1" }).min(1, {
      error: "must be >= 1",
    }).optional(),
    original_max_position_embeddings: posInt().optional(),
    beta_fast: positive().optional(),
    beta_slow: positive().optional(),
    mscale: nonNegative().optional(),
    mscale_all_dim: nonNegative().optional(),
    layernorm_epsilon: positive().optional(),
    mla_rotary_interleaved: z.boolean({ error: "must be true or false" }).optional(),
  })
  .refine((r) => (r.beta_fast ?? 32) > (r.beta_slow ?? 1), {
    error: "must be greater than beta_slow",
    path: ["beta_fast"],
  });

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function issuesOf(error: z.ZodError, input: unknown): ConfigIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    value: valueAt(input, issue.path),
    message: issue.message,
  }));
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

/** Options of the spec-from-config functions. */
export interface SpecFromConfigOptions {
  /** Name recorded in the spec and used in error messages. */
  name: string;
  /** Override the RoPE pairing the config implies. */
  ropePairing?: RopePairing;
}

/**
 * Canonical spec from a Hugging Face DeepSeek config object. HF defaults apply to
 * absent optional keys (rope_theta 10000, rms_norm_eps 1e-6, YaRN beta_fast 32,
 * beta_slow 1, mscale 1, mscale_all_dim 0, original length 4096).
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
  const obj = requireObject(raw, options.name);
  const parsed = hfSchema.safeParse(obj);
  if (!parsed.success) throw new ConfigError(options.name, issuesOf(parsed.error, obj));
  const c = parsed.data;
  const rs = c.rope_scaling ?? null;
  const params: MlaParams = {
    hiddenSize: c.hidden_size,
    numHeads: c.num_attention_heads,
    qLoraRank: c.q_lora_rank,
    kvLoraRank: c.kv_lora_rank,
    qkNopeHeadDim: c.qk_nope_head_dim,
    qkRopeHeadDim: c.qk_rope_head_dim,
    vHeadDim: c.v_head_dim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    yarn: rs === null ? null : {
      factor: rs.factor,
      originalMaxPositionEmbeddings: rs.original_max_position_embeddings ?? 4096,
      betaFast: rs.beta_fast ?? 32,
      betaSlow: rs.beta_slow ?? 1,
      mscale: rs.mscale ?? 1,
      mscaleAllDim: rs.mscale_all_dim ?? 0,
    },
    ropePairing: options.ropePairing ?? c.rope_pairing ?? "interleaved",
  };
  return buildSpec(params, { name: options.name, source: "hf" });
}

/**
 * Canonical spec from a Megatron `MLATransformerConfig`-style object. Note that
 * `qk_head_dim` is the no-position width only; k_channels = qk_head_dim +
 * qk_pos_emb_head_dim. Absent keys take Megatron's defaults (rope_type "yarn",
 * rotary_base 10000, rotary_scaling_factor 40, mscale 0.707, mscale_all_dim 0.707,
 * mla_rotary_interleaved false, i.e. NeoX pairing).
 *
 * @example
 * ```ts
 * import { specFromMegatron } from "./config.ts";
 * const spec = specFromMegatron({
 *   hidden_size: 2048, num_attention_heads: 16, kv_lora_rank: 512, qk_head_dim: 128,
 *   qk_pos_emb_head_dim: 64, v_head_dim: 128, mla_rotary_interleaved: true,
 * }, { name: "v2-lite-megatron" });
 * spec.kChannels; // 192
 * ```
 */
export function specFromMegatron(raw: unknown, options: SpecFromConfigOptions): MlaSpec {
  const obj = requireObject(raw, options.name);
  const parsed = megatronSchema.safeParse(obj);
  if (!parsed.success) throw new ConfigError(options.name, issuesOf(parsed.error, obj));
  const c = parsed.data;
  const ropeType = c.rope_type ?? "yarn";
  const params: MlaParams = {
    hiddenSize: c.hidden_size,
    numHeads: c.num_attention_heads,
    qLoraRank: c.q_lora_rank ?? null,
    kvLoraRank: c.kv_lora_rank,
    qkNopeHeadDim: c.qk_head_dim,
    qkRopeHeadDim: c.qk_pos_emb_head_dim,
    vHeadDim: c.v_head_dim,
    rmsNormEps: c.layernorm_epsilon ?? 1e-5,
    ropeTheta: c.rotary_base ?? 10000,
    yarn: ropeType === "rope" ? null : {
      factor: c.rotary_scaling_factor ?? 40,
      originalMaxPositionEmbeddings: c.original_max_position_embeddings ?? 4096,
      betaFast: c.beta_fast ?? 32,
      betaSlow: c.beta_slow ?? 1,
      mscale: c.mscale ?? 0.707,
      mscaleAllDim: c.mscale_all_dim ?? 0.707,
    },
    ropePairing: options.ropePairing ?? (c.mla_rotary_interleaved ? "interleaved" : "neox"),
  };
  return buildSpec(params, { name: options.name, source: "megatron" });
}

/**
 * Guess a config's naming: Megatron if it has `qk_pos_emb_head_dim` or
 * `qk_head_dim`, HF if it has `qk_nope_head_dim` or `qk_rope_head_dim`, else null.
 *
 * @example
 * ```ts
 * import { detectConfigFormat } from "./config.ts";
 * detectConfigFormat({ qk_pos_emb_head_dim: 64 }); // "megatron"
 * ```
 */
export function detectConfigFormat(raw: Record<string, unknown>): ConfigFormat | null {
  if ("qk_pos_emb_head_dim" in raw || "qk_head_dim" in raw) return "megatron";
  if ("qk_nope_head_dim" in raw || "qk_rope_head_dim" in raw || "kv_lora_rank" in raw) return "hf";
  return null;
}

/** Options of {@link specFromConfig}. */
export interface SpecFromAnyOptions extends SpecFromConfigOptions {
  /** Force a naming instead of detecting it. */
  format?: ConfigFormat;
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
  const obj = requireObject(raw, options.name);
  const format = options.format ?? detectConfigFormat(obj);
  if (format === null) {
    throw new ConfigError(options.name, [{
      path: "(root)",
      value: Object.keys(obj).slice(0, 6),
      message: "is not an MLA config: expected HF keys (qk_nope_head_dim, qk_rope_head_dim, " +
        "kv_lora_rank) or Megatron keys (qk_head_dim, qk_pos_emb_head_dim)",
    }]);
  }
  return format === "hf" ? specFromHf(obj, options) : specFromMegatron(obj, options);
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
  const raw = await readJsonFile(path, { what: "config" });
  const name = options.name ?? path.split("/").pop() ?? path;
  return specFromConfig(raw, { ...options, name });
}
