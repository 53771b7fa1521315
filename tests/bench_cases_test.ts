/** The bundled benchmark matrices: the presets matrix covers every model preset at its full heads. */
import assert from "node:assert/strict";
import { PRESET_NAMES, presetSpec } from "../adapter/presets.ts";
import { BENCH_MATRICES, benchCaseId, benchMatrix, HEADLINE } from "../bench/cases.ts";
import { selectBenchCases } from "../cli/bench.ts";

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

// `bench --matrix headline,gpu` benched each headline case twice (13 cases, 7 ids): the gpu
// matrix holds the headline. Each case is now benched once, at its first place.
Deno.test("bench --matrix: a case in two of the matrices is benched once", () => {
  const ids = selectBenchCases("headline,gpu").map(benchCaseId);
  assert.equal(ids.length, 7);
  assert.deepEqual(ids.slice(0, 6), HEADLINE.map(benchCaseId));
  for (const m of ["decode,presets", "prefill,headline", "gpu,headline"]) {
    const sel = selectBenchCases(m).map(benchCaseId);
    assert.equal(sel.length, new Set(sel).size, m);
  }
  // a filter that keeps cases of both
  assert.equal(selectBenchCases("headline,gpu", "path=absorbed;dtype=f32;sq=1").length, 1);
});

// `bench --matrix smoke` said "unknown benchmark matrix", not that smoke is a run matrix
Deno.test("bench --matrix: a run matrix's name is said to be one, with the command to run it", () => {
  assert.throws(
    () => selectBenchCases("tiny,smoke"),
    /--matrix smoke: a run matrix \(`run --matrix smoke` runs it\), not a bench matrix/,
  );
});
