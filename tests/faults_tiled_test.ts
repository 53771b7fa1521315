/**
 * Every planted fault of the tiled absorbed kernel (parity/faults.ts TILED_FAULTS) is
 * caught: in its scenario, on the tiled backend of its path, the clean kernel passes the
 * comparison with the float64 reference and the faulty one fails it.
 */
import assert from "node:assert/strict";
import { TILED_FAULTS } from "../parity/faults.ts";
import { faultsCaughtTests } from "./fault_helpers.ts";
// On the GL fallback too: there the adapter holds the kernel's workgroup memory within the
// element cap of adapter/slow_device.ts, so each variant compiles in seconds.
faultsCaughtTests("tiled", TILED_FAULTS);
// Every fault again in gpu-class plans, whose loops are unrolled in the source after the
// fault is planted (kernels/unroll.ts): each copy carries the fault. Not on the GL fallback,
// where a gpu-class plan's workgroup memory compiles for minutes (fault_helpers.ts).
faultsCaughtTests("tiled unrolled (gpu-class plan)", TILED_FAULTS, { deviceClass: "gpu" });

Deno.test("tiled fault ids are unique and distinct from the bundled kernel's", async () => {
  const { FAULTS } = await import("../parity/faults.ts");
  const ids = [...FAULTS, ...TILED_FAULTS].map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
});
