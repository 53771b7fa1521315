/**
 * Backends a run was told about that no case ran on: `--backend <id>` whose every case was
 * refused (or never reached), and a `--backend-module` whose backend no case selected
 * (`auto` picks only the bundled backends). A run that tested nothing on the backend it was
 * asked for must not read green.
 *
 * @module
 */
import { DEVICE_FEATURE_CODES, splitReasonCode } from "../adapter/resolve.ts";
import type { CaseResult } from "../results/types.ts";

/** What {@link unusedBackends} found. */
export interface UnusedBackends {
  /** One line each, for stderr. */
  readonly lines: string[];
  /**
   * `--backend` was given and no case ran on it, not only for features this device lacks
   * (the run fails: it tested nothing).
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
  if (b !== undefined && results.length > 0 && !ran.has(b)) {
    const refused = results.filter((r) => r.decision !== "supported");
    const first = refused.find((r) => (r.reasons?.length ?? 0) > 0)?.reasons?.[0];
    const why = first ? ` (the first reason: ${first.code}: ${first.message})` : "";
    // Every case refused only for what this device lacks (shader-f16, subgroups, a loop
    // budget too small): a gap in the device's coverage, said as the GL fallback's are, not
    // a failure of the run.
    const deviceOnly = refused.length === results.length &&
      refused.every((r) =>
        (r.reasons?.length ?? 0) > 0 && r.reasons!.every((x) => isDeviceCode(x.code))
      );
    backendRanNothing = !deviceOnly;
    lines.push(
      deviceOnly
        ? `warning: --backend ${b} ran none of the ${results.length} case(s): this device ` +
          `lacks what it needs${why}`
        : `error: --backend ${b} ran none of the ${results.length} case(s): every one was ` +
          `refused or not reached${why}; nothing was tested on it, so the run fails. Select ` +
          `cases it supports (explain --case <id> --backend ${b} says why one is refused)`,
    );
  }
  for (const m of options.modules) {
    if (m.id === b || ran.has(m.id)) continue;
    lines.push(
      `warning: --backend-module ${m.specifier} registers backend ${m.id}, which no case ran ` +
        `on (auto picks only the bundled backends): select it with --backend ${m.id} or a ` +
        "matrix backend axis",
    );
  }
  return { lines, backendRanNothing };
}

/** A reason code about what the device lacks: `device.*`, or a missing feature. */
function isDeviceCode(code: string): boolean {
  const bare = splitReasonCode(code).code;
  return bare.startsWith("device.") || DEVICE_FEATURE_CODES.includes(bare);
}
