// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
// The subgroup variant of the tiled absorbed kernel (backend wgsl-absorbed-tiled-sg) where
// a WebGPU implementation offers subgroups: headless Chromium, whose SwiftShader has them
// (subgroup size 4 here; Deno 2.9.6 exposes the feature on no adapter). The variant must
// match the float64 reference on every tiny absorbed f32 smoke case (decode, MTP, THD,
// paged, varlen with empty sequences, the layer mode) and on a V2-Lite-width paged
// decode, and each planted subgroup fault must fail its case. Ignored, named, without
// Chromium.
//
// One browser serves every step (runMatrix on its device, as `run --runtime chromium` does):
// a harness process and a browser per run cost about 5 s each on a 2-vCPU machine.
// tests/browser_runtime_test.ts runs the CLI's `--runtime chromium` paths themselves.
import assert from "node:assert/strict";
import { selectCases } from "../runner/run_matrix.ts";
import { browserTestName, chromiumMissing } from "./browser_helpers.ts";
import { SUBGROUP_BACKEND, SUBGROUP_FAULTS } from "../parity/faults.ts";
import { ChromiumGpu } from "../browser/chromium_gpu.ts";
import { runMatrix, type RunMatrixOptions } from "../runner/run_matrix.ts";
import type { RunReport } from "../results/mod.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

async function runIn(
  gpu: ChromiumGpu,
  filter: string,
  options: Pick<RunMatrixOptions, "backend" | "fault">,
): Promise<RunReport> {
  const out = await Deno.makeTempDir({ prefix: "mla-sg-" });
  try {
    return await runMatrix({
      matrix: "smoke",
      filter,
      out,
      repeats: 0,
      progress: SILENT_PROGRESS,
      ctx: gpu,
      ...options,
    });
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}

const statuses = (r: RunReport) => r.results.map((c) => `${c.status} ${c.id}: ${c.message}`);

Deno.test({
  name: browserTestName(
    "wgsl-absorbed-tiled-sg in Chromium: tiny and a V2-Lite decode match the float64 " +
      "reference; every planted subgroup fault fails its case",
  ),
  ignore: chromiumMissing() !== null,
  fn: async (t) => {
    const gpu = await ChromiumGpu.start();
    try {
      await t.step(
        "tiny absorbed f32: every such smoke case passes on the subgroup kernel",
        async () => {
          const filter = "preset=tiny;dtype=f32;path=absorbed";
          const r = await runIn(gpu, filter, { backend: SUBGROUP_BACKEND });
          // 24 since session 44's tile-boundary cases
          const { all } = await selectCases({ matrix: "smoke", filter });
          assert.ok(all.length >= 22, `${all.length} cases`);
          assert.equal(r.results.length, all.length);
          assert.deepEqual(statuses(r).filter((s) => !s.startsWith("pass ")), []);
          assert.deepEqual([...new Set(r.results.map((c) => c.backend))], [SUBGROUP_BACKEND]);
        },
      );
      await t.step("a V2-Lite-width paged decode passes", async () => {
        const r = await runIn(
          gpu,
          "preset=deepseek-v2-lite;dtype=f32;path=absorbed;b=3;sq=1;sk=100;layout=bshd",
          { backend: SUBGROUP_BACKEND },
        );
        assert.equal(r.results.length, 1);
        assert.deepEqual(statuses(r).filter((s) => !s.startsWith("pass ")), []);
        assert.equal(r.results[0].backend, SUBGROUP_BACKEND);
      });
      for (const f of SUBGROUP_FAULTS) {
        await t.step(`planted ${f.id}: both cases fail, on the subgroup kernel`, async () => {
          const r = await runIn(gpu, "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=2", {
            fault: f,
          });
          assert.equal(r.results.length, 2);
          // Failed parity, not an error: the fault ran where it was planted and was caught.
          assert.deepEqual(r.results.map((c) => c.status), ["fail", "fail"], f.id);
          for (const c of r.results) assert.equal(c.backend, SUBGROUP_BACKEND);
        });
      }
    } finally {
      await gpu.close();
    }
  },
});
