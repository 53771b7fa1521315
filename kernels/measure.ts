/**
 * How the harness times an attention plan, in `bench` and in `run` alike, in Deno and
 * (unchanged) in a browser page: one checked submission through `runAttention` (which
 * compiles and uploads), then replays of its recorded passes (kernels/replay.ts). Nothing
 * is uploaded, compiled or expanded again for the timed repetitions.
 *
 * What is replayed is the plan's timing scope (adapter/timing_scope.ts): for the expanded
 * path only the attention core, because its K/V expansion is cache construction (it
 * costs 10-40 s per nightly case on lavapipe, more than the attention itself); for the
 * absorbed path every pass (RoPE, q absorption, attention, up-projection).
 *
 * @module
 */
import { type TimingScope, timingScopeOf } from "../adapter/timing_scope.ts";
import type { AttentionInputs, AttentionOutputs, GpuPlan, MlaSpec } from "../adapter/types.ts";
import type { GpuContext } from "../gpu/device.ts";
import type { Timing } from "../gpu/timing.ts";
import { runAttention } from "../kernels/attention.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { replayPasses } from "./replay.ts";

/** What {@link measureAttention} measures with. */
export interface MeasureOptions {
  /** The spec. */
  spec: MlaSpec;
  /** Inputs. */
  inputs: AttentionInputs;
  /** `core`: replay only the attention core's passes; `all`: every pass, RoPE included. */
  scope: TimingScope;
  /** Timed replays. */
  reps: number;
  /** Untimed replays first. */
  warmup: number;
  /**
   * With scope "core", also replay the passes outside the core once after the timed
   * replays ({@link Measured.outsideCore}). Default true; `run` reads them from the
   * first submission instead.
   */
  outsideCoreReplay?: boolean;
  /** Rewrite a kernel source before compilation (a planted fault; Deno only). */
  mutate?: SourceMutation;
}

/** What {@link measureAttention} returns. */
export interface Measured {
  /** Timing of the first (checked, compiling) submission. */
  readonly timing: Timing | null;
  /** Timings of the replays. */
  readonly repeats: readonly Timing[];
  /** Names of the attention-core passes. */
  readonly core: readonly string[];
  /**
   * With scope "core": one replay, after the timed ones, of the passes outside the core
   * (the expanded path's q packing, RoPE and K/V expansion: cache construction), so their
   * cost is reported apart from the attention's; null with scope "all" (they are in
   * `repeats`) or when not asked for.
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
  const result = await runAttention(ctx, plan, {
    spec: o.spec,
    inputs: o.inputs,
    mutate: o.mutate,
    session: async (session) => {
      for (const p of session.passes) if (p.core) core.add(p.name);
      // "core": only the attention core is replayed; "all": every pass, RoPE included (it
      // is applied again in place, so only the first outputs are meaningful).
      const passes = o.scope === "core" ? session.passes.filter((p) => p.core) : session.passes;
      repeats = await replayPasses(session.device, passes, { reps: o.reps, warmup: o.warmup });
      const rest = session.passes.filter((p) => !p.core);
      if (o.scope === "core" && rest.length > 0 && (o.outsideCoreReplay ?? true)) {
        [outsideCore] = await replayPasses(session.device, rest, { reps: 1, warmup: 0 });
      }
    },
  });
  return {
    outputs: result.outputs,
    timing: result.timing,
    repeats,
    core: [...core],
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

/** What {@link timeAttentionCase} returns: a checked run's outputs and its timing. */
export interface TimedAttention {
  /** Output and LSE of the first submission (the ones the parity check reads). */
  readonly outputs: AttentionOutputs;
  /** Milliseconds of each timed replay within {@link TimedAttention.scope}. */
  readonly samplesMs: readonly number[];
  /** The clock: `timestamp-query` or `wall-clock`. */
  readonly source: string;
  /** What the samples cover (adapter `timingScopeOf` of the plan's path). */
  readonly scope: TimingScope;
  /**
   * Scope "core": the passes outside the core in the first submission (the K/V
   * expansion, q packing, RoPE), ms; null for scope "all" or without timestamps. Read
   * from the checked submission rather than replayed (as `bench` does), so it costs no
   * second expansion; on a driver that compiles at a pipeline's first dispatch it may
   * include that compile for the first case of a run that uses the pipeline.
   */
  readonly outsideCoreMs: number | null;
}

/**
 * How `run` times a case (in Deno and in a browser page alike): one checked submission,
 * then `repeats` replays of the passes in the plan's timing scope, with no untimed
 * replay between (the first submission warmed the pipelines and buffers).
 *
 * @example
 * ```ts ignore
 * const t = await timeAttentionCase(ctx, plan, { spec, inputs, repeats: 3 });
 * [t.scope, t.samplesMs.length]; // ["core", 3] for an expanded plan
 * ```
 */
export async function timeAttentionCase(
  ctx: GpuContext,
  plan: GpuPlan,
  o: { spec: MlaSpec; inputs: AttentionInputs; repeats: number; mutate?: SourceMutation },
): Promise<TimedAttention> {
  const scope = timingScopeOf(plan.path);
  const m = await measureAttention(ctx, plan, {
    spec: o.spec,
    inputs: o.inputs,
    mutate: o.mutate,
    scope,
    reps: o.repeats,
    warmup: 0,
    outsideCoreReplay: false,
  });
  return {
    outputs: m.outputs,
    samplesMs: scopedMs(m.repeats, { scope, core: m.core }),
    source: m.repeats[0]?.source ?? m.timing?.source ?? "wall-clock",
    scope,
    outsideCoreMs: scope === "core" ? outsideCoreMs(m.timing, m.core) : null,
  };
}
