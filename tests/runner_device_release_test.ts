/**
 * runMatrix destroys the device it acquired itself however the run ends: a library caller's
 * own report writer that throws left it alive (only the normal end and two refusals destroyed
 * it). A device the caller passed as `ctx` stays the caller's.
 */
import assert from "node:assert/strict";
import { GpuContext } from "../gpu/device.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { gpuTest } from "./gpu_helpers.ts";
import { PASS_STUB } from "./stub_runner.ts";

const FILTER = "preset=tiny;dtype=f32;layout=thd;b=2;sq=1;causal=1;path=absorbed";

/** The devices requested while `fn` runs, each with whether it was destroyed. */
async function trackingDevices(fn: () => Promise<void>): Promise<boolean[]> {
  const seen: { destroyed: boolean }[] = [];
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (d?: GPUDeviceDescriptor) {
    const device = await request.call(this, d);
    const entry = { destroyed: false };
    seen.push(entry);
    const destroy = device.destroy.bind(device);
    device.destroy = () => {
      entry.destroyed = true;
      destroy();
    };
    return device;
  };
  try {
    await fn();
  } finally {
    GPUAdapter.prototype.requestDevice = request;
  }
  return seen.map((e) => e.destroyed);
}

gpuTest("runMatrix: a report writer that throws still releases the run's own device", async () => {
  const out = await Deno.makeTempDir({ prefix: "mla-device-release-" });
  try {
    const destroyed = await trackingDevices(async () => {
      await assert.rejects(
        runMatrix({
          matrix: "smoke",
          out,
          filter: FILTER,
          progressMode: "failures",
          testOnlyCaseRunner: PASS_STUB,
          writeReports: () => Promise.reject(new Error("my writer failed")),
        }),
        /my writer failed/,
      );
    });
    assert.ok(destroyed.length > 0, "the run acquired a device");
    assert.deepEqual(destroyed, destroyed.map(() => true));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

gpuTest("runMatrix: the caller's ctx is left alive when its writer throws", async () => {
  const out = await Deno.makeTempDir({ prefix: "mla-device-release-" });
  const ctx = await GpuContext.create();
  try {
    await assert.rejects(
      runMatrix({
        matrix: "smoke",
        out,
        filter: FILTER,
        progressMode: "failures",
        ctx,
        testOnlyCaseRunner: PASS_STUB,
        writeReports: () => Promise.reject(new Error("my writer failed")),
      }),
      /my writer failed/,
    );
    ctx.assertAlive();
    assert.equal(ctx.lost, false);
  } finally {
    ctx.destroy();
    await Deno.remove(out, { recursive: true });
  }
});
