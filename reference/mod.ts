/**
 * The float64 CPU references of mla-harness: a reproducible PRNG, input
 * generators, RoPE, the dense (expanded) and absorbed attention cores, the full MLA
 * layer and row sampling. Never touches the GPU.
 *
 * @module
 */
export * from "../util/prng.ts";
export * from "./paging.ts";
export * from "./inputs.ts";
export * from "./rope_apply.ts";
export * from "./attention.ts";
export * from "./layer.ts";
export * from "./sample_rows.ts";
export type {
  AttentionInputs,
  AttentionOutputs,
  AttentionPath,
  Dtype,
  LayerWeights,
  LayoutKind,
  LongRopeParams,
  MlaSpec,
  NormalizedLayout,
  Paging,
  QPath,
  QueryTemperature,
  RopePairing,
  SequenceSpan,
  SpecSource,
  Tensor,
  YarnParams,
} from "../adapter/types.ts";
