/**
 * tools/layer_input_scale.ts, whose figures README and docs/tolerances.md quote: one line per
 * (scaling, dtype, path) of each preset asked for, the unit-scale runs passing under the
 * layer tolerance (the scale it was derived at), and a preset it does not run refused.
 */
import assert from "node:assert/strict";
import { currentBackend } from "../drift/device_key.ts";
import { CAPS, gpuTest } from "./gpu_helpers.ts";
import { runTool } from "./helpers_cli.ts";

const ENV = { DENO_WEBGPU_BACKEND: currentBackend() };

gpuTest(
  "layer_input_scale --preset tiny-yarn: a line per scaling, dtype and path; unit scale passes",
  async () => {
    const r = await runTool("layer_input_scale.ts", ["--preset", "tiny-yarn"], ENV);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    const f16 = CAPS!.features.includes("shader-f16");
    // without shader-f16 one line says f16 was not run
    const want = ["unit scale", "x5, 3 channels x50"].flatMap((s) => [
      ...["absorbed", "expanded"].map((p) => `tiny-yarn ${s} f32 ${p}: `),
      ...(f16
        ? ["absorbed", "expanded"].map((p) => `tiny-yarn ${s} f16 ${p}: `)
        : [`tiny-yarn ${s} f16: `]),
    ]);
    assert.deepEqual(lines.map((l) => l.slice(0, l.indexOf(": ") + 2)), want, r.stdout);
    for (const l of lines) {
      if (!f16 && / f16: /.test(l)) {
        assert.match(l, /: not run \(this adapter has no shader-f16\)$/);
        continue;
      }
      assert.match(
        l,
        /: (PASS|FAIL); out: max abs err .*; cos_diff .*; LSE max abs \d\.\d\de[-+]\d+/,
      );
      if (l.includes(" unit scale ")) assert.match(l, /: PASS; /, l);
    }
  },
);

gpuTest(
  "layer_input_scale --uniform: a line per factor, the largest |LSE| growing with it",
  async () => {
    const r = await runTool(
      "layer_input_scale.ts",
      ["--preset", "tiny-yarn", "--dtype", "f32", "--uniform", "1,4"],
      ENV,
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.deepEqual(
      lines.map((l) => l.slice(0, l.indexOf(":"))),
      ["x1", "x1", "x4", "x4"].flatMap((
        k,
        i,
      ) => [`tiny-yarn uniform ${k} f32 ${i % 2 ? "expanded" : "absorbed"}`]),
    );
    const largest = lines.map((l) => Number(/largest \|LSE\| (\d+\.\d)$/.exec(l)?.[1]));
    assert.ok(largest.every((x) => x > 0), r.stdout);
    assert.ok(largest[2] > largest[0], `the scores grow with the factor: ${largest}`);
  },
);

Deno.test("layer_input_scale on the GL fallback: runs it cannot make are lines saying why, exit 1 when none ran", async () => {
  const r = await runTool(
    "layer_input_scale.ts",
    ["--preset", "deepseek-v2-lite", "--uniform", "1"],
    { DENO_WEBGPU_BACKEND: "gl" },
  );
  // no GL adapter here, or a GL device that runs V2-Lite's layer (a real GPU): nothing to see
  if (r.code === 3 || /: (PASS|FAIL); /.test(r.stdout)) return;
  // llvmpipe through GL: V2-Lite is over its size cap (it was an uncaught error, a stack trace)
  assert.equal(r.code, 1, r.stdout + r.stderr);
  for (const path of ["absorbed", "expanded"]) {
    assert.match(
      r.stdout,
      new RegExp(`^deepseek-v2-lite uniform x1 f32 ${path}: not run here: .*GL fallback`, "m"),
    );
  }
  assert.match(r.stderr, /^layer_input_scale: no run could be made on this adapter/m);
  assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at /);
});

Deno.test("layer_input_scale: a preset, factor or dtype it does not take is exit 2 naming the valid ones", async () => {
  const r = await runTool("layer_input_scale.ts", ["--preset", "tiny"], ENV);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--preset tiny: expected tiny-yarn or deepseek-v2-lite/);
  assert.equal(r.stdout, "");
  for (
    const [args, want] of [
      [["--uniform", "0,2"], /--uniform 0,2: expected positive factors/],
      [["--uniform", "x"], /--uniform x: expected positive factors/],
      [["--dtype", "bf16"], /--dtype bf16: expected f32 or f16/],
    ] as const
  ) {
    const bad = await runTool("layer_input_scale.ts", [...args], ENV);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, want);
  }
});
