/** Config-reading test helpers: minimal valid configs of both namings, and catching a ConfigError. */
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";

/** A minimal valid HF config (tiny widths, no q_lora). */
export const GOOD_HF: Readonly<Record<string, unknown>> = {
  hidden_size: 64,
  num_attention_heads: 4,
  q_lora_rank: null,
  kv_lora_rank: 32,
  qk_nope_head_dim: 16,
  qk_rope_head_dim: 8,
  v_head_dim: 16,
};

/** The same widths in Megatron's names. */
export const GOOD_MEGATRON: Readonly<Record<string, unknown>> = {
  hidden_size: 64,
  num_attention_heads: 4,
  q_lora_rank: null,
  kv_lora_rank: 32,
  qk_head_dim: 16,
  qk_pos_emb_head_dim: 8,
  v_head_dim: 16,
  rotary_scaling_factor: 40,
};

/** The ConfigError `f` throws (fails the test when it throws nothing or something else). */
export function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e;
  }
  return assert.fail("expected a ConfigError");
}
