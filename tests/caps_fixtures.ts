/** Device caps written out for GPU-free tests: what the adapter reports, as a test needs it. */
import type { DeviceCaps } from "../adapter/types.ts";

/**
 * An NVIDIA H100 SXM as wgpu reports it (vendor 0x10de = 4318, device 0x2330 = 9008; 48 KiB of
 * workgroup memory, no loop budget), with `adapter` fields and other caps fields replaced.
 *
 * @example
 * ```ts
 * import { h100Caps } from "./caps_fixtures.ts";
 * h100Caps({ description: "llvmpipe (LLVM 15)" }).adapter.vendor; // "4318"
 * h100Caps({}, { smCount: 20 }).smCount; // 20
 * ```
 */
export function h100Caps(
  adapter: Partial<DeviceCaps["adapter"]> = {},
  extra: Partial<DeviceCaps> = {},
): DeviceCaps {
  return {
    adapter: {
      vendor: "4318",
      architecture: "",
      device: "9008",
      description: "NVIDIA H100 80GB HBM3",
      isFallbackAdapter: false,
      ...adapter,
    },
    features: [],
    limits: { maxComputeWorkgroupStorageSize: 49152 },
    loopIterationBudget: null,
    ...extra,
  };
}
