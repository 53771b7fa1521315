/**
 * `bench --backend <id>` whose backend benched none of the cases: every case refused (the
 * other path's, a CPU backend's, a plan the backend cannot make). Such a bench measured
 * nothing on the backend it was asked for and must not read as a pass. And a
 * `--backend-module` whose backend no case was benched on (no `--backend` selected it:
 * the adapter picks only bundled backends), whose figures are then the bundled backends'.
 *
 * @module
 */
import { isDeviceReasonCode } from "../adapter/resolve.ts";
import { plural } from "../util/plural.ts";
import type { BenchRecord } from "./run_bench.ts";

/** What {@link unusedBenchBackends} found. */
export interface UnusedBenchBackends {
  /** One line per backend that benched nothing (the report's warnings). */
  readonly lines: string[];
  /** A backend benched nothing for reasons other than what the device lacks: exit 1. */
  readonly failed: boolean;
}

/**
 * The `--backend` ids that no case was benched on (no record ok or errored on it): each a
 * line naming the first refusal; a failure unless every case was refused only for what
 * the device lacks or limits (shader-f16, a loop budget, a buffer limit, too slow). Then
 * each of `options.modules` whose backend is no `--backend` and benched no case: a line
 * saying to select it (not a failure: the cases ran, on the bundled backends).
 *
 * @example
 * ```ts
 * import { unusedBenchBackends } from "./unused_backends.ts";
 * unusedBenchBackends([{
 *   id: "x",
 *   case: { preset: "tiny", heads: 4, path: "absorbed", dtype: "f32", b: 1, sq: 1, sk: 64, causal: true, page: 0 },
 *   status: "unsupported",
 *   reason: "backend cpu-reference runs on the cpu",
 * }], ["cpu-reference"]).failed; // true
 * ```
 */
export function unusedBenchBackends(
  records: readonly BenchRecord[],
  backends: readonly string[],
  options: {
    /** The loaded `--backend-module`s: the module as given and the id it registers. */
    readonly modules?: readonly { readonly id: string; readonly specifier: string }[];
  } = {},
): UnusedBenchBackends {
  const lines: string[] = [];
  let failed = false;
  if (records.length === 0) return { lines, failed };
  for (const b of backends) {
    const benched = records.some((r) => r.backend === b && r.status !== "unsupported");
    if (benched) continue;
    const refused = records.filter((r) => r.status === "unsupported");
    const deviceOnly = refused.length === records.length &&
      refused.every((r) => {
        // the adapter's codes (run_bench.ts); a refusal without any (a CPU plan) is not the device's
        const codes = r.reason_codes ?? [];
        return codes.length > 0 && codes.every(isDeviceReasonCode);
      });
    const first = refused.find((r) => r.reason !== undefined);
    const why = first ? ` (the first: ${first.id}: ${first.reason})` : "";
    const cases = plural(records.length, "case");
    if (deviceOnly) {
      lines.push(
        `--backend ${b} benched none of the ${cases}: this device lacks or limits what it ` +
          `needs${why}`,
      );
    } else {
      failed = true;
      lines.push(
        `--backend ${b} benched none of the ${cases}: each was refused${why}; nothing was ` +
          `measured on it, so the bench fails (exit 1). Select cases it supports (explain ` +
          `--case <id> --backend ${b} says why one is refused)`,
      );
    }
  }
  for (const m of options.modules ?? []) {
    if (backends.includes(m.id) || records.some((r) => r.backend === m.id)) continue;
    // with --backend given, its figures are that backend's, not the adapter's choice
    const asked = backends.map((b) => `--backend ${b}`).join(" and ");
    lines.push(
      `--backend-module ${m.specifier} registers backend ${m.id}, which no case was benched ` +
        `on: ${
          backends.length === 0
            ? "the adapter picks only the bundled backends, so these figures are theirs;"
            : `${asked} ${backends.length === 1 ? "was" : "were"} asked for instead (the ` +
              "adapter picks only the bundled backends for any other path), so"
        } select it with --backend ${m.id}`,
    );
  }
  return { lines, failed };
}
