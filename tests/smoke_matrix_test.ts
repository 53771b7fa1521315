// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
// The bundled smoke matrix (every path, dtype, layout and mask at small sizes, paged caches,
// split-KV, variable lengths with empty caches) must pass entirely on the CI device: this is
// the main job, asserted. The same run is CI's drift check: compared with the committed
// baseline of its device class (baselines/<device-key>.json, written by
// `deno task harness baseline update --matrix smoke`), numeric and support drift fail; speed
// does not (CI machines differ in speed); what moved is printed either way. The matrix runs
// once in this module, for both (it is the suite's longest single piece of work).
import assert from "node:assert/strict";
import {
  baselineFromReport,
  compareBaselines,
  compareSummaryLine,
  currentBackend,
  deviceKey,
  readBaseline,
  writeBaseline,
} from "../drift/mod.ts";
import { hasAdapter, probeCaps } from "../gpu/device.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import type { RunReport } from "../results/mod.ts";
import { repoRoot } from "./drift_helpers.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

const gpu = await hasAdapter();
const key = gpu ? deviceKey({ adapter: await probeCaps() }, { backend: currentBackend() }) : null;
const path = `${repoRoot}baselines/${key}.json`;
const committed = key !== null && (await Deno.stat(path).then(() => true, () => false));

const noBaseline = key === null
  ? "no WebGPU adapter"
  : `no committed baseline for this device's key (${key}): the next test checks what it can`;

/** The smoke run, made by whichever test needs it first, then shared. */
let smokeRun: Promise<RunReport> | undefined;
function smoke(): Promise<RunReport> {
  smokeRun ??= (async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-smoke-" });
    try {
      return await runMatrix({ matrix: "smoke", out, repeats: 0, progress: SILENT_PROGRESS });
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  })();
  return smokeRun;
}

Deno.test({
  name: "the smoke matrix passes on this device",
  ignore: !gpu,
  fn: async () => {
    const report = await smoke();
    const bad = report.results.filter((r) => r.status !== "pass");
    assert.deepEqual(bad.map((r) => `${r.status} ${r.id}: ${r.message}`), []);
    assert.equal(report.results.length, report.shardIds.length);
    assert.ok(report.results.length >= 100);
  },
});

Deno.test({
  name: `smoke has no numeric or support drift against baselines/${key ?? "?"}.json` +
    (committed ? "" : ` [ignored here: ${noBaseline}]`),
  ignore: !committed,
  fn: async () => {
    const base = await readBaseline(path);
    const report = await smoke();
    const current = await baselineFromReport(report, { backend: currentBackend() });
    const r = compareBaselines(base, current, { failOn: ["numeric-drift", "support-drift"] });
    console.log(compareSummaryLine(r));
    for (const line of r.environment.summary) console.log(`  changed: ${line}`);
    const moved = r.cases.filter((c) => c.class !== "unchanged");
    for (const c of moved) console.log(`  ${c.class}: ${c.id}: ${c.details.join("; ")}`);
    const regenerate = "if the change is intended, regenerate it: " +
      "DENO_WEBGPU_BACKEND=vulkan deno task harness baseline update --matrix smoke";
    assert.equal(r.cases.length, report.results.length);
    assert.equal(r.counts.new, 0, `the committed baseline covers every smoke case; ${regenerate}`);
    assert.equal(r.counts.removed, 0, `every case of the committed baseline ran; ${regenerate}`);
    assert.equal(
      r.regressions,
      0,
      `numeric or support drift against the committed baseline; ${regenerate}`,
    );
  },
});

Deno.test({
  name: "without a committed baseline: a baseline of this device round-trips under its key, " +
    "and a run compared with it has no drift" +
    (committed ? " [ignored here: this device's committed baseline is checked above]" : ""),
  ignore: !gpu || committed,
  fn: async () => {
    const report = await smoke();
    const made = await baselineFromReport(report, { backend: currentBackend() });
    assert.equal(made.deviceKey, key);
    const dir = await Deno.makeTempDir();
    try {
      const file = await writeBaseline(dir, made);
      assert.equal(file, `${dir}/${key}.json`);
      const r = compareBaselines(await readBaseline(file), made, {
        failOn: ["numeric-drift", "support-drift"],
      });
      assert.equal(r.cases.length, report.results.length);
      assert.equal(r.regressions, 0);
      assert.equal(r.counts.unchanged, report.results.length);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
