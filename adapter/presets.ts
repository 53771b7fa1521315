/**
 * Bundled presets, as Hugging Face config fragments (the MLA and RoPE keys of each
 * model's published `config.json`, spelled as there) so they go through the same
 * validation and derivation as a user's config.json. Where the published file is
 * committed (matrix/bundled/configs/published/), the preset is read from it, so it
 * cannot drift; the others are written out and checked against their file once it
 * is committed.
 *
 * Sources: the published `config.json` of deepseek-ai/DeepSeek-V2-Lite,
 * deepseek-ai/DeepSeek-V2, deepseek-ai/DeepSeek-V3, moonshotai/Kimi-K2-Instruct,
 * moonshotai/Kimi-K2-Instruct-0905 and moonshotai/Moonlight-16B-A3B, as summarized in
 * ../shared/MLA_MATH.md. {@link PRESET_PUBLISHED_CONFIGS} names the file under
 * matrix/bundled/configs/published/ that each must equal field by field
 * (tests/adapter_published_configs_test.ts checks every file that is committed).
 *
 * @module
 */
import v2LiteChatConfig from "../matrix/bundled/configs/published/DeepSeek-V2-Lite-Chat.config.json" with {
  type: "json",
};
import v3Config from "../matrix/bundled/configs/published/DeepSeek-V3.config.json" with {
  type: "json",
};
import kimiK2Config from "../matrix/bundled/configs/published/Kimi-K2-Instruct.config.json" with {
  type: "json",
};
import { readHf, type SpecReading } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { buildSpec, specParams } from "./spec.ts";
import type { MlaSpec } from "./types.ts";

/** The keys of a published config.json that define the MLA layer and its RoPE. */
const MLA_KEYS = [
  "hidden_size",
  "num_attention_heads",
  "q_lora_rank",
  "kv_lora_rank",
  "qk_nope_head_dim",
  "qk_rope_head_dim",
  "v_head_dim",
  "rms_norm_eps",
  "rope_theta",
  "rope_scaling",
  "rope_parameters",
] as const;

/**
 * A preset taken from a committed published config.json: its MLA and RoPE keys,
 * unchanged (the other keys describe MoE, vocabulary and so on).
 */
function fromPublished(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(MLA_KEYS.filter((k) => k in config).map((k) => [k, config[k]]));
}

/** YaRN block as DeepSeek/Kimi configs write it (mscale == mscale_all_dim in all of them). */
const yarn = (factor: number, mscale: number, beta: { fast: number; slow: number }) => ({
  type: "yarn",
  factor,
  original_max_position_embeddings: 4096,
  beta_fast: beta.fast,
  beta_slow: beta.slow,
  mscale,
  mscale_all_dim: mscale,
});

/** DeepSeek's betas (also the HF defaults). */
const DS = { fast: 32, slow: 1 };
/** Kimi-K2's betas: fast == slow, so the YaRN ramp is one dimension wide. */
const KIMI = { fast: 1, slow: 1 };

const mla = { kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128 };

/** Raw HF-style config of every preset, by name. */
export const PRESET_CONFIGS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  /** From DeepSeek-V2-Lite-Chat's config.json (the base model's file is not committed). */
  "deepseek-v2-lite": fromPublished(v2LiteChatConfig),
  "deepseek-v2": {
    hidden_size: 5120,
    num_attention_heads: 128,
    q_lora_rank: 1536,
    ...mla,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    rope_scaling: yarn(40, 0.707, DS),
  },
  /** From DeepSeek-V3's config.json (the revision without the unused aux-loss keys). */
  "deepseek-v3": fromPublished(v3Config),
  /** From Kimi-K2-Instruct's config.json (beta_fast == beta_slow == 1, factor 32). */
  "kimi-k2": fromPublished(kimiK2Config),
  /** Kimi-K2-Instruct-0905: as kimi-k2, with the context extended by 64 instead of 32. */
  "kimi-k2-0905": {
    hidden_size: 7168,
    num_attention_heads: 64,
    q_lora_rank: 1536,
    ...mla,
    rms_norm_eps: 1e-6,
    rope_theta: 50000,
    rope_scaling: yarn(64, 1.0, KIMI),
  },
  /** Moonlight-16B-A3B: its config.json has no rope_scaling key at all (plain RoPE). */
  "moonlight-16b": {
    hidden_size: 2048,
    num_attention_heads: 16,
    q_lora_rank: null,
    ...mla,
    rms_norm_eps: 1e-5,
    rope_theta: 50000,
  },
  /** Synthetic: small enough for fast tests; plain RoPE, direct q. */
  "tiny": {
    hidden_size: 64,
    num_attention_heads: 4,
    q_lora_rank: null,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    rope_theta: 10000,
    rope_scaling: null,
  },
  /** Synthetic: tiny with low-rank q and YaRN (V2-Lite's factor and mscale). */
  "tiny-yarn": {
    hidden_size: 64,
    num_attention_heads: 4,
    q_lora_rank: 24,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    rope_theta: 10000,
    rope_scaling: yarn(40, 0.707, DS),
  },
  /**
   * Synthetic: Kimi-K2's RoPE (theta 5e4, factor 32, beta 1/1, mscale 1/1) and low-rank
   * q on tiny widths. With rope 8 the ramp runs from low 2 to high 3.
   */
  "tiny-kimi": {
    hidden_size: 64,
    num_attention_heads: 4,
    q_lora_rank: 24,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    rms_norm_eps: 1e-6,
    rope_theta: 50000,
    rope_scaling: yarn(32, 1.0, KIMI),
  },
};

/**
 * The published `config.json` each model preset must equal, as a file name under
 * matrix/bundled/configs/published/ (see the README there for sources and hashes).
 */
export const PRESET_PUBLISHED_CONFIGS: Readonly<Record<string, string>> = {
  "deepseek-v2-lite": "DeepSeek-V2-Lite-Chat.config.json",
  "deepseek-v2": "DeepSeek-V2.config.json",
  "deepseek-v3": "DeepSeek-V3.config.json",
  "kimi-k2": "Kimi-K2-Instruct.config.json",
  "kimi-k2-0905": "Kimi-K2-Instruct-0905.config.json",
  "moonlight-16b": "Moonlight-16B-A3B.config.json",
};

/** Names of all presets. */
export const PRESET_NAMES: readonly string[] = Object.keys(PRESET_CONFIGS);

function unknownPreset(name: string): ConfigError {
  return new ConfigError(name, [{
    path: "preset",
    value: name,
    message: `unknown preset; valid presets: ${PRESET_NAMES.join(", ")}`,
  }]);
}

/**
 * The canonical spec of a preset and how its config fragment was read (the
 * defaults it takes are listed). Throws a `ConfigError` naming the valid presets
 * when the name is unknown.
 *
 * @example
 * ```ts
 * import { presetReading } from "./presets.ts";
 * presetReading("moonlight-16b").reading.ropeShape; // "none"
 * ```
 */
export function presetReading(name: string): SpecReading {
  if (!Object.hasOwn(PRESET_CONFIGS, name)) throw unknownPreset(name);
  const { spec, reading } = readHf(PRESET_CONFIGS[name], { name });
  return {
    spec: buildSpec(specParams(spec), { name, source: "preset" }),
    reading: { ...reading, format: "preset" },
  };
}

/**
 * The canonical spec of a preset. Throws a `ConfigError` naming the valid presets
 * when the name is unknown.
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * presetSpec("deepseek-v3").softmaxScale.toFixed(6); // "0.135234"
 * ```
 */
export function presetSpec(name: string): MlaSpec {
  return presetReading(name).spec;
}
