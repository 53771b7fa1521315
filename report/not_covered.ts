/**
 * What a run did not cover on this device: cases the matrix expects to run that the
 * adapter refused only because the device lacks a feature (adapter/resolve.ts
 * `DEVICE_FEATURE_CODES`). One line for the run's console summary, with how to get them.
 *
 * @module
 */
import { bareReasonCode, DEVICE_FEATURE_CODES } from "../adapter/resolve.ts";
import type { CaseResult, RunReport } from "../results/types.ts";
import { notCovered } from "./totals.ts";
import { plural } from "../util/plural.ts";

/** How to cover what the GL fallback misses (the harness then picks Vulkan by itself). */
const INSTALL_LAVAPIPE = "install Mesa's Vulkan driver (apt-get install mesa-vulkan-drivers): " +
  "lavapipe has shader-f16 and runs model sizes in seconds";

/** How to get each reason's cases covered on a machine without a GPU. */
const HOW_TO_COVER: Readonly<Record<string, string>> = {
  "dtype.f16-unavailable": INSTALL_LAVAPIPE,
  "device.too-slow": INSTALL_LAVAPIPE,
  "backend.path-mismatch": "run without --backend (the bundled backend of each path), or load a " +
    "backend module for the other path",
};

/** One reason of {@link NotCoveredSummary}: a bare reason code, how many cases, its message. */
export interface NotCoveredReason {
  /** The bare reason code, e.g. `dtype.f16-unavailable`. */
  readonly code: string;
  /** Cases refused for it. */
  readonly count: number;
  /** The first such case's message for it. */
  readonly message: string;
}

/** What a run did not cover and how to cover it ({@link notCoveredSummary}). */
export interface NotCoveredSummary {
  /** The cases expected to run that were refused ({@link notCovered}), in run order. */
  readonly ids: readonly string[];
  /** "on this device" when every reason is a missing device feature, else "in this run". */
  readonly where: "on this device" | "in this run";
  /** Each reason, in the order first met. */
  readonly reasons: readonly NotCoveredReason[];
  /** How to cover them, one hint per fix (may be empty). */
  readonly how: readonly string[];
  /**
   * Cases counted under more than one reason (an f16 case of a model size on the GL
   * fallback): the reasons' counts then add up to more than the cases.
   */
  readonly several: number;
}

/** Options of {@link notCoveredSummary} and {@link notCoveredLine}. */
export interface NotCoveredOptions {
  /** The runtime the run used (`run --runtime`; default deno). */
  readonly runtime?: string;
}

/**
 * What was not covered and how to cover it, or null when everything expected to run ran.
 * `runtime` (`run --runtime`): under a browser the hint names another runtime instead of a
 * driver to install.
 *
 * @example
 * ```ts
 * import { notCoveredSummary } from "./not_covered.ts";
 * notCoveredSummary([]); // null
 * ```
 */
export function notCoveredSummary(
  results: readonly CaseResult[],
  options: NotCoveredOptions = {},
): NotCoveredSummary | null {
  const missed = notCovered(results);
  if (missed.length === 0) return null;
  const byCode = new Map<string, { count: number; message: string }>();
  let several = 0;
  for (const r of missed) {
    // A case resolved by `auto:<path>` has each candidate's reasons, prefixed by backend:
    // it counts once per bare code.
    // When the device lacks a feature, that is what the case misses; a candidate backend's
    // own refusal beside it (e.g. no KV splits) is not.
    const reasons = r.reasons ?? [];
    const device = reasons.filter((x) => DEVICE_FEATURE_CODES.includes(bareReasonCode(x.code)));
    const seen = new Set<string>();
    for (const reason of device.length > 0 ? device : reasons) {
      const code = bareReasonCode(reason.code);
      if (seen.has(code)) continue;
      seen.add(code);
      const e = byCode.get(code) ?? { count: 0, message: reason.message };
      e.count++;
      byCode.set(code, e);
    }
    if (seen.size > 1) several++;
  }
  // under a browser (run --runtime chromium) the device is the browser's adapter: the fix
  // is another runtime or browser, not a driver for this process
  const hint = (c: string) =>
    options.runtime !== undefined && options.runtime !== "deno" && DEVICE_FEATURE_CODES.includes(c)
      ? `run ${
        missed.length === 1 ? "it" : "them"
      } with --runtime deno (lavapipe or a GPU has shader-f16), or in a browser ` +
        "whose WebGPU adapter has shader-f16"
      : HOW_TO_COVER[c];
  return {
    ids: missed.map((r) => r.id),
    where: [...byCode.keys()].every((c) => DEVICE_FEATURE_CODES.includes(c))
      ? "on this device"
      : "in this run",
    reasons: [...byCode].map(([code, e]) => ({ code, count: e.count, message: e.message })),
    how: [...new Set([...byCode.keys()].map(hint).filter((h): h is string => Boolean(h)))],
    several,
  };
}

/**
 * The words for {@link NotCoveredSummary.several}: "" when every case has one reason, else
 * how many cases the counts count twice or more ("2 of the 6 cases have more than one of
 * these reasons, counted under each"): the counts added up to more than the cases, unsaid.
 *
 * @example
 * ```ts
 * import { severalReasonsText } from "./not_covered.ts";
 * severalReasonsText({ ids: ["a", "b", "c"], several: 2 });
 * // "2 of the 3 cases have more than one of these reasons, counted under each"
 * severalReasonsText({ ids: ["a"], several: 0 }); // ""
 * ```
 */
export function severalReasonsText(s: Pick<NotCoveredSummary, "ids" | "several">): string {
  if (s.several === 0) return "";
  const n = s.ids.length;
  return `${s.several === n ? (n === 2 ? "both" : "all") : s.several} of the ${
    plural(n, "case")
  } ` +
    `${s.several === 1 ? "has" : "have"} more than one of these reasons, counted under each`;
}

/**
 * {@link notCoveredSummary} of a run's report: its results, under the runtime it ran in (the
 * browser its fingerprint names, else Deno). The verdict, summary.md and report.html say it
 * from this.
 *
 * @example
 * ```ts
 * import { reportNotCovered } from "./not_covered.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * reportNotCovered(report)?.ids.length; // cases refused for want of a device feature
 * ```
 */
export function reportNotCovered(
  report: Pick<RunReport, "results" | "fingerprint">,
): NotCoveredSummary | null {
  return notCoveredSummary(report.results, { runtime: report.fingerprint.browser?.name });
}

/**
 * One line saying what was not covered and how to cover it ({@link notCoveredSummary}), or
 * null when everything expected to run ran.
 *
 * @example
 * ```ts
 * import { notCoveredLine } from "./not_covered.ts";
 * notCoveredLine([]); // null
 * // "not covered on this device: 44 cases (dtype.f16-unavailable: ...); to cover them, install ..."
 * ```
 */
export function notCoveredLine(
  results: readonly CaseResult[],
  options: NotCoveredOptions = {},
): string | null {
  const s = notCoveredSummary(results, options);
  if (s === null) return null;
  const several = severalReasonsText(s);
  const what = s.reasons.map((e) => `${e.count} × ${e.code}: ${e.message}`).join("; ") +
    (several === "" ? "" : `; ${several}`);
  const n = s.ids.length;
  return `not covered ${s.where}: ${plural(n, "case")} ` +
    `(${what})${
      s.how.length > 0 ? `; to cover ${n === 1 ? "it" : "them"}, ${s.how.join("; ")}` : ""
    }`;
}
