/**
 * tools/gpu_splits_matrix.json, the matrix the GPU machine's `splits` step runs: every case
 * plans on the H100's caps (the H200's are the same but for the PCI id) on the backend it
 * names, with the KV splits it forces (0: the adapter's own choice, named below), so the
 * step's sweep measures what it says.
 */
import assert from "node:assert/strict";
import { loadMatrix } from "../matrix/mod.ts";
import { caseRequest, resolveCase } from "../runner/case_request.ts";
import { H100_CAPS } from "./caps_fixtures.ts";

const MATRIX = new URL("../tools/gpu_splits_matrix.json", import.meta.url).pathname;

Deno.test("gpu_splits_matrix: each case plans on its backend at its forced KV splits on the H100's caps", async () => {
  const { cases } = await loadMatrix(MATRIX, {});
  const seen = new Map<string, number[]>();
  for (const c of cases) {
    const r = resolveCase(await caseRequest(c.params, { seed: 1 }), c, H100_CAPS, c.params.backend);
    assert.equal(r.kind, "plan", `${c.id}: ${r.kind === "plan" ? "" : JSON.stringify(r.reasons)}`);
    if (r.kind !== "plan") continue;
    assert.equal(r.backend, c.params.backend, c.id);
    const forced = Number(c.params.splits);
    if (forced > 0) assert.equal(r.variant.kvSplits, forced, c.id);
    const key = `${r.backend} ${forced > 0 ? "forced" : "adapter"}`;
    seen.set(key, [...(seen.get(key) ?? []), r.variant.kvSplits]);
  }
  // The absorbed decode's sweep, the dense decode's and the 256-token prefill's (FA2), each
  // with the adapter's choice (the prefill's: none).
  assert.deepEqual(seen.get("wgsl-absorbed-tiled forced"), [8, 16, 32, 64]);
  assert.deepEqual(seen.get("wgsl-expanded-tiled forced"), [8, 16, 32, 2, 4, 8]);
  assert.deepEqual(seen.get("wgsl-absorbed-tiled adapter"), [32]);
  assert.deepEqual(seen.get("wgsl-expanded-tiled adapter"), [5, 1]);
});
