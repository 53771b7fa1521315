/**
 * What workgroup memory and barriers cost on this WebGPU adapter: the two things the
 * GPU-shaped attention kernels spend between their FMAs (docs/benchmarks.md, session 39). The
 * kernels of tools/workgroup_probe.wgsl each run ITERS trips in every invocation of a grid of
 * 256-invocation workgroups, timed by timestamp queries (median of `--reps` dispatches):
 *
 *   loop        one broadcast read and one vec4 FMA a trip (the baseline)
 *   barrier     the same trip ended by a workgroupBarrier: the barrier's cost is the difference,
 *               given in ns a trip (every workgroup of the grid runs its trips side by side)
 *   read        four distinct-address vec4 reads a trip: workgroup-memory read bandwidth
 *   broadcast   four vec4 reads a trip at one address for the whole workgroup
 *
 * The grid is 2 workgroups per SM by default (the tiled decode's target,
 * adapter/tiled_plan.ts), from the SM table (adapter/device_class.ts) or
 * MLA_HARNESS_SM_COUNT; 8 workgroups on a CPU-class adapter; `--workgroups` sets it.
 * `tools/gpu_machine_check.sh` runs it on a lent GPU (step `probes`).
 *
 *   deno run -A tools/workgroup_probe.ts [--iters N] [--workgroups N] [--reps N] [--json]
 *
 * Exit 0 when it measured, 2 on a bad option, 3 without an adapter or timestamp queries.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../adapter/errors.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import { TILED_DEFAULT_SMS, TILED_WORKGROUPS_PER_SM } from "../adapter/tiled_plan.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { probeCaps } from "../gpu/device.ts";
import { median } from "../util/stats.ts";
import { dispatchTimer, probeDevice } from "./probe_device.ts";

/** The kernels of workgroup_probe.wgsl, by the name the output gives them. */
export const PROBE_ENTRY_POINTS = {
  loop: "loop_only",
  barrier: "barrier_trip",
  read: "lds_read",
  broadcast: "lds_broadcast",
} as const;

/** One probe's name. */
export type ProbeName = keyof typeof PROBE_ENTRY_POINTS;

/** Invocations per workgroup of every probe kernel (its WG). */
export const PROBE_WORKGROUP_SIZE = 256;
/** The most workgroups a grid may have (its output buffer, 4 KiB a workgroup: 32 MiB). */
export const PROBE_MAX_WORKGROUPS = 8192;
/** vec4 reads per trip of the `read` and `broadcast` kernels. */
export const PROBE_READS_PER_TRIP = 4;

/** What one run measured, and the figures derived from it. */
export interface WorkgroupProbeResult {
  /** The adapter's description. */
  adapter: string;
  /** Workgroups of the grid, and where that number came from. */
  workgroups: number;
  workgroupsFrom: string;
  /** Trips of each kernel's loop per invocation. */
  iters: number;
  /** Timed dispatches per kernel (each figure is their median). */
  reps: number;
  /** Median kernel time of each probe, ms. */
  ms: Record<ProbeName, number>;
  /** (barrier - loop) / iters, in ns: what a barrier adds to one trip of the grid. */
  barrierNsPerTrip: number;
  /** Workgroup-memory bytes read per second over the grid, GB/s, distinct and broadcast. */
  readGBps: number;
  broadcastGBps: number;
}

/**
 * The probe kernels' WGSL with `iters` trips (the `// @param` line of ITERS replaced).
 *
 * @example
 * ```ts
 * import { probeSource } from "./workgroup_probe.ts";
 * (await probeSource(64)).includes("const ITERS: u32 = 64u;"); // true
 * ```
 */
export async function probeSource(iters: number): Promise<string> {
  const text = await Deno.readTextFile(new URL("./workgroup_probe.wgsl", import.meta.url));
  const line = /^const ITERS: u32 = \d+u; \/\/ @param.*$/m;
  if (!line.test(text)) {
    throw new Error("workgroup_probe.wgsl: no `const ITERS ... // @param` line");
  }
  return text.replace(line, `const ITERS: u32 = ${iters}u;`);
}

/**
 * The figures of one run from each probe's median time (rules in the module's text).
 *
 * @example
 * ```ts
 * import { probeFigures } from "./workgroup_probe.ts";
 * const f = probeFigures({ loop: 1, barrier: 3, read: 2, broadcast: 1 }, 1000, 100);
 * f.barrierNsPerTrip; // 2000
 * f.readGBps; // 819.2
 * ```
 */
export function probeFigures(
  ms: Record<ProbeName, number>,
  iters: number,
  workgroups: number,
): Pick<WorkgroupProbeResult, "barrierNsPerTrip" | "readGBps" | "broadcastGBps"> {
  const bytes = workgroups * PROBE_WORKGROUP_SIZE * iters * PROBE_READS_PER_TRIP * 16;
  return {
    barrierNsPerTrip: ((ms.barrier - ms.loop) * 1e6) / iters,
    readGBps: bytes / (ms.read * 1e6),
    broadcastGBps: bytes / (ms.broadcast * 1e6),
  };
}

/**
 * The grid: `--workgroups` when given, else {@link TILED_WORKGROUPS_PER_SM} per SM of the
 * device class (adapter/device_class.ts: a caps file's or MLA_HARNESS_SM_COUNT's count, then
 * the table), 8 on a CPU-class device, and the planner's {@link TILED_DEFAULT_SMS} SMs on a GPU
 * whose count is unknown; at most {@link PROBE_MAX_WORKGROUPS}.
 *
 * @example
 * ```ts
 * import { probeWorkgroups } from "./workgroup_probe.ts";
 * const h100 = { adapter: { vendor: "4318", architecture: "", device: "9008",
 *   description: "NVIDIA H100 80GB HBM3", isFallbackAdapter: false }, features: [], limits: {} };
 * probeWorkgroups(h100).workgroups; // 264
 * probeWorkgroups({ ...h100, adapter: { ...h100.adapter, description: "llvmpipe" } }).workgroups; // 8
 * probeWorkgroups({ ...h100, smCount: 8 }).workgroups; // 16
 * ```
 */
export function probeWorkgroups(
  caps: DeviceCaps,
  workgroups?: number,
): { workgroups: number; from: string } {
  if (workgroups !== undefined) return { workgroups, from: "--workgroups" };
  const cls = deviceClassOf(caps)!;
  if (cls.kind === "cpu") return { workgroups: 8, from: "a cpu-class adapter" };
  const per = TILED_WORKGROUPS_PER_SM;
  if (cls.smCount !== null) {
    return {
      workgroups: Math.min(per * cls.smCount, PROBE_MAX_WORKGROUPS),
      from: `${per} per SM, ${cls.smCount} SMs (${cls.smCountSource})`,
    };
  }
  return {
    workgroups: per * TILED_DEFAULT_SMS,
    from: `${per} per SM of ${TILED_DEFAULT_SMS} (SMs unknown: the planner's default)`,
  };
}

/**
 * The run as text: one line per probe, with its figure.
 *
 * @example
 * ```ts
 * import { formatProbe, probeFigures } from "./workgroup_probe.ts";
 * const ms = { loop: 1, barrier: 3, read: 2, broadcast: 1 };
 * formatProbe({ adapter: "x", workgroups: 100, workgroupsFrom: "--workgroups", iters: 1000,
 *   reps: 5, ms, ...probeFigures(ms, 1000, 100) }).split("\n")[2];
 * // "barrier    3.000 ms  +2000.0 ns a trip over loop"
 * ```
 */
export function formatProbe(r: WorkgroupProbeResult): string {
  const f = (ms: number) => `${ms.toFixed(3).padStart(8)} ms`;
  return [
    `adapter ${r.adapter}: ${r.workgroups} workgroups of ${PROBE_WORKGROUP_SIZE} (${r.workgroupsFrom}), ` +
    `${r.iters} trips each, median of ${r.reps}`,
    `loop      ${f(r.ms.loop)}  one broadcast read and one vec4 fma a trip`,
    `barrier   ${f(r.ms.barrier)}  ${r.barrierNsPerTrip >= 0 ? "+" : ""}${
      r.barrierNsPerTrip.toFixed(1)
    } ns a trip over loop${
      // read as a barrier that saves time, where it is timing noise
      r.barrierNsPerTrip < 0 ? " (faster than the loop: noise, raise --iters or --reps)" : ""}`,
    `read      ${f(r.ms.read)}  ${
      r.readGBps.toFixed(1)
    } GB/s of workgroup-memory reads (distinct addresses)`,
    `broadcast ${f(r.ms.broadcast)}  ${
      r.broadcastGBps.toFixed(1)
    } GB/s (one address per workgroup)`,
  ].join("\n");
}

const USAGE =
  `usage: deno run -A tools/workgroup_probe.ts [--iters N] [--workgroups N] [--reps N] [--json]

Times workgroup-memory reads and barriers on this adapter (tools/workgroup_probe.wgsl).
  --iters N       trips of each kernel's loop per invocation, 1 to 16384 (default 4096)
  --workgroups N  workgroups of 256 invocations, 1 to 8192 (default: 2 per SM; its output
                  buffer, 4 KiB a workgroup, stays within every device's 128 MiB binding)
  --reps N        timed dispatches per kernel, 1 to 100 (default 5; the median is given)
  --json          print the result as JSON
Exit 0 when it measured, 2 on a bad option, 3 without an adapter or timestamp queries.`;

/** A whole number of `flag` within [lo, hi], or the usage error naming it. */
function wholeNumber(
  flag: string,
  text: string | undefined,
  lo: number,
  hi: number,
  dflt?: number,
) {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < lo || n > hi) {
    throw new RangeError(
      `${flag}: ${JSON.stringify(text)} must be a whole number from ${lo} to ${hi}`,
    );
  }
  return n;
}

if (import.meta.main) {
  let opts: { iters: number; workgroups?: number; reps: number; json: boolean };
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        iters: { type: "string" },
        workgroups: { type: "string" },
        reps: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    opts = {
      iters: wholeNumber("--iters", values.iters, 1, 16384, 4096)!,
      workgroups: wholeNumber("--workgroups", values.workgroups, 1, PROBE_MAX_WORKGROUPS),
      reps: wholeNumber("--reps", values.reps, 1, 100, 5)!,
      json: values.json,
    };
  } catch (e) {
    console.error(`workgroup_probe: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    Deno.exit(2);
  }
  const { adapter, device } = await probeDevice();
  let caps: DeviceCaps;
  try {
    // MLA_HARNESS_SM_COUNT and MLA_HARNESS_DEVICE_CLASS as the harness reads them
    caps = await probeCaps(adapter);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`workgroup_probe: ${e.message}`);
    Deno.exit(2);
  }
  const grid = probeWorkgroups(caps, opts.workgroups);
  const module = device.createShaderModule({ code: await probeSource(opts.iters) });
  const src = device.createBuffer({
    size: 1024 * 16,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(src, 0, new Float32Array(4096).map((_, i) => (i % 7) * 0.125));
  const out = device.createBuffer({
    size: grid.workgroups * PROBE_WORKGROUP_SIZE * 16,
    usage: GPUBufferUsage.STORAGE,
  });
  const time = dispatchTimer(device);
  const ms = {} as Record<ProbeName, number>;
  for (const [name, entryPoint] of Object.entries(PROBE_ENTRY_POINTS) as [ProbeName, string][]) {
    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint },
    });
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: src } }, {
        binding: 1,
        resource: { buffer: out },
      }],
    });
    await time(pipeline, group, [grid.workgroups]); // compile and warm up, untimed
    const samples: number[] = [];
    for (let r = 0; r < opts.reps; r++) {
      samples.push(await time(pipeline, group, [grid.workgroups]));
    }
    ms[name] = median(samples);
  }
  const result: WorkgroupProbeResult = {
    adapter: adapter.info.description || `${adapter.info.vendor} ${adapter.info.device}`,
    workgroups: grid.workgroups,
    workgroupsFrom: grid.from,
    iters: opts.iters,
    reps: opts.reps,
    ms,
    ...probeFigures(ms, opts.iters, grid.workgroups),
  };
  console.log(opts.json ? JSON.stringify(result, null, 2) : formatProbe(result));
  device.destroy();
}
