/**
 * Run benchmark cases: resolve the plan, generate seeded inputs, run the kernels
 * once through `runAttention` (which also compiles), then repeat the submission
 * (warm-up + timed repetitions) and derive ms, GFLOP/s, GB/s and the roofline
 * fraction against ceilings measured in the same run.
 *
 * What is timed: `ms` is the attention core (absorbed + combine passes, or the
 * dense `expanded` pass) by GPU timestamps when present (wall clock otherwise,
 * labelled in `source`); `submit_ms` is the whole submission (absorption or K/V
 * expansion, RoPE, attention, up-projection). For the expanded path the K/V
 * expansion is cache construction, so only the attention pass is repeated and
 * `submit_ms` is the first submission (it includes the expansion). The absorbed path
 * repeats every pass but cache construction (the RoPE of the cached k_pe, which the model
 * applies once per key when it writes it; `wgsl-absorbed-gemm`'s copy of the latent cache
 * into a texture; w_kv_b's texture copy). Cache construction is timed once, apart
 * (`expansion_ms`).
 *
 * @module
 */
import { presetSpec } from "../adapter/presets.ts";
import { pathMismatch } from "../adapter/registry.ts";
import { isGpuPlan, resolve } from "../adapter/resolve.ts";
import { withParams } from "../adapter/spec.ts";
import type { LayoutRequest, MlaSpec } from "../adapter/types.ts";
import { isRemoteDevice, type RunDevice } from "../gpu/runtime.ts";
import { benchDeviceOf } from "./remote.ts";
import { visibleKeyCount } from "../adapter/layout.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { shuffledPaging } from "../reference/paging.ts";
import { type BenchCase, benchCaseId } from "./cases.ts";
import { type Ceilings, memoryRoof } from "./ceilings.ts";
import { rooflineFraction, workOf } from "./formulas.ts";
import { timingScopeOf } from "../adapter/timing_scope.ts";
import { measureAttention, scopedMs } from "../kernels/measure.ts";
import type { ReplayMode } from "../kernels/replay.ts";
import { type SampleStats, summarize } from "./stats.ts";
import { passMedians } from "./pass_times.ts";
import type { Timing } from "../gpu/timing.ts";

/** One benchmark result (a JSON record of `bench --json`). */
export interface BenchRecord {
  /** Stable case id. */
  readonly id: string;
  /** The case. */
  readonly case: BenchCase;
  /** ok, unsupported (with the reason) or error (with the message). */
  readonly status: "ok" | "unsupported" | "error";
  /** Why it did not run. */
  readonly reason?: string;
  /**
   * The adapter's reason codes of an unsupported case, one per reason of `reason` (none for
   * a plan that runs on the CPU): what bench/unused_backends.ts judges, not the text.
   */
  readonly reason_codes?: string[];
  /** Clock of `ms` (timestamp-query or wall-clock). */
  readonly source?: string;
  /**
   * How the timed replays were spaced (kernels/replay.ts): "queued" back to back, or
   * "waited" each after the last one's readback (always so with the wall clock).
   */
  readonly replay?: ReplayMode;
  /** Untimed replays for this long before the counted ones, ms (`bench --warmup-ms`; absent: 0). */
  readonly warmup_ms?: number;
  /** Median attention-core time, ms. */
  readonly ms?: number;
  /** Spread of the samples: min, max, relative median absolute deviation. */
  readonly ms_min?: number;
  /** Largest sample, ms. */
  readonly ms_max?: number;
  /** Relative median absolute deviation of the samples. */
  readonly mad_rel?: number;
  /** Raw attention-core samples, ms (for drift statistics). */
  readonly samples?: number[];
  /** FLOP / ms (FlashMLA formula, see formulas.ts), GFLOP/s. */
  readonly gflops?: number;
  /** Bytes / ms (FlashMLA formula), GB/s. */
  readonly gbps?: number;
  /** max(bytes / memory bandwidth, FLOP / FMA peak) / ms (formulas.ts, ceilings.ts memoryRoof). */
  readonly roofline_fraction?: number;
  /** Which ceiling bounds the case: "memory" or "compute". */
  readonly bound?: "memory" | "compute";
  /** FLOP counted. */
  readonly flop?: number;
  /** Bytes counted. */
  readonly bytes?: number;
  /** Whole submission, ms (median of repeats, or the first submission for expanded). */
  readonly submit_ms?: number;
  /**
   * Cache construction, timed in one replay after the timed ones; not in `ms` nor in
   * `submit_ms` of the absorbed path: the expanded path's passes outside the attention
   * core (q packing, RoPE, the K/V expansion), the gemm absorbed path's copy of the latent
   * cache into a texture. (The name is older than the second kind; the tables call it
   * "construction ms".)
   */
  readonly expansion_ms?: number;
  /**
   * Per pass name, its time in a step (the sum of its dispatches in a replay), the median
   * over the replays, ms (the expanded path's passes outside the core from their one
   * replay). A sum of these medians need not equal a median of the sums (`ms`).
   */
  readonly passes?: Record<string, number>;
  /** The backend that ran the case (ok records). */
  readonly backend?: string;
  /** The kernel variant. */
  readonly variant?: {
    family: string;
    workgroupSize: number;
    headsPerTile: number;
    kvSplits: number;
    /** Queries per tile (1: a decode tile). */
    queryTile: number;
    /**
     * wgsl-expanded: vec4s per trip of its decode tile's d loops (the plan's `decodeStep`; 4
     * where one fetch per trip would not fit the device's loop budget, a slower form: a
     * sweep over the cache length shows the step there). Absent for other kernels.
     */
    decodeStep?: number;
  };
}

/** Options of {@link runBenchCase}. */
export interface RunBenchOptions {
  /** Ceilings of this device, measured in the same run. */
  ceilings: Ceilings;
  /** Timed repetitions (at least 7 for reports). Default 7. */
  reps?: number;
  /** Warm-up submissions before the timed ones. Default 1 (plus the first run). */
  warmup?: number;
  /** How the replays are spaced (kernels/replay.ts; default "queued"). */
  replay?: ReplayMode;
  /** Untimed replays for this long before the counted ones, ms (default 0). */
  warmupMs?: number;
  /**
   * Run every case on this registered backend instead of the bundled backend of its path
   * (`bench --backend`); a case of the other path is unsupported (backend.path-mismatch).
   */
  backend?: string;
}

/**
 * Layout request of a benchmark case (bshd; shuffled pages when `page` > 0).
 *
 * @example
 * ```ts
 * import { benchLayout } from "./run_bench.ts";
 * benchLayout({ preset: "tiny", heads: 4, path: "absorbed", dtype: "f32", b: 1, sq: 1, sk: 8,
 *   causal: true, page: 0 }).kind; // "bshd"
 * ```
 */
export function benchLayout(c: BenchCase): LayoutRequest {
  const paging = c.page > 0
    ? { paging: shuffledPaging(Array(c.b).fill(c.sk), { pageSize: c.page, seed: 7 }) }
    : {};
  return { kind: "bshd", batch: c.b, seqQ: c.sq, seqK: c.sk, causal: c.causal, ...paging };
}

/**
 * The spec of a benchmark case: its preset with the case's head count.
 *
 * @example
 * ```ts
 * import { benchMatrix } from "./cases.ts";
 * import { benchSpec } from "./run_bench.ts";
 * benchSpec({ ...benchMatrix("headline")[0], heads: 8 }).numHeads; // 8
 * ```
 */
export function benchSpec(c: BenchCase): MlaSpec {
  const base = presetSpec(c.preset);
  return c.heads === base.numHeads ? base : withParams(base, { numHeads: c.heads });
}

/**
 * Run one benchmark case. Unsupported cases (e.g. a dense K above the binding
 * limit) and errors come back as records, never thrown.
 *
 * @example
 * ```ts ignore
 * import { GpuContext } from "../gpu/device.ts";
 * import { benchMatrix } from "./cases.ts";
 * import { measureCeilings } from "./ceilings.ts";
 * import { runBenchCase } from "./run_bench.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16", "timestamp-query"] });
 * const ceilings = await measureCeilings(ctx);
 * const rec = await runBenchCase(ctx, benchMatrix("tiny")[0], { ceilings });
 * ```
 */
export async function runBenchCase(
  ctx: RunDevice,
  c: BenchCase,
  options: RunBenchOptions,
): Promise<BenchRecord> {
  const id = benchCaseId(c);
  try {
    const spec = benchSpec(c);
    // Without --backend the adapter chooses the path's backend for this device.
    const backend = options.backend ?? `auto:${c.path}` as const;
    const mismatch = pathMismatch(backend, c.path);
    if (mismatch) {
      return {
        id,
        case: c,
        status: "unsupported",
        reason: `${mismatch.code}: ${mismatch.message}`,
        reason_codes: [mismatch.code],
      };
    }
    const plan = resolve({
      spec,
      dtype: c.dtype,
      backend,
      layout: benchLayout(c),
    }, ctx.caps);
    if (!isGpuPlan(plan)) {
      return {
        id,
        case: c,
        status: "unsupported",
        reason: plan.kind === "unsupported"
          ? plan.reasons.map((r) => `${r.code}: ${r.message}`).join("; ")
          : `backend ${plan.backend} runs on the ${plan.runsOn}`,
        reason_codes: plan.kind === "unsupported" ? plan.reasons.map((r) => r.code) : [],
      };
    }
    const layout = plan.layout;
    const inputs = makeAttentionInputs(spec, layout, { seed: 1 });
    // What the plan computes decides what is timed (pathMismatch above keeps it the case's).
    const scope = timingScopeOf(plan.path);
    const reps = options.reps ?? 7;
    const how = {
      spec,
      inputs,
      scope,
      reps,
      warmup: options.warmup ?? 1,
      replay: options.replay,
      warmupMs: options.warmupMs,
    } as const;
    // another runtime (run --runtime chromium) measures in its page with the same code
    const measured = isRemoteDevice(ctx)
      ? await benchDeviceOf(ctx).measureAttention(plan, how)
      : await measureAttention(ctx, plan, how);
    const { repeats } = measured;
    const result = { timing: measured.timing };
    // `ms` is the attention core's time whatever was replayed (with timestamps).
    const coreMs = coreSamples(repeats, measured.core);
    const untimed = untimedReason(coreMs, repeats[0]?.source ?? "wall-clock", {
      backwards: repeats.some((t) => t.passes.some((p) => p.clock === "went backwards")),
    });
    if (untimed !== null) {
      return { id, case: c, status: "error", reason: untimed, backend: plan.backend };
    }
    const st = timedStats(coreMs);
    // Per pass name, its time in a step (all its dispatches in a replay), the median over the
    // replays (and the one replay of the passes outside the core). The median of one
    // dispatch's time read a pass dispatched once per group of sequences as a fraction of it.
    const outside = measured.outsideCore;
    const passes = passMedians(outside ? [...repeats, outside] : repeats);
    let pairs = 0;
    for (let t = 0; t < layout.totalQ; t++) pairs += visibleKeyCount(layout, t);
    const keys = layout.seqs.reduce((s, q) => s + q.kLen, 0);
    const work = workOf(spec, {
      path: plan.path,
      dtype: plan.variant.dtype,
      shape: { heads: plan.attention.numHeads, queries: layout.totalQ, keys, pairs },
    });
    const submit = scope === "all"
      ? summarize(repeats.map((t) => t.totalMs)).median
      : result.timing?.totalMs;
    return {
      id,
      case: c,
      status: "ok",
      source: repeats[0]?.source ?? "wall-clock",
      replay: repeats[0]?.source === "timestamp-query" ? (options.replay ?? "queued") : "waited",
      ...(options.warmupMs ? { warmup_ms: options.warmupMs } : {}),
      ms: st.median,
      ms_min: st.min,
      ms_max: st.max,
      mad_rel: st.madRel,
      samples: coreMs,
      gflops: work.flop / (st.median * 1e6),
      gbps: work.bytes / (st.median * 1e6),
      ...rooflineOf(work, st.median, options.ceilings),
      flop: work.flop,
      bytes: work.bytes,
      submit_ms: submit,
      ...(outside ? { expansion_ms: outside.totalMs } : {}),
      passes,
      backend: plan.backend,
      variant: {
        family: plan.variant.family,
        workgroupSize: plan.variant.workgroupSize,
        headsPerTile: plan.variant.headsPerTile,
        kvSplits: plan.variant.kvSplits,
        queryTile: plan.variant.queryTile,
        ...(plan.variant.decodeStep === undefined ? {} : { decodeStep: plan.variant.decodeStep }),
      },
    };
  } catch (e) {
    return { id, case: c, status: "error", reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Why a case's timed repetitions give no time, or null when they do: a median of 0 ms (GPU
 * timestamps that did not advance, which the timing reads as 0) made its GFLOP/s, GB/s and
 * roofline fraction Infinity (`null` in report.json), and its warning blamed the ceilings.
 *
 * @example
 * ```ts
 * import { untimedReason } from "./run_bench.ts";
 * untimedReason([0.4, 0.5, 0.4], "timestamp-query"); // null
 * untimedReason([0, 0, 0.4], "timestamp-query")?.startsWith("2 of 3"); // true
 * ```
 */
export function untimedReason(
  samples: readonly number[],
  source: string,
  options: { backwards?: boolean } = {},
): string | null {
  const median = summarize(samples).median;
  if (median > 0 && Number.isFinite(median)) return null;
  const zero = samples.filter((x) => !(x > 0)).length;
  return `${zero} of ${samples.length} timed repetitions of the attention core read ` +
    `${median} ms by ${source}` +
    (source === "timestamp-query"
      ? options.backwards
        ? " (timestamps of its passes that did not advance or went backwards)"
        : " (its timestamps did not advance)"
      : "") +
    ": no time to judge, so no GFLOP/s, GB/s or roofline fraction";
}

/**
 * The attention core's ms in each timed replay (kernels/measure.ts `scopedMs`), 0 for a
 * replay where a core pass's timestamps stood still or went backwards (gpu/timing.ts
 * `PassTiming.clock`): that pass read 0 ms, and the replay's sum of the others was taken
 * for the core's time, low, with nothing said. A 0 is no time ({@link timedStats},
 * {@link untimedReason}).
 *
 * @example
 * ```ts
 * import { coreSamples } from "./run_bench.ts";
 * const t = (ms: number, clock?: "went backwards") => ({ source: "timestamp-query" as const,
 *   totalMs: 1 + ms, passes: [{ name: "scores", ms: 1 }, { name: "values", ms, clock }] });
 * coreSamples([t(2), t(0, "went backwards")], ["scores", "values"]); // [3, 0]
 * ```
 */
export function coreSamples(repeats: readonly Timing[], core: readonly string[]): number[] {
  const ms = scopedMs(repeats, { scope: "core", core });
  return ms.map((x, i) =>
    repeats[i].passes.some((p) => p.clock !== undefined && core.includes(p.name)) ? 0 : x
  );
}

/**
 * The statistics of a case's timed repetitions that took time (`samples` keeps them all): a
 * repetition of 0 ms (timestamps that did not advance) is no time, and as the fastest it
 * gave `ms_min` 0, a spread of "0.00-0.38", and the crossover's fastest ratio Infinity (null
 * in report.json). The caller has checked that the median took time ({@link untimedReason}).
 *
 * @example
 * ```ts
 * import { timedStats } from "./run_bench.ts";
 * timedStats([0, 0.4, 0.5, 0.6]).min; // 0.4
 * ```
 */
export function timedStats(samples: readonly number[]): SampleStats {
  const timed = samples.filter((x) => x > 0 && Number.isFinite(x));
  return summarize(timed.length > 0 ? timed : samples);
}

/**
 * A record's roofline fraction and bound against other ceilings (the same formulas as
 * {@link runBenchCase}); records that did not run are returned as they are.
 *
 * @example
 * ```ts ignore
 * import { judgeRecord } from "./run_bench.ts";
 * const judged = records.map((r) => judgeRecord(r, ceilings));
 * ```
 */
export function judgeRecord(
  record: BenchRecord,
  ceilings: RooflineCeilings,
): BenchRecord {
  const { ms, flop, bytes } = record;
  if (record.status !== "ok" || ms === undefined || flop === undefined || bytes === undefined) {
    return record;
  }
  return { ...record, ...rooflineOf({ flop, bytes }, ms, ceilings) };
}

/** The ceilings a roofline fraction is judged against. */
export type RooflineCeilings = Pick<
  Ceilings,
  "copyGBps" | "readGBps" | "textureReadGBps" | "fmaGflops"
>;

/**
 * The roofline fraction of a time and the ceiling that bounds the work: memory is the best
 * of the copy, read and texture-read bandwidths (bench/ceilings.ts `memoryRoof`).
 */
function rooflineOf(
  work: { flop: number; bytes: number },
  ms: number,
  ceilings: RooflineCeilings,
): Pick<BenchRecord, "roofline_fraction" | "bound"> {
  const memoryGBps = memoryRoof(ceilings).gbps;
  const { fmaGflops } = ceilings;
  return {
    roofline_fraction: rooflineFraction(work, { ms, memoryGBps, fmaGflops }),
    bound: work.bytes / memoryGBps >= work.flop / fmaGflops ? "memory" : "compute",
  };
}
