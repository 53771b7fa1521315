/**
 * Every reason code the harness gives, with what it means: the one list that a matrix's
 * `expect` (matrix/reason_codes.ts, which re-exports it) and the check of a user backend's
 * answer (adapter/backend_answer.ts: a code in a harness namespace must be one of these) read.
 *
 * @module
 */
/** Where the list of reason codes is documented, for messages. */
export const REASON_CODES_DOC = "adapter/reason_codes.ts";

/**
 * Every reason code the harness gives (bare, without a backend prefix), with what it
 * means.
 */
export const REASON_CODE_MEANINGS: Readonly<Record<string, string>> = {
  "backend.cpu": "a CPU backend was asked for a GPU-only run (the layer)",
  "backend.path-mismatch": "the named backend computes the other attention path",
  "backend.unknown": "no backend is registered under the id",
  "device.loop-budget": "the kernel's loops pass the device's loop-iteration budget",
  "device.no-subgroups": "the device lacks the WebGPU feature subgroups",
  "device.none": "there is no WebGPU adapter",
  "device.too-slow": "the case is too large for the GL fallback (adapter/slow_device.ts)",
  "dtype.f16-unavailable": "dtype f16 needs the WebGPU feature shader-f16",
  "layout.no-keys": "no sequence has a key (sk = 0): nothing to bind or attend",
  "layout.no-queries":
    "no sequence has a query token (packed cu_seqlens all equal): nothing to compute",
  "limits.buffer-too-large": "a buffer passes maxBufferSize or a binding-size limit",
  "limits.texture-size": "a texture passes maxTextureDimension2D",
  "limits.workgroup-size": "the workgroup passes the device's workgroup-size limits",
  "limits.workgroup-storage": "workgroup memory passes maxComputeWorkgroupStorageSize",
  "limits.workgroups": "the dispatch passes maxComputeWorkgroupsPerDimension",
  "shape.not-vec4": "a width is not a multiple of 4",
  "shape.not-vec8": "a width is not a multiple of 8",
  "shape.value-too-wide": "kv_lora_rank is wider than the tiled kernel's workgroup covers",
  "spec.attention-bias":
    "a full layer on a spec with attention biases (attention_bias), which the layer does not add",
  "spec.longrope-factors":
    "a LongRoPE (MiniCPM3) spec whose factor list is not the one the case's key count calls for",
  "spec.no-latent-norms":
    "a full layer on a spec without latent norms (Megatron without qk_layernorm, " +
    "qk_latent_layernorm false), which the layer applies",
  "spec.output-gate":
    "a full layer on a spec whose model gates the attention output (mla_use_output_gate)",
  "spec.query-temperature":
    "Mistral 4's query temperature (llama_4_scaling_beta) where a query sits past its original length",
  "spec.sparse-attention":
    "sparse attention (DeepSeek-V3.2's indexer) where a query sees more keys than it keeps",
  "tuning.tiled-tier":
    "the plan tuning's tiledTier is over the device's workgroup memory (adapter/plan_tuning.ts)",
  "variant.kv-splits": "the forced KV splits are out of range or not possible on this backend",
};

/** Every reason code the harness gives (bare), sorted. */
export const REASON_CODES: readonly string[] = Object.keys(REASON_CODE_MEANINGS).sort();

/** The namespaces (the part before the first `.`) of the harness's reason codes. */
export const HARNESS_CODE_NAMESPACES: readonly string[] = [
  ...new Set(REASON_CODES.map((c) => c.slice(0, c.indexOf(".")))),
];
