// The bundled smoke matrix (every path, dtype, layout and mask at small sizes, paged caches,
// split-KV, variable lengths with empty caches) must pass entirely on the CI device: this is
// the main job, asserted.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { runMatrix } from "../runner/run_matrix.ts";

Deno.test({
  name: "the smoke matrix passes on this device",
  ignore: !(await hasAdapter()),
  fn: async () => {
    const out = await Deno.makeTempDir();
    const report = await runMatrix({
      matrix: "smoke",
      out,
      repeats: 0,
      progress: { writeSync: (b: Uint8Array) => b.length, isTerminal: () => false },
    });
    const bad = report.results.filter((r) => r.status !== "pass");
    assert.deepEqual(bad.map((r) => `${r.status} ${r.id}: ${r.message}`), []);
    assert.equal(report.results.length, report.shardIds.length);
    assert.ok(report.results.length >= 100);
    await Deno.remove(out, { recursive: true });
  },
});
