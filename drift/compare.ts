/**
 * Comparing a run with a baseline: every case becomes unchanged, bits-changed (within
 * tolerance), numeric-drift, support-drift, speed-regression or speed-improvement, new or
 * removed; the environment change is attributed; counts per class and the geometric-mean
 * speed ratio summarize it.
 *
 * @module
 */
import { attributeCase, attributeEnvironment } from "./attribution.ts";
import { geometricMean, mannWhitneyU } from "./stats.ts";
import { median, minOf } from "../util/stats.ts";
import { timingRulesText } from "../adapter/timing_scope.ts";
import { DEFAULT_THRESHOLDS } from "./thresholds.ts";
import {
  type Baseline,
  type BaselineCase,
  type CaseComparison,
  type CompareReport,
  type CompareSide,
  DRIFT_CLASSES,
  type DriftClass,
  METRIC_NAMES,
  type MetricDrift,
  type MetricName,
  type PlantedFaultInfo,
  type SpeedVerdict,
  type Thresholds,
  type ToleranceChange,
} from "./types.ts";
import { isRecord } from "../util/is_record.ts";
import { plural } from "../util/plural.ts";
import {
  type CaseFilter,
  inShard,
  matchesFilter,
  paramsOfCaseId,
  parseFilter,
} from "../matrix/case_id.ts";
import { sameMatrixName } from "../matrix/matrix_name.ts";
import { ALL_FAULTS } from "../parity/faults.ts";
import { DEFAULT_MAX_ROWS } from "../results/types.ts";
import { deviceKey } from "./device_key.ts";
import { speedLoad } from "./speed_load.ts";
import { errorFigure as reportErrorFigure } from "../report/figures.ts";

/**
 * Classes that count as regressions by default (exit 1).
 *
 * @example
 * ```ts
 * import { DEFAULT_FAIL_ON } from "./compare.ts";
 * DEFAULT_FAIL_ON; // ["numeric-drift", "support-drift", "speed-regression"]
 * ```
 */
export const DEFAULT_FAIL_ON: readonly DriftClass[] = [
  "numeric-drift",
  "support-drift",
  "speed-regression",
];

/**
 * The classes of {@link DEFAULT_FAIL_ON} that differ by device: a compare of two device keys
 * does not count them as regressions unless `--fail-on` names them.
 *
 * @example
 * ```ts
 * import { DEVICE_DEPENDENT_CLASSES } from "./compare.ts";
 * DEVICE_DEPENDENT_CLASSES; // ["support-drift", "speed-regression"]
 * ```
 */
export const DEVICE_DEPENDENT_CLASSES: readonly DriftClass[] = [
  "support-drift",
  "speed-regression",
];

function toleranceOf(tolerance: unknown, metric: MetricName): number | null {
  if (!isRecord(tolerance)) return null;
  const side = metric.startsWith("out") ? tolerance.out : tolerance.lse;
  if (!isRecord(side)) return null;
  const key: Record<MetricName, string[]> = {
    outMaxAbs: ["atol"],
    outMaxRel: ["rtol"],
    outCosDiff: ["maxCosDiff"],
    outNormRel: ["maxNormRel", "rtol"],
    lseMaxAbs: ["atol"],
    lseMaxRel: ["rtol"],
  };
  for (const k of key[metric]) {
    const v = side[k];
    if (typeof v === "number" && Number.isFinite(v) && v > 0) return v;
  }
  return null;
}

/**
 * The floor an error metric must exceed to count as drift: `floorFraction` of the case's
 * tolerance for it, or the absolute floor when the case recorded no tolerance.
 *
 * @example
 * ```ts
 * import { metricFloor } from "./compare.ts";
 * import { DEFAULT_THRESHOLDS } from "./thresholds.ts";
 * metricFloor("outMaxAbs", { out: { atol: 1e-4 } }, DEFAULT_THRESHOLDS); // 1e-5
 * ```
 */
export function metricFloor(metric: MetricName, tolerance: unknown, t: Thresholds): number {
  const tol = toleranceOf(tolerance, metric);
  return tol === null ? t.absoluteFloors[metric] : tol * t.floorFraction;
}

/**
 * The metrics that drifted: grew by more than `metricFactor` and exceed their floor.
 *
 * @example
 * ```ts ignore
 * import { metricDrifts } from "./compare.ts";
 * metricDrifts(baseCase, currentCase, DEFAULT_THRESHOLDS); // [{ metric: "outMaxAbs", ... }]
 * ```
 */
export function metricDrifts(
  base: BaselineCase,
  current: BaselineCase,
  t: Thresholds,
): MetricDrift[] {
  const out: MetricDrift[] = [];
  if (!base.metrics || !current.metrics) return out;
  for (const m of METRIC_NAMES) {
    const from = base.metrics[m], to = current.metrics[m];
    if (from === null || to === null) continue;
    const floor = metricFloor(m, current.tolerance ?? base.tolerance, t);
    if (to > floor && to > t.metricFactor * from) out.push({ metric: m, from, to, floor });
  }
  return out;
}

/**
 * The speed verdict of two timing records: a regression (or improvement) needs the
 * two-sided Mann-Whitney U test significant at `alpha` AND the median ratio beyond
 * `speedRatio` (or its inverse); otherwise not significant. Samples of different timing
 * sources, of different scopes (every pass, or the attention core), taken after different
 * warm-ups (`run --warmup-ms`) or under different timing rules (adapter/timing_scope.ts
 * `TIMING_RULES`; absent in older records) are not comparable. Null when either side has no
 * timing.
 *
 * @example
 * ```ts
 * import { speedVerdict } from "./compare.ts";
 * import { DEFAULT_THRESHOLDS } from "./thresholds.ts";
 * const t = (s: number[]) => ({ source: "timestamp-query", samplesMs: s, medianMs: 0, spreadMs: 0, count: s.length });
 * const before = t([1, 1.1, 0.9, 1, 1.05, 0.95]);
 * // 4x slower in every sample: significant, and past speedRatio (3)
 * speedVerdict(before, t([4, 4.4, 3.6, 4, 4.2, 3.8]), DEFAULT_THRESHOLDS)?.verdict; // "regression"
 * // 2x slower: significant, but within speedRatio
 * speedVerdict(before, t([2, 2.1, 1.9, 2, 2.05, 1.95]), DEFAULT_THRESHOLDS)?.verdict; // "not-significant"
 * ```
 */
export function speedVerdict(
  base: BaselineCase["timing"],
  current: BaselineCase["timing"],
  t: Thresholds,
): SpeedVerdict | null {
  if (!base || !current) return null;
  const a = base.samplesMs, b = current.samplesMs;
  const counts = [a.length, b.length] as const;
  if (a.length === 0 || b.length === 0) {
    // a timing with no samples (a record edited by hand): no median, no ratio (it was NaN,
    // counted among the timed cases the geometric mean is "over")
    return {
      verdict: "not-significant",
      ratio: null,
      p: null,
      baseMedianMs: a.length === 0 ? null : median(a),
      currentMedianMs: b.length === 0 ? null : median(b),
      counts,
      note: `too few samples (${a.length} and ${b.length}; at least ${t.minSamples} each)`,
      tooFewSamples: true,
    };
  }
  const bm = median(a), cm = median(b);
  const common = { baseMedianMs: bm, currentMedianMs: cm, counts };
  if (base.source !== current.source) {
    return {
      verdict: "not-comparable",
      ratio: null,
      p: null,
      ...common,
      note: `timing source ${base.source} → ${current.source}`,
    };
  }
  const [bs, cs] = [base.scope ?? "all", current.scope ?? "all"];
  if (bs !== cs) {
    return {
      verdict: "not-comparable",
      ratio: null,
      p: null,
      ...common,
      // both sides' words: in an upgrade check the "baseline" is the older side's run
      note: `timing scope ${bs} → ${cs} (the two sides' samples time different passes, so ` +
        "no speed ratio is taken; a baseline remade by the newer harness compares speed again)",
    };
  }
  const [bw, cw] = [base.warmupMs ?? 0, current.warmupMs ?? 0];
  if (bw !== cw) {
    return {
      verdict: "not-comparable",
      ratio: null,
      p: null,
      ...common,
      note: `warm-up ${bw} → ${cw} ms (a GPU runs at other clocks with and without one; ` +
        "runs of one --warmup-ms compare speed again)",
    };
  }
  if (base.rules !== current.rules) {
    return {
      verdict: "not-comparable",
      ratio: null,
      p: null,
      ...common,
      note:
        `timing rules ${timingRulesText(base.rules)} → ${
          timingRulesText(current.rules)
        } (the harnesses ` +
        "time different work: which passes are cache construction, never replayed, and how " +
        "the replays queue changed between them, so no speed ratio is taken; a baseline " +
        "remade by the newer harness compares speed again)",
    };
  }
  if (bm <= 0 || cm <= 0) {
    // A kernel takes time: a median of 0 is a clock that did not tick (a timer coarser than
    // the kernel), and no ratio to it means anything (before: ratio null, so "unchanged"
    // whatever the other side took, and counted nowhere).
    return {
      verdict: "not-comparable",
      ratio: null,
      p: null,
      ...common,
      // One text for every such case: the summary groups notes by their text (the medians
      // are the verdict's own fields).
      note: "a median of 0 ms is a clock that did not tick (a timer coarser than the " +
        "kernel), so no speed ratio can be taken",
    };
  }
  const ratio = cm / bm;
  const p = a.length > 0 && b.length > 0 ? mannWhitneyU(a, b).p : null;
  if (a.length < t.minSamples || b.length < t.minSamples) {
    return {
      verdict: "not-significant",
      ratio,
      p,
      ...common,
      note: `too few samples (${a.length} and ${b.length}; at least ${t.minSamples} each)`,
      tooFewSamples: true,
    };
  }
  const significant = p !== null && p < t.alpha;
  const verdict = significant && ratio >= t.speedRatio
    ? "regression"
    : significant && ratio <= 1 / t.speedRatio
    ? "improvement"
    : "not-significant";
  return { verdict, ratio, p, ...common };
}

const fmt = (v: number | null) => (v === null ? "none" : v.toPrecision(3));

/**
 * An error metric or its floor in compare.md's "what moved": as the parity summary that a
 * case's message quotes writes it (report/figures.ts: "2e-7 → 3e-5 (... above 1e-5)"). Its
 * own three digits ("outMaxAbs 8.96e-7 → 1.20e+0") stood in one cell beside the message's
 * "max abs err 1.2e0": one error written two ways.
 */
const errorFigure = (v: number | null) => (v === null ? "none" : reportErrorFigure(v));

function reasonsKey(c: BaselineCase): string {
  return (c.reasons ?? []).map((r) => `${r.code}: ${r.message}`).sort().join(" | ");
}

function supportDetails(base: BaselineCase, current: BaselineCase): string[] {
  const d: string[] = [];
  if (base.decision !== current.decision) {
    const why = current.reasons?.length
      ? ` (${current.reasons.map((r) => r.code).join(", ")})`
      : "";
    d.push(`support: ${base.decision} → ${current.decision}${why}`);
  } else if (current.decision === "unsupported" && reasonsKey(base) !== reasonsKey(current)) {
    const codes = (c: BaselineCase) => (c.reasons ?? []).map((r) => r.code).join(", ") || "none";
    d.push(
      codes(base) === codes(current)
        ? `reasons: same codes (${codes(current)}), different messages`
        : `reasons: ${codes(base)} → ${codes(current)}`,
    );
  } else if (current.decision === "supported") {
    if (base.backend !== current.backend) d.push(`backend: ${base.backend} → ${current.backend}`);
    else if (base.planDigest !== current.planDigest) {
      d.push(`plan: digest ${base.planDigest} → ${current.planDigest}`);
    }
  }
  const bad = ["error", "unexpected"];
  if (bad.includes(current.status) && current.status !== base.status) {
    d.push(`status: ${base.status} → ${current.status}: ${current.message}`);
  }
  return d;
}

/**
 * Classify one case present on both sides (attribution excluded).
 *
 * @example
 * ```ts ignore
 * import { classifyCase } from "./compare.ts";
 * classifyCase(baseCase, currentCase, DEFAULT_THRESHOLDS).class; // "unchanged"
 * ```
 */
export function classifyCase(
  base: BaselineCase,
  current: BaselineCase,
  t: Thresholds,
): Omit<CaseComparison, "attributedTo"> {
  const classes = new Set<DriftClass>();
  const details: string[] = [];
  const support = supportDetails(base, current);
  if (support.length > 0) {
    classes.add("support-drift");
    details.push(...support);
  }
  const crossed: string[] = [];
  if (base.parity && current.parity) {
    if (base.parity.out && !current.parity.out) crossed.push("out");
    if (base.parity.lse && !current.parity.lse) crossed.push("lse");
  } else if (base.status === "pass" && current.status === "fail") crossed.push("parity");
  // Another input seed (the matrix's `seed` edited): other inputs, so other bits and errors.
  if (base.seed !== undefined && current.seed !== undefined && base.seed !== current.seed) {
    details.push(
      `input seed ${base.seed} → ${current.seed} (the matrix's seed: other inputs, so other ` +
        "output bits and error metrics)",
    );
  }
  // the other way: a case that failed and now passes (information, as bits-changed is)
  const fixed: string[] = [];
  if (base.parity && current.parity) {
    if (!base.parity.out && current.parity.out) fixed.push("out");
    if (!base.parity.lse && current.parity.lse) fixed.push("lse");
  } else if (base.status === "fail" && current.status === "pass") fixed.push("parity");
  if (fixed.length > 0) {
    details.push(`back within the tolerance (${fixed.join(", ")}: fail → pass)`);
  }
  const metrics = metricDrifts(base, current, t);
  if (crossed.length > 0) {
    details.push(`crossed the tolerance (${crossed.join(", ")}: pass → fail): ${current.message}`);
  }
  for (const m of metrics) {
    details.push(
      `${m.metric} ${errorFigure(m.from)} → ${errorFigure(m.to)} (> ${t.metricFactor}x and above ${
        errorFigure(m.floor)
      })`,
    );
  }
  if (crossed.length > 0 || metrics.length > 0) classes.add("numeric-drift");
  const bitsChanged = base.outputDigest !== null && current.outputDigest !== null &&
    base.outputDigest !== current.outputDigest;
  if (bitsChanged) {
    classes.add("bits-changed");
    if (!classes.has("numeric-drift")) {
      details.push(
        `output bits changed within tolerance (${base.outputDigest} → ${current.outputDigest})`,
      );
    }
  }
  const speed = speedVerdict(base.timing, current.timing, t);
  if (speed && (speed.verdict === "regression" || speed.verdict === "improvement")) {
    classes.add(speed.verdict === "regression" ? "speed-regression" : "speed-improvement");
    details.push(
      `speed: median ${fmt(speed.baseMedianMs)} → ${fmt(speed.currentMedianMs)} ms (x${
        fmt(speed.ratio)
      }, Mann-Whitney p = ${speed.p?.toExponential(1)}, n = ${speed.counts.join("/")})`,
    );
  }
  if (classes.size === 0) classes.add("unchanged");
  const ordered = DRIFT_CLASSES.filter((c) => classes.has(c));
  return {
    id: current.id,
    class: ordered[0],
    classes: ordered,
    details,
    metrics,
    speed,
    bitsChanged,
  };
}

/** Options of {@link compareBaselines}. */
export interface CompareBaselinesOptions {
  /** Thresholds (default {@link DEFAULT_THRESHOLDS}). */
  thresholds?: Thresholds;
  /** Classes that are regressions (default {@link DEFAULT_FAIL_ON}). */
  failOn?: readonly DriftClass[];
}

/**
 * A side's device key under this harness's rules, from its fingerprint (drift/device_key.ts),
 * as history rekeys its stored runs and a baselines folder finds a file an older harness named:
 * a baseline written before d25df28 recorded lavapipe as `llvmpipe-65541-fallback-vulkan`, and
 * compared with this device's run it read "Different device keys". The recorded key where a
 * fingerprint gives none.
 *
 * @example
 * ```ts ignore
 * import { comparisonKey } from "./compare.ts";
 * comparisonKey(await readBaseline("old/llvmpipe-65541-fallback-vulkan.json"));
 * // "llvmpipe-65541-vulkan"
 * ```
 */
export function comparisonKey(b: Baseline): string {
  try {
    const key = deviceKey(b.fingerprint, { backend: b.backend });
    return key.startsWith("no-adapter-") ? b.deviceKey : key;
  } catch {
    return b.deviceKey;
  }
}

function side(b: Baseline): CompareSide {
  const have = new Set(b.cases.map((c) => c.id));
  const missing = b.scope.filter((id) => !have.has(id)).length;
  const key = comparisonKey(b);
  return {
    deviceKey: key,
    ...(key === b.deviceKey ? {} : { recordedKey: b.deviceKey }),
    createdAt: b.createdAt,
    matrix: b.matrix,
    filter: b.filter,
    ...(b.shard === null ? {} : { shard: b.shard }),
    deno: b.fingerprint.runtime?.deno ?? "unknown",
    ...(b.fingerprint.browser
      ? { browser: `${b.fingerprint.browser.name} ${b.fingerprint.browser.version}` }
      : {}),
    harnessRevision: b.fingerprint.harnessRevision ?? null,
    cases: b.cases.length,
    ...(missing === 0 ? {} : { missing }),
    ...(b.interrupted ? { interrupted: true as const } : {}),
    ...(b.plantedFault === undefined ? {} : { plantedFault: plantedFaultInfo(b.plantedFault) }),
    ...(b.hostLoad === undefined ? {} : { hostLoad: b.hostLoad }),
  };
}

/**
 * The sentences that say a compared side's run is incomplete: how many of its selected
 * cases have no result, and how they read in the comparison (the current run's: not run, not
 * compared; the baseline's: not run there, the current results for them not compared).
 * Empty when both are complete.
 *
 * @example
 * ```ts
 * import { incompleteSides } from "./compare.ts";
 * incompleteSides({ baseline: { missing: 2, interrupted: true }, current: {} });
 * // ["The baseline run was interrupted: 2 of its selected cases have no result (not run there: the current run's results for them are not compared, not new)."]
 * ```
 */
export function incompleteSides(
  sides: Record<"baseline" | "current", Pick<CompareSide, "missing" | "interrupted">>,
): string[] {
  return (["baseline", "current"] as const).flatMap((which) => {
    const s = sides[which];
    if (!s.missing) return [];
    return [
      `The ${which} run ${s.interrupted ? "was interrupted" : "is incomplete"}: ${
        plural(s.missing, "of its selected cases has", "of its selected cases have")
      } no result (${
        which === "current"
          ? "not run: not compared, and no drift"
          : "not run there: the current run's results for them are not compared, not new"
      }).`,
    ];
  });
}

/**
 * A planted fault's id with its description (parity/faults.ts `ALL_FAULTS`; null for an id
 * this harness does not know, as a fault of a newer harness's run).
 *
 * @example
 * ```ts
 * import { plantedFaultInfo } from "./compare.ts";
 * plantedFaultInfo("no-such-fault"); // { id: "no-such-fault", description: null }
 * ```
 */
export function plantedFaultInfo(id: string): PlantedFaultInfo {
  return { id, description: ALL_FAULTS.find((f) => f.id === id)?.description ?? null };
}

/** A side of a comparison that ran with a planted fault ({@link plantedFaultSides}). */
export interface FaultSide {
  /** Which side: the baseline or the current run. */
  readonly side: "baseline" | "current run";
  /** The fault's id. */
  readonly id: string;
}

/**
 * The sides of a comparison that ran with a planted fault, baseline first, each with the
 * fault's id; empty when neither did. The verdicts, the summary line and each case's
 * attribution name them from this list.
 *
 * @example
 * ```ts
 * import { plantedFaultSides } from "./compare.ts";
 * plantedFaultSides({}, { plantedFault: { id: "x", description: null } });
 * // [{ side: "current run", id: "x" }]
 * ```
 */
export function plantedFaultSides(
  baseline: { readonly plantedFault?: string | PlantedFaultInfo },
  current: { readonly plantedFault?: string | PlantedFaultInfo },
): FaultSide[] {
  const id = (f: string | PlantedFaultInfo) => typeof f === "string" ? f : f.id;
  return [
    ...(baseline.plantedFault === undefined
      ? []
      : [{ side: "baseline" as const, id: id(baseline.plantedFault) }]),
    ...(current.plantedFault === undefined
      ? []
      : [{ side: "current run" as const, id: id(current.plantedFault) }]),
  ];
}

/**
 * The sentence a comparison says first when a side ran with a planted fault (`run
 * --plant-fault`): which side, which fault and what it does, and that its differences are
 * the fault's, not drift; null when neither side did.
 *
 * @example
 * ```ts
 * import { plantedFaultSentence } from "./compare.ts";
 * plantedFaultSentence({}, { plantedFault: { id: "x", description: "a bug" } });
 * // "The current run ran with planted fault x (a bug; run --plant-fault): the differences ..."
 * ```
 */
export function plantedFaultSentence(
  baseline: Pick<CompareSide, "plantedFault">,
  current: Pick<CompareSide, "plantedFault">,
): string | null {
  const named = (f: PlantedFaultInfo) =>
    `planted fault ${f.id} (${f.description ?? "a fault this harness does not know"}; run ` +
    "--plant-fault)";
  const b = baseline.plantedFault, c = current.plantedFault;
  if (b === undefined && c === undefined) return null;
  const who = b !== undefined && c !== undefined
    ? `Both runs ran with a planted fault: the baseline with ${named(b)}, the current run ` +
      `with ${named(c)}`
    : b !== undefined
    ? `The baseline ran with ${named(b)}`
    : `The current run ran with ${named(c!)}`;
  return `${who}: the differences between the two are the fault's, not drift of the kernels ` +
    "or the environment (compare runs without a planted fault to check for drift).";
}

/**
 * A run's selection in words: "filter `preset=tiny`, shard 1/2", "the whole matrix".
 *
 * @example
 * ```ts
 * import { selectionText } from "./compare.ts";
 * selectionText({ filter: "preset=tiny", shard: "1/2" }); // "filter preset=tiny, shard 1/2"
 * ```
 */
export function selectionText(
  side: { readonly filter: string | null; readonly shard?: string | null },
): string {
  const parts = [
    ...(side.filter === null ? [] : [`filter ${side.filter}`]),
    ...(side.shard === null || side.shard === undefined ? [] : [`shard ${side.shard}`]),
  ];
  return parts.join(", ") || "the whole matrix";
}

/**
 * Which baseline cases the current run would select from its matrix: none when the two ran
 * different matrices; else those its filter (if any) matches and its shard (if any) owns
 * (a shard owns a case by its id's hash, matrix/ `inShard`).
 */
function selectableIn(current: Baseline, base: Baseline): (b: BaselineCase) => boolean {
  if (!sameMatrixName(current.matrix, base.matrix)) return () => false;
  const shard = current.shard === null ? null : /^(\d+)\/(\d+)$/.exec(current.shard);
  if (current.shard !== null && shard === null) return () => false; // unreadable: scope unknown
  let filter: CaseFilter | null = null;
  try {
    if (current.filter !== null) filter = parseFilter(current.filter);
  } catch {
    return () => false; // a filter this version cannot read: scope unknown
  }
  return (b) => {
    if (shard && !inShard(b.id, { index: Number(shard[1]), count: Number(shard[2]) })) {
      return false;
    }
    if (filter === null) return true;
    let params = b.params;
    try {
      params ??= paramsOfCaseId(b.id);
    } catch {
      return false;
    }
    return matchesFilter(params, filter);
  };
}

/**
 * The line that says the cases ran on other inputs (the matrix's `seed` edited): how many
 * cases and which seeds, or null when no case in both runs changed its seed.
 *
 * @example
 * ```ts
 * import { seedChanges } from "./compare.ts";
 * const base = { cases: [{ id: "a", seed: 1 }, { id: "b", seed: 1 }] };
 * const line = seedChanges(base, { cases: [{ id: "a", seed: 7 }, { id: "b", seed: 1 }] });
 * line; // "Inputs: the matrix's input seed 1 → 7 in 1 case: ..."
 * seedChanges(base, base); // null
 * ```
 */
export function seedChanges(
  base: { readonly cases: readonly Pick<BaselineCase, "id" | "seed">[] },
  current: { readonly cases: readonly Pick<BaselineCase, "id" | "seed">[] },
): string | null {
  const baseSeed = new Map(base.cases.map((c) => [c.id, c.seed]));
  const pairs = new Map<string, number>();
  for (const c of current.cases) {
    const b = baseSeed.get(c.id);
    if (b === undefined || c.seed === undefined || b === c.seed) continue;
    const k = `${b} → ${c.seed}`;
    pairs.set(k, (pairs.get(k) ?? 0) + 1);
  }
  if (pairs.size === 0) return null;
  const n = [...pairs.values()].reduce((a, b) => a + b, 0);
  return `Inputs: the matrix's input seed ${[...pairs.keys()].join(", ")} in ${
    plural(n, "case")
  }: other inputs, so other output bits and error metrics`;
}

/**
 * The line that says the two runs ran other backends by the command line: `--backend` (absent:
 * the adapter's choice) or the `--backend-module`s loaded, each `before → now`; null when
 * both ran the same.
 *
 * @example
 * ```ts
 * import { backendChoiceChanges } from "./compare.ts";
 * backendChoiceChanges({}, { backendOverride: "naive", backendModules: ["naive/mod.ts"] });
 * // "Backends: --backend (none: the adapter's choice) → naive; --backend-module (none) → naive/mod.ts"
 * backendChoiceChanges({}, {}); // null
 * ```
 */
export function backendChoiceChanges(
  base: Pick<Baseline, "backendOverride" | "backendModules" | "backendModulePaths">,
  current: Pick<Baseline, "backendOverride" | "backendModules" | "backendModulePaths">,
): string | null {
  const parts: string[] = [];
  const b = base.backendOverride, c = current.backendOverride;
  if (b !== c) {
    const text = (x: string | undefined) => x ?? "(none: the adapter's choice)";
    parts.push(`--backend ${text(b)} → ${text(c)}`);
  }
  const modules = (x: readonly string[] | undefined) => (x ?? []).join(", ") || "(none)";
  // where both record where the modules are, those decide: b/mod.ts typed in one folder and
  // /abs/b/mod.ts are one module (it named a change), b/mod.ts typed in two folders two
  const located = base.backendModulePaths !== undefined &&
    current.backendModulePaths !== undefined;
  const changed = located
    ? modules(base.backendModulePaths) !== modules(current.backendModulePaths)
    : modules(base.backendModules) !== modules(current.backendModules);
  if (changed) {
    const sameWords = modules(base.backendModules) === modules(current.backendModules);
    const text = (b: Pick<Baseline, "backendModules" | "backendModulePaths">) =>
      sameWords ? modules(b.backendModulePaths) : modules(b.backendModules);
    parts.push(`--backend-module ${text(base)} → ${text(current)}`);
  }
  return parts.length === 0 ? null : `Backends: ${parts.join("; ")}`;
}

/**
 * The line that says the two runs checked their cases on other numbers of reference rows
 * (`--max-rows`: a case of more query rows is checked on a sample of that many), or null when
 * they are the same. A side of a harness before ef9a487 did not record it: against the other
 * side's default ({@link DEFAULT_MAX_ROWS}) nothing is said, against another value the line
 * says it is not recorded (a baseline of an older harness against `run --max-rows 8` read as
 * the same check without a word).
 *
 * @example
 * ```ts
 * import { maxRowsChange } from "./compare.ts";
 * maxRowsChange({ maxRows: 64 }, { maxRows: 8 });
 * // "Reference rows: --max-rows 64 → 8 (a case of more query rows is checked on a sample of that many: fewer rows can miss a difference)"
 * maxRowsChange({}, { maxRows: 64 }); // null
 * maxRowsChange({}, { maxRows: 8 });
 * // "Reference rows: --max-rows not recorded (64 unless that run set another) → 8 (...)"
 * ```
 */
export function maxRowsChange(
  base: Pick<Baseline, "maxRows">,
  current: Pick<Baseline, "maxRows">,
): string | null {
  const [b, c] = [base.maxRows, current.maxRows];
  if (b === c) return null;
  if ((b ?? DEFAULT_MAX_ROWS) === (c ?? DEFAULT_MAX_ROWS)) return null;
  const text = (v: number | undefined) =>
    v ?? `not recorded (${DEFAULT_MAX_ROWS} unless that run set another)`;
  return `Reference rows: --max-rows ${text(b)} → ${text(c)} (a case of more ` +
    "query rows is checked on a sample of that many: fewer rows can miss a difference)";
}

function toleranceFigures(tolerance: unknown, prefix = "", out = new Map<string, number>()) {
  if (!isRecord(tolerance)) return out;
  for (const [k, v] of Object.entries(tolerance)) {
    const key = prefix === "" ? k : `${prefix}.${k}`;
    if (typeof v === "number") out.set(key, v);
    else if (isRecord(v)) toleranceFigures(v, key, out);
  }
  return out;
}

/**
 * The figures of a case's recorded tolerance that moved between two sides (a harness upgrade
 * tightened or loosened the bar): each `key` ("out.atol") with both values, in the record's
 * order. Empty when a side recorded no tolerance (nothing to say) or none moved.
 *
 * @example
 * ```ts
 * import { toleranceChanges } from "./compare.ts";
 * toleranceChanges({ out: { atol: 0.0038, rtol: 0.016 } }, { out: { atol: 0.00095, rtol: 0.016 } });
 * // [{ key: "out.atol", from: 0.0038, to: 0.00095 }]
 * ```
 */
export function toleranceChanges(base: unknown, current: unknown): ToleranceChange[] {
  if (!isRecord(base) || !isRecord(current)) return [];
  const [b, c] = [toleranceFigures(base), toleranceFigures(current)];
  const keys = [...new Set([...b.keys(), ...c.keys()])];
  return keys.flatMap((key) => {
    const [from, to] = [b.get(key) ?? null, c.get(key) ?? null];
    return Object.is(from, to) ? [] : [{ key, from, to }];
  });
}

/**
 * A tolerance change in words: "out.atol 3.8e-3 → 9.5e-4", every figure in exponent form with
 * all its digits (String() wrote "0.00001 → 0.000019" beside "1.6e-9").
 */
function toleranceChangeText(changes: readonly ToleranceChange[]): string {
  const v = (x: number | null) =>
    x === null ? "none" : x === 0 ? "0" : x.toExponential().replace("e+", "e");
  return changes.map((c) => `${c.key} ${v(c.from)} → ${v(c.to)}`).join(", ");
}

/**
 * The line that says the cases' recorded tolerances moved (a harness upgrade tightened or
 * loosened the bar the errors are checked against), grouped by the change: "Tolerances: the
 * bar moved in 27 cases: out.atol 3.8e-3 → 9.5e-4 (27 cases) ..."; null when none moved.
 * Verdicts are unchanged by it: a case that still passes is "unchanged", under the new bar.
 *
 * @example
 * ```ts ignore
 * import { toleranceSummary } from "./compare.ts";
 * toleranceSummary(report.cases); // "Tolerances: the recorded tolerance moved in 27 cases ..."
 * ```
 */
export function toleranceSummary(
  cases: readonly Pick<CaseComparison, "toleranceChanges">[],
): string | null {
  const groups = new Map<string, number>();
  for (const c of cases) {
    if (!c.toleranceChanges || c.toleranceChanges.length === 0) continue;
    const k = toleranceChangeText(c.toleranceChanges);
    groups.set(k, (groups.get(k) ?? 0) + 1);
  }
  if (groups.size === 0) return null;
  const n = [...groups.values()].reduce((a, b) => a + b, 0);
  const parts = [...groups].sort((a, b) => b[1] - a[1]).map(([k, m]) =>
    `${k} (${plural(m, "case")})`
  );
  return `Tolerances: the recorded tolerance (the bar each case's errors are checked against) ` +
    `moved in ${plural(n, "case")}: ${parts.join("; ")} (each side's pass or fail is ` +
    "against its own tolerance)";
}

/**
 * Compare a current run (as a baseline-shaped record) with a baseline. Baseline cases
 * outside the current run's scope (another matrix, its filter or shard) are counted as out
 * of scope, not removed; a case the current run selected but has no result for (an interrupted
 * run, a merge missing shards) is not run: not compared, counted in `current.missing`; so is a
 * case the baseline's run selected but has no result for (`baseline.missing`), not new; a case
 * that the same matrix no longer has where the current filter would select it is removed.
 *
 * @example
 * ```ts ignore
 * import { compareBaselines } from "./compare.ts";
 * const report = compareBaselines(baseline, await baselineFromReport(runReport));
 * report.counts["numeric-drift"]; // 0
 * report.regressions > 0; // exit 1
 * ```
 */
export function compareBaselines(
  base: Baseline,
  current: Baseline,
  options: CompareBaselinesOptions = {},
): CompareReport {
  const t = options.thresholds ?? DEFAULT_THRESHOLDS;
  // Two devices (a baseline of another machine, compared on purpose): the adapter picks a
  // backend and plan per device and each device has its own speed, so by default those
  // differences are figures, not regressions (72 support-drift regressions and exit 1 stood
  // beside "Different device keys"); numeric drift still counts, and --fail-on decides.
  const acrossDevices = comparisonKey(base) !== comparisonKey(current);
  const uncounted: DriftClass[] = acrossDevices && options.failOn === undefined
    ? [...DEVICE_DEPENDENT_CLASSES]
    : [];
  const failOn = (options.failOn ?? DEFAULT_FAIL_ON).filter((k) => !uncounted.includes(k));
  const environment = attributeEnvironment(base.fingerprint, current.fingerprint);
  const context = { from: base.fingerprint, to: current.fingerprint, environment };
  const baseById = new Map(base.cases.map((c) => [c.id, c]));
  const curById = new Map(current.cases.map((c) => [c.id, c]));
  const scope = new Set(current.scope);
  const baseScope = new Set(base.scope);
  // A baseline case the current run would have selected, had its matrix still held it: the
  // same matrix, no shard (a shard's share depends on the whole selection), and the case
  // inside the current filter. Such a case is removed, not out of scope.
  const selectable = selectableIn(current, base);
  // The other way: a current case the baseline's run would not have selected from the same
  // matrix (a baseline made from one shard's or a filtered run's report) is new to the
  // baseline, not to the matrix, and is not compared.
  const baseSelects = base.filter !== null || base.shard !== null
    ? selectableIn(base, current)
    : () => true;
  const sameMatrix = sameMatrixName(current.matrix, base.matrix);
  let newOutOfScope = 0;
  // A side run with a planted fault: each difference is first the fault's.
  const causes = plantedFaultSides(base, current).map((f) => `planted fault ${f.id} (${f.side})`);
  // Another --backend or other modules: each difference may be theirs.
  const backends = backendChoiceChanges(base, current);
  if (backends !== null) causes.push(backends);
  const cases: CaseComparison[] = [];
  const untested: (readonly [number, number])[] = [];
  let outOfScope = 0;
  for (const c of current.cases) {
    const b = baseById.get(c.id);
    // a case the baseline's run selected and has no result for (it was interrupted, or a merge
    // missing shards made it): not run there, not compared; the baseline side's `missing`
    // counts it (it read "new", and --fail-on new counted it as a regression)
    if (!b && baseScope.has(c.id)) continue;
    if (!b) {
      const outside = !baseScope.has(c.id) && sameMatrix && !baseSelects(c);
      if (outside) newOutOfScope++;
      cases.push({
        id: c.id,
        class: "new",
        classes: ["new"],
        details: [
          outside
            ? `outside the baseline's selection (${
              selectionText(base)
            }): not compared; now ${c.decision}, ${c.status}`
            : sameMatrix
            ? `new case (${c.decision}, ${c.status})`
            : `new case: only in the current run's matrix ${current.matrix} (${c.decision}, ${c.status})`,
        ],
        metrics: [],
        speed: null,
        bitsChanged: false,
        attributedTo: [],
      });
      continue;
    }
    const r = classifyCase(b, c, t);
    const moved = toleranceChanges(b.tolerance, c.tolerance);
    cases.push({
      ...r,
      attributedTo: r.class === "unchanged" ? [] : [...causes, ...attributeCase(b, c, context)],
      ...(moved.length === 0 ? {} : { toleranceChanges: moved }),
    });
    // Speed not tested: too few samples on a side, or none (a side run with --repeats 0).
    if (r.speed?.tooFewSamples) untested.push(r.speed.counts);
    else if (
      r.speed === null && b.decision === "supported" && c.decision === "supported" &&
      (b.timing === null || c.timing === null)
    ) {
      untested.push([b.timing?.count ?? 0, c.timing?.count ?? 0]);
    }
  }
  for (const b of base.cases) {
    if (curById.has(b.id)) continue;
    // a case the current run selected and has no result for (an interrupted run, a merge
    // missing shards) is not run, not compared: the side's `missing` counts it (it read
    // "24 removed" after a Ctrl-C, as if the matrix had dropped them)
    if (scope.has(b.id)) continue;
    if (selectable(b)) {
      cases.push({
        id: b.id,
        class: "removed",
        classes: ["removed"],
        details: ["no longer in the matrix"],
        metrics: [],
        speed: null,
        bitsChanged: false,
        attributedTo: [],
      });
    } else {
      outOfScope++;
    }
  }
  const rank = (c: DriftClass) => DRIFT_CLASSES.indexOf(c);
  cases.sort((x, y) => rank(x.class) - rank(y.class) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const counts = Object.fromEntries(DRIFT_CLASSES.map((c) => [c, 0])) as Record<DriftClass, number>;
  for (const c of cases) counts[c.class]++;
  const classCounts = Object.fromEntries(
    DRIFT_CLASSES.map((k) => [k, cases.filter((c) => c.classes.includes(k)).length]),
  ) as Record<DriftClass, number>;
  const ratios = cases.flatMap((c) =>
    c.speed && c.speed.verdict !== "not-comparable" && c.speed.ratio !== null ? [c.speed.ratio] : []
  );
  const apart = new Map<string, number>();
  for (const c of cases) {
    if (c.speed?.verdict === "not-comparable") {
      const note = c.speed.note ?? "not comparable";
      apart.set(note, (apart.get(note) ?? 0) + 1);
    }
  }
  const sides = { baseline: side(base), current: side(current) };
  const fault = plantedFaultSentence(sides.baseline, sides.current);
  // The inputs are no part of the environment's fingerprint, but a seed edited in the matrix
  // makes every case's errors other ones: said beside the environment's changes, where
  // "Nothing" stood above 45 numeric-drift cases
  const seeds = seedChanges(base, current);
  // so is a change of --backend or of the modules loaded (the fingerprint holds the modules'
  // hashes, not which backend the command line chose)
  // and a check on other numbers of reference rows (two runs of other --max-rows read as
  // "unchanged" without a word)
  const rows = maxRowsChange(base, current);
  // and runs of two matrices: the cases of one only read as new or out of scope, where only
  // the header's matrix names told why
  const matrices = sameMatrix ? null : `Matrix: ${base.matrix} → ${current.matrix} (the cases ` +
    `of one of them only are not compared: ${plural(counts.new, "new case")}, ${
      plural(outOfScope, "baseline case")
    } outside the current selection)`;
  // and tolerances that moved (a harness upgrade tightened a bar: "unchanged" said nothing)
  const tolerances = toleranceSummary(cases);
  const extra = [matrices, seeds, backends, rows, tolerances].filter((x): x is string =>
    x !== null
  );
  const said = extra.length === 0
    ? environment
    : { ...environment, summary: [...environment.summary, ...extra] };
  return {
    format: "mla-harness-compare",
    version: 1,
    ...sides,
    ...(fault === null ? {} : { plantedFault: fault }),
    thresholds: t,
    failOn: [...failOn],
    ...(acrossDevices ? { acrossDevices: { uncounted } } : {}),
    environment: said,
    counts,
    classCounts,
    outOfScope,
    ...(newOutOfScope > 0 ? { newOutOfScope } : {}),
    speed: {
      geomeanRatio: geometricMean(ratios),
      compared: ratios.length,
      regressions: cases.filter((c) => c.classes.includes("speed-regression")).length,
      improvements: cases.filter((c) => c.classes.includes("speed-improvement")).length,
      untested: untested.length,
      fewestSamples: untested.length === 0 ? null : minOf(untested.flat()),
      ...(untested.length === 0 ? {} : {
        shortSides: (["baseline", "current"] as const).filter((_, i) =>
          untested.some((counts) => counts[i] < t.minSamples)
        ),
      }),
      notComparable: [...apart].map(([note, n]) => ({ note, cases: n }))
        .sort((a, b) => b.cases - a.cases),
      load: speedLoad(base.hostLoad, current.hostLoad, { limitPerCpu: t.loadPerCpu }),
    },
    regressions: cases.filter((c) => c.classes.some((k) => failOn.includes(k))).length,
    cases,
  };
}
