/**
 * Attention references: dense (expanded) vs absorbed agreement over presets and
 * layouts, and hand-computed cases for the scale, LSE, positions, causal
 * bottom-right alignment, packed-sequence isolation, pairing and NaN poison.
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { buildSpec, withParams } from "../adapter/spec.ts";
import { loadSpec } from "../adapter/source.ts";
import type {
  AttentionInputs,
  LayoutRequest,
  MlaSpec,
  NormalizedLayout,
} from "../adapter/types.ts";
import { absorbedAttention, attention, denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { assertAllClose, countNaN, maxAbsDiff } from "./reference_util.ts";

const PATHS = [["dense", denseAttention], ["absorbed", absorbedAttention]] as const;

const LAYOUTS: [string, LayoutRequest][] = [
  ["bshd prefill causal", { kind: "bshd", batch: 2, seqQ: 5, seqK: 5, causal: true }],
  ["bshd prefill", { kind: "bshd", batch: 2, seqQ: 5, seqK: 5, causal: false }],
  ["sbhd prefill causal", { kind: "sbhd", batch: 3, seqQ: 4, seqK: 4, causal: true }],
  ["sbhd prefill", { kind: "sbhd", batch: 3, seqQ: 4, seqK: 4, causal: false }],
  ...[1, 2, 3, 4].flatMap((seqQ): [string, LayoutRequest][] =>
    [true, false].map((causal) => [
      `bshd decode sq=${seqQ} causal=${causal}`,
      { kind: "bshd", batch: 3, seqQ, seqK: 9, kvLens: [9, 2, 0], causal },
    ])
  ),
  ["sbhd decode sq=2", { kind: "sbhd", batch: 2, seqQ: 2, seqK: 7, kvLens: [6, 3], causal: true }],
  ["thd prefill causal", { kind: "thd", cuSeqlensQ: [0, 3, 7], causal: true }],
  ...[true, false].map((causal): [string, LayoutRequest] => [
    `thd with an empty key sequence causal=${causal}`,
    { kind: "thd", cuSeqlensQ: [0, 3, 5, 9], cuSeqlensK: [0, 4, 4, 10], causal },
  ]),
  ["thd padded causal", {
    kind: "thd",
    cuSeqlensQ: [0, 3, 5, 9],
    cuSeqlensK: [0, 4, 4, 10],
    cuSeqlensQPadded: [0, 4, 7, 12],
    cuSeqlensKPadded: [0, 5, 6, 12],
    causal: true,
  }],
];

/** Queries that see no key, by the layout's own description (kLen and bottom-right offset). */
function emptyRows(layout: NormalizedLayout): Set<number> {
  const out = new Set<number>();
  for (const s of layout.seqs) {
    for (let i = 0; i < s.qLen; i++) {
      const seen = layout.causal ? Math.min(s.kLen, Math.max(0, i + s.causalOffset + 1)) : s.kLen;
      if (seen === 0) out.add(s.qStart + i);
    }
  }
  return out;
}

/**
 * nope + v = 11 rows per head: the dense reference expands K/V four rows at a time, so this
 * spec also runs its 3-row tail (the presets' widths are multiples of 4).
 */
function oddWidthSpec(): MlaSpec {
  return buildSpec({
    hiddenSize: 16,
    numHeads: 3,
    qLoraRank: null,
    kvLoraRank: 7,
    qkNopeHeadDim: 5,
    qkRopeHeadDim: 4,
    vHeadDim: 6,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    yarn: null,
    ropePairing: "neox",
  }, { name: "odd-widths", source: "preset" });
}

const AGREEMENT_SPECS: [string, () => MlaSpec][] = [
  ["tiny", () => presetSpec("tiny")],
  ["tiny-yarn", () => presetSpec("tiny-yarn")],
  ["odd widths: nope 5, v 6, r 7", oddWidthSpec],
];

for (const [name, specOf] of AGREEMENT_SPECS) {
  Deno.test(`attention: dense and absorbed agree to 1e-12 over layouts (${name})`, () => {
    const spec = specOf();
    const h = spec.numHeads;
    const dv = spec.vHeadDim;
    let emptySeen = 0;
    LAYOUTS.forEach(([name, req], i) => {
      const layout = normalizeLayout(req);
      const inputs = makeAttentionInputs(spec, layout, { seed: 100 + i });
      const d = denseAttention(spec, layout, { inputs });
      const a = absorbedAttention(spec, layout, { inputs });
      assertAllClose(a.out, d.out, { what: `${name} out` });
      assertAllClose(a.lse, d.lse, { what: `${name} lse` });
      assert.equal(countNaN(d.out) + countNaN(d.lse), 0, `${name}: NaN reached the outputs`);
      const empty = emptyRows(layout);
      emptySeen += empty.size;
      for (let q = 0; q < layout.totalQ; q++) {
        for (let hd = 0; hd < h; hd++) {
          const l = d.lse[q * h + hd];
          if (empty.has(q)) {
            assert.equal(l, -Infinity, `${name}: q ${q} sees nothing`);
            assert.ok(
              d.out.subarray((q * h + hd) * dv, (q * h + hd + 1) * dv).every((v) => v === 0),
            );
          } else {
            assert.ok(Number.isFinite(l), `${name}: q ${q} lse ${l}`);
          }
        }
      }
    });
    assert.ok(emptySeen > 0, "the matrix covers queries that see no key");
  });
}

/** A 1-head spec with r = nope = rope = v = 2: k_channels 4, scale 1/2, invFreq [1]. */
function unitSpec(): MlaSpec {
  return buildSpec({
    hiddenSize: 8,
    numHeads: 1,
    qLoraRank: null,
    kvLoraRank: 2,
    qkNopeHeadDim: 2,
    qkRopeHeadDim: 2,
    vHeadDim: 2,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    yarn: null,
    ropePairing: "interleaved",
  }, { name: "unit", source: "preset" });
}

/** W_UK = W_UV = I (2x2): k_nope = v = c. */
const IDENTITY_WKVB = new Float64Array([1, 0, 0, 1, 1, 0, 0, 1]);

function near(actual: number, expected: number, what: string, tol = 1e-15): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

Deno.test("attention: hand-computed 1 key: the output is that key's value, the LSE its scaled score", () => {
  const spec = unitSpec();
  // One query and one key at position 0 (RoPE is the identity there); W_UK = W_UV = I.
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 1, causal: true });
  const inputs: AttentionInputs = {
    qNope: new Float64Array([3, -1]),
    qPe: new Float64Array([1, 2]),
    latent: new Float64Array([0.5, 2]), // c0: k_nope = v = c0
    kPe: new Float64Array([4, -3]),
    wKvB: IDENTITY_WKVB,
  };
  // softmax of one score is 1: out = v = c0 exactly.
  // score = s (q_nope . c0 + q_pe . k_pe) = 0.5 * ((1.5 - 2) + (4 - 6)) = -1.25 = lse.
  for (const [name, fn] of PATHS) {
    for (const storedAs of [undefined, "f32", "f16"] as const) {
      const { out, lse } = fn(spec, layout, { inputs, storedAs });
      assert.deepEqual([...out], [0.5, 2], `${name} ${storedAs} out`);
      assert.equal(lse[0], -1.25, `${name} ${storedAs} lse`);
    }
  }
});

Deno.test("attention: hand-computed 2-key softmax checks the scale and the LSE", () => {
  const spec = unitSpec();
  assert.equal(spec.softmaxScale, 0.5);
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 2, causal: false });
  const inputs: AttentionInputs = {
    qNope: new Float64Array([2, 0]),
    qPe: new Float64Array([0, 0]),
    latent: new Float64Array([1, 0, 0, 1]), // c0 = e0, c1 = e1
    kPe: new Float64Array([0, 0, 0, 0]),
    wKvB: IDENTITY_WKVB,
  };
  // raw dots 2 and 0, scaled by 1/2: scores 1 and 0.
  // p0 = e / (1 + e) = 0.7310585786300049, out = p0 c0 + p1 c1, lse = ln(1 + e).
  // (Without the scale p0 would be e^2 / (1 + e^2) = 0.8808.)
  for (const [name, fn] of PATHS) {
    const { out, lse } = fn(spec, layout, { inputs });
    near(out[0], 0.7310585786300049, `${name} out[0]`);
    near(out[1], 0.2689414213699951, `${name} out[1]`);
    near(lse[0], 1.3132616875182228, `${name} lse`);
  }
});

Deno.test("attention: hand-computed decode uses the bottom-right query position", () => {
  const spec = unitSpec();
  // Decode: 1 query against 2 cached keys; the query sits at position 1, keys at 0 and 1.
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 2, causal: true });
  assert.deepEqual(layout.qPositions, [1]);
  const inputs: AttentionInputs = {
    qNope: new Float64Array([0, 0]),
    qPe: new Float64Array([1, 0]),
    latent: new Float64Array([1, 0, 0, 1]),
    kPe: new Float64Array([1, 0, 1, 0]),
    wKvB: IDENTITY_WKVB,
  };
  // rope(q_pe) = (cos 1, sin 1); rope(k0) = (1, 0); rope(k1) = (cos 1, sin 1).
  // scores: 0.5 cos 1 = 0.2701511529340699 and 0.5 * 1.
  for (const [name, fn] of PATHS) {
    const { out, lse } = fn(spec, layout, { inputs });
    near(out[0], 0.4427894385815368, `${name} out[0]`);
    near(out[1], 0.5572105614184631, `${name} out[1]`);
    near(lse[0], 1.0848120828080525, `${name} lse`);
  }
});

Deno.test("attention: causal is bottom-right: query i sees exactly keys j <= i + kLen - qLen", () => {
  const spec = presetSpec("tiny");
  const qLen = 3;
  const kLen = 5;
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: qLen, seqK: kLen, causal: true });
  const base = makeAttentionInputs(spec, layout, { seed: 5 });
  const bottomRight: boolean[][] = [];
  const topLeft: boolean[][] = [];
  for (let i = 0; i < qLen; i++) {
    bottomRight.push(Array.from({ length: kLen }, (_, j) => j <= i + kLen - qLen));
    topLeft.push(Array.from({ length: kLen }, (_, j) => j <= i));
  }
  for (const tensor of ["latent", "kPe"] as const) {
    for (const [name, fn] of PATHS) {
      const seen: boolean[][] = Array.from({ length: qLen }, () => []);
      for (let j = 0; j < kLen; j++) {
        // Poison key j: exactly the queries that read it turn NaN.
        const width = tensor === "latent" ? spec.kvLoraRank : spec.qkRopeHeadDim;
        const t = Float64Array.from(base[tensor]);
        t.fill(NaN, j * width, (j + 1) * width);
        const { out } = fn(spec, layout, { inputs: { ...base, [tensor]: t } });
        const w = spec.numHeads * spec.vHeadDim;
        for (let i = 0; i < qLen; i++) seen[i][j] = countNaN(out.subarray(i * w, (i + 1) * w)) > 0;
      }
      assert.deepEqual(seen, bottomRight, `${name} via ${tensor}`);
      assert.notDeepEqual(seen, topLeft);
    }
  }
});

Deno.test("attention: packed sequences are isolated", () => {
  const spec = presetSpec("tiny-yarn");
  for (const causal of [true, false]) {
    const layout = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 3, 7], causal });
    const inputs = makeAttentionInputs(spec, layout, { seed: 11 });
    const w = spec.numHeads * spec.vHeadDim;
    for (const [name, fn] of PATHS) {
      const ref = fn(spec, layout, { inputs });
      // Change key 4 (sequence 1): sequence 0's outputs are bit-identical, sequence 1's move.
      const latent = Float64Array.from(inputs.latent);
      const kPe = Float64Array.from(inputs.kPe);
      for (let c = 0; c < spec.kvLoraRank; c++) latent[4 * spec.kvLoraRank + c] += 1;
      for (let e = 0; e < spec.qkRopeHeadDim; e++) kPe[4 * spec.qkRopeHeadDim + e] *= -1;
      const moved = fn(spec, layout, { inputs: { ...inputs, latent, kPe } });
      assert.deepEqual(moved.out.subarray(0, 3 * w), ref.out.subarray(0, 3 * w), name);
      assert.deepEqual(moved.lse.subarray(0, 3 * 4), ref.lse.subarray(0, 3 * 4), name);
      assert.ok(maxAbsDiff(moved.out.subarray(6 * w), ref.out.subarray(6 * w)) > 1e-3, name);
      // NaN in sequence 1 never reaches sequence 0.
      const poisoned = Float64Array.from(inputs.latent).fill(NaN, 3 * 32, 7 * 32);
      const p = fn(spec, layout, { inputs: { ...inputs, latent: poisoned } });
      assert.equal(countNaN(p.out.subarray(0, 3 * w)), 0, name);
      assert.equal(countNaN(p.out.subarray(3 * w)), 4 * w, name);
    }
  }
});

Deno.test("attention: thd positions restart: sequence 1 equals that sequence alone in bshd", () => {
  const spec = presetSpec("tiny-yarn");
  const h = spec.numHeads;
  const thd = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 3, 7], causal: true });
  const alone = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 4, seqK: 4, causal: true });
  const inputs = makeAttentionInputs(spec, thd, { seed: 21 });
  const rows = (t: Float64Array | Float32Array, width: number) =>
    Float64Array.from(t.subarray(3 * width, 7 * width));
  const single: AttentionInputs = {
    qNope: rows(inputs.qNope, h * spec.qkNopeHeadDim),
    qPe: rows(inputs.qPe, h * spec.qkRopeHeadDim),
    latent: rows(inputs.latent, spec.kvLoraRank),
    kPe: rows(inputs.kPe, spec.qkRopeHeadDim),
    wKvB: inputs.wKvB,
  };
  const w = h * spec.vHeadDim;
  for (const [name, fn] of PATHS) {
    const a = fn(spec, thd, { inputs });
    const b = fn(spec, alone, { inputs: single });
    assert.deepEqual(a.out.subarray(3 * w), b.out, name);
    assert.deepEqual(a.lse.subarray(3 * h), b.lse, name);
  }
});

Deno.test("attention: sbhd and bshd give the same outputs for the same tokens", () => {
  const spec = presetSpec("tiny");
  const batch = 2;
  const seq = 3;
  const bs = normalizeLayout({ kind: "bshd", batch, seqQ: seq, seqK: seq, causal: true });
  const sb = normalizeLayout({ kind: "sbhd", batch, seqQ: seq, seqK: seq, causal: true });
  const inputs = makeAttentionInputs(spec, bs, { seed: 31 });
  // bshd row b*seq + t  ->  sbhd row t*batch + b
  const permute = (t: Float64Array | Float32Array, width: number) => {
    const out = new Float64Array(t.length);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < seq; i++) {
        out.set(
          t.subarray((b * seq + i) * width, (b * seq + i + 1) * width),
          (i * batch + b) * width,
        );
      }
    }
    return out;
  };
  const h = spec.numHeads;
  const sbInputs: AttentionInputs = {
    qNope: permute(inputs.qNope, h * spec.qkNopeHeadDim),
    qPe: permute(inputs.qPe, h * spec.qkRopeHeadDim),
    latent: permute(inputs.latent, spec.kvLoraRank),
    kPe: permute(inputs.kPe, spec.qkRopeHeadDim),
    wKvB: inputs.wKvB,
  };
  for (const [name, fn] of PATHS) {
    // Outputs are in logical order (sequence-major) for both layouts.
    assert.deepEqual(fn(spec, sb, { inputs: sbInputs }).out, fn(spec, bs, { inputs }).out, name);
  }
});

Deno.test("attention: NeoX and interleaved pairing give different outputs", () => {
  const inter = presetSpec("tiny");
  const neox = withParams(inter, { ropePairing: "neox" });
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 6, seqK: 6, causal: true });
  const inputs = makeAttentionInputs(inter, layout, { seed: 41 });
  for (const [name, fn] of PATHS) {
    const a = fn(inter, layout, { inputs });
    const b = fn(neox, layout, { inputs });
    assert.ok(maxAbsDiff(a.out, b.out) > 1e-3, name);
  }
});

Deno.test("attention: NaN-poisoned padding rows never reach the outputs", () => {
  const spec = presetSpec("tiny");
  const cases: LayoutRequest[] = [
    { kind: "bshd", batch: 3, seqQ: 2, seqK: 8, kvLens: [8, 3, 5], causal: true },
    { kind: "sbhd", batch: 2, seqQ: 1, seqK: 8, kvLens: [2, 7], causal: false },
    {
      kind: "thd",
      cuSeqlensQ: [0, 2, 5],
      cuSeqlensK: [0, 4, 9],
      cuSeqlensQPadded: [0, 3, 8],
      cuSeqlensKPadded: [0, 6, 12],
      causal: true,
    },
  ];
  for (const req of cases) {
    const layout = normalizeLayout(req);
    const inputs = makeAttentionInputs(spec, layout, { seed: 51 });
    const padK = layout.kRows - layout.totalK;
    const padQ = layout.qRows - layout.totalQ;
    assert.ok(padK > 0, "the case has key padding");
    assert.equal(countNaN(inputs.latent), padK * spec.kvLoraRank);
    assert.equal(countNaN(inputs.kPe), padK * spec.qkRopeHeadDim);
    assert.equal(countNaN(inputs.qNope), padQ * spec.numHeads * spec.qkNopeHeadDim);
    for (const [name, fn] of PATHS) {
      const { out, lse } = fn(spec, layout, { inputs });
      assert.equal(countNaN(out) + countNaN(lse), 0, `${req.kind} ${name}`);
    }
  }
});

Deno.test("attention: queries that see no key give 0 and LSE -Infinity", () => {
  const spec = presetSpec("tiny");
  const h = spec.numHeads;
  const w = h * spec.vHeadDim;
  // Sequence 1 has an empty cache; in sequence 0 (kLen 1, qLen 3) queries 0 and 1 see nothing.
  const layout = normalizeLayout({
    kind: "bshd",
    batch: 2,
    seqQ: 3,
    seqK: 4,
    kvLens: [1, 0],
    causal: true,
  });
  const inputs = makeAttentionInputs(spec, layout, { seed: 61 });
  for (const [name, fn] of PATHS) {
    const { out, lse } = fn(spec, layout, { inputs });
    for (const q of [0, 1, 3, 4, 5]) {
      assert.ok(out.subarray(q * w, (q + 1) * w).every((v) => v === 0), `${name} q ${q}`);
      assert.ok(lse.subarray(q * h, (q + 1) * h).every((v) => v === -Infinity), `${name} q ${q}`);
    }
    // Query 2 sees key 0 only: the output is that key's value, the LSE its score.
    assert.ok(lse.subarray(2 * h, 3 * h).every(Number.isFinite));
    assert.ok(out.subarray(2 * w, 3 * w).some((v) => v !== 0));
  }
});

Deno.test("attention: rows computes only the requested queries; bad inputs throw", () => {
  const spec = presetSpec("tiny-yarn");
  const layout = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 4, 9], causal: true });
  const inputs = makeAttentionInputs(spec, layout, { seed: 71 });
  const w = spec.numHeads * spec.vHeadDim;
  for (const path of ["expanded", "absorbed"] as const) {
    const full = attention(spec, layout, { inputs, path });
    const part = attention(spec, layout, { inputs, path, rows: [8, 0, 5, 5] });
    for (let q = 0; q < 9; q++) {
      const got = part.out.subarray(q * w, (q + 1) * w);
      if ([0, 5, 8].includes(q)) assert.deepEqual(got, full.out.subarray(q * w, (q + 1) * w));
      else assert.equal(countNaN(got), w);
    }
    assert.throws(() => attention(spec, layout, { inputs, path, rows: [9] }), RangeError);
  }
  assert.throws(
    () => denseAttention(spec, layout, { inputs: { ...inputs, kPe: new Float64Array(3) } }),
    /kPe has 3 values/,
  );
});

Deno.test("attention: a path or storedAs of another spelling is refused, naming the valid ones", () => {
  const spec = presetSpec("tiny");
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true });
  const inputs = makeAttentionInputs(spec, layout, { seed: 5 });
  // "absorb" computed with neither branch building q~: scores from a zero q~, silently
  for (const path of ["absorb", "Expanded", undefined]) {
    assert.throws(
      () => attention(spec, layout, { inputs, path: path as "absorbed" }),
      (e: Error) =>
        e instanceof RangeError && /path must be "expanded" or "absorbed"/.test(e.message),
    );
  }
  // "F16" and "bf16" rounded as f32, silently
  for (const storedAs of ["F16", "bf16", "f64"]) {
    assert.throws(
      () => denseAttention(spec, layout, { inputs, storedAs: storedAs as "f16" }),
      (e: Error) =>
        e instanceof RangeError && /storedAs must be "f32", "f16" or absent/.test(e.message),
    );
  }
});

Deno.test("attention: a hand-built spec it cannot compute with is a RangeError naming the field", () => {
  const spec = presetSpec("tiny-yarn");
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 3, causal: true });
  const inputs = makeAttentionInputs(spec, layout, { seed: 6 });
  // Each computed silently: NaN outputs, or a RoPE that rotated fewer pairs than the width
  // (a short invFreq), or neox pairs for a misspelled pairing.
  const cases: [Partial<MlaSpec>, RegExp][] = [
    [{ softmaxScale: NaN }, /spec\.softmaxScale must be a finite number, found NaN/],
    [{ softmaxScale: Infinity }, /spec\.softmaxScale must be a finite number/],
    [{ invFreq: spec.invFreq.slice(1) }, /spec\.invFreq must hold qkRopeHeadDim \/ 2 = 4 finite/],
    [{ invFreq: [...spec.invFreq.slice(1), NaN] }, /spec\.invFreq must hold/],
    [{ ropePairing: "inter" as "neox" }, /spec\.ropePairing must be "interleaved" or "neox"/],
    [{ ropeCosSinScale: NaN }, /spec\.ropeCosSinScale must be a finite number/],
    [{ kvLoraRank: 0.5 }, /spec\.kvLoraRank must be a whole number >= 1/],
  ];
  for (const [edit, message] of cases) {
    for (const path of ["expanded", "absorbed"] as const) {
      assert.throws(
        () => attention({ ...spec, ...edit }, layout, { inputs, path }),
        (e: Error) =>
          e instanceof RangeError && /^attention: /.test(e.message) && message.test(e.message),
        JSON.stringify(edit),
      );
    }
  }
});

Deno.test("attention: a layout whose rows or positions the inputs cannot have, or a missing input, is a RangeError", () => {
  const spec = presetSpec("tiny");
  const layout = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 3, seqK: 3, causal: true });
  const inputs = makeAttentionInputs(spec, layout, { seed: 8 });
  // A row past the buffer read undefined (NaN outputs); a negative or fractional position
  // rotated silently; a missing tensor failed with "Cannot read properties of undefined".
  const edits: [Partial<NormalizedLayout>, RegExp][] = [
    [{ qRowOf: layout.qRowOf.map((r) => r + 6) }, /layout\.qRowOf\[0\] = 6 is not a buffer row/],
    [{ kRowOf: layout.kRowOf.map((r) => r - 1) }, /layout\.kRowOf\[0\] = -1 is not a buffer row/],
    [{ qPositions: layout.qPositions.map((p) => p - 1) }, /layout\.qPositions\[0\] = -1/],
    [{ kPositions: layout.kPositions.map((p) => p + 0.5) }, /layout\.kPositions\[0\] = 0\.5/],
  ];
  for (const [edit, message] of edits) {
    for (const path of ["expanded", "absorbed"] as const) {
      assert.throws(
        () => attention(spec, { ...layout, ...edit }, { inputs, path }),
        (e: Error) => e instanceof RangeError && message.test(e.message),
      );
    }
  }
  assert.throws(
    () =>
      denseAttention(spec, { kind: "bshd", batch: 2 } as unknown as NormalizedLayout, { inputs }),
    /layout is not a normalized layout/,
  );
  const { kPe: _, ...noKPe } = inputs;
  assert.throws(
    () => denseAttention(spec, layout, { inputs: noKPe as AttentionInputs }),
    (e: Error) =>
      e instanceof RangeError && /kPe is missing, expected kRows \* rope = 48/.test(e.message),
  );
});

Deno.test("attention: missing or wrong-typed options, inputs or rows are a RangeError saying what to pass", () => {
  const spec = presetSpec("tiny");
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 3, causal: true });
  const inputs = makeAttentionInputs(spec, layout, { seed: 9 });
  type Options = Parameters<typeof denseAttention>[2];
  // was "TypeError: Cannot read properties of undefined (reading 'storedAs')" (or 'path')
  for (const options of [undefined, null, "inputs", [inputs]]) {
    for (
      const [fn, call] of [
        ["denseAttention", () => denseAttention(spec, layout, options as unknown as Options)],
        ["absorbedAttention", () => absorbedAttention(spec, layout, options as unknown as Options)],
        [
          "attention",
          () => attention(spec, layout, options as unknown as Options & { path: "absorbed" }),
        ],
      ] as const
    ) {
      assert.throws(
        call,
        (e: Error) =>
          e instanceof RangeError &&
          e.message.startsWith(`${fn}: options must be an object { inputs, `) &&
          /makeAttentionInputs\(spec, layout, \{ seed \}\)/.test(e.message),
        `${fn}(${JSON.stringify(options)?.slice(0, 20)})`,
      );
    }
  }
  // was five "is missing" lines run together with commas
  assert.throws(
    () => denseAttention(spec, layout, {} as Options),
    /^RangeError: denseAttention: options\.inputs must be the attention inputs \{ qNope, qPe, latent, kPe, wKvB \}.*found undefined$/,
  );
  // the string "0" was read a character at a time ("query row 0 is outside [0, 2)"), a number
  // failed with "list is not iterable"
  for (const rows of ["0", 1]) {
    assert.throws(
      () => denseAttention(spec, layout, { inputs, rows: rows as unknown as number[] }),
      new RegExp(
        `^RangeError: denseAttention: rows must be an array of row indices \\(integers in ` +
          `\\[0, layout\\.totalQ = 2\\)\\), found ${JSON.stringify(rows)}$`,
      ),
    );
  }
  assert.throws(
    () => absorbedAttention(spec, layout, { inputs, rows: [1, "0" as unknown as number] }),
    /^RangeError: absorbedAttention: rows\[1\] = "0" is not a row \(valid: integers in \[0, layout\.totalQ = 2\)\)$/,
  );
});

Deno.test("attention: a spec whose model is not dense MLA on the layout is refused with resolve's reason, not computed as dense MLA", () => {
  const tiny = presetSpec("tiny");
  const past = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 17, causal: true });
  const within = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 16, causal: true });
  const cases: [MlaSpec, RegExp][] = [
    // DeepSeek-V3.2's top-16 of 17 keys: dense attention over all 17, silently
    [
      withParams(tiny, { indexTopK: 16 }),
      /^denseAttention: .*index_topk 16.*\(spec\.sparse-attention\)$/,
    ],
    // Mistral 4's query temperature at position 16: no temperature, silently
    [
      withParams(tiny, { queryTemperature: { beta: 0.1, originalMaxPositionEmbeddings: 16 } }),
      /^denseAttention: .*query temperature.*\(spec\.query-temperature\)$/,
    ],
  ];
  for (const [spec, message] of cases) {
    const inputs = makeAttentionInputs(spec, past, { seed: 3 });
    assert.throws(
      () => denseAttention(spec, past, { inputs }),
      (e: Error) => e instanceof RangeError && message.test(e.message),
      `${message}`,
    );
    // within the model's dense range it is computed, as the plain spec's attention
    const small = makeAttentionInputs(spec, within, { seed: 3 });
    assert.deepEqual(
      absorbedAttention(spec, within, { inputs: small }).out,
      absorbedAttention(tiny, within, { inputs: small }).out,
    );
  }
});

Deno.test("attention: LongRoPE frequencies of the other length than the layout's are refused (spec.longrope-factors)", async () => {
  // MiniCPM3's tiny config: original length 16, so its spec holds the short factors
  const spec = await loadSpec(
    new URL("./fixtures/minicpm3/tiny_longrope.json", import.meta.url).pathname,
  );
  assert.equal(spec.longrope?.factors, "short");
  const past = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 17, causal: true });
  const inputs = makeAttentionInputs(spec, past, { seed: 4 });
  // rotated by the short factors where the model takes the long ones, silently
  assert.throws(
    () => absorbedAttention(spec, past, { inputs }),
    (e: Error) =>
      e instanceof RangeError && e.message.startsWith("absorbedAttention: ") &&
      e.message.endsWith("(spec.longrope-factors)"),
  );
  const within = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 16, causal: true });
  const small = makeAttentionInputs(spec, within, { seed: 4 });
  assert.equal(countNaN(absorbedAttention(spec, within, { inputs: small }).out), 0);
});
