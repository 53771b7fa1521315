/**
 * What a run did not cover on this device: cases the matrix expects to run that the
 * adapter refused only because the device lacks a feature (adapter/resolve.ts
 * `DEVICE_FEATURE_CODES`). One line for the run's console summary, with how to get them.
 *
 * @module
 */
import { bareReasonCode, DEVICE_FEATURE_CODES } from "../adapter/resolve.ts";
import type { CaseResult } from "../results/types.ts";

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

/**
 * The results that were expected to run but were refused for want of a device feature.
 *
 * @example
 * ```ts
 * import { notCovered } from "./not_covered.ts";
 * notCovered([]); // []
 * ```
 */
export function notCovered(results: readonly CaseResult[]): CaseResult[] {
  return results.filter((r) =>
    r.status === "pass" && r.decision === "unsupported" && r.expect.support === "supported"
  );
}

/**
 * One line saying what was not covered on this device and how to cover it, or null when
 * everything expected to run ran. `runtime` (`run --runtime`): under a browser the hint
 * names another runtime instead of a driver to install.
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
  options: { runtime?: string } = {},
): string | null {
  const missed = notCovered(results);
  if (missed.length === 0) return null;
  const byCode = new Map<string, { count: number; message: string }>();
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
  }
  const what = [...byCode].map(([code, e]) => `${e.count} × ${code}: ${e.message}`).join("; ");
  // under a browser (run --runtime chromium) the device is the browser's adapter: the fix
  // is another runtime or browser, not a driver for this process
  const hint = (c: string) =>
    options.runtime !== undefined && options.runtime !== "deno" && DEVICE_FEATURE_CODES.includes(c)
      ? `run them with --runtime deno (lavapipe or a GPU has shader-f16), or in a browser ` +
        "whose WebGPU adapter has shader-f16"
      : HOW_TO_COVER[c];
  const how = [...new Set([...byCode.keys()].map(hint).filter(Boolean))];
  const where = [...byCode.keys()].every((c) => DEVICE_FEATURE_CODES.includes(c))
    ? "on this device"
    : "in this run";
  return `not covered ${where}: ${missed.length} case${missed.length === 1 ? "" : "s"} ` +
    `(${what})${how.length > 0 ? `; to cover them, ${how.join("; ")}` : ""}`;
}
