/**
 * Bundled presets, written as Hugging Face DeepSeek config fragments so they go
 * through the same validation and derivation as a user's config.json.
 *
 * Sources: DeepSeek-V3 `inference/configs` (16B = V2-Lite, 236B = V2, 671B = V3),
 * Kimi-K2 and Moonlight configs, as summarized in ../shared/MLA_MATH.md.
 *
 * @module
 */
import { specFromHf } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { buildSpec, specParams } from "./spec.ts";
import type { MlaSpec } from "./types.ts";

const yarn = (factor: number, mscale: number) => ({
  type: "yarn",
  factor,
  original_max_position_embeddings: 4096,
  beta_fast: 32,
  beta_slow: 1,
  mscale,
  mscale_all_dim: mscale,
});

const mla = { kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128 };

/** Raw HF-style config of every preset, by name. */
export const PRESET_CONFIGS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  "deepseek-v2-lite": {
    hidden_size: 2048,
    num_attention_heads: 16,
    q_lora_rank: null,
    ...mla,
    rope_theta: 10000,
    rope_scaling: yarn(40, 0.707),
  },
  "deepseek-v2": {
    hidden_size: 5120,
    num_attention_heads: 128,
    q_lora_rank: 1536,
    ...mla,
    rope_theta: 10000,
    rope_scaling: yarn(40, 0.707),
  },
  "deepseek-v3": {
    hidden_size: 7168,
    num_attention_heads: 128,
    q_lora_rank: 1536,
    ...mla,
    rope_theta: 10000,
    rope_scaling: yarn(40, 1.0),
  },
  "kimi-k2": {
    hidden_size: 7168,
    num_attention_heads: 64,
    q_lora_rank: 1536,
    ...mla,
    rope_theta: 50000,
    rope_scaling: yarn(32, 1.0),
  },
  "moonlight-16b": {
    hidden_size: 2048,
    num_attention_heads: 16,
    q_lora_rank: null,
    ...mla,
    rope_theta: 50000,
    rope_scaling: null,
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
    rope_scaling: yarn(40, 0.707),
  },
};

/** Names of all presets. */
export const PRESET_NAMES: readonly string[] = Object.keys(PRESET_CONFIGS);

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
  const raw = PRESET_CONFIGS[name];
  if (!raw) {
    throw new ConfigError(name, [{
      path: "preset",
      value: name,
      message: `unknown preset; valid presets: ${PRESET_NAMES.join(", ")}`,
    }]);
  }
  return buildSpec(specParams(specFromHf(raw, { name })), { name, source: "preset" });
}
