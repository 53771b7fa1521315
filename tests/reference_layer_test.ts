/**
 * The float64 MLA layer: RMSNorm and Linear by hand, a deliberately plain
 * independent implementation of the whole layer (per-token loops, explicit causal
 * rule j <= i, its own RoPE) against mlaLayer, expanded vs absorbed agreement,
 * the places the RMSNorms act, rows, padding and argument checks.
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { withParams } from "../adapter/spec.ts";
import type {
  AttentionPath,
  Dtype,
  LayerWeights,
  LayoutRequest,
  MlaSpec,
  Tensor,
} from "../adapter/types.ts";
import {
  makeAttentionInputs,
  makeHiddenStates,
  makeLayerWeights,
  paddingRows,
} from "../reference/inputs.ts";
import { linear, mlaLayer, rmsNorm } from "../reference/layer.ts";
import { assertAllClose, countNaN, maxAbsDiff } from "./reference_util.ts";

Deno.test("layer: rmsNorm of known vectors by hand", () => {
  // mean(3^2, 4^2) = 12.5 -> [3, 4] / sqrt(12.5) * [1, 2]
  const y = rmsNorm(new Float64Array([3, 4]), new Float64Array([1, 2]), { eps: 0 });
  assert.ok(Math.abs(y[0] - 0.848528137423857) < 1e-15);
  assert.ok(Math.abs(y[1] - 2.262741699796952) < 1e-15);
  // mean 1, eps 0.25 -> 1 / sqrt(1.25) each; two rows, only row 1 requested.
  const z = rmsNorm(new Float64Array([5, 5, 5, 5, 1, 1, 1, 1]), new Float64Array([1, 1, 1, 1]), {
    eps: 0.25,
    rows: [1],
  });
  assert.equal(countNaN(z.subarray(0, 4)), 4);
  for (const v of z.subarray(4)) assert.ok(Math.abs(v - 0.8944271909999159) < 1e-15);
});

Deno.test("layer: linear is y = x W^T with W [out, in]", () => {
  // x [2, 2], W [3, 2] = [[1, 0], [0, 1], [1, 1]] -> y [2, 3]
  const y = linear(new Float64Array([1, 2, 3, -1]), new Float64Array([1, 0, 0, 1, 1, 1]), {
    inFeatures: 2,
  });
  assert.deepEqual([...y], [1, 2, 3, 3, -1, 2]);
  const w = new Float64Array([1, 2, 3, 4, 5, 6]); // [2 out, 3 in]: not the transposed [3, 2]
  assert.deepEqual([...linear(new Float64Array([1, 0, 0]), w, { inFeatures: 3 })], [1, 4]);
  assert.throws(() => linear(new Float64Array(5), w, { inFeatures: 3 }), RangeError);
});

/** A plain layer: bshd prefill, causal j <= i, token by token, number[] math. */
function plainLayer(
  spec: MlaSpec,
  w: LayerWeights,
  x: Tensor,
  batch: number,
  seq: number,
): number[][] {
  const H = spec.hiddenSize;
  const nh = spec.numHeads;
  const [dn, dr, dv, r] = [spec.qkNopeHeadDim, spec.qkRopeHeadDim, spec.vHeadDim, spec.kvLoraRank];
  const mv = (W: Tensor, v: number[]) => {
    const n = v.length;
    return Array.from({ length: W.length / n }, (_, o) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += W[o * n + i] * v[i];
      return s;
    });
  };
  const norm = (v: number[], g: Tensor) => {
    const ms = v.reduce((s, a) => s + a * a, 0) / v.length;
    return v.map((a, i) => (a / Math.sqrt(ms + spec.rmsNormEps)) * g[i]);
  };
  const rot = (v: number[], pos: number) => {
    const out = v.slice();
    const half = v.length / 2;
    for (let i = 0; i < half; i++) {
      const [a, b] = spec.ropePairing === "interleaved" ? [2 * i, 2 * i + 1] : [i, i + half];
      const th = pos * spec.invFreq[i];
      const c = Math.cos(th) * spec.ropeCosSinScale;
      const s = Math.sin(th) * spec.ropeCosSinScale;
      out[a] = v[a] * c - v[b] * s;
      out[b] = v[a] * s + v[b] * c;
    }
    return out;
  };
  const result: number[][] = [];
  for (let b = 0; b < batch; b++) {
    const toks = Array.from({ length: seq }, (_, t) => {
      const xt = Array.from(x.subarray((b * seq + t) * H, (b * seq + t + 1) * H));
      const q = w.qProj ? mv(w.qProj, xt) : mv(w.qBProj!, norm(mv(w.qAProj!, xt), w.qANorm!));
      const kva = mv(w.kvAProj, xt);
      const c = norm(kva.slice(0, r), w.kvANorm);
      const kpe = rot(kva.slice(r), t);
      const heads = Array.from({ length: nh }, (_, h) => {
        const qh = q.slice(h * (dn + dr), (h + 1) * (dn + dr));
        const kv = mv(w.kvBProj.subarray(h * (dn + dv) * r, (h + 1) * (dn + dv) * r), c);
        return {
          q: [...qh.slice(0, dn), ...rot(qh.slice(dn), t)],
          k: [...kv.slice(0, dn), ...kpe],
          v: kv.slice(dn),
        };
      });
      return heads;
    });
    for (let i = 0; i < seq; i++) {
      const concat: number[] = [];
      for (let h = 0; h < nh; h++) {
        const sc: number[] = [];
        for (let j = 0; j <= i; j++) {
          const q = toks[i][h].q;
          const k = toks[j][h].k;
          sc.push(spec.softmaxScale * q.reduce((s, a, d) => s + a * k[d], 0));
        }
        const m = Math.max(...sc);
        const e = sc.map((s) => Math.exp(s - m));
        const z = e.reduce((s, a) => s + a, 0);
        for (let d = 0; d < dv; d++) {
          concat.push(e.reduce((s, p, j) => s + p * toks[j][h].v[d], 0) / z);
        }
      }
      result.push(mv(w.oProj, concat));
    }
  }
  return result;
}

for (const preset of ["tiny", "tiny-yarn"]) {
  Deno.test(`layer: matches a plain independent implementation (${preset})`, () => {
    const spec = presetSpec(preset);
    assert.equal(spec.qPath, preset === "tiny" ? "direct" : "low-rank");
    const layout = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 4, seqK: 4, causal: true });
    const weights = makeLayerWeights(spec, { seed: 1 });
    const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 2, layout });
    const expected = plainLayer(spec, weights, hidden, 2, 4).flat();
    for (const path of ["expanded", "absorbed"] as const) {
      const { out, lse, intermediates } = mlaLayer(spec, layout, { weights, hidden, path });
      assertAllClose(out, expected, { what: `${preset} ${path}` });
      assert.equal(countNaN(lse), 0);
      assert.equal(intermediates.qLatent === null, spec.qPath === "direct");
    }
  });
}

const LAYER_LAYOUTS: LayoutRequest[] = [
  { kind: "bshd", batch: 2, seqQ: 5, seqK: 5, causal: true },
  { kind: "sbhd", batch: 2, seqQ: 3, seqK: 3, causal: false },
  { kind: "thd", cuSeqlensQ: [0, 3, 3, 8], cuSeqlensQPadded: [0, 4, 6, 12], causal: true },
];

for (const preset of ["tiny", "tiny-yarn"]) {
  Deno.test(`layer: expanded and absorbed agree to 1e-12 (${preset})`, () => {
    const spec = presetSpec(preset);
    LAYER_LAYOUTS.forEach((req, i) => {
      const layout = normalizeLayout(req);
      const weights = makeLayerWeights(spec, { seed: 10 + i });
      const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 20 + i, layout });
      const e = mlaLayer(spec, layout, { weights, hidden, path: "expanded" });
      const a = mlaLayer(spec, layout, { weights, hidden, path: "absorbed" });
      assertAllClose(a.out, e.out, { what: `${req.kind} out` });
      assertAllClose(a.lse, e.lse, { what: `${req.kind} lse` });
      // NaN-poisoned padding rows of the hidden states never reach the output.
      assert.equal(countNaN(e.out), 0, `${req.kind}`);
      if (req.kind === "thd") assert.ok(countNaN(hidden) > 0, "the thd case has padding");
    });
  });
}

Deno.test("layer: the RMSNorms act on q_a and on the latent, not elsewhere", () => {
  const spec = presetSpec("tiny-yarn");
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 4, seqK: 4, causal: true });
  const weights = makeLayerWeights(spec, { seed: 3 });
  const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 4 });
  const run = (w: LayerWeights) => mlaLayer(spec, layout, { weights: w, hidden }).out;
  const ref = run(weights);
  const scaled = (t: Tensor | undefined, k: number, upTo = Infinity) =>
    Float64Array.from(t!, (v, i) => (i < upTo ? v * k : v));
  const r = spec.kvLoraRank;
  // Scaling the input of a norm changes almost nothing (only through eps) ...
  const rel = (o: Float64Array) =>
    maxAbsDiff(o, ref) / maxAbsDiff(ref, new Float64Array(ref.length));
  assert.ok(rel(run({ ...weights, qAProj: scaled(weights.qAProj, 3) })) < 1e-5);
  assert.ok(
    rel(run({ ...weights, kvAProj: scaled(weights.kvAProj, 3, r * spec.hiddenSize) })) < 1e-5,
  );
  // ... while scaling the norm weights, q_b or the k_pe rows of kv_a changes the output.
  assert.ok(rel(run({ ...weights, qANorm: scaled(weights.qANorm, 3) })) > 1e-3);
  assert.ok(rel(run({ ...weights, kvANorm: scaled(weights.kvANorm, 3) })) > 1e-3);
  const kpeRows = Float64Array.from(
    weights.kvAProj,
    (v, i) => (i >= r * spec.hiddenSize ? 3 * v : v),
  );
  assert.ok(rel(run({ ...weights, kvAProj: kpeRows })) > 1e-3);
});

Deno.test("layer: rows computes only the requested queries", () => {
  const spec = presetSpec("tiny");
  const layout = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 3, 7], causal: true });
  const weights = makeLayerWeights(spec, { seed: 5 });
  const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 6 });
  const full = mlaLayer(spec, layout, { weights, hidden });
  const H = spec.hiddenSize;
  for (const path of ["expanded", "absorbed"] as const) {
    const part = mlaLayer(spec, layout, { weights, hidden, path, rows: [0, 5] });
    for (let q = 0; q < 7; q++) {
      const got = part.out.subarray(q * H, (q + 1) * H);
      if (q === 0 || q === 5) {
        assertAllClose(got, full.out.subarray(q * H, (q + 1) * H), { what: `${path} q ${q}` });
      } else assert.equal(countNaN(got), H);
    }
  }
  // Sequence 0's hidden rows can be NaN when only sequence 1 is requested.
  const poisoned = Float64Array.from(hidden).fill(NaN, 0, 3 * H);
  const only1 = mlaLayer(spec, layout, { weights, hidden: poisoned, rows: [6] });
  assert.deepEqual(only1.out.subarray(6 * H), full.out.subarray(6 * H));
});

Deno.test("layer: argument checks", () => {
  const spec = presetSpec("tiny");
  const low = presetSpec("tiny-yarn");
  const decode = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true });
  const prefill = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true });
  const weights = makeLayerWeights(spec, { seed: 1 });
  const hidden = makeHiddenStates(2, spec.hiddenSize, { seed: 1 });
  assert.throws(
    () => mlaLayer(spec, decode, { weights, hidden: hidden.subarray(0, 64) }),
    /self-attention/,
  );
  assert.throws(() => mlaLayer(low, prefill, { weights, hidden }), /needs weights.qAProj/);
  assert.throws(
    () => mlaLayer(spec, prefill, { weights, hidden: new Float64Array(3) }),
    /hidden has 3 values/,
  );
  assert.throws(() => mlaLayer(spec, prefill, { weights, hidden, rows: [2] }), RangeError);
});

Deno.test("inputs: makeHiddenStates and paddingRows name a bad count or a too-short buffer", () => {
  // was "Invalid typed array length: -2", and 1.5 or NaN rows made 3 or 0 values silently
  for (const rows of [-1, 1.5, NaN]) {
    assert.throws(
      () => makeHiddenStates(rows, 2, { seed: 1 }),
      new RegExp(`^RangeError: makeHiddenStates: rows must be a whole number >= 0, found ${rows}$`),
    );
  }
  assert.throws(() => makeHiddenStates(2, 0, { seed: 1 }), /hidden must be a whole number >= 1/);
  // a layout of 6 query buffer rows given 2: was 2 rows without a word
  const layout = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 3, seqK: 3, causal: true });
  assert.throws(
    () => makeHiddenStates(2, 4, { seed: 1, layout }),
    /rows 2 is fewer than the layout's 6 query buffer rows/,
  );
  // more rows than the layout's: the extra ones are padding (NaN)
  assert.equal(countNaN(makeHiddenStates(7, 4, { seed: 1, layout })), 4);
  assert.throws(() => paddingRows(-1, []), /rows must be a whole number >= 0, found -1/);
  assert.throws(() => paddingRows(3, [0, 5]), /used row 5 is not a row of the buffer of 3 rows/);
  assert.deepEqual(paddingRows(3, [1]), [0, 2]);
});

Deno.test("layer: a path, storedAs or eps of another spelling is refused, not computed", () => {
  const spec = presetSpec("tiny");
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true });
  const weights = makeLayerWeights(spec, { seed: 1 });
  const hidden = makeHiddenStates(2, spec.hiddenSize, { seed: 1 });
  // "absorb" gave numbers: neither branch of the attention core ran its q~ (all zero)
  assert.throws(
    () => mlaLayer(spec, layout, { weights, hidden, path: "absorb" as AttentionPath }),
    /path must be "expanded" or "absorbed", found "absorb"/,
  );
  // "bf16" was rounded as f32
  assert.throws(
    () => mlaLayer(spec, layout, { weights, hidden, storedAs: "bf16" as Dtype }),
    /storedAs must be "f32", "f16" or absent \(float64\), found "bf16"/,
  );
  const x = new Float64Array([1e-3, 0]);
  const w = new Float64Array([1, 1]);
  for (const eps of [-1, NaN, Infinity, undefined]) {
    assert.throws(
      () => rmsNorm(x, w, { eps: eps as number }),
      new RegExp(`eps must be a finite number >= 0, found ${eps}`),
    );
  }
  assert.equal(rmsNorm(x, w, { eps: 0 })[0], Math.SQRT2);
});

Deno.test("inputs and layer: a layout request in place of a normalized layout is named", () => {
  // an untyped caller's request made empty tensors or "used is not iterable"
  const spec = presetSpec("tiny");
  const request = { kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true };
  const layout = request as unknown as ReturnType<typeof normalizeLayout>;
  const msg = (fn: string) =>
    new RegExp(
      `^RangeError: ${fn}: layout is not a normalized layout .*pass normalizeLayout\\(request\\)`,
    );
  assert.throws(() => makeAttentionInputs(spec, layout, { seed: 1 }), msg("makeAttentionInputs"));
  assert.throws(() => makeHiddenStates(2, 64, { seed: 1, layout }), msg("makeHiddenStates"));
  const weights = makeLayerWeights(spec, { seed: 1 });
  assert.throws(
    () => mlaLayer(spec, layout, { weights, hidden: new Float64Array(128) }),
    msg("mlaLayer"),
  );
});

Deno.test("mlaLayer: a hand-built spec, missing hidden states or a missing weight is a RangeError naming it", () => {
  const spec = presetSpec("tiny-yarn");
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true });
  const weights = makeLayerWeights(spec, { seed: 1 });
  const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 2, layout });
  // qLatentScale NaN made every output NaN and a stale kChannels computed, silently; the
  // others failed with "expected NaN" values or "Cannot read properties of undefined".
  const specs: [Partial<MlaSpec>, RegExp][] = [
    [{ qLatentScale: NaN }, /mlaLayer: spec\.qLatentScale must be a finite number, found NaN/],
    [{ kChannels: 99 }, /mlaLayer: spec\.kChannels must be qkNopeHeadDim \+ qkRopeHeadDim/],
    [{ qLoraRank: undefined as unknown as null }, /mlaLayer: spec\.qLoraRank .* found undefined/],
    [{ softmaxScale: NaN }, /spec\.softmaxScale must be a finite number/],
  ];
  for (const [edit, message] of specs) {
    assert.throws(
      () => mlaLayer({ ...spec, ...edit }, layout, { weights, hidden }),
      (e: Error) => e instanceof RangeError && message.test(e.message),
    );
  }
  assert.throws(
    () => mlaLayer(spec, layout, { weights, hidden: undefined as unknown as Float64Array }),
    (e: Error) =>
      e instanceof RangeError &&
      /hidden is missing, expected qRows \* hiddenSize = 128 values/.test(e.message),
  );
  for (const storedAs of [undefined, "f16"] as const) {
    const { kvAProj: _, ...noKvA } = weights;
    assert.throws(
      () => mlaLayer(spec, layout, { weights: noKvA as LayerWeights, hidden, storedAs }),
      (e: Error) => e instanceof RangeError && /weights\.kvAProj is missing/.test(e.message),
    );
  }
});

Deno.test("layer: missing or wrong-typed options, tensors or rows of linear, rmsNorm and mlaLayer are a RangeError naming them", () => {
  const spec = presetSpec("tiny");
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true });
  const weights = makeLayerWeights(spec, { seed: 1 });
  const hidden = makeHiddenStates(2, spec.hiddenSize, { seed: 1 });
  const x = new Float64Array([1, 2]);
  type Lo = Parameters<typeof linear>[2];
  type Ro = Parameters<typeof rmsNorm>[2];
  type Mo = Parameters<typeof mlaLayer>[2];
  const cases: [() => unknown, RegExp][] = [
    // each failed with "Cannot read properties of undefined (reading ...)"
    [
      () => linear(x, x, undefined as unknown as Lo),
      /^linear: options must be an object \{ inFeatures, rows\? \}, found undefined$/,
    ],
    [
      () => linear(undefined as unknown as Float64Array, x, { inFeatures: 2 }),
      /^linear: x must be an array or typed array of numbers, found undefined$/,
    ],
    [
      () => rmsNorm(x, undefined as unknown as Float64Array, { eps: 0 }),
      /^rmsNorm: weight must be an array or typed array of numbers, found undefined$/,
    ],
    [
      () => rmsNorm(x, x, undefined as unknown as Ro),
      /^rmsNorm: options must be an object \{ eps, rows\? \}, found undefined$/,
    ],
    [
      () => mlaLayer(spec, layout, undefined as unknown as Mo),
      /^mlaLayer: options must be an object \{ weights, hidden, path\?, rows\?, storedAs\? \}/,
    ],
    // the string "0" was read a character at a time: "linear row 0 is outside [0, 1)"
    [
      () => linear(x, x, { inFeatures: 2, rows: "0" as unknown as number[] }),
      /^linear: rows must be an array of row indices \(integers in \[0, rows of x = 1\)\), found "0"$/,
    ],
    [
      () => rmsNorm(x, x, { eps: 0, rows: [0, 1] }),
      /^rmsNorm: rows\[1\] = 1 is not a row \(valid: integers in \[0, rows of x = 1\)\)$/,
    ],
    [
      () => mlaLayer(spec, layout, { weights, hidden, rows: "1" as unknown as number[] }),
      /^mlaLayer: rows must be an array of row indices \(integers in \[0, layout\.totalQ = 2\)\), found "1"$/,
    ],
    // "inFeatures 2 must divide x" for the string "2", which divides nothing
    [
      () => linear(x, x, { inFeatures: "2" as unknown as number }),
      /^linear: inFeatures "2" must be a whole number >= 1 that divides x/,
    ],
  ];
  for (const [f, message] of cases) {
    assert.throws(
      f,
      (e: Error) => e instanceof RangeError && message.test(e.message),
      `${message}`,
    );
  }
});

Deno.test("mlaLayer: a kv latent scale, q latent scale or RMSNorm eps the spec cannot have is a RangeError naming the field", () => {
  const low = presetSpec("tiny-yarn"); // q latent
  const direct = presetSpec("tiny"); // no q latent
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true });
  const hidden = makeHiddenStates(layout.qRows, low.hiddenSize, { seed: 2, layout });
  const cases: [MlaSpec, RegExp][] = [
    // every output NaN, silently
    [
      { ...low, kvLatentScale: NaN },
      /^mlaLayer: spec\.kvLatentScale must be a finite number, found NaN$/,
    ],
    // scaled by 2, silently
    [
      { ...low, kvLatentScale: "2" as unknown as number },
      /^mlaLayer: spec\.kvLatentScale must be a finite number, found "2"$/,
    ],
    // dropped without a word: the spec has no q latent to scale
    [
      { ...direct, qLatentScale: 2 },
      /^mlaLayer: spec\.qLatentScale is 2 but the spec has no q latent \(qLoraRank null\)/,
    ],
    // "eps must be a finite number >= 0, found NaN", naming no spec field
    [
      { ...low, rmsNormEps: NaN },
      /^mlaLayer: spec\.rmsNormEps must be a finite number >= 0, found NaN$/,
    ],
  ];
  for (const [spec, message] of cases) {
    const weights = makeLayerWeights(spec, { seed: 1 });
    assert.throws(
      () => mlaLayer(spec, layout, { weights, hidden }),
      (e: Error) => e instanceof RangeError && message.test(e.message),
      `${message}`,
    );
  }
  // a finite kv latent scale still applies
  const weights = makeLayerWeights(low, { seed: 1 });
  const plain = mlaLayer(low, layout, { weights, hidden });
  const scaled = mlaLayer({ ...low, kvLatentScale: 2 }, layout, { weights, hidden });
  assert.notDeepEqual(scaled.out, plain.out);
});

Deno.test("mlaLayer: a gated, biased or norm-less model's layer is refused with the GPU layer's reason, not computed as DeepSeek's", () => {
  const tiny = presetSpec("tiny");
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 2, causal: true });
  const hidden = makeHiddenStates(2, tiny.hiddenSize, { seed: 1 });
  const cases: [Parameters<typeof withParams>[1], string][] = [
    [{ mlaOutputGate: true }, "spec.output-gate"],
    [{ attentionBias: true }, "spec.attention-bias"],
    [{ noLatentNorms: true }, "spec.no-latent-norms"],
  ];
  for (const [edit, code] of cases) {
    const spec = withParams(tiny, edit);
    const weights = makeLayerWeights(spec, { seed: 1 });
    assert.throws(
      () => mlaLayer(spec, layout, { weights, hidden }),
      (e: Error) =>
        e instanceof RangeError && e.message.startsWith("mlaLayer: ") &&
        e.message.endsWith(`(${code})`),
      code,
    );
  }
});
