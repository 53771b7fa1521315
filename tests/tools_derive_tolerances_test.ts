/**
 * tools/derive_tolerances.ts: its command-line errors, and the tables it prints (one case,
 * one seed): observed maxima under the tolerance in use, the margin applied to them, and
 * the command that reproduces the table.
 */
import assert from "node:assert/strict";
import { currentBackend } from "../drift/device_key.ts";
import { layerToleranceFor, TOLERANCE_MARGIN, toleranceFor } from "../parity/tolerance.ts";
import { gpuTest } from "./gpu_helpers.ts";
import { runTool } from "./helpers_cli.ts";
import { gpuStartFailure } from "../tools/tool_gpu.ts";
import { NoAdapterError } from "../gpu/errors.ts";

const ENV = { DENO_WEBGPU_BACKEND: currentBackend() };

/** The cells of the table row whose first cell is `key`. */
function row(stdout: string, key: string): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith(`| ${key} |`));
  assert.ok(line, `a row for ${key} in:\n${stdout}`);
  return line.split("|").slice(1, -1).map((c) => c.trim());
}

/** An observed maximum, its margin column and the tolerance in use, checked together. */
function checkColumn(cells: string[], at: number, inUse: number, what: string): void {
  const [seen, margin, used] = cells.slice(at, at + 3).map(Number);
  assert.ok(seen > 0 && seen <= inUse, `${what}: observed ${seen}, in use ${inUse}`);
  // Both are printed to two significant digits from the exact maximum m: |seen - m| and
  // |margin - 4m| are at most half a unit of their second digit.
  const half = (x: number) => 0.5 * 10 ** (Math.floor(Math.log10(x)) - 1);
  const slack = TOLERANCE_MARGIN * half(seen) + half(margin);
  assert.ok(
    Math.abs(margin - seen * TOLERANCE_MARGIN) <= slack * (1 + 1e-9),
    `${what}: margin ${margin} for observed ${seen}`,
  );
  assert.equal(used, inUse, `${what}: in use`);
}

Deno.test("derive_tolerances: an unknown --mode is exit 2 naming the valid ones", async () => {
  const r = await runTool("derive_tolerances.ts", ["--mode", "layers"], ENV);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--mode layers: expected attention or layer/);
  assert.equal(r.stdout, "");
});

Deno.test("derive_tolerances: --seeds that is not a count, a bad filter and a selection of no case are exit 2, nothing printed", async () => {
  for (const seeds of ["abc", "0", "1.5", ""]) {
    const r = await runTool("derive_tolerances.ts", ["--seeds", seeds], ENV);
    assert.equal(r.code, 2, `--seeds ${seeds}: ${r.stderr}`);
    assert.ok(
      r.stderr.includes(`--seeds ${seeds}: expected a whole number of seeds, at least 1`),
      r.stderr,
    );
    assert.equal(r.stdout, "", "no table of no runs");
  }
  // a value that reads as an option, and an unknown option: the message and the usage
  for (const args of [["--seeds", "-2"], ["--sede", "2"]]) {
    const r = await runTool("derive_tolerances.ts", args, ENV);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /\nusage: deno run -A tools\/derive_tolerances\.ts /);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
  // --backend: a bundled backend only (a user module is not loaded here)
  const nope = await runTool("derive_tolerances.ts", ["--backend", "nope"], ENV);
  assert.equal(nope.code, 2, nope.stderr);
  assert.match(nope.stderr, /^--backend nope: expected a bundled backend \(.*wgsl-absorbed,/);
  assert.equal(nope.stdout, "");
  const bad = await runTool("derive_tolerances.ts", ["--filter", "dtype"], ENV);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^error: .*dtype/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, "no stack trace");
  assert.equal(bad.stdout, "");
  // the smoke matrix's V2-Lite layer cases, asked for in attention mode: none of them
  const none = await runTool(
    "derive_tolerances.ts",
    ["--filter", "preset=tiny;mode=layer", "--seeds", "1"],
    ENV,
  );
  assert.equal(none.code, 2, none.stderr);
  assert.match(
    none.stderr,
    /no supported attention \(mode=attention\) case in matrix smoke with filter preset=tiny;mode=layer \(\d+ selected\)/,
  );
  assert.equal(none.stdout, "");
});

gpuTest(
  "derive_tolerances --mode layer: one row per dtype and path under layerToleranceFor",
  async () => {
    const filter = "preset=tiny;path=absorbed;dtype=f32;layout=bshd;mode=layer";
    const r = await runTool(
      "derive_tolerances.ts",
      ["--mode", "layer", "--filter", filter, "--seeds", "1"],
      ENV,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^## The full layer\n/);
    assert.match(r.stdout, new RegExp(`--filter '${filter}' --mode layer --seeds 1\``));
    // a filtered run says what it covered: not every case of the matrix
    assert.ok(
      r.stdout.includes(
        `Every supported full-layer case of the \`smoke\` matrix selected by --filter '${filter}' ran`,
      ),
      r.stdout,
    );
    // a row per path: f16's have cells of their own (layerToleranceFor(dtype, path))
    const cells = row(r.stdout, "f32/absorbed");
    assert.equal(cells[1], "1", "one case x one seed");
    const t = layerToleranceFor("f32", "absorbed");
    checkColumn(cells, 2, t.out.atol, "out max abs");
    checkColumn(cells, 5, t.out.maxCosDiff, "out cos_diff");
    checkColumn(cells, 8, t.out.maxNormRel!, "out norm_rel");
    checkColumn(cells, 11, t.lse.atol, "LSE max abs");
    assert.doesNotMatch(r.stdout, /\| f32 \|/, "no row of both paths");
    assert.match(r.stdout, /\n- f32\/absorbed: out preset=tiny;/);
  },
);

gpuTest(
  "derive_tolerances --backend: the cases run on that backend, and the command says so",
  async () => {
    // each device class picks one kernel per case (lavapipe's cpu class: wgsl-absorbed-gemm for
    // these); the others are held to the same cell (docs/tolerances.md: session 62 measured
    // wgsl-absorbed so)
    // (f32: a fresh machine's GL fallback has no shader-f16, and the choice of kernel is the point)
    const filter = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
    const args = ["--filter", filter, "--seeds", "1", "--backend", "wgsl-absorbed"];
    const r = await runTool("derive_tolerances.ts", args, ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`--filter '${filter}' --backend wgsl-absorbed --seeds 1\``));
    const cells = row(r.stdout, "f32/absorbed");
    assert.equal(cells[1], "1", "one case x one seed");
    // a backend that refuses the case: skipped, not measured on another
    const refused = await runTool(
      "derive_tolerances.ts",
      ["--filter", filter, "--seeds", "1", "--backend", "wgsl-expanded"],
      ENV,
    );
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /none of the 1 case runs gave an output to measure/);
  },
);

/** A matrix of one tiny f32 case and one f16 case expected to run on a device without f16. */
const ONE_RUNS_ONE_REFUSED = {
  name: "one-refused",
  description: "one case that runs, one refused on its device",
  seed: 1,
  devices: { "no-f16": { removeFeatures: ["shader-f16"] } },
  groups: [
    {
      name: "runs",
      axes: {
        preset: "tiny",
        path: "absorbed",
        dtype: "f32",
        b: 2,
        sq: 1,
        sk: 20,
        layout: "bshd",
        causal: false,
      },
    },
    {
      name: "refused",
      axes: {
        preset: "tiny",
        path: "absorbed",
        dtype: "f16",
        b: 2,
        sq: 1,
        sk: 20,
        device: "no-f16",
      },
      expect: { support: "supported" },
    },
  ],
};

gpuTest(
  "derive_tolerances: the attention table's row of one case under toleranceFor; a skipped case run is listed, exit 1",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "derive_tolerances_" });
    try {
      const matrix = `${dir}/m.json`;
      await Deno.writeTextFile(matrix, JSON.stringify(ONE_RUNS_ONE_REFUSED));
      const r = await runTool("derive_tolerances.ts", ["--matrix", matrix, "--seeds", "1"], ENV);
      assert.match(r.stdout, /^# Parity tolerances: how they were derived\n/);
      // the backend it ran on, not always vulkan
      assert.match(
        r.stdout,
        new RegExp(
          `^Command: \`DENO_WEBGPU_BACKEND=${ENV.DENO_WEBGPU_BACKEND} deno run -A tools/derive_tolerances\\.ts --matrix `,
          "m",
        ),
      );
      const cells = row(r.stdout, "f32/absorbed");
      assert.equal(cells[1], "1", "one case x one seed");
      const t = toleranceFor("f32", "absorbed");
      checkColumn(cells, 2, t.out.atol, "out max abs");
      checkColumn(cells, 5, t.out.maxCosDiff, "out cos_diff");
      checkColumn(cells, 8, t.lse.atol, "LSE max abs");
      // the refused case: not "every supported case ran", but listed, and exit 1
      assert.doesNotMatch(r.stdout, /Every supported case/);
      assert.match(
        r.stdout,
        /\n1 of the 2 runs of the `[^`]*m\.json` matrix's supported cases under 1 input seed ran \(1 skipped, listed below\)/,
      );
      assert.match(
        r.stdout,
        /\nSkipped \(1 case runs, not in the table\):\n\n- preset=tiny;path=absorbed;dtype=f16;.*device=no-f16 \(seed 1000\): .*f16-unavailable/,
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /derive_tolerances: 1 of the 2 case runs skipped/);
      // only the refused case: no table of no runs
      const none = await runTool(
        "derive_tolerances.ts",
        ["--matrix", matrix, "--filter", "dtype=f16", "--seeds", "1"],
        ENV,
      );
      assert.equal(none.code, 1, none.stderr);
      assert.equal(none.stdout, "");
      assert.match(
        none.stderr,
        /derive_tolerances: none of the 1 case runs gave an output to measure/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("the GPU tools: an invalid MLA_HARNESS_* variable is one line naming the tool, exit 2; no adapter exit 3", async () => {
  const tools: [string, string[]][] = [
    ["derive_tolerances.ts", [
      "--filter",
      "preset=tiny-yarn;sq=1;dtype=f32;path=absorbed",
      "--seeds",
      "1",
    ]],
    ["layer_input_scale.ts", ["--preset", "tiny-yarn", "--uniform", "1"]],
    ["compile_time.ts", []],
    ["ab_kernels.ts", [
      "--case",
      "path=absorbed;sq=1;dtype=f32",
      "--matrix",
      "tiny",
      "a=absorbed_tiled.wgsl:kernels/absorbed_tiled.wgsl",
    ]],
  ];
  for (const [tool, args] of tools) {
    const r = await runTool(tool, args, { ...ENV, MLA_HARNESS_DEVICE_CLASS: "gpuu" });
    assert.equal(r.code, 2, `${tool}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^${tool.replace(".ts", "")}: MLA_HARNESS_DEVICE_CLASS: invalid environment variable\\n`,
      ),
    );
    assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at /, `${tool}: no stack trace`);
    assert.equal(r.stdout, "");
  }
  assert.deepEqual(gpuStartFailure("compile_time", new NoAdapterError("none", "fix")), {
    code: 3,
    line: "compile_time: no WebGPU adapter: none; fix",
  });
  assert.equal(gpuStartFailure("compile_time", new Error("device lost")), null);
});
