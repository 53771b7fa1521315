/**
 * Which naming a model config.json uses (HF's or Megatron's), from its head-width keys: read
 * by the config reader (adapter/config.ts) and by the file-kind recognizer
 * (adapter/file_kind.ts), which names a config.json given where another file belongs.
 *
 * @module
 */

/** A config.json's naming. */
export type ConfigFormat = "hf" | "megatron";

/**
 * Guess a config's naming: HF if it has `qk_nope_head_dim` or `qk_rope_head_dim`
 * (transformers' save_pretrained also writes `qk_head_dim`, their sum, beside them),
 * Megatron if it has `qk_pos_emb_head_dim` or `qk_head_dim` without them, HF if it
 * only has `kv_lora_rank`, else null. Both namings' own widths at once
 * (`qk_pos_emb_head_dim` with an HF width) is refused by {@link readConfig}.
 *
 * @example
 * ```ts
 * import { detectConfigFormat } from "./config_format.ts";
 * detectConfigFormat({ qk_pos_emb_head_dim: 64 }); // "megatron"
 * detectConfigFormat({ qk_head_dim: 192, qk_nope_head_dim: 128, qk_rope_head_dim: 64 }); // "hf"
 * ```
 */
export function detectConfigFormat(raw: Record<string, unknown>): ConfigFormat | null {
  if ("qk_nope_head_dim" in raw || "qk_rope_head_dim" in raw) return "hf";
  if ("qk_pos_emb_head_dim" in raw || "qk_head_dim" in raw) return "megatron";
  if ("kv_lora_rank" in raw) return "hf";
  return null;
}
