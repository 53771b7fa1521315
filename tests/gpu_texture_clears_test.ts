/**
 * The harness's devices give every texture COPY_DST (gpu/texture_clears.ts), so wgpu
 * zero-fills textures by buffer copies: on lavapipe the render-pass clear it uses otherwise
 * leaves every later pass that binds no texture untimed by its timestamps
 * (tools/texture_timestamp_probe.ts; docs/benchmarks.md, session 13).
 */
import assert from "node:assert/strict";
import { clearableUsage } from "../gpu/texture_clears.ts";
import { dispatchClocks, slowKernel, TEXEL_KERNEL } from "../tools/probe_device.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";

const TEXTURE_BINDING = 0x04;
const COPY_DST = 0x02;
const RENDER_ATTACHMENT = 0x10;

Deno.test("clearableUsage adds COPY_DST to single-sampled color textures only", () => {
  const of = (d: Partial<GPUTextureDescriptor>) =>
    clearableUsage({ size: [4, 4], format: "rgba32float", usage: TEXTURE_BINDING, ...d });
  assert.equal(of({}), TEXTURE_BINDING | COPY_DST);
  assert.equal(of({ format: "rgba16float" }), TEXTURE_BINDING | COPY_DST);
  assert.equal(of({ usage: TEXTURE_BINDING | COPY_DST }), TEXTURE_BINDING | COPY_DST);
  // Formats a copy cannot write, and multisampled textures, keep their usage (wgpu would
  // refuse COPY_DST on them).
  assert.equal(of({ format: "depth24plus", usage: RENDER_ATTACHMENT }), RENDER_ATTACHMENT);
  assert.equal(of({ format: "stencil8", usage: RENDER_ATTACHMENT }), RENDER_ATTACHMENT);
  assert.equal(
    of({ sampleCount: 4, format: "rgba8unorm", usage: RENDER_ATTACHMENT }),
    RENDER_ATTACHMENT,
  );
});

gpuTest("a texture made without COPY_DST gets it on the harness's device", async () => {
  const ctx = await gpu();
  const t = ctx.device.createTexture({
    size: [4, 4],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING,
  });
  assert.equal(t.usage, GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST);
  t.destroy();
  // A depth texture is created as asked (no error).
  ctx.device.pushErrorScope("validation");
  const d = ctx.device.createTexture({
    size: [4, 4],
    format: "depth24plus",
    usage: GPUTextureUsage.RENDER_ATTACHMENT,
  });
  assert.equal(await ctx.device.popErrorScope(), null);
  assert.equal(d.usage, GPUTextureUsage.RENDER_ATTACHMENT);
  d.destroy();
});

gpuTest(
  "a pass binding no texture is still timed by its timestamps after a pass read a texture",
  async () => {
    const ctx = await gpu();
    const device = ctx.device;
    const pipelineOf = (code: string) =>
      device.createComputePipeline({
        layout: "auto",
        compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
      });
    const buf = device.createBuffer({ size: 4 * 4096, usage: GPUBufferUsage.STORAGE });
    // Made as a backend would, without COPY_DST: on lavapipe, without the harness's
    // texture_clears.ts, wgpu would zero-fill it with a render pass.
    const tex = device.createTexture({
      size: [4, 4],
      format: "rgba32float",
      usage: GPUTextureUsage.TEXTURE_BINDING,
    });
    const slow = pipelineOf(slowKernel(false));
    const texel = pipelineOf(TEXEL_KERNEL);
    const slowGroup = device.createBindGroup({
      layout: slow.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: buf } }],
    });
    const texelGroup = device.createBindGroup({
      layout: texel.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: buf } }, {
        binding: 1,
        resource: tex.createView(),
      }],
    });
    const clocks = dispatchClocks(device);
    const fastest = async () => {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await clocks(slow, slowGroup, [8]));
      return Math.min(...runs.map((r) => r.stamps));
    };
    const before = await fastest();
    await clocks(texel, texelGroup, [1]);
    const after = await fastest();
    // Broken timestamps read about 1% of the kernel's time (0.03-0.07 ms against 4-5 ms on
    // lavapipe); a contended host varies by far less than the factor 5 allowed here.
    assert.ok(
      after > 0.2 * before,
      `the slow kernel read ${after.toFixed(3)} ms by its timestamps after a texture pass, ` +
        `${before.toFixed(3)} ms before`,
    );
    buf.destroy();
    tex.destroy();
  },
  { features: ["timestamp-query"] },
);
