/**
 * What one buffer load inside a loop costs on this WebGPU adapter, by address space (and,
 * for comparison, one texel fetch from an rgba32float texture, and a storage load whose
 * address is the same for every invocation: `same`), next to the same loop without the
 * load (docs/benchmarks.md, "wgsl-absorbed-gemm"). Each
 * invocation runs 4096 iterations of one vec4 load and two vec4 FMAs; 256 workgroups of 8.
 * Times are kernel times by timestamp queries (median of 5). The texture is created with
 * COPY_DST: without it wgpu zero-fills it with a render pass, after which lavapipe no
 * longer times passes that bind no texture (tools/texture_timestamp_probe.ts).
 *
 *   deno run -A tools/load_cost_probe.ts
 *
 * @module
 */
import { dispatchTimer, probeDevice } from "./probe_device.ts";
import { toolArgs } from "./tool_args.ts";

toolArgs(
  { options: {} },
  "usage: deno run -A tools/load_cost_probe.ts\n\n" +
    "What one buffer load inside a loop costs on this adapter, by address space " +
    "(docs/benchmarks.md). Takes no arguments.",
);
const { adapter, device } = await probeDevice();
const time = dispatchTimer(device);
const N = 1024;
const ITERS = 4096;
const GROUPS = 256;

function code(kind: string): string {
  const decl: Record<string, string> = {
    storage: `@group(0) @binding(0) var<storage, read> src: array<vec4<f32>, ${N}>;`,
    same: `@group(0) @binding(0) var<storage, read> src: array<vec4<f32>, ${N}>;`,
    uniform: `@group(0) @binding(0) var<uniform> src: array<vec4<f32>, ${N}>;`,
    workgroup: `@group(0) @binding(0) var<storage, read> gsrc: array<vec4<f32>, ${N}>;\n` +
      `var<workgroup> src: array<vec4<f32>, ${N}>;`,
    none: `@group(0) @binding(0) var<storage, read> src: array<vec4<f32>, ${N}>;`,
    // One rgba32float texel per vec4: lavapipe fetches a lane's texel as one 16-byte load.
    texture: `@group(0) @binding(0) var src: texture_2d<f32>;`,
  };
  const stage = kind === "workgroup"
    ? `for (var i = lid; i < ${N}u; i += 8u) { src[i] = gsrc[i]; }\n  workgroupBarrier();`
    : kind === "none"
    ? "_ = src[0];"
    : "";
  // Each lane its own element, or (`same`) one element for the whole workgroup: a driver
  // that notices a uniform address could load it once.
  const index = kind === "same" ? `(d * 7u) & ${N - 1}u` : `(d * 7u + (gid.x & 7u)) & ${N - 1}u`;
  const load = kind === "none"
    ? "vec4<f32>(f32(d), f32(d + 1u), 1.0, 2.0)"
    : kind === "texture"
    ? `textureLoad(src, vec2<u32>(${index}, 0u), 0)`
    : `src[${index}]`;
  return `${decl[kind]}
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${stage}
  var a = vec4<f32>(0.0);
  var b = vec4<f32>(0.0);
  for (var d = 0u; d < ${ITERS}u; d++) {
    let v = ${load};
    a = fma(v, v, a);
    b = fma(v, a, b);
  }
  out[gid.x] = a + b;
}`;
}

const src = device.createBuffer({
  size: N * 16,
  usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
});
const texture = device.createTexture({
  size: [N, 1],
  format: "rgba32float",
  usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
});
const out = device.createBuffer({ size: GROUPS * 8 * 16, usage: GPUBufferUsage.STORAGE });
console.log(`adapter: ${adapter.info.description || adapter.info.vendor}`);
const ms: Record<string, number> = {};
for (const kind of ["none", "storage", "same", "uniform", "workgroup", "texture"]) {
  const module = device.createShaderModule({ code: code(kind) });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{
      binding: 0,
      resource: kind === "texture" ? texture.createView() : { buffer: src },
    }, {
      binding: 1,
      resource: { buffer: out },
    }],
  });
  const run = () => time(pipeline, group, [GROUPS]);
  await run();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(await run());
  times.sort((a, b) => a - b);
  ms[kind] = times[2];
  const perLoad = kind === "none"
    ? ""
    : `, ${
      ((ms[kind] - ms.none) * 1e6 / (GROUPS * ITERS * 4)).toFixed(2)
    } ns per 8-lane component load over the no-load loop`;
  console.log(`${kind.padEnd(9)} ${ms[kind].toFixed(2)} ms${perLoad}`);
}
