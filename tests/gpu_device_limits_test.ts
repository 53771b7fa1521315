/**
 * The device is created with the adapter's maxComputeInvocationsPerWorkgroup and
 * maxComputeWorkgroupSizeX (gpu/device.ts), so the workgroup sizes plans are checked
 * against (the adapter's caps) are the ones the device accepts: lavapipe offers 1024,
 * WebGPU's default is 256, and the tiled kernels' plans are checked against the former.
 */
import assert from "node:assert/strict";
import { CAPS, gpu, gpuTest } from "./gpu_helpers.ts";

gpuTest("the device has the adapter's workgroup-size limits, not WebGPU's defaults", async () => {
  const ctx = await gpu();
  for (const name of ["maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX"] as const) {
    const adapter = CAPS!.limits[name];
    assert.equal(typeof adapter, "number", `the adapter reports ${name}`);
    assert.equal(ctx.device.limits[name], adapter, `device ${name}`);
  }
});
