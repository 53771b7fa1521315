/**
 * Layer tests resolve the attention plan once per case (runner/layer_plan.ts), as the
 * runner does, then run the GPU layer with it.
 *
 * @module
 */
import type {
  AttentionPath,
  Dtype,
  LayerWeights,
  LayoutRequest,
  MlaSpec,
  Tensor,
} from "../adapter/types.ts";
import type { GpuContext } from "../gpu/device.ts";
import { type LayerRunResult, runLayer } from "../kernels/layer.ts";
import type { GpuLayerWeights } from "../kernels/layer_weights.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { resolveLayerPlan } from "../runner/layer_plan.ts";

/** What {@link runLayerAt} needs: the layer case before its plan. */
export interface LayerCase {
  spec: MlaSpec;
  layout: LayoutRequest;
  weights: LayerWeights | GpuLayerWeights;
  hidden: Tensor;
  path?: AttentionPath;
  /** A backend id; without it the adapter chooses the path's backend for the device. */
  backend?: string;
  dtype?: Dtype;
  mutate?: SourceMutation;
}

/** Resolve the case's plan on the context's device, then run the GPU layer with it. */
export function runLayerAt(ctx: GpuContext, c: LayerCase): Promise<LayerRunResult> {
  const w = c.weights as Partial<GpuLayerWeights>;
  const dtype = c.dtype ?? w.dtype ?? "f32";
  const plan = resolveLayerPlan(ctx.caps, {
    spec: c.spec,
    layout: c.layout,
    path: c.path ?? "absorbed",
    backend: c.backend,
    dtype,
  });
  return runLayer(ctx, {
    spec: c.spec,
    plan,
    weights: c.weights,
    hidden: c.hidden,
    mutate: c.mutate,
  });
}
