/**
 * `compare-runtimes`: one matrix in Deno's WebGPU and in headless Chromium's, each against
 * the float64 reference, and Deno against Chromium in float32 ULPs (runner/compare_runtimes.ts).
 * `--same-driver` puts Deno on Chromium's own SwiftShader (VK_ICD_FILENAMES), so that only
 * the shader compilers (naga, Tint) differ.
 *
 * @module
 */
import { DEFAULT_MAX_ROWS } from "../results/types.ts";
import {
  listenForStop,
  stopExitCode,
  stoppedAfterLastCase,
  type StopSignal,
} from "./stop_signals.ts";
import { Command } from "@commander-js/extra-typings";
import { dirname } from "node:path";
import { findChromium } from "../browser/chromium.ts";
import { applyBackendChoice, formatBackendChoice } from "../gpu/backend_choice.ts";
import { GpuContext, HARNESS_FEATURES } from "../gpu/device.ts";
import { DEFAULT_MAX_CASES, matrixFileOf } from "../matrix/expand.ts";
import { checkOutputsApart, type LabelledPath } from "../report/output_overlap.ts";
import {
  BENCH_ONLY_FILES,
  checkOutputFilesIn,
  OutputPathError,
  prepareOutputDir,
  refuseRunFolder,
} from "../report/output_paths.ts";
import { upgradeFolderProblem } from "../report/run_folder.ts";
import {
  type CaseComparison,
  compareRuntimes,
  ComparisonStopped,
  type RuntimeLateGpuError,
} from "../runner/compare_runtimes.ts";
import {
  backendModulePath,
  COMPARE_RUNTIMES_FILES,
  selectCases,
  userBarrierFindings,
} from "../runner/run_matrix.ts";
import { runKernelHashes } from "../runner/fingerprint.ts";
import {
  LATE_ERRORS_SAID,
  lateGpuErrorLine,
  moreLateGpuErrorsLine,
} from "../runner/late_gpu_errors.ts";
import { lockOutDir } from "../runner/out_lock.ts";
import type { CaseResult } from "../results/types.ts";
import type { UlpDiff } from "../parity/ulp.ts";
import {
  BACKEND_MODULE_HELP,
  barrierEndLines,
  checkBackendId,
  collect,
  loadBackendModuleOptions,
} from "./backend_options.ts";
import { unusedBackends } from "../report/unused_backends.ts";
import { NOT_COVERED_PREFIX } from "../runner/run_case.ts";
import { CliError, EXIT } from "./errors.ts";
import {
  CONFIG_ROOT_HELP,
  parseFilterOption,
  parsePositiveInt,
  refuseBenchMatrix,
} from "./options.ts";
import { fileInputs, NO_CASE_TIMEOUT_HELP, noCaseTimeoutNote, parseSeconds } from "./run.ts";
import {
  checkRuntimeCombination,
  CHROMIUM_TIMEOUT_HELP,
  exitOnStopDuringStart,
  startChromiumRuntime,
} from "./runtime_options.ts";
import { mdCell } from "../report/md_text.ts";
import { headroomFigure } from "../report/markdown.ts";
import { spelledJson } from "../util/spelled_json.ts";
import { plural } from "../util/plural.ts";
import { isStorageFull, osErrorText, writeTextAtomic } from "../util/fs.ts";

/** Chromium's bundled SwiftShader Vulkan driver manifest. */
const SWIFTSHADER_ICD = "vk_swiftshader_icd.json";

/**
 * Chromium's SwiftShader ICD manifest: next to the real executable, or in the Debian and
 * Google package folders; null when none is there.
 *
 * @example
 * ```ts ignore
 * swiftShaderIcd("/usr/bin/chromium-headless-shell"); // "/usr/lib/chromium/vk_swiftshader_icd.json"
 * ```
 */
export function swiftShaderIcd(chromiumPath: string): string | null {
  let real = chromiumPath;
  try {
    real = Deno.realPathSync(chromiumPath);
  } catch {
    // keep the given path
  }
  const dirs = [
    dirname(real),
    "/usr/lib/chromium",
    "/usr/lib/chromium-browser",
    "/opt/google/chrome",
  ];
  for (const d of dirs) {
    try {
      if (Deno.statSync(`${d}/${SWIFTSHADER_ICD}`).isFile) return `${d}/${SWIFTSHADER_ICD}`;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * A largest ULP distance in words: the number, or for an infinite distance what it is, from
 * the worst element's two values: a NaN in one runtime against a number (or an infinity) in
 * the other, an infinity against a number (an overflow in one runtime: the largest finite float32 read
 * "1 ulp" from +Infinity), or infinities of opposite sign. "Infinity ulp" said neither.
 *
 * @example
 * ```ts
 * import { ulpWords } from "./compare_runtimes.ts";
 * ulpWords(12); // "12"
 * ulpWords(Infinity, [NaN, 1]); // "NaN against a number"
 * ulpWords(Infinity, [-Infinity, NaN]); // "NaN against an infinity"
 * ulpWords(Infinity, [3.4028234663852886e38, Infinity]); // "an infinity against a number"
 * ```
 */
export function ulpWords(maxUlp: number, worst?: readonly [number, number] | null): string {
  if (maxUlp !== Infinity) return String(maxUlp);
  const [a, b] = worst ?? [NaN, 0];
  if (Number.isNaN(a) || Number.isNaN(b)) {
    // the other value may itself be no number: "NaN against a number" misread an overflow
    const other = Number.isNaN(a) ? b : a;
    return Number.isFinite(other) ? "NaN against a number" : "NaN against an infinity";
  }
  return Number.isFinite(a) || Number.isFinite(b)
    ? "an infinity against a number"
    : "infinities of opposite sign";
}

function ulpText(c: CaseComparison): string {
  if (!c.bits) return "not compared";
  const part = (name: string, d: UlpDiff) =>
    d.maxUlp === 0 ? `${name} 0 ulp` : d.maxUlp === Infinity
      // what the distance is, and both runtimes' values
      ? `${name} ${ulpWords(d.maxUlp, d.worstValues)} at ${d.worstIndex}/${d.total} (deno ${
        d.worstValues?.[0]
      }, chromium ${d.worstValues?.[1]})`
      : `${name} ${d.maxUlp} ulp at ${d.worstIndex}/${d.total}`;
  return `${part("out", c.bits.out)}, ${part("lse", c.bits.lse)}`;
}

/**
 * The JSON text of compare-runtimes' files: a non-finite number as a string ("NaN",
 * "Infinity", "-Infinity"), as run.json gives a worst element's values. JSON has no such
 * number, and JSON.stringify wrote null: a NaN in one runtime against a number in the other
 * read `"maxUlp": null` and `"worstValues": [null, 0.25]`.
 *
 * @example
 * ```ts
 * import { comparisonJson } from "./compare_runtimes.ts";
 * comparisonJson({ maxUlp: Infinity, worstValues: [NaN, 0.5] });
 * // '{"maxUlp":"Infinity","worstValues":["NaN",0.5]}'
 * ```
 */
export function comparisonJson(value: unknown, indent?: number): string {
  return spelledJson(value, indent);
}

/**
 * One runtime's outcome of a case, in the words of the progress line and compare-runtimes.md:
 * "pass (headroom 0.012)", "not covered (device)" (the device lacks what the case needs),
 * "unsupported" (an expected refusal), else the status.
 *
 * @example
 * ```ts ignore
 * outcomeText(comparison.chromium); // "not covered (device)" for an f16 case on SwiftShader
 * ```
 */
function outcomeText(o: CaseComparison["deno"]): string {
  return o.status === "pass" && o.decision === "supported"
    ? `pass${o.headroom === null ? "" : ` (headroom ${headroomFigure(o.headroom)})`}`
    : o.decision === "unsupported" && o.status === "pass"
    ? (o.notCovered || o.message.startsWith(NOT_COVERED_PREFIX)
      ? "not covered (device)"
      : "unsupported")
    : o.status;
}

/**
 * The totals sentence of a comparison, as the console's last line and compare-runtimes.md
 * give it: cases, compared, bit-identical, largest ULP distances, reference failures,
 * findings, cases one device does not cover, lost ones.
 *
 * @example
 * ```ts
 * import { comparisonTotals, totalsText } from "./compare_runtimes.ts";
 * totalsText(comparisonTotals([])).startsWith("0 cases: 0 compared"); // true
 * ```
 */
export function totalsText(totals: ReturnType<typeof comparisonTotals>): string {
  // none compared (every case not covered by one device, or errored): "0 bit-identical;
  // max ULP out 0, lse 0" read as outputs that agree to the bit
  const ulps = totals.compared === 0
    ? "no outputs of both runtimes to measure in ULPs"
    : `${totals.identical} bit-identical; max ULP out ${totals.maxUlpOutWords}, lse ${totals.maxUlpLseWords}`;
  return `${plural(totals.cases, "case")}: ${totals.compared} compared, ${ulps}; ` +
    "reference failures: deno " +
    `${totals.denoBad}, chromium ${totals.chromiumBad}; findings ${totals.findings}; ` +
    `not covered by one device ${totals.notCovered}` +
    (totals.lost ? `; lost devices or timeouts ${totals.lost} (the machine's, not findings)` : "");
}

/**
 * The progress lines of one compared case (two lines, a third for a finding).
 *
 * @example
 * ```ts ignore
 * caseLine(comparison, 3, 44); // "[3/44] preset=tiny;...\n    deno pass (headroom 0.010) | ..."
 * ```
 */
export function caseLine(c: CaseComparison, i: number, n: number): string {
  const side = outcomeText;
  const base = `[${i}/${n}] ${c.id}\n    deno ${side(c.deno)} | chromium ${side(c.chromium)} | ` +
    ulpText(c) + (c.restarted ? `\n    restarted: ${c.restarted}` : "");
  if (c.lost) return `${base}\n    LOST (not compared; the machine's, not a finding): ${c.lost}`;
  if (c.finding) return `${base}\n    FINDING: ${c.finding}`;
  const why = failureMessages(c);
  return why.length === 0 ? base : `${base}\n${why.map((w) => `    ${w}`).join("\n")}`;
}

/** A case's status that is a reference failure (fail, unexpected, error). */
const isBad = (s: CaseComparison["deno"]["status"]) =>
  s === "fail" || s === "unexpected" || s === "error";

/**
 * Why a case failed against the reference, or errored, in a runtime, where no finding says
 * it: "deno error: <message>", once as "both error: ..." when the two say the same. Empty
 * for a case that passed in both (or one a finding or a lost device already explains).
 *
 * @example
 * ```ts ignore
 * failureMessages(comparison); // ["both error: RangeError: backend x (module m.ts): launch() threw: ..."]
 * ```
 */
function failureMessages(c: CaseComparison): string[] {
  if (c.finding || c.lost) return [];
  const d = c.deno, k = c.chromium;
  if (isBad(d.status) && isBad(k.status) && d.status === k.status && d.message === k.message) {
    return [`both ${d.status}: ${d.message}`];
  }
  return [
    ...(isBad(d.status) ? [`deno ${d.status}: ${d.message}`] : []),
    ...(isBad(k.status) ? [`chromium ${k.status}: ${k.message}`] : []),
  ];
}

/**
 * The markdown report of a comparison: header, then one table row per case.
 *
 * @example
 * ```ts
 * import { comparisonMarkdown } from "./compare_runtimes.ts";
 * comparisonMarkdown([], { deno: "d", chromium: "c", sameDriver: true, matrix: "smoke" })
 *   .startsWith("# compare-runtimes: smoke (same driver)"); // true
 * ```
 */
export function comparisonMarkdown(
  cases: readonly CaseComparison[],
  header: {
    deno: string;
    chromium: string;
    sameDriver: boolean;
    matrix: string;
    /** The case filter (null or absent: none). */
    filter?: string | null;
    /** Set when a signal stopped the comparison before every selected case ran. */
    interrupted?: ComparisonInterruption;
    /** Set when a runtime's device could not be re-acquired, ending the comparison. */
    stopped?: ComparisonStop;
    /** The backend `--backend` ran every case on (absent: the adapter's choice). */
    backend?: string;
    /**
     * GPU errors raised outside every case's error scope, in either runtime (absent or empty:
     * none): compare-runtimes.json's `lateGpuErrors`, listed in the file too.
     */
    lateGpuErrors?: readonly RuntimeLateGpuError[];
    /** The user backend modules `--backend-module` loaded, as given (absent: none). */
    backendModules?: readonly string[];
    /**
     * Where each of `backendModules` is, one for one (runner/run_matrix.ts
     * `backendModulePath`: a local file's absolute path): said beside a module given by
     * another path.
     */
    backendModulePaths?: readonly string[];
  },
): string {
  const i = header.interrupted;
  const stop = header.stopped;
  // a comparison cut short may not have reached the cases both devices cover
  const nothing = i === undefined && stop === undefined ? nothingComparedLine(cases) : null;
  const late = header.lateGpuErrors ?? [];
  const lines = [
    `# compare-runtimes: ${header.matrix}${header.filter ? ` (filter \`${header.filter}\`)` : ""}${
      header.sameDriver ? " (same driver)" : ""
    }`,
    "",
    ...(i === undefined ? [] : [cutShortLine(`Interrupted by ${i.signal}`, i), ""]),
    ...(stop === undefined
      ? []
      : [cutShortLine(`Stopped: ${mdCell(stop.reason, Infinity)}`, stop), ""]),
    `- deno: ${header.deno}`,
    `- chromium: ${header.chromium}`,
    ...(header.backend === undefined
      ? []
      : [`- backend: ${mdCell(header.backend, Infinity)} (--backend, every case in both)`]),
    ...(header.backendModules?.length
      ? [
        `- backend modules: ${
          header.backendModules.map((m, i) => {
            const at = header.backendModulePaths?.[i];
            return mdCell(m, Infinity) +
              (at === undefined || at === m ? "" : ` (${mdCell(at, Infinity)})`);
          }).join(", ")
        } (--backend-module)`,
      ]
      : []),
    "",
    // the verdict the console's last line gives (the file had only the table)
    `**${totalsText(comparisonTotals(cases))}**`,
    // a comparison of coverage gaps only read as one of fewer cases, "0 compared" its word
    ...(nothing === null ? [] : ["", `**${nothing[0].toUpperCase()}${nothing.slice(1)}.**`]),
    // said on stderr and kept in the .json only: the report read as a clean comparison
    ...(late.length === 0 ? [] : [
      "",
      `**${plural(late.length, "GPU error")} arrived outside every case's error scope (most ` +
      "likely a pass a launch() left floating, not awaited, that landed once its case had " +
      "ended): no case's outcome includes " + `${late.length === 1 ? "it" : "them"}; listed ` +
      "below.**",
    ]),
    "",
    // +0 against -0 counted as bit-identical with no word of it, though their bits differ
    "Distances are in float32 ULPs. Bit-identical means every element equal as a float32: " +
    "+0 and -0 count as equal (0 ULP), and so do two NaNs whatever their bits; a NaN against " +
    "a number, or an infinity against any other value, is no distance and is said in words.",
    "",
    "| case | deno | chromium | out max ULP (index) | lse max ULP (index) | finding |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  const cell = (d: UlpDiff | undefined) =>
    d === undefined
      ? "-"
      : d.maxUlp === 0
      ? "0"
      : `${ulpWords(d.maxUlp, d.worstValues)} (${d.worstIndex})`;
  for (const c of cases) {
    lines.push(
      // each runtime's outcome in the console's words ("pass unsupported" read as a pass
      // for a case the device does not cover)
      `| ${mdCell(c.id, Infinity)} | ${outcomeText(c.deno)} | ${outcomeText(c.chromium)} | ` +
        `${cell(c.bits?.out)} | ${cell(c.bits?.lse)} | ` +
        // both runtimes' messages whole; a compiler's `vec4<f32>` stays text
        `${mdCell(c.finding ?? (c.lost ? `lost: ${c.lost}` : ""), Infinity)} |`,
    );
  }
  // why each reference failure or error happened (the table said only "error")
  const failed = cases.filter((c) => failureMessages(c).length > 0);
  if (failed.length > 0) {
    lines.push("", "## Reference failures and errors", "");
    for (const c of failed) {
      lines.push(
        `- ${mdCell(c.id, Infinity)}: ${
          failureMessages(c).map((m) => mdCell(m, Infinity)).join("; ")
        }`,
      );
    }
  }
  if (late.length > 0) {
    lines.push("", "## GPU errors outside every case's error scope", "");
    for (const e of late) {
      lines.push(
        `- ${e.runtime}, ${
          e.afterCase === null
            ? "before any case"
            : `after case ${mdCell(e.afterCase, Infinity)} had started`
        }: ${mdCell(e.message, Infinity)}`,
      );
    }
  }
  // a runtime found lost before a case and started again: the case ran, as the console says
  const restarted = cases.filter((c) => c.restarted !== undefined);
  if (restarted.length > 0) {
    lines.push("", "## Runtimes started again before a case", "");
    for (const c of restarted) {
      lines.push(`- ${mdCell(c.id, Infinity)}: ${mdCell(c.restarted ?? "", Infinity)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The bold line of compare-runtimes.md that says a comparison ended early (`head`: by which
 * signal, or the error): how many of the selected cases ran, and the first ten of
 * those not run.
 */
function cutShortLine(
  head: string,
  c: { readonly selected: number; readonly notRun: readonly string[] },
): string {
  return `**${head}: ${c.selected - c.notRun.length} of ${
    plural(c.selected, "selected case")
  } ran; ${c.notRun.length} not run** (${
    c.notRun.slice(0, 10).map((id) => mdCell(id, Infinity)).join(", ")
  }${c.notRun.length > 10 ? ", ..." : ""})`;
}

/** How a comparison was cut short: the signal, the cases selected and those not run. */
export interface ComparisonInterruption {
  /** The signal that stopped it. */
  readonly signal: StopSignal;
  /** Cases the comparison selected. */
  readonly selected: number;
  /** Ids of the selected cases not run. */
  readonly notRun: readonly string[];
}

/**
 * How a comparison ended early without a signal: a runtime's device could not be re-acquired
 * (runner/compare_runtimes.ts `ComparisonStopped`); the reason, the cases selected and those
 * not compared.
 */
export interface ComparisonStop {
  /** The error that ended it. */
  readonly reason: string;
  /** Cases the comparison selected. */
  readonly selected: number;
  /** Ids of the selected cases not compared. */
  readonly notRun: readonly string[];
}

/** The largest of some distances in the words of {@link ulpWords}. */
function worstWords(diffs: readonly UlpDiff[]): string {
  const max = Math.max(0, ...diffs.map((d) => d.maxUlp));
  return ulpWords(max, diffs.find((d) => d.maxUlp === max)?.worstValues);
}

/**
 * Totals of a comparison: cases, compared, bit-identical, largest ULP distances, reference
 * failures per runtime, findings, not covered.
 *
 * @example
 * ```ts
 * import { comparisonTotals } from "./compare_runtimes.ts";
 * comparisonTotals([]).maxUlpOut; // 0
 * ```
 */
export function comparisonTotals(cases: readonly CaseComparison[]) {
  const compared = cases.filter((c) => c.bits !== null);
  const bad = (s: string) => s === "fail" || s === "unexpected" || s === "error";
  return {
    cases: cases.length,
    compared: compared.length,
    identical: compared.filter((c) => c.bits!.out.maxUlp === 0 && c.bits!.lse.maxUlp === 0)
      .length,
    maxUlpOut: Math.max(0, ...compared.map((c) => c.bits!.out.maxUlp)),
    maxUlpLse: Math.max(0, ...compared.map((c) => c.bits!.lse.maxUlp)),
    // the largest distances in words: an infinite one says what it is, from the values of
    // the first case that has it
    maxUlpOutWords: worstWords(compared.map((c) => c.bits!.out)),
    maxUlpLseWords: worstWords(compared.map((c) => c.bits!.lse)),
    // a runtime's error in a case it lost (its device, the browser, a timeout) is the
    // machine's, counted in `lost`: "reference failures: deno 2, chromium 2" was said of two
    // cases that timed out
    denoBad: cases.filter((c) => bad(c.deno.status) && !c.lostIn?.includes("deno")).length,
    chromiumBad:
      cases.filter((c) => bad(c.chromium.status) && !c.lostIn?.includes("chromium")).length,
    findings: cases.filter((c) => c.finding !== null).length,
    lost: cases.filter((c) => c.lost !== undefined).length,
    notCovered: cases.filter((c) =>
      [c.deno, c.chromium].some((o) =>
        o.decision === "unsupported" &&
        (o.notCovered === true || o.message.startsWith(NOT_COVERED_PREFIX))
      )
    ).length,
  };
}

/**
 * The line that says a finished comparison compared nothing: no case ran in both runtimes,
 * each one a runtime's device does not cover (Chromium's SwiftShader has no shader-f16:
 * `--filter dtype=f16` there) or refused alike in both (the adapter's decision, the same code
 * in both), so no output of both runtimes was measured. Its totals line read "0 compared" and
 * it exited 0, as a comparison that found the runtimes agree; it is exit 2 (the selection
 * compares nothing on these devices, as upgrade-check's two runs with no case in common).
 * Null when any case was compared, none selected, or a failure, finding or lost case says
 * what went wrong (exit 1).
 *
 * @example
 * ```ts
 * import { nothingComparedLine } from "./compare_runtimes.ts";
 * nothingComparedLine([]); // null
 * ```
 */
export function nothingComparedLine(cases: readonly CaseComparison[]): string | null {
  const t = comparisonTotals(cases);
  if (t.cases === 0 || t.compared > 0) return null;
  if (t.denoBad + t.chromiumBad + t.findings + t.lost > 0) return null;
  const gap = (o: CaseComparison["deno"]) =>
    o.decision === "unsupported" &&
    (o.notCovered === true || o.message.startsWith(NOT_COVERED_PREFIX));
  const deno = cases.filter((c) => gap(c.deno)).length;
  const chromium = cases.filter((c) => gap(c.chromium)).length;
  const where = `not covered in chromium ${chromium}, in deno ${deno}`;
  const alike = t.cases - t.notCovered;
  const what = alike === 0
    ? `${
      t.cases === 1 ? "the 1 case is" : `each of the ${t.cases} cases is`
    } one a runtime's device does not cover (${where}: each one's reasons are in ` +
      "compare-runtimes.json)"
    : `of the ${plural(t.cases, "case")}, ${
      t.notCovered === 0
        ? ""
        : `${t.notCovered} ${
          t.notCovered === 1 ? "is one" : "are ones"
        } a runtime's device does not cover (${where}) and `
    }${alike} ${
      alike === 1 ? "was" : "were"
    } refused alike in both runtimes, no kernel run (each one's reasons are in ` +
      "compare-runtimes.json)";
  return `nothing was compared: ${what}, so no output of both runtimes was measured; select ` +
    "cases both devices run (--filter), or run where both have what they need";
}

/**
 * The exit code of a finished comparison (a signal's stands over it) and the line that says
 * it compared nothing ({@link nothingComparedLine}): 1 for a reference failure, a finding, a
 * lost case or a `--backend` that ran none of its cases (`backendRanNothing`), else 2 when
 * nothing was compared (it was 0), else 0.
 *
 * @example
 * ```ts
 * import { comparisonVerdict } from "./compare_runtimes.ts";
 * comparisonVerdict([], { backendRanNothing: false }); // { exitCode: 0, nothing: null }
 * ```
 */
export function comparisonVerdict(
  cases: readonly CaseComparison[],
  options: { readonly backendRanNothing: boolean },
): { exitCode: number; nothing: string | null } {
  const t = comparisonTotals(cases);
  if (t.denoBad + t.chromiumBad + t.findings + t.lost > 0 || options.backendRanNothing) {
    return { exitCode: EXIT.failure, nothing: null };
  }
  // every case a coverage gap: no question answered, where it was exit 0
  const nothing = nothingComparedLine(cases);
  return { exitCode: nothing === null ? EXIT.ok : EXIT.badInput, nothing };
}

/**
 * The backends named on the command line that no case ran on, in either runtime (report/
 * unused_backends.ts, as `run` says them): a line the two runtimes share is said once, one of
 * a single runtime names it. `backendRanNothing` when `--backend` ran nothing in either.
 *
 * @example
 * ```ts
 * import { unusedInRuntimes } from "./compare_runtimes.ts";
 * unusedInRuntimes({ deno: [], chromium: [] }, { modules: [{ id: "naive", specifier: "n.ts" }] })
 *   .lines.length; // 1
 * ```
 */
export function unusedInRuntimes(
  results: { readonly deno: readonly CaseResult[]; readonly chromium: readonly CaseResult[] },
  options: Parameters<typeof unusedBackends>[1],
): ReturnType<typeof unusedBackends> {
  const deno = unusedBackends(results.deno, options);
  const chromium = unusedBackends(results.chromium, options);
  const named = (line: string, runtime: string) => line.replace(/^(\w+): /, `$1: in ${runtime}, `);
  const lines = [
    ...deno.lines.map((l) => chromium.lines.includes(l) ? l : named(l, "deno")),
    ...chromium.lines.filter((l) => !deno.lines.includes(l)).map((l) => named(l, "chromium")),
  ];
  return { lines, backendRanNothing: deno.backendRanNothing || chromium.backendRanNothing };
}

/** How a late GPU error's line of compare-runtimes.jsonl starts (a case's starts `{"id"`). */
const LATE_LINE_START = '{"lateGpuError":';

/**
 * Removes an earlier comparison's files from `out` as a new one starts, and says what went:
 * which files, how many cases its compare-runtimes.jsonl held, and whether it was killed
 * halfway (a .jsonl with no .json). Null when `out` held none of them.
 *
 * @example
 * ```ts ignore
 * import { removeEarlierComparison } from "./compare_runtimes.ts";
 * await removeEarlierComparison("out");
 * // "note: --out held a comparison killed halfway (compare-runtimes.jsonl, 3 cases compared, ..."
 * ```
 */
export async function removeEarlierComparison(out: string): Promise<string | null> {
  const present: string[] = [];
  let cases: number | null = null;
  for (const f of Object.values(COMPARE_RUNTIMES_FILES)) {
    const path = `${out}/${f}`;
    if (f === COMPARE_RUNTIMES_FILES.jsonl) {
      try {
        // the lines written whole (a kill mid-line leaves a cut last one, not a case)
        const text = await Deno.readTextFile(path);
        // (a late GPU error's line is no case)
        cases = text.split("\n").slice(0, -1)
          .filter((l) => l.trim() !== "" && !l.startsWith(LATE_LINE_START)).length;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    try {
      await Deno.remove(path);
      present.push(f);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  if (present.length === 0) return null;
  const held = cases === null ? "" : `, ${plural(cases, "case")} compared`;
  const killed = present.includes(COMPARE_RUNTIMES_FILES.jsonl) &&
    !present.includes(COMPARE_RUNTIMES_FILES.json);
  return killed
    ? `note: --out held a comparison killed halfway (${COMPARE_RUNTIMES_FILES.jsonl}${held}, ` +
      `no ${COMPARE_RUNTIMES_FILES.json}): removed as this one starts`
    : `note: --out held an earlier comparison (${present.join(", ")}${held}): removed as ` +
      "this one starts";
}

/**
 * Appends each case's comparison to compare-runtimes.jsonl as it ends, synced, so that a
 * comparison killed halfway (SIGKILL, a CI runner's hard limit, a crash) leaves the cases it
 * compared: compare-runtimes.json and .md are written at the end only, and it left nothing.
 * A line that cannot be written (a full disk) is said once; the comparison goes on. A GPU
 * error raised outside every case's error scope gets a line of its own ({@link CaseStream.addLate}).
 *
 * @example
 * ```ts ignore
 * import { CaseStream } from "./compare_runtimes.ts";
 * const stream = await CaseStream.open("out/compare-runtimes.jsonl");
 * stream.add(comparison);
 * await stream.close();
 * ```
 */
export class CaseStream {
  #queue: Promise<void> = Promise.resolve();
  #failed = false;
  private constructor(readonly path: string, private readonly file: Deno.FsFile) {}

  /** Creates the file (it must not exist: an earlier comparison's is removed first). */
  static async open(path: string): Promise<CaseStream> {
    try {
      return new CaseStream(path, await Deno.open(path, { write: true, createNew: true }));
    } catch (e) {
      // a full disk read "error: the disk (or a quota) is full; ..." naming no file
      if (!isStorageFull(e)) throw e;
      throw Object.assign(new Error(`${path}: ${osErrorText(e)}`, { cause: e }), {
        code: (e as { code?: unknown }).code,
      });
    }
  }

  /** Appends a case's comparison. */
  add(c: CaseComparison): void {
    this.#write(comparisonJson(c));
  }

  /**
   * Appends a GPU error raised outside every case's error scope, as a line of its own:
   * `{"lateGpuError": {"runtime", "afterCase", "message"}}` (a case's line has an `id`).
   */
  addLate(late: RuntimeLateGpuError): void {
    this.#write(comparisonJson({ lateGpuError: late }));
  }

  #write(line: string): void {
    const bytes = new TextEncoder().encode(line + "\n");
    this.#queue = this.#queue.then(async () => {
      if (this.#failed) return;
      try {
        let off = 0;
        while (off < bytes.length) off += await this.file.write(bytes.subarray(off));
        await this.file.syncData();
      } catch (e) {
        this.#failed = true;
        console.error(
          `warning: ${this.path}: cannot write (${osErrorText(e)}); the comparison goes on, ` +
            "and a kill from here leaves only the cases written before",
        );
      }
    });
  }

  /** Waits for the lines queued. */
  flush(): Promise<void> {
    return this.#queue;
  }

  /** Waits for the lines queued and closes the file. */
  async close(): Promise<void> {
    await this.#queue;
    this.file.close();
  }
}

/**
 * Build the `compare-runtimes` command.
 *
 * @example
 * ```ts ignore
 * import { compareRuntimesCommand } from "./compare_runtimes.ts";
 * const cmd = compareRuntimesCommand();
 * ```
 */
export function compareRuntimesCommand() {
  return new Command("compare-runtimes")
    .description(
      "Run one matrix in Deno's WebGPU (wgpu/naga) and in headless Chromium's (Dawn/Tint): " +
        "per case, each runtime against the float64 reference, and Deno against Chromium in " +
        "float32 ULPs (largest distance and its index, output and LSE). A case that runs in " +
        "one runtime and errors (e.g. does not compile) in the other is a finding with both " +
        "messages. A user backend is compared as `run` runs it: --backend-module loads it " +
        "(into the page too), --backend runs every case on it, and both files name them. " +
        "Writes <out>/compare-runtimes.json (with kernelHashes, the kernel files compared, as " +
        "run.json records them, and lateGpuErrors: GPU errors raised outside every case's " +
        "error scope, a pass a launch() left floating, each also said on stderr and listed in " +
        "the .md) and .md at the end, and compare-runtimes.jsonl, each case's " +
        "comparison as it ends (an earlier comparison's files there are removed as this one " +
        "starts, said with the cases they held: a comparison killed halfway leaves only its .jsonl, with the cases it " +
        "compared and, each on a line of its own, those GPU errors so far). Exit " +
        "codes: 0 both runtimes " +
        "pass every case they both cover and no finding (a case one device does not cover, " +
        "no shader-f16, is counted, not failed); 1 a reference failure, a finding, a case lost to a " +
        "device loss or a --case-timeout (counted apart from reference failures), or a --backend " +
        "that ran none of the cases expected to run in a runtime, for reasons other than " +
        "what the device lacks (a --backend-module whose backend ran none is a warning); 2 " +
        "bad input, an --out that another comparison (or run) is writing, or one that holds a " +
        "run's, a bench's or an upgrade-check's output, or, once both runtimes have run, a comparison " +
        "that compared nothing: no case run in both runtimes, each one a runtime's device does " +
        "not cover or refused alike in both (both files written, saying so); 3 " +
        "no Chromium (the message has the install command) or no adapter, or a runtime's " +
        "device that could not be re-acquired after a loss or a timeout (both files written " +
        "with the cases compared, saying so); 130 stopped by " +
        "SIGINT after the current case (a second Ctrl-C: at once), 143 by SIGTERM and 129 by " +
        "SIGHUP (a terminal closed) at once " +
        "(both files written, saying so and naming the cases not compared; a Ctrl-C during " +
        "the last case stops nothing, the files are complete, and is still 130, said so; " +
        "either signal while the runtimes start stops at once, before any case, nothing " +
        "written).",
    )
    .option("--matrix <name|file>", "bundled matrix or a JSON file", "smoke")
    .option("--filter <query>", "select cases, e.g. 'preset=tiny;dtype=f32'", parseFilterOption)
    .option("--out <dir>", "output directory", "out/compare-runtimes")
    .option(
      "--same-driver",
      "put Deno on Chromium's own SwiftShader (VK_ICD_FILENAMES): only the compilers differ",
    )
    .option(
      "--chromium <path>",
      // the words of the other commands' --chromium: which file "Debian's" is
      "Chromium executable (default: $CHROME_PATH, then /usr/bin/chromium-headless-shell)" +
        CHROMIUM_TIMEOUT_HELP,
    )
    .option(
      "--max-cases <n>",
      "refuse a selection of more cases",
      parsePositiveInt,
      DEFAULT_MAX_CASES,
    )
    .option(
      "--config-root <dir>",
      CONFIG_ROOT_HELP,
    )
    .option(
      "--max-rows <n>",
      "query rows the float64 reference computes at most",
      parsePositiveInt,
      DEFAULT_MAX_ROWS,
    )
    .option(
      "--case-timeout <seconds>",
      `seconds a case may run in one runtime (${NO_CASE_TIMEOUT_HELP})`,
      parseSeconds,
      600,
    )
    .option(
      "--backend <id>",
      "run every case on this registered backend instead of the backend the adapter chooses " +
        "for its path, in both runtimes (cases it refuses are reported as not run by it, with " +
        "its reasons)",
    )
    .option(
      "--backend-module <path>",
      // a URL is refused here (the page gets a local file bundled): the help said it loads one
      BACKEND_MODULE_HELP.replace(
        "a path, or a URL under `deno run -A main.ts`; repeatable",
        "a local file, bundled for the page with the WGSL files it lists: a URL is exit 2; " +
          "repeatable",
      ),
      collect,
      [] as string[],
    )
    .action(async (opts) => {
      // as run --runtime chromium: a local module (bundled for the page), loaded and checked
      // before anything else, a --backend checked against the registry
      checkRuntimeCombination("chromium", {
        backendModules: opts.backendModule,
        command: "compare-runtimes",
      });
      const loaded = await loadBackendModuleOptions(opts.backendModule);
      const backend = opts.backend === undefined ? undefined : checkBackendId(opts.backend);
      // --matrix, --filter, --max-cases and --config-root are checked as run checks them,
      // before either runtime starts (a bad one is exit 2 in a second, not after a launch)
      await refuseBenchMatrix(opts.matrix, "compare-runtimes");
      const selection = await selectCases({
        matrix: opts.matrix,
        filter: opts.filter,
        maxCases: opts.maxCases,
        configRoot: opts.configRoot,
      });
      await refuseRunFolder(
        opts.out,
        "beside whose reports compare-runtimes.md and compare-runtimes.json would read as " +
          "that run's; give a new folder",
      );
      // an upgrade-check's folder: compare-runtimes.md and .json were written beside its
      // compare.md and its sides' runs (run, merge and bench refuse it)
      const upgrade = await upgradeFolderProblem(opts.out);
      if (upgrade !== null) {
        throw new OutputPathError(
          "--out",
          opts.out,
          `holds an upgrade-check's output (its sides' runs: ${upgrade.sides.join(", ")}), ` +
            "beside whose compare.md and compare.json compare-runtimes.md and " +
            "compare-runtimes.json would read as that check's; give a new folder",
        );
      }
      // a bench's folder (its records, finished or killed halfway): the comparison's files
      // were written beside its records.jsonl and report.json without a word
      for (const f of BENCH_ONLY_FILES) {
        if (await Deno.stat(`${opts.out}/${f}`).then((i) => i.isFile, () => false)) {
          throw new OutputPathError(
            "--out",
            opts.out,
            `holds ${f}: a bench's output folder, beside whose files compare-runtimes.md and ` +
              "compare-runtimes.json would read as that bench's; give a new folder",
          );
        }
      }
      // A --matrix file in --out named as an output (compare-runtimes.json) would be written
      // over: exit 2 naming both, before either runtime starts.
      await checkOutputsApart(
        Object.values(COMPARE_RUNTIMES_FILES).map((f): LabelledPath => [
          `--out (${f})`,
          `${opts.out}/${f}`,
        ]),
        await fileInputs([
          ["--matrix", matrixFileOf(opts.matrix)],
          ...opts.backendModule.map((m): LabelledPath => ["--backend-module", m]),
        ]),
      );
      const where = findChromium(opts.chromium);
      await prepareOutputDir(opts.out, { label: "--out" });
      // each file as a file (a folder named compare-runtimes.jsonl failed to be removed once
      // both runtimes had started: an internal error with a stack trace)
      await checkOutputFilesIn(opts.out, Object.values(COMPARE_RUNTIMES_FILES), { label: "--out" });
      // One comparison at a time in a folder (run.lock, as `run` and `bench` take it): two CI
      // jobs into one --out each removed the other's files and wrote theirs over them, both
      // exit 0, the .jsonl of one beside the .json and .md of the other.
      const lock = await lockOutDir(opts.out);
      // What this comparison holds, ended last-taken first however the action ends: a throw
      // after Chromium's start and before the comparison (the .jsonl not opened, say) left
      // the browser running and Deno's device held.
      const ends: (() => void | Promise<void>)[] = [() => lock.release()];
      // a Ctrl-C or SIGTERM before the stop listeners below: what started is ended (the
      // browser closed, run.lock released) and said; it exited 130/143 with no word, the
      // lock left behind
      const startup = exitOnStopDuringStart(async () => {
        for (const end of ends.splice(0)) await end();
      });
      try {
        if (opts.sameDriver) {
          const icd = swiftShaderIcd(where.path);
          if (!icd) {
            throw new CliError(
              `--same-driver: no ${SWIFTSHADER_ICD} next to ${where.path} or in /usr/lib/chromium; ` +
                "this Chromium does not ship SwiftShader's Vulkan driver (run without --same-driver)",
              EXIT.infra,
            );
          }
          const set = Deno.env.get("DENO_WEBGPU_BACKEND");
          if (set && set.toLowerCase() !== "vulkan") {
            throw new CliError(
              `--same-driver needs Deno on Vulkan, but DENO_WEBGPU_BACKEND=${set}; unset it`,
              EXIT.badInput,
            );
          }
          // before Deno's first adapter: the Vulkan loader reads these when wgpu starts
          Deno.env.set("VK_ICD_FILENAMES", icd);
          Deno.env.delete("VK_DRIVER_FILES");
          Deno.env.set("DENO_WEBGPU_BACKEND", "vulkan");
        }
        // --same-driver set DENO_WEBGPU_BACKEND itself: said so (it read "DENO_WEBGPU_BACKEND=
        // vulkan was set", as if the user had)
        const choice = applyBackendChoice();
        const wgpuBackend = opts.sameDriver
          ? `backend: ${choice.backend} (DENO_WEBGPU_BACKEND=vulkan set by the harness for ` +
            "--same-driver)"
          : formatBackendChoice(choice);
        const deno = await GpuContext.create({ optionalFeatures: HARNESS_FEATURES });
        ends.unshift(() => deno.destroy());
        const denoLine =
          `Deno ${Deno.version.deno}, ${deno.caps.adapter.description}; ${wgpuBackend}` +
          (opts.sameDriver ? `; VK_ICD_FILENAMES=${Deno.env.get("VK_ICD_FILENAMES")}` : "");
        console.log(`runtime: deno (${denoLine})`);
        // the flag as given (findChromium again in the start): a CHROME_PATH that failed to
        // start was named "--chromium <path>", and told to fix a flag that was not given
        const chromium = await startChromiumRuntime({ chromium: opts.chromium });
        ends.unshift(() => chromium.close());
        const chromiumLine =
          `${chromium.identity.version}, ${chromium.caps.adapter.description}, ` +
          `driver ${String(chromium.identity.adapterInfo.driver ?? "unknown")}`;
        // The files of an earlier comparison in --out go as this one starts: a comparison killed
        // halfway (SIGTERM from a CI runner's timeout, SIGKILL) left them standing, read as this
        // one's, complete (another filter's cases, compared by other kernels)
        // said, with the cases they held: a killed comparison's .jsonl went without a word
        const removed = await removeEarlierComparison(opts.out);
        if (removed !== null) console.error(removed);
        const stream = await CaseStream.open(`${opts.out}/${COMPARE_RUNTIMES_FILES.jsonl}`);
        ends.unshift(() => stream.close());
        // SIGINT stops after the current case; SIGTERM (a CI runner's timeout) and a second
        // Ctrl-C at once, abandoning it: either way both files are written for the cases
        // compared (SIGTERM ended the process with nothing written)
        // the kernel files compared, as run.json records them (the file named none)
        const kernelHashes = await runKernelHashes();
        const noLimit = noCaseTimeoutNote(opts.caseTimeout);
        if (noLimit !== null) console.error(noLimit);
        const stop = listenForStop();
        startup.dispose();
        ends.unshift(() => stop.dispose());
        const results = { deno: [] as CaseResult[], chromium: [] as CaseResult[] };
        // A runtime whose device cannot be re-acquired ends the comparison: the cases compared
        // so far are written, saying so, before its error (they were lost with it).
        let fatal: unknown = undefined;
        // GPU errors outside every case's error scope (a pass a launch() left floating): the
        // first few said as they come, each recorded in compare-runtimes.json (they were lost)
        const lateGpuErrors: RuntimeLateGpuError[] = [];
        const cases = await compareRuntimes({
          selection,
          matrix: opts.matrix,
          filter: opts.filter,
          maxCases: opts.maxCases,
          configRoot: opts.configRoot,
          maxRows: opts.maxRows,
          caseTimeoutMs: opts.caseTimeout * 1000,
          deno,
          chromium,
          signal: stop.afterCase,
          abandon: stop.atOnce,
          backend,
          onCase: (c, i, n) => {
            console.log(caseLine(c, i, n));
            stream.add(c);
          },
          onLateGpuError: (late) => {
            lateGpuErrors.push(late);
            // in the .jsonl as it comes: a comparison killed halfway kept its cases only
            stream.addLate(late);
            if (lateGpuErrors.length <= LATE_ERRORS_SAID) {
              console.error(`${late.runtime}: ${lateGpuErrorLine(late)}`);
            }
          },
          onResults: (r) => {
            results.deno.push(r.deno);
            results.chromium.push(r.chromium);
          },
        }).catch((e) => {
          if (!(e instanceof ComparisonStopped)) throw e;
          fatal = e.cause;
          return e.cases;
        });
        await stream.flush();
        const moreLate = moreLateGpuErrorsLine(
          lateGpuErrors.length,
          COMPARE_RUNTIMES_FILES.json,
        );
        if (moreLate !== null) console.error(moreLate);
        const totals = comparisonTotals(cases);
        // Stopped by SIGINT: the reports say so and name the cases not compared (they read as
        // a complete comparison of fewer cases before).
        const done = new Set(cases.map((c) => c.id));
        const notRun = selection.mine.map((c) => c.id).filter((id) => !done.has(id));
        // (a SIGINT after the last case stopped nothing)
        const stopped: ComparisonStop | undefined = fatal === undefined ? undefined : {
          reason: fatal instanceof Error ? `${fatal.name}: ${fatal.message}` : String(fatal),
          selected: selection.mine.length,
          notRun,
        };
        const interrupted: ComparisonInterruption | undefined =
          stopped === undefined && (stop.afterCase.aborted || stop.atOnce.aborted) &&
            notRun.length > 0
            ? { signal: stop.stoppedBy() ?? "SIGINT", selected: selection.mine.length, notRun }
            : undefined;
        const header = {
          deno: denoLine,
          chromium: chromiumLine,
          sameDriver: opts.sameDriver === true,
          matrix: opts.matrix,
          filter: opts.filter ?? null,
          ...(interrupted ? { interrupted } : {}),
          ...(stopped ? { stopped } : {}),
          ...(lateGpuErrors.length > 0 ? { lateGpuErrors } : {}),
          // which backend and modules ran, as run's report.json records them
          ...(backend !== undefined ? { backend } : {}),
          // and where each is, as run.json records it: as typed, a relative path named a
          // file only from the folder the comparison started in
          ...(opts.backendModule.length > 0
            ? {
              backendModules: opts.backendModule,
              backendModulePaths: opts.backendModule.map((m) => backendModulePath(m)),
            }
            : {}),
        };
        const barrierFindings = loaded.length > 0 ? userBarrierFindings() : undefined;
        // each whole or absent: a kill while writing leaves no half file
        await writeTextAtomic(
          `${opts.out}/${COMPARE_RUNTIMES_FILES.json}`,
          comparisonJson(
            {
              version: 1,
              ...header,
              ...(barrierFindings ? { barrierFindings } : {}),
              kernelHashes,
              totals,
              cases,
            },
            1,
          ) +
            "\n",
        );
        await writeTextAtomic(
          `${opts.out}/${COMPARE_RUNTIMES_FILES.md}`,
          comparisonMarkdown(cases, header),
        );
        console.log(
          (interrupted
            ? `interrupted by ${interrupted.signal}: ${totals.cases} of ${
              plural(interrupted.selected, "selected case")
            } ran; `
            : stopped
            ? `stopped: ${totals.cases} of ${plural(stopped.selected, "selected case")} ran; `
            : "") +
            `${totalsText(totals)}; report in ${opts.out}/${COMPARE_RUNTIMES_FILES.md}`,
        );
        // as run ends: a backend asked for that no case ran on (a finished comparison only),
        // then what the user backends' launches compiled that their listed files did not show
        const unused = interrupted || stopped
          ? { lines: [], backendRanNothing: false }
          : unusedInRuntimes(results, {
            backend,
            modules: loaded.map((m) => ({ id: m.module.id, specifier: m.specifier })),
            consequence: "the comparison fails",
          });
        for (const line of unused.lines) console.error(line);
        const findingsAt = `${COMPARE_RUNTIMES_FILES.json} under "barrierFindings"`;
        for (const line of barrierEndLines(barrierFindings ?? [], loaded, findingsAt)) {
          console.error(line);
        }
        // the error that ended it, with its own exit code (3: a device), once the files say so
        if (fatal !== undefined) throw fatal;
        // a Ctrl-C during the last case stopped nothing (every case compared, the files
        // whole): exit 130 still, as run's and bench's, said so, where it was 0
        const lateStop = interrupted ? null : stop.stoppedBy();
        if (lateStop !== null) {
          console.error(stoppedAfterLastCase(lateStop, { cases: totals.cases }));
        }
        const verdict = comparisonVerdict(cases, {
          backendRanNothing: unused.backendRanNothing,
        });
        if (!interrupted && verdict.nothing !== null) console.error(`error: ${verdict.nothing}`);
        Deno.exitCode = interrupted
          ? stopExitCode(interrupted.signal)
          : lateStop !== null
          ? stopExitCode(lateStop)
          : verdict.exitCode;
      } finally {
        startup.dispose();
        for (const end of ends) await end();
      }
    });
}
