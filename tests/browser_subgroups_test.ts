// The subgroup variant of the tiled absorbed kernel (backend wgsl-absorbed-tiled-sg) where
// a WebGPU implementation offers subgroups: headless Chromium, whose SwiftShader has them
// (subgroup size 4 here; Deno 2.9.6 exposes the feature on no adapter). The variant must
// match the float64 reference on every tiny absorbed f32 smoke case (decode, MTP, THD,
// paged, varlen with empty sequences, the layer mode) and on a V2-Lite-width paged
// decode, and each planted subgroup fault must fail its case. Ignored, named, without
// Chromium.
import assert from "node:assert/strict";
import { browserTestName, chromiumMissing, runHarness } from "./browser_helpers.ts";
import { SUBGROUP_FAULTS } from "../parity/faults.ts";

const ignore = chromiumMissing() !== null;

function runSg(filter: string, out: string, fault?: string): Promise<{
  code: number;
  stdout: string;
  stderr: string;
}> {
  return runHarness([
    "run",
    "--runtime",
    "chromium",
    ...(fault ? ["--plant-fault", fault] : ["--backend", "wgsl-absorbed-tiled-sg"]),
    "--filter",
    filter,
    "--repeats",
    "0",
    "--out",
    out,
  ]);
}

Deno.test({
  name: browserTestName(
    "wgsl-absorbed-tiled-sg in Chromium: tiny and a V2-Lite decode match the float64 reference",
  ),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-sg-" });
    try {
      const tiny = await runSg("preset=tiny;dtype=f32;path=absorbed", `${out}/tiny`);
      assert.equal(tiny.code, 0, tiny.stdout + tiny.stderr);
      assert.match(tiny.stdout, /^22\/22 cases: 22 pass, 0 fail, 0 unexpected, 0 error;/m);
      const report = JSON.parse(await Deno.readTextFile(`${out}/tiny/report.json`));
      const backends = new Set(report.results.map((r: { backend: string }) => r.backend));
      assert.deepEqual([...backends], ["wgsl-absorbed-tiled-sg"]);
      const v2 = await runSg(
        "preset=deepseek-v2-lite;dtype=f32;path=absorbed;b=3;sq=1;sk=100;layout=bshd",
        `${out}/v2`,
      );
      assert.equal(v2.code, 0, v2.stdout + v2.stderr);
      assert.match(v2.stdout, /^1\/1 cases: 1 pass, 0 fail/m);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName("every planted subgroup fault fails its case in Chromium"),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-sg-faults-" });
    try {
      for (const f of SUBGROUP_FAULTS) {
        const r = await runSg(
          "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=2",
          `${out}/${f.id}`,
          f.id,
        );
        assert.equal(r.code, 1, `${f.id}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /cases: 0 pass, 2 fail, 0 unexpected, 0 error;/, f.id);
        // The fault ran where it was planted.
        const report = JSON.parse(await Deno.readTextFile(`${out}/${f.id}/report.json`));
        for (const res of report.results) assert.equal(res.backend, "wgsl-absorbed-tiled-sg");
      }
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});
