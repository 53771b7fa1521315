/**
 * Input generators: shapes, padding poison, determinism, scales.
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import {
  makeAttentionInputs,
  makeHiddenStates,
  makeLayerWeights,
  paddingRows,
} from "../reference/inputs.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { countNaN } from "./reference_util.ts";

const std = (t: Float64Array) => {
  const m = t.reduce((s, v) => s + v, 0) / t.length;
  return Math.sqrt(t.reduce((s, v) => s + (v - m) ** 2, 0) / t.length);
};

Deno.test("inputs: shapes follow the spec and layout; padding rows are NaN", () => {
  const spec = presetSpec("tiny");
  const layout = normalizeLayout({
    kind: "thd",
    cuSeqlensQ: [0, 2, 5],
    cuSeqlensK: [0, 3, 9],
    cuSeqlensQPadded: [0, 3, 7],
    cuSeqlensKPadded: [0, 4, 10],
    causal: true,
  });
  const x = makeAttentionInputs(spec, layout, { seed: 1 });
  const [h, nope, rope, r] = [4, 16, 8, 32];
  assert.equal(x.qNope.length, 7 * h * nope);
  assert.equal(x.qPe.length, 7 * h * rope);
  assert.equal(x.latent.length, 10 * r);
  assert.equal(x.kPe.length, 10 * rope);
  assert.equal(x.wKvB.length, h * (nope + 16) * r);
  assert.deepEqual(paddingRows(7, layout.qRowOf), [2, 6]);
  assert.deepEqual(paddingRows(10, layout.kRowOf), [3]);
  for (const row of [2, 6]) {
    assert.equal(countNaN(x.qNope.subarray(row * h * nope, (row + 1) * h * nope)), h * nope);
    assert.equal(countNaN(x.qPe.subarray(row * h * rope, (row + 1) * h * rope)), h * rope);
  }
  assert.equal(countNaN(x.qNope), 2 * h * nope);
  assert.equal(countNaN(x.latent.subarray(3 * r, 4 * r)), r);
  assert.equal(countNaN(x.latent), r);
  assert.equal(countNaN(x.kPe), rope);
  assert.equal(countNaN(x.wKvB), 0);
  const clean = makeAttentionInputs(spec, layout, { seed: 1, poison: false });
  assert.equal(countNaN(clean.latent) + countNaN(clean.qNope), 0);
  assert.deepEqual(clean.latent.subarray(0, 3 * r), x.latent.subarray(0, 3 * r));
});

Deno.test("inputs: deterministic per seed; scales keep things O(1)", () => {
  const spec = presetSpec("tiny-yarn");
  const layout = normalizeLayout({ kind: "bshd", batch: 4, seqQ: 16, seqK: 16, causal: true });
  const a = makeAttentionInputs(spec, layout, { seed: 3 });
  const b = makeAttentionInputs(spec, layout, { seed: 3 });
  const c = makeAttentionInputs(spec, layout, { seed: 4 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.latent, c.latent);
  // Each tensor has its own stream: latent and kPe are not copies of each other.
  assert.notEqual(a.latent[0], a.kPe[0]);
  assert.ok(Math.abs(std(a.latent) - 1) < 0.1);
  assert.ok(Math.abs(std(a.qNope) - 1) < 0.1);
  // wKvB ~ N(0, 1/r): std 1/sqrt(32) = 0.177.
  assert.ok(Math.abs(std(a.wKvB) - 1 / Math.sqrt(32)) < 0.01);
});

Deno.test("inputs: layer weights per q path, ~1/sqrt(fan_in), norms near 1", () => {
  const direct = makeLayerWeights(presetSpec("tiny"), { seed: 1 });
  assert.equal(direct.qProj?.length, 4 * 24 * 64);
  assert.equal(direct.qAProj, undefined);
  const low = makeLayerWeights(presetSpec("tiny-yarn"), { seed: 1 });
  assert.equal(low.qProj, undefined);
  assert.equal(low.qAProj?.length, 24 * 64);
  assert.equal(low.qANorm?.length, 24);
  assert.equal(low.qBProj?.length, 4 * 24 * 24);
  assert.equal(low.kvAProj.length, (32 + 8) * 64);
  assert.equal(low.kvBProj.length, 4 * 32 * 32);
  assert.equal(low.oProj.length, 64 * 4 * 16);
  assert.ok(Math.abs(std(low.kvAProj) - 1 / 8) < 0.01, `${std(low.kvAProj)}`);
  assert.ok(Math.abs(std(low.oProj) - 1 / 8) < 0.01);
  assert.ok(low.kvANorm.every((v) => v > 0.5 && v < 1.5));
  const mean = low.kvANorm.reduce((s, v) => s + v, 0) / low.kvANorm.length;
  assert.ok(Math.abs(mean - 1) < 0.1);
  assert.deepEqual(makeLayerWeights(presetSpec("tiny-yarn"), { seed: 1 }), low);
});

Deno.test("inputs: hidden states, with padding rows poisoned when a layout is given", () => {
  const layout = normalizeLayout({
    kind: "thd",
    cuSeqlensQ: [0, 2, 4],
    cuSeqlensQPadded: [0, 3, 5],
    causal: true,
  });
  const x = makeHiddenStates(5, 8, { seed: 2, layout });
  assert.equal(x.length, 40);
  assert.equal(countNaN(x), 8);
  assert.equal(countNaN(x.subarray(16, 24)), 8);
  assert.equal(countNaN(makeHiddenStates(5, 8, { seed: 2 })), 0);
  assert.equal(countNaN(makeHiddenStates(5, 8, { seed: 2, layout, poison: false })), 0);
});

Deno.test("inputs: the numbers are those the committed baselines were made with (digests from before the fill loops were sped up)", async () => {
  // sha256 (16 hex digits) of each tensor's float64 bytes, computed with the generator of
  // 60d362a (one value at a time), before session 61 made its fill loops faster: a changed
  // number here changes every baseline's inputs.
  const d = (t: ArrayBufferView) => sha256Hex16(t);
  const a = makeAttentionInputs(
    presetSpec("tiny"),
    normalizeLayout({ kind: "bshd", batch: 2, seqQ: 2, seqK: 37, kvLens: [37, 20], causal: true }),
    { seed: 3141 },
  );
  assert.deepEqual(
    {
      qNope: await d(a.qNope),
      qPe: await d(a.qPe),
      latent: await d(a.latent),
      kPe: await d(a.kPe),
      wKvB: await d(a.wKvB),
    },
    {
      qNope: "af7c7e0ad40dbf29",
      qPe: "6d9744e18b2a3c6e",
      latent: "08cb22c015f9400c",
      kPe: "8a0c2b6fd482e93a",
      wKvB: "34e20237562de79a",
    },
  );
  const w = makeLayerWeights(presetSpec("tiny-yarn"), { seed: 77 });
  const got: Record<string, string> = {};
  for (const [k, v] of Object.entries(w)) got[k] = await d(v);
  assert.deepEqual(got, {
    qAProj: "0232db3929013fba",
    qANorm: "c1a30b30b3afad17",
    qBProj: "b378db4bd41f078a",
    kvAProj: "6db779a79bc7f7ee",
    kvANorm: "61bbad1bd2bb3e77",
    kvBProj: "7f696caf7562948c",
    oProj: "d532b51f9d67ec65",
  });
  assert.equal(await d(makeHiddenStates(5, 64, { seed: 4294967295 })), "e9842b3eb1f69078");
});

Deno.test("inputs: a hand-built spec the arrays cannot be sized by is a RangeError naming the field", () => {
  const tiny = presetSpec("tiny"); // direct q path
  const low = presetSpec("tiny-yarn"); // low-rank q path
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true });
  // Each of these returned arrays of another size than the spec says (0.5 rows of a latent
  // made 3 values), silently, or failed with "Invalid typed array length".
  const attentionCases: [Partial<typeof tiny>, RegExp][] = [
    [{ kvLoraRank: 0.5 }, /spec\.kvLoraRank must be a whole number >= 1, found 0\.5/],
    [{ numHeads: 0 }, /spec\.numHeads must be a whole number >= 1, found 0/],
    [{ qkNopeHeadDim: NaN }, /spec\.qkNopeHeadDim .* found NaN/],
    [{ vHeadDim: -1 }, /spec\.vHeadDim .* found -1/],
    [{ qkRopeHeadDim: 3 }, /spec\.qkRopeHeadDim must be even .* found 3/],
    [{ qkRopeHeadDim: 0 }, /spec\.qkRopeHeadDim must be a whole number >= 2, found 0/],
  ];
  for (const [edit, message] of attentionCases) {
    const spec = { ...tiny, ...edit };
    assert.throws(
      () => makeAttentionInputs(spec, layout, { seed: 1 }),
      (e: Error) =>
        e instanceof RangeError && /^makeAttentionInputs: /.test(e.message) &&
        message.test(e.message),
    );
    assert.throws(() => makeLayerWeights(spec, { seed: 1 }), message);
  }
  const layerCases: [typeof tiny, RegExp][] = [
    [{ ...tiny, hiddenSize: 1.5 }, /spec\.hiddenSize must be a whole number >= 1, found 1\.5/],
    [{ ...low, qLoraRank: 0 }, /spec\.qLoraRank must be a whole number >= 1, found 0/],
    [{ ...low, qLoraRank: undefined as unknown as null }, /spec\.qLoraRank .* found undefined/],
    // a rope width edited without kChannels sized q_proj by the old width
    [{ ...tiny, qkRopeHeadDim: tiny.qkRopeHeadDim + 2 }, /spec\.kChannels must be qkNopeHeadDim/],
  ];
  for (const [spec, message] of layerCases) {
    assert.throws(
      () => makeLayerWeights(spec, { seed: 1 }),
      (e: Error) =>
        e instanceof RangeError && /^makeLayerWeights: /.test(e.message) &&
        message.test(e.message),
    );
  }
});

Deno.test("inputs: a poison option, seed or options object of another type is a RangeError naming it and what is valid", () => {
  const spec = presetSpec("tiny");
  const layout = normalizeLayout({
    kind: "bshd",
    batch: 2,
    seqQ: 1,
    seqK: 4,
    kvLens: [4, 2],
    causal: true,
  });
  type Options = Parameters<typeof makeAttentionInputs>[2];
  const refused = (options: unknown, message: RegExp) =>
    assert.throws(
      () => makeAttentionInputs(spec, layout, options as Options),
      (e: Error) => e instanceof RangeError && message.test(e.message),
      JSON.stringify(options),
    );
  // poisonValue "x" wrote NaN where Infinity (or any number) was meant, silently
  refused(
    { seed: 1, poisonKeys: [0], poisonValue: "x" },
    /^makeAttentionInputs: poisonValue must be a number \(NaN, Infinity, -Infinity or any other\), found "x"$/,
  );
  // poison: "no" poisoned the padding rows (a non-empty string is true)
  for (const poison of ["no", "false", 0, null]) {
    refused(
      { seed: 1, poison },
      new RegExp(
        `^makeAttentionInputs: poison must be true, false or absent, found ${
          JSON.stringify(poison)
        }`,
      ),
    );
  }
  // poisonKeys: 3 poisoned nothing; "3" failed with "keys.map is not a function"
  for (const poisonKeys of [3, "3"]) {
    refused(
      { seed: 1, poisonKeys },
      new RegExp(
        `^makeAttentionInputs: poisonKeys must be an array of logical key indices .*found ${
          JSON.stringify(poisonKeys)
        }$`,
      ),
    );
  }
  // "poisonKeys: 1 is not a logical key" for the string "1", which looked like a valid key
  refused(
    { seed: 1, poisonKeys: ["1"] },
    /^makeAttentionInputs: poisonKeys: "1" is not a logical key of the layout \(valid: integers in \[0, 6\)\)$/,
  );
  // "seed must be a safe integer, got 1" for the string "1"
  refused({ seed: "1" }, /^makeAttentionInputs: seed must be a safe integer .*found "1"$/);
  // "Cannot destructure property 'seed' of 'options' as it is undefined"
  refused(undefined, /^makeAttentionInputs: options must be an object \{ seed, poison\?/);
  assert.throws(
    () => makeLayerWeights(spec, undefined as unknown as { seed: number }),
    /^RangeError: makeLayerWeights: options must be an object \{ seed \}, found undefined$/,
  );
  assert.throws(
    () => makeHiddenStates(2, 4, undefined as unknown as { seed: number }),
    /^RangeError: makeHiddenStates: options must be an object \{ seed, layout\?, poison\? \}/,
  );
  assert.throws(
    () => makeHiddenStates(8, 4, { seed: 1, layout, poison: "no" as unknown as boolean }),
    /^RangeError: makeHiddenStates: poison must be true, false or absent, found "no"/,
  );
  assert.throws(
    () => paddingRows(3, "01" as unknown as number[]),
    /^RangeError: paddingRows: used must be an array of buffer rows .*found "01"$/,
  );
  // what stays valid: poison false, any number as the poison value
  const clean = makeAttentionInputs(spec, layout, { seed: 1, poison: false });
  assert.equal(countNaN(clean.latent), 0);
  const inf = makeAttentionInputs(spec, layout, {
    seed: 1,
    poisonKeys: [1],
    poisonValue: -Infinity,
  });
  assert.equal(inf.kPe[spec.qkRopeHeadDim], -Infinity);
});
