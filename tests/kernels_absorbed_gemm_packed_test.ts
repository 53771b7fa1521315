/**
 * wgsl-absorbed-gemm's packed f16 rows: the plan packs the latent cache two vec4s of halves
 * per rgba32uint texel where both passes can read them in pairs, cache_texture.wgsl packs
 * them, and the packed kernels match the float64 reference (including rows that share
 * texture rows). The absorbed query stays f32 (rgba32float, one vec4 a texel) in every
 * dtype: q_nope W_UK can pass f16's 65504 (tests/kernels_absorbed_f16_range_test.ts). Its planted faults are in parity/faults.ts
 * (`gemm-packed-*`, tests/faults_gemm_test.ts).
 */
import assert from "node:assert/strict";
import { gemmCacheTexture, packsF16Rows, texelBytes, texelVec4s } from "../adapter/gemm_plan.ts";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import { packedRows } from "../kernels/launch.ts";
import { specializeSource } from "../kernels/source.ts";
import {
  assertMatchesReference,
  assertSharedTextureRows,
  CAPS,
  gpuStep,
  gpuTest,
  runCase,
} from "./gpu_helpers.ts";
import { LAVAPIPE_CAPS as FIXTURE_CAPS } from "./caps_fixtures.ts";

const BACKEND = "wgsl-absorbed-gemm";

function planOf(preset: string, dtype: "f32" | "f16", layout: LayoutRequest, caps = FIXTURE_CAPS) {
  return gpuPlanOf(resolve({ spec: presetSpec(preset), dtype, layout, backend: BACKEND }, caps));
}

const DECODE = { kind: "bshd", batch: 2, seqQ: 1, seqK: 40, causal: true } as const;

Deno.test("packed rows: gemmCacheTexture packs f16 rows of an even width only", () => {
  assert.deepEqual(gemmCacheTexture(144, 4096, "f16", 8192, { packed: true }), {
    format: "rgba32uint",
    rowsPerTexelRow: 1,
    width: 72,
    height: 4096,
  });
  // Rows past the side share texture rows: 16500 rows, 3 per texture row of 3 x 72 texels.
  assert.deepEqual(gemmCacheTexture(144, 16500, "f16", 8192, { packed: true }), {
    format: "rgba32uint",
    rowsPerTexelRow: 3,
    width: 216,
    height: 5500,
  });
  // f32 rows, and f16 rows of an odd number of vec4s, are never packed.
  assert.equal(gemmCacheTexture(144, 10, "f32", 8192, { packed: true })?.format, "rgba32float");
  assert.equal(gemmCacheTexture(145, 10, "f16", 8192, { packed: true })?.format, "rgba16float");
  assert.equal(gemmCacheTexture(144, 10, "f16", 8192)?.format, "rgba16float");
  // The plans' one rule: f16, and every count walked in pairs even.
  assert.equal(packsF16Rows("f16", [144, 16]), true);
  assert.equal(packsF16Rows("f16", [144, 1]), false);
  assert.equal(packsF16Rows("f16", [6, 4, 4]), true);
  assert.equal(packsF16Rows("f32", [144, 16]), false);
  assert.equal(texelVec4s({ format: "rgba32uint" }), 2);
  assert.equal(texelVec4s({ format: "rgba16float" }), 1);
  assert.deepEqual(
    (["rgba32float", "rgba16float", "rgba32uint"] as const).map((format) => texelBytes({ format })),
    [16, 8, 16],
  );
});

Deno.test("packed rows: a launcher's CPT and switch come from the plan's formats; a mixed plan is refused", () => {
  const u = { format: "rgba32uint" } as const;
  const h = { format: "rgba16float" } as const;
  assert.deepEqual(packedRows("b", [u, u, u]), { CPT: 2, switches: ["packed"] });
  assert.deepEqual(packedRows("b", [h, { format: "rgba32float" }]), { CPT: 1, switches: [] });
  assert.deepEqual(packedRows("b", []), { CPT: 1, switches: [] });
  assert.throws(
    () => packedRows("wgsl-expanded-gemm", [u, h, u]),
    /^Error: wgsl-expanded-gemm: the plan's textures are rgba32uint, rgba16float, rgba32uint; all must be packed/,
  );
});

Deno.test("packed rows: the plan packs V2-Lite f16's cache (not its f32 query), not f32's or tiny f16's", () => {
  const f16 = planOf("deepseek-v2-lite", "f16", DECODE);
  const v = f16.variant;
  assert.equal(v.cacheTexture?.format, "rgba32uint");
  assert.equal(v.queryTexture?.format, "rgba32float");
  assert.equal(v.cacheTexture?.width, 72, "576 halves = 72 texels of 8");
  assert.equal(v.queryTexture?.width, 144, "576 f32 = 144 texels of 4");
  // The texture buffers are counted at 16 bytes a texel; q_absorbed at 4 bytes an element.
  const bytes = Object.fromEntries(f16.buffers.map((b) => [b.name, b.bytes]));
  assert.equal(bytes.cache_texture, 72 * 80 * 16);
  assert.equal(bytes.query_texture, 144 * 32 * 16);
  assert.equal(bytes.q_absorbed, 2 * 16 * 576 * 4);
  const f32 = planOf("deepseek-v2-lite", "f32", DECODE);
  assert.equal(f32.variant.cacheTexture?.format, "rgba32float");
  // tiny: 8 value vec4s, one per invocation: the values pass cannot take them in pairs.
  const tiny = planOf("tiny", "f16", DECODE);
  assert.equal(tiny.variant.columnsPerInvocation, 1);
  assert.equal(tiny.variant.cacheTexture?.format, "rgba16float");
});

Deno.test("packed rows: cache_texture.wgsl's packed switch writes rgba32uint texels of two vec4s", async () => {
  const raw = await Deno.readTextFile(new URL("../kernels/cache_texture.wgsl", import.meta.url));
  const code = (dtype: "f32" | "f16", switches: string[]) =>
    specializeSource(raw, { dtype, switches, params: { CPT: switches.length ? 2 : 1 } })
      .split("\n").filter((l) => !l.trimStart().startsWith("//"));
  const storage = (lines: string[]) =>
    lines.filter((l) => l.includes("texture_storage_2d")).map((l) => l.match(/<(\w+),/)?.[1]);
  assert.deepEqual(storage(code("f32", [])), ["rgba32float"]);
  assert.deepEqual(storage(code("f16", [])), ["rgba16float"]);
  assert.deepEqual(storage(code("f16", ["packed"])), ["rgba32uint"]);
  assert.ok(code("f16", ["packed"]).some((l) => l.includes("fn texel(i: u32) -> vec4<u32>")));
});

gpuTest(
  "packed rows: V2-Lite f16 decodes match the float64 reference (shared texture rows, THD)",
  async (t) => {
    if (CAPS === null) return;
    const spec = presetSpec("deepseek-v2-lite");
    // A 300-texel side: 20 x 16 = 320 cache rows of 72 texels and 20 x 16 heads = 320
    // (row, head) query rows of 144 (f32) texels share texture rows 2 to one.
    const narrow: DeviceCaps = {
      ...CAPS,
      limits: { ...CAPS.limits, maxTextureDimension2D: 300 },
    };
    const cases = [
      // (A plain V2-Lite f16 decode runs packed in the clean runs of the gemm-packed-*
      // faults and in tests/kernels_absorbed_gemm_test.ts.)
      {
        label: "b 20, 16 keys, 300-texel side",
        layout: { kind: "bshd", batch: 20, seqQ: 1, seqK: 16, causal: true } as const,
        caps: narrow,
        shared: { cache: 320, query: 320 },
      },
      {
        label: "THD of 7 and 300 keys, two queries each",
        layout: {
          kind: "thd",
          cuSeqlensQ: [0, 2, 4],
          cuSeqlensK: [0, 7, 307],
          causal: true,
        } as const,
        caps: CAPS,
        shared: null,
      },
    ];
    for (const c of cases) {
      const cs = { spec, dtype: "f16", backend: BACKEND, layout: c.layout, caps: c.caps } as const;
      await gpuStep(t, c.label, { cases: [cs], specs: [spec] }, async () => {
        const run = await runCase(cs);
        const v = run.plan.variant;
        assert.equal(v.cacheTexture?.format, "rgba32uint");
        assert.equal(v.queryTexture?.format, "rgba32float");
        if (c.shared) {
          assertSharedTextureRows(v.cacheTexture, c.shared.cache);
          assertSharedTextureRows(v.queryTexture, c.shared.query);
        }
        assertMatchesReference(run);
      });
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);
