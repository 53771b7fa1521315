/**
 * A NaN the kernel writes outside the reference's row sample is compared anyway: the rows a
 * kernel wrote a non-finite value in join the sample (reference/sample_rows.ts
 * withNonFiniteRows), in `run` (a user backend that poisons one row, or never writes one: out
 * and lse start as NaN, kernels/attention.ts) and in `layer` (an f16
 * layer whose storage overflows: the reference, storing what f16 stores, is NaN there too,
 * which is refused as unchecked instead of passing as NaN matching NaN).
 */
import assert from "node:assert/strict";
import { withNonFiniteRows } from "../reference/sample_rows.ts";
import { currentBackend } from "../drift/device_key.ts";
import { gpuTest } from "./gpu_helpers.ts";
import { encodeSafetensors } from "../weights/safetensors.ts";
import { runCli, runTinyLayer } from "./helpers_cli.ts";

const VK = { DENO_WEBGPU_BACKEND: currentBackend() };

Deno.test("withNonFiniteRows adds the rows holding NaN or Inf (output, or NaN/+inf LSE), at most max", () => {
  const rows = 6;
  const out = new Float32Array(rows * 2);
  const lse = new Float32Array(rows);
  out[2 * 2 + 1] = NaN; // row 2
  lse[3] = -Infinity; // row 3 sees no key: -inf is its LSE, not poison
  lse[4] = NaN; // row 4: a NaN LSE is
  out[5 * 2] = Infinity; // row 5
  assert.deepEqual(withNonFiniteRows([0, 5], { out, lse, rows }), [0, 2, 4, 5]);
  assert.deepEqual(withNonFiniteRows([0], { out, lse, rows }, { max: 1 }), [0, 2]);
  assert.deepEqual(withNonFiniteRows([1, 3], { out: new Float32Array(12), lse, rows: 6 }), [
    1,
    3,
    4,
  ]);
  // rows that see no key do not use up the budget: a real NaN after them is still added
  const many = 100;
  const lse100 = new Float32Array(many).fill(0);
  for (let r = 1; r <= 20; r++) lse100[r] = -Infinity;
  const out100 = new Float32Array(many);
  out100[50] = NaN;
  assert.deepEqual(withNonFiniteRows([0, 99], { out: out100, lse: lse100, rows: many }), [
    0,
    50,
    99,
  ]);
});

/** The tiny 8-token prefill both user-backend cases run (wgsl-absorbed's device needs). */
const PREFILL_8 = {
  cases: [{
    spec: "tiny",
    dtype: "f32",
    backend: "wgsl-absorbed",
    layout: { kind: "bshd", batch: 1, seqQ: 8, seqK: 8, causal: true },
  }],
} as const;

/**
 * `run` of one 8-token tiny prefill on a fixture backend, with `--max-rows 2` (the sample is
 * each sequence's first and last row: 0 and 7): the exit code and its one result.
 */
async function runPrefill8(
  module: string,
  backend: string,
): Promise<{ code: number; log: string; res: Record<string, unknown> }> {
  const dir = await Deno.makeTempDir({ prefix: `mla-${backend}-` });
  try {
    const matrix = `${dir}/m.json`;
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({
        name: backend,
        seed: 1,
        groups: [{
          name: "one 8-token prefill",
          axes: {
            preset: "tiny",
            path: "absorbed",
            dtype: "f32",
            b: 1,
            sq: 8,
            sk: 8,
            layout: "bshd",
          },
        }],
      }),
    );
    const r = await runCli([
      ...["run", "--matrix", matrix, "--backend-module", module, "--backend", backend],
      ...["--max-rows", "2", "--repeats", "0", "--out", `${dir}/out`],
    ], VK);
    const [res] = (await Deno.readTextFile(`${dir}/out/results.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    return { code: r.code, log: r.stdout + r.stderr, res };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

gpuTest(
  "run: a NaN row outside the reference's sample fails the case (it passed unseen)",
  async () => {
    const { code, log, res } = await runPrefill8(
      "tests/fixtures/backends/naive_nan_row.ts",
      "naive-nan-row",
    );
    assert.equal(code, 1, log);
    assert.equal(res.status, "fail", JSON.stringify(res));
    assert.equal(res.rowsChecked, 3);
    assert.match(String(res.message), /non-?finite/i);
  },
  PREFILL_8,
);

gpuTest(
  "run: a row the kernel never wrote, outside the reference's sample, fails the case (its zeros passed unseen)",
  async () => {
    // row 3 is never written
    const { code, log, res } = await runPrefill8(
      "tests/fixtures/backends/naive_row_unwritten.ts",
      "naive-row-unwritten",
    );
    assert.equal(code, 1, log);
    assert.equal(res.status, "fail", JSON.stringify(res));
    assert.equal(res.rowsChecked, 3);
    assert.match(String(res.message), /nonfinite mismatches, first at \[3,0,0\] \(got NaN/);
    assert.match(String(res.message), /lse: .*first at \[3,0\] \(got NaN/);
  },
  PREFILL_8,
);

gpuTest(
  "layer --dtype f16: an input that overflows f16 inside the layer is exit 2, not a PASS of NaN against NaN",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-f16-overflow-" });
    try {
      // hidden_states [1, 4, 64] F32, token 1 all of +-6e4: within f16 (65504) as stored,
      // beyond it once projected (its sum over 64 columns)
      const x = new Float32Array(4 * 64).map((_, i) => Math.sin(i) * 0.5);
      for (let c = 0; c < 64; c++) x[64 + c] = 6e4;
      await Deno.writeFile(
        `${dir}/x.safetensors`,
        encodeSafetensors({ hidden_states: { dtype: "F32", shape: [1, 4, 64], data: x } }),
      );
      const r = await runTinyLayer(dir, ["--dtype", "f16"], VK);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /of token 1 is non-finite in the GPU's output and in the float64 reference, which stores what --dtype f16 stores: a value beyond f16's range/,
      );
      assert.doesNotMatch(r.stdout, /PASS/);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["x.safetensors"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  {
    cases: [{
      spec: "tiny",
      dtype: "f16",
      backend: "wgsl-absorbed",
      layout: { kind: "bshd", batch: 1, seqQ: 4, seqK: 4, causal: true },
    }],
  },
);
