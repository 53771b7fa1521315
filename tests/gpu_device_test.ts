/**
 * The GPU layer on its own: capability probe, typed no-adapter error, compile
 * diagnostics with file:line:col, the pipeline cache, error scopes, buffer
 * round trips (f32, f16), timing labels and device loss / re-acquisition.
 */
import assert from "node:assert/strict";
import { backendChoice } from "../gpu/backend_choice.ts";
import {
  createStorage,
  packTyped,
  readbackBytes,
  readbackF32,
  type StorageType,
  uploadStorage,
} from "../gpu/buffers.ts";
import { GpuContext, probeCaps } from "../gpu/device.ts";
import { bindBuffers, encodeDispatch } from "../gpu/dispatch.ts";
import {
  DeviceLostError,
  GpuScopeError,
  NoAdapterError,
  ShaderCompileError,
} from "../gpu/errors.ts";
import { withErrorScopes } from "../gpu/scopes.ts";
import { LayerEncoder } from "../kernels/layer_encoder.ts";
import { compileShader, computeEntryPoints, PipelineCache } from "../gpu/shader.ts";
import { PassTimer } from "../gpu/timing.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";

const DOUBLE = `
override FACTOR: f32 = 2.0;
@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= arrayLength(&data)) {
    return;
  }
  data[gid.x] = data[gid.x] * FACTOR;
}
`;

Deno.test("packTyped refuses a storage type it has no bytes for (bf16 was packed as f16)", () => {
  assert.deepEqual([...packTyped([1, 2], "u32")], [1, 2]);
  assert.throws(
    () => packTyped([1, 2], "bf16" as StorageType),
    /^RangeError: storage type must be "f32", "f16" or "u32", got "bf16"$/,
  );
});

Deno.test("packTyped refuses u32 data that is not an integer (1.5 and NaN were stored as 1 and 0)", () => {
  assert.throws(
    () => packTyped([0, 1.5], "u32", { label: "k_rows" }),
    /^RangeError: u32 data "k_rows": element 1 is 1\.5, not an integer in \[-2\^31, 2\^32\): stored as u32 it would read 1; upload float data as "f32"/,
  );
  assert.throws(
    () => packTyped([NaN], "u32"),
    /^RangeError: u32 data: element 0 is NaN, .* would read 0;/,
  );
  assert.throws(() => packTyped([2 ** 32], "u32"), /element 0 is 4294967296/);
  assert.deepEqual([...packTyped([-1, 2 ** 32 - 1], "u32")], [2 ** 32 - 1, 2 ** 32 - 1]);
});

Deno.test("NoAdapterError says how to get an adapter and maps to exit code 3", () => {
  const e = new NoAdapterError("requestAdapter() returned null");
  assert.equal(e.exitCode, 3);
  assert.match(e.message, /apt-get install mesa-vulkan-drivers/);
  assert.match(e.message, /DENO_WEBGPU_BACKEND=vulkan/);
});

gpuTest("probeCaps returns plain, serializable data", async () => {
  const caps = await probeCaps();
  assert.deepEqual(JSON.parse(JSON.stringify(caps)), caps);
  assert.deepEqual([...caps.features], [...caps.features].sort());
  assert.ok(caps.limits.maxStorageBufferBindingSize > 0);
  assert.equal(typeof caps.adapter.isFallbackAdapter, "boolean");
});

gpuTest(
  "a context's caps record the WebGPU backend it runs on (the GL size rule reads it)",
  async () => {
    const ctx = await gpu();
    assert.equal(ctx.caps.webgpuBackend, backendChoice().backend);
  },
);

gpuTest("compile errors name the file, line and column and show the source line", async () => {
  const ctx = await gpu();
  const code = "@compute @workgroup_size(1)\nfn main() {\n  let x = undefined_name;\n}\n";
  const err = await compileShader(ctx.device, { fileName: "broken.wgsl", code }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ShaderCompileError);
  assert.match(err.message, /^broken\.wgsl:3:11: error: /);
  assert.ok(err.message.includes("  let x = undefined_name;"));
  assert.equal(err.diagnostics[0].line, 3);
});

gpuTest("the pipeline cache compiles a (source, entry, constants) variant once", async () => {
  const ctx = await gpu();
  const cache = new PipelineCache(ctx);
  const src = { fileName: "double.wgsl", code: DOUBLE };
  const a = await cache.get(src, { entryPoint: "main" });
  const b = await cache.get(src, { entryPoint: "main" });
  assert.equal(a, b);
  assert.equal(cache.compiled, 1);
  assert.equal(cache.hits, 1);
  const c = await cache.get(src, { entryPoint: "main", constants: { FACTOR: 3 } });
  assert.notEqual(a, c);
  assert.equal(cache.compiled, 2);

  // The variant with FACTOR 3 really triples.
  const buf = uploadStorage(ctx.device, [1, 2, 3]);
  const enc = ctx.device.createCommandEncoder();
  encodeDispatch(enc, c, { group: bindBuffers(ctx.device, c, [buf]), workgroups: [1] });
  ctx.device.queue.submit([enc.finish()]);
  assert.deepEqual(Array.from(await readbackF32(ctx.device, buf, 3)), [3, 6, 9]);
  buf.destroy();
  // an entry point the file lacks: WebGPU's "Unable to find entry point 'mian'" named no file
  await assert.rejects(
    cache.get(src, { entryPoint: "mian" }),
    /^\w*Error: double\.wgsl: no pipeline of entry point "mian" \(its compute entry points: main\): .*mian/,
  );
  assert.equal(
    computeEntryPoints(
      `@compute @workgroup_size(WG, min(2u, 3u))\n fn a() {}\n` +
        "// @compute fn b() {}\nfn c() {}\n@compute\n@diagnostic(off, derivative_uniformity) fn d() {}",
    )?.join(),
    "a,d",
  );
});

gpuTest("error scopes turn validation errors into a GpuScopeError naming the step", async () => {
  const ctx = await gpu();
  const err = await withErrorScopes(ctx.device, "bad buffer", () =>
    ctx.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE,
    })).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof GpuScopeError, `got ${err}`);
  assert.equal(err.filter, "validation");
  assert.match(err.message, /^bad buffer: validation error/);
});

gpuTest("buffers round-trip f32 and f16 (round to nearest, NaN kept)", async () => {
  const ctx = await gpu();
  const f32 = uploadStorage(ctx.device, [1.5, -2, NaN]);
  const back = await readbackF32(ctx.device, f32, 3);
  assert.deepEqual(Array.from(back.slice(0, 2)), [1.5, -2]);
  assert.ok(Number.isNaN(back[2]));
  const f16 = uploadStorage(ctx.device, [1 / 3, 65504, NaN], { type: "f16" });
  const raw = await readbackBytes(ctx.device, f16, 6);
  const h = new Float16Array(raw.buffer, raw.byteOffset, 3);
  assert.equal(h[0], Math.f16round(1 / 3));
  assert.equal(h[1], 65504);
  assert.ok(Number.isNaN(h[2]));
  assert.equal(createStorage(ctx.device, 0).size, 16); // zero-sized bindings are padded
  f32.destroy();
  f16.destroy();
});

gpuTest(
  "a read back of a destroyed buffer, or past its end, is an error naming it (it read zeros)",
  async () => {
    const ctx = await gpu();
    const x = uploadStorage(ctx.device, [1, 2, 3, 4], { label: "x" });
    await assert.rejects(
      readbackBytes(ctx.device, x, 32),
      /^RangeError: reading back buffer "x": 32 bytes asked, but it holds 16: ask for at most its size/,
    );
    assert.deepEqual(Array.from(await readbackF32(ctx.device, x, 4)), [1, 2, 3, 4]);
    x.destroy();
    await assert.rejects(
      readbackF32(ctx.device, x, 4),
      /^Error: reading back buffer "x": WebGPU refused the copy \(.*destroyed.*\); a destroyed buffer/,
    );
    // the layer encoder's read: its own released buffers, and others' destroyed ones
    const enc = new LayerEncoder(ctx, "f32");
    const y = enc.upload([5, 6], "y");
    const z = uploadStorage(ctx.device, [7], { label: "z" });
    assert.deepEqual(Array.from(await enc.read(y, 2)), [5, 6]);
    await assert.rejects(
      enc.read(y, 8),
      /^RangeError: LayerEncoder\.read: 8 f32 elements: reading back buffer "y": 32 bytes asked, but it holds 16/,
    );
    z.destroy();
    await assert.rejects(
      enc.read(z, 1),
      /^Error: LayerEncoder\.read: reading back buffer "z": WebGPU refused/,
    );
    enc.release();
    await assert.rejects(
      enc.read(y, 2),
      /^Error: LayerEncoder\.read: buffer "y" was destroyed by LayerEncoder\.release\(\): read it before releasing the encoder$/,
    );
  },
);

gpuTest("timing says which clock it used", async () => {
  for (const optional of [["timestamp-query"], []] as GPUFeatureName[][]) {
    const ctx = await GpuContext.create({ optionalFeatures: optional });
    const pipeline = await new PipelineCache(ctx).get({ fileName: "double.wgsl", code: DOUBLE }, {
      entryPoint: "main",
    });
    const buf = uploadStorage(ctx.device, new Float32Array(1024).fill(1));
    const timer = new PassTimer(ctx.device, 2);
    const enc = ctx.device.createCommandEncoder();
    encodeDispatch(enc, pipeline, {
      group: bindBuffers(ctx.device, pipeline, [buf]),
      workgroups: [16],
      timestampWrites: timer.writes("double"),
    });
    timer.resolve(enc);
    const t0 = performance.now();
    ctx.device.queue.submit([enc.finish()]);
    const timing = await timer.finish(t0);
    const want = ctx.hasFeature("timestamp-query") ? "timestamp-query" : "wall-clock";
    assert.equal(timing.source, want);
    assert.equal(timing.passes[0].name, "double");
    assert.ok(timing.totalMs >= 0);
    timer.destroy();
    buf.destroy();
    ctx.destroy();
  }
});

gpuTest(
  "a lost device is reported and can be re-acquired with a fresh pipeline cache",
  async () => {
    const ctx = await GpuContext.create();
    const cache = new PipelineCache(ctx);
    await cache.get({ fileName: "double.wgsl", code: DOUBLE }, { entryPoint: "main" });
    assert.equal(cache.size, 1);
    const lost = ctx.device.lost;
    ctx.destroy();
    await lost;
    assert.ok(ctx.lost);
    assert.throws(() => ctx.assertAlive(), DeviceLostError);
    await ctx.reacquire();
    assert.equal(ctx.lost, false);
    assert.equal(ctx.generation, 1);
    ctx.assertAlive();
    await cache.get({ fileName: "double.wgsl", code: DOUBLE }, { entryPoint: "main" });
    assert.equal(cache.compiled, 2); // recompiled on the new device
    ctx.destroy();
  },
);

gpuTest(
  "a context's device allows the buffer limits its caps promise (the adapter's)",
  async () => {
    // Plans are checked against caps.limits; a device left at WebGPU's default limits
    // (maxBufferSize 256 MiB) rejected buffers the adapter layer had accepted.
    const ctx = await GpuContext.create();
    for (const k of ["maxStorageBufferBindingSize", "maxBufferSize"] as const) {
      assert.equal(ctx.device.limits[k], ctx.caps.limits[k], k);
    }
    ctx.destroy();
  },
);
