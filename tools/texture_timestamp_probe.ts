/**
 * Whether this adapter's pass timestamps still measure a kernel after a compute pass has
 * bound a sampled texture, and whether gpu/texture_clears.ts keeps them (docs/benchmarks.md,
 * sessions 12 and 13). On Mesa 22.3's lavapipe a texture that cannot be copied into is
 * zero-filled by wgpu with a render pass, which leaves its framebuffer bound: from then on
 * every pass that binds no texture reads a few hundredths of a millisecond by its
 * timestamps however long it runs, while the wall clock still sees the work (a pass that
 * binds a texture is still timed). A texture with COPY_DST is zero-filled by a buffer copy
 * and leaves the timestamps alone; the harness gives every texture COPY_DST. The GL
 * fallback keeps its timestamps either way.
 *
 * It times one slow storage-only kernel (a loop of 200000 loads per invocation) by its pass
 * timestamps and by the wall clock (submit to readback), three times each: before any
 * texture; after one dispatch that reads a texel of a texture with COPY_DST; after one that
 * reads a texel of a texture without it (the breakage is lasting, so this comes last); and
 * the same slow kernel with that texture bound. It prints each, then a verdict.
 *
 *   deno run -A tools/texture_timestamp_probe.ts
 *
 * @module
 */
import { dispatchClocks, probeDevice, slowKernel, TEXEL_KERNEL } from "./probe_device.ts";
import { toolArgs } from "./tool_args.ts";

toolArgs(
  { options: {} },
  "usage: deno run -A tools/texture_timestamp_probe.ts\n\n" +
    "Whether this adapter's pass timestamps still measure a kernel after a pass has bound " +
    "a sampled texture (docs/benchmarks.md, sessions 12 and 13). Takes no arguments.",
);
const { adapter, device } = await probeDevice();

const buf = device.createBuffer({ size: 4 * 4096, usage: GPUBufferUsage.STORAGE });
/** A 4 x 4 texture; `copyable` adds COPY_DST (what gpu/texture_clears.ts does). */
const textureOf = (copyable: boolean) =>
  device.createTexture({
    size: [4, 4],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING | (copyable ? GPUTextureUsage.COPY_DST : 0),
  });
const copyableTex = textureOf(true);
const tex = textureOf(false);
const pipelineOf = (code: string) =>
  device.createComputePipeline({
    layout: "auto",
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
const slow = pipelineOf(slowKernel(false));
const texPipeline = pipelineOf(TEXEL_KERNEL);
const slowTex = pipelineOf(slowKernel(true));
const slowGroup = device.createBindGroup({
  layout: slow.getBindGroupLayout(0),
  entries: [{ binding: 0, resource: { buffer: buf } }],
});
const withTexture = (pipeline: GPUComputePipeline, texture = tex) =>
  device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: buf } }, {
      binding: 1,
      resource: texture.createView(),
    }],
  });
const copyableGroup = withTexture(texPipeline, copyableTex);
const texGroup = withTexture(texPipeline);
const slowTexGroup = withTexture(slowTex);

/** One pass of `pipeline`, timed by its timestamps and by the wall clock, in ms. */
const clocks = dispatchClocks(device);
const timed = (pipeline: GPUComputePipeline, group: GPUBindGroup, workgroups: number) =>
  clocks(pipeline, group, [workgroups]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const series = async (label: string, pipeline = slow, group = slowGroup) => {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await timed(pipeline, group, 8));
  const stamps = median(runs.map((r) => r.stamps));
  const wall = median(runs.map((r) => r.wall));
  console.log(
    `${label}: slow kernel ${stamps.toFixed(3)} ms by its timestamps, ${wall.toFixed(2)} ms ` +
      "submit to readback",
  );
  return { stamps, wall };
};

console.log(`adapter: ${adapter.info.description || adapter.info.vendor}`);
const before = await series("before any texture");
await timed(texPipeline, copyableGroup, 1);
const copyable = await series("after one pass read a texel of a texture with COPY_DST");
await timed(texPipeline, texGroup, 1);
const after = await series("after one pass read a texel of a texture without COPY_DST");
await series("the same kernel binding that texture", slowTex, slowTexGroup);
// The timestamps are broken when they lose most of what they measured before, while the
// wall clock still sees the kernel.
const brokenBy = (r: { stamps: number; wall: number }) =>
  r.stamps < 0.2 * before.stamps && r.wall > 0.5 * before.wall;
console.log(
  brokenBy(copyable)
    ? "verdict: even a texture zero-filled by a copy stops the timestamps of passes binding " +
      "none: no kernel of a timed run may read a texture here"
    : brokenBy(after)
    ? "verdict: a texture zero-filled by a render pass (no COPY_DST) stops the timestamps of " +
      "every later pass binding none; with COPY_DST they stay true, as the harness creates " +
      "textures (gpu/texture_clears.ts)"
    : "verdict: timestamps still measure the kernel after a texture was bound",
);
