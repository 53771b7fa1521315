/**
 * tools/kernel_variants.ts: every variant applies to the shipped kernel (each edit's
 * pattern is there) and changes it; a missing pattern is an error naming it; and on this
 * machine's adapter each variant computes what the shipped kernel computes, bit for bit,
 * so an A/B of the two (tools/gpu_machine_check.sh, step `ab`) times only the choice.
 */
import assert from "node:assert/strict";
import { runTool } from "./helpers_cli.ts";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { runAttention } from "../kernels/attention.ts";
import { readKernelFile } from "../kernels/source.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { applyVariant, KERNEL_VARIANTS } from "../tools/kernel_variants.ts";
import { variantMutation } from "../tools/ab_kernels.ts";
import { CAPS, gpu, gpuClassCaps, gpuTest, slowOnGlFallback } from "./gpu_helpers.ts";

Deno.test("every kernel variant applies to its shipped file and changes it", async () => {
  assert.deepEqual(KERNEL_VARIANTS.map((v) => v.name), [
    "noprefetch",
    "valuesrolled",
    "rolled",
    "rg1",
    "scorebatch",
    "fa2conflicts",
    "fa2rolled",
    "fa2forward",
    "fa2masked",
  ]);
  for (const v of KERNEL_VARIANTS) {
    const raw = await readKernelFile(v.file);
    const out = applyVariant(raw, v);
    assert.notEqual(out, raw, v.name);
    for (const e of v.edits) {
      if (e.replacement !== "" && !raw.includes(e.replacement)) {
        assert.ok(out.includes(e.replacement), `${v.name}: ${e.replacement}`);
      }
    }
  }
  assert.throws(
    () => applyVariant("const A = 1u;", { ...KERNEL_VARIANTS[0], file: "k.wgsl" }),
    /variant noprefetch: k.wgsl no longer holds " {2}var pre = fetch_tile/,
  );
});

Deno.test("kernel_variants DIR writes each variant and prints the ab_kernels line that times it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-variants-" });
  try {
    const r = await runTool("kernel_variants.ts", [dir]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, KERNEL_VARIANTS.length);
    for (const [i, v] of KERNEL_VARIANTS.entries()) {
      const path = `${dir}/${v.name}.wgsl`;
      assert.equal(
        await Deno.readTextFile(path),
        applyVariant(await readKernelFile(v.file), v),
        v.name,
      );
      // tools/gpu_machine_check.sh runs these lines as they are (with its permissions).
      assert.ok(lines[i].startsWith("deno run -A tools/ab_kernels.ts "), lines[i]);
      assert.ok(lines[i].endsWith(` ${v.name}=${v.file}:${path}`), lines[i]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kernel_variants DIR that is a file: one line naming it, exit 2, no stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-variants-" });
  try {
    await Deno.writeTextFile(`${dir}/taken`, "a file\n");
    const r = await runTool("kernel_variants.ts", [`${dir}/taken`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^kernel_variants: .*\/taken: cannot make the folder: /);
    assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at /);
    assert.equal(r.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The tiny case each variant's kernel runs in (several key tiles; two queries). */
const CASES: Record<string, { backend: string; layout: LayoutRequest }> = {
  "absorbed_tiled.wgsl": {
    backend: "wgsl-absorbed-tiled",
    // tiny stages 64 keys a tile: 300 keys are 5 tiles; 2 queries x 4 heads = 8 rows.
    layout: { kind: "bshd", batch: 2, seqQ: 2, seqK: 300, causal: true },
  },
  "expanded_fa2.wgsl": {
    backend: "wgsl-expanded-tiled",
    layout: { kind: "bshd", batch: 1, seqQ: 100, seqK: 100, causal: true },
  },
};

/**
 * Variants of a choice only gpu-class plans make: timed against a gpu-class plan (here the
 * adapter's caps as a GPU's), where the shipped kernel has its loops unrolled.
 */
const GPU_CLASS_VARIANTS = new Set(["valuesrolled", "rolled", "fa2rolled", "scorebatch"]);

/**
 * Variants whose choice tiny's widths never make, run on DeepSeek-V2-Lite instead: the
 * unrolled values of a whole tile need tiles of at most 16 keys (tiny's are 64), so on tiny
 * the variant would be the shipped kernel. V2-Lite at gpu class: 8-key tiles, MTP (two
 * queries: whole tiles for both, and the last one masked for query 0).
 */
const MODEL_CASES: Record<string, { preset: string; layout: LayoutRequest }> = {
  valuesrolled: {
    preset: "deepseek-v2-lite",
    layout: { kind: "bshd", batch: 1, seqQ: 2, seqK: 100, causal: true },
  },
};

gpuTest("each kernel variant computes the shipped kernel's outputs, bit for bit", async () => {
  for (const v of KERNEL_VARIANTS) {
    const model = MODEL_CASES[v.name];
    const spec = presetSpec(model?.preset ?? "tiny");
    const c = model ? { ...CASES[v.file], layout: model.layout } : CASES[v.file];
    const caps = GPU_CLASS_VARIANTS.has(v.name) ? gpuClassCaps(CAPS!) : CAPS!;
    const plan = gpuPlanOf(
      resolve({ spec, dtype: "f32", backend: c.backend, layout: c.layout }, caps),
    );
    if (GPU_CLASS_VARIANTS.has(v.name)) assert.equal(plan.variant.unrolledLoops, true, v.name);
    const inputs = makeAttentionInputs(spec, plan.layout, { seed: 3 });
    const ctx = await gpu();
    const shipped = (await runAttention(ctx, plan, { spec, inputs })).outputs;
    const text = applyVariant(await readKernelFile(v.file), v);
    const mutate = variantMutation(new Map([[v.file, text]]), "f32");
    const got = (await runAttention(ctx, plan, { spec, inputs, mutate })).outputs;
    assert.deepEqual(Array.from(got.out), Array.from(shipped.out), `${v.name}: out`);
    assert.deepEqual(Array.from(got.lse), Array.from(shipped.lse), `${v.name}: lse`);
  }
}, {
  skip: CAPS === null ? "no WebGPU adapter" : slowOnGlFallback(
    "the tiled kernels take 40 s to 4 min a case",
  ),
});
