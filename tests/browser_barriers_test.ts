/**
 * The barrier check of what a user backend compiles reaches the report from the Chromium
 * page too: a copy of the naive example that builds a race into its WGSL in code (its
 * listed file is clean, so the load says nothing) runs in the page, whose check sends its
 * findings with each case's reply (kernels/module_barriers.ts `addCompiledFindings`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { browserTestName, chromiumMissing, runHarness } from "./browser_helpers.ts";
import { EDITS } from "./fixtures/backends/racy_built.ts";

const ignore = chromiumMissing() !== null;

Deno.test({
  name: browserTestName(
    "run --runtime chromium: a race a user backend builds in code in the page is in report.json",
  ),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-racy-chromium-" });
    try {
      // naive's module, its fetched source edited as racy_built.ts edits it
      const src = await Deno.readTextFile("examples/backends/naive/mod.ts");
      const edits = EDITS.map(([from, to]) =>
        `.replace(${JSON.stringify(from)}, ${JSON.stringify(to)})`
      ).join("");
      const racy = src.replace('export const id = "naive";', 'export const id = "naive-racy";')
        .replace("source = await r.text();", `source = (await r.text())${edits};`);
      assert.ok(racy.includes("naive-racy") && racy.includes("wg_scale"), "the edits took");
      await Deno.writeTextFile(`${dir}/mod.ts`, racy);
      await Deno.copyFile("examples/backends/naive/naive.wgsl", `${dir}/naive.wgsl`);
      const r = await runHarness([
        ...["run", "--runtime", "chromium", "--backend-module", `${dir}/mod.ts`],
        ...["--backend", "naive-racy", "--matrix", "smoke", "--repeats", "0"],
        ...["--filter", "preset=tiny;dtype=f32;path=absorbed;layout=thd;sq=1"],
        ...["--out", `${dir}/out`],
      ]);
      assert.ok(r.code === 0 || r.code === 1, r.stdout + r.stderr);
      // the load checked the clean listed file: nothing there
      assert.doesNotMatch(r.stderr, /warning: backend naive-racy \(module/);
      assert.match(
        r.stderr,
        /warning: backend naive-racy: hazard naive\.wgsl:\d+ \(f32\), as its launch compiled it: write of wg_scale/,
      );
      const report = JSON.parse(await Deno.readTextFile(`${dir}/out/report.json`));
      assert.equal(report.barrierFindings.length, 1, JSON.stringify(report.barrierFindings));
      assert.equal(report.barrierFindings[0].backend, "naive-racy");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
