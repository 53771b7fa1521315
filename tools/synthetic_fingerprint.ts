/**
 * The fingerprint the scale tools (`history_scale.ts`, `html_scale.ts`) give their synthetic
 * runs: lavapipe's adapter, a 2-core host, an all-zero revision.
 *
 * @module
 */
import type { Fingerprint } from "../results/types.ts";

/**
 * A lavapipe run's fingerprint with made-up kernel hashes, for synthetic reports.
 *
 * @example
 * ```ts
 * import { SYNTHETIC_FINGERPRINT } from "./synthetic_fingerprint.ts";
 * SYNTHETIC_FINGERPRINT.host.cpuModel; // "synthetic"
 * ```
 */
export const SYNTHETIC_FINGERPRINT: Fingerprint = {
  runtime: { deno: "2.9.6", v8: "15.0.245.2-rusty", typescript: "6.0.3" },
  host: { os: "linux", arch: "x86_64", cpus: 2, cpuModel: "synthetic" },
  adapter: {
    adapter: {
      vendor: "65541",
      architecture: "",
      device: "0",
      description: "llvmpipe (LLVM 15.0.6, 256 bits)",
      isFallbackAdapter: true,
    },
    features: ["shader-f16", "timestamp-query"],
    limits: {},
  },
  harnessRevision: "0".repeat(40),
  kernelHashes: { "absorbed.wgsl": "6a9b739d7529ea3d", "rope.wgsl": "4f6e5caf8f5b9e5e" },
};
