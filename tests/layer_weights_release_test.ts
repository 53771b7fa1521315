/**
 * uploadLayerWeights, given weights that are missing a tensor or hold one of the wrong
 * size, throws after it has uploaded others: every buffer it created is destroyed before
 * the error reaches the caller (a library user who catches it has no handle on them).
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { uploadLayerWeights } from "../kernels/layer_weights.ts";
import { makeLayerWeights } from "../reference/inputs.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";

/** Runs `fn` while counting the buffers the device creates and those destroyed again. */
function countingBuffers(device: GPUDevice, fn: () => void): { created: number; alive: number } {
  const created: GPUBuffer[] = [];
  const destroyed = new Set<GPUBuffer>();
  const create = device.createBuffer;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const b = create.call(device, descriptor);
    const destroy = b.destroy.bind(b);
    b.destroy = () => {
      destroyed.add(b);
      destroy();
    };
    created.push(b);
    return b;
  };
  try {
    fn();
  } finally {
    device.createBuffer = create;
  }
  return { created: created.length, alive: created.filter((b) => !destroyed.has(b)).length };
}

gpuTest("uploadLayerWeights: a missing q_proj destroys what it had uploaded", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny");
  const weights = { ...makeLayerWeights(spec, { seed: 1 }), qProj: undefined };
  const n = countingBuffers(ctx.device, () => {
    assert.throws(
      () => uploadLayerWeights(ctx, { spec, weights }),
      /direct q path of tiny needs weights\.qProj/,
    );
  });
  assert.ok(n.created > 0, "kv_a_proj and o_proj are uploaded before q_proj is read");
  assert.equal(n.alive, 0);
});

gpuTest("uploadLayerWeights: a kv_a_layernorm of the wrong size destroys the others", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny-yarn");
  const weights = { ...makeLayerWeights(spec, { seed: 1 }), kvANorm: new Float32Array(3) };
  const n = countingBuffers(ctx.device, () => {
    assert.throws(() => uploadLayerWeights(ctx, { spec, weights }), /kvANorm/);
  });
  assert.ok(n.created > 0);
  assert.equal(n.alive, 0);
});

gpuTest("uploadLayerWeights: weights that upload keep every buffer until destroy()", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny");
  let destroy = () => {};
  const n = countingBuffers(ctx.device, () => {
    destroy = uploadLayerWeights(ctx, { spec, weights: makeLayerWeights(spec, { seed: 1 }) })
      .destroy;
  });
  assert.equal(n.alive, n.created);
  destroy();
});
