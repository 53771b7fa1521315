/**
 * Building the canonical {@link MlaSpec} from validated parameters: every derived
 * value (k/v channels, softmax scale with YaRN m^2, inverse frequencies) is
 * computed here, once.
 *
 * @module
 */
import {
  longropeCosSinScale,
  longropeInvFreq,
  plainInvFreq,
  yarnGetMscale,
  yarnInvFreq,
} from "./rope.ts";
import type {
  LongRopeParams,
  MlaSpec,
  Plan,
  QueryTemperature,
  RopePairing,
  SpecSource,
  YarnParams,
} from "./types.ts";

/** The independent parameters of an MLA layer, before derivation. */
export interface MlaParams {
  /** Model width. */
  hiddenSize: number;
  /** Query heads. */
  numHeads: number;
  /** Query compression rank or null. */
  qLoraRank: number | null;
  /** Latent width. */
  kvLoraRank: number;
  /** Per-head no-position width. */
  qkNopeHeadDim: number;
  /** Decoupled RoPE width. */
  qkRopeHeadDim: number;
  /** Per-head value width. */
  vHeadDim: number;
  /** RMSNorm epsilon. */
  rmsNormEps: number;
  /** RoPE base. */
  ropeTheta: number;
  /** YaRN parameters or null. */
  yarn: YarnParams | null;
  /** RoPE pairing. */
  ropePairing: RopePairing;
  /** MiniCPM3's LongRoPE (absent: none; exclusive with YaRN and NoPE). */
  longrope?: LongRopeParams;
  /** DeepSeek-V3.2's sparse attention: the keys per query its indexer picks (absent: dense). */
  indexTopK?: number;
  /** Mistral 4: the softmax takes no YaRN m^2 (absent: m^2 / sqrt(k), DeepSeek's). */
  softmaxWithoutYarnM?: true;
  /** Mistral 4's query temperature (llama_4_scaling_beta; absent: none). */
  queryTemperature?: QueryTemperature;
  /** Kimi's mla_use_nope: no RoPE (the rope channels unrotated; absent: RoPE). */
  mlaUseNope?: true;
  /** Kimi K3's mla_use_output_gate: the layer gates the attention output (absent: no gate). */
  mlaOutputGate?: true;
  /** LongCat-Flash's mla_scale_q_lora: the q latent scaled by sqrt(hidden / q_lora_rank). */
  mlaScaleQLora?: true;
  /** LongCat-Flash's mla_scale_kv_lora: the latent scaled by sqrt(hidden / kv_lora_rank). */
  mlaScaleKvLora?: true;
  /** attention_bias: biases on q_a_proj, kv_a_proj_with_mqa and o_proj (absent: none). */
  attentionBias?: true;
  /** Megatron without qk_layernorm: the latent norms are the identity (absent: RMSNorm). */
  noLatentNorms?: true;
  /**
   * The softmax's factor m without YaRN RoPE (absent: 1): Megatron's MLA scales the softmax
   * by m(rotary_scaling_factor, mscale_all_dim)^2 whatever its rope_type, so a rope_type
   * "rope" config can still have m > 1. Exclusive with `yarn` (whose m it would be).
   */
  softmaxMscale?: number;
}

/** Options of {@link buildSpec}. */
export interface BuildSpecOptions {
  /** Name recorded in the spec. */
  name: string;
  /** Source recorded in the spec. */
  source: SpecSource;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Derive every value of the canonical spec from validated parameters. The result
 * is deeply frozen.
 *
 * @example
 * ```ts
 * import { buildSpec } from "./spec.ts";
 * const spec = buildSpec({
 *   hiddenSize: 64, numHeads: 4, qLoraRank: null, kvLoraRank: 32, qkNopeHeadDim: 16,
 *   qkRopeHeadDim: 8, vHeadDim: 16, rmsNormEps: 1e-6, ropeTheta: 10000, yarn: null,
 *   ropePairing: "interleaved",
 * }, { name: "tiny", source: "preset" });
 * spec.kChannels; // 24
 * ```
 */
export function buildSpec(params: MlaParams, options: BuildSpecOptions): MlaSpec {
  const kChannels = params.qkNopeHeadDim + params.qkRopeHeadDim;
  const yarn = params.yarn && params.yarn.factor > 1 ? params.yarn : null;
  if (params.mlaUseNope && yarn) {
    // The config reader refuses this pair (what the model's code does with YaRN's softmax
    // factor without RoPE is not known here); code that builds one is wrong.
    throw new Error(`buildSpec ${options.name}: mlaUseNope with YaRN (factor ${yarn.factor})`);
  }
  const lr = params.longrope;
  if (lr && (yarn || params.mlaUseNope)) {
    throw new Error(`buildSpec ${options.name}: LongRoPE with ${yarn ? "YaRN" : "mlaUseNope"}`);
  }
  if (params.mlaScaleQLora && params.qLoraRank === null) {
    throw new Error(`buildSpec ${options.name}: mlaScaleQLora without a q_lora_rank`);
  }
  if (yarn && params.softmaxMscale !== undefined) {
    throw new Error(`buildSpec ${options.name}: softmaxMscale with YaRN (its m is YaRN's)`);
  }
  const yarnM = yarn ? yarnGetMscale(yarn.factor, yarn.mscaleAllDim) : params.softmaxMscale ?? 1;
  const ropeCosSinScale = yarn
    ? yarnGetMscale(yarn.factor, yarn.mscale) / yarnGetMscale(yarn.factor, yarn.mscaleAllDim)
    : lr
    ? longropeCosSinScale(lr.maxPositionEmbeddings, lr.originalMaxPositionEmbeddings)
    : 1;
  // NoPE: zero frequencies make every rotation the identity (cos 0 = 1, sin 0 = 0 exactly),
  // in the kernels and the float64 reference alike, with no second code path.
  const invFreq = params.mlaUseNope
    ? new Array<number>(params.qkRopeHeadDim / 2).fill(0)
    : yarn
    ? yarnInvFreq(params.qkRopeHeadDim, params.ropeTheta, yarn)
    : lr
    ? longropeInvFreq(
      params.qkRopeHeadDim,
      params.ropeTheta,
      lr.factors === "long" ? lr.longFactor : lr.shortFactor,
    )
    : plainInvFreq(params.qkRopeHeadDim, params.ropeTheta);
  const spec: MlaSpec = {
    name: options.name,
    source: options.source,
    hiddenSize: params.hiddenSize,
    numHeads: params.numHeads,
    qLoraRank: params.qLoraRank,
    kvLoraRank: params.kvLoraRank,
    qkNopeHeadDim: params.qkNopeHeadDim,
    qkRopeHeadDim: params.qkRopeHeadDim,
    vHeadDim: params.vHeadDim,
    rmsNormEps: params.rmsNormEps,
    ropeTheta: params.ropeTheta,
    yarn: yarn ? { ...yarn } : null,
    ropePairing: params.ropePairing,
    ...(lr
      ? { longrope: { ...lr, shortFactor: [...lr.shortFactor], longFactor: [...lr.longFactor] } }
      : {}),
    qPath: params.qLoraRank === null ? "direct" : "low-rank",
    kChannels,
    vChannels: params.vHeadDim,
    latentCacheWidth: params.kvLoraRank + params.qkRopeHeadDim,
    yarnM,
    softmaxScale: (params.softmaxWithoutYarnM ? 1 : yarnM * yarnM) / Math.sqrt(kChannels),
    ropeCosSinScale,
    invFreq,
    ...(params.indexTopK === undefined ? {} : { indexTopK: params.indexTopK }),
    ...(params.softmaxWithoutYarnM ? { softmaxWithoutYarnM: true as const } : {}),
    ...(params.queryTemperature ? { queryTemperature: { ...params.queryTemperature } } : {}),
    ...(params.mlaUseNope ? { mlaUseNope: true as const } : {}),
    ...(params.mlaOutputGate ? { mlaOutputGate: true as const } : {}),
    ...(params.mlaScaleQLora && params.qLoraRank !== null
      ? { qLatentScale: Math.sqrt(params.hiddenSize / params.qLoraRank) }
      : {}),
    ...(params.mlaScaleKvLora
      ? { kvLatentScale: Math.sqrt(params.hiddenSize / params.kvLoraRank) }
      : {}),
    ...(params.attentionBias ? { attentionBias: true as const } : {}),
    ...(params.noLatentNorms ? { noLatentNorms: true as const } : {}),
  };
  return deepFreeze(spec);
}

/**
 * A copy of a spec with some parameters replaced, re-derived from scratch (specs are
 * immutable; derived values are never patched by hand).
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { withParams } from "./spec.ts";
 * const neox = withParams(presetSpec("tiny"), { ropePairing: "neox" });
 * neox.ropePairing; // "neox"
 * ```
 */
export function withParams(spec: MlaSpec, changes: Partial<MlaParams>): MlaSpec {
  return buildSpec({ ...specParams(spec), ...changes }, { name: spec.name, source: spec.source });
}

/**
 * The independent parameters of a spec (the inverse of {@link buildSpec}).
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { specParams } from "./spec.ts";
 * specParams(presetSpec("tiny")).kvLoraRank; // 32
 * ```
 */
export function specParams(spec: MlaSpec): MlaParams {
  return {
    hiddenSize: spec.hiddenSize,
    numHeads: spec.numHeads,
    qLoraRank: spec.qLoraRank,
    kvLoraRank: spec.kvLoraRank,
    qkNopeHeadDim: spec.qkNopeHeadDim,
    qkRopeHeadDim: spec.qkRopeHeadDim,
    vHeadDim: spec.vHeadDim,
    rmsNormEps: spec.rmsNormEps,
    ropeTheta: spec.ropeTheta,
    yarn: spec.yarn ? { ...spec.yarn } : null,
    ropePairing: spec.ropePairing,
    ...(spec.longrope ? { longrope: spec.longrope } : {}),
    ...(spec.indexTopK === undefined ? {} : { indexTopK: spec.indexTopK }),
    ...(spec.softmaxWithoutYarnM ? { softmaxWithoutYarnM: true as const } : {}),
    ...(spec.queryTemperature ? { queryTemperature: { ...spec.queryTemperature } } : {}),
    ...(spec.mlaUseNope ? { mlaUseNope: true as const } : {}),
    ...(spec.mlaOutputGate ? { mlaOutputGate: true as const } : {}),
    ...(spec.qLatentScale !== undefined ? { mlaScaleQLora: true as const } : {}),
    ...(spec.kvLatentScale !== undefined ? { mlaScaleKvLora: true as const } : {}),
    ...(spec.attentionBias ? { attentionBias: true as const } : {}),
    ...(spec.noLatentNorms ? { noLatentNorms: true as const } : {}),
    // m without YaRN: only Megatron's rope_type "rope" sets it
    ...(!spec.yarn && spec.yarnM !== 1 ? { softmaxMscale: spec.yarnM } : {}),
  };
}

/** A JSON value with its object keys sorted, so that two equal specs give one text. */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${sortedJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * The first field (sorted by name) in which two specs differ, or null when they describe
 * the same layer. `name` and `source` are left out: two readings of one model (a preset and
 * its config.json, or two `presetSpec` calls) are the same spec to the kernels, whose
 * weights (scaled latent norms included) fit both.
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { specDifference } from "./spec.ts";
 * specDifference(presetSpec("tiny"), presetSpec("tiny")); // null
 * specDifference(presetSpec("tiny"), presetSpec("tiny-yarn")); // "invFreq"
 * ```
 */
export function specDifference(a: MlaSpec, b: MlaSpec): string | null {
  if (a === b) return null;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const f of fields) {
    if (f === "name" || f === "source") continue;
    const [x, y] = [
      (a as unknown as Record<string, unknown>)[f],
      (b as unknown as Record<string, unknown>)[f],
    ];
    if (sortedJson(x) !== sortedJson(y)) return f;
  }
  return null;
}

/** What a plan's attention takes from its spec: all of it but the backend's key and value widths. */
export type SpecAttention = Omit<Plan["attention"], "keyWidth" | "valueWidth">;

/**
 * The attention settings a plan takes from its spec (its widths, softmax scale and RoPE):
 * what `resolve()` (resolve.ts) writes into `plan.attention`, beside the backend's key and value widths.
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { specAttention } from "./spec.ts";
 * specAttention(presetSpec("tiny")).kChannels; // 24
 * ```
 */
export function specAttention(spec: MlaSpec): SpecAttention {
  return {
    numHeads: spec.numHeads,
    qkNopeHeadDim: spec.qkNopeHeadDim,
    qkRopeHeadDim: spec.qkRopeHeadDim,
    kvLoraRank: spec.kvLoraRank,
    kChannels: spec.kChannels,
    vChannels: spec.vChannels,
    softmaxScale: spec.softmaxScale,
    rope: {
      pairing: spec.ropePairing,
      invFreq: [...spec.invFreq],
      cosSinScale: spec.ropeCosSinScale,
    },
  };
}

/**
 * The first attention setting in which a plan differs from a spec ({@link specAttention}:
 * a width, `softmaxScale`, or `rope.pairing`, `rope.invFreq`, `rope.cosSinScale`), or null.
 * The kernels take the scale and the RoPE from the plan, so a plan resolved for another
 * spec (a YaRN variant of the same widths) runs that spec's attention: `runLayer` and
 * `decodeStep` refuse it.
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { resolve } from "./resolve.ts";
 * import { planSpecDifference } from "./spec.ts";
 * const plan = resolve({
 *   spec: presetSpec("tiny-yarn"), dtype: "f32", backend: "cpu-reference",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true },
 * }, null);
 * if (plan.kind === "plan") planSpecDifference(plan, presetSpec("tiny")); // "softmaxScale"
 * ```
 */
export function planSpecDifference(
  plan: Pick<Plan, "attention">,
  spec: MlaSpec,
): string | null {
  const want = specAttention(spec);
  const got = plan.attention;
  const fields = (Object.keys(want) as (keyof SpecAttention)[]).filter((k) => k !== "rope");
  for (const k of fields) if (got[k] !== want[k]) return k;
  if (got.rope.pairing !== want.rope.pairing) return "rope.pairing";
  if (got.rope.cosSinScale !== want.rope.cosSinScale) return "rope.cosSinScale";
  const f = got.rope.invFreq;
  if (f.length !== want.rope.invFreq.length || f.some((v, i) => v !== want.rope.invFreq[i])) {
    return "rope.invFreq";
  }
  return null;
}
