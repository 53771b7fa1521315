/**
 * adapter/gemm_plan.ts: the absorbed gemm kernel's values-pass shape (output columns per
 * invocation, key splits), GPU-free; the kernel itself is checked against the float64
 * reference in tests/kernels_absorbed_gemm_test.ts.
 */
import assert from "node:assert/strict";
import {
  GEMM_MIN_KEYS_PER_VALUE_SPLIT,
  GEMM_VALUE_WORKGROUPS,
  GEMM_WORKGROUP_SIZE,
  gemmCacheTexture,
  gemmColumnsPerInvocation,
  gemmExpandedColumnsPerInvocation,
  gemmShape,
  gemmTexelsPerRow,
  gemmValueColumnGroups,
  gemmValueSplits,
} from "../adapter/gemm_plan.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { LAVAPIPE_CAPS } from "./caps_fixtures.ts";

const V2_LITE = { numHeads: 16, kvLoraRank: 512, qkRopeHeadDim: 64 };

function shapeOf(spec: typeof V2_LITE, layout: LayoutRequest) {
  return gemmShape(spec, normalizeLayout(layout));
}

Deno.test("gemm plan: the values pass's columns per invocation fill every lane, widest first", () => {
  // r = 512, 256, 128, 32, and widths where a wider block would leave lanes idle.
  const cases: Array<[number, number]> = [[128, 16], [64, 8], [32, 4], [8, 1], [48, 4], [20, 2], [
    6,
    1,
  ]];
  for (const [valueVec4, ev] of cases) {
    const got = gemmColumnsPerInvocation(valueVec4);
    assert.equal(got, ev, `valueVec4 ${valueVec4}`);
    assert.equal(valueVec4 % got, 0, `${got} divides ${valueVec4}`);
    if (valueVec4 >= GEMM_WORKGROUP_SIZE) {
      assert.ok(valueVec4 / got >= GEMM_WORKGROUP_SIZE, `every lane of a workgroup has columns`);
    }
  }
  // The expanded kernel keeps its 4 (its accumulators are c0..c3).
  assert.equal(gemmExpandedColumnsPerInvocation(32), 4);
  assert.equal(gemmExpandedColumnsPerInvocation(6), 2);
});

Deno.test("gemm plan: key splits fill the values grid, never under the minimum keys per split", () => {
  assert.equal(gemmValueSplits(4, 4096), 4);
  assert.equal(gemmValueSplits(1, 4096), GEMM_VALUE_WORKGROUPS);
  assert.equal(gemmValueSplits(1, 1000), 3); // floor(1000 / 256)
  assert.equal(gemmValueSplits(2, 300), 1);
  assert.equal(gemmValueSplits(64, 4096), 1); // the grid is full already
  assert.equal(gemmValueSplits(0, 0), 1);
  for (const wg of [1, 2, 3, 5, 8, 16, 17]) {
    for (const keys of [0, 255, 256, 511, 700, 4096, 100000]) {
      const s = gemmValueSplits(wg, keys);
      assert.ok(s >= 1);
      if (s > 1) {
        assert.ok(keys / s >= GEMM_MIN_KEYS_PER_VALUE_SPLIT, `${wg} wg, ${keys} keys: ${s}`);
        assert.ok(wg * (s - 1) < GEMM_VALUE_WORKGROUPS, `no more splits than the target needs`);
      }
    }
  }
});

Deno.test("gemm plan: V2-Lite decode and prefill shapes", () => {
  const decode4 = shapeOf(V2_LITE, { kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true });
  assert.equal(decode4.columnsPerInvocation, 16);
  assert.equal(decode4.valueSplits, 4);
  assert.equal(decode4.keysPerValueSplit, 1024);
  const decode1 = shapeOf(V2_LITE, { kind: "bshd", batch: 1, seqQ: 1, seqK: 4096, causal: true });
  assert.equal(decode1.valueSplits, 16);
  assert.equal(decode1.keysPerValueSplit, 256);
  // Splits cover every key in whole vec4s: 1100 keys, 275 vec4s, 4 splits of 69 vec4s.
  const odd = shapeOf(V2_LITE, { kind: "bshd", batch: 2, seqQ: 1, seqK: 1100, causal: true });
  assert.equal(odd.valueSplits, 4);
  assert.equal(odd.keysPerValueSplit, 276);
  assert.ok(odd.valueSplits * odd.keysPerValueSplit >= 1100);
  assert.equal(odd.keysPerValueSplit % 4, 0);
  // A prefill of 256 tokens fills the grid without splitting.
  const prefill = shapeOf(V2_LITE, {
    kind: "bshd",
    batch: 1,
    seqQ: 256,
    seqK: 256,
    causal: true,
  });
  assert.equal(prefill.valueSplits, 1);
  assert.equal(prefill.keysPerValueSplit, 256);
  // 128 heads: 8 head tiles x 4 tokens = 32 workgroups, no split.
  const v3 = shapeOf({ ...V2_LITE, numHeads: 128 }, {
    kind: "bshd",
    batch: 4,
    seqQ: 1,
    seqK: 4096,
    causal: true,
  });
  assert.equal(v3.valueSplits, 1);
});

Deno.test("gemm values pass: workgroups along x cover every output vec4 block once", () => {
  for (
    const [vec4s, ev, wg] of [[128, 16, 8], [128, 4, 8], [64, 8, 8], [8, 1, 8], [6, 2, 8], [
      33,
      1,
      8,
    ]]
  ) {
    const groups = gemmValueColumnGroups(vec4s, ev, wg);
    const blocks = Math.ceil(vec4s / ev);
    // enough lanes for every block, and no whole workgroup past the last one
    assert.ok(
      groups * wg >= blocks && (groups - 1) * wg < blocks,
      `${vec4s}/${ev}/${wg}: ${groups}`,
    );
  }
});

Deno.test("gemm cache texture: one texel per vec4, rows share a texture row past the side limit", () => {
  // V2-Lite widths (144 vec4s per row), 8192 texels a side.
  assert.deepEqual(gemmCacheTexture(144, 4 * 4096, "f32", 8192), {
    format: "rgba32float",
    rowsPerTexelRow: 2,
    width: 288,
    height: 8192,
  });
  assert.deepEqual(gemmCacheTexture(144, 4096, "f16", 8192), {
    format: "rgba16float",
    rowsPerTexelRow: 1,
    width: 144,
    height: 4096,
  });
  // 8193 rows: 2 per texture row, the last texture row half used.
  assert.deepEqual(gemmCacheTexture(144, 8193, "f32", 8192)?.height, 4097);
  // An empty cache still gets a 1-texel-high texture (WebGPU has no empty texture).
  assert.equal(gemmCacheTexture(12, 0, "f32")?.height, 1);
  // Largest that fits at 8192: 56 rows per texture row (56 x 144 = 8064 texels wide).
  assert.equal(gemmCacheTexture(144, 56 * 8192, "f32", 8192)?.rowsPerTexelRow, 56);
  assert.equal(gemmCacheTexture(144, 56 * 8192 + 1, "f32", 8192), null);
});

/**
 * The `limits.texture-size` messages of a wgsl-absorbed-gemm decode of `seqK` keys on
 * lavapipe's caps with textures of `side` texels a side (asserting the plan is unsupported).
 */
function textureSizeMessages(preset: string, dtype: "f32" | "f16", seqK: number, side: number) {
  const layout = { kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true } as const;
  const caps = {
    ...LAVAPIPE_CAPS,
    limits: { ...LAVAPIPE_CAPS.limits, maxTextureDimension2D: side },
  };
  const spec = presetSpec(preset);
  const r = resolve({ spec, dtype, backend: "wgsl-absorbed-gemm", layout }, caps);
  assert.equal(r.kind, "unsupported", JSON.stringify(r));
  return r.kind === "unsupported"
    ? r.reasons.filter((x) => x.code === "limits.texture-size").map((x) => x.message)
    : [];
}

Deno.test("gemm cache texture: a cache no texture holds is unsupported, naming the limit", () => {
  // 600 rows of (r + rope) / 4 texels: no texture of 8 texels a side holds them.
  const spec = presetSpec("tiny");
  const texels = (spec.kvLoraRank + spec.qkRopeHeadDim) / 4;
  const messages = textureSizeMessages("tiny", "f32", 600, 8);
  assert.ok(
    messages.some((m) =>
      m.includes(`600 rows of ${texels} texels do not fit`) &&
      m.includes("maxTextureDimension2D 8 ")
    ),
    messages.join("\n"),
  );
});

Deno.test("gemm cache texture: a packed f16 row too wide names its texels, not its vec4s", () => {
  // V2-Lite f16 packs its 144-vec4 rows into 72 texels: a 64-texel side holds neither.
  const messages = textureSizeMessages("deepseek-v2-lite", "f16", 64, 64);
  assert.ok(
    messages.some((m) => m.includes("64 rows of 72 texels (144 vec4s of halves, two per texel)")),
    messages.join("\n"),
  );
  assert.equal(gemmTexelsPerRow(144, "f16", { packed: true }), 72);
  assert.equal(gemmTexelsPerRow(144, "f16"), 144);
  assert.equal(gemmTexelsPerRow(143, "f16", { packed: true }), 143);
});
