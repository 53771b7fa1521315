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

const ignore = chromiumMissing() !== null;

const CASES = [
  ["wgsl-absorbed-tiled", "absorbed", ";sq=1,2"],
  ["wgsl-expanded-tiled", "expanded", ""],
] as const;

for (const [backend, path, more] of CASES) {
  Deno.test({
    name: browserTestName(`${backend} in Chromium: the tiny ${path} cases match the reference`),
    ignore,
    fn: async () => {
      const out = await Deno.makeTempDir({ prefix: "mla-tiled-" });
      try {
        const r = await runHarness([
          "run",
          "--runtime",
          "chromium",
          "--backend",
          backend,
          "--filter",
          `preset=tiny;dtype=f32;path=${path};layout=bshd${more}`,
          "--repeats",
          "0",
          "--out",
          out,
        ]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /^(\d+)\/\1 cases: \1 pass, 0 fail, 0 unexpected, 0 error;/m);
        const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
        assert.ok(report.results.length >= 6, `${report.results.length} cases`);
        for (const res of report.results) assert.equal(res.backend, backend);
      } finally {
        await Deno.remove(out, { recursive: true }).catch(() => {});
      }
    },
  });
}
