/**
 * How fast this WebGPU adapter reads memory through a storage buffer and through a texture
 * (docs/benchmarks.md, session 14). `bench`'s copy and read ceilings (bench/ceilings.wgsl)
 * read storage vec4s; on lavapipe (Mesa 22.3) a storage load whose address differs per lane
 * is done lane by lane, a texel fetch as one gather, so a kernel that reads its data through
 * textures may pass those ceilings. This probe reads the same data both ways, in the
 * two access patterns the kernels use (128 MiB, one storage binding):
 *
 * - `stride`: invocation i reads elements i, i + n, i + 2n, ... (consecutive invocations,
 *   consecutive elements: the ceilings' pattern);
 * - `run`: invocation i reads its own run of 64 consecutive elements (the pattern of a lane
 *   walking its own (key row, head) row, as expanded.wgsl's lanes do).
 *
 * Each invocation sums its 64 vec4s and writes one. Kernel times by timestamp queries, the
 * fastest of 7 (a ceiling is the best the device does; contention only slows a run).
 *
 * It also reads the same number of texels from an rgba16float texture (half the bytes,
 * the format of the f16 kernels' K/V and cache textures), and prints texels per second
 * for both formats: whether a half-width texel costs a fetch like a full one (session 15).
 * Without shader-f16 nothing changes: rgba16float is a core texture format. And it reads
 * the rgba32float texture bound as a read-only storage texture (`storagetex`): lavapipe's
 * image-load path reads faster than its texel fetch (session 16). The rgba16float and packed
 * rgba32uint textures are read that way too (`storagetex16`, `storagepacked16`), as the f16
 * kernels bind them (session 17).
 *
 *   deno run -A tools/bandwidth_probe.ts
 *
 * @module
 */
import { dispatchTimer, probeDevice } from "./probe_device.ts";
import { toolArgs } from "./tool_args.ts";

toolArgs(
  { options: {} },
  "usage: deno run -A tools/bandwidth_probe.ts\n\n" +
    "How fast this adapter reads memory through a storage buffer and through textures " +
    "(docs/benchmarks.md, session 14). Takes no arguments.",
);
const { adapter, device } = await probeDevice();
const time = dispatchTimer(device);
// 4096 x 2048 rgba32float texels = 128 MiB: lavapipe's and WebGPU's default
// maxStorageBufferBindingSize (a larger binding fails validation, and its pass reads 0 ms).
const SIDE = 4096; // texture width
const ROWS = 2048; // texture height
const N = SIDE * ROWS; // vec4s
const PER = 64; // vec4s per invocation
const WG = 64;
const INVOCATIONS = N / PER;

type Path =
  | "storage"
  | "texture"
  | "storagetex"
  | "texture16"
  | "storagetex16"
  | "packed16"
  | "storagepacked16";

function code(path: Path, pattern: "stride" | "run"): string {
  const storage = path === "storage";
  const decl = storage
    ? "@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;"
    : path === "packed16"
    ? "@group(0) @binding(0) var src: texture_2d<u32>;"
    : path === "storagepacked16"
    ? "@group(0) @binding(0) var src: texture_storage_2d<rgba32uint, read>;"
    : path === "storagetex"
    ? "@group(0) @binding(0) var src: texture_storage_2d<rgba32float, read>;"
    : path === "storagetex16"
    ? "@group(0) @binding(0) var src: texture_storage_2d<rgba16float, read>;"
    : "@group(0) @binding(0) var src: texture_2d<f32>;";
  const index = pattern === "stride" ? `i + j * ${INVOCATIONS}u` : `i * ${PER}u + j`;
  const coords = `vec2<u32>(e % ${SIDE}u, e / ${SIDE}u)`;
  // A storage texture's textureLoad takes no mip level.
  const texel = path.startsWith("storage") && !storage
    ? `textureLoad(src, ${coords})`
    : `textureLoad(src, ${coords}, 0)`;
  // packed16: one rgba32uint texel holds 8 halves, two vec4s widened by unpack2x16float.
  const load = storage ? "src[e]" : path.endsWith("packed16") ? `unpackTexel(${texel})` : texel;
  return `${decl}
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
fn unpackTexel(w: vec4<u32>) -> vec4<f32> {
  let a = vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
  let b = vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
  return a + b;
}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  var s = vec4<f32>(0.0);
  for (var j = 0u; j < ${PER}u; j++) {
    let e = ${index};
    s += ${load};
  }
  out[i] = s;
}`;
}

const src = device.createBuffer({ size: N * 16, usage: GPUBufferUsage.STORAGE });
const texture = device.createTexture({
  size: [SIDE, ROWS],
  format: "rgba32float",
  // COPY_DST: see tools/texture_timestamp_probe.ts (a texture without it stops lavapipe's
  // timestamps). STORAGE_BINDING: the `storagetex` path reads the same texture as a
  // read-only storage texture (session 16).
  usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING |
    GPUTextureUsage.COPY_DST,
});
// The same texel count at full width, each texel 8 halves (rgba32uint).
const packed16 = device.createTexture({
  size: [SIDE, ROWS],
  format: "rgba32uint",
  usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING |
    GPUTextureUsage.COPY_DST,
});
// The same texel count at half the bytes.
const texture16 = device.createTexture({
  size: [SIDE, ROWS],
  format: "rgba16float",
  usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING |
    GPUTextureUsage.COPY_DST,
});
const out = device.createBuffer({ size: INVOCATIONS * 16, usage: GPUBufferUsage.STORAGE });
const groups = INVOCATIONS / WG;
const gx = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
const grid: [number, number] = [gx, Math.ceil(groups / gx)];
console.log(`adapter: ${adapter.info.description || adapter.info.vendor}`);
console.log(`reading ${N * 16 / 2 ** 20} MiB, ${PER} vec4s per invocation, fastest of 7`);
const PATHS = [
  "storage",
  "texture",
  "storagetex",
  "texture16",
  "storagetex16",
  "packed16",
  "storagepacked16",
] as const;
for (const path of PATHS) {
  const storage = path === "storage";
  const texelBytes = path.endsWith("texture16") || path === "storagetex16" ? 8 : 16;
  for (const pattern of ["stride", "run"] as const) {
    const module = device.createShaderModule({ code: code(path, pattern) });
    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        {
          binding: 0,
          resource: storage
            ? { buffer: src }
            : (path === "texture" || path === "storagetex"
              ? texture
              : path === "texture16" || path === "storagetex16"
              ? texture16
              : packed16)
              .createView(),
        },
        { binding: 1, resource: { buffer: out } },
      ],
    });
    await time(pipeline, group, grid);
    let best = Infinity;
    for (let r = 0; r < 7; r++) best = Math.min(best, await time(pipeline, group, grid));
    const gbps = N * texelBytes / (best * 1e6);
    console.log(
      `${path.padEnd(15)} ${pattern.padEnd(6)} ${best.toFixed(2)} ms, ` +
        `${gbps.toFixed(2)} GB/s read, ${(N / (best * 1e6)).toFixed(3)} G elements/s`,
    );
  }
}
