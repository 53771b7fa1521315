// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
/**
 * Every planted fault of the tiled absorbed kernel (parity/faults.ts TILED_FAULTS) is
 * caught: in its scenario, on the tiled backend of its path, the clean kernel passes the
 * comparison with the float64 reference and the faulty one fails it.
 */
import assert from "node:assert/strict";
import { type Fault, TILED_FAULTS } from "../parity/faults.ts";
import { faultsCaughtTests } from "./fault_helpers.ts";
// On the GL fallback too: there the adapter holds the kernel's workgroup memory within the
// element cap of adapter/slow_device.ts, so each tiled decode variant compiles in seconds.
// An FA2 variant takes 8-20 s to compile there with a cold shader cache, as on a fresh machine
// (session 38: 123 s for the nine in a fresh-check; MESA_SHADER_CACHE_DISABLE=true, 8 s for
// the second), so the GL fallback runs the first two FA2 faults, and lavapipe (CI) every one.
/** Planted in the FA2 prefill's kernel (the fault's own file, not its name). */
const isFa2 = (f: Fault) => f.apply.kind === "source" && f.apply.file === "expanded_fa2.wgsl";
const FA2_ON_GL = new Set(TILED_FAULTS.filter(isFa2).slice(0, 2));
faultsCaughtTests("tiled", TILED_FAULTS, {
  glFallbackSample: {
    keep: (f) => !isFa2(f) || FA2_ON_GL.has(f),
    why: "an FA2 fault past the first two (8-20 s apiece to compile; lavapipe runs them all)",
  },
});
// Every fault again in gpu-class plans, whose loops are unrolled in the source after the
// fault is planted (kernels/unroll.ts): each copy carries the fault. Not on the GL fallback,
// where a gpu-class plan's workgroup memory compiles for minutes (fault_helpers.ts).
faultsCaughtTests("tiled unrolled (gpu-class plan)", TILED_FAULTS, { deviceClass: "gpu" });

Deno.test("tiled fault ids are unique and distinct from the bundled kernel's", async () => {
  const { FAULTS } = await import("../parity/faults.ts");
  const ids = [...FAULTS, ...TILED_FAULTS].map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
});
