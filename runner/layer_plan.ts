/**
 * The one `resolve()` of a layer or decode case: the attention plan the GPU layer
 * runs with (kernels/ never resolves; it receives this plan).
 *
 * @module
 */
import { isGpuPlan, layerReasons, resolve, type ResolveOptions } from "../adapter/resolve.ts";
import type {
  AttentionPath,
  BackendId,
  DeviceCaps,
  Dtype,
  GpuPlan,
  LayoutRequest,
  MlaSpec,
} from "../adapter/types.ts";
import { LayerUnsupportedError } from "../kernels/layer.ts";

/** What a layer plan is resolved from. */
export interface LayerPlanRequest {
  /** The layer spec. */
  spec: MlaSpec;
  /** The token layout (self-attention for `runLayer`; the cache's for `decodeStep`). */
  layout: LayoutRequest;
  /** Attention path (`auto:<path>`: the adapter chooses its backend), unless `backend` is given. */
  path?: AttentionPath;
  /** A backend id (a registered user backend included); wins over `path`. */
  backend?: BackendId;
  /** Storage dtype. */
  dtype: Dtype;
}

/**
 * Resolve the attention plan of a layer or decode case on a device, or throw
 * {@link LayerUnsupportedError} with every reason (a CPU backend included: the layer
 * runs on the GPU).
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { resolveLayerPlan } from "./layer_plan.ts";
 * try {
 *   resolveLayerPlan(null, { spec: presetSpec("tiny"), path: "expanded", dtype: "f32",
 *     layout: { kind: "thd", cuSeqlensQ: [0, 3, 5], causal: true } });
 * } catch (e) {
 *   (e as Error).name; // "LayerUnsupportedError" (no device)
 * }
 * ```
 */
export function resolveLayerPlan(
  caps: DeviceCaps | null,
  request: LayerPlanRequest,
  options: ResolveOptions = {},
): GpuPlan {
  // The layer itself, before its attention: what the layer lacks (an output gate, biases,
  // the identity for latent norms) is refused whatever the device.
  const missing = layerReasons(request.spec);
  if (missing.length > 0) throw new LayerUnsupportedError(missing);
  const backend = request.backend ?? `auto:${request.path ?? "absorbed"}` as const;
  const r = resolve(
    { spec: request.spec, layout: request.layout, dtype: request.dtype, backend },
    caps,
    options,
  );
  if (r.kind === "unsupported") throw new LayerUnsupportedError(r.reasons);
  if (!isGpuPlan(r)) {
    throw new LayerUnsupportedError([{
      code: "backend.cpu",
      message: `backend ${r.backend} runs on the CPU; the layer runs on the GPU`,
    }]);
  }
  return r;
}
