// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
// The GPU-shaped kernels (wgsl-absorbed-tiled, wgsl-expanded-tiled) in the second WebGPU
// implementation: headless Chromium (Tint compiles them, SwiftShader runs them through
// Dawn), against the float64 reference on tiny smoke cases of their path in the bshd
// layout: for the decode kernel one and two queries a sequence (decode, MTP, empty
// sequences, paged; each query tile is a pipeline SwiftShader takes 6-7 s to compile),
// for the prefill kernel every bshd case. Deno's CI checks them through
// naga on lavapipe; a Chromium user runs them through Tint, which reads WGSL more
// strictly in places (uniformity, function-scope arrays returned by value). Ignored,
// named, without Chromium.
import assert from "node:assert/strict";
import { browserTestName, chromiumMissing, runHarness } from "./browser_helpers.ts";
import { ChromiumGpu } from "../browser/chromium_gpu.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

const ignore = chromiumMissing() !== null;

/** What these tests read of a run's report.json. */
interface RunReport {
  results: { backend: string }[];
  fingerprint: {
    adapter: {
      deviceClass?: string;
      deviceClassFrom?: string;
      smCount?: number;
      smCountFrom?: string;
      tuning?: Record<string, number>;
      tuningFrom?: string;
    };
  };
}

/**
 * `run --runtime chromium --backend <backend> --filter <filter>` without timing: it exits 0
 * with every case passing; returns its report.json.
 */
async function runInChromium(
  backend: string,
  filter: string,
  out: string,
  env: Record<string, string> = {},
): Promise<RunReport> {
  const r = await runHarness(
    ["run", "--runtime", "chromium", "--backend", backend, "--filter", filter]
      .concat(["--repeats", "0", "--out", out]),
    env,
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^(\d+)\/\1 cases?: \1 pass, 0 fail, 0 unexpected, 0 error;/m);
  return JSON.parse(await Deno.readTextFile(`${out}/report.json`));
}

const CASES = [
  ["wgsl-absorbed-tiled", "absorbed", ";sq=1,2"],
  ["wgsl-expanded-tiled", "expanded", ""],
] as const;

// One browser for both kernels (runMatrix on its device, as `run --runtime chromium` does):
// a harness process and a browser of their own cost the pair about 10 s more on a 2-vCPU
// machine. The CLI path itself runs in the next test.
Deno.test({
  name: browserTestName(
    "wgsl-absorbed-tiled and wgsl-expanded-tiled in Chromium: the tiny cases " +
      "of their path match the reference",
  ),
  ignore,
  fn: async (t) => {
    const gpu = await ChromiumGpu.start();
    try {
      for (const [backend, path, more] of CASES) {
        await t.step(`${backend}: tiny ${path} f32 bshd${more}`, async () => {
          const out = await Deno.makeTempDir({ prefix: "mla-tiled-" });
          try {
            const report = await runMatrix({
              matrix: "smoke",
              filter: `preset=tiny;dtype=f32;path=${path};layout=bshd${more}`,
              out,
              repeats: 0,
              backend,
              ctx: gpu,
              progress: SILENT_PROGRESS,
            });
            assert.ok(report.results.length >= 6, `${report.results.length} cases`);
            const bad = report.results.filter((r) => r.status !== "pass");
            assert.deepEqual(bad.map((r) => `${r.status} ${r.id}: ${r.message}`), []);
            for (const res of report.results) assert.equal(res.backend, backend);
          } finally {
            await Deno.remove(out, { recursive: true }).catch(() => {});
          }
        });
      }
    } finally {
      await gpu.close();
    }
  },
});

Deno.test({
  name: browserTestName(
    "MLA_HARNESS_DEVICE_CLASS=gpu with --runtime chromium: Chromium's device planned as a GPU (unrolled tiled decode, a plan tuning) matches the reference",
  ),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-tiled-gpu-class-" });
    try {
      // The page reads no environment: the class and SM count are added on the Deno side,
      // where the plans are made (gpu/device.ts environmentCapsOverrides); a gpu-class plan
      // of the tiled decode unrolls its loops (kernels/unroll.ts), so Tint compiles and
      // SwiftShader runs the unrolled source here.
      // And a plan tuning (MLA_HARNESS_TUNING, adapter/plan_tuning.ts): tiny's 4 heads in
      // 2-row workgroups, a shape the untuned plan does not take.
      const tuning = `${out}-tuning.json`;
      // measured on another device: said in its source, as under Deno (it was not)
      const h100 = "NVIDIA H100 80GB HBM3 (vendor 4318, device 9008)";
      await Deno.writeTextFile(
        tuning,
        JSON.stringify({ knobs: { tiledMaxRows: 2 }, device: h100 }),
      );
      const report = await runInChromium(
        "wgsl-absorbed-tiled",
        "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=1;b=3",
        out,
        {
          MLA_HARNESS_DEVICE_CLASS: "gpu",
          MLA_HARNESS_SM_COUNT: "132",
          MLA_HARNESS_TUNING: tuning,
        },
      );
      await Deno.remove(tuning);
      const a = report.fingerprint.adapter;
      assert.deepEqual(
        [a.deviceClass, a.deviceClassFrom, a.smCount, a.smCountFrom],
        ["gpu", "MLA_HARNESS_DEVICE_CLASS", 132, "MLA_HARNESS_SM_COUNT"],
      );
      assert.deepEqual(a.tuning, { tiledMaxRows: 2 });
      assert.ok(
        a.tuningFrom?.startsWith(
          `MLA_HARNESS_TUNING=${tuning} (measured on ${h100}, not on this device: `,
        ),
        a.tuningFrom,
      );
      assert.ok(report.results.length >= 1);
      // A bad value is refused before any browser starts, exit 2, naming the variable.
      const bad = await runHarness(["run", "--runtime", "chromium", "--out", `${out}/bad`], {
        MLA_HARNESS_DEVICE_CLASS: "tpu",
      });
      assert.equal(bad.code, 2, bad.stdout + bad.stderr);
      assert.match(bad.stderr, /MLA_HARNESS_DEVICE_CLASS: "tpu" must be "cpu" or "gpu"/);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});
