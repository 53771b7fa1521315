/**
 * Differences between two environment fingerprints, so drift can be attributed to a
 * runtime, driver or kernel change. Re-exported by `runner/fingerprint.ts`.
 *
 * @module
 */
import type { Fingerprint } from "../results/types.ts";
import { adapterIdentity, adapterTuning } from "./adapter_info.ts";
import { tuningChanges } from "../adapter/plan_tuning.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import type { DeviceCaps } from "../adapter/types.ts";

/** One field that differs between two fingerprints (null: absent on that side). */
export interface FingerprintChange {
  /**
   * Dotted field name: `runtime.deno`, `runtime.v8`, `runtime.typescript`,
   * `runtime.browser`, `host.os`,
   * `host.arch`, `host.cpuModel`, `adapter.description`, `adapter.vendor`,
   * `adapter.architecture`, `adapter.device`, `adapter.driver`, `adapter.features`,
   * `adapter.isFallbackAdapter`, `tuning.knobs` (the plan tuning's knobs off their defaults,
   * adapter/plan_tuning.ts; null: none), `adapter.caps.<name>` (each limit, `limits.<limit>`,
   * and the SM count, device class and loop budget, `smCount`, `deviceClass`,
   * `loopIterationBudget`, that differs; null: absent on that side),
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
  // What the plans were made for beyond the adapter's identity: limits, and the SM count,
  // device class and loop budget (overrides such as MLA_HARNESS_DEVICE_CLASS move them).
  // One change per name (`adapter.caps.limits.maxBindingsPerBindGroup 1000 → 1024`): a list
  // of every old value, then of every new one, could not be read across.
  // A name one side did not record (a report from before the harness recorded it, a limit
  // requested since) is unknown there, not a change: against an old baseline lavapipe read
  // "adapter.caps.loopIterationBudget none → 65535" as an adapter or driver change.
  const pa = planCaps(a.adapter), pb = planCaps(b.adapter);
  for (const k of [...new Set([...pa.keys(), ...pb.keys()])]) {
    // (an absent smCount or deviceClass is what a record says of an unknown one: compared)
    if ((!pa.has(k) || !pb.has(k)) && k !== "smCount" && k !== "deviceClass") continue;
    cmp(`adapter.caps.${k}`, pa.get(k) ?? null, pb.get(k) ?? null);
  }
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

/** Where two runs' environments differ, split by whether their results may share a report. */
export interface EnvironmentMix {
  /**
   * Differences that make the results of the two runs those of different devices, runtimes,
   * kernels or plans: every {@link diffFingerprints} field but the host's and a revision
   * that differs only in its `-dirty` mark or is unknown on one side (`adapter.caps.*`
   * included: the limits, SM count, device class and loop budget the plans were made for).
   */
  readonly blocking: FingerprintChange[];
  /** The rest: the host (OS, CPU model), and the revision where it is not blocking. */
  readonly warnings: FingerprintChange[];
}

/**
 * Whether the results of two runs (a run and its resume, or the shards a merge joins) may
 * share one report: {@link EnvironmentMix}. A report carries one fingerprint, so results of
 * another device or kernel under it would be credited to the wrong one.
 *
 * @example
 * ```ts
 * import { environmentMix } from "./fingerprint_diff.ts";
 * import type { Fingerprint } from "../results/types.ts";
 * declare const first: Fingerprint, resumed: Fingerprint;
 * const mix = environmentMix(first, resumed);
 * if (mix.blocking.length) console.error(mix.blocking.map((c) => c.field).join(", "));
 * ```
 */
export function environmentMix(a: Fingerprint, b: Fingerprint): EnvironmentMix {
  const blocking: FingerprintChange[] = [];
  const warnings: FingerprintChange[] = [];
  for (const c of diffFingerprints(a, b)) {
    if (c.field.startsWith("host.")) warnings.push(c);
    else if (
      c.field === "harnessRevision" &&
      (c.from === null || c.to === null || clean(c.from) === clean(c.to))
    ) {
      // unknown on one side (git absent or not permitted), or only the -dirty mark moved
      warnings.push(c);
    } else blocking.push(c);
  }
  return { blocking, warnings };
}

/** A revision without its `-dirty` mark (an untracked output folder sets it). */
function clean(revision: string | null): string | null {
  return revision?.replace(/-dirty$/, "") ?? null;
}

/**
 * What the adapter planned with beyond its identity, by name: `limits.<name>`, `smCount`,
 * `deviceClass`, `loopIterationBudget` (those the record has; null: recorded as none, such
 * as a GPU's loop budget).
 */
function planCaps(adapter: unknown): Map<string, string | null> {
  const out = new Map<string, string | null>();
  if (typeof adapter !== "object" || adapter === null) return out;
  const r = adapter as Record<string, unknown>;
  if (typeof r.limits === "object" && r.limits !== null) {
    for (const [k, v] of Object.entries(r.limits)) out.set(`limits.${k}`, String(v));
  }
  if (r.smCount !== undefined && r.smCount !== null) out.set("smCount", String(r.smCount));
  // absent: not measured (a record from before it was); null: measured, none found
  if (r.loopIterationBudget !== undefined) {
    out.set(
      "loopIterationBudget",
      r.loopIterationBudget === null ? null : String(r.loopIterationBudget),
    );
  }
  // The class the plans were made for, and who set it: a run without an override recorded
  // none, so MLA_HARNESS_DEVICE_CLASS=gpu on lavapipe read "deviceClass none → gpu", not
  // the cpu it replaced
  const caps = typeof r.adapter === "object" && r.adapter !== null &&
      typeof r.limits === "object" && r.limits !== null
    ? deviceClassOf(r as unknown as DeviceCaps)
    : null;
  if (caps !== null) out.set("deviceClass", `${caps.kind} (${caps.kindSource})`);
  else if (r.deviceClass !== undefined && r.deviceClass !== null) {
    out.set("deviceClass", String(r.deviceClass));
  }
  return out;
}

/** What each fingerprint field is, in words (a field not here is shown by its name). */
const FIELD_WORDS: Readonly<Record<string, string>> = {
  "runtime.deno": "the Deno version",
  "runtime.v8": "the V8 version",
  "runtime.typescript": "the TypeScript version",
  "runtime.browser": "the browser's version",
  "host.os": "the host's OS",
  "host.arch": "the host's architecture",
  "host.cpuModel": "the host's CPU model",
  "adapter.description": "the adapter's description",
  "adapter.vendor": "the adapter's vendor",
  "adapter.architecture": "the adapter's architecture",
  "adapter.device": "the adapter's device",
  "adapter.driver": "the adapter's driver",
  "adapter.features": "the adapter's features",
  "adapter.isFallbackAdapter": "whether the adapter is a fallback (software) one",
  "adapter.backend": "the WebGPU backend",
  "tuning.knobs": "the plan tuning's knobs off their defaults",
  "adapter.caps.smCount": "the adapter's SM count",
  "adapter.caps.deviceClass": "the device class the plans were made for",
  "adapter.caps.loopIterationBudget": "the loop iteration budget the plans were made for",
  harnessRevision: "the harness's revision (git commit)",
};

/**
 * One fingerprint difference in words, for a message: "the harness's revision (git commit)
 * changed from 1a2b to 3c4d", "kernel file absorbed.wgsl changed (hash 1a2b → 3c4d)" (the
 * internal field names, `harnessRevision 1a2b → 3c4d`, read as code).
 *
 * @example
 * ```ts
 * import { fingerprintChangeText } from "./fingerprint_diff.ts";
 * fingerprintChangeText({ field: "harnessRevision", from: "1a2b", to: "3c4d" });
 * // "the harness's revision (git commit) changed from 1a2b to 3c4d"
 * ```
 */
export function fingerprintChangeText(c: FingerprintChange): string {
  if (c.field.startsWith("kernel.")) {
    const file = `kernel file ${c.field.slice("kernel.".length)}`;
    if (c.from === null) return `${file} was added`;
    if (c.to === null) return `${file} was removed`;
    return `${file} changed (hash ${c.from} → ${c.to})`;
  }
  // only the -dirty mark moved: the same commit, with or without uncommitted changes
  const clean = (r: string | null) => r?.replace(/-dirty$/, "");
  if (c.field === "harnessRevision" && c.from !== null && clean(c.from) === clean(c.to)) {
    return `the harness's checkout of commit ${clean(c.from)} ${
      c.to?.endsWith("-dirty") ? "has uncommitted changes now" : "had uncommitted changes then"
    }`;
  }
  const limit = /^adapter\.caps\.limits\.(.+)$/.exec(c.field);
  const what = limit ? `the adapter's limit ${limit[1]}` : FIELD_WORDS[c.field] ?? c.field;
  return `${what} changed from ${c.from ?? "none recorded"} to ${c.to ?? "none recorded"}`;
}
