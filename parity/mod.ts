/**
 * Parity: comparison metrics (FlashMLA-style elementwise, cos_diff, relative L2,
 * exact non-finite matching) and the dtype x path tolerance table. Knows nothing
 * about files or the GPU.
 *
 * @example
 * ```ts
 * import { compare, toleranceFor } from "./mod.ts";
 * const tol = toleranceFor("f32", "absorbed").out;
 * compare([1, 2], [1, 2], tol).pass; // true
 * ```
 *
 * @module
 */

export * from "./compare.ts";
export * from "./tolerance.ts";
export * from "./faults.ts";
export * from "./compare_layer.ts";
export type {
  AttentionOutputs,
  AttentionPath,
  AutoPathRequest,
  BackendId,
  BackendRequest,
  BufferSpec,
  CacheTextureShape,
  Dtype,
  ExpandTextures,
  HarnessTiles,
  KernelVariant,
  KvSplitsBudget,
  LayoutKind,
  LayoutRequest,
  LongRopeParams,
  MlaSpec,
  NormalizedLayout,
  Paging,
  Plan,
  PlanRope,
  QPath,
  QueryTemperature,
  QueryTileChoice,
  Reason,
  ReferenceFormulation,
  RopePairing,
  RunsOn,
  SequenceSpan,
  SpecSource,
  Tensor,
  Unsupported,
  YarnParams,
} from "../adapter/types.ts";
