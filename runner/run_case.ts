/**
 * Running one case end to end: adapter -> plan or unsupported; inputs; kernels;
 * float64 reference (row-sampled for big cases); parity; timings. Every outcome,
 * an exception included, becomes a {@link CaseResult}; nothing here throws for a
 * case's own failure.
 *
 * @module
 */
import { TIMING_RULES, type TimingScope } from "../adapter/timing_scope.ts";
import { BUNDLED_BACKENDS } from "../adapter/backends.ts";
import { ConfigError } from "../adapter/errors.ts";
import { isSelfAttention } from "../adapter/layout.ts";
import { pathMismatch } from "../adapter/registry.ts";
import {
  DEVICE_FEATURE_CODES,
  gpuPlanOf,
  isGpuPlan,
  layerReasons,
  reasonsByCandidate,
  splitReasonCode,
} from "../adapter/resolve.ts";
import type {
  AttentionOutputs,
  BackendId,
  GpuPlan,
  MlaSpec,
  NormalizedLayout,
  Plan,
  Reason,
  Resolution,
  Unsupported,
} from "../adapter/types.ts";
import { timeAttentionCase } from "../kernels/measure.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { fnv1a32 } from "../matrix/case_id.ts";
import type { Case } from "../matrix/types.ts";
import { compareAttention, type CompareResult } from "../parity/compare.ts";
import { type Fault, faultBackendOf } from "../parity/faults.ts";
import { compareLayer } from "../parity/compare_layer.ts";
import { layerToleranceFor, toleranceFor } from "../parity/tolerance.ts";
import { absorbedAttention, denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs, makeHiddenStates, makeLayerWeights } from "../reference/inputs.ts";
import { mlaLayer } from "../reference/layer.ts";
import { runLayer } from "../kernels/layer.ts";
import { sampleRows, withNonFiniteRows } from "../reference/sample_rows.ts";
import { DEFAULT_MAX_ROWS } from "../results/types.ts";
import { applyProfile, caseRequest, notSelfAttention, resolveCase } from "./case_request.ts";
import { isRemoteDevice, type RunDevice } from "../gpu/runtime.ts";
import type { CaseResult, ParityRecord } from "../results/types.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { median } from "../util/stats.ts";
import type { ReplayMode } from "../kernels/replay.ts";

/** Options of {@link runCase}. */
export interface RunCaseOptions {
  /** The GPU context (its caps are what the adapter decides against). */
  ctx: RunDevice;
  /** Directory config paths in the matrix are relative to. */
  baseDir?: string;
  /** Timed repetitions after the checked run (default 3). */
  repeats?: number;
  /**
   * Untimed replays of an attention case for this long before its timed repetitions, ms
   * (default 0; runner/run_matrix.ts resolves `run --warmup-ms auto`). A layer case, timed
   * by whole wall-clock runs, has none.
   */
  warmupMs?: number;
  /**
   * How an attention case's timed replays are spaced (kernels/replay.ts; runner/run_matrix.ts
   * gives "queued" on a gpu-class device, "waited" on a cpu-class one).
   */
  replay?: ReplayMode;
  /** Query rows the reference computes at most (default 64; boundaries always kept). */
  maxRows?: number;
  /** Rewrite kernel sources (fault injection). */
  mutate?: SourceMutation;
  /** A planted fault: the kernel runs with it, the reference without. */
  fault?: Fault;
  /** Spec cache shared across cases. */
  specCache?: Map<string, Promise<MlaSpec>>;
  /**
   * Run every case on this registered backend instead of the bundled backend of its
   * `path` (`run --backend`). The matrix's support expectations were written for the
   * bundled backends, so a case this backend refuses is "not run by it" (pass, with
   * its reasons), and a case it runs is checked against the reference whatever the
   * matrix expected; `invalid` expectations (bad configs) still hold.
   */
  backend?: BackendId;
  /**
   * Receives the checked run's outputs (logical query order) before they are compared:
   * `compare-runtimes` compares two runtimes' bits with it.
   */
  outputs?: (outputs: { out: Float32Array; lse: Float32Array }) => void;
}

/** Message prefix of a case the `--backend` override refused. */
export const NOT_RUN_BY_PREFIX = "not run by --backend ";

/** Message prefix of a case not covered on this device (adapter `DEVICE_FEATURE_CODES`). */
export const NOT_COVERED_PREFIX = "unsupported on this device: ";

/**
 * The seed of a case: the matrix seed mixed with the case id, so each case has its
 * own inputs and reordering a matrix changes nothing.
 *
 * @example
 * ```ts
 * import { caseSeed } from "./run_case.ts";
 * caseSeed("preset=tiny", 1) === caseSeed("preset=tiny", 1); // true
 * ```
 */
export function caseSeed(id: string, matrixSeed: number): number {
  return (fnv1a32(id) ^ Math.imul(matrixSeed, 0x9e3779b1)) >>> 0;
}

function trim(c: CompareResult): ParityRecord {
  return {
    pass: c.pass,
    checks: c.checks,
    maxAbs: c.maxAbs,
    maxAbsAt: c.maxAbsAt ?? (c.maxAbsIndex === null ? null : [c.maxAbsIndex]),
    maxRel: c.maxRel,
    cosDiff: c.cosDiff,
    normRel: c.normRel,
    fractionPassing: c.fractionPassing,
    summary: c.summary,
    ...parityDetails(c),
  };
}

// For the HTML report and summary.md: the worst element against its allowance (headroom),
// the tolerance and where values went non-finite; read from the comparison, not recomputed.
function parityDetails(c: CompareResult): Pick<
  ParityRecord,
  "headroom" | "worst" | "atol" | "rtol" | "nonfinite"
> {
  const w = c.witnesses.worst;
  const { atol, rtol } = c.tolerance;
  const num = (x: number | string) => typeof x === "number" ? x : Number(x);
  let headroom: number | undefined;
  if (w !== null) {
    const got = num(w.actual), want = num(w.expected);
    const d = Math.abs(got - want);
    headroom = d === 0 ? 0 : d / Math.max(atol, rtol * Math.abs(want));
  }
  const nf = c.nonfiniteMismatches;
  return {
    ...(headroom !== undefined && Number.isFinite(headroom) ? { headroom } : {}),
    ...(w === null ? {} : {
      worst: { at: w.at ?? [w.index], got: w.actual, want: w.expected },
    }),
    atol,
    rtol,
    ...(nf.count > 0
      ? { nonfinite: { count: nf.count, firstAt: nf.firstAt ?? [nf.firstIndex ?? 0] } }
      : {}),
  };
}

/**
 * The case's matrix group, for the result (reports group cases by it).
 *
 * @example
 * ```ts
 * import { groupOf } from "./run_case.ts";
 * import type { Case } from "../matrix/types.ts";
 * declare const c: Case;
 * groupOf(c); // { group: "V2-Lite decode grid" }, or {} for a case of no group
 * ```
 */
export function groupOf(c: Case): { group?: string } {
  return c.group === undefined ? {} : { group: c.group };
}

/**
 * Whether some backend's reasons are all device-feature codes (adapter
 * `DEVICE_FEATURE_CODES`): under `auto` and `auto:<path>` each candidate's, the reasons every
 * candidate gave included (adapter/resolve.ts `reasonsByCandidate`).
 */
function refusedForDeviceOnly(refused: Unsupported): boolean {
  return [...reasonsByCandidate(refused).values()].some((bare) =>
    bare.every((code) => DEVICE_FEATURE_CODES.includes(code))
  );
}

/**
 * Reasons as one line. Candidates of `auto:<path>` refused for the same reason (same bare
 * code and message, e.g. a missing device feature) are said once, naming the backends:
 * `tried` names them for a reason the resolution gives unprefixed, as every candidate's.
 */
function reasonsText(reasons: readonly Reason[], tried: readonly string[] = []): string {
  const groups = new Map<
    string,
    { code: string; bare: string; backends: string[]; message: string }
  >();
  for (const r of reasons) {
    const { backend, code } = splitReasonCode(r.code);
    const key = `${code}\n${r.message}`;
    const g = groups.get(key) ?? { code: r.code, bare: code, backends: [], message: r.message };
    if (backend !== null) g.backends.push(backend);
    else g.backends.push(...tried);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) =>
    g.backends.length > 1
      ? `${g.bare} (${g.backends.join(", ")}): ${g.message}`
      : `${g.code}: ${g.message}`
  ).join("; ");
}

/** Why a mode layer case whose layout is not self-attention is invalid (`run`, `explain --case`). */
export const LAYER_SELF_ATTENTION: string =
  "mode layer runs self-attention: the case needs sq = sk, no " +
  "varlen with bshd/sbhd, and no paged cache (decode against a cache is mode attention)";

/**
 * One decision `run` makes about a case once `resolve()` planned its attention
 * ({@link runChecks}): `path`, a named backend of the other path (unsupported, its reason);
 * `self-attention`, a mode layer case whose layout is not self-attention (invalid:
 * {@link LAYER_SELF_ATTENTION}); `layer`, a mode layer case of a model the layer does not
 * compute (unsupported, adapter/resolve.ts `layerReasons`).
 */
export type RunCheck =
  | { readonly check: "path"; readonly reasons: readonly Reason[] }
  | { readonly check: "self-attention"; readonly message: string }
  | { readonly check: "layer"; readonly reasons: readonly Reason[] };

/**
 * What `run` decides about a case beyond its attention plan, in the order it decides them:
 * {@link runCase} acts on the first, `explain --case` lists them all (runner/explain_case.ts),
 * so the two cannot tell a case apart. `layout` is the case's normalized layout (its plan's;
 * null where it does not normalize, and the self-attention check is left out), `named` the
 * backend the case is run on when one is named ({@link caseBackend}).
 *
 * @example
 * ```ts
 * import { runChecks } from "./run_case.ts";
 * import { CASE_DEFAULTS } from "../matrix/types.ts";
 * import { presetSpec } from "../adapter/presets.ts";
 * const c = { params: { ...CASE_DEFAULTS, path: "absorbed" as const } };
 * runChecks(c, presetSpec("tiny"), null, "wgsl-expanded")[0].check; // "path"
 * runChecks(c, presetSpec("tiny"), null, undefined).length; // 0
 * ```
 */
export function runChecks(
  c: Pick<Case, "params">,
  spec: MlaSpec,
  layout: NormalizedLayout | null,
  named: BackendId | undefined,
): RunCheck[] {
  const checks: RunCheck[] = [];
  const mismatch = named === undefined ? null : pathMismatch(named, c.params.path);
  if (mismatch) checks.push({ check: "path", reasons: [mismatch] });
  if (c.params.mode === "layer") {
    // The params first: a draw of varlen lengths can make one seed's layout self-attention.
    const why = notSelfAttention(c.params);
    if (why !== null || (layout !== null && !isSelfAttention(layout))) {
      checks.push({
        check: "self-attention",
        message: LAYER_SELF_ATTENTION + (why === null ? "" : `; this case has ${why}`),
      });
    }
    // The attention planned, the layer around it cannot run (runner/layer_plan.ts refuses
    // the same for `layer` and a decode step).
    const missing = layerReasons(spec);
    if (missing.length > 0) checks.push({ check: "layer", reasons: missing });
  }
  return checks;
}

/**
 * Whether a case rejected as invalid with `message` was expected so: `expect` says
 * `invalid` and the message holds every fragment its `codes` list (a matrix's way of
 * saying *why* the case must be rejected; a rejection for another reason is unexpected).
 *
 * @example
 * ```ts
 * import { invalidAsExpected } from "./run_case.ts";
 * invalidAsExpected({ support: "invalid", codes: ["must be even"] }, "x: 63 must be even"); // true
 * invalidAsExpected({ support: "invalid", codes: ["must be even"] }, "sq = sk"); // false
 * ```
 */
export function invalidAsExpected(expect: Case["expect"], message: string): boolean {
  return expect.support === "invalid" && (expect.codes ?? []).every((s) => message.includes(s));
}

/** The fragments of an `invalid` expectation a rejection's message lacks, for its message. */
function missingFragments(expect: Case["expect"], message: string): string {
  if (expect.support !== "invalid") return "";
  const missing = (expect.codes ?? []).filter((s) => !message.includes(s));
  return missing.length === 0
    ? ""
    : `rejected, but not for the expected reason (the message lacks ${
      missing.map((s) => JSON.stringify(s)).join(", ")
    }): `;
}

/**
 * The backend a case is run on when one is named: the command line's override, else the
 * matrix's backend axis (a registered id; its expectations apply as written), else, with a
 * planted fault, the backend whose kernel the fault mutates; undefined: the adapter's
 * choice among the path's backends for the device (`auto:<path>`, caseRequest).
 *
 * @example
 * ```ts
 * import { caseBackend } from "./run_case.ts";
 * import { CASE_DEFAULTS } from "../matrix/types.ts";
 * caseBackend({ params: { ...CASE_DEFAULTS, backend: "wgsl-expanded" } }, {}); // "wgsl-expanded"
 * ```
 */
export function caseBackend(
  c: Pick<Case, "params">,
  options: Pick<RunCaseOptions, "backend" | "fault">,
): BackendId | undefined {
  return options.backend ?? (c.params.backend || undefined) ??
    (options.fault ? faultBackendOf(options.fault, c.params.path) : undefined);
}

/**
 * The digest a result records of its plan (`planDigest`; compare's "plan: digest a → b" is a
 * support drift): of what the kernels run with. The adapter's reasons for a choice that ride
 * in the variant (`kvSplitsBudget`, `queryTileChoice`: what explain says) are left out, so a
 * plan that explains itself better is the same plan, and the digests of baselines made before
 * those fields existed (the committed H200's 36 wgsl-expanded-tiled cases) still match.
 *
 * @example
 * ```ts ignore
 * import { planDigestOf } from "./run_case.ts";
 * await planDigestOf(plan); // "2cf090fe0d9804fa"
 * ```
 */
export function planDigestOf(plan: Plan): Promise<string> {
  const { kvSplitsBudget: _budget, queryTileChoice: _tile, ...variant } = plan.variant;
  return sha256Hex16(JSON.stringify({ ...plan, variant }));
}

/**
 * Run one case and return its result (never throws for the case's own failure).
 *
 * @example
 * ```ts ignore
 * import { runCase } from "./run_case.ts";
 * const result = await runCase(someCase, { ctx });
 * result.status; // "pass"
 * ```
 */
export async function runCase(c: Case, options: RunCaseOptions): Promise<CaseResult> {
  const t0 = performance.now();
  const base = { id: c.id, expect: c.expect, params: c.params, seed: c.seed, ...groupOf(c) };
  const wall = () => Math.round((performance.now() - t0) * 10) / 10;
  const seed = caseSeed(c.id, c.seed);
  let req;
  try {
    req = await caseRequest(c.params, {
      seed,
      baseDir: options.baseDir,
      specCache: options.specCache,
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const wanted = invalidAsExpected(c.expect, e.message);
    return {
      ...base,
      status: wanted ? "pass" : "unexpected",
      decision: "invalid",
      message: (wanted ? "rejected as expected: " : "config rejected: ") +
        missingFragments(c.expect, e.message) + e.message.replace(/\n\s*/g, "; "),
      wallMs: wall(),
    };
  }
  const override = options.backend;
  const named = caseBackend(c, options);
  let resolution: Resolution;
  try {
    resolution = resolveCase(req, c, options.ctx.caps, named);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const wanted = invalidAsExpected(c.expect, e.message);
    return {
      ...base,
      status: wanted ? "pass" : "unexpected",
      decision: "invalid",
      message: missingFragments(c.expect, e.message) + e.message.replace(/\n\s*/g, "; "),
      wallMs: wall(),
    };
  }
  // what run decides beyond the plan (explain --case lists the same): the first decision
  const after = resolution.kind === "plan"
    ? runChecks(c, req.spec, resolution.layout, named)[0]
    : undefined;
  if (after?.check === "path") {
    resolution = { kind: "unsupported", backend: named!, reasons: after.reasons };
  }
  if (resolution.kind === "unsupported" && override !== undefined) {
    return {
      ...base,
      status: c.expect.support === "invalid" ? "unexpected" : "pass",
      decision: "unsupported",
      reasons: resolution.reasons,
      message: `${NOT_RUN_BY_PREFIX}${override}: ${
        reasonsText(resolution.reasons, resolution.tried)
      }`,
      wallMs: wall(),
    };
  }
  if (resolution.kind === "unsupported") {
    const codes = resolution.reasons.map((r) => r.code);
    // `<backend>:code` is that candidate's, a reason every candidate gave (unprefixed) included
    const each = reasonsByCandidate(resolution);
    const wanted = c.expect.support === "unsupported" &&
      (c.expect.codes ?? []).every((want) => {
        const { backend, code } = splitReasonCode(want);
        return codes.some((have) => have.endsWith(want)) ||
          (backend !== null && (each.get(backend) ?? []).includes(code));
      });
    // Expected to run, refused only because this (real) device lacks a feature: not a harness
    // failure but a gap in coverage, reported as such (a baseline from a device with the
    // feature still sees it as support drift: the decision stays "unsupported").
    // Under auto:<path> each candidate has its own reasons: the case is lacking a feature when
    // some candidate refused for device features only (it would run on a device with them),
    // whatever the other candidates' own refusals.
    const lacking = !wanted && c.expect.support === "supported" && c.params.device === "native" &&
      refusedForDeviceOnly(resolution);
    return {
      ...base,
      status: wanted || lacking ? "pass" : "unexpected",
      decision: "unsupported",
      reasons: resolution.reasons,
      message: (wanted
        ? "unsupported as expected: "
        : lacking
        ? NOT_COVERED_PREFIX
        : "unexpectedly unsupported: ") +
        reasonsText(resolution.reasons, resolution.tried),
      wallMs: wall(),
    };
  }
  const plan = resolution;
  const planDigest = await planDigestOf(plan);
  if (after?.check === "self-attention") {
    const message = after.message;
    return {
      ...base,
      status: invalidAsExpected(c.expect, message) ? "pass" : "unexpected",
      decision: "invalid",
      message: missingFragments(c.expect, message) + message,
      wallMs: wall(),
    };
  }
  if (after?.check === "layer") {
    const missing = after.reasons;
    const wanted = c.expect.support === "unsupported" &&
      (c.expect.codes ?? []).every((want) => missing.some((r) => r.code.endsWith(want)));
    return {
      ...base,
      status: wanted ? "pass" : "unexpected",
      decision: "unsupported",
      reasons: missing,
      message: (wanted ? "unsupported as expected: " : "unexpectedly unsupported: ") +
        reasonsText(missing),
      wallMs: wall(),
    };
  }
  if (c.expect.support === "invalid" || (c.expect.support !== "supported" && !override)) {
    return {
      ...base,
      status: "unexpected",
      decision: "supported",
      backend: plan.backend,
      planDigest,
      message: `expected ${c.expect.support}${
        // an empty list (any reason) printed as "expected unsupported ()"
        c.expect.codes?.length
          ? ` (${c.expect.codes.join(", ")})`
          : ""} but the adapter planned ${plan.backend}`,
      wallMs: wall(),
    };
  }
  if (!isGpuPlan(plan)) {
    return {
      ...base,
      status: "unexpected",
      decision: "supported",
      backend: plan.backend,
      planDigest,
      message: `backend ${plan.backend} runs on the ${plan.runsOn}: the runner checks GPU ` +
        "backends against the float64 reference (it is the reference)",
      wallMs: wall(),
    };
  }
  try {
    const o = { ...options, spec: req.spec, seed, planDigest, t0 };
    if (c.params.mode === "layer") return await checkLayer(c, plan, o);
    return await checkPlan(c, plan, o);
  } catch (e) {
    return {
      ...base,
      status: "error",
      decision: "supported",
      backend: plan.backend,
      planDigest,
      message: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      wallMs: wall(),
    };
  }
}

/**
 * What a case's message adds when timed repetitions were left out of its time for GPU
 * timestamps that did not advance or went backwards (`bench`'s words), or null when none was.
 *
 * @example
 * ```ts
 * import { clockTimingNote } from "./run_case.ts";
 * clockTimingNote(3, 2);
 * // "2 of 5 timed repetitions left out of the time: their GPU timestamps did not advance or went backwards"
 * clockTimingNote(0, 3);
 * // "no time: all 3 timed repetitions' GPU timestamps did not advance or went backwards"
 * ```
 */
export function clockTimingNote(samples: number, clockFaults: number): string | null {
  if (clockFaults === 0) return null;
  if (samples === 0) {
    return `no time: ${
      clockFaults === 1 ? "the 1 timed repetition's" : `all ${clockFaults} timed repetitions'`
    } ` +
      "GPU timestamps did not advance or went backwards";
  }
  return `${clockFaults} of ${samples + clockFaults} timed repetitions left out of the time: ` +
    "their GPU timestamps did not advance or went backwards";
}

/** What both kinds of checked case (attention core, full layer) report. */
interface CheckedRun {
  /** The parity of both sides (summaries already labelled "out: ..." / "lse: ..."). */
  parity: { pass: boolean; out: CompareResult; lse: CompareResult };
  tolerance: unknown;
  reference: string;
  rowsChecked: number;
  outBits: Float32Array;
  samples: number[];
  /** Timed repetitions left out of the samples: GPU timestamps that failed (0: none). */
  clockFaults?: number;
  source: string;
  /** What the samples cover (kernels/measure.ts); a layer: "all". */
  scope: TimingScope;
  /** Scope "core": the passes outside the core in the checked run, ms (else null). */
  outsideCoreMs: number | null;
  /** The untimed warm-up before the samples, ms (0: none). */
  warmupMs: number;
}

type CheckOptions = RunCaseOptions & {
  spec: MlaSpec;
  seed: number;
  planDigest: string;
  t0: number;
};

/** The result of a case whose kernels ran and were compared. */
async function checkedResult(
  c: Case,
  plan: GpuPlan,
  o: CheckOptions,
  r: CheckedRun,
): Promise<CaseResult> {
  const { parity, samples } = r;
  const clockFaults = r.clockFaults ?? 0;
  const clockNote = clockTimingNote(samples.length, clockFaults);
  return {
    id: c.id,
    status: parity.pass ? "pass" : "fail",
    decision: "supported",
    expect: c.expect,
    params: c.params,
    seed: c.seed,
    ...groupOf(c),
    message:
      (parity.pass
        ? `ok: ${parity.out.summary}`
        : [parity.out, parity.lse].filter((x) => !x.pass).map((x) => x.summary).join(" | ")) +
      (clockNote === null ? "" : `; ${clockNote}`),
    backend: plan.backend,
    planDigest: o.planDigest,
    out: trim(parity.out),
    lse: trim(parity.lse),
    tolerance: r.tolerance,
    reference: r.reference,
    rowsChecked: r.rowsChecked,
    rowsTotal: plan.layout.totalQ,
    outputDigest: await sha256Hex16(r.outBits),
    timing: samples.length
      ? {
        source: r.source,
        samplesMs: samples,
        ...(clockFaults > 0 ? { clockFaults } : {}),
        medianMs: median(samples),
        scope: r.scope,
        ...(r.outsideCoreMs === null ? {} : { outsideCoreMs: r.outsideCoreMs }),
        ...(r.warmupMs > 0 ? { warmupMs: r.warmupMs } : {}),
        rules: TIMING_RULES,
      }
      : undefined,
    wallMs: Math.round((performance.now() - o.t0) * 10) / 10,
  };
}

/**
 * Reference rows: all, or a sample (always with every sequence's first and last row) plus
 * the first 16 rows where the kernel wrote a non-finite value, so that a NaN outside the sample
 * cannot pass unseen.
 */
function referenceRows(
  plan: GpuPlan,
  o: CheckOptions,
  got: { out: ArrayLike<number>; lse: ArrayLike<number> },
): number[] | undefined {
  const layout = plan.layout;
  return layout.totalQ > (o.maxRows ?? DEFAULT_MAX_ROWS)
    ? withNonFiniteRows(sampleRows(layout, { max: o.maxRows ?? DEFAULT_MAX_ROWS, seed: o.seed }), {
      ...got,
      rows: layout.totalQ,
    })
    : undefined;
}

/**
 * The planted fault a remote runtime applies itself (by id: a source mutation is code, it
 * cannot travel); a test's own `mutate` cannot reach it either.
 */
function remoteFaultId(o: CheckOptions): string | undefined {
  if (o.mutate && o.fault?.apply.kind !== "source") {
    throw new Error("a source mutation cannot run in another runtime: plant a named fault");
  }
  return o.fault?.apply.kind === "source" ? o.fault.id : undefined;
}

async function checkPlan(c: Case, plan: GpuPlan, o: CheckOptions): Promise<CaseResult> {
  const { spec } = o;
  const layout = plan.layout;
  const inputs = makeAttentionInputs(spec, layout, { seed: o.seed });
  // A planted fault changes what the kernel is given (or its source); the reference below
  // always sees the true spec and layout.
  const apply = o.fault?.apply;
  const target = apply?.kind === "plan" ? apply.change({ spec, plan }) : { spec, plan };
  const mutate = apply?.kind === "source" ? apply.mutate : o.mutate;
  const targetPlan = gpuPlanOf(target.plan);
  const device = o.ctx;
  // Under a device profile the launchers bind and group by its limits, as that device
  // would: the plan was resolved against them.
  const limits = applyProfile(device.caps, c.deviceProfile).limits;
  // No timed repetitions, nothing to warm up for.
  const warmupMs = (o.repeats ?? 3) > 0 ? o.warmupMs ?? 0 : 0;
  // The checked submission, then replays of the passes in the plan's timing scope
  // (kernels/measure.ts); another runtime does the same in its page.
  const timed = isRemoteDevice(device)
    ? await device.runAttention(targetPlan, {
      spec: target.spec,
      inputs,
      repeats: o.repeats ?? 3,
      warmupMs,
      ...(o.replay === undefined ? {} : { replay: o.replay }),
      faultId: remoteFaultId(o),
      limits,
      caseId: c.id,
    })
    : await timeAttentionCase(device, targetPlan, {
      spec: target.spec,
      inputs,
      repeats: o.repeats ?? 3,
      warmupMs,
      replay: o.replay,
      mutate,
      limits,
      profile: c.params.device === "native" ? undefined : c.params.device,
    });
  const actual: AttentionOutputs = timed.outputs;
  o.outputs?.({
    out: Float32Array.from(actual.out),
    lse: Float32Array.from(actual.lse),
  });
  const rows = referenceRows(plan, o, actual);
  const dense = plan.reference === "dense";
  // The reference reads the inputs as the kernel holds them (the plan's dtype).
  const expected = (dense ? denseAttention : absorbedAttention)(spec, layout, {
    inputs,
    rows,
    storedAs: plan.variant.dtype,
  });
  // A user backend may hold the absorbed query in the storage dtype (kit.absorbQ's default):
  // its f16 absorbed cases keep the cell of an f16 query (parity/tolerance.ts).
  const tolerance = toleranceFor(plan.variant.dtype, plan.path, {
    absorbedQuery: Object.hasOwn(BUNDLED_BACKENDS, plan.backend) ? "f32" : "storage",
  });
  const parity = compareAttention(actual, expected, {
    tolerance,
    rows,
    numHeads: spec.numHeads,
    vDim: spec.vHeadDim,
  });
  return await checkedResult(c, plan, o, {
    parity,
    tolerance,
    reference: dense ? "dense" : "absorbed-f64",
    rowsChecked: rows ? rows.length : layout.totalQ,
    outBits: Float32Array.from(actual.out),
    samples: [...timed.samplesMs],
    clockFaults: timed.clockFaults ?? 0, // carried from a browser page too
    source: timed.source,
    scope: timed.scope,
    outsideCoreMs: timed.outsideCoreMs,
    warmupMs,
  });
}

/**
 * The full layer (projections, norms, RoPE, attention, o_proj) on seeded weights and
 * hidden states, against the float64 layer, with the case's one plan. Plan-level
 * faults do not apply here (they change the spec the attention inputs are made
 * from); source mutations do.
 */
async function checkLayer(c: Case, plan: GpuPlan, o: CheckOptions): Promise<CaseResult> {
  const { spec } = o;
  const layout = plan.layout;
  const dtype = plan.variant.dtype;
  const weights = makeLayerWeights(spec, { seed: o.seed });
  const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: o.seed, layout });
  const mutate = o.fault?.apply.kind === "source" ? o.fault.apply.mutate : o.mutate;
  const device = o.ctx;
  let first: { out: Float32Array; lse: Float32Array };
  let samples: number[] = [];
  if (isRemoteDevice(device)) {
    const r = await device.runLayer(plan, {
      spec,
      weights,
      hidden,
      repeats: o.repeats ?? 3,
      faultId: remoteFaultId(o),
      caseId: c.id,
    });
    first = r.outputs;
    samples = [...r.samplesMs];
  } else {
    const run = () => runLayer(device, { spec, plan, weights, hidden, mutate });
    first = await run();
    for (let i = 0; i < (o.repeats ?? 3); i++) samples.push((await run()).timing.totalMs);
  }
  o.outputs?.({ out: Float32Array.from(first.out), lse: Float32Array.from(first.lse) });
  const sampled = referenceRows(plan, o, first);
  const rows = sampled ?? Array.from({ length: layout.totalQ }, (_, i) => i);
  const dense = plan.reference === "dense";
  const expected = mlaLayer(spec, layout, {
    weights,
    hidden,
    path: dense ? "expanded" : "absorbed",
    rows: sampled,
    storedAs: dtype,
  });
  // the path's own cell (f16 absorbed: tighter); a user backend's query may be f16
  const tolerance = layerToleranceFor(dtype, plan.path, {
    absorbedQuery: Object.hasOwn(BUNDLED_BACKENDS, plan.backend) ? "f32" : "storage",
  });
  const parity = compareLayer(first, expected, {
    rows,
    hidden: spec.hiddenSize,
    heads: spec.numHeads,
    tolerance,
  });
  return await checkedResult(c, plan, o, {
    parity,
    tolerance,
    reference: dense ? "dense-layer" : "absorbed-f64-layer",
    rowsChecked: rows.length,
    outBits: first.out,
    samples,
    source: "wall-clock",
    scope: "all",
    outsideCoreMs: null,
    warmupMs: 0,
  });
}
