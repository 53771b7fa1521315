// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
/**
 * Every planted fault of the CPU-shaped kernels (parity/faults.ts GEMM_FAULTS) is caught:
 * in its scenario, on the gemm backend of its path, the clean kernel passes the comparison
 * with the float64 reference and the faulty one fails it.
 */
import assert from "node:assert/strict";
import { GEMM_FAULTS } from "../parity/faults.ts";
import { faultsCaughtTests } from "./fault_helpers.ts";

faultsCaughtTests("gemm", GEMM_FAULTS);

Deno.test("gemm fault ids are unique and distinct from the other kernels'", async () => {
  const { FAULTS, TILED_FAULTS } = await import("../parity/faults.ts");
  const ids = [...FAULTS, ...TILED_FAULTS, ...GEMM_FAULTS].map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
});
