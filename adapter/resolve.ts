/**
 * `resolve()`: the one place a case becomes an explicit {@link Plan} or an explicit
 * {@link Unsupported} carrying every reason.
 *
 * @module
 */
import { longropeReason } from "./longrope.ts";
import { TOO_SLOW_CODE, tooSlowReason, workgroupElementCap } from "./slow_device.ts";
import { autoPathOf, autoPriority, loopHelpers, pathPriority } from "./backends.ts";
import { normalizeLayout } from "./layout.ts";
import { referenceFormulation } from "./reference_choice.ts";
import { harnessGridReasons } from "./grids.ts";
import { harnessTilesOf } from "./harness_tiles.ts";
import { deviceClassOf } from "./device_class.ts";
import { askBackend } from "./backend_answer.ts";
import {
  backendById,
  backendModuleOf,
  isBundledBackend,
  registeredBackendIds,
} from "./registry.ts";
import type {
  BackendId,
  CaseRequest,
  DeviceCaps,
  Dtype,
  GpuPlan,
  MlaSpec,
  NormalizedLayout,
  Plan,
  Reason,
  Resolution,
  Unsupported,
} from "./types.ts";
import { ConfigError } from "./errors.ts";
import { specAttention } from "./spec.ts";

/** The storage dtypes a case may ask for. */
const DTYPE_NAMES: readonly Dtype[] = ["f32", "f16"];

/** Options of {@link resolve}. */
export interface ResolveOptions {
  /** Force a number of KV splits for the absorbed kernel. */
  kvSplits?: number;
}

/** Reason code of a full layer on a spec with an output gate ({@link layerReasons}). */
export const OUTPUT_GATE_CODE = "spec.output-gate";

/** Reason code of a full layer on a spec with attention biases ({@link layerReasons}). */
export const ATTENTION_BIAS_CODE = "spec.attention-bias";

/** Reason code of a full layer on a spec without latent norms ({@link layerReasons}). */
export const NO_LATENT_NORMS_CODE = "spec.no-latent-norms";

/**
 * Why the harness's full layer (`layer`, mode layer, a decode step) cannot compute a spec's
 * model, one reason per missing piece (empty: it can): an output gate (Kimi K3's
 * `mla_use_output_gate`: sigmoid(g_proj(x)) times the attention, before o_proj) or attention
 * biases (`attention_bias`: on q_a_proj, kv_a_proj_with_mqa and o_proj), or no latent norms
 * (a Megatron config without `qk_layernorm`). The attention core is unaffected: run, bench
 * and explain take the spec.
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { layerReasons } from "./resolve.ts";
 * import { withParams } from "./spec.ts";
 * layerReasons(presetSpec("tiny")).length; // 0
 * layerReasons(withParams(presetSpec("tiny"), { mlaOutputGate: true }))[0].code; // "spec.output-gate"
 * ```
 */
export function layerReasons(spec: MlaSpec): Reason[] {
  const reasons: Reason[] = [];
  if (spec.mlaOutputGate === true) {
    reasons.push({
      code: OUTPUT_GATE_CODE,
      message: `${spec.name} gates the attention output (mla_use_output_gate or ` +
        "gated_attention_proj_granularity_type: " +
        "sigmoid(g_proj(x)) times the attention, before o_proj), which the harness's layer " +
        "does not compute; the attention core alone (mode attention: run, bench) takes it",
    });
  }
  if (spec.attentionBias === true) {
    reasons.push({
      code: ATTENTION_BIAS_CODE,
      message: `${spec.name} has attention biases (${
        spec.source === "megatron"
          ? "Megatron's add_bias_linear, true or absent: on linear_proj, its o_proj"
          : "attention_bias: on the projections, in DeepSeek's code q_a_proj, " +
            "kv_a_proj_with_mqa and o_proj"
      }), which the harness's layer does not add; the attention core alone (mode attention: ` +
        "run, bench) takes it",
    });
  }
  if (spec.noLatentNorms === true) {
    reasons.push({
      code: NO_LATENT_NORMS_CODE,
      message: `${spec.name} has no latent norms (${
        spec.source === "megatron"
          ? "Megatron without qk_layernorm: q_layernorm and kv_layernorm are the identity"
          : "qk_latent_layernorm or qk_latent_norm false: no q_a_layernorm or kv_a_layernorm"
      }), and the harness's layer always applies them; ` +
        "the attention core alone (mode attention: run, bench) takes it",
    });
  }
  return reasons;
}

/** Reason code of a case past a sparse-attention spec's top-k ({@link sparseAttentionReason}). */
export const SPARSE_ATTENTION_CODE = "spec.sparse-attention";

/**
 * Why a case cannot be computed as its model computes it, or null: a spec with DeepSeek-V3.2's
 * sparse attention (`indexTopK`) where some query sees more keys than its indexer keeps. Dense
 * MLA (what every backend and the float64 reference compute) is that model's attention only
 * while every query sees at most top-k keys (then the indexer keeps them all).
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { sparseAttentionReason } from "./resolve.ts";
 * import { withParams } from "./spec.ts";
 * const v32 = withParams(presetSpec("tiny"), { indexTopK: 16 });
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 17, causal: true });
 * sparseAttentionReason(v32, layout)?.code; // "spec.sparse-attention"
 * ```
 */
export function sparseAttentionReason(spec: MlaSpec, layout: NormalizedLayout): Reason | null {
  const topK = spec.indexTopK;
  if (topK === undefined) return null;
  const most = layout.seqs.reduce((m, s) => Math.max(m, s.kLen), 0);
  if (most <= topK) return null;
  return {
    code: SPARSE_ATTENTION_CODE,
    message:
      `the spec has DeepSeek-V3.2's sparse attention (${
        spec.source === "megatron" ? "dsa_indexer_topk" : "index_topk"
      } ${topK}): each query ` +
      `attends to the ${topK} keys its indexer picks, but queries here see up to ${most} keys, ` +
      `where dense MLA (what the harness computes) differs; use at most ${topK} keys per sequence`,
  };
}

/** Reason code of a case past a query temperature's original length ({@link queryTemperatureReason}). */
export const QUERY_TEMPERATURE_CODE = "spec.query-temperature";

/**
 * Why a case cannot be computed as its model computes it, or null: a spec with Mistral 4's
 * query temperature (`queryTemperature`) where some query sits at or past its original length.
 * Below it the temperature, 1 + beta * ln(1 + floor(position / original)), is exactly 1, and
 * the harness (which applies none) computes the model's attention.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { queryTemperatureReason } from "./resolve.ts";
 * import { withParams } from "./spec.ts";
 * const m4 = withParams(presetSpec("tiny"), {
 *   queryTemperature: { beta: 0.1, originalMaxPositionEmbeddings: 16 },
 * });
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 17, causal: true });
 * queryTemperatureReason(m4, layout)?.code; // "spec.query-temperature"
 * ```
 */
export function queryTemperatureReason(spec: MlaSpec, layout: NormalizedLayout): Reason | null {
  const t = spec.queryTemperature;
  if (t === undefined) return null;
  // The last query of a sequence sits at position max(0, causalOffset + qLen - 1) (layout.ts).
  const last = layout.seqs.reduce(
    (m, s) => s.qLen > 0 ? Math.max(m, s.causalOffset + s.qLen - 1) : m,
    0,
  );
  if (last < t.originalMaxPositionEmbeddings) return null;
  return {
    code: QUERY_TEMPERATURE_CODE,
    message: `the spec has a query temperature (Mistral 4's llama_4_scaling_beta, vLLM's ` +
      `llama_4_scaling: beta ${t.beta}): ` +
      `a query at position p is multiplied by 1 + ${t.beta} * ln(1 + floor(p / ` +
      `${t.originalMaxPositionEmbeddings})), which the harness does not apply; queries here ` +
      `reach position ${last}, where it is not 1; use at most ` +
      `${t.originalMaxPositionEmbeddings} keys per sequence`,
  };
}

/** Reason code of a layout in which no sequence has a key ({@link noKeysReason}). */
export const NO_KEYS_CODE = "layout.no-keys";

/**
 * Why a GPU backend cannot run a layout in which no sequence has a key (sk = 0), or null
 * when some sequence has one. The key cache would be an empty buffer, which WebGPU
 * cannot bind; and with no key there is nothing to attend. Sequences with no visible key
 * are covered (their rows' outputs are zero and their LSE -inf) whenever at least one
 * sequence has keys.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { noKeysReason } from "./resolve.ts";
 * noKeysReason(normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 0, causal: true }))
 *   ?.code; // "layout.no-keys"
 * ```
 */
export function noKeysReason(layout: NormalizedLayout): Reason | null {
  if (layout.totalK > 0) return null;
  return {
    code: NO_KEYS_CODE,
    message: `no sequence has a key (${layout.seqs.length} sequence(s), 0 keys in all): ` +
      "there is nothing to attend, and the GPU backends cannot bind an empty key cache; " +
      "rows with no visible key are covered when at least one sequence has keys (e.g. " +
      "varlen normal-empty with sk >= 1)",
  };
}

/** Reason code of a layout with no query token ({@link noQueriesReason}). */
export const NO_QUERIES_CODE = "layout.no-queries";

/**
 * Why no backend runs a layout with no query token (every sequence of a packed layout has
 * zero queries, e.g. cu_seqlens 0,0), or null when some sequence has one. There is nothing
 * to compute: the plan's q and output buffers would be 0 bytes, which the gemm kernels
 * bound (a WebGPU validation error: "binding size is zero"), and a parity check of zero
 * rows has no shape to compare.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { noQueriesReason } from "./resolve.ts";
 * noQueriesReason(normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 0], cuSeqlensK: [0, 3], causal: false }))
 *   ?.code; // "layout.no-queries"
 * ```
 */
export function noQueriesReason(layout: NormalizedLayout): Reason | null {
  if (layout.totalQ > 0) return null;
  return {
    code: NO_QUERIES_CODE,
    message: `no sequence has a query token (${layout.seqs.length} sequence(s), 0 queries ` +
      `and ${layout.totalK} keys in all): there is nothing to compute; give at least one ` +
      "sequence a query (sequences with no query beside others are covered)",
  };
}

/** Reason code of a plan that does not run the KV splits a case forces ({@link forcedSplitsReason}). */
export const KV_SPLITS_CODE = "variant.kv-splits";

/**
 * Why a backend's plan cannot stand for a case that forces `forced` KV splits (the matrix's
 * `splits` axis, `explain --kv-splits`), or null: a plan with another number of splits would
 * run something other than what the case id and the report say. A backend that already gave
 * a `variant.kv-splits` reason is not told twice. This holds for every backend, a user's
 * included, so that a forced split is never silently dropped.
 *
 * @example
 * ```ts
 * import { forcedSplitsReason } from "./resolve.ts";
 * forcedSplitsReason("wgsl-expanded", [], 1, 3)?.code; // "variant.kv-splits"
 * forcedSplitsReason("wgsl-absorbed", [], 3, 3); // null
 * ```
 */
export function forcedSplitsReason(
  backend: BackendId,
  given: readonly Reason[],
  planned: number,
  forced: number | undefined,
): Reason | null {
  if (forced === undefined || planned === forced) return null;
  if (given.some((r) => r.code === KV_SPLITS_CODE)) return null;
  // The backend of the same path that takes a forced count (a case's path stays its own).
  const splitting = backendById(backend)?.path === "expanded"
    ? "wgsl-expanded-tiled"
    : "wgsl-absorbed";
  return {
    code: KV_SPLITS_CODE,
    message: `the case forces ${forced} KV split(s), but ${backend} plans ${planned}: it ` +
      "does not split keys that way; leave the splits to the adapter (matrix axis splits 0, or " +
      `no --kv-splits) or use backend ${splitting}`,
  };
}

// The advice a bundled backend's reason gives that names another backend or a path:
// `use backend X`, `or (use) backend X`, `use the P path`, `or the P path`, each with an optional
// parenthesized why.
const ADVICE =
  /(,? )?\b(or use|use|or) (?:backend ([a-z][a-z0-9._-]*)|the (absorbed|expanded) path)( \([^()]*\))?/g;

/**
 * `message` with each piece of advice that names another backend (or a path) checked
 * against the case: where what it names refuses the case too, the advice says so with its
 * codes instead of sending the reader to it.
 */
function checkedAdvice(
  message: string,
  at: {
    req: CaseRequest;
    layout: NormalizedLayout;
    caps: DeviceCaps | null;
    options: ResolveOptions;
  },
): string {
  return message.replace(
    ADVICE,
    (
      whole,
      before: string | undefined,
      verb: string,
      id: string | undefined,
      path: string | undefined,
    ) => {
      const target = id ?? `auto:${path}`;
      const r = resolveWith({ ...at.req, backend: target }, at.caps, at.options, {
        layout: at.layout,
        checkAdvice: false,
      });
      if (r.kind === "plan") return whole;
      const codes = [...new Set(r.reasons.map((x) => x.code))].join(", ");
      const named = id === undefined ? `the ${path} path` : `backend ${id}`;
      // "use X" becomes a statement; "or (use) X" a parenthesis after what came before it.
      return verb === "use"
        ? `${before ?? ""}${named} refuses this case too (${codes})`
        : `${before === undefined ? "" : " "}(${named} refuses this case too: ${codes})`;
    },
  );
}

function tryBackend(
  id: BackendId,
  req: CaseRequest,
  caps: DeviceCaps | null,
  options: ResolveOptions,
  at: { layout: NormalizedLayout; checkAdvice: boolean },
): Plan | Unsupported {
  const { layout } = at;
  const backend = backendById(id);
  if (!backend) {
    return {
      kind: "unsupported",
      backend: id,
      reasons: [{
        code: "backend.unknown",
        message: `no backend "${id}" is registered; registered: ${
          registeredBackendIds().join(", ")
        } (load a user backend with --backend-module)`,
      }],
    };
  }
  const query = {
    spec: req.spec,
    layout,
    dtype: req.dtype,
    caps,
    kvSplits: options.kvSplits,
    loop: loopHelpers(caps),
    workgroupElementCap: workgroupElementCap(caps),
  };
  // A user backend's answer is checked where the harness receives it: a malformed one is a
  // BackendAnswerError naming the backend and its module (adapter/backend_answer.ts).
  const answer = isBundledBackend(id)
    ? backend.check(query)
    : askBackend(backend, query, backendModuleOf(id));
  // A GPU plan on the GL fallback at model size: refused here, with the reason, so that
  // explain, run and bench agree (adapter/slow_device.ts).
  const slow = caps !== null && backend.runsOn === "gpu" ? tooSlowReason(req.spec, caps) : null;
  const gpuOnly = backend.runsOn === "gpu" ? [noKeysReason(layout), slow] : [];
  const harnessTiles = harnessTilesOf(answer.path, {
    deviceClass: deviceClassOf(caps)?.kind,
    limits: caps?.limits,
  });
  // The grids of the harness's passes around a bundled GPU backend's kernels (a user
  // backend's launcher decides which of them it runs).
  const harnessGrids = backend.runsOn === "gpu" && isBundledBackend(id)
    ? harnessGridReasons({
      spec: req.spec,
      layout,
      dtype: req.dtype,
      caps,
      path: answer.path,
      variant: answer.variant,
      harnessTiles,
      valueWidth: answer.valueWidth,
    })
    : [];
  const reasons = [
    ...answer.reasons,
    ...harnessGrids,
    ...[
      ...gpuOnly,
      noQueriesReason(layout),
      sparseAttentionReason(req.spec, layout),
      queryTemperatureReason(req.spec, layout),
      longropeReason(req.spec, layout),
      forcedSplitsReason(id, answer.reasons, answer.variant.kvSplits, options.kvSplits),
    ].filter((r): r is Reason => r !== null),
  ];
  if (reasons.length > 0) {
    return {
      kind: "unsupported",
      backend: id,
      reasons: at.checkAdvice && isBundledBackend(id)
        ? reasons.map((r) => ({
          ...r,
          message: checkedAdvice(r.message, { req, layout, caps, options }),
        }))
        : reasons,
    };
  }
  const { softmaxScale, rope, ...widths } = specAttention(req.spec);
  return {
    kind: "plan",
    backend: id,
    runsOn: backend.runsOn,
    reference: referenceFormulation(req.spec, layout),
    requested: req.backend,
    path: answer.path,
    variant: answer.variant,
    // in the key order plans always had: their digests (JSON of the plan) stay as they were
    attention: {
      ...widths,
      keyWidth: answer.keyWidth,
      valueWidth: answer.valueWidth,
      softmaxScale,
      rope,
    },
    harnessTiles,
    layout,
    buffers: answer.buffers,
    passedOver: [],
  };
}

/**
 * Resolve a case on a device (or on no device: `caps` null). A concrete backend
 * returns its plan or every reason it cannot run; `auto` tries
 * the order of `autoPriority` (by device class and decode/prefill), `auto:<path>` that of
 * `pathPriority` (the path's backends by device class), and, when nothing fits, returns an Unsupported
 * carrying every candidate's reasons (codes prefixed with the backend id). Bad
 * layouts, and a dtype other than f32 or f16, throw a `ConfigError` (bad input is not an
 * unsupported case).
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { resolve } from "./resolve.ts";
 * const r = resolve({
 *   spec: presetSpec("tiny"), dtype: "f16", backend: "auto",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
 * }, null);
 * r.kind; // "unsupported": there is no device
 * ```
 */
export function resolve(
  req: CaseRequest,
  caps: DeviceCaps | null,
  options: ResolveOptions = {},
): Resolution {
  return resolveWith(req, caps, options, { checkAdvice: true });
}

/** {@link resolve}, checking the advice of refusals (not when checking a piece of advice). */
function resolveWith(
  req: CaseRequest,
  caps: DeviceCaps | null,
  options: ResolveOptions,
  at: { layout?: NormalizedLayout; checkAdvice: boolean },
): Resolution {
  // A script's dtype is unchecked by the type system once cast or read from JSON: "bf16"
  // planned on cpu-reference and read as "no device" on the GPU backends.
  if (!(DTYPE_NAMES as readonly unknown[]).includes(req.dtype)) {
    throw new ConfigError("request", [{
      path: "dtype",
      value: req.dtype,
      message: `must be ${DTYPE_NAMES.map((d) => JSON.stringify(d)).join(" or ")}`,
    }], "invalid dtype");
  }
  const path = autoPathOf(req.backend);
  const layout = at.layout ?? normalizeLayout(req.layout);
  const tried = { layout, checkAdvice: at.checkAdvice };
  if (req.backend !== "auto" && path === null) {
    return tryBackend(req.backend, req, caps, options, tried);
  }
  const passedOver: Unsupported[] = [];
  // The device-class rules (adapter/backends.ts autoPriority, pathPriority) order the
  // candidates.
  const order = path === null
    ? autoPriority(layout, caps).order
    : pathPriority(path, layout, caps).order;
  for (const id of order) {
    const r = tryBackend(id, req, caps, options, tried);
    if (r.kind === "plan") return { ...r, passedOver };
    passedOver.push(r);
  }
  return {
    kind: "unsupported",
    backend: req.backend,
    reasons: candidateReasons(passedOver),
    tried: passedOver.map((u) => u.backend),
  };
}

const reasonKey = (r: Reason) => `${r.code}\n${r.message}`;

/**
 * The reasons of an `auto` refusal: those every candidate gave alike (same code and message:
 * the case's, as `layout.no-keys`) once and unprefixed, where there are two candidates or
 * more; then each candidate's own, prefixed by its id.
 */
function candidateReasons(candidates: readonly Unsupported[]): Reason[] {
  const shared = candidates.length < 2
    ? []
    : candidates[0].reasons.filter((r, i, all) =>
      all.findIndex((x) => reasonKey(x) === reasonKey(r)) === i &&
      candidates.every((u) => u.reasons.some((x) => reasonKey(x) === reasonKey(r)))
    );
  const sharedKeys = new Set(shared.map(reasonKey));
  return [
    ...shared,
    ...candidates.flatMap((u) =>
      u.reasons.filter((r) => !sharedKeys.has(reasonKey(r)))
        .map((r) => ({ code: `${u.backend}:${r.code}`, message: r.message }))
    ),
  ];
}

/**
 * Each backend an unsupported resolution tried, with the bare codes of every reason it
 * gave: for `auto` and `auto:<path>` the shared (unprefixed) reasons and its own (prefixed);
 * for a named backend, that backend with all of them.
 *
 * @example
 * ```ts
 * import { reasonsByCandidate } from "./resolve.ts";
 * reasonsByCandidate({
 *   kind: "unsupported", backend: "auto", tried: ["wgsl-absorbed", "wgsl-expanded"],
 *   reasons: [{ code: "layout.no-keys", message: "" }, { code: "wgsl-expanded:shape.not-vec4", message: "" }],
 * }).get("wgsl-expanded"); // ["layout.no-keys", "shape.not-vec4"]
 * ```
 */
export function reasonsByCandidate(u: Unsupported): Map<BackendId, string[]> {
  const shared = u.reasons.map((r) => splitReasonCode(r.code)).filter((c) => c.backend === null)
    .map((c) => c.code);
  const out = new Map<BackendId, string[]>();
  for (const id of u.tried ?? [u.backend]) out.set(id, [...shared]);
  for (const r of u.reasons) {
    const { backend, code } = splitReasonCode(r.code);
    if (backend !== null) out.set(backend, [...(out.get(backend) ?? shared), code]);
  }
  return out;
}

/**
 * Reason codes that mean "this device lacks a feature" (shader-f16, subgroups; the GL
 * fallback's speed), not "the backend or the case is wrong": a run reports a case expected
 * to run that is refused only for these as not covered on this device.
 */
export const DEVICE_FEATURE_CODES: readonly string[] = [
  "dtype.f16-unavailable",
  "device.no-subgroups",
  TOO_SLOW_CODE,
];

/**
 * Whether a reason code (with or without its backend prefix) is about what the device lacks
 * or limits: `device.*` (no subgroups, a loop budget, too slow), `limits.*` (a buffer or
 * workgroup over its limits) or a missing feature ({@link DEVICE_FEATURE_CODES}). Broader
 * than the features alone: a case refused only for these would run on a bigger device.
 *
 * @example
 * ```ts
 * import { isDeviceReasonCode } from "./resolve.ts";
 * isDeviceReasonCode("wgsl-absorbed:limits.buffer-too-large"); // true
 * isDeviceReasonCode("backend.path-mismatch"); // false
 * ```
 */
export function isDeviceReasonCode(code: string): boolean {
  const bare = splitReasonCode(code).code;
  return bare.startsWith("device.") || bare.startsWith("limits.") ||
    DEVICE_FEATURE_CODES.includes(bare);
}

/**
 * A reason code split into the backend prefix that `auto` and `auto:<path>` give each
 * candidate's codes (null without one: backend ids cannot contain ":") and the bare code.
 *
 * @example
 * ```ts
 * import { splitReasonCode } from "./resolve.ts";
 * splitReasonCode("wgsl-absorbed-gemm:dtype.f16-unavailable");
 * // { backend: "wgsl-absorbed-gemm", code: "dtype.f16-unavailable" }
 * splitReasonCode("limits.buffer-too-large"); // { backend: null, code: "limits.buffer-too-large" }
 * ```
 */
export function splitReasonCode(code: string): { backend: string | null; code: string } {
  const at = code.indexOf(":");
  return at < 0
    ? { backend: null, code }
    : { backend: code.slice(0, at), code: code.slice(at + 1) };
}

/**
 * A reason code without its backend prefix ({@link splitReasonCode}).
 *
 * @example
 * ```ts
 * import { bareReasonCode } from "./resolve.ts";
 * bareReasonCode("wgsl-absorbed-gemm:dtype.f16-unavailable"); // "dtype.f16-unavailable"
 * ```
 */
export function bareReasonCode(code: string): string {
  return splitReasonCode(code).code;
}

/**
 * Whether a resolution is a plan that runs on the GPU (narrows to {@link GpuPlan}).
 *
 * @example
 * ```ts
 * import { isGpuPlan } from "./resolve.ts";
 * isGpuPlan({ kind: "unsupported", backend: "auto", reasons: [] }); // false
 * ```
 */
export function isGpuPlan(r: Resolution): r is GpuPlan {
  return r.kind === "plan" && r.runsOn === "gpu";
}

/**
 * The GPU plan of a resolution, or a TypeError saying why there is none (every
 * reason of an unsupported case; the backend of a CPU plan).
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { gpuPlanOf, resolve } from "./resolve.ts";
 * const r = resolve({ spec: presetSpec("tiny"), dtype: "f32", backend: "cpu-reference",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true } }, null);
 * try { gpuPlanOf(r); } catch (e) { (e as Error).message; } // "... runs on the cpu ..."
 * ```
 */
export function gpuPlanOf(r: Resolution): GpuPlan {
  if (r.kind === "unsupported") {
    throw new TypeError(
      `unsupported (${r.backend}): ${r.reasons.map((x) => `${x.code}: ${x.message}`).join("; ")}`,
    );
  }
  if (!isGpuPlan(r)) {
    throw new TypeError(`plan of backend ${r.backend} runs on the ${r.runsOn}, not on the GPU`);
  }
  return r;
}
