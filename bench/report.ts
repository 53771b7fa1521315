/**
 * Benchmark outputs: the terminal table, JSON (one record per case plus the
 * ceilings and the target summary), CSV, and the Markdown summary.
 *
 * @module
 */
import { formatTuning } from "../adapter/plan_tuning.ts";
import type { PlanTuning } from "../adapter/types.ts";
import {
  benchCaseId,
  HEADLINE,
  TARGET_CASES,
  TARGET_SETS,
  type TargetClassChoice,
} from "./cases.ts";
import { type Ceilings, memoryRoof } from "./ceilings.ts";
import { benchFigure, benchFraction, benchGbps, benchMs, benchRate } from "./figure.ts";
import { CEILING_LABELS, type ReferenceCeilings } from "./reference_ceilings.ts";
import type { BenchRecord } from "./run_bench.ts";
import { type Crossover, crossoverLines, crossoverMarkdown } from "./crossover.ts";
import { passRole } from "../adapter/pass_roles.ts";
import { mdCell } from "../report/md_text.ts";
import { plural } from "../util/plural.ts";
import type { StopSignal } from "../util/stop_signals.ts";
import type { HostLoad } from "../util/host_load.ts";

/** The machine a benchmark ran on. */
export interface MachineInfo {
  /** CPU model (node:os cpus()). */
  readonly cpu: string;
  /** Logical CPUs. */
  readonly cores: number;
  /** Adapter description (lavapipe prints its LLVM version here). */
  readonly adapter: string;
  /**
   * The device key, as a run on this device names its baseline (drift/device_key.ts; absent
   * in reports written before session 44).
   */
  readonly deviceKey?: string;
  /** Deno version. */
  readonly deno: string;
  /**
   * The browser whose WebGPU ran the cases (`bench --runtime chromium`), e.g. "chromium
   * HeadlessChrome/156.0.8078.114"; absent for Deno's own WebGPU.
   */
  readonly browser?: string;
  /**
   * The plan tuning the cases were planned with (adapter/plan_tuning.ts; MLA_HARNESS_TUNING),
   * absent without one: a tuned plan's figures are not the default plan's.
   */
  readonly tuning?: PlanTuning;
  /** Where `tuning` came from ("MLA_HARNESS_TUNING=<file>"). */
  readonly tuningFrom?: string;
}

/** What `--warmup-ms auto` and `--replay auto` followed ({@link BenchReport.timingChoice}). */
export interface TimingChoice {
  /** The options that were auto. */
  readonly auto: readonly ("--warmup-ms" | "--replay")[];
  /** The class they followed: the one the kernels were planned as. */
  readonly deviceClass: "cpu" | "gpu";
  /** Where that class came from: "rules", "MLA_HARNESS_DEVICE_CLASS" or "caps file". */
  readonly source: string;
  /** The device's own class by the rules. */
  readonly ownClass: "cpu" | "gpu";
}

/**
 * Why `--warmup-ms auto` and `--replay auto` chose what they did, in words: the class they
 * followed, and where it was set by hand over the device's own class, by what, and the options
 * that time the device as its own class.
 *
 * @example
 * ```ts
 * import { timingChoiceWords } from "./report.ts";
 * timingChoiceWords({ auto: ["--replay"], deviceClass: "cpu", source: "rules", ownClass: "cpu" });
 * // "--replay auto: as for a cpu-class device (the device's class by its rules)"
 * ```
 */
export function timingChoiceWords(c: TimingChoice): string {
  const opts = `${c.auto.map((o) => `${o} auto`).join(" and ")}`;
  if (c.source === "rules" || c.deviceClass === c.ownClass) {
    return `${opts}: as for a ${c.deviceClass}-class device (the device's class by ${
      c.source === "rules" ? "its rules" : `${c.source}, as its rules say too`
    })`;
  }
  const by = c.source === "MLA_HARNESS_DEVICE_CLASS"
    ? `MLA_HARNESS_DEVICE_CLASS=${c.deviceClass}`
    : `the ${c.source}'s "deviceClass": "${c.deviceClass}"`;
  const own = c.ownClass === "cpu"
    ? "--warmup-ms 0 --replay waited (a CPU implementation has no clocks to raise, and a " +
      "queued replay competes with the running one for its cores)"
    : "--warmup-ms 500 --replay queued (a GPU's clocks drop while it waits)";
  return `${opts}: as for a ${c.deviceClass}-class device, the class ${by} sets for its ` +
    `kernels, as run does; the device's own class is ${c.ownClass}, timed as such with ${own}`;
}

/** One target's outcome. */
export interface TargetOutcome {
  /** Target name. */
  readonly target: string;
  /** Case id measured. */
  readonly id: string;
  /** Required roofline fraction (or speed-up for the ratio target). */
  readonly want: number;
  /** Achieved (null when the case did not run). */
  readonly got: number | null;
  /**
   * Why `got` is null: the case (for the ratio target, one of its two) was refused on this
   * device ("unsupported", e.g. f16 without shader-f16) or failed ("error"). Such a target is
   * not met, but it is no shortfall either: the reports print it `n/a ` with the reason, not
   * `MISS`. Absent when the case ran.
   */
  readonly notRun?: {
    /** The record's status. */
    readonly status: "unsupported" | "error";
    /** The case that did not run. */
    readonly id: string;
    /** Its reason codes, each once and without the backend (an unsupported case's). */
    readonly codes: readonly string[];
    /** Its whole reason. */
    readonly reason: string;
  };
  /**
   * The ratio target's other case, when neither of its two ran (as `notRun`): the reports
   * named one of the two, and a reader fixing it found the other refused too.
   */
  readonly alsoNotRun?: NonNullable<TargetOutcome["notRun"]>;
  /** got >= want, and got is plausible (see `implausible`). */
  readonly met: boolean;
  /** Shortfall as a fraction of the target (0 when met; null when it did not run or is implausible). */
  readonly shortfall: number | null;
  /**
   * A roofline fraction above 1: the case ran faster than the measured ceilings allow
   * ({@link benchWarnings}). Neither met nor missed.
   */
  readonly implausible?: boolean;
  /**
   * The same figure at the case's fastest timed repetition (the ratio target: the fastest
   * dense over the fastest absorbed), where the record has one: on a shared CPU host the
   * repetitions of one case can fall in two groups far apart, and the median then lands in
   * either. Shown beside `got`, never judged.
   */
  readonly fastest?: number;
  /**
   * A roofline fraction whose median is within the ceilings (not `implausible`) but whose
   * fastest repetition is above 1: that repetition ran faster than the ceilings allow. Never
   * set for the ratio target.
   */
  readonly fastestImplausible?: boolean;
}

/** The whole benchmark report (`bench --json`). */
export interface BenchReport {
  /** Where it ran. */
  readonly machine: MachineInfo;
  /** Ceilings measured in the same run, joined with a reference report's when one was given. */
  readonly ceilings: Ceilings;
  /** One record per case. */
  readonly records: readonly BenchRecord[];
  /** Targets of the cases that ran (present when target cases ran). */
  readonly targets: readonly TargetOutcome[];
  /**
   * The device class whose targets were applied (bench/cases.ts `TARGET_SETS`): the device's
   * own by the rules, never a class set by hand (bench/cases.ts `targetClassOf`).
   */
  readonly targetClass?: "cpu" | "gpu";
  /**
   * The class the kernels were planned as when set by hand (MLA_HARNESS_DEVICE_CLASS, a caps
   * file) to other than the device's own; absent otherwise.
   */
  readonly plannedClass?: TargetClassChoice["plannedClass"];
  /**
   * The absorbed / dense crossover of every sweep where both paths ran (bench/crossover.ts);
   * absent when there is none.
   */
  readonly crossovers?: readonly Crossover[];
  /**
   * The host's load as the timed part (the ceilings, the cases, the ceilings again) started and
   * ended (util/host_load.ts): a busy host's timings can move several-fold, and a warning says
   * so above the limit per CPU drift/speed_load.ts holds compares to. Absent in reports
   * written before it was recorded.
   */
  readonly hostLoad?: HostLoad;
  /**
   * What `--warmup-ms auto` and `--replay auto` followed: the device class the kernels were
   * planned as (kernels/replay.ts `warmupMsForClass`, `replayModeForClass`), where it came
   * from, and the device's own class by the rules. Absent when neither option was auto (and in
   * reports written before it was recorded).
   */
  readonly timingChoice?: TimingChoice;
  /** What makes figures of this run untrustworthy ({@link benchWarnings}); absent when none. */
  readonly warnings?: readonly string[];
  /**
   * The earlier report whose ceilings joined this run's (`bench --reference-ceilings`,
   * bench/reference_ceilings.ts); absent without one.
   */
  readonly referenceCeilings?: ReferenceUse;
  /**
   * The `--backend` ids the cases ran on instead of the adapter's choice, and the
   * `--backend-module` files loaded (with their fingerprint hashes: which kernel the figures
   * are of); absent when neither was given.
   */
  readonly backends?: {
    readonly overrides: readonly string[];
    readonly modules: readonly {
      readonly specifier: string;
      readonly id: string;
      readonly hashes: Readonly<Record<string, string>>;
    }[];
  };
  /**
   * Set when a signal stopped the run before every case ran (`bench` on SIGINT finishes
   * the current case, on SIGTERM abandons it); absent when every case ran.
   */
  readonly interrupted?: BenchInterruption;
  /**
   * Set when `bench --resume` kept records an earlier session of the bench measured (it was
   * killed or stopped): their case ids. The ceilings are this session's; absent otherwise.
   */
  readonly resumed?: { readonly kept: readonly string[] };
}

/** How a bench run was cut short: by which signal, and which cases did not run. */
export interface BenchInterruption {
  /** The signal that stopped it. */
  readonly signal: StopSignal;
  /** Cases the run selected. */
  readonly selected: number;
  /** Ids of the selected cases that have no record (not run, or abandoned). */
  readonly notRun: readonly string[];
}

/**
 * The warning line of an interrupted bench run.
 *
 * @example
 * ```ts
 * import { interruptionWarning } from "./report.ts";
 * interruptionWarning({ signal: "SIGINT", selected: 3, notRun: ["b", "c"] });
 * // "interrupted by SIGINT: 1 of 3 cases ran; not run: b, c; the ceilings after the cases were not measured"
 * ```
 */
export function interruptionWarning(i: BenchInterruption): string {
  const ran = i.selected - i.notRun.length;
  return `interrupted by ${i.signal}: ${ran} of ${plural(i.selected, "case")} ran; not run: ` +
    `${i.notRun.join(", ")}; the ceilings after the cases were not measured`;
}

/** The reference ceilings of a report: their figures, their file and which figures they raised. */
export interface ReferenceUse extends ReferenceCeilings {
  /**
   * The figures (`copyGBps`, `readGBps`, `textureReadGBps`, `fmaGflops`) the reference raised
   * above this run's.
   */
  readonly used: readonly string[];
}

/** The names of the figures a reference raised (`copyGBps` → "copy"), as the reports say them. */
function usedLabels(used: readonly string[]): string[] {
  return used.map((k) => CEILING_LABELS[k as keyof typeof CEILING_LABELS]?.[0] ?? k);
}

/**
 * One line on a report's reference ceilings, or null without them.
 *
 * @example
 * ```ts
 * import { referenceLine } from "./report.ts";
 * referenceLine({ referenceCeilings: {
 *   file: "quiet/report.json", adapter: "llvmpipe", copyGBps: 9.8, readGBps: 10.2,
 *   fmaGflops: 123, used: ["copyGBps"],
 * } }); // "reference ceilings quiet/report.json: copy 9.80 GB/s, ... this run's copy raised to them"
 * ```
 */
export function referenceLine(report: Pick<BenchReport, "referenceCeilings">): string | null {
  const r = report.referenceCeilings;
  if (!r) return null;
  return `reference ceilings ${r.file}: copy ${f(r.copyGBps)} GB/s, read ${f(r.readGBps)} GB/s, ` +
    (r.textureReadGBps === undefined ? "" : `texture read ${f(r.textureReadGBps)} GB/s, `) +
    `FMA f32 ${benchRate(r.fmaGflops)} GFLOP/s; ` +
    (r.used.length
      ? `this run's ${usedLabels(r.used).join(", ")} raised to them`
      : "this run measured at or above them");
}

/** A roofline fraction no kernel can reach (above 1): the ceilings, not the kernel, are off. */
function isImplausible(fraction: number | null | undefined): boolean {
  return fraction !== null && fraction !== undefined && fraction > 1;
}

/**
 * Warnings about a run's figures: each case whose roofline fraction is above 1, faster
 * than the measured ceilings allow. Either the ceilings were measured low (on a contended
 * host, during both measurements), so every fraction of the run reads high, or the case's
 * data stayed in a cache that the ceilings' 64 MiB buffers do not fit in (a GPU's L2 can
 * hold a small latent cache), or the case reads memory a way none of the ceilings measures
 * (they copy, read and fetch texels; before the texture-read ceiling, wgsl-expanded's
 * decode, which reads K and V through textures, passed the storage ceilings on lavapipe).
 * Either way its fraction is not a roofline fraction, and the target it feeds is not judged.
 *
 * @example
 * ```ts
 * import { benchWarnings } from "./report.ts";
 * benchWarnings([]).length; // 0
 * ```
 */
export function benchWarnings(records: readonly BenchRecord[]): string[] {
  const above = records.filter((r) => r.status === "ok" && isImplausible(r.roofline_fraction))
    .map((r) =>
      `${r.id}: roofline fraction ${
        benchFraction(r.roofline_fraction)
      } is above 1, faster than the measured ceilings allow: they were measured low ` +
      "(contention while they ran: every fraction of this run then reads high; rerun), its " +
      "data stayed in a cache their 64 MiB buffers do not fit in, or it reads memory a way " +
      "none of them measures (they copy, read and fetch texels); its target is not judged"
    );
  // Without timestamps a case's ms is its whole replay (kernels/measure.ts scopedMs): for the
  // absorbed path that holds the query absorption, the up-projection and q's RoPE, while its
  // FLOPs and bytes count the attention core only (the dense path's replay is its core).
  const walled =
    records.filter((r) =>
      r.status === "ok" && r.source === "wall-clock" && r.case.path === "absorbed"
    ).length;
  // every case refused or failed (the headline matrix on the GL fallback: too slow, no f16):
  // the table and exit 0 read as a bench that ran; report.html alone said nothing was measured
  const notOk = records.filter((r) => r.status !== "ok");
  const counts = (["unsupported", "error"] as const).flatMap((s) => {
    const n = notOk.filter((r) => r.status === s).length;
    return n > 0 ? [`${n} ${s}`] : [];
  }).join(", ");
  const none = records.length > 0 && notOk.length === records.length
    ? [
      `${
        records.length === 1 ? "the 1 case was not" : `none of the ${records.length} cases was`
      } measured (${counts}): this report has the device's ceilings and no kernel figure; ` +
      "each case's reason is in its row",
    ]
    : [];
  if (walled === 0) return [...none, ...above];
  return [
    ...none,
    ...above,
    `${plural(walled, "absorbed case")} timed by the wall clock (the device has no timestamp ` +
    "queries): " +
    "their ms covers the whole decode step (query absorption, up-projection, q's RoPE, the " +
    "submission), not only the attention core their FLOPs and bytes count, so their roofline " +
    "fractions and the absorbed / dense ratio and crossover read low",
  ];
}

/**
 * Evaluate the targets of a device class (bench/cases.ts `TARGET_SETS`; default "cpu") from
 * the records that ran: one outcome per target case that ran (null when it did not run
 * to the end) and per dtype whose absorbed and dense decode both ran.
 *
 * @example
 * ```ts
 * import { evaluateTargets } from "./report.ts";
 * evaluateTargets([]).length; // 0
 * ```
 */
export function evaluateTargets(
  records: readonly BenchRecord[],
  options: { deviceClass?: "cpu" | "gpu" } = {},
): TargetOutcome[] {
  const set = TARGET_SETS[options.deviceClass ?? "cpu"];
  const byId = new Map(records.map((r) => [r.id, r]));
  const out: TargetOutcome[] = [];
  const outcome = (
    target: string,
    id: string,
    want: number,
    got: number | null,
    options: {
      implausible?: boolean;
      fastest?: number | null;
      fraction?: boolean;
      records?: readonly BenchRecord[];
    } = {},
  ) => {
    // the records of the target that did not run, when got is missing for that reason
    const skipped = got === null ? (options.records ?? []).filter((r) => r.status !== "ok") : [];
    const notRunOf = (r: BenchRecord): NonNullable<TargetOutcome["notRun"]> | undefined =>
      r.status === "ok" ? undefined : {
        status: r.status,
        id: r.id,
        codes: [...new Set((r.reason_codes ?? []).map((c) => c.replace(/^.*:/, "")))],
        reason: r.reason ?? "",
      };
    const [notRun, alsoNotRun] = skipped.map(notRunOf);
    const implausible = options.implausible ?? false;
    const fastestImplausible = (options.fraction ?? false) && !implausible &&
      isImplausible(options.fastest);
    out.push({
      target,
      id,
      want,
      got,
      met: got !== null && !implausible && got >= want,
      shortfall: got === null || implausible ? null : Math.max(0, 1 - got / want),
      ...(implausible ? { implausible } : {}),
      ...(notRun ? { notRun } : {}),
      ...(alsoNotRun ? { alsoNotRun } : {}),
      ...(options.fastest == null || !Number.isFinite(options.fastest)
        ? {}
        : { fastest: options.fastest }),
      ...(fastestImplausible ? { fastestImplausible } : {}),
    });
  };
  for (const h of TARGET_CASES) {
    const id = benchCaseId(h);
    const r = byId.get(id);
    const want = set.fractions[h.target];
    if (!r || want === undefined) continue;
    const got = r.roofline_fraction ?? null;
    // the fraction scales with 1 / time: at the fastest repetition, got x ms / ms_min
    const fastest = got !== null && r.ms && r.ms_min ? got * r.ms / r.ms_min : null;
    outcome(h.target, id, want, got, {
      implausible: isImplausible(got),
      fastest,
      fraction: true,
      records: [r],
    });
  }
  for (const dtype of ["f32", "f16"] as const) {
    const a = byId.get(benchCaseId({ ...HEADLINE[0], dtype }));
    const d = byId.get(benchCaseId({ ...HEADLINE[2], dtype }));
    if (!a || !d) continue;
    const got = a.ms && d.ms ? d.ms / a.ms : null;
    const fastest = a.ms_min && d.ms_min ? d.ms_min / a.ms_min : null;
    outcome(`absorbed-over-dense-${dtype}`, `${a.id} vs ${d.id}`, set.absorbedOverDense, got, {
      fastest,
      records: [a, d],
    });
    // (a ratio of two times: the ceilings do not enter it)
  }
  return out;
}

export { benchFigure, benchFraction, benchGbps, benchMs, benchRate } from "./figure.ts";

const f = benchFigure;

const COLUMNS = [
  "id",
  "status",
  "ms",
  "spread_ms",
  "gflops",
  "gbps",
  "roofline_fraction",
  "bound",
  "submit_ms",
  "expansion_ms",
  "splits",
  "backend",
  "variant",
] as const;

/**
 * A kernel variant in a few words: its family, then queries x heads per tile and the
 * workgroup size (what a GPU engineer needs to read a time: e.g. which FA2 query tile ran).
 *
 * @example
 * ```ts
 * import { variantLabel } from "./report.ts";
 * variantLabel({ family: "expanded-fa2", workgroupSize: 32, headsPerTile: 1, kvSplits: 1, queryTile: 16 });
 * // "expanded-fa2 16q x 1h wg32"
 * ```
 */
export function variantLabel(v: BenchRecord["variant"]): string {
  if (v === undefined) return "-";
  // a report.json older than a field has none (an H100 report of 2026-11 has no family or
  // query tile): said so, not "undefined undefinedq x 16h wg16"
  const p: Partial<NonNullable<BenchRecord["variant"]>> = v;
  const step = p.decodeStep === undefined ? "" : ` step${p.decodeStep}`;
  const family = p.family ?? "family not recorded,";
  const tile = p.queryTile === undefined ? "" : `${p.queryTile}q x `;
  const heads = p.headsPerTile === undefined ? "" : `${p.headsPerTile}h `;
  const wg = p.workgroupSize === undefined ? "workgroup not recorded" : `wg${p.workgroupSize}`;
  return `${family} ${tile}${heads}${wg}${step}`;
}

function row(r: BenchRecord): string[] {
  if (r.status !== "ok") {
    // one line in the table (a WGSL error or a contract issue list spans several), cut with
    // a mark: the whole reason is in records.jsonl, report.json and summary.md
    // the backend, unless the reason names it first (a launch's error: "backend X: ...")
    const on = r.backend === undefined || (r.reason ?? "").startsWith(`backend ${r.backend}`)
      ? ""
      : ` on ${r.backend}`;
    const text = `${r.status}${on}: ${(r.reason ?? "").replace(/\s*\n\s*/g, "; ")}`;
    return [r.id, text.length > 110 ? `${text.slice(0, 109)}…` : text];
  }
  return [
    r.id,
    "ok",
    benchMs(r.ms),
    `${benchMs(r.ms_min)}-${benchMs(r.ms_max)}`,
    benchRate(r.gflops),
    benchGbps(r.gbps),
    benchFraction(r.roofline_fraction),
    r.bound ?? "-",
    benchMs(r.submit_ms),
    benchMs(r.expansion_ms),
    String(r.variant?.kvSplits ?? "-"),
    r.backend ?? "-",
    variantLabel(r.variant),
  ];
}

/**
 * How many measurements ceilings are the best of, as a clause to append ("" for one).
 *
 * @example
 * ```ts ignore
 * import { measuredWhen } from "./report.ts";
 * `copy ${c.copyGBps} GB/s${measuredWhen(c)}`;
 * ```
 */
export function measuredWhen(c: Pick<Ceilings, "measurements">): string {
  const n = c.measurements ?? 1;
  return n === 2
    ? "; each figure the best of two measurements, before and after the cases"
    : n > 2
    ? `; each figure the best of ${n} measurements`
    : "";
}

/**
 * The memory roofline of ceilings as a clause: its bandwidth and which ceiling gave it.
 *
 * @example
 * ```ts
 * import { memoryLine } from "./report.ts";
 * memoryLine({ copyGBps: 8.5, readGBps: 9.2, textureReadGBps: 12.4 });
 * // "12.40 GB/s (texture read, the best of copy, read and texture read)"
 * ```
 */
export function memoryLine(c: Pick<Ceilings, "copyGBps" | "readGBps" | "textureReadGBps">): string {
  const m = memoryRoof(c);
  const of = c.textureReadGBps === undefined ? "copy and read" : "copy, read and texture read";
  return `${f(m.gbps)} GB/s (${m.ceiling}, the best of ${of})`;
}

/**
 * The texture-read ceiling in words: its figure, or "not recorded" in a report.json older
 * than it (the line read "texture read - GB/s").
 */
function textureWords(c: Pick<Ceilings, "textureReadGBps">): string {
  return c.textureReadGBps === undefined
    ? "texture read not recorded"
    : `texture read ${f(c.textureReadGBps)} GB/s`;
}

/**
 * The f16 FMA ceiling in words: its figure, or that the adapter has no shader-f16 (it was
 * "f16 n/a GFLOP/s", a unit on no figure).
 */
function f16Words(c: Ceilings): string {
  return c.fmaF16Gflops === null
    ? "f16 not measured (no shader-f16)"
    : `f16 ${benchRate(c.fmaF16Gflops)} GFLOP/s`;
}

/**
 * Ceilings as text lines.
 *
 * @example
 * ```ts ignore
 * import { formatCeilings } from "./report.ts";
 * console.log(formatCeilings(ceilings));
 * ```
 */
export function formatCeilings(c: Ceilings): string {
  return [
    `copy ${f(c.copyGBps)} GB/s (read + written), read ${f(c.readGBps)} GB/s, ${
      textureWords(c)
    }; memory roofline: ${memoryLine(c)}`,
    `FMA f32 ${benchRate(c.fmaGflops)} GFLOP/s (4 chains ${benchRate(c.fma4Gflops)}, 32 chains ${
      benchRate(c.fma32Gflops)
    }), ${f16Words(c)}`,
    `dispatch ${f(c.dispatchUs, 1)} us, submit + readback ${f(c.submitReadbackMs)} ms` +
    ` (kernel figures by ${c.source})${measuredWhen(c)}`,
  ].join("\n");
}

/**
 * The terminal table of a report (one line per case) and the targets.
 *
 * @example
 * ```ts ignore
 * import { formatTable } from "./report.ts";
 * console.log(formatTable(report));
 * ```
 */
export function formatTable(report: BenchReport): string {
  const rows = [COLUMNS.map(String), ...report.records.map(row)];
  // A row's last cell is padded to nothing: a refused or failed case's reason (its whole
  // row after the id) sets no column's width, or "ok" and every figure after it stood a
  // reason's length (up to 110 characters) to the right.
  const widths = COLUMNS.map((_, i) =>
    Math.max(
      ...rows.map((r) =>
        (i < r.length - 1 || r.length === COLUMNS.length ? r[i] ?? "" : "").length
      ),
    )
  );
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
  const m = report.machine;
  const reference = referenceLine(report);
  const tuned = formatTuning(m); // the plan tuning the cases were planned with, if any
  return [
    `machine: ${m.cpu} (${m.cores} logical CPUs), adapter ${m.adapter}` +
    (m.deviceKey ? ` (device key ${m.deviceKey})` : "") + `, deno ${m.deno}`,
    ...(tuned === null ? [] : [tuned]),
    formatCeilings(report.ceilings),
    ...(caseReplaysLine(report) === null ? [] : [caseReplaysLine(report)!]),
    ...(reference === null ? [] : [reference]),
    "",
    ...lines,
    ...(report.targets.length
      ? [
        "",
        `targets of ${targetClassWords(report)}:`,
        ...formatTargets(report.targets),
        ...notBenchedLines(report),
      ]
      : []),
    ...(report.crossovers?.length ? ["", ...crossoverLines(report.crossovers)] : []),
    ...(report.warnings?.length ? ["", ...report.warnings.map((w) => `warning: ${w}`)] : []),
  ].join("\n");
}

/**
 * The device class a report's targets are of, in words: "a gpu-class device", or, for a
 * report.json older than device classes (none recorded), "a device whose class was not
 * recorded", judged by the cpu-class set as such reports were (it read "a cpu-class device"
 * of an H100's report).
 *
 * @example
 * ```ts
 * import { ownClassWords } from "./report.ts";
 * ownClassWords({ targetClass: "gpu" }); // "a gpu-class device"
 * ```
 */
export function ownClassWords(report: Pick<BenchReport, "targetClass">): string {
  return report.targetClass === undefined
    ? "a device whose class was not recorded (a report older than device classes, judged " +
      "by the cpu-class targets)"
    : `a ${report.targetClass}-class device`;
}

/**
 * Whose targets a report judged: "a cpu-class device", and when the kernels were planned as
 * another class set by hand, that the targets are the device's own class's.
 *
 * @example
 * ```ts
 * import { targetClassWords } from "./report.ts";
 * targetClassWords({ targetClass: "gpu" }); // "a gpu-class device"
 * targetClassWords({
 *   targetClass: "cpu",
 *   plannedClass: { kind: "gpu", source: "MLA_HARNESS_DEVICE_CLASS" },
 * });
 * // "a cpu-class device (its own class; its kernels were planned as gpu-class by ...)"
 * ```
 */
export function targetClassWords(
  report: Pick<BenchReport, "targetClass" | "plannedClass">,
): string {
  const own = ownClassWords(report);
  const p = report.plannedClass;
  if (p === undefined) return own;
  const by = p.source === "MLA_HARNESS_DEVICE_CLASS"
    ? `MLA_HARNESS_DEVICE_CLASS=${p.kind}`
    : `the ${p.source}'s "deviceClass": "${p.kind}"`;
  return `${own} (its own class; its kernels were planned as ${p.kind}-class by ${by}, and ` +
    `${p.kind}-class targets would judge it as another device)`;
}

/**
 * How many timed repetitions the records' medians are of, in words ("7 timed repetitions", or
 * "2-7 timed repetitions" where they differ), from their `samples`; null when no record has
 * any (a report of no measured case).
 */
function timedRepsWords(report: BenchReport): string | null {
  const counts = report.records.flatMap((r) =>
    r.status === "ok" && r.samples !== undefined ? [r.samples.length] : []
  );
  if (counts.length === 0) return null;
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  return lo === hi ? `${plural(lo, "timed repetition")}` : `${lo}-${hi} timed repetitions`;
}

/** The "case replays" line of the table: repetitions, spacing and warm-up; null: none known. */
function caseReplaysLine(report: BenchReport): string | null {
  const reps = timedRepsWords(report);
  const words = [
    ...(reps === null ? [] : [`${reps} a case`]),
    ...(replayWords(report) === "" ? [] : [replayWords(report)]),
  ];
  return words.length === 0 ? null : `case replays: ${words.join(", ")}`;
}

/**
 * How the records' replays were spaced (kernels/replay.ts), in words; "" when no record
 * says (reports written before session 30).
 */
function replayWords(report: BenchReport): string {
  const modes = [...new Set(report.records.map((r) => r.replay).filter((m) => m !== undefined))];
  const say = (m: string) =>
    m === "queued" ? "queued back to back" : "each submitted after the last one's readback";
  const warm = Math.max(0, ...report.records.map((r) => r.warmup_ms ?? 0));
  return modes.map(say).join(" or ") +
    (warm > 0 && modes.length > 0 ? `, after ${warm} ms of untimed replays` : "") +
    (report.timingChoice === undefined || modes.length === 0
      ? ""
      : ` (${timingChoiceWords(report.timingChoice)})`);
}

/**
 * One line per target: verdict (`met `, `MISS`, or `????` for a fraction above 1 that is not
 * judged), the fraction, the target, the shortfall and the fastest repetition's fraction. Bench's
 * summaries and `tools/gpu_machine_ingest.ts` print targets through it.
 *
 * @example
 * ```ts
 * import { formatTargets } from "./report.ts";
 * formatTargets([
 *   { target: "prefill-expanded", id: "x", want: 0.25, got: 0.2, met: false, shortfall: 0.2 },
 * ]);
 * // ["MISS prefill-expanded: 0.200 (target 0.25), short by 20%"]
 * ```
 */
export function formatTargets(targets: readonly TargetOutcome[]): string[] {
  return targets.map((t) =>
    t.notRun
      ? notRunLine(t)
      : `${t.implausible ? "????" : t.met ? "met " : "MISS"} ${t.target}: ${
        t.got === null ? "did not run" : benchFraction(t.got)
      }` +
        ` (target ${t.want})` +
        (t.implausible
          ? ", not judged: above 1, faster than the measured ceilings (see the warning)"
          : t.met || t.shortfall === null
          ? ""
          : `, short by ${shortfallWords(t.shortfall)}`) +
        (t.fastest === undefined || t.implausible
          ? ""
          : `; fastest repetition ${benchFraction(t.fastest)}`) +
        // the median within the ceilings, its fastest repetition not: say so, as for a median
        (t.fastestImplausible ? " (above 1: faster than the measured ceilings allow)" : "")
  );
}

/**
 * A target whose case was refused or failed: `n/a`, not `MISS` (the kernel fell short of
 * nothing: on the GL fallback the f16 decode read "MISS absorbed-decode-f16: did not run").
 */
function notRunLine(t: TargetOutcome): string {
  return `n/a  ${t.target}: not judged (target ${t.want}), ${
    t.alsoNotRun ? "its two cases did not run" : "the case did not run"
  }: ${targetNotRunWords(t)}`;
}

/**
 * Why a target was not judged for want of its case: {@link notRunWords}, after the case's id
 * for the ratio target (its id names two), and for both of its cases when neither ran.
 *
 * @example
 * ```ts
 * import { targetNotRunWords } from "./report.ts";
 * const n = { status: "unsupported" as const, id: "x", codes: [], reason: "" };
 * targetNotRunWords({ target: "t", id: "x", want: 1, got: null, met: false, shortfall: null, notRun: n });
 * // "unsupported on this device"
 * ```
 */
export function targetNotRunWords(t: TargetOutcome): string {
  const ratio = t.id.includes(" vs ");
  return [t.notRun, t.alsoNotRun].flatMap((n) =>
    n ? [`${ratio ? `${n.id}: ` : ""}${notRunWords(n)}`] : []
  ).join("; ");
}

/**
 * Why a target's case did not run, as the table, summary.md and report.html's targets table
 * say it: "unsupported on this device (dtype.f16-unavailable)", or "failed (<the first line of
 * its error, cut at 100 characters>)".
 *
 * @example
 * ```ts
 * import { notRunWords } from "./report.ts";
 * notRunWords({ status: "unsupported", id: "x", codes: ["device.too-slow"], reason: "" });
 * // "unsupported on this device (device.too-slow)"
 * ```
 */
export function notRunWords(n: NonNullable<TargetOutcome["notRun"]>): string {
  const first = n.reason.split("\n")[0];
  return n.status === "unsupported"
    ? `unsupported on this device${n.codes.length ? ` (${n.codes.join(", ")})` : ""}`
    : `failed (${first.slice(0, 100)}${first.length > 100 ? "…" : ""})`;
}

/**
 * The targets of a report's device class that it judges none of because their cases were not
 * benched (a matrix or --filter without them), once some target was judged: a GPU's `bench`
 * (the headline matrix) listed its targets without issue 13's 4096-token prefill, and nothing
 * said one was missing. [] when the report judges no target at all.
 *
 * @example
 * ```ts
 * import { targetsNotBenched } from "./report.ts";
 * targetsNotBenched({ targets: [], targetClass: "gpu" }); // []
 * ```
 */
export function targetsNotBenched(
  report: Pick<BenchReport, "targets" | "targetClass">,
): string[] {
  if (report.targets.length === 0) return [];
  const set = TARGET_SETS[report.targetClass ?? "cpu"];
  const judged = new Set(report.targets.map((t) => t.target));
  return [
    ...Object.keys(set.fractions),
    ...["f32", "f16"].map((d) => `absorbed-over-dense-${d}`),
  ].filter((name) => !judged.has(name));
}

/**
 * A line per target a report could not judge for want of its case, one line for more than two
 * (none when it judged none).
 */
function notBenchedLines(report: Pick<BenchReport, "targets" | "targetClass">): string[] {
  const missing = targetsNotBenched(report);
  if (missing.length === 0) return [];
  // "without --filter": `bench --matrix gpu --filter <one case>` was told that bench --matrix
  // gpu, the matrix it ran, has them
  const where = `bench --matrix ${
    report.targetClass === "gpu" ? "gpu" : "headline"
  } without --filter`;
  // a --filter of one case leaves most targets without a case: one line, not eight
  if (missing.length > 2) {
    return [
      `n/a  ${missing.length} targets not judged, their cases not benched: ${
        missing.join(", ")
      } (${where} has every one)`,
    ];
  }
  return missing.map((name) => {
    const ratio = name.startsWith("absorbed-over-dense");
    return `n/a  ${name}: not judged, ${
      ratio ? "its two cases were not both" : "its case was not"
    } benched (${where} has ${ratio ? "them" : "it"})`;
  });
}

/**
 * A shortfall in percent, with the digits a missed target needs: "short by 0%" was printed
 * for a fraction within half a percent of its target (0.299 against 0.30).
 *
 * @example
 * ```ts
 * import { shortfallWords } from "./report.ts";
 * shortfallWords(0.2); // "20%"
 * shortfallWords(0.0033); // "0.3%"
 * shortfallWords(0.0002); // "under 0.1%"
 * ```
 */
export function shortfallWords(shortfall: number): string {
  const pct = shortfall * 100;
  if (pct < 0.05) return "under 0.1%";
  if (pct < 1) return `${pct.toFixed(1)}%`;
  if (pct < 99.5 || shortfall >= 1) return `${pct.toFixed(0)}%`;
  // a fraction above 0 is not 100% short
  return pct < 99.95 ? `${pct.toFixed(1)}%` : "over 99.9%";
}

/**
 * CSV of the records (one line per case, header first).
 *
 * @example
 * ```ts
 * import { toCsv } from "./report.ts";
 * toCsv([]).split("\n")[0].startsWith("id,"); // true
 * ```
 */
export function toCsv(records: readonly BenchRecord[]): string {
  const head = [
    "id",
    "status",
    "source",
    "ms",
    "ms_min",
    "ms_max",
    "mad_rel",
    "gflops",
    "gbps",
    "roofline_fraction",
    "bound",
    "submit_ms",
    "flop",
    "bytes",
    "kv_splits",
    "reason",
    "expansion_ms",
    "backend",
    "family",
    "query_tile",
    "heads_per_tile",
    "workgroup_size",
  ];
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const lines = records.map((r) =>
    [
      r.id,
      r.status,
      r.source ?? "",
      r.ms ?? "",
      r.ms_min ?? "",
      r.ms_max ?? "",
      r.mad_rel ?? "",
      r.gflops ?? "",
      r.gbps ?? "",
      r.roofline_fraction ?? "",
      r.bound ?? "",
      r.submit_ms ?? "",
      r.flop ?? "",
      r.bytes ?? "",
      r.variant?.kvSplits ?? "",
      r.reason ?? "",
      r.expansion_ms ?? "",
      r.backend ?? "",
      r.variant?.family ?? "",
      r.variant?.queryTile ?? "",
      r.variant?.headsPerTile ?? "",
      r.variant?.workgroupSize ?? "",
    ].map((v) => q(String(v))).join(",")
  );
  return [head.join(","), ...lines].join("\n") + "\n";
}

/**
 * Where each case's time goes: its passes' medians grouped by their role
 * (adapter/pass_roles.ts): the core (what `ms` times), the rest of a step (the query
 * absorption, the up-projection, q's RoPE: in the submission), and cache construction
 * (outside it); a pass the harness does not know (a user backend's) as "other". Slowest
 * first within a group. No section when no record has passes.
 *
 * @example
 * ```ts ignore
 * import { passesMarkdown } from "./report.ts";
 * passesMarkdown(report.records).join("\n");
 * // "### Passes ... | case | core | step | construction | other |" ...
 * ```
 */
export function passesMarkdown(records: readonly BenchRecord[]): string[] {
  const rows: string[] = [];
  for (const r of records) {
    if (r.status !== "ok" || r.passes === undefined) continue;
    const groups: Record<string, [string, number][]> = {
      core: [],
      step: [],
      construction: [],
      other: [],
    };
    for (const [name, ms] of Object.entries(r.passes)) {
      groups[passRole(r.case.path, name) ?? "other"].push([name, ms]);
    }
    const cell = (g: [string, number][]) =>
      g.length === 0
        ? "-"
        // a user backend names its own passes: any text, kept in its cell
        : mdCell(
          g.sort((a, b) => b[1] - a[1]).map(([n, ms]) => `${n} ${benchMs(ms)}`)
            .join(", "),
          Infinity,
        );
    const id = r.id.replace(/;causal=1;page=0$/, "");
    rows.push(
      `| ${mdCell(id, Infinity)} | ${cell(groups.core)} | ${cell(groups.step)} | ${
        cell(groups.construction)
      } | ${cell(groups.other)} |`,
    );
  }
  if (rows.length === 0) return [];
  return [
    "",
    "### Passes",
    "",
    "Median ms per pass of each case (its dispatches in a step added up), by role: the core " +
    "is what `ms` times (the median of its totals, which the sum of its passes' medians need " +
    "not equal); a step's other " +
    "passes (the query absorption, the up-projection, q's RoPE) are in the submission; cache " +
    "construction is outside it.",
    "",
    "| case | core | step | construction | other |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ];
}

/** The figures a report's reference ceilings raised above this run's ([] without them). */
function raised(report: Pick<BenchReport, "referenceCeilings">): readonly string[] {
  return report.referenceCeilings?.used ?? [];
}

/**
 * Where a report's ceilings come from, for the line that gives them: the same run (each figure
 * the best of its measurements), and which figures the reference raised: summary.md called
 * every figure the same run's when some were the reference file's.
 */
function ceilingsSource(
  report: Pick<BenchReport, "ceilings" | "referenceCeilings" | "resumed" | "records">,
): string {
  const used = raised(report);
  // a resumed bench's kept records were measured by an earlier session, not this one's run
  const run = report.resumed
    ? `this session's, which benched ${report.records.length - report.resumed.kept.length} of the ${
      plural(report.records.length, "case")
    }, the other ${report.resumed.kept.length} ` +
      "kept from an earlier session's records"
    : "same run";
  return `${run}${measuredWhen(report.ceilings)}` +
    (used.length === 0 ? "" : `; ${usedLabels(used).join(", ")} from the reference below`);
}

/**
 * The Markdown summary of a report: machine, ceilings, targets and one table per
 * benchmark matrix.
 *
 * @example
 * ```ts ignore
 * import { toMarkdown } from "./report.ts";
 * await Deno.writeTextFile("summary.md", toMarkdown(report, { title: "decode" }));
 * ```
 */
export function toMarkdown(report: BenchReport, options: { title: string }): string {
  const m = report.machine;
  const c = report.ceilings;
  const reference = referenceLine(report);
  const tuned = formatTuning(m); // the plan tuning the cases were planned with, if any
  // the title as text (report.html escapes it too); a blank one is the default's
  const title = options.title.trim() === "" ? "Benchmark" : options.title;
  const out = [
    `## ${title.replace(/[\r\n]+/g, " ").replace(/</g, "&lt;").replace(/>/g, "&gt;")}`,
    "",
    `Machine: ${m.cpu}, ${m.cores} logical CPUs; adapter ${m.adapter}` +
    (m.deviceKey ? ` (device key \`${m.deviceKey}\`)` : "") + `; Deno ${m.deno}. ` +
    `Kernel times by ${c.source}${
      replayWords(report) === "" ? "" : `, replays ${replayWords(report)}`
    }; median of the ${
      timedRepsWords(report) === null
        ? "timed repetitions"
        : `${timedRepsWords(report)} of each case`
    }, ` +
    "spread min-max." + (tuned === null ? "" : ` Plans: ${tuned}.`),
    "",
    `Ceilings (${ceilingsSource(report)}): copy ${f(c.copyGBps)} GB/s, read ${
      f(c.readGBps)
    } GB/s, ${textureWords(c)} (memory roofline ${memoryLine(c)}), ` +
    `FMA f32 ${benchRate(c.fmaGflops)} GFLOP/s (${
      raised(report).includes("fmaGflops") ? "this run's " : ""
    }4 chains ${benchRate(c.fma4Gflops)}), ${f16Words(c)}, dispatch ${
      f(c.dispatchUs, 1)
    } us, submit + readback ${f(c.submitReadbackMs)} ms.`,
    ...(reference === null ? [] : ["", `Ceilings joined with the ${reference}.`]),
    "",
    "| case | backend | ms | spread | GFLOP/s | GB/s | roofline | bound | submission ms | construction ms | variant |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |",
  ];
  for (const r of report.records) {
    const id = r.id.replace(/;causal=1;page=0$/, "");
    if (r.status !== "ok") {
      // the status where the time would be, and the whole reason in the row's last cell
      // (a WGSL error's `array<f32>` stays text: mdCell escapes pipes and angle brackets)
      const why = mdCell(r.reason ?? "", Infinity);
      // the backend that refused or failed it (results.csv and report.json name it; the
      // column said "-")
      out.push(
        `| ${mdCell(id, Infinity)} | ${
          mdCell(r.backend ?? "-")
        } | ${r.status} | | | | | | | | ${why} |`,
      );
      continue;
    }
    out.push(
      `| ${mdCell(id, Infinity)} | ${mdCell(r.backend ?? "-")} | ${benchMs(r.ms)} | ${
        benchMs(r.ms_min)
      }-${benchMs(r.ms_max)} | ${benchRate(r.gflops)} | ${benchGbps(r.gbps)} | ${
        benchFraction(r.roofline_fraction)
      } | ${r.bound} | ${benchMs(r.submit_ms)} | ${benchMs(r.expansion_ms)} | ${
        variantLabel(r.variant)
      } |`,
    );
  }
  if (report.targets.length) {
    out.push(
      "",
      `Targets (of ${targetClassWords(report)}):`,
      "",
      ...formatTargets(report.targets).map((l) => `- ${l}`),
      ...notBenchedLines(report).map((l) => `- ${l}`),
    );
  }
  if (report.crossovers?.length) out.push("", ...crossoverMarkdown(report.crossovers));
  out.push(...passesMarkdown(report.records));
  if (report.warnings?.length) {
    out.push("", ...report.warnings.map((w) => `**Warning:** ${w}`));
  }
  return out.join("\n") + "\n";
}
