/**
 * Reading the identifying fields of a fingerprint's adapter record, whatever its shape
 * (`DeviceCaps` with an `adapter` object, a plain `GPUAdapterInfo`, or a record with an
 * `info` object).
 *
 * @module
 */

import type { PlanTuning } from "../adapter/types.ts";
import { isRecord } from "../util/is_record.ts";

/** The identifying fields of an adapter (null when absent). */
export interface AdapterIdentity {
  /** Vendor, e.g. "nvidia", "mesa". */
  readonly vendor: string | null;
  /** Architecture. */
  readonly architecture: string | null;
  /** Device. */
  readonly device: string | null;
  /** Description, e.g. "llvmpipe (LLVM 15.0.7, 256 bits)". */
  readonly description: string | null;
  /** Driver name/version when the record carries one (`driver` or `driverInfo`). */
  readonly driver: string | null;
  /** Features, sorted (null when the record has none). */
  readonly features: readonly string[] | null;
}

function pick(sources: readonly Record<string, unknown>[], keys: readonly string[]): string | null {
  for (const s of sources) {
    for (const k of keys) {
      const v = s[k];
      if (typeof v === "string" && v !== "") return v;
    }
  }
  return null;
}

/**
 * The identifying fields of an adapter record as stored in a fingerprint.
 *
 * @example
 * ```ts
 * import { adapterIdentity } from "./adapter_info.ts";
 * adapterIdentity({ adapter: { vendor: "mesa", description: "llvmpipe" }, features: [] })
 *   .description; // "llvmpipe"
 * adapterIdentity(null).vendor; // null
 * ```
 */
export function adapterIdentity(adapter: unknown): AdapterIdentity {
  if (!isRecord(adapter)) {
    return {
      vendor: null,
      architecture: null,
      device: null,
      description: null,
      driver: null,
      features: null,
    };
  }
  const sources = [adapter.adapter, adapter.info, adapter].filter(isRecord);
  const f = adapter.features;
  const features = Array.isArray(f) && f.every((x) => typeof x === "string")
    ? [...f as string[]].sort()
    : null;
  return {
    vendor: pick(sources, ["vendor"]),
    architecture: pick(sources, ["architecture"]),
    device: pick(sources, ["device"]),
    description: pick(sources, ["description"]),
    driver: pick(sources, ["driver", "driverInfo", "driverVersion"]),
    features,
  };
}

/**
 * The plan tuning a fingerprint's adapter record carries (`DeviceCaps.tuning` and
 * `tuningFrom`, recorded with the caps; adapter/plan_tuning.ts), or null without one.
 *
 * @example
 * ```ts
 * import { adapterTuning } from "./adapter_info.ts";
 * adapterTuning({ tuning: { tiledMaxRows: 8 } }); // { tuning: { tiledMaxRows: 8 } }
 * adapterTuning({ adapter: { vendor: "mesa" } }); // null
 * ```
 */
export function adapterTuning(
  adapter: unknown,
): { tuning: PlanTuning; tuningFrom?: string } | null {
  if (!isRecord(adapter) || !isRecord(adapter.tuning)) return null;
  return {
    tuning: adapter.tuning as PlanTuning,
    ...(typeof adapter.tuningFrom === "string" ? { tuningFrom: adapter.tuningFrom } : {}),
  };
}
