/**
 * How the harness times an attention plan, in `bench` and in `run` alike, in Deno and
 * (unchanged) in a browser page: one checked submission through `runAttention` (which
 * compiles and uploads), then replays of its recorded passes (kernels/replay.ts). Nothing
 * is uploaded, compiled or expanded again for the timed repetitions.
 *
 * What is replayed is the plan's timing scope (adapter/timing_scope.ts): for the expanded
 * path only the attention core, because its K/V expansion is cache construction (it
 * costs 10-40 s per nightly case on lavapipe, more than the attention itself); for the
 * absorbed path every pass (q's RoPE, q absorption, attention, up-projection) but cache
 * construction: the RoPE of the cached k_pe (the model rotates each key once, when it
 * writes it), `wgsl-absorbed-gemm`'s copy of the latent cache into a texture, and w_kv_b's
 * copy into a texture on cpu-class devices. Passes
 * recorded as construction are never replayed by the timed repetitions; they are timed
 * once, apart ({@link Measured.outsideCore}).
 *
 * @module
 */
import { type TimingScope, timingScopeOf } from "../adapter/timing_scope.ts";
import type { AttentionInputs, AttentionOutputs, GpuPlan, MlaSpec } from "../adapter/types.ts";
import type { GpuContext } from "../gpu/device.ts";
import type { Timing } from "../gpu/timing.ts";
import { runAttention } from "../kernels/attention.ts";
import type { LaunchLimits, RecordedPass } from "./launch.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { type ReplayMode, replayPasses } from "./replay.ts";

/** What {@link measureAttention} measures with. */
export interface MeasureOptions {
  /** The spec. */
  spec: MlaSpec;
  /** Inputs. */
  inputs: AttentionInputs;
  /** `core`: replay only the attention core's passes; `all`: every pass but construction. */
  scope: TimingScope;
  /** Timed replays. */
  reps: number;
  /** Untimed replays first. */
  warmup: number;
  /** How the replays are spaced (kernels/replay.ts; default "queued"). */
  replay?: ReplayMode;
  /** Untimed replays for this long first, ms (kernels/replay.ts; default 0). */
  warmupMs?: number;
  /**
   * Also replay once, after the timed replays, what they left out
   * ({@link Measured.outsideCore}): with scope "core" the passes outside the core, with
   * "all" the cache construction passes. Default true; `run` reads them from the first
   * submission instead.
   */
  outsideCoreReplay?: boolean;
  /** Rewrite a kernel source before compilation (a planted fault; Deno only). */
  mutate?: SourceMutation;
  /** Limits to launch by (a device profile's; see RunAttentionOptions.limits). */
  limits?: Partial<LaunchLimits>;
  /** The device profile `limits` are from (see RunAttentionOptions.profile). */
  profile?: string;
}

/** What {@link measureAttention} returns. */
export interface Measured {
  /** Timing of the first (checked, compiling) submission. */
  readonly timing: Timing | null;
  /** Timings of the replays. */
  readonly repeats: readonly Timing[];
  /** Names of the attention-core passes. */
  readonly core: readonly string[];
  /** Names of the cache construction passes (never in `repeats`). */
  readonly construction: readonly string[];
  /**
   * One replay, after the timed ones, of what they left out, so its cost is reported
   * apart from the attention's: with scope "core" the passes outside the core (the
   * expanded path's q packing, RoPE and K/V expansion), with "all" the cache construction
   * passes (k_pe's RoPE, the gemm path's cache texture, w_kv_b's texture); null when there
   * are none or when not asked for.
   */
  readonly outsideCore: Timing | null;
}

/** {@link Measured} with the outputs of the first submission (the ones to check). */
export interface MeasuredRun extends Measured {
  /** Output and LSE of the first submission (replays of scope "all" re-apply RoPE). */
  readonly outputs: AttentionOutputs;
}

/**
 * Run a plan once through `runAttention` (which compiles), then replay its recorded passes
 * `reps` times (kernels/replay.ts). Runs in Deno and, unchanged, in a browser page.
 *
 * @example
 * ```ts ignore
 * const m = await measureAttention(ctx, plan, { spec, inputs, scope: "all", reps: 7, warmup: 1 });
 * m.repeats.length; // 7
 * ```
 */
export async function measureAttention(
  ctx: GpuContext,
  plan: GpuPlan,
  o: MeasureOptions,
): Promise<MeasuredRun> {
  let repeats: Timing[] = [];
  let outsideCore: Timing | null = null;
  const core = new Set<string>();
  const construction = new Set<string>();
  const result = await runAttention(ctx, plan, {
    spec: o.spec,
    inputs: o.inputs,
    mutate: o.mutate,
    limits: o.limits,
    profile: o.profile,
    session: async (session) => {
      for (const p of session.passes) {
        if (p.core) core.add(p.name);
        if (p.construction) construction.add(p.name);
      }
      // "core": only the attention core is replayed; "all": every pass but cache
      // construction, q's RoPE included (it is applied again in place, so only the first
      // outputs are meaningful).
      const timed = (p: RecordedPass) => o.scope === "core" ? p.core : !p.construction;
      const passes = session.passes.filter(timed);
      repeats = await replayPasses(session.device, passes, {
        reps: o.reps,
        warmup: o.warmup,
        mode: o.replay,
        warmupMs: o.warmupMs,
      });
      const rest = session.passes.filter((p) => !timed(p));
      if (rest.length > 0 && (o.outsideCoreReplay ?? true)) {
        [outsideCore] = await replayPasses(session.device, rest, { reps: 1, warmup: 0 });
      }
    },
  });
  return {
    outputs: result.outputs,
    timing: result.timing,
    repeats,
    core: [...core],
    construction: [...construction],
    outsideCore,
  };
}

/**
 * The milliseconds of each timed replay within a scope: with timestamps, the sum of the
 * passes the scope covers (the core's, or all); with the wall clock, the whole replay.
 *
 * @example
 * ```ts
 * import { scopedMs } from "./measure.ts";
 * const t = { source: "timestamp-query" as const, totalMs: 5,
 *   passes: [{ name: "expand_kv", ms: 4 }, { name: "expanded", ms: 1 }] };
 * scopedMs([t], { scope: "core", core: ["expanded"] }); // [1]
 * scopedMs([t], { scope: "all", core: ["expanded"] }); // [5]
 * ```
 */
export function scopedMs(
  repeats: readonly Timing[],
  o: { scope: TimingScope; core: readonly string[] },
): number[] {
  const core = new Set(o.core);
  return repeats.map((t) =>
    t.source === "timestamp-query" && o.scope === "core"
      ? t.passes.filter((p) => core.has(p.name)).reduce((s, p) => s + (p.ms ?? 0), 0)
      : t.totalMs
  );
}

/**
 * The timed replays of a scope as `run` keeps them: a replay where a pass the scope covers
 * has GPU timestamps that did not advance or went backwards (gpu/timing.ts `PassTiming.clock`) has
 * no time, and is counted in `clockFaults` rather than read as 0 ms (which made a case's
 * median low with no word); the others' ms as {@link scopedMs} gives them.
 *
 * @example
 * ```ts
 * import { scopedSamples } from "./measure.ts";
 * const t = (ms: number, clock?: "stood still") => ({ source: "timestamp-query" as const,
 *   totalMs: ms, passes: [{ name: "expanded", ms, ...(clock ? { clock } : {}) }] });
 * scopedSamples([t(2), t(0, "stood still"), t(4)], { scope: "core", core: ["expanded"] });
 * // { samplesMs: [2, 4], clockFaults: 1 }
 * ```
 */
export function scopedSamples(
  repeats: readonly Timing[],
  o: { scope: TimingScope; core: readonly string[] },
): { samplesMs: number[]; clockFaults: number } {
  const core = new Set(o.core);
  const ms = scopedMs(repeats, o);
  const failed = repeats.map((t) =>
    t.source === "timestamp-query" &&
    t.passes.some((p) => p.clock !== undefined && (o.scope === "all" || core.has(p.name)))
  );
  return {
    samplesMs: ms.filter((_, i) => !failed[i]),
    clockFaults: failed.filter(Boolean).length,
  };
}

/**
 * Milliseconds of the passes outside the core in one timing (the expanded path's K/V
 * expansion, q packing and RoPE), or null when it has no per-pass timestamps.
 *
 * @example
 * ```ts
 * import { outsideCoreMs } from "./measure.ts";
 * outsideCoreMs({ source: "timestamp-query", totalMs: 5,
 *   passes: [{ name: "expand_kv", ms: 4 }, { name: "expanded", ms: 1 }] }, ["expanded"]); // 4
 * ```
 */
export function outsideCoreMs(t: Timing | null, core: readonly string[]): number | null {
  if (!t || t.source !== "timestamp-query") return null;
  const rest = t.passes.filter((p) => !core.includes(p.name));
  return rest.reduce((s, p) => s + (p.ms ?? 0), 0);
}

/**
 * Milliseconds of what the timed replays of a scope leave out, in one timing: scope
 * "core", the passes outside the core ({@link outsideCoreMs}); scope "all", the cache
 * construction passes (null when there are none). Null without per-pass timestamps.
 *
 * @example
 * ```ts
 * import { leftOutMs } from "./measure.ts";
 * const t = { source: "timestamp-query" as const, totalMs: 9, passes: [
 *   { name: "rope_k", ms: 1 }, { name: "cache_texture", ms: 5 }, { name: "gemm_scores", ms: 3 }] };
 * leftOutMs(t, { scope: "all", core: ["gemm_scores"], construction: ["cache_texture"] }); // 5
 * leftOutMs(t, { scope: "core", core: ["gemm_scores"], construction: ["cache_texture"] }); // 6
 * ```
 */
export function leftOutMs(
  t: Timing | null,
  m: { scope: TimingScope; core: readonly string[]; construction: readonly string[] },
): number | null {
  if (m.scope === "core") return outsideCoreMs(t, m.core);
  if (!t || t.source !== "timestamp-query" || m.construction.length === 0) return null;
  return t.passes.filter((p) => m.construction.includes(p.name))
    .reduce((s, p) => s + (p.ms ?? 0), 0);
}

/** What {@link timeAttentionCase} returns: a checked run's outputs and its timing. */
export interface TimedAttention {
  /** Output and LSE of the first submission (the ones the parity check reads). */
  readonly outputs: AttentionOutputs;
  /**
   * Milliseconds of each timed replay within {@link TimedAttention.scope}, but those whose
   * GPU timestamps failed ({@link TimedAttention.clockFaults}).
   */
  readonly samplesMs: readonly number[];
  /**
   * Timed replays left out of the samples: their GPU timestamps did not advance or went
   * backwards ({@link scopedSamples}); absent: none.
   */
  readonly clockFaults?: number;
  /** The clock: `timestamp-query` or `wall-clock`. */
  readonly source: string;
  /** What the samples cover (adapter `timingScopeOf` of the plan's path). */
  readonly scope: TimingScope;
  /**
   * What the samples leave out, in the first submission, ms ({@link leftOutMs}): scope
   * "core", the passes outside the core (the K/V expansion, q packing, RoPE); scope
   * "all", the cache construction passes (null when there are none), or null without
   * timestamps. Read
   * from the checked submission rather than replayed (as `bench` does), so it costs no
   * second expansion; on a driver that compiles at a pipeline's first dispatch it may
   * include that compile for the first case of a run that uses the pipeline.
   */
  readonly outsideCoreMs: number | null;
}

/**
 * How `run` times a case (in Deno and in a browser page alike): one checked submission,
 * then `repeats` replays of the passes in the plan's timing scope. The only untimed
 * replays between are those of `warmupMs` (`run --warmup-ms`; default 0): the first
 * submission warmed the pipelines and buffers, but a GPU that idled while the case
 * compiled and was checked raises its clocks only after some time busy.
 *
 * @example
 * ```ts ignore
 * const t = await timeAttentionCase(ctx, plan, { spec, inputs, repeats: 3, warmupMs: 500 });
 * [t.scope, t.samplesMs.length]; // ["core", 3] for an expanded plan
 * ```
 */
export async function timeAttentionCase(
  ctx: GpuContext,
  plan: GpuPlan,
  o: {
    spec: MlaSpec;
    inputs: AttentionInputs;
    repeats: number;
    /** Untimed replays for this long before the timed ones, ms (default 0). */
    warmupMs?: number;
    /** How the replays are spaced (kernels/replay.ts; default "queued"). */
    replay?: ReplayMode;
    mutate?: SourceMutation;
    limits?: Partial<LaunchLimits>;
    /** The device profile `limits` are from (see RunAttentionOptions.profile). */
    profile?: string;
  },
): Promise<TimedAttention> {
  const scope = timingScopeOf(plan.path);
  const m = await measureAttention(ctx, plan, {
    spec: o.spec,
    inputs: o.inputs,
    mutate: o.mutate,
    scope,
    reps: o.repeats,
    warmup: 0,
    warmupMs: o.warmupMs,
    replay: o.replay,
    outsideCoreReplay: false,
    limits: o.limits,
    profile: o.profile,
  });
  const { samplesMs, clockFaults } = scopedSamples(m.repeats, { scope, core: m.core });
  return {
    outputs: m.outputs,
    samplesMs,
    ...(clockFaults > 0 ? { clockFaults } : {}),
    source: m.repeats[0]?.source ?? m.timing?.source ?? "wall-clock",
    scope,
    outsideCoreMs: leftOutMs(m.timing, { scope, core: m.core, construction: m.construction }),
  };
}
