/**
 * Differences between two environment fingerprints, so drift can be attributed to a
 * runtime, driver or kernel change. Re-exported by `runner/fingerprint.ts`.
 *
 * @module
 */
import type { Fingerprint } from "../results/types.ts";
import { adapterIdentity, adapterTuning } from "./adapter_info.ts";
import { tuningChanges } from "../adapter/plan_tuning.ts";

/** One field that differs between two fingerprints (null: absent on that side). */
export interface FingerprintChange {
  /**
   * Dotted field name: `runtime.deno`, `runtime.v8`, `runtime.typescript`,
   * `runtime.browser`, `host.os`,
   * `host.arch`, `host.cpuModel`, `adapter.description`, `adapter.vendor`,
   * `adapter.architecture`, `adapter.device`, `adapter.driver`, `adapter.features`,
   * `adapter.isFallbackAdapter`, `tuning.knobs` (the plan tuning's knobs off their defaults,
   * adapter/plan_tuning.ts; null: none),
   * `kernel.<file>` (null `from`: added; null `to`: removed), `harnessRevision`.
   */
  readonly field: string;
  /** Value in the first fingerprint. */
  readonly from: string | null;
  /** Value in the second fingerprint. */
  readonly to: string | null;
}

/**
 * The fields that differ from `a` to `b`, in a fixed order: runtime, host, adapter, kernel
 * hashes (by file name), harness revision. Empty when the environments match.
 *
 * @example
 * ```ts
 * import { diffFingerprints } from "./fingerprint_diff.ts";
 * import type { Fingerprint } from "../results/types.ts";
 * declare const baseline: Fingerprint, current: Fingerprint;
 * for (const c of diffFingerprints(baseline, current)) {
 *   console.log(`${c.field}: ${c.from} → ${c.to}`);
 * }
 * ```
 */
export function diffFingerprints(a: Fingerprint, b: Fingerprint): FingerprintChange[] {
  const changes: FingerprintChange[] = [];
  const cmp = (field: string, from: string | null, to: string | null) => {
    if (from !== to) changes.push({ field, from, to });
  };
  cmp("runtime.deno", a.runtime.deno, b.runtime.deno);
  cmp("runtime.v8", a.runtime.v8, b.runtime.v8);
  cmp("runtime.typescript", a.runtime.typescript, b.runtime.typescript);
  // the browser whose WebGPU ran the kernels (run --runtime chromium), null under Deno's own
  cmp("runtime.browser", a.browser?.version ?? null, b.browser?.version ?? null);
  cmp("host.os", a.host.os, b.host.os);
  cmp("host.arch", a.host.arch, b.host.arch);
  cmp("host.cpuModel", a.host.cpuModel, b.host.cpuModel);
  const x = adapterIdentity(a.adapter), y = adapterIdentity(b.adapter);
  cmp("adapter.description", x.description, y.description);
  cmp("adapter.vendor", x.vendor, y.vendor);
  cmp("adapter.architecture", x.architecture, y.architecture);
  cmp("adapter.device", x.device, y.device);
  cmp("adapter.driver", x.driver, y.driver);
  cmp("adapter.features", x.features?.join(",") ?? null, y.features?.join(",") ?? null);
  // Not part of the device key (runtimes differ in how they report it): attributed here.
  cmp("adapter.isFallbackAdapter", fallbackFlag(a.adapter), fallbackFlag(b.adapter));
  // The WebGPU backend each run used (recorded since the fingerprint carries it; a report
  // without it says nothing here rather than a change).
  if (a.backend !== undefined && b.backend !== undefined) {
    cmp("adapter.backend", a.backend, b.backend);
  }
  // The plan tuning the adapter planned with (recorded with the caps): it changes plans, so a
  // plan digest that moved with it is attributed to it, not left unexplained.
  cmp("tuning.knobs", tuningText(a.adapter), tuningText(b.adapter));
  const names = [...new Set([...Object.keys(a.kernelHashes), ...Object.keys(b.kernelHashes)])]
    .sort();
  for (const name of names) {
    cmp(`kernel.${name}`, a.kernelHashes[name] ?? null, b.kernelHashes[name] ?? null);
  }
  cmp("harnessRevision", a.harnessRevision, b.harnessRevision);
  return changes;
}

/**
 * The knobs a fingerprint's caps record tunes off their defaults, as text; null where the
 * record has no tuning or one at the defaults (both plan the same).
 */
function tuningText(adapter: unknown): string | null {
  const changes = tuningChanges(adapterTuning(adapter)?.tuning);
  return changes.length === 0 ? null : changes.join(", ");
}

/** The adapter record's fallback flag as text ("true"/"false"), null when absent. */
function fallbackFlag(adapter: unknown): string | null {
  const rec = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (!rec(adapter)) return null;
  for (const s of [adapter.adapter, adapter.info, adapter]) {
    if (rec(s) && typeof s.isFallbackAdapter === "boolean") return String(s.isFallbackAdapter);
  }
  return null;
}
