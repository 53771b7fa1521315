/** The bundled benchmark matrices: the presets matrix covers every model preset at its full heads. */
import assert from "node:assert/strict";
import { PRESET_NAMES, presetSpec } from "../adapter/presets.ts";
import { BENCH_MATRICES, benchMatrix } from "../bench/cases.ts";

Deno.test("bench matrix presets: every model preset at its published head count, both paths", () => {
  const cases = benchMatrix("presets");
  const models = PRESET_NAMES.filter((p) => !p.startsWith("tiny"));
  assert.deepEqual([...new Set(cases.map((c) => c.preset))].sort(), [...models].sort());
  for (const c of cases) {
    assert.equal(c.heads, presetSpec(c.preset).numHeads, `${c.preset} heads`);
  }
  for (const preset of models) {
    const own = cases.filter((c) => c.preset === preset);
    for (const path of ["absorbed", "expanded"]) {
      assert.deepEqual(
        own.filter((c) => c.path === path).map((c) => c.sk),
        [16, 64, 128, 256, 512, 1024, 4096],
        `${preset} ${path}: the s_k values the crossover is read between`,
      );
    }
  }
  assert.ok(BENCH_MATRICES.includes("presets"));
});
