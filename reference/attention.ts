/**
 * The float64 references of the MLA attention core, in both formulations:
 *
 * - {@link denseAttention}, the EXPANDED ("naive") path: per head
 *   `k_h = [W_UK,h c ; rope(k_pe)]`, `v_h = W_UV,h c`, `q_h = [q_nope ; rope(q_pe)]`,
 *   `o_h = softmax(s * q_h . k_h) v_h`;
 * - {@link absorbedAttention}, the ABSORBED path: `q~_h = q_nope,h W_UK,h` (width r),
 *   score `= s * (q~_h . c_t + rope(q_pe,h) . rope(k_pe,t))`, `x_h = sum_t p_t c_t`,
 *   `o_h = W_UV,h x_h`.
 *
 * `wKvB` is [h*(nope+v), r]: per head its first nope rows are W_UK,h, the next v rows
 * W_UV,h. Query i of the layout reads buffer row `layout.qRowOf[i]` at RoPE position
 * `layout.qPositions[i]`; key j reads `layout.kRowOf[j]` at `layout.kPositions[j]`.
 * Visibility is `visible(layout, q, k)` (same sequence; causal is bottom-right).
 * Softmax is max-subtracted; LSE is the natural log of the sum of exp of the scaled
 * scores. A query that sees no key gets output 0 and LSE -Infinity.
 *
 * With `storedAs` the reference reads its inputs as a kernel of that storage dtype holds
 * them: every input, and q_pe and k_pe after RoPE, rounded to float32 or float16 (the
 * harness uploads each input in the plan's dtype and rotates q_pe and k_pe in place,
 * kernels/attention.ts). Parity then measures a kernel's own arithmetic and the
 * intermediates it chose to store narrow, not the rounding every kernel of that dtype
 * shares (for f16 about half of the error, docs/tolerances.md).
 *
 * A spec whose model does not compute dense MLA on the layout (adapter/resolve.ts
 * `sparseAttentionReason`, `queryTemperatureReason`, adapter/longrope.ts `longropeReason`)
 * is a RangeError with the reason's message and code, as `resolve` refuses such a case.
 *
 * Only the keys some computed query can see are read (never padding rows), and the
 * cost is O(rows * visible keys * h * width); K/V are expanded per head and sequence.
 *
 * @module
 */
import { visible } from "../adapter/layout.ts";
import { longropeReason } from "../adapter/longrope.ts";
import { queryTemperatureReason, sparseAttentionReason } from "../adapter/resolve.ts";
import type {
  AttentionInputs,
  AttentionOutputs,
  AttentionPath,
  Dtype,
  MlaSpec,
  NormalizedLayout,
} from "../adapter/types.ts";
import { ropeParams, rotateVector } from "./rope_apply.ts";
import { checkAttentionMath, checkOptions, checkRowList, shown } from "./spec_check.ts";
import { stored, storeInPlace } from "./stored.ts";

/** Options of {@link denseAttention} and {@link absorbedAttention}. */
export interface AttentionOptions {
  /** The attention-core inputs (buffer rows; RoPE not yet applied). */
  inputs: AttentionInputs;
  /** Logical query indices to compute (default all); the other rows are NaN. */
  rows?: readonly number[];
  /**
   * The storage dtype the kernel under test holds its inputs in: the inputs, and q_pe and
   * k_pe after RoPE, are rounded to it (ties to even, as `Float32Array` and `Float16Array`
   * store a number; NaN stays NaN, past float16's range is ±Infinity) before the float64
   * arithmetic. Default: none (the float64 inputs as given).
   */
  storedAs?: Dtype;
}

/** Options of {@link attention}. */
export interface AttentionPathOptions extends AttentionOptions {
  /** Which formulation to compute. */
  path: AttentionPath;
}

/** Result type of the references: {@link AttentionOutputs} with float64 tensors. */
export interface AttentionResult extends AttentionOutputs {
  /** [totalQ, numHeads, vHeadDim], logical query order. */
  readonly out: Float64Array;
  /** [totalQ, numHeads], logical query order. */
  readonly lse: Float64Array;
}

function checkInputs(
  spec: MlaSpec,
  layout: NormalizedLayout,
  inputs: AttentionInputs,
  where: string,
): void {
  // options without inputs listed all five tensors as missing, one message run into the next
  if (typeof inputs !== "object" || inputs === null) {
    throw new RangeError(
      `${where}: options.inputs must be the attention inputs { qNope, qPe, latent, kPe, wKvB } ` +
        `(makeAttentionInputs(spec, layout, { seed })), found ${shown(inputs)}`,
    );
  }
  const h = spec.numHeads;
  const r = spec.kvLoraRank;
  const expect: [keyof AttentionInputs, number, string][] = [
    ["qNope", layout.qRows * h * spec.qkNopeHeadDim, "qRows * h * nope"],
    ["qPe", layout.qRows * h * spec.qkRopeHeadDim, "qRows * h * rope"],
    ["latent", layout.kRows * r, "kRows * r"],
    ["kPe", layout.kRows * spec.qkRopeHeadDim, "kRows * rope"],
    ["wKvB", h * (spec.qkNopeHeadDim + spec.vHeadDim) * r, "h * (nope + v) * r"],
  ];
  const len = (name: keyof AttentionInputs) => inputs?.[name]?.length;
  const bad = expect
    .filter(([name, n]) => len(name) !== n)
    .map(([name, n, what]) =>
      len(name) === undefined
        ? `${name} is missing, expected ${what} = ${n} values`
        : `${name} has ${len(name)} values, expected ${what} = ${n}`
    );
  if (bad.length) {
    throw new RangeError(
      `${where}: attention inputs do not match the spec/layout: ${bad.join("; ")}`,
    );
  }
}

/**
 * Throw a RangeError unless every logical query and key of `layout` reads a row of its
 * buffer at a whole position >= 0 (a hand-built layout whose rows reach past the buffer
 * read undefined, NaN outputs; a negative or fractional position rotated silently).
 */
function checkLayoutRows(layout: NormalizedLayout): void {
  const l = layout as Partial<NormalizedLayout> | null;
  if (
    typeof l !== "object" || l === null || !Number.isSafeInteger(l.qRows) ||
    !Number.isSafeInteger(l.kRows) || !Array.isArray(l.qRowOf) || !Array.isArray(l.kRowOf) ||
    !Array.isArray(l.qPositions) || !Array.isArray(l.kPositions) || !Array.isArray(l.seqs)
  ) {
    throw new RangeError(
      "attention: layout is not a normalized layout (it has no qRows, kRows, qRowOf, kRowOf, " +
        "positions, seqs): pass normalizeLayout(request) (adapter/layout.ts), not the request",
    );
  }
  const sides = [
    ["qRowOf", layout.qRowOf, layout.qRows, "qRows"],
    ["kRowOf", layout.kRowOf, layout.kRows, "kRows"],
  ] as const;
  for (const [name, rowOf, n, what] of sides) {
    rowOf.forEach((row, i) => {
      if (!Number.isInteger(row) || row < 0 || row >= n) {
        throw new RangeError(
          `attention: layout.${name}[${i}] = ${
            shown(row)
          } is not a buffer row (valid: integers in ` +
            `[0, layout.${what} = ${n}))`,
        );
      }
    });
  }
  for (const name of ["qPositions", "kPositions"] as const) {
    layout[name].forEach((p, i) => {
      if (!Number.isSafeInteger(p) || p < 0) {
        throw new RangeError(
          `attention: layout.${name}[${i}] = ${shown(p)} is not a position (a whole number >= 0)`,
        );
      }
    });
  }
}

/** Group the requested logical queries by sequence, in ascending order. */
function groupRows(
  layout: NormalizedLayout,
  rows: readonly number[] | undefined,
  where: string,
): Map<number, number[]> {
  if (rows !== undefined) {
    checkRowList(rows, where, "rows", { n: layout.totalQ, what: "layout.totalQ" });
  }
  const list = rows ?? Array.from({ length: layout.totalQ }, (_, i) => i);
  const seen = new Uint8Array(layout.totalQ);
  for (const q of list) seen[q] = 1;
  const groups = new Map<number, number[]>();
  for (let q = 0; q < layout.totalQ; q++) {
    if (!seen[q]) continue;
    const sid = layout.qSeqId[q];
    const g = groups.get(sid);
    if (g) g.push(q);
    else groups.set(sid, [q]);
  }
  return groups;
}

/** Where {@link expandRow} reads: `rows` weight rows from `wBase` (stride r), one latent row. */
interface ExpandSource {
  wKvB: ArrayLike<number>;
  wBase: number;
  latent: ArrayLike<number>;
  cRow: number;
  rows: number;
  r: number;
}

/**
 * `dst[at + d] = sum_c W[wBase + d r + c] latent[cRow + c]` for d < rows. Four rows share
 * each latent load and run as four independent sums (about 2x faster in V8 than one row at
 * a time); every sum still adds its terms in ascending c, so the bits are those of the
 * plain loop.
 */
function expandRow(dst: Float64Array, at: number, src: ExpandSource): void {
  const { wKvB, wBase, latent, cRow, rows, r } = src;
  let d = 0;
  for (; d + 4 <= rows; d += 4) {
    const w0 = wBase + d * r, w1 = w0 + r, w2 = w1 + r, w3 = w2 + r;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let c = 0; c < r; c++) {
      const l = latent[cRow + c];
      a0 += wKvB[w0 + c] * l;
      a1 += wKvB[w1 + c] * l;
      a2 += wKvB[w2 + c] * l;
      a3 += wKvB[w3 + c] * l;
    }
    dst[at + d] = a0;
    dst[at + d + 1] = a1;
    dst[at + d + 2] = a2;
    dst[at + d + 3] = a3;
  }
  for (; d < rows; d++) {
    const w = wBase + d * r;
    let acc = 0;
    for (let c = 0; c < r; c++) acc += wKvB[w + c] * latent[cRow + c];
    dst[at + d] = acc;
  }
}

/** What the attention references' options hold, for the message of a missing one. */
const OPTIONS_KEYS =
  "{ inputs, rows?, storedAs? } (inputs: makeAttentionInputs(spec, layout, { seed }))";

function compute(
  spec: MlaSpec,
  layout: NormalizedLayout,
  options: AttentionOptions,
  path: AttentionPath,
  where: string,
): AttentionResult {
  // Missing options (denseAttention(spec, layout)) failed with "Cannot read properties of
  // undefined (reading 'storedAs')"; the inputs have no default (they are the case).
  checkOptions(options, where, OPTIONS_KEYS);
  // A path of another spelling ("absorb") from an untyped caller computed silently with
  // neither branch building q~ (scores from a zero q~), a storedAs of another ("F16", "bf16")
  // rounded as f32.
  if (path !== "expanded" && path !== "absorbed") {
    throw new RangeError(`path must be "expanded" or "absorbed", found ${shown(path)}`);
  }
  if (options.storedAs !== undefined && options.storedAs !== "f32" && options.storedAs !== "f16") {
    throw new RangeError(
      `storedAs must be "f32", "f16" or absent (float64), found ${
        JSON.stringify(options.storedAs)
      }`,
    );
  }
  checkAttentionMath(spec, "attention");
  checkLayoutRows(layout);
  // A spec whose model attends otherwise on this layout (DeepSeek-V3.2's top-k past k keys,
  // Mistral 4's query temperature past its original length, LongRoPE factors of the other
  // length) got dense MLA without a word: a reference of another model than the spec's.
  // `resolve` refuses those cases (the same reasons); a direct caller is refused as well.
  const why = sparseAttentionReason(spec, layout) ?? queryTemperatureReason(spec, layout) ??
    longropeReason(spec, layout);
  if (why !== null) {
    throw new RangeError(`${where}: ${why.message} (${why.code})`);
  }
  const { inputs } = options;
  checkInputs(spec, layout, inputs, where);
  const h = spec.numHeads;
  const nope = spec.qkNopeHeadDim;
  const rope = spec.qkRopeHeadDim;
  const dv = spec.vHeadDim;
  const r = spec.kvLoraRank;
  const s = spec.softmaxScale;
  const headRows = nope + dv;
  const rp = ropeParams(spec);
  const dtype = options.storedAs;
  const [qNope, qPe, latent, kPe, wKvB] = [
    inputs.qNope,
    inputs.qPe,
    inputs.latent,
    inputs.kPe,
    inputs.wKvB,
  ].map((t) => stored(t, dtype));
  const out = new Float64Array(layout.totalQ * h * dv).fill(NaN);
  const lse = new Float64Array(layout.totalQ * h).fill(NaN);

  for (const [sid, qs] of groupRows(layout, options.rows, where)) {
    const seq = layout.seqs[sid];
    const kLen = seq.kLen;
    // Visible keys (local indices) of every query, and the keys anyone needs.
    const needed = new Uint8Array(kLen);
    const vis = qs.map((q) => {
      const list: number[] = [];
      for (let t = 0; t < kLen; t++) {
        if (visible(layout, q, seq.kStart + t)) {
          list.push(t);
          needed[t] = 1;
        }
      }
      return list;
    });
    const neededKeys: number[] = [];
    for (let t = 0; t < kLen; t++) if (needed[t]) neededKeys.push(t);
    // rope(k_pe) of the needed keys: [kLen, rope].
    const kPeRot = new Float64Array(kLen * rope);
    for (const t of neededKeys) {
      const row = layout.kRowOf[seq.kStart + t];
      for (let e = 0; e < rope; e++) kPeRot[t * rope + e] = kPe[row * rope + e];
      rotateVector(kPeRot, layout.kPositions[seq.kStart + t], { ...rp, offset: t * rope });
    }
    storeInPlace(kPeRot, dtype); // rotated in place in the cache's dtype
    // rope(q_pe) of the computed queries: [qs, h, rope].
    const qPeRot = new Float64Array(qs.length * h * rope);
    qs.forEach((q, qi) => {
      const row = layout.qRowOf[q];
      for (let e = 0; e < h * rope; e++) qPeRot[qi * h * rope + e] = qPe[row * h * rope + e];
      for (let hd = 0; hd < h; hd++) {
        rotateVector(qPeRot, layout.qPositions[q], { ...rp, offset: (qi * h + hd) * rope });
      }
    });
    storeInPlace(qPeRot, dtype);

    // Expanded rows of one head: [kLen, nope + v], k_nope,h then v_h of each key.
    const kv = new Float64Array(path === "expanded" ? kLen * headRows : 0);
    const qTilde = new Float64Array(r);
    const x = new Float64Array(Math.max(r, dv));
    const scores = new Float64Array(kLen);
    for (let hd = 0; hd < h; hd++) {
      const wBase = hd * headRows * r; // W_UK,h rows [0, nope), W_UV,h rows [nope, nope + v)
      if (path === "expanded") {
        for (const t of neededKeys) {
          expandRow(kv, t * headRows, {
            wKvB,
            wBase,
            latent,
            cRow: layout.kRowOf[seq.kStart + t] * r,
            rows: headRows,
            r,
          });
        }
      }
      qs.forEach((q, qi) => {
        const keys = vis[qi];
        const oBase = (q * h + hd) * dv;
        if (keys.length === 0) {
          out.fill(0, oBase, oBase + dv);
          lse[q * h + hd] = -Infinity;
          return;
        }
        const qnBase = (layout.qRowOf[q] * h + hd) * nope;
        const qpBase = (qi * h + hd) * rope;
        if (path === "absorbed") {
          // q~_h[c] = sum_d q_nope[d] W_UK,h[d, c]
          qTilde.fill(0);
          for (let d = 0; d < nope; d++) {
            const qd = qNope[qnBase + d];
            const w = wBase + d * r;
            for (let c = 0; c < r; c++) qTilde[c] += qd * wKvB[w + c];
          }
        }
        let max = -Infinity;
        for (const t of keys) {
          let dot = 0;
          if (path === "expanded") {
            for (let d = 0; d < nope; d++) dot += qNope[qnBase + d] * kv[t * headRows + d];
          } else {
            const cRow = layout.kRowOf[seq.kStart + t] * r;
            for (let c = 0; c < r; c++) dot += qTilde[c] * latent[cRow + c];
          }
          for (let e = 0; e < rope; e++) dot += qPeRot[qpBase + e] * kPeRot[t * rope + e];
          const sc = s * dot;
          scores[t] = sc;
          if (sc > max) max = sc;
        }
        let sum = 0;
        x.fill(0);
        for (const t of keys) {
          const p = Math.exp(scores[t] - max);
          sum += p;
          if (path === "expanded") {
            for (let e = 0; e < dv; e++) x[e] += p * kv[t * headRows + nope + e];
          } else {
            const cRow = layout.kRowOf[seq.kStart + t] * r;
            for (let c = 0; c < r; c++) x[c] += p * latent[cRow + c];
          }
        }
        if (path === "expanded") {
          for (let e = 0; e < dv; e++) out[oBase + e] = x[e] / sum;
        } else {
          // o_h[e] = sum_c W_UV,h[e, c] x[c]
          for (let e = 0; e < dv; e++) {
            const w = wBase + (nope + e) * r;
            let acc = 0;
            for (let c = 0; c < r; c++) acc += wKvB[w + c] * x[c];
            out[oBase + e] = acc / sum;
          }
        }
        lse[q * h + hd] = max + Math.log(sum);
      });
    }
  }
  return { out, lse };
}

/**
 * The expanded ("naive") MLA attention reference in float64: per-head K/V are
 * materialized from the latent (`k_h = [W_UK,h c ; rope(k_pe)]`, `v_h = W_UV,h c`),
 * then ordinary multi-head attention with head widths nope+rope (q/k) and v.
 * Outputs are in logical query order: `out` [totalQ, h, v], `lse` [totalQ, h]; rows not
 * in `options.rows` are NaN; a query that sees no key gets 0 and LSE -Infinity.
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { makeAttentionInputs } from "./inputs.ts";
 * import { denseAttention } from "./attention.ts";
 * const spec = presetSpec("tiny");
 * const layout = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 3, 7], causal: true });
 * const inputs = makeAttentionInputs(spec, layout, { seed: 1 });
 * const { out, lse } = denseAttention(spec, layout, { inputs });
 * out.length; // 7 * 4 * 16
 * ```
 */
export function denseAttention(
  spec: MlaSpec,
  layout: NormalizedLayout,
  options: AttentionOptions,
): AttentionResult {
  return compute(spec, layout, options, "expanded", "denseAttention");
}

/**
 * The absorbed MLA attention reference in float64 (what FlashMLA-style kernels
 * compute): W_UK is absorbed into the query (`q~_h = q_nope,h W_UK,h`, width r), the
 * scores read the shared latent row `[c ; rope(k_pe)]`, the latent is accumulated
 * (`x_h = sum_t p_t c_t`) and W_UV is applied last (`o_h = W_UV,h x_h`). Same
 * signature and outputs as {@link denseAttention}.
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { makeAttentionInputs } from "./inputs.ts";
 * import { absorbedAttention } from "./attention.ts";
 * const spec = presetSpec("tiny");
 * const layout = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 1, seqK: 6, causal: true });
 * const inputs = makeAttentionInputs(spec, layout, { seed: 1 });
 * const { lse } = absorbedAttention(spec, layout, { inputs, rows: [1] }); // row 0 is NaN
 * ```
 */
export function absorbedAttention(
  spec: MlaSpec,
  layout: NormalizedLayout,
  options: AttentionOptions,
): AttentionResult {
  return compute(spec, layout, options, "absorbed", "absorbedAttention");
}

/**
 * The attention reference of the given path: {@link denseAttention} for
 * "expanded", {@link absorbedAttention} for "absorbed".
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { makeAttentionInputs } from "./inputs.ts";
 * import { attention } from "./attention.ts";
 * const spec = presetSpec("tiny");
 * const layout = normalizeLayout({ kind: "sbhd", batch: 2, seqQ: 3, seqK: 3, causal: false });
 * const inputs = makeAttentionInputs(spec, layout, { seed: 2 });
 * attention(spec, layout, { inputs, path: "absorbed" }).out.length; // 6 * 4 * 16
 * ```
 */
export function attention(
  spec: MlaSpec,
  layout: NormalizedLayout,
  options: AttentionPathOptions,
): AttentionResult {
  checkOptions(options, "attention", OPTIONS_KEYS.replace("{ inputs,", "{ inputs, path,"));
  return compute(spec, layout, options, options.path, "attention");
}
