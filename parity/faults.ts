/**
 * Planted faults: known MLA bug classes as data, so the harness can prove its
 * comparisons catch them. Each fault either changes what the kernel is given (a
 * spec or plan change: the reference keeps the true spec and layout) or rewrites
 * a kernel source before compilation (through `runAttention`'s `mutate`). Each
 * fault also names a scenario (preset, dtype, path, layout) in which the bug is
 * observable: e.g. RoPE is relative, so wrong positions only show when queries
 * and keys are shifted by different amounts.
 *
 * A source mutation throws a {@link FaultPatternError} when its pattern is not in
 * the target file, so a kernel refactor cannot silently disable a fault.
 *
 * @module
 */
import { BUNDLED_BACKEND_OF_PATH } from "../adapter/backends.ts";
import type {
  AttentionPath,
  Dtype,
  LayoutRequest,
  MlaSpec,
  NormalizedLayout,
  Plan,
} from "../adapter/types.ts";

/** What a plan/spec fault receives and returns. */
export interface FaultTarget {
  /** The spec the kernel is run with. */
  readonly spec: MlaSpec;
  /** The plan the kernel is run with. */
  readonly plan: Plan;
}

/** How a fault is applied. */
export type FaultApply =
  | {
    /** A change of the spec or plan handed to the kernel (the reference keeps the originals). */
    readonly kind: "plan";
    /** Returns the faulty spec and plan. */
    readonly change: (target: FaultTarget) => FaultTarget;
  }
  | {
    /** A rewrite of one kernel's WGSL source. */
    readonly kind: "source";
    /** The kernel file it rewrites. */
    readonly file: string;
    /** The mutation, in the shape of `runAttention`'s `mutate` option. */
    readonly mutate: (fileName: string, source: string) => string;
  };

/** Where a fault is observable. */
export interface FaultScenario {
  /** Preset name. */
  readonly preset: string;
  /** Storage dtype. */
  readonly dtype: Dtype;
  /** Attention path (backend wgsl-absorbed or wgsl-expanded). */
  readonly path: AttentionPath;
  /** Layout request. */
  readonly layout: LayoutRequest;
  /**
   * "gpu": plan on this device's caps as a GPU-class device gives them (no loop budget,
   * not a fallback adapter, not named as a CPU implementation), for a fault in a path
   * only GPUs take (the K/V expansion's buffer reads); "cpu": as a cpu-class device gives
   * them (the class set, the loop budget the device's), for a fault in a path only
   * cpu-class devices take (weights and latent cache read through textures); absent: the
   * device's own caps.
   */
  readonly deviceClass?: "cpu" | "gpu";
  /**
   * Plan with textures of at most this many texels a side (the device's own limit where
   * smaller), for a fault only visible with several rows per texture row: adapters offer
   * 8192 to 32768, and a case that shares rows on one may not on another.
   */
  readonly maxTextureSide?: number;
  /** KV splits the scenario's plan must run (a fault in the split path); absent: the adapter's. */
  readonly kvSplits?: number;
}

/** One planted fault. */
export interface Fault {
  /** Stable id. */
  readonly id: string;
  /** The bug class it stands for. */
  readonly description: string;
  /** How to plant it. */
  readonly apply: FaultApply;
  /** A case in which it must be caught. */
  readonly scenario: FaultScenario;
  /**
   * Bundled backends that compile the faulted file and run the faulted code but on which
   * no input can show it, each with why (their kernels make up for it): a case run there
   * cannot catch it, so `run --plant-fault` counts it with the cases that run clean.
   */
  readonly blindOn?: Readonly<Record<string, string>>;
  /**
   * The storage dtype whose kernels the faulted code exists in (f16: the rewrite names the
   * f16 type, which an f32 kernel does not enable): a case of another dtype runs the clean
   * kernels (the rewrite passes its source through) and `run --plant-fault` says so.
   */
  readonly dtype?: Dtype;
  /**
   * The plan's split count the faulted code needs more than one of (`kvSplits`: the KV
   * splits the combine merges; `valueSplits`: the gemm values pass's key splits): with one
   * split it does not run, or changes nothing, and `run --plant-fault` says so.
   */
  readonly splitsOnly?: "kvSplits" | "valueSplits";
  /**
   * The plan's texture whose shared rows the faulted code reads (a variant field; "." into
   * `expandTextures`): a plan without it, or with one row per texture row, does not run
   * the faulted read or runs it unchanged, and `run --plant-fault` says so.
   */
  readonly sharedRows?: SharedRowsTexture;
  /**
   * Variant fields the faulted code needs more than these of (a statement guarded by
   * `if (EV > 4u)` of a head tile's second head): a plan with no more does not run it, and
   * `run --plant-fault` says so.
   */
  readonly variantOver?: Readonly<Partial<Record<"columnsPerInvocation" | "headsPerTile", number>>>;
  /**
   * The plan's texture the faulted code reads as packed f16 rows (rgba32uint): a plan whose
   * texture is another format (tiny's f16 cache: rgba16float) does not run it, and
   * `run --plant-fault` says so. "any": code that packs whichever texture is packed (the
   * copy into one, cache_texture.wgsl), run where some texture of the plan is. "unpacked":
   * code that copies whichever texture is not packed (cache_texture.wgsl's `// @nopacked`
   * lines), run where some texture the plan copies is not (a plan that packs every one,
   * f16 wgsl-expanded-gemm on a gpu-class device, runs the clean code).
   */
  readonly packedTexture?: "cacheTexture" | "any" | "unpacked";
  /**
   * The variant of a kernel with `// @sg:` and `// @nosg` lines (absorbed_tiled.wgsl) the
   * rewritten lines are code in: true, the subgroup variant's (`// @sg:`); false, the other's
   * (`// @nosg`). In the other variant they are comments, so a plan of it runs the clean
   * code and `run --plant-fault` says so. Absent: lines both variants run.
   */
  readonly subgroups?: boolean;
  /**
   * What of a bundled backend's plan the faulted code needs to show (derived from its
   * rewrite and the kernel's tiles: runner/fault_reach.ts): a plan without it runs the
   * fault where no input can show it, and `run --plant-fault` says so.
   */
  readonly reach?: FaultReach;
}

/**
 * What a fault's code needs of a plan to show ({@link Fault.reach}); `kernel` names the
 * key walk: absorbed_tiled.wgsl's (each split's `chunk` of the tile's keys, in
 * `keysPerBlock`-key tiles) or expanded_fa2.wgsl's (splits of whole key tiles).
 *
 * - `partial-query-tile`: a query tile holding fewer queries than the plan's `queryTile`
 *   (its repeated last query's rows).
 * - `several-key-tiles`: a split of a query tile that walks more than one key tile (the
 *   rescale, the prefetch of the next tile).
 * - `key-tile-past-row`: a query tile row whose visible keys end before a key tile its split
 *   walks starts (the tile-relative mask's u32 wrap).
 * - `tile-keys-past-first`: a query tile whose last query sees keys past the first
 *   query's, rounded up to whole 4-key blocks (expanded_gemm.wgsl's values pass).
 * - `decode-tile`: a plan of one-query tiles (`queryTile` 1): code of the decode tile only
 *   (expanded.wgsl's packed decode), which a prefill tile's plan compiles but never runs.
 * - `several-softmax-groups`: more (query token, head) rows than the gemm softmax's
 *   workgroup holds (gemm_softmax.wgsl: n = ceil(rows / WG) workgroups): its workgroup order
 *   over one workgroup is that workgroup.
 * - `later-sequence`: a sequence with queries whose keys start past the key buffer's first
 *   key (a second sequence with keys): a fault that reads a sequence's keys from the
 *   buffer's start reads the same keys in a case of one sequence.
 * - `key-count-past-vec4`: a query whose visible key count is not a multiple of 4: its score
 *   row's last vec4 holds slots past its keys (gemm_softmax.wgsl's masked slots); a row of
 *   whole vec4s has none, so code that keeps them changes nothing.
 * - `f16-accumulation`: f16 accumulation of a kernel's scores and outputs (`kernel`: whose
 *   score chains, absorbed.wgsl's, absorbed_tiled.wgsl's or expanded_fa2.wgsl's): any
 *   attention case and any f16 absorbed layer case shows it, an expanded layer case (looser
 *   tolerance, o_proj after the core) only where its scores are summed in long f16 chains
 *   (runner/fault_reach.ts `f16AccumulationChain`).
 * - `f16-score-rounding`: a rounding to f16 of absorbed_tiled.wgsl's partial scores that
 *   moves the scores more than the f16 tolerance lets through: an attention case (a layer
 *   case's tolerance is looser) whose scores are large enough and summed in long enough f16
 *   chains (every published preset's), over a few keys (runner/fault_reach.ts
 *   `f16ScoreRounding` derives and measures it).
 */
export type FaultReach =
  | { readonly need: "partial-query-tile" }
  | { readonly need: "several-key-tiles" | "key-tile-past-row"; readonly kernel: KeyWalk }
  | { readonly need: "tile-keys-past-first" }
  | { readonly need: "f16-score-rounding" }
  | { readonly need: "f16-accumulation"; readonly kernel: F16AccumulationKernel }
  | { readonly need: "later-sequence" }
  | { readonly need: "key-count-past-vec4" }
  | { readonly need: "decode-tile" }
  | { readonly need: "several-softmax-groups" };

/** The kernel whose score chains an f16-accumulation fault rounds (see {@link FaultReach}). */
export type F16AccumulationKernel = "absorbed" | "absorbed-tiled" | "fa2";

/** The key walk of a tiled kernel (see {@link FaultReach}). */
export type KeyWalk = "absorbed-tiled" | "fa2";

/** A texture of a plan's variant that may hold several rows per texture row. */
export type SharedRowsTexture =
  | "weightTexture"
  | "expandTextures.latent"
  | "keyTexture"
  | "cacheTexture"
  | "queryTexture"
  | "probTexture";

/**
 * A source mutation's pattern was not found in its kernel file.
 *
 * @example
 * ```ts
 * import { FaultPatternError } from "./faults.ts";
 * new FaultPatternError("lse-offset", "absorbed.wgsl", "m_run + log(l_run)").name;
 * // "FaultPatternError"
 * ```
 */
export class FaultPatternError extends Error {
  /** Which fault, which kernel file, and the pattern that was not found. */
  constructor(faultId: string, file: string, pattern: string) {
    super(
      `fault ${faultId}: pattern ${JSON.stringify(pattern)} not found in ${file}; ` +
        "the kernel changed, update the fault so it still plants the bug",
    );
    this.name = "FaultPatternError";
  }
}

/**
 * A source mutation of `file`: replace every match of `pattern` (a string or a
 * global RegExp) with `replacement`; throw a {@link FaultPatternError} when there
 * is no match. Other files pass through unchanged.
 *
 * @example
 * ```ts
 * import { sourceMutation } from "./faults.ts";
 * const m = sourceMutation("lse-offset", "a.wgsl", { pattern: "log(l)", replacement: "log(l) + 1.0" });
 * m("a.wgsl", "x = log(l);"); // "x = log(l) + 1.0;"
 * m("b.wgsl", "unchanged"); // "unchanged"
 * ```
 */
export function sourceMutation(
  faultId: string,
  file: string,
  options: { pattern: string | RegExp; replacement: string },
): (fileName: string, source: string) => string {
  const { pattern, replacement } = options;
  return (fileName, source) => {
    if (fileName !== file) return source;
    const found = typeof pattern === "string" ? source.includes(pattern) : pattern.test(source);
    if (typeof pattern !== "string") pattern.lastIndex = 0;
    if (!found) throw new FaultPatternError(faultId, file, String(pattern));
    return typeof pattern === "string"
      ? source.split(pattern).join(replacement)
      : source.replace(pattern, replacement);
  };
}

/**
 * A fault that rewrites one kernel file: `pattern` becomes `replacement` in `file`
 * ({@link sourceMutation}, which throws when the pattern is gone), observable in `scenario`.
 *
 * @example
 * ```ts
 * import { sourceFault } from "./faults.ts";
 * const f = sourceFault("lse-offset", "LSE off by 0.01", {
 *   file: "absorbed.wgsl",
 *   pattern: "m_run + log(l_run)",
 *   replacement: "m_run + log(l_run) + 0.01",
 *   scenario: {
 *     preset: "tiny", dtype: "f32", path: "absorbed",
 *     layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
 *   },
 * });
 * f.apply.kind; // "source"
 * ```
 */
export function sourceFault(
  id: string,
  description: string,
  options: {
    file: string;
    pattern: string | RegExp;
    replacement: string;
    scenario: FaultScenario;
    /** {@link Fault.blindOn}. */
    blindOn?: Readonly<Record<string, string>>;
    /** {@link Fault.dtype}: "f16" leaves a kernel specialized as f32 as it is. */
    dtype?: "f16";
    /** {@link Fault.splitsOnly}. */
    splitsOnly?: "kvSplits" | "valueSplits";
    /** {@link Fault.sharedRows}. */
    sharedRows?: SharedRowsTexture;
    /** {@link Fault.variantOver}. */
    variantOver?: Fault["variantOver"];
    /** {@link Fault.packedTexture}. */
    packedTexture?: "cacheTexture" | "any" | "unpacked";
    /** {@link Fault.reach}. */
    reach?: FaultReach;
    /** {@link Fault.subgroups}. */
    subgroups?: boolean;
  },
): Fault {
  const { file, pattern, replacement, scenario, blindOn, dtype, splitsOnly, sharedRows } = options;
  const { variantOver, packedTexture, reach, subgroups } = options;
  const mutation = sourceMutation(id, file, { pattern, replacement });
  // an f32 kernel has no f16 type: the rewrite would not compile (a case error, not a
  // check); a kernel specialized as f32 keeps its `// @enable-f16` line (kernels/source.ts)
  const mutate = dtype === "f16"
    ? (fileName: string, source: string) =>
      /^\/\/ @enable-f16$/m.test(source) ? source : mutation(fileName, source)
    : mutation;
  return {
    id,
    description,
    apply: { kind: "source", file, mutate },
    scenario,
    ...(blindOn === undefined ? {} : { blindOn }),
    ...(dtype === undefined ? {} : { dtype }),
    ...(splitsOnly === undefined ? {} : { splitsOnly }),
    ...(sharedRows === undefined ? {} : { sharedRows }),
    ...(variantOver === undefined ? {} : { variantOver }),
    ...(packedTexture === undefined ? {} : { packedTexture }),
    ...(reach === undefined ? {} : { reach }),
    ...(subgroups === undefined ? {} : { subgroups }),
  };
}

function withLayout(plan: Plan, layout: NormalizedLayout): Plan {
  return { ...plan, layout };
}

/**
 * Whether the plan's RoPE rotates nothing (every inverse frequency 0: Kimi's mla_use_nope):
 * then neither the pairing nor a position enters a score, and a RoPE fault changes nothing.
 */
function ropeFree(plan: Plan): boolean {
  return plan.attention.rope.invFreq.every((f) => f === 0);
}

/** A decode batch packed as THD: one query per sequence, caches of 5 and 7 keys. */
const THD_DECODE: LayoutRequest = {
  kind: "thd",
  cuSeqlensQ: [0, 1, 2],
  cuSeqlensK: [0, 5, 12],
  causal: true,
};

/** Causal prefill over two 64-query tiles and three 32-key tiles per sequence. */
const FA2_PREFILL: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 70, seqK: 90, causal: true };

/** Two decode queries (MTP) per sequence against a 40-key cache (more than one 32-key block). */
const BSHD_MTP: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 2, seqK: 40, causal: true };

/**
 * A causal prefill of 6 queries: one whole 4-query tile and one partial tile of 2, whose
 * two missing slots repeat its last query (the lane kernels' QT = 4 tiles).
 */
const BSHD_PARTIAL_TILE: LayoutRequest = {
  kind: "bshd",
  batch: 1,
  seqQ: 6,
  seqK: 40,
  causal: true,
};

/** The scenario most faults use: tiny, f32, absorbed, a 2-query MTP step over 40 keys. */
const TINY_ABSORBED_MTP: FaultScenario = {
  preset: "tiny",
  dtype: "f32",
  path: "absorbed",
  layout: BSHD_MTP,
};

/** V2-Lite f16 MTP over 600 keys: where an f16 accumulator loses the sum (absorbed kernels). */
const V2_LITE_F16_MTP: FaultScenario = {
  preset: "deepseek-v2-lite",
  dtype: "f16",
  path: "absorbed",
  layout: { kind: "bshd", batch: 1, seqQ: 2, seqK: 600, causal: true },
};

/**
 * An expanded decode with more (key row, head) rows (2 x 4200 x 4) than any device's
 * texture side, so the K and V textures of
 * wgsl-expanded and wgsl-expanded-gemm hold several rows per texture row.
 */
const TINY_EXPANDED_TEXTURE_ROWS_SHARED: FaultScenario = {
  preset: "tiny",
  dtype: "f32",
  path: "expanded",
  layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 4200, causal: true },
};

/**
 * A tiny decode of 4 x 4200 = 16800 cache rows: more than a texture side of 16384 (lavapipe's,
 * and the most it is planned with: a GPU offers 32768) or 8192, so the K/V expansion's
 * latent texture, read on a cpu-class device, holds two or more rows per texture row, while
 * each sequence's 4200 keys stay within lavapipe's loop budget.
 */
const TINY_EXPANDED_LATENT_ROWS_SHARED: FaultScenario = {
  preset: "tiny",
  dtype: "f32",
  path: "expanded",
  layout: { kind: "bshd", batch: 4, seqQ: 1, seqK: 4200, causal: true },
  deviceClass: "cpu",
  maxTextureSide: 16384,
};

/**
 * A tiny f16 decode: wgsl-expanded packs its K and V two vec4s of halves per rgba32uint
 * texel (6 and 4 vec4s per row, both even).
 */
const TINY_F16_DECODE_PACKED: FaultScenario = {
  preset: "tiny",
  dtype: "f16",
  path: "expanded",
  layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 37, causal: true },
};

/**
 * A causal prefill of 40 queries over 70 keys (bshd, one sequence): the queries see 31 to
 * 70 keys, so one query tile holds rows whose limit is below the start of a later key
 * tile of the tile's range (every staged tile size up to 64 keys): the smoke matrix's
 * "causal prefill across key tiles" case.
 */
const PREFILL_ACROSS_KEY_TILES: LayoutRequest = {
  kind: "bshd",
  batch: 1,
  seqQ: 40,
  seqK: 70,
  causal: true,
};

/**
 * A causal self-attention prefill of 40 queries in 3 forced KV splits: the first queries
 * see keys of the first split only (the later splits are empty for them, LSE -inf), the
 * smoke matrix's "split-KV: causal prefill" case.
 */
const SPLIT_PREFILL: FaultScenario = {
  preset: "tiny",
  dtype: "f32",
  path: "absorbed",
  layout: { kind: "bshd", batch: 1, seqQ: 40, seqK: 40, causal: true },
  kvSplits: 3,
};

/** Every planted fault. */
export const FAULTS: readonly Fault[] = [
  {
    id: "yarn-scale-without-mscale",
    description: "softmax scale 1/sqrt(nope + rope) without the YaRN factor m^2",
    apply: {
      kind: "plan",
      change: ({ spec, plan }) => ({
        spec,
        plan: {
          ...plan,
          attention: { ...plan.attention, softmaxScale: 1 / Math.sqrt(spec.kChannels) },
        },
      }),
    },
    scenario: { preset: "tiny-yarn", dtype: "f32", path: "absorbed", layout: BSHD_MTP },
  },
  {
    id: "rope-neox-on-interleaved",
    description: "RoPE pairs (i, i + d/2) (NeoX) applied to interleaved (DeepSeek) weights",
    apply: {
      kind: "plan",
      // The kernels apply the plan's RoPE (plan.attention.rope), as the adapter read it.
      change: ({ spec, plan }) => ({
        spec,
        plan: ropeFree(plan) ? plan : {
          ...plan,
          attention: { ...plan.attention, rope: { ...plan.attention.rope, pairing: "neox" } },
        },
      }),
    },
    scenario: TINY_ABSORBED_MTP,
  },
  {
    id: "causal-top-left",
    description: "causal mask aligned top-left (query i sees keys j <= i) instead of bottom-right",
    apply: {
      kind: "plan",
      // The kernels read the causal offset only under a causal mask: without one, no change.
      change: ({ spec, plan }) => ({
        spec,
        plan: !plan.layout.causal ? plan : withLayout(plan, {
          ...plan.layout,
          seqs: plan.layout.seqs.map((s) => ({ ...s, causalOffset: 0 })),
        }),
      }),
    },
    scenario: TINY_ABSORBED_MTP,
  },
  {
    id: "positions-not-restarted",
    description: "RoPE positions taken as the packed token index instead of restarting at 0 " +
      "in every packed sequence",
    apply: {
      kind: "plan",
      change: ({ spec, plan }) => ({
        spec,
        plan: ropeFree(plan) ? plan : withLayout(plan, {
          ...plan.layout,
          qPositions: plan.layout.qPositions.map((_, t) => t),
          kPositions: plan.layout.kPositions.map((_, t) => t),
        }),
      }),
    },
    scenario: { preset: "tiny", dtype: "f32", path: "absorbed", layout: THD_DECODE },
  },
  {
    id: "yarn-scale-m-not-squared",
    description: "softmax scale m / sqrt(nope + rope): the YaRN factor m applied once " +
      "instead of squared",
    apply: {
      kind: "plan",
      change: ({ spec, plan }) => ({
        spec,
        plan: {
          ...plan,
          attention: { ...plan.attention, softmaxScale: spec.yarnM / Math.sqrt(spec.kChannels) },
        },
      }),
    },
    scenario: { preset: "tiny-yarn", dtype: "f32", path: "absorbed", layout: BSHD_MTP },
  },
  {
    id: "causal-diagonal-excluded",
    description: "causal mask one position short (query i sees keys j < i + s_k - s_q, not " +
      "j <= ...): every query misses the last key it should see",
    apply: {
      kind: "plan",
      change: ({ spec, plan }) => ({
        spec,
        plan: !plan.layout.causal ? plan : withLayout(plan, {
          ...plan.layout,
          seqs: plan.layout.seqs.map((s) => ({ ...s, causalOffset: s.causalOffset - 1 })),
        }),
      }),
    },
    scenario: TINY_ABSORBED_MTP,
  },
  {
    id: "query-positions-top-left",
    description: "query RoPE positions counted from the sequence's first key (i) instead of " +
      "its last s_q positions (i + s_k - s_q); the mask itself is right",
    apply: {
      kind: "plan",
      change: ({ spec, plan }) => ({
        spec,
        plan: ropeFree(plan) ? plan : withLayout(plan, {
          ...plan.layout,
          qPositions: plan.layout.qPositions.map((_, t) =>
            t - plan.layout.seqs[plan.layout.qSeqId[t]].qStart
          ),
        }),
      }),
    },
    scenario: TINY_ABSORBED_MTP,
  },
  {
    id: "previous-sequence-key-visible",
    description: "each packed sequence's key range starts one key early: its queries also " +
      "see the previous sequence's last key (a THD boundary crossed)",
    apply: {
      kind: "plan",
      change: ({ spec, plan }) => ({
        spec,
        plan: withLayout(plan, {
          ...plan.layout,
          seqs: plan.layout.seqs.map((s) =>
            s.kStart === 0 ? s : {
              ...s,
              kStart: s.kStart - 1,
              kLen: s.kLen + 1,
              causalOffset: s.causalOffset + 1,
            }
          ),
        }),
      }),
    },
    scenario: { preset: "tiny", dtype: "f32", path: "absorbed", layout: THD_DECODE },
  },
  sourceFault(
    "kpe-left-out",
    "the decoupled RoPE key k_pe left out of the score (latent part only)",
    {
      file: "absorbed.wgsl",
      // Every score loop (main and tail) stops at the latent width: rope columns dropped.
      pattern: /(d(?: \+ 4u <=| <) )KEY_VEC4/g,
      replacement: "$1VAL_VEC4",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault("lse-offset", "LSE off by a constant (0.01); the output itself is unchanged", {
    file: "absorbed.wgsl",
    pattern: "m_run + log(l_run)",
    replacement: "m_run + log(l_run) + 0.01",
    scenario: TINY_ABSORBED_MTP,
  }),
  sourceFault("kv-tile-skipped", "the first KV tile (BLOCK keys) of every query skipped", {
    file: "absorbed.wgsl",
    pattern: "for (var kb = begin; kb < end; kb += BLOCK)",
    replacement: "for (var kb = begin + BLOCK; kb < end; kb += BLOCK)",
    scenario: {
      preset: "tiny",
      dtype: "f32",
      path: "absorbed",
      // 200 keys: the absorbed kernel's blocks are 16 keys, so the first 16 keys are skipped.
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 200, causal: true },
    },
  }),
  sourceFault(
    "block-last-key-skipped",
    "a block's key count one short: the last key of every block of two keys or more (16 " +
      "keys a block in a decode, 4 in a prefill tile) is never scored",
    {
      file: "absorbed.wgsl",
      pattern: "let nk = min(BLOCK, end - kb);",
      // (a block of one key keeps it: its count would wrap below 0)
      replacement: "let nk = max(min(BLOCK, end - kb), 2u) - 1u;",
      scenario: {
        preset: "tiny",
        dtype: "f32",
        path: "absorbed",
        // 40 keys: blocks of 16, 16 and 8; keys 15, 31 and 39 are skipped.
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 40, causal: true },
      },
    },
  ),
  sourceFault(
    "f16-accumulation",
    "scores and the latent output accumulated in f16 instead of f32",
    {
      file: "absorbed.wgsl",
      pattern: "alias acc_t = f32;",
      replacement: "alias acc_t = f16;",
      scenario: V2_LITE_F16_MTP,
      dtype: "f16",
      // tiny's layer cases too since session 62's f16 absorbed layer cell (parity/tolerance.ts)
      reach: { need: "f16-accumulation", kernel: "absorbed" },
    },
  ),
  sourceFault(
    "partial-tile-row-written",
    "the absorbed kernel accumulates a partial tile's repeated last query into that query's " +
      "output rows too (its in-place output rows are not guarded by the tile's query count)",
    {
      file: "absorbed.wgsl",
      pattern: "live[i * HPL + j] = i < nq && head_ok[j];",
      replacement: "live[i * HPL + j] = head_ok[j];",
      scenario: { preset: "tiny", dtype: "f32", path: "absorbed", layout: BSHD_PARTIAL_TILE },
      reach: { need: "partial-query-tile" },
    },
  ),
  sourceFault("exp-as-exp2", "exp replaced by exp2 in the softmax (a log2(e) scale error)", {
    file: "absorbed.wgsl",
    pattern: /\bexp\(/g,
    replacement: "exp2(",
    scenario: TINY_ABSORBED_MTP,
  }),
  sourceFault(
    "up-proj-token-tile-aliased",
    "the up-projection's second token of each 4-token tile reads the first token's latent " +
      "output",
    {
      file: "up_proj.wgsl",
      pattern: "let v1 = x[x1 + j];",
      replacement: "let v1 = x[x0 + j];",
      // up_proj.wgsl is the up-projection of cpu-class plans only (a gpu-class plan's is
      // up_proj_split.wgsl)
      scenario: { ...TINY_ABSORBED_MTP, deviceClass: "cpu" },
    },
  ),
  sourceFault(
    "up-proj-split-lane-dropped",
    "the GPU-class up-projection adds up its latent lanes' partials from lane 1: lane 0's " +
      "share of every channel's dot product (latent vec4s 0, 32, ...) is lost",
    {
      file: "up_proj_split.wgsl",
      pattern: "for (var l = 0u; l < LJ; l++)",
      replacement: "for (var l = 1u; l < LJ; l++)",
      // up_proj_split.wgsl is the up-projection of gpu-class plans only
      scenario: { ...TINY_ABSORBED_MTP, deviceClass: "gpu" },
    },
  ),
  sourceFault(
    "up-proj-split-group-channel-repeated",
    "the GPU-class up-projection's lane groups compute their first channel for each of their " +
      "channels (every second output channel a copy of the one before)",
    {
      file: "up_proj_split.wgsl",
      pattern: "wa[c] = w_at(wr + min(m_first + c, lm));",
      replacement: "wa[c] = w_at(wr + min(m_first, lm));",
      scenario: { ...TINY_ABSORBED_MTP, deviceClass: "gpu" },
    },
  ),
  sourceFault(
    "absorb-q-split-group-dropped",
    "the GPU-class query absorption adds up its nope groups' partials from group 2: group 1's " +
      "share of every output (nope channels 1, 5, 9, ...) is lost",
    {
      file: "absorb_q_split.wgsl",
      pattern: "for (var h = 1u; h < RG; h++)",
      replacement: "for (var h = 2u; h < RG; h++)",
      // absorb_q_split.wgsl is the query absorption of gpu-class plans only
      scenario: { ...TINY_ABSORBED_MTP, deviceClass: "gpu" },
    },
  ),
  sourceFault(
    "absorb-q-split-rope-first-vec4",
    "the GPU-class query absorption copies the first rope vec4 of q_pe into every rope column " +
      "of q_absorbed (the scores' RoPE part wrong)",
    {
      file: "absorb_q_split.wgsl",
      pattern: "(q_pe[rh * rope_vec4 + e]);",
      replacement: "(q_pe[rh * rope_vec4]);",
      scenario: { ...TINY_ABSORBED_MTP, deviceClass: "gpu" },
    },
  ),
  sourceFault(
    "absorb-q-column-tile-shifted",
    "the query absorption's last column of each 4-column tile reads the weights of the first",
    {
      file: "absorb_q.wgsl",
      pattern: "let b3 = ldw(w, c3);",
      replacement: "let b3 = ldw(w, c0);",
      // absorb_q.wgsl is the query absorption of cpu-class plans only (a gpu-class plan's is
      // absorb_q_split.wgsl)
      scenario: { ...TINY_ABSORBED_MTP, deviceClass: "cpu" },
    },
  ),
  sourceFault(
    "absorb-q-weight-texture-row-shifted",
    "the query absorption through the weight texture reads each W_UK row from the next " +
      "row of w_kv_b",
    {
      file: "absorb_q.wgsl",
      pattern: "return vec2<u32>((row % WRPT) * params.r_vec4, row / WRPT);",
      replacement: "return vec2<u32>(((row + 1u) % WRPT) * params.r_vec4, (row + 1u) / WRPT);",
      // The weight texture: a GPU-class device reads w_kv_b from its buffer.
      scenario: { ...TINY_ABSORBED_MTP, deviceClass: "cpu" },
    },
  ),
  sourceFault(
    "up-proj-weight-texture-rows-folded",
    "the up-projection through the weight texture reads a W_UV row at the start of its " +
      "texture row, ignoring the rows before it that share the texture row (only visible " +
      "with several rows per texture row: DeepSeek-V3's 32768 rows of w_kv_b)",
    {
      file: "up_proj.wgsl",
      pattern: "return vec2<u32>((row % WRPT) * params.r_vec4, row / WRPT);",
      replacement: "return vec2<u32>(0u, row / WRPT);",
      scenario: {
        preset: "deepseek-v3",
        dtype: "f32",
        path: "absorbed",
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
        // w_kv_b's 32768 rows share texture rows at 16384 texels a side (lavapipe's), not at
        // a GPU's 32768.
        deviceClass: "cpu",
        maxTextureSide: 16384,
      },
      sharedRows: "weightTexture",
    },
  ),
  sourceFault(
    "expand-f16-weight-halves-swapped",
    "the f16 K/V expansion reads each packed pair of w_kv_b words swapped (weights " +
      "paired with the wrong latent channels)",
    {
      file: "expand_kv.wgsl",
      pattern: "widen(w_kv_b[a.x + j]);",
      replacement: "widen(w_kv_b[a.x + j].yx);",
      // The buffer reads: a cpu-class device reads through textures (the next faults).
      scenario: {
        preset: "tiny",
        dtype: "f16",
        path: "expanded",
        layout: BSHD_MTP,
        deviceClass: "gpu",
      },
      dtype: "f16",
    },
  ),
  sourceFault(
    "expand-texture-weight-channel-shifted",
    "the K/V expansion through textures reads each channel's weights from the next row of " +
      "the w_kv_b texture",
    {
      file: "expand_kv.wgsl",
      pattern: "return vec2<u32>((c % WRPT) * params.r_vec4, c / WRPT);",
      replacement: "return vec2<u32>(((c + 1u) % WRPT) * params.r_vec4, (c + 1u) / WRPT);",
      scenario: {
        preset: "tiny",
        dtype: "f32",
        path: "expanded",
        layout: BSHD_MTP,
        deviceClass: "cpu",
      },
    },
  ),
  sourceFault(
    "expand-texture-latent-shared-rows-folded",
    "the K/V expansion through textures reads a cache row at the start of its texture " +
      "row, ignoring the rows before it that share the texture row (only visible with " +
      "several rows per texture row)",
    {
      file: "expand_kv.wgsl",
      pattern: "return vec2<u32>((g % LRPT) * params.src_vec4, g / LRPT);",
      replacement: "return vec2<u32>(0u, g / LRPT);",
      scenario: TINY_EXPANDED_LATENT_ROWS_SHARED,
      sharedRows: "expandTextures.latent",
    },
  ),
  sourceFault(
    "expanded-key-texture-shared-rows-folded",
    "the dense kernel reads a (key row, head) row's K texels at the start of its texture " +
      "row, ignoring the rows before it that share the texture row (only visible with " +
      "several rows per texture row)",
    {
      file: "expanded.wgsl",
      pattern: "At4((r % vec4<u32>(RPTK)) * QK_VEC4, r / vec4<u32>(RPTK))",
      replacement: "At4(vec4<u32>(0u), r / vec4<u32>(RPTK))",
      scenario: TINY_EXPANDED_TEXTURE_ROWS_SHARED,
      sharedRows: "keyTexture",
    },
  ),
  sourceFault(
    "expanded-value-texture-head-shifted",
    "the dense kernel reads each head's V from the next (key row, head) row of the V texture",
    {
      file: "expanded.wgsl",
      pattern: "At4((r % vec4<u32>(RPTV)) * V_VEC4, r / vec4<u32>(RPTV))",
      replacement: "At4(((r + 1u) % vec4<u32>(RPTV)) * V_VEC4, (r + 1u) / vec4<u32>(RPTV))",
      scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: BSHD_MTP },
    },
  ),
  sourceFault(
    "expanded-partial-tile-row-written",
    "the dense kernel's prefill tile accumulates a partial tile's repeated last query into " +
      "that query's output rows too",
    {
      file: "expanded.wgsl",
      pattern: "row_live[i] = live && i < nq;",
      replacement: "row_live[i] = live;",
      scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: BSHD_PARTIAL_TILE },
      reach: { need: "partial-query-tile" },
    },
  ),
  sourceFault(
    "expanded-packed-scores-hi-dropped",
    "the dense decode over packed f16 K (two vec4s per rgba32uint texel) leaves out the " +
      "second vec4 of every texel in the first four keys' scores",
    {
      file: "expanded.wgsl",
      pattern: "return mat4x4<acc_t>(q0 * a.lo + q1 * a.hi,",
      replacement: "return mat4x4<acc_t>(q0 * a.lo,",
      scenario: TINY_F16_DECODE_PACKED,
      dtype: "f16",
      // the decode tile's packed code (QT == 1): smoke's tiny f16 expanded prefills (4- and
      // 12-query tiles) ran it unchanged and passed
      reach: { need: "decode-tile" },
    },
  ),
  sourceFault(
    "expanded-packed-values-hi-lost",
    "the dense decode over packed f16 V adds each texel's first vec4 to both of its output " +
      "columns",
    {
      file: "expanded.wgsl",
      pattern: "acc[0][e + 1u] = acc[0][e + 1u] * aa + x01.hi;",
      replacement: "acc[0][e + 1u] = acc[0][e + 1u] * aa + x01.lo;",
      scenario: TINY_F16_DECODE_PACKED,
      dtype: "f16",
      // the decode tile's packed code (QT == 1): smoke's tiny f16 expanded prefills (4- and
      // 12-query tiles) ran it unchanged and passed
      reach: { need: "decode-tile" },
    },
  ),
  sourceFault(
    "expanded-packed-key-rows-folded",
    "the dense decode reads a (key row, head) row's packed K texels at the start of its " +
      "texture row, ignoring the rows before it that share the texture row",
    {
      file: "expanded.wgsl",
      pattern: "At4((r % vec4<u32>(RPTK)) * QK_VEC4, r / vec4<u32>(RPTK))",
      replacement: "At4(vec4<u32>(0u), r / vec4<u32>(RPTK))",
      scenario: { ...TINY_EXPANDED_TEXTURE_ROWS_SHARED, dtype: "f16" },
      sharedRows: "keyTexture",
    },
  ),
];

/** The backend the tiled faults run on, by their scenario's path. */
export const TILED_BACKEND_OF_PATH: Readonly<Record<AttentionPath, string>> = {
  absorbed: "wgsl-absorbed-tiled",
  expanded: "wgsl-expanded-tiled",
};

/**
 * The planted faults ported to the GPU-shaped kernels (absorbed_tiled.wgsl and
 * expanded_fa2.wgsl, backends {@link TILED_BACKEND_OF_PATH}), plus a bug class of its own (the sequence's first key
 * dropped from the staging address; masked values multiplied by p = 0 instead of
 * selected out is planted by tests/kernels_absorbed_tiled_test.ts, which needs
 * poisoned inputs). Their scenarios run on the tiled backend of their path, not on the
 * bundled one; the same pattern guard applies.
 */
export const TILED_FAULTS: readonly Fault[] = [
  sourceFault(
    "tiled-kpe-left-out",
    "the decoupled RoPE key k_pe left out of the score (latent part only)",
    {
      file: "absorbed_tiled.wgsl",
      // The score's chunk bound stops at the latent width: the q segment's load and the
      // partial scores (their guards and which of them fold to true), and the subgroup
      // variant's main and tail loops, all read SCORE_CH.
      pattern: "const SCORE_CH: u32 = KEY_CH;",
      replacement: "const SCORE_CH: u32 = VAL_VEC4 / CPV;",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "tiled-partial-segment-dropped",
    "a pair's score sums its partials from segment 1 on: the first segment's chunks of q . k left out",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "for (var g = 0u; g < SEGS; g++)",
      replacement: "for (var g = 1u; g < SEGS; g++)",
      // `// @nosg` lines: comments in the subgroup variant (wgsl-absorbed-tiled-sg)
      subgroups: false,
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "tiled-score-trip-second-key",
    "the partial scores' second key of a trip reads the first key's staged row (gpu-class " +
      "plans take two keys a trip): every odd key of a tile is scored as the even one before it",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "let kd = ktile[k + 1u].c[i][seg];",
      replacement: "let kd = ktile[k].c[i][seg];",
      // `// @nosg` lines: comments in the subgroup variant (wgsl-absorbed-tiled-sg)
      subgroups: false,
      // two keys a trip only where the plan unrolls the loops (tiledKeysPerTrip)
      scenario: { ...TINY_ABSORBED_MTP, deviceClass: "gpu" },
    },
  ),
  sourceFault(
    "tiled-whole-tile-rows-shifted",
    "the value phase's unrolled form (a whole tile every row of a group sees, gpu-class " +
      "plans) reads the group's first four rows' probabilities for every four rows",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "let p4 = sp[k][pg + r4];",
      replacement: "let p4 = sp[k][pg];",
      // V2-Lite at gpu class: 8-key tiles, row groups of 8 rows (two vec4s of p); tiny's
      // 64-key tiles keep the loop (VU_N is 0 past 16 keys).
      scenario: {
        preset: "deepseek-v2-lite",
        dtype: "f32",
        path: "absorbed",
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 64, causal: true },
        deviceClass: "gpu",
      },
    },
  ),
  sourceFault(
    "tiled-row-group-ignored",
    "the value phase ignores its row group: every group accumulates the first group's " +
      "rows (tiny: 4 groups of one row), so the other groups' rows are stored wrong",
    {
      file: "absorbed_tiled.wgsl",
      // The value phase's first row of its group (the store computes its rows apart).
      pattern: "let g0 = vgrp * RPG;",
      replacement: "let g0 = 0u;",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault("tiled-lse-offset", "LSE off by a constant (0.01); the output itself is unchanged", {
    file: "absorbed_tiled.wgsl",
    pattern: "(m_run + log2(l_run)) * LN2",
    replacement: "(m_run + log2(l_run)) * LN2 + 0.01",
    scenario: TINY_ABSORBED_MTP,
  }),
  sourceFault(
    "tiled-max-key-unordered",
    "the rows' running max taken over raw float bits (atomicMax without max_key's order: " +
      "a negative score outranks every positive one, so exp2 overflows)",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);",
      replacement: "return b;",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "tiled-sum-not-rescaled",
    "the rows' sums not rescaled when a later key tile raises their max (acc rescaled, l kept)",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "        lsum[r] *= a;\n",
      replacement: "",
      reach: { need: "several-key-tiles", kernel: "absorbed-tiled" },
      scenario: {
        preset: "tiny",
        dtype: "f32",
        path: "absorbed",
        // tiny stages 64 keys per tile: 200 keys are 4 tiles, so later maxima rescale.
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 200, causal: true },
      },
    },
  ),
  sourceFault("tiled-kv-tile-skipped", "the first staged key tile of every split skipped", {
    file: "absorbed_tiled.wgsl",
    pattern: "for (var kb = begin; kb < end; kb += KT)",
    replacement: "for (var kb = begin + KT; kb < end; kb += KT)",
    scenario: {
      preset: "tiny",
      dtype: "f32",
      path: "absorbed",
      // tiny stages 64 keys per tile: 200 keys are 4 tiles, the first one skipped.
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 200, causal: true },
    },
  }),
  sourceFault(
    "tiled-prefetch-same-tile",
    "the loads issued one tile ahead fetch the current tile again: every tile after a " +
      "split's first is staged with the first tile's keys",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "pre = fetch_tile(kn,",
      replacement: "pre = fetch_tile(kb,",
      reach: { need: "several-key-tiles", kernel: "absorbed-tiled" },
      scenario: {
        preset: "tiny",
        dtype: "f32",
        path: "absorbed",
        // tiny stages 64 keys per tile: 200 keys are 4 tiles.
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 200, causal: true },
      },
    },
  ),
  sourceFault(
    "tiled-f16-accumulation",
    "scores and the latent output accumulated in f16 instead of f32",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "alias acc_t = f32;",
      replacement: "alias acc_t = f16;",
      scenario: V2_LITE_F16_MTP,
      dtype: "f16",
      // tiny's layer cases too since session 62's f16 absorbed layer cell (parity/tolerance.ts)
      reach: { need: "f16-accumulation", kernel: "absorbed-tiled" },
    },
  ),
  sourceFault(
    "tiled-f16-partial-scores",
    "the partial scores (each invocation's share of q . k) accumulated in f16; the output " +
      "still in f32",
    {
      file: "absorbed_tiled.wgsl",
      // Both keys' chains of the non-subgroup score loop (the subgroup variant's
      // dot_chunk keeps f32): their zero and every addend become f16.
      pattern: /vec4<acc_t>\((0\.0\); \/\/ @nosg|qreg)/g,
      replacement: "vec4<f16>($1",
      // `// @nosg` lines: comments in the subgroup variant (wgsl-absorbed-tiled-sg)
      subgroups: false,
      scenario: V2_LITE_F16_MTP,
      dtype: "f16",
      // f16's rounding of the scores, caught only where it passes the f16 tolerance: a layer
      // case's does not, nor a row of fewer than 4 keys (runner/fault_reach.ts
      // f16ScoreRounding); tiny's attention cases did not under the f16 absorbed cell before
      // session 62's
      reach: { need: "f16-score-rounding" },
    },
  ),
  sourceFault(
    "tiled-exp2-as-exp",
    "exp2 replaced by exp in the log2-domain softmax (a log2(e) scale error)",
    {
      file: "absorbed_tiled.wgsl",
      pattern: /\bexp2\(/g,
      replacement: "exp(",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "tiled-sequence-start-ignored",
    "keys staged from the start of the key buffer instead of their sequence's " +
      "first key (packed/paged sequences read each other's keys)",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "k_rows[k0 + kb + k]",
      replacement: "k_rows[kb + k]",
      scenario: { preset: "tiny", dtype: "f32", path: "absorbed", layout: THD_DECODE },
      // one sequence's keys start at key 0: k0 is 0 (smoke's b=1 prefills passed with it)
      reach: { need: "later-sequence" },
    },
  ),
  sourceFault(
    "fa2-k-chunk-layout-mismatch",
    "the score loop reads key 4 tx + 1 of the staged k chunk where key 4 tx is (the key % 4 " +
      "of its [key % 4][d][key / 4] layout dropped for that key)",
    {
      file: "expanded_fa2.wgsl",
      pattern: "let kb_ = kv[(DKV + dd) / VR][(DKV + dd) % VR][tx];",
      replacement: "let kb_ = kv[dd / VR][dd % VR][tx];",
      scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: FA2_PREFILL },
    },
  ),
  sourceFault(
    "fa2-score-stride-mismatch",
    "probabilities written to the tile BQ / 4 vec4s a key apart, read with the padded BQ / 4 + 1",
    {
      file: "expanded_fa2.wgsl",
      pattern: "ps[(4u * tx + c) * PSV + ty] = ",
      replacement: "ps[(4u * tx + c) * BQ4 + ty] = ",
      scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: FA2_PREFILL },
    },
  ),
  sourceFault(
    "fa2-kpe-left-out",
    "the rope columns (tiny: the last 2 vec4s of q and k) left out of the score",
    {
      file: "expanded_fa2.wgsl",
      // tiny's plan stages the whole head width (6 vec4s) as one chunk: its last 2
      // columns are the rope part.
      pattern: "for (var dd = 0u; dd < DKV; dd++)",
      replacement: "for (var dd = 0u; dd < DKV - 2u; dd++)",
      scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: FA2_PREFILL },
    },
  ),
  sourceFault("fa2-lse-offset", "LSE off by a constant (0.01); the output itself is unchanged", {
    file: "expanded_fa2.wgsl",
    pattern: "(m + log2(l)) * LN2",
    replacement: "(m + log2(l)) * LN2 + 0.01",
    scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: FA2_PREFILL },
  }),
  sourceFault(
    "fa2-max-key-unordered",
    "the rows' running max taken over raw float bits (atomicMax without max_key's order: " +
      "a negative score outranks every positive one, so exp2 overflows)",
    {
      file: "expanded_fa2.wgsl",
      pattern: "return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);",
      replacement: "return b;",
      scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: FA2_PREFILL },
    },
  ),
  sourceFault(
    "fa2-sum-not-rescaled",
    "the rows' sums not rescaled when a later key tile raises their max (l kept, acc rescaled)",
    {
      file: "expanded_fa2.wgsl",
      pattern: "    l_run *= alpha;\n",
      replacement: "",
      reach: { need: "several-key-tiles", kernel: "fa2" },
      scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: FA2_PREFILL },
    },
  ),
  sourceFault(
    "fa2-split-rows-overlap",
    "every KV split writes its partial to the first split's rows (the others stay zero, " +
      "and the combine merges the wrong partials)",
    {
      file: "expanded_fa2.wgsl",
      pattern: "let orow = wid.y * params.total_q + qt.x;",
      replacement: "let orow = qt.x;",
      splitsOnly: "kvSplits",
      scenario: {
        preset: "tiny",
        dtype: "f32",
        path: "expanded",
        layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 600, causal: true },
        kvSplits: 2,
      },
    },
  ),
  sourceFault("fa2-kv-tile-skipped", "the first key tile (32 keys) of every query tile skipped", {
    file: "expanded_fa2.wgsl",
    pattern: "for (var kb = kbeg; kb < kend; kb += BK)",
    replacement: "for (var kb = kbeg + BK; kb < kend; kb += BK)",
    scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: FA2_PREFILL },
  }),
  sourceFault(
    "fa2-exp2-as-exp",
    "exp2 replaced by exp in the log2-domain softmax (a log2(e) scale error)",
    {
      file: "expanded_fa2.wgsl",
      pattern: /\bexp2\(/g,
      replacement: "exp(",
      scenario: { preset: "tiny", dtype: "f32", path: "expanded", layout: FA2_PREFILL },
    },
  ),
  sourceFault(
    "combine-first-split-max-ignored",
    "the split combine takes the rows' max over splits 1.. only: harmless while a later " +
      "split saw a key (the max cancels), but a row whose keys all lie in split 0 gets the " +
      "weight exp(lse - NEG_BIG) = inf and a NaN output",
    {
      file: "combine.wgsl",
      pattern: "for (var s = 0u; s < params.kv_splits; s++) {\n    m = max(",
      replacement: "for (var s = 1u; s < params.kv_splits; s++) {\n    m = max(",
      scenario: SPLIT_PREFILL,
      splitsOnly: "kvSplits",
    },
  ),
  sourceFault(
    "tiled-mask-tile-relative",
    "the causal mask compares the key's index within the tile with the row's limit less the " +
      "tile's start (k < row_lim - kb, in u32): a row whose limit is below a later key " +
      "tile's start wraps around and sees that whole tile's future keys",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "kb + k < row_lim[r]",
      replacement: "k < row_lim[r] - kb",
      reach: { need: "key-tile-past-row", kernel: "absorbed-tiled" },
      scenario: {
        preset: "tiny",
        dtype: "f32",
        path: "absorbed",
        layout: PREFILL_ACROSS_KEY_TILES,
      },
    },
  ),
  sourceFault(
    "fa2-mask-tile-relative",
    "the causal mask compares the key's index within the tile with the row's limit less the " +
      "tile's start (keys4 < lim - kb, in u32): a row whose limit is below a later key " +
      "tile's start wraps around and sees that whole tile's future keys",
    {
      file: "expanded_fa2.wgsl",
      pattern: "(vec4<u32>(kb) + keys4 < vec4<u32>(lims[i]))",
      replacement: "(keys4 < vec4<u32>(lims[i]) - vec4<u32>(kb))",
      reach: { need: "key-tile-past-row", kernel: "fa2" },
      scenario: {
        preset: "tiny",
        dtype: "f32",
        path: "expanded",
        layout: PREFILL_ACROSS_KEY_TILES,
      },
    },
  ),
  sourceFault("fa2-f16-accumulation", "scores and outputs accumulated in f16 instead of f32", {
    file: "expanded_fa2.wgsl",
    pattern: "alias acc_t = f32;",
    replacement: "alias acc_t = f16;",
    scenario: {
      preset: "deepseek-v2-lite",
      dtype: "f16",
      path: "expanded",
      layout: { kind: "bshd", batch: 1, seqQ: 8, seqK: 600, causal: true },
    },
    dtype: "f16",
    // tiny's layer cases run it and pass (runner/fault_reach.ts f16AccumulationChain)
    reach: { need: "f16-accumulation", kernel: "fa2" },
  }),
];

/** The backend the gemm faults run on, by their scenario's path. */
export const GEMM_BACKEND_OF_PATH: Readonly<Record<AttentionPath, string>> = {
  absorbed: "wgsl-absorbed-gemm",
  expanded: "wgsl-expanded-gemm",
};

/** Causal prefill of 20 x 20 on the expanded path: two 16-query tiles, the second partial. */
const EXPANDED_PREFILL_20: FaultScenario = {
  preset: "tiny",
  dtype: "f32",
  path: "expanded",
  layout: { kind: "bshd", batch: 2, seqQ: 20, seqK: 20, causal: true },
};

/**
 * Tiny decode whose values pass splits its keys: 2 tokens x 1 head tile x 1 column block
 * is under adapter/gemm_plan.ts's 16 workgroups, and 600 keys make 2 splits of 300.
 */
const TINY_DECODE_SPLIT: FaultScenario = {
  preset: "tiny",
  dtype: "f32",
  path: "absorbed",
  layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 600, causal: true },
};

/**
 * A DeepSeek-V2-Lite f16 decode (b 2, 40 keys): wgsl-absorbed-gemm packs its f16 cache and
 * query two vec4s per rgba32uint texel (the tiny preset's values pass has one column per
 * invocation, so its rows are not packed).
 */
const V2L_DECODE_PACKED: FaultScenario = {
  preset: "deepseek-v2-lite",
  dtype: "f16",
  path: "absorbed",
  layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 40, causal: true },
};

/**
 * A decode whose latent cache has more rows (2 x 16500) than any device's texture side
 * (WebGPU adapters offer 8192 to 32768), so the gemm kernel's cache texture holds several
 * cache rows per texture row.
 */
const TINY_DECODE_TEXTURE_ROWS_SHARED: FaultScenario = {
  preset: "tiny",
  dtype: "f32",
  path: "absorbed",
  layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 16500, causal: true },
};

/**
 * A decode of more query rows x heads (8200 x 4) than any device's texture side, so the
 * gemm kernel's query texture holds several (row, head) rows per texture row.
 */
const TINY_DECODE_QUERY_ROWS_SHARED: FaultScenario = {
  preset: "tiny",
  dtype: "f32",
  path: "absorbed",
  layout: { kind: "bshd", batch: 8200, seqQ: 1, seqK: 2, causal: true },
};

/** Decode with partial key groups and score vec4s (37 = 2 x 16 + 5 keys). */
const BSHD_DECODE_37: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 1, seqK: 37, causal: true };

/**
 * The planted faults ported to the CPU-shaped kernels (absorbed_gemm.wgsl,
 * expanded_gemm.wgsl and their shared gemm_softmax.wgsl; backends
 * {@link GEMM_BACKEND_OF_PATH}): the bug classes of their three passes.
 * tests/faults_gemm_test.ts runs each in its scenario and checks it is caught; the same
 * pattern guard applies. (Two faults of the expanded values pass show only with poisoned
 * inputs, so tests/kernels_expanded_gemm_test.ts plants and catches them: masked value rows
 * multiplied by p = 0 instead of selected out, and the unmasked branch taken on the
 * causal diagonal; both leak NaN.)
 */
export const GEMM_FAULTS: readonly Fault[] = [
  sourceFault(
    "gemm-kpe-left-out",
    "the decoupled RoPE key k_pe left out of the scores (latent part only)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "for (var d = 0u; d < KEY_TEX; d++)",
      replacement: "for (var d = 0u; d < VAL_VEC4 / CPT; d++)",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault("gemm-lse-offset", "LSE off by a constant (0.01); the output itself is unchanged", {
    file: "gemm_softmax.wgsl",
    pattern: "m + log(l)",
    replacement: "m + log(l) + 0.01",
    scenario: TINY_ABSORBED_MTP,
  }),
  sourceFault(
    "gemm-partial-group-dropped",
    "the last, partial group of 16 keys never scored (its slots keep 0)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "if (k0 >= qm.z)",
      replacement: "if (k0 + KG > qm.z)",
      scenario: { preset: "tiny", dtype: "f32", path: "absorbed", layout: BSHD_DECODE_37 },
    },
  ),
  sourceFault(
    "gemm-masked-slots-kept",
    "score slots past a row's keys not zeroed when the softmax stores P (exp of whatever " +
      "the slot holds reaches the values)",
    {
      file: "gemm_softmax.wgsl",
      pattern: "let p = select(vec4<f32>(0.0), exp(probs[ob + i] - m) * inv, valid);",
      replacement: "let p = exp(probs[ob + i] - m) * inv;",
      scenario: { preset: "tiny", dtype: "f32", path: "absorbed", layout: BSHD_DECODE_37 },
      blindOn: {
        "wgsl-expanded-gemm": "its values pass weighs only the keys each query sees " +
          "(weigh4_seen), so the slots past them are never read",
      },
      // The softmax walks a row's ceil(keys / 4) vec4s only: a row of a multiple of 4 keys
      // has no masked slot (smoke's tiny decodes of 20 keys and non-causal runs passed)
      reach: { need: "key-count-past-vec4" },
    },
  ),
  sourceFault(
    "gemm-softmax-sum-not-rescaled",
    "the softmax's running sum kept as it was when a slot's running max grows (earlier " +
      "keys summed against an older max)",
    {
      file: "gemm_softmax.wgsl",
      pattern: "l4 = l4 * exp(m4 - mn) + ",
      replacement: "l4 = l4 + ",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "gemm-softmax-slot-sums-not-aligned",
    "the four slots' sums added as they are, each against its own max instead of the row's",
    {
      file: "gemm_softmax.wgsl",
      pattern: "let lm = l4 * exp(m4 - m);",
      replacement: "let lm = l4;",
      scenario: EXPANDED_PREFILL_20,
    },
  ),
  sourceFault(
    "gemm-sequence-start-ignored",
    "the values pass reads keys from the start of the key buffer instead of " +
      "their sequence's first key (packed sequences read each other's values)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "key_rows(qm.y, kb, nk - 1u)",
      replacement: "key_rows(0u, kb, nk - 1u)",
      scenario: { preset: "tiny", dtype: "f32", path: "absorbed", layout: THD_DECODE },
      // one sequence's first key is key 0 (smoke's b=1 prefill passed with it)
      reach: { need: "later-sequence" },
    },
  ),
  sourceFault(
    "gemm-expanded-rope-left-out",
    "the expanded scores stop at the nope channels (the RoPE part of q and k left out)",
    {
      file: "expanded_gemm.wgsl",
      pattern: "for (var d = 0u; d < QK_TEX; d++)",
      replacement: "for (var d = 0u; d < QK_TEX - 2u; d++)",
      scenario: EXPANDED_PREFILL_20,
    },
  ),
  sourceFault(
    "gemm-expanded-tile-keys-short",
    "the values pass walks only the keys of its tile's first query (the later " +
      "queries of a causal tile lose their last keys)",
    {
      file: "expanded_gemm.wgsl",
      pattern: "for (var kb = 0u; kb < nk; kb += 4u)",
      replacement: "for (var kb = 0u; kb < n0; kb += 4u)",
      reach: { need: "tile-keys-past-first" },
      scenario: EXPANDED_PREFILL_20,
    },
  ),
  sourceFault(
    "gemm-tile-head-crossed",
    "one head's statement of the written-out scores tile reads the previous head's query",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "if (HT > 1u) { s1 += dots(ldq(q1, d)",
      replacement: "if (HT > 1u) { s1 += dots(ldq(q0, d)",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "gemm-values-probs-crossed",
    "one head's statement of the written-out values tile weighs by the previous head's " +
      "probabilities",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "let p = ldp(p1, pk);",
      replacement: "let p = ldp(p0, pk);",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "gemm-values-column-block-crossed",
    "one head's second block of 4 output columns (EV >= 8) weighs the first block's " +
      "cached columns",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "a1_1 += weigh4(p, c4, c5, c6, c7);",
      replacement: "a1_1 += weigh4(p, c0, c1, c2, c3);",
      // `if (HT > 1u) { ... if (EV > 4u) { a1_1 += ...` (tiny's EV is 1)
      variantOver: { columnsPerInvocation: 4, headsPerTile: 1 },
      // r = 512: 16 output vec4s per invocation.
      scenario: {
        preset: "deepseek-v2-lite",
        dtype: "f32",
        path: "absorbed",
        layout: BSHD_DECODE_37,
      },
    },
  ),
  sourceFault(
    "gemm-split-sum-last-dropped",
    "the sum of the values pass's key splits leaves out the last split",
    {
      file: "split_sum.wgsl",
      pattern: "for (var p = 1u; p < params.splits; p++)",
      replacement: "for (var p = 1u; p + 1u < params.splits; p++)",
      scenario: TINY_DECODE_SPLIT,
      splitsOnly: "valueSplits",
    },
  ),
  sourceFault(
    "gemm-split-ranges-overlap",
    "each key split of the values pass walks 4 keys into the next split's range (they " +
      "count twice)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "let k_end = min(nk, k_begin + params.split_keys);",
      replacement: "let k_end = min(nk, k_begin + params.split_keys + 4u);",
      scenario: TINY_DECODE_SPLIT,
      splitsOnly: "valueSplits",
    },
  ),
  sourceFault(
    "gemm-cache-texture-vec4-shifted",
    "the copy into the cache texture stores each vec4 of the cache one texel early (every " +
      "texel holds the next vec4)",
    {
      file: "cache_texture.wgsl",
      pattern: "return ldc(i); // @nopacked",
      replacement: "return ldc(min(i + 1u, params.n - 1u)); // @nopacked",
      scenario: TINY_DECODE_SPLIT,
      // a `// @nopacked` line: a comment in the copy into packed f16 rows (rgba32uint)
      packedTexture: "unpacked",
    },
  ),
  sourceFault(
    "gemm-cache-texture-shared-rows-folded",
    "the passes read a cache row's texels at the start of its texture row, ignoring the " +
      "rows before it that share the texture row (only visible with several rows per " +
      "texture row)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "vec2<u32>((row % RPT) * KEY_TEX + p, row / RPT)",
      replacement: "vec2<u32>(p, row / RPT)",
      scenario: TINY_DECODE_TEXTURE_ROWS_SHARED,
      sharedRows: "cacheTexture",
    },
  ),
  sourceFault(
    "gemm-query-texture-head-shifted",
    "the scores pass reads each head's absorbed query from the next (row, head) row of the " +
      "query texture",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "vec2<u32>((row % RPTQ) * KEY_VEC4 + CPT * p, row / RPTQ)",
      replacement: "vec2<u32>(((row + 1u) % RPTQ) * KEY_VEC4 + CPT * p, (row + 1u) / RPTQ)",
      scenario: TINY_DECODE_SPLIT,
    },
  ),
  sourceFault(
    "gemm-query-texture-shared-rows-folded",
    "the scores pass reads a query row's texels at the start of its texture row, ignoring " +
      "the rows before it that share the texture row (only visible with several rows per " +
      "texture row)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "vec2<u32>((row % RPTQ) * KEY_VEC4 + CPT * p, row / RPTQ)",
      replacement: "vec2<u32>(CPT * p, row / RPTQ)",
      scenario: TINY_DECODE_QUERY_ROWS_SHARED,
      sharedRows: "queryTexture",
    },
  ),
  sourceFault(
    "gemm-prob-texture-head-shifted",
    "the values pass reads each head's probabilities from the next (token, head) row of " +
      "the probability texture",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "vec2<u32>((row % RPTP) * params.kmax4 + pk, row / RPTP)",
      replacement: "vec2<u32>(((row + 1u) % RPTP) * params.kmax4 + pk, (row + 1u) / RPTP)",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "gemm-expanded-prob-texture-head-shifted",
    "the expanded values pass reads each query's probabilities from the next (token, head) " +
      "row of the probability texture",
    {
      file: "expanded_gemm.wgsl",
      pattern: "vec2<u32>((row % RPTP) * params.kmax4 + pk, row / RPTP)",
      replacement: "vec2<u32>(((row + 1u) % RPTP) * params.kmax4 + pk, (row + 1u) / RPTP)",
      scenario: EXPANDED_PREFILL_20,
    },
  ),
  sourceFault(
    "gemm-prob-texture-shared-rows-folded",
    "the values pass reads a probability row's texels at the start of its texture row, " +
      "ignoring the rows before it that share the texture row (only visible with several " +
      "rows per texture row)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "vec2<u32>((row % RPTP) * params.kmax4 + pk, row / RPTP)",
      replacement: "vec2<u32>(pk, row / RPTP)",
      scenario: TINY_DECODE_QUERY_ROWS_SHARED,
      sharedRows: "probTexture",
    },
  ),
  sourceFault(
    "gemm-prob-unnormalized",
    "the softmax stores P (into the probability texture here) without dividing by the " +
      "row's sum",
    {
      file: "gemm_softmax.wgsl",
      pattern: "exp(probs[ob + i] - m) * inv, valid)",
      replacement: "exp(probs[ob + i] - m), valid)",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "gemm-packed-halves-swapped",
    "the copy into a packed f16 texture (rgba32uint, two vec4s of halves per texel) stores " +
      "each texel's two vec4s the wrong way round (the latent cache's; the absorbed query's " +
      "texture is rgba32float)",
    {
      file: "cache_texture.wgsl",
      pattern: "return vec4<u32>(a, b);",
      replacement: "return vec4<u32>(b, a);",
      scenario: V2L_DECODE_PACKED,
      dtype: "f16",
      // the packing copy runs only into a packed texture: tiny's absorbed f16 cases (their
      // cache texture rgba16float) ran it and passed
      packedTexture: "any",
    },
  ),
  sourceFault(
    "gemm-packed-scores-hi-dropped",
    "the packed scores pass leaves out the second vec4 of every texel (half the 576-wide " +
      "dot product)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "return lo + dots16(q.hi, ca.hi, cb.hi, cc.hi, cd.hi);",
      replacement: "return lo;",
      scenario: V2L_DECODE_PACKED,
      packedTexture: "cacheTexture",
      dtype: "f16",
    },
  ),
  sourceFault(
    "gemm-packed-values-column-doubled",
    "the packed values pass takes each texel's first vec4 for both of its output columns",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "if (EV > 2u) { let t = cols(r, e + 1u); c2 = t.lo; c3 = t.hi; }",
      replacement: "if (EV > 2u) { let t = cols(r, e + 1u); c2 = t.lo; c3 = t.lo; }",
      scenario: V2L_DECODE_PACKED,
      packedTexture: "cacheTexture",
      dtype: "f16",
    },
  ),
  sourceFault(
    "gemm-token-order-folded",
    "the grid's token order maps two slices to one token (the first half of the tokens " +
      "twice, the second half never)",
    {
      file: "absorbed_gemm.wgsl",
      pattern: "select(params.total_t - 1u - z / 2u, z / 2u, z % 2u == 0u)",
      replacement: "select(z / 2u, z / 2u, z % 2u == 0u)",
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "gemm-softmax-order-folded",
    "the softmax's workgroup order maps two workgroups to one block of rows (the later " +
      "rows keep their raw scores and no LSE)",
    {
      file: "gemm_softmax.wgsl",
      pattern: "select(n - 1u - g / 2u, g / 2u, g % 2u == 0u)",
      replacement: "select(g / 2u, g / 2u, g % 2u == 0u)",
      scenario: EXPANDED_PREFILL_20,
      // one workgroup (g = 0) is block 0 either way: smoke's tiny decodes (2 tokens x 4
      // heads, an 8-row workgroup) ran it and passed
      reach: { need: "several-softmax-groups" },
    },
  ),
  sourceFault(
    "gemm-expanded-query-texture-head-shifted",
    "the expanded scores pass reads each query's next (row, head) row of the query texture",
    {
      file: "expanded_gemm.wgsl",
      pattern: "vec2<u32>((row % RPTQ) * QK_TEX + p, row / RPTQ)",
      replacement: "vec2<u32>(((row + 1u) % RPTQ) * QK_TEX + p, (row + 1u) / RPTQ)",
      scenario: EXPANDED_PREFILL_20,
    },
  ),
  sourceFault(
    "gemm-expanded-packed-scores-hi-dropped",
    "the expanded scores pass over packed f16 rows (two vec4s per rgba32uint texel) leaves " +
      "out the second vec4 of every texel",
    {
      file: "expanded_gemm.wgsl",
      pattern: "return lo + dots16(q.hi, ca.hi, cb.hi, cc.hi, cd.hi);",
      replacement: "return lo;",
      scenario: { ...EXPANDED_PREFILL_20, dtype: "f16" },
      dtype: "f16",
    },
  ),
  sourceFault(
    "gemm-expanded-packed-values-column-doubled",
    "the expanded values pass over packed f16 V takes a texel's first vec4 for both of its " +
      "output columns",
    {
      file: "expanded_gemm.wgsl",
      pattern: "c1 = t0.hi;",
      replacement: "c1 = t0.lo;",
      scenario: { ...EXPANDED_PREFILL_20, dtype: "f16" },
      dtype: "f16",
    },
  ),
  sourceFault(
    "gemm-expanded-key-texture-shared-rows-folded",
    "the expanded scores pass reads a key row's texels at the start of its texture row, " +
      "ignoring the rows before it that share the texture row (only visible with several " +
      "rows per texture row)",
    {
      file: "expanded_gemm.wgsl",
      pattern: "vec2<u32>((row % RPTK) * QK_TEX + p, row / RPTK)",
      replacement: "vec2<u32>(p, row / RPTK)",
      scenario: TINY_EXPANDED_TEXTURE_ROWS_SHARED,
      sharedRows: "keyTexture",
    },
  ),
  sourceFault(
    "gemm-expanded-head-offset-dropped",
    "the values pass reads head 0's values for every head",
    {
      file: "expanded_gemm.wgsl",
      pattern: "let hv = vec4<u32>(h); // v_tex rows of head h",
      replacement: "let hv = vec4<u32>(0u);",
      scenario: EXPANDED_PREFILL_20,
    },
  ),
];

/** The backend the subgroup faults run on. */
export const SUBGROUP_BACKEND = "wgsl-absorbed-tiled-sg";

/**
 * The planted faults of the subgroup variant of absorbed_tiled.wgsl (its `// @sg:` lines,
 * which exist only in a source specialized with subgroups): they run on
 * {@link SUBGROUP_BACKEND}, so only on a device with the `subgroups` feature (headless
 * Chromium's SwiftShader here; tests/browser_subgroups_test.ts). Each is observable
 * whenever a subgroup has more than one lane.
 */
export const SUBGROUP_FAULTS: readonly Fault[] = [
  sourceFault(
    "sg-partials-not-summed",
    "each score is the first lane's partial dot product (the subgroupAdd left out)",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "subgroupAdd(pair_score(",
      replacement: "(pair_score(",
      // `// @sg:` lines: comments in the other variant (wgsl-absorbed-tiled)
      subgroups: true,
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "sg-lanes-same-chunks",
    "every lane of a subgroup sums the same chunks (its rank ignored): chunks counted " +
      "once per lane, others never",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "pair_score(p, qt, htile, sg_rank, sg_lanes)",
      replacement: "pair_score(p, qt, htile, 0u, sg_lanes)",
      // `// @sg:` lines: comments in the other variant (wgsl-absorbed-tiled)
      subgroups: true,
      scenario: TINY_ABSORBED_MTP,
    },
  ),
  sourceFault(
    "sg-index-not-drawn",
    "every subgroup takes index 0 (the atomic draw ignored): all of them score the same " +
      "pairs and the others keep stale scores",
    {
      file: "absorbed_tiled.wgsl",
      pattern: "let sg_index = subgroupBroadcastFirst(ticket);",
      replacement: "let sg_index = 0u * subgroupBroadcastFirst(ticket);",
      // `// @sg:` lines: comments in the other variant (wgsl-absorbed-tiled)
      subgroups: true,
      scenario: TINY_ABSORBED_MTP,
    },
  ),
];

/** Every planted fault of the attention kernels: lane, tiled, subgroup and gemm. */
export const ALL_FAULTS: readonly Fault[] = [
  ...FAULTS,
  ...TILED_FAULTS,
  ...SUBGROUP_FAULTS,
  ...GEMM_FAULTS,
];

/**
 * The backend whose kernels a fault is planted in, for a case of `path`: a run with a
 * planted fault runs its cases there (whatever the adapter would choose for the device),
 * so the mutated kernel is the one that runs.
 *
 * @example
 * ```ts
 * import { faultBackendOf, GEMM_FAULTS } from "./faults.ts";
 * faultBackendOf(GEMM_FAULTS[0], "absorbed"); // "wgsl-absorbed-gemm"
 * ```
 */
export function faultBackendOf(fault: Fault, path: AttentionPath): string {
  if (TILED_FAULTS.includes(fault)) return TILED_BACKEND_OF_PATH[path];
  if (SUBGROUP_FAULTS.includes(fault)) return SUBGROUP_BACKEND;
  if (GEMM_FAULTS.includes(fault)) return GEMM_BACKEND_OF_PATH[path];
  return BUNDLED_BACKEND_OF_PATH[path];
}
