/**
 * The subgroup variant of the tiled absorbed kernel, GPU-free: the source convention
 * (kernels/source.ts `// @enable-subgroups`, `// @sg:`, `// @nosg`), the specializations
 * `compile` lists, and the planning of backend wgsl-absorbed-tiled-sg (refused without
 * the feature or with a loop budget, never picked by `auto`). Its parity and planted
 * faults run in headless Chromium, whose SwiftShader has subgroups
 * (tests/browser_subgroups_test.ts).
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import { tiledShape, type TiledTier, tiledWorkgroupBytes } from "../adapter/tiled_plan.ts";
import { runAttention } from "../kernels/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";
import { presetSpec } from "../adapter/presets.ts";
import { withParams } from "../adapter/spec.ts";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import { sourceVariants } from "../kernels/compile_check.ts";
import { readKernelFile, specializeSource } from "../kernels/source.ts";
import { ALL_FAULTS, faultBackendOf, SUBGROUP_FAULTS } from "../parity/faults.ts";
import { H100_CAPS as H100, LAVAPIPE_CAPS as LAVAPIPE } from "./caps_fixtures.ts";

/** The H100's caps as a runtime that exposes subgroups (Chromium) would report them. */
const H100_SG: DeviceCaps = { ...H100, features: [...H100.features, "subgroups"] };
const HEADLINE: LayoutRequest = { kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true };
const v2lite = presetSpec("deepseek-v2-lite");

/** The lines of `src` that are code (not comments) and name a subgroup builtin. */
function subgroupCode(src: string): string[] {
  return src.split("\n").filter((l) => !l.trim().startsWith("//") && /subgroup/i.test(l));
}

Deno.test("specializeSource: subgroup lines in, their replacements out, line numbers kept", () => {
  const src = [
    "// @enable-f16",
    "// @enable-subgroups",
    "  let n = 1u; // @nosg",
    "  // @sg: let n = subgroupAdd(1u);",
  ].join("\n");
  const on = specializeSource(src, { dtype: "f32", subgroups: true }).split("\n");
  assert.deepEqual(on, [
    "// @enable-f16",
    "enable subgroups; diagnostic(off, subgroup_uniformity);",
    "//   let n = 1u; // @nosg",
    "  let n = subgroupAdd(1u);",
  ]);
  assert.equal(specializeSource(src, { dtype: "f32" }), src);
  assert.equal(specializeSource(src, { dtype: "f32", subgroups: false }), src);
  // With f16 both directives are in, each on its own line.
  const both = specializeSource(src, { dtype: "f16", subgroups: true }).split("\n");
  assert.deepEqual(both.slice(0, 2), [
    "enable f16;",
    "enable subgroups; diagnostic(off, subgroup_uniformity);",
  ]);
});

Deno.test("absorbed_tiled.wgsl: the plain source has no subgroup code, the variant swaps the score loop", async () => {
  const raw = await readKernelFile("absorbed_tiled.wgsl");
  const plain = specializeSource(raw, { dtype: "f32" });
  assert.deepEqual(subgroupCode(plain), []);
  const sg = specializeSource(raw, { dtype: "f32", subgroups: true });
  assert.equal(sg.split("\n").length, raw.split("\n").length);
  assert.match(sg, /^enable subgroups;/m);
  const code = subgroupCode(sg).join("\n");
  for (
    const needed of [
      "var<workgroup> sg_tickets: atomic<u32>",
      "subgroupElect()",
      "subgroupBroadcastFirst(ticket)",
      "subgroupAdd(1u)",
      "subgroupExclusiveAdd(1u)",
      "subgroupAdd(pair_score(p, qt, htile, sg_rank, sg_lanes))",
    ]
  ) assert.ok(code.includes(needed), `missing: ${needed}`);
  // The one-pair-per-invocation loop is out of the variant, and in the plain source.
  const perLane = /^\s*for \(var p = lid; p < PAIRS; p \+= WG\)/m;
  assert.match(plain, perLane);
  assert.doesNotMatch(sg, perLane);
  // f16 and subgroups together.
  const sg16 = specializeSource(raw, { dtype: "f16", subgroups: true });
  assert.match(sg16, /^enable f16;\nenable subgroups;/);
});

Deno.test("sourceVariants: a subgroup specialization only for files that have one, on devices that can", async () => {
  const tiled = await readKernelFile("absorbed_tiled.wgsl");
  const gemm = await readKernelFile("absorbed_gemm.wgsl");
  const labels = (raw: string, subgroups: boolean) =>
    sourceVariants(raw, ["f32", "f16"], { subgroups }).map((v) => v.label);
  assert.deepEqual(labels(tiled, true), ["f32", "f32, subgroups", "f16", "f16, subgroups"]);
  assert.deepEqual(labels(tiled, false), ["f32", "f16"]);
  assert.deepEqual(labels(gemm, true), [
    "f32",
    "f32, packed",
    "f32, ptex",
    "f16",
    "f16, packed",
    "f16, ptex",
  ]);
});

Deno.test("wgsl-absorbed-tiled-sg: the tiled plan with subgroups on a device that has them", () => {
  const r = resolve(
    { spec: v2lite, dtype: "f32", backend: "wgsl-absorbed-tiled-sg", layout: HEADLINE },
    H100_SG,
  );
  assert.equal(r.kind, "plan", JSON.stringify(r));
  if (r.kind !== "plan") return;
  const base = resolve(
    { spec: v2lite, dtype: "f32", backend: "wgsl-absorbed-tiled", layout: HEADLINE },
    H100_SG,
  );
  assert.equal(base.kind, "plan");
  if (base.kind !== "plan") return;
  assert.equal(r.variant.subgroups, true);
  assert.equal(base.variant.subgroups, undefined);
  assert.equal(r.variant.family, "absorbed-tiled-32k-sg");
  // Everything else is the tiled kernel's plan.
  const { family: _a, subgroups: _b, ...rest } = r.variant;
  const { family: _c, ...baseRest } = base.variant;
  assert.deepEqual(rest, baseRest);
});

Deno.test("wgsl-absorbed-tiled-sg: refused without the feature and under a loop budget, with reasons; auto never picks it", () => {
  const reasons = (caps: DeviceCaps) => {
    const r = resolve(
      { spec: v2lite, dtype: "f32", backend: "wgsl-absorbed-tiled-sg", layout: HEADLINE },
      caps,
    );
    return r.kind === "unsupported" ? r.reasons.map((x) => x.code) : [];
  };
  assert.deepEqual(reasons(H100), ["device.no-subgroups"]);
  // lavapipe: no subgroups, and a loop budget the variant's counts are not planned for.
  assert.deepEqual(reasons(LAVAPIPE), ["device.no-subgroups", "device.loop-budget"]);
  assert.deepEqual(reasons({ ...LAVAPIPE, features: [...LAVAPIPE.features, "subgroups"] }), [
    "device.loop-budget",
  ]);
  const auto = resolve({ spec: v2lite, dtype: "f32", backend: "auto", layout: HEADLINE }, H100_SG);
  assert.equal(auto.kind === "plan" && auto.backend, "wgsl-absorbed-tiled");
});

Deno.test("the subgroup faults are planted in wgsl-absorbed-tiled-sg and have their own ids", () => {
  assert.equal(SUBGROUP_FAULTS.length, 3);
  for (const f of SUBGROUP_FAULTS) {
    assert.equal(faultBackendOf(f, "absorbed"), "wgsl-absorbed-tiled-sg");
    assert.ok(ALL_FAULTS.includes(f));
  }
  const ids = ALL_FAULTS.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
});

Deno.test("run --backend wgsl-absorbed-tiled-sg under Deno: not covered for want of subgroups", async () => {
  const { runHarness } = await import("./browser_helpers.ts");
  const out = await Deno.makeTempDir({ prefix: "mla-sg-deno-" });
  try {
    const r = await runHarness([
      "run",
      "--backend",
      "wgsl-absorbed-tiled-sg",
      "--filter",
      "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=2",
      "--repeats",
      "0",
      "--out",
      out,
    ]);
    if (r.code === 3) return; // no WebGPU adapter at all: nothing to plan against
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The summary names the skips apart from the passes, and these as not covered (the
    // matrix expects them to run), as summary.md counts them: "2 skipped as expected" read as
    // a refusal the matrix foresaw.
    assert.match(
      r.stdout,
      /^2\/2 cases: 0 pass, 0 fail, 0 unexpected, 0 error, 2 not covered; reports in /m,
    );
    assert.match(r.stdout, /^not covered on this device: 2 cases \(2 × device\.no-subgroups: /m);
    // a device gap, said, not a failed run (a --backend refused for other reasons fails)
    assert.match(r.stderr, /warning: --backend wgsl-absorbed-tiled-sg ran none of the 2 case/);
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});

Deno.test("the subgroup variant has its counter instead of the partial scores in its workgroup bytes, and the sizing rule sees the difference", () => {
  const l = normalizeLayout(HEADLINE);
  const plain = tiledShape(v2lite, l, "f32", 32768);
  const sg = tiledShape(v2lite, l, "f32", 32768, { subgroups: true });
  assert.equal(plain.keysPerTile, 8);
  assert.equal(sg.keysPerTile, 8);
  // Partials: 8 keys x 256 invocations x 4 bytes; the counter: 4 bytes.
  assert.equal(tiledWorkgroupBytes(sg), tiledWorkgroupBytes(plain) - 8 * 256 * 4 + 4);
  // The sizing rule at a byte budget of exactly the subgroup 8-key tile's bytes (19268,
  // not a real tier): 8 keys with the counter, 4 with the partials.
  const tier = tiledWorkgroupBytes(sg) as TiledTier;
  assert.equal(tiledShape(v2lite, l, "f32", tier, { subgroups: true }).keysPerTile, 8);
  assert.equal(tiledShape(v2lite, l, "f32", tier).keysPerTile, 4);
});

gpuTest("runAttention refuses a subgroup plan on a device created without subgroups", async () => {
  const ctx = await gpu();
  if (ctx.hasFeature("subgroups")) return; // this device could run it (not Deno 2.9.6)
  const spec = presetSpec("tiny");
  const layout: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true };
  // A plan made for another device's caps, which has the feature.
  const plan = gpuPlanOf(
    resolve({ spec, dtype: "f32", backend: "wgsl-absorbed-tiled-sg", layout }, H100_SG),
  );
  const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
  await assert.rejects(
    () => runAttention(ctx, plan, { spec, inputs }),
    /plan variant uses subgroups: it needs a device created with the subgroups feature \(GpuContext\.create .*optionalFeatures/,
  );
});

Deno.test("the subgroup variant plans no case the plain tiled kernel refuses (why auto need not fall back to it)", () => {
  // Its check is wgsl-absorbed-tiled's plus the feature and no loop budget; only its
  // workgroup memory is smaller (one counter for the partial scores), and no shape here
  // turns that into a case only it takes (docs/architecture.md, auto's fallbacks).
  const small: DeviceCaps = {
    ...H100_SG,
    limits: { ...H100_SG.limits, maxComputeWorkgroupStorageSize: 16384 },
  };
  const onlySg: string[] = [];
  let sgPlans = 0;
  for (const name of ["tiny", "deepseek-v2-lite", "deepseek-v3"] as const) {
    for (const kvLoraRank of [presetSpec(name).kvLoraRank, 2048]) {
      const spec = withParams(presetSpec(name), { kvLoraRank });
      for (const caps of [H100_SG, small]) {
        for (const dtype of ["f32", "f16"] as const) {
          for (const [batch, seqQ, seqK] of [[1, 1, 64], [8, 4, 100000], [1, 256, 256]]) {
            const layout = { kind: "bshd", batch, seqQ, seqK, causal: true } as const;
            const at = (backend: string) => resolve({ spec, dtype, backend, layout }, caps).kind;
            if (at("wgsl-absorbed-tiled-sg") === "plan") sgPlans++;
            if (at("wgsl-absorbed-tiled-sg") === "plan" && at("wgsl-absorbed-tiled") !== "plan") {
              onlySg.push(`${name} ${kvLoraRank} ${dtype} ${batch}x${seqQ}x${seqK}`);
            }
          }
        }
      }
    }
  }
  assert.deepEqual(onlySg, []);
  assert.ok(sgPlans > 20, `${sgPlans} subgroup plans`);
});
