/**
 * Backends a run was told about that no case ran on: `--backend <id>` whose every case was
 * refused (or never reached), and a `--backend-module` whose backend no case selected
 * (`auto` picks only the bundled backends). A run that tested nothing on the backend it was
 * asked for must not read green.
 *
 * @module
 */
import { isDeviceReasonCode } from "../adapter/resolve.ts";
import type { CaseResult } from "../results/types.ts";

/** What {@link unusedBackends} found. */
export interface UnusedBackends {
  /** One line each, for stderr. */
  readonly lines: string[];
  /**
   * `--backend` was given and none of the cases the matrix expected to run ran on it, not
   * only for what this device lacks (the run fails: it tested nothing).
   */
  readonly backendRanNothing: boolean;
}

/**
 * The backends named on the command line that no case of `results` ran on.
 *
 * @example
 * ```ts
 * import { unusedBackends } from "./unused_backends.ts";
 * unusedBackends([], { modules: [{ id: "naive", specifier: "naive.ts" }] }).lines.length; // 1
 * ```
 */
export function unusedBackends(
  results: readonly CaseResult[],
  options: {
    backend?: string;
    modules: readonly { readonly id: string; readonly specifier: string }[];
    /** What follows when `--backend` ran nothing (default "the run fails"). */
    consequence?: string;
  },
): UnusedBackends {
  const ran = new Set(
    results.filter((r) => r.decision === "supported" && r.backend !== undefined).map((r) =>
      r.backend
    ),
  );
  const lines: string[] = [];
  const b = options.backend;
  let backendRanNothing = false;
  // Only the cases the matrix expected to run count: one expected unsupported or invalid
  // (an adapter test) is no case the backend was meant to run.
  const meant = results.filter((r) => r.expect.support === "supported");
  if (b !== undefined && meant.length > 0 && !ran.has(b)) {
    const first = meant.find((r) => (r.reasons?.length ?? 0) > 0)?.reasons?.[0];
    const why = first ? ` (the first reason: ${first.code}: ${first.message})` : "";
    // Every such case refused only for what this device lacks or limits (shader-f16,
    // subgroups, a loop budget, a buffer limit): a gap in the device's coverage, said as the
    // GL fallback's are, not a failure of the run.
    const deviceOnly = meant.every((r) =>
      r.decision === "unsupported" && (r.reasons?.length ?? 0) > 0 &&
      r.reasons!.every((x) => isDeviceReasonCode(x.code))
    );
    backendRanNothing = !deviceOnly;
    lines.push(
      deviceOnly
        ? `warning: --backend ${b} ${noneRan(meant.length)}: ` +
          `this device lacks or limits what it needs${why}`
        : `error: --backend ${b} ${noneRan(meant.length)}: ` +
          `each was refused or not reached${why}; nothing was tested on it, so ` +
          `${options.consequence ?? "the run fails"}. ` +
          `Select cases it supports (explain --case <id> --backend ${b} says why one is ` +
          "refused)",
    );
  }
  for (const m of options.modules) {
    if (m.id === b || ran.has(m.id)) continue;
    lines.push(
      `warning: --backend-module ${m.specifier} registers backend ${m.id}, which no case ran ` +
        `on: ${
          unselectedReason(m.id, b) ??
            `auto picks only the bundled backends, so select it with --backend ${m.id} or a ` +
              "matrix backend axis (a case that names it and was refused has the reasons in " +
              "the report)"
        }`,
    );
  }
  return { lines, backendRanNothing };
}

/** "ran none of the 3 cases expected to run", or "did not run the 1 case expected to run". */
function noneRan(n: number): string {
  return n === 1
    ? "did not run the 1 case expected to run"
    : `ran none of the ${n} cases expected to run`;
}

/**
 * Why a loaded module's backend `id` went unused when `chosen` (a `--backend`, or what a
 * command planned) names another concrete backend: "--backend wgsl-absorbed was asked for
 * instead, so select it with --backend naive". Null when nothing concrete was chosen (none,
 * `auto`, `auto:<path>`, or `id` itself): then auto's choice is the reason.
 *
 * @example
 * ```ts
 * import { unselectedReason } from "./unused_backends.ts";
 * unselectedReason("naive", "wgsl-absorbed"); // "--backend wgsl-absorbed was asked for instead, so select it with --backend naive"
 * unselectedReason("naive", "auto"); // null
 * ```
 */
export function unselectedReason(id: string, chosen: string | undefined): string | null {
  if (chosen === undefined || chosen === id || chosen === "auto" || chosen.startsWith("auto:")) {
    return null;
  }
  return `--backend ${chosen} was asked for instead, so select it with --backend ${id}`;
}
