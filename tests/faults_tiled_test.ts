/**
 * Every planted fault of the tiled absorbed kernel (parity/faults.ts TILED_FAULTS) is
 * caught: in its scenario, on the tiled backend of its path, the clean kernel passes the
 * comparison with the float64 reference and the faulty one fails it.
 */
import assert from "node:assert/strict";
import { TILED_FAULTS } from "../parity/faults.ts";
import { faultsCaughtTests } from "./fault_helpers.ts";
import { slowOnGlFallback } from "./gpu_helpers.ts";

/** The tiled kernel is far too slow for the GL fallback: ignored there, with the reason. */
const TILED_ON_GL = slowOnGlFallback(
  "the tiled kernel (key tiles in workgroup memory) takes 40 s to 4 min a case",
);

faultsCaughtTests("tiled", TILED_FAULTS, { skip: TILED_ON_GL });

Deno.test("tiled fault ids are unique and distinct from the bundled kernel's", async () => {
  const { FAULTS } = await import("../parity/faults.ts");
  const ids = [...FAULTS, ...TILED_FAULTS].map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
});
