/**
 * wgsl-expanded's decode with a grid of one 16-head workgroup runs as two workgroups of 8
 * heads (adapter/backends.ts expandedHeadsPerTile): the rule on hand-worked layouts, the
 * second tile's heads against the float64 reference, and a planted fault that drops the
 * head tile's offset (every tile computes heads 0-7) caught by the same comparison.
 */
import assert from "node:assert/strict";
import { expandedHeadsPerTile } from "../adapter/backends.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { withParams } from "../adapter/spec.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { assertMatchesReference, checkAgainstReference, gpuTest, runCase } from "./gpu_helpers.ts";

const decode = (batch: number, seqQ = 1): LayoutRequest => ({
  kind: "bshd",
  batch,
  seqQ,
  seqK: 37,
  causal: true,
});

Deno.test("expanded head tiles: 8 only where 16-head tiles would make a one-workgroup decode", () => {
  const tile = (heads: number, l: LayoutRequest) => expandedHeadsPerTile(heads, normalizeLayout(l));
  assert.equal(tile(16, decode(1)), 8, "V2-Lite, b 1: two workgroups of 8");
  assert.equal(tile(12, decode(1)), 8, "12 heads round up to a 16-head tile: split too");
  assert.equal(tile(16, decode(2)), 16, "two sequences: two workgroups already");
  assert.equal(tile(16, decode(1, 2)), 16, "two queries (MTP): two query tiles");
  assert.equal(tile(16, decode(1, 4)), 16, "a prefill tile (4 queries) is never split");
  assert.equal(tile(64, decode(1)), 16, "64 heads: four workgroups of 16");
  assert.equal(tile(8, decode(1)), 8);
  assert.equal(tile(4, decode(1)), 8, "below 8 heads the tile stays one SIMD width");
  const thd = normalizeLayout({
    kind: "thd",
    cuSeqlensQ: [0, 1],
    cuSeqlensK: [0, 300],
    causal: true,
  });
  assert.equal(expandedHeadsPerTile(16, thd), 8, "one packed sequence, one query");
});

const SIXTEEN = withParams(presetSpec("tiny"), { numHeads: 16 });
const HEAD_OFFSET_DROPPED = (file: string, src: string) => {
  if (file !== "expanded.wgsl") return src;
  const pattern = "let head = htile * HEADS + lid;";
  assert.ok(src.includes(pattern), "the planted fault's pattern is in expanded.wgsl");
  return src.replace(pattern, "let head = lid;");
};

gpuTest("expanded head tiles: 16 heads at b 1 in two tiles of 8 match the reference", async () => {
  const c = { spec: SIXTEEN, dtype: "f32", backend: "wgsl-expanded", layout: decode(1) } as const;
  const run = await runCase(c);
  assert.equal(run.plan.variant.headsPerTile, 8);
  assert.equal(run.plan.variant.workgroupSize, 8);
  assertMatchesReference(run, "16 heads, tiles of 8");
  // The fault: the second workgroup recomputes heads 0-7 and heads 8-15 are never written.
  const broken = checkAgainstReference(await runCase(c, HEAD_OFFSET_DROPPED));
  assert.equal(broken.pass, false, "a dropped head-tile offset must fail parity");
});
