/**
 * Device ceilings measured in the same run as the kernels they judge: copy, read and
 * texture-read bandwidth, FMA throughput (f32, and f16 where the device has shader-f16),
 * per-dispatch and submit + readback overheads. Kernels: bench/ceilings.wgsl.
 *
 * Formulas (written where they are computed below):
 * - copy GB/s = (bytes read + bytes written) / time = 2 * buffer bytes / time;
 * - read GB/s = (bytes read + bytes written) / time, the write being 1/RUN of the read;
 * - texture read GB/s: the same, of rgba32float texels read with `textureLoad`, the better of
 *   two patterns (read's grid stride, and a contiguous run of texels per invocation);
 * - the memory roofline is the best of the three ({@link memoryRoof});
 * - FMA GFLOP/s = invocations * chains * ITERS * 8 / time (a vec4 fma is 4 multiplies
 *   and 4 adds); the peak is the best of 4 and 32 independent chains; a GPU runs enough
 *   invocations to fill its SMs ({@link fmaWorkgroups});
 * - bandwidth and FMA figures use each kernel's fastest repetition (a ceiling is the best
 *   the device does; the raw samples are kept);
 * - dispatch overhead = (wall(N no-op dispatches) - wall(1)) / (N - 1), one submission each;
 * - submit + readback = wall time of a submission with one no-op dispatch, a 16-byte copy
 *   and its mapAsync read;
 * - `bench` measures all of them before and after its cases and keeps the best of the two
 *   ({@link bestCeilings}).
 *
 * @module
 */
import type { GpuContext } from "../gpu/device.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import { TILED_DEFAULT_SMS } from "../adapter/tiled_plan.ts";
import { createStorage, createUniform, UniformWriter } from "../gpu/buffers.ts";
import { bindBuffers } from "../gpu/dispatch.ts";
import type { TimingSource } from "../gpu/timing.ts";
import { pipelineCacheOf } from "../kernels/attention.ts";
import { specializeSource } from "../kernels/source.ts";
import { readSourceText } from "../gpu/text_source.ts";
import { summarize } from "./stats.ts";
import { type Samples, timeDispatch } from "./timing.ts";
import { plural } from "../util/plural.ts";

/** The ceilings of a device, with the raw samples behind every figure. */
export interface Ceilings {
  /** Clock of the kernel figures (timestamp-query or wall-clock). */
  readonly source: TimingSource;
  /** Copy bandwidth, bytes read + written, GB/s (the fastest repetition). */
  readonly copyGBps: number;
  /** Read bandwidth, GB/s (the fastest repetition). */
  readonly readGBps: number;
  /**
   * Texture-read bandwidth (rgba32float texels by `textureLoad`), GB/s, the fastest
   * repetition. Absent in reports written before session 15.
   */
  readonly textureReadGBps?: number;
  /** f32 FMA peak, GFLOP/s: the better of the 4- and 32-chain kernels (fastest repetitions). */
  readonly fmaGflops: number;
  /** f32 FMA with 4 independent vec4 chains, GFLOP/s. */
  readonly fma4Gflops: number;
  /** f32 FMA with 32 independent vec4 chains, GFLOP/s. */
  readonly fma32Gflops: number;
  /** f16 FMA peak (32 chains), GFLOP/s, or null without shader-f16. */
  readonly fmaF16Gflops: number | null;
  /** Per-dispatch overhead, microseconds (wall clock). */
  readonly dispatchUs: number;
  /** Submit of one tiny dispatch + 16-byte readback, milliseconds (wall clock). */
  readonly submitReadbackMs: number;
  /** Raw samples per figure (ms per repetition), for drift statistics. */
  readonly samples: Readonly<Record<string, readonly number[]>>;
  /**
   * How many measurements the figures are the best of ({@link bestCeilings}): `bench`
   * measures before and after its cases (2). Absent: 1.
   */
  readonly measurements?: number;
}

/** Options of {@link measureCeilings}. */
export interface CeilingsOptions {
  /** Timed repetitions per figure. Default 7. */
  reps?: number;
  /** Bytes of each copy/read buffer. Default 64 MiB (above any CPU's last-level cache). */
  bufferBytes?: number;
}

const WG = 64;
const RUN = 16;
/** The memory ceilings, by the name a report prints. */
export type MemoryCeiling = "copy" | "read" | "texture read";

/**
 * The memory roofline of a set of ceilings: the best bandwidth any of the copy, read and
 * texture-read kernels reached, and which one. A kernel may read its data either way
 * (storage loads or texel fetches), so the ceiling it is judged against is the fastest
 * way the device reads memory: on lavapipe a texel fetch is about 1.3x faster than any
 * storage load, and against the copy ceiling alone a dense decode that reads K and V
 * through textures read 1.17-1.40 of its roofline.
 *
 * @example
 * ```ts
 * import { memoryRoof } from "./ceilings.ts";
 * memoryRoof({ copyGBps: 8.5, readGBps: 9.2, textureReadGBps: 12.4 });
 * // { gbps: 12.4, ceiling: "texture read" }
 * ```
 */
export function memoryRoof(
  c: Pick<Ceilings, "copyGBps" | "readGBps" | "textureReadGBps">,
): { gbps: number; ceiling: MemoryCeiling } {
  const all: [MemoryCeiling, number][] = [
    ["copy", c.copyGBps],
    ["read", c.readGBps],
    ["texture read", c.textureReadGBps ?? 0],
  ];
  const [ceiling, gbps] = all.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { gbps, ceiling };
}

/**
 * Workgroups (of 64) the FMA ceiling's kernels run on a device of these caps: 256 (16,384
 * invocations, milliseconds of work for a CPU's cores) on a device the class rules call a CPU,
 * or without caps; on a GPU, enough to fill every SM: 32 workgroups (2,048 invocations, the most an
 * NVIDIA SM holds) an SM, for its SM count, or the tiled plans' 64 SMs where it is unknown.
 * With 16,384 invocations an H200 (132 SMs) held 4 warps an SM for about 16 us a dispatch,
 * and measured 39.9 TFLOP/s (docs/gpu_machine/h200-2026-12-04), about 60% of its published
 * f32 peak, which made its compute-bound fractions read high (no GPU has run this since).
 *
 * @example
 * ```ts
 * import { fmaWorkgroups } from "./ceilings.ts";
 * fmaWorkgroups(null); // 256
 * ```
 */
export function fmaWorkgroups(caps: DeviceCaps | null): number {
  // The device as its rules class it, not as set by hand (MLA_HARNESS_DEVICE_CLASS, a caps
  // file): lavapipe planned as a GPU is still a CPU, whose ceiling 256 workgroups measure
  // (2,048 took it seconds more a measurement, f16 most).
  const c = deviceClassOf(caps === null ? null : { ...caps, deviceClass: undefined });
  if (c === null || c.kind === "cpu") return 256;
  return Math.max(256, 32 * (c.smCount ?? TILED_DEFAULT_SMS));
}
const FMA_FLOP_PER_INVOCATION = 65536; // chains * ITERS * 8, equal for both kernels

/**
 * A ceiling kernel none of whose repetitions took any time by its clock (timestamps that did
 * not advance): no bandwidth or FLOP rate follows from it.
 */
export class CeilingNotTimedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CeilingNotTimedError";
  }
}

/**
 * Whether an error is a {@link CeilingNotTimedError}, thrown here or in a Chromium page
 * (`bench --runtime chromium`: the page's error comes back as another class, by its name).
 *
 * @example
 * ```ts
 * import { CeilingNotTimedError, isCeilingNotTimed } from "./ceilings.ts";
 * isCeilingNotTimed(new CeilingNotTimedError("...")); // true
 * ```
 */
export function isCeilingNotTimed(e: unknown): e is Error {
  return e instanceof CeilingNotTimedError ||
    (e instanceof Error && e.name === "CeilingNotTimedError");
}

/**
 * The fastest repetition of a ceiling kernel that took time: a repetition of 0 ms (GPU
 * timestamps that did not advance, which bench/timing.ts reads as 0) is no time, and as the
 * fastest it made the ceiling Infinity GB/s (`null` in report.json), every memory-bound
 * fraction of the run 0 and its bound "compute". None that took time throws a
 * {@link CeilingNotTimedError} naming the kernel.
 *
 * @example
 * ```ts
 * import { fastestTimedMs } from "./ceilings.ts";
 * fastestTimedMs("copy", { source: "timestamp-query", ms: [0, 12.5, 11.8] }); // 11.8
 * ```
 */
export function fastestTimedMs(name: string, samples: Samples): number {
  const timed = samples.ms.filter((x) => x > 0 && Number.isFinite(x));
  if (timed.length > 0) return Math.min(...timed);
  throw new CeilingNotTimedError(
    `the ${name} ceiling kernel's ${plural(samples.ms.length, "repetition")} all read ` +
      `${samples.ms.length ? samples.ms[0] : "no"} ms by ${samples.source}` +
      (samples.source === "timestamp-query" ? " (its timestamps did not advance)" : "") +
      ": no ceiling follows from them, and no roofline fraction without it",
  );
}

/**
 * Measure the ceilings of the context's device (about 2-5 s on lavapipe).
 *
 * @example
 * ```ts ignore
 * import { GpuContext } from "../gpu/device.ts";
 * import { measureCeilings } from "./ceilings.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16", "timestamp-query"] });
 * const c = await measureCeilings(ctx);
 * console.log(c.copyGBps, c.fmaGflops);
 * ```
 */
export async function measureCeilings(
  ctx: GpuContext,
  options: CeilingsOptions = {},
): Promise<Ceilings> {
  const device = ctx.device;
  const reps = options.reps ?? 7;
  // through the text source: the file under Deno, the bundle's text in a browser page
  const raw = await readSourceText(new URL("./ceilings.wgsl", import.meta.url));
  const cache = pipelineCacheOf(ctx);
  const pipeline = (
    entryPoint: string,
    dtype: "f32" | "f16",
    params: Record<string, number>,
    switches: readonly string[] = [],
  ) =>
    cache.get({
      fileName: "bench/ceilings.wgsl",
      code: specializeSource(raw, { dtype, params: { WG, RUN, ...params }, switches }),
    }, { entryPoint });
  const bytes = options.bufferBytes ?? 64 * 1024 * 1024;
  const nVec4 = Math.floor(bytes / 16);
  const src = createStorage(device, nVec4 * 16, "ceilings.src");
  const dst = createStorage(device, nVec4 * 16, "ceilings.dst");
  const samples: Record<string, number[]> = {};
  let source: TimingSource = "wall-clock";
  const uniform = (n: number, stride: number) =>
    createUniform(device, new UniformWriter().u32(n).u32(stride).f32(1.5).u32(0).finish());
  const owned: GPUBuffer[] = [src, dst];
  const ownedTextures: GPUTexture[] = [];
  try {
    const run = async (
      name: string,
      p: GPUComputePipeline,
      u: GPUBuffer,
      workgroups: number,
      options: { group?: GPUBindGroup } = {},
    ): Promise<number> => {
      owned.push(u);
      const group = options.group ?? bindBuffers(device, p, [u, src, dst]);
      const x = Math.min(workgroups, 65535);
      const s = await timeDispatch(device, p, {
        group,
        workgroups: [x, Math.ceil(workgroups / x)],
        reps,
      });
      source = s.source;
      samples[name] = [...s.ms];
      // A ceiling is what the device can do: the fastest repetition, not the median. On a
      // shared machine contention only ever slows a repetition; a median taken while it
      // lasted once under-measured the copy bandwidth by 1.5x, and a dense decode then
      // read as 1.24 of its roofline.
      return fastestTimedMs(name, s);
    };
    // copy / read: one invocation per RUN vec4s, grid-stride over the whole buffer.
    const streamGroups = Math.ceil(nVec4 / (WG * RUN));
    const xGroups = Math.min(streamGroups, 65535);
    const stride = xGroups * Math.ceil(streamGroups / xGroups) * WG;
    const copyMs = await run(
      "copy",
      await pipeline("copy_vec4", "f32", {}),
      uniform(nVec4, stride),
      streamGroups,
    );
    const readMs = await run(
      "read",
      await pipeline("read_vec4", "f32", {}),
      uniform(nVec4, stride),
      streamGroups,
    );
    // texture read: read's pattern over the texels of a texture filled from `src`, rows of
    // 2^wLog2 texels (2048 for the 64 MiB default), as many whole rows as the buffer holds.
    const maxSide = device.limits.maxTextureDimension2D;
    const wLog2 = Math.min(11, Math.floor(Math.log2(Math.max(1, Math.sqrt(nVec4)))));
    const texW = 2 ** wLog2;
    const texH = Math.min(Math.floor(nVec4 / texW), maxSide);
    const texels = texW * texH;
    const texture = device.createTexture({
      label: "ceilings.texture",
      size: [texW, texH],
      format: "rgba32float",
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING |
        GPUTextureUsage.COPY_DST,
    });
    ownedTextures.push(texture);
    const fill = device.createCommandEncoder();
    fill.copyBufferToTexture({ buffer: src, bytesPerRow: texW * 16, rowsPerImage: texH }, {
      texture,
    }, [texW, texH]);
    device.queue.submit([fill.finish()]);
    const texGroups = Math.ceil(texels / (WG * RUN));
    const texX = Math.min(texGroups, 65535);
    const texStride = texX * Math.ceil(texGroups / texX) * WG;
    const texUniform = uniform(texels, texStride);
    // Two patterns, the better one the figure: read's grid stride, and a contiguous run of
    // RUN texels per invocation (each lane its own rows, as in the dense decode); each
    // through a sampled texture and through a read-only storage texture (`stex`), the
    // binding the kernels read their textures through.
    const texMs: number[] = [];
    for (
      const [name, runs, switches] of [
        ["read_tex", 0, []],
        ["read_tex_run", 1, []],
        ["read_stex", 0, ["stex"]],
        ["read_stex_run", 1, ["stex"]],
      ] as const
    ) {
      const p = await pipeline(
        "read_tex",
        "f32",
        { TEX_W_LOG2: wLog2, TEX_RUNS: runs },
        switches,
      );
      texMs.push(
        await run(name, p, texUniform, texGroups, {
          group: device.createBindGroup({
            layout: p.getBindGroupLayout(0),
            entries: [
              { binding: 0, resource: { buffer: texUniform } },
              { binding: 2, resource: { buffer: dst } },
              { binding: 3, resource: texture.createView() },
            ],
          }),
        }),
      );
    }
    const textureMs = Math.min(...texMs);
    // copy: every vec4 read once and written once.
    const copyGBps = (2 * nVec4 * 16) / (copyMs * 1e6);
    // read: every vec4 read once; one vec4 written per RUN read.
    const readGBps = (nVec4 * 16 * (1 + 1 / RUN)) / (readMs * 1e6);
    // texture read: every texel (16 bytes) read once; one vec4 written per RUN read.
    const textureReadGBps = (texels * 16 * (1 + 1 / RUN)) / (textureMs * 1e6);
    // fma: fmaGroups * WG invocations of FMA_FLOP_PER_INVOCATION flops each (a GPU's grid
    // fills its SMs: fmaWorkgroups); each writes its result within dst's vec4s.
    const fmaGroups = fmaWorkgroups(ctx.caps);
    const fmaInvocations = fmaGroups * WG;
    const gf = (ms: number) => (fmaInvocations * FMA_FLOP_PER_INVOCATION) / (ms * 1e6);
    const u0 = uniform(Math.min(fmaInvocations, nVec4), 0);
    // 4 chains * 2048 steps * 8 = 32 chains * 256 steps * 8 = 65536 FLOP per invocation.
    const fma4 = gf(
      await run("fma_4", await pipeline("fma_4", "f32", { ITERS: 2048 }), u0, fmaGroups),
    );
    const fma32 = gf(
      await run("fma_32", await pipeline("fma_32", "f32", { ITERS: 256 }), u0, fmaGroups),
    );
    let fmaF16: number | null = null;
    if (ctx.hasFeature("shader-f16")) {
      fmaF16 = gf(
        await run("fma_32_f16", await pipeline("fma_32", "f16", { ITERS: 256 }), u0, fmaGroups),
      );
    }
    // Overheads (wall clock: they are what the host sees).
    const noop = await pipeline("noop", "f32", {});
    const group = bindBuffers(device, noop, [u0, src, dst]);
    const submitN = async (n: number): Promise<number> => {
      const enc = device.createCommandEncoder();
      for (let i = 0; i < n; i++) {
        const pass = enc.beginComputePass();
        pass.setPipeline(noop);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(1);
        pass.end();
      }
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      return performance.now() - t0;
    };
    const N = 256;
    const perDispatch: number[] = [];
    await submitN(N);
    for (let i = 0; i < reps; i++) {
      const one = await submitN(1);
      const many = await submitN(N);
      perDispatch.push(Math.max(0, (many - one) / (N - 1)));
    }
    samples["dispatch"] = perDispatch;
    const staging = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    owned.push(staging);
    const readback: number[] = [];
    for (let i = 0; i < reps + 1; i++) {
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(noop);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(1);
      pass.end();
      enc.copyBufferToBuffer(dst, 0, staging, 0, 16);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      staging.getMappedRange();
      staging.unmap();
      if (i > 0) readback.push(performance.now() - t0);
    }
    samples["submit_readback"] = readback;
    return {
      source,
      copyGBps,
      readGBps,
      textureReadGBps,
      fmaGflops: Math.max(fma4, fma32),
      fma4Gflops: fma4,
      fma32Gflops: fma32,
      fmaF16Gflops: fmaF16,
      dispatchUs: summarize(perDispatch).median * 1e3,
      submitReadbackMs: summarize(readback).median,
      samples,
    };
  } finally {
    for (const b of owned) b.destroy();
    for (const t of ownedTextures) t.destroy();
  }
}

/**
 * The best of two measurements of one device's ceilings: for each bandwidth and FMA
 * figure the higher, for each overhead the lower, with the samples of both. A ceiling is
 * what the device can do, and contention only ever lowers a measurement: `bench` measures
 * before and after its cases, so a stretch of contention during one measurement does not
 * become the denominator of every roofline fraction of the run (on a shared 2-vCPU host
 * a copy ceiling once measured 2.2 GB/s against 9 GB/s minutes later, and a case that
 * healthy ceilings put under 0.2 of its roofline read as 0.6).
 *
 * @example
 * ```ts ignore
 * import { bestCeilings, measureCeilings } from "./ceilings.ts";
 * const before = await measureCeilings(ctx);
 * // ... the cases ...
 * const ceilings = bestCeilings(before, await measureCeilings(ctx));
 * ```
 */
export function bestCeilings(a: Ceilings, b: Ceilings): Ceilings {
  const samples: Record<string, number[]> = {};
  for (const c of [a, b]) {
    for (const [k, xs] of Object.entries(c.samples)) samples[k] = [...(samples[k] ?? []), ...xs];
  }
  const f16 = [a.fmaF16Gflops, b.fmaF16Gflops].filter((x): x is number => x !== null);
  return {
    source: a.source,
    copyGBps: Math.max(a.copyGBps, b.copyGBps),
    readGBps: Math.max(a.readGBps, b.readGBps),
    ...(a.textureReadGBps === undefined && b.textureReadGBps === undefined
      ? {}
      : { textureReadGBps: Math.max(a.textureReadGBps ?? 0, b.textureReadGBps ?? 0) }),
    fmaGflops: Math.max(a.fmaGflops, b.fmaGflops),
    fma4Gflops: Math.max(a.fma4Gflops, b.fma4Gflops),
    fma32Gflops: Math.max(a.fma32Gflops, b.fma32Gflops),
    fmaF16Gflops: f16.length ? Math.max(...f16) : null,
    dispatchUs: Math.min(a.dispatchUs, b.dispatchUs),
    submitReadbackMs: Math.min(a.submitReadbackMs, b.submitReadbackMs),
    samples,
    measurements: (a.measurements ?? 1) + (b.measurements ?? 1),
  };
}
