/**
 * The adapter's data contracts: the canonical {@link MlaSpec}, the normalized
 * {@link NormalizedLayout}, the device capabilities handed in as plain data, and
 * the two outcomes of `resolve()`: a {@link Plan} or an {@link Unsupported}.
 *
 * Everything here is plain, JSON-serializable data (no classes, no typed arrays),
 * so a plan or a decision can be snapshotted and diffed across upgrades.
 *
 * @module
 */

/** How the two halves of each RoPE pair are chosen. */
export type RopePairing = "interleaved" | "neox";

/** How queries are produced: one projection, or a low-rank pair with an RMSNorm between. */
export type QPath = "direct" | "low-rank";

/** Storage dtypes a kernel can run in (accumulation is always f32). */
export type Dtype = "f32" | "f16";

/** Memory layouts of query/key tokens. */
export type LayoutKind = "bshd" | "sbhd" | "thd";

/** Which attention formulation a path uses. */
export type AttentionPath = "absorbed" | "expanded";

/** Where a spec came from. */
export type SpecSource = "preset" | "hf" | "megatron";

/** YaRN context-extension parameters, as the configs spell them (camel-cased). */
export interface YarnParams {
  /** Scaling factor (> 1 for YaRN to apply). */
  readonly factor: number;
  /** Pre-extension context length. */
  readonly originalMaxPositionEmbeddings: number;
  /** Fast-rotation boundary (in rotations). */
  readonly betaFast: number;
  /** Slow-rotation boundary (in rotations). */
  readonly betaSlow: number;
  /** `mscale`: scales cos/sin (as m(mscale)/m(mscale_all_dim)). */
  readonly mscale: number;
  /** `mscale_all_dim`: drives the softmax-scale factor m^2. */
  readonly mscaleAllDim: number;
}

/**
 * LongRoPE (`rope_scaling.type` "longrope"), as MiniCPM3's code reads it (adapter/longrope.ts):
 * inverse frequencies theta^(-2i/d) / factor_i from one of two lists, cos/sin scaled by
 * sqrt(1 + ln(max / original) / ln(original)) when max positions exceed the original length.
 */
export interface LongRopeParams {
  /** `short_factor`: one divisor per rotated pair, for key sequences up to the original length. */
  readonly shortFactor: readonly number[];
  /** `long_factor`: the same, for key sequences longer than the original length. */
  readonly longFactor: readonly number[];
  /** `original_max_position_embeddings`: the length above which `long_factor` applies. */
  readonly originalMaxPositionEmbeddings: number;
  /** `max_position_embeddings` (top level): with the original length, the cos/sin scale. */
  readonly maxPositionEmbeddings: number;
  /**
   * Which list the spec's `invFreq` comes from: "short" as read from a config (a case's spec
   * is re-derived for its longest key sequence, adapter/longrope.ts `specForLayout`).
   */
  readonly factors: "short" | "long";
}

/** Mistral 4's query temperature: 1 + beta * ln(1 + floor(position / original)) per query. */
export interface QueryTemperature {
  /** `llama_4_scaling_beta`. */
  readonly beta: number;
  /** The RoPE parameters' `original_max_position_embeddings`: positions below it get 1. */
  readonly originalMaxPositionEmbeddings: number;
}

/**
 * The canonical, immutable description of one MLA layer. Every derived value is
 * explicit so no later stage re-derives it.
 */
export interface MlaSpec {
  /** Preset name or config file name. */
  readonly name: string;
  /** Where it came from. */
  readonly source: SpecSource;
  /** Model width. */
  readonly hiddenSize: number;
  /** Query heads h. */
  readonly numHeads: number;
  /** Query compression rank, or null when queries are projected directly. */
  readonly qLoraRank: number | null;
  /** Latent width r (the cached compressed KV). */
  readonly kvLoraRank: number;
  /** Per-head no-position q/k width. */
  readonly qkNopeHeadDim: number;
  /** Decoupled RoPE width (shared k_pe). */
  readonly qkRopeHeadDim: number;
  /** Per-head value width. */
  readonly vHeadDim: number;
  /** RMSNorm epsilon for the q and kv norms. */
  readonly rmsNormEps: number;
  /** RoPE base theta. */
  readonly ropeTheta: number;
  /** YaRN parameters, or null for plain RoPE. */
  readonly yarn: YarnParams | null;
  /** RoPE pairing (interleaved is DeepSeek's). */
  readonly ropePairing: RopePairing;
  /**
   * MiniCPM3's LongRoPE (absent: none). Then `yarn` is null, `invFreq` comes from the factor
   * list named by `longrope.factors` and `ropeCosSinScale` is LongRoPE's.
   */
  readonly longrope?: LongRopeParams;
  /**
   * DeepSeek-V3.2's sparse attention (`index_topk`): each query attends to this many keys
   * its indexer picks. Absent for dense MLA. The harness computes dense MLA, the same
   * only where no query sees more keys (resolve refuses the rest).
   */
  readonly indexTopK?: number;
  /**
   * Mistral 4's attention (model_type `mistral4`): the softmax scale is 1/sqrt(k_channels)
   * with no YaRN m^2, while cos/sin are YaRN's. Absent: DeepSeek's m^2 / sqrt(k_channels).
   */
  readonly softmaxWithoutYarnM?: true;
  /**
   * Mistral 4's query temperature (`llama_4_scaling_beta` in its RoPE parameters): each query
   * is multiplied by 1 + beta * ln(1 + floor(position / original)), which is 1 at every
   * position below `originalMaxPositionEmbeddings`. The harness computes no temperature, so it
   * refuses cases with a query at or past that position (spec.query-temperature). Absent: none.
   */
  readonly queryTemperature?: QueryTemperature;
  /**
   * Kimi's `mla_use_nope` (Kimi Linear, Kimi K3): the qk_rope_head_dim channels of q and of
   * the shared key are carried unrotated (no RoPE at all; positions do not enter the scores).
   * Then `invFreq` is all zeros, so every RoPE the harness applies (kernels and float64
   * reference) is the identity. Absent for RoPE'd MLA.
   */
  readonly mlaUseNope?: true;
  /**
   * Kimi K3's `mla_use_output_gate`: the layer multiplies the attention output by
   * sigmoid(g_proj(x)) before o_proj. The attention core is unchanged; the harness's full
   * layer has no gate, so `layer` refuses such a spec (spec.output-gate). Absent: no gate.
   */
  readonly mlaOutputGate?: true;
  /**
   * Derived from LongCat-Flash's `mla_scale_q_lora`: the q latent after q_a_layernorm is
   * multiplied by sqrt(hidden / q_lora_rank). A layer-level factor (the attention core takes
   * the latents as given). Absent: 1.
   */
  readonly qLatentScale?: number;
  /**
   * Derived from LongCat-Flash's `mla_scale_kv_lora`: the cached latent after kv_a_layernorm
   * is multiplied by sqrt(hidden / kv_lora_rank). Absent: 1.
   */
  readonly kvLatentScale?: number;
  /**
   * `attention_bias: true` (DeepSeek's code: biases on q_a_proj, kv_a_proj_with_mqa and
   * o_proj): the attention core is unchanged; the harness's layer has no biases, so a full
   * layer is refused (spec.attention-bias). Absent: no biases.
   */
  readonly attentionBias?: true;
  /**
   * A Megatron config without `qk_layernorm`: MLA's latent norms (q_layernorm, kv_layernorm)
   * are the identity. The attention core takes the latents as given; the harness's layer
   * always normalizes them, so a full layer is refused (spec.no-latent-norms). Absent: the
   * latents are normalized, as in DeepSeek's code.
   */
  readonly noLatentNorms?: true;
  /** Derived: q path. */
  readonly qPath: QPath;
  /** Derived: k_channels = nope + rope (the attention core's q/k head width). */
  readonly kChannels: number;
  /** Derived: v_channels = v_head_dim. */
  readonly vChannels: number;
  /** Derived: cached row width of the absorbed path = kv_lora_rank + rope. */
  readonly latentCacheWidth: number;
  /**
   * Derived: the softmax's YaRN factor m (1 without YaRN, except a Megatron rope_type "rope"
   * config's m(rotary_scaling_factor, mscale_all_dim), which Megatron applies regardless).
   */
  readonly yarnM: number;
  /** Derived: the softmax scale m^2 / sqrt(k_channels) (1 / sqrt(k_channels) under `softmaxWithoutYarnM`). */
  readonly softmaxScale: number;
  /**
   * Derived: multiplier applied to cos and sin, m(mscale)/m(mscale_all_dim) (1 without YaRN;
   * LongRoPE's sqrt(1 + ln(max / original) / ln(original)) with it).
   */
  readonly ropeCosSinScale: number;
  /** Derived: RoPE inverse frequencies, length rope/2 (all 0 under `mlaUseNope`). */
  readonly invFreq: readonly number[];
}

/** One sequence of a normalized layout. Token indices are logical (packed, 0-based). */
export interface SequenceSpan {
  /** First logical query token of this sequence. */
  readonly qStart: number;
  /** Number of query tokens. */
  readonly qLen: number;
  /** First logical key token of this sequence. */
  readonly kStart: number;
  /** Number of key tokens (0 allowed: the queries then see nothing). */
  readonly kLen: number;
  /**
   * Bottom-right causal offset, kLen - qLen: query i sees key j iff j <= i + causalOffset
   * (when the layout is causal).
   */
  readonly causalOffset: number;
}

/**
 * The layout a kernel or reference consumes: sequences over logical packed tokens,
 * the buffer row of each logical token, per-token positions and sequence ids, and
 * the causal rule as data.
 */
export interface NormalizedLayout {
  /** The layout the caller's buffers are in. */
  readonly kind: LayoutKind;
  /** Whether attention is causal (bottom-right aligned). */
  readonly causal: boolean;
  /** One entry per sequence. */
  readonly seqs: readonly SequenceSpan[];
  /** Total logical query tokens (sum of qLen). */
  readonly totalQ: number;
  /** Total logical key tokens (sum of kLen). */
  readonly totalK: number;
  /** Rows in the caller's query buffer (>= totalQ when padded). */
  readonly qRows: number;
  /** Rows in the caller's key buffer (>= totalK when padded; numPages * pageSize when paged). */
  readonly kRows: number;
  /** Page size when the key cache is paged (null: contiguous). */
  readonly pageSize: number | null;
  /** Buffer row of each logical query token. */
  readonly qRowOf: readonly number[];
  /** Buffer row of each logical key token. */
  readonly kRowOf: readonly number[];
  /** RoPE position of each logical query token (restarts in each sequence; bottom-right). */
  readonly qPositions: readonly number[];
  /** RoPE position of each logical key token (restarts at 0 in each sequence). */
  readonly kPositions: readonly number[];
  /** Sequence id of each logical query token. */
  readonly qSeqId: readonly number[];
  /** Sequence id of each logical key token. */
  readonly kSeqId: readonly number[];
}

/**
 * A paged key cache, as FlashMLA runs it: the key buffer is a pool of `numPages`
 * pages of `pageSize` rows; logical page p of sequence b lives in physical page
 * `blockTable[b][p]`. Entries past the pages a sequence needs are never read (they
 * may hold anything, e.g. -1).
 */
export interface Paging {
  /** Rows per page (64 by default in FlashMLA). */
  readonly pageSize: number;
  /** Pages in the pool. */
  readonly numPages: number;
  /** Per sequence, the physical page of each logical page. */
  readonly blockTable: readonly (readonly number[])[];
}

/** A request for a layout, before normalization. */
export type LayoutRequest =
  | {
    /** Batch-major or sequence-major uniform layout. */
    readonly kind: "bshd" | "sbhd";
    /** Batch size. */
    readonly batch: number;
    /** Query tokens per sequence. */
    readonly seqQ: number;
    /** Key tokens per sequence buffer (the cache capacity when kvLens is given). */
    readonly seqK: number;
    /** Optional per-sequence key lengths (decode against a cache); each <= seqK. */
    readonly kvLens?: readonly number[];
    /** Causal (bottom-right). */
    readonly causal: boolean;
    /** Keys live in a paged pool instead of b*seqK contiguous rows. */
    readonly paging?: Paging;
  }
  | {
    /** Packed variable-length layout. */
    readonly kind: "thd";
    /** Cumulative query lengths: starts at 0, non-decreasing. */
    readonly cuSeqlensQ: readonly number[];
    /** Cumulative key lengths (defaults to cuSeqlensQ). */
    readonly cuSeqlensK?: readonly number[];
    /** Padded cumulative offsets of queries in the buffer (defaults to cuSeqlensQ). */
    readonly cuSeqlensQPadded?: readonly number[];
    /** Padded cumulative offsets of keys in the buffer (defaults to cuSeqlensK). */
    readonly cuSeqlensKPadded?: readonly number[];
    /** Causal (bottom-right). */
    readonly causal: boolean;
    /** Keys live in a paged pool (cuSeqlensKPadded is then ignored). */
    readonly paging?: Paging;
  };

/**
 * Plan tuning (adapter/plan_tuning.ts): knobs over the adapter's defaults for the
 * GPU-shaped kernels' plans, each optional: an absent knob keeps the adapter's default.
 */
export interface PlanTuning {
  /** Rows (query x head) of one wgsl-absorbed-tiled workgroup at most: 1, 2, 4, 8, 16 or 32. */
  readonly tiledMaxRows?: number;
  /** The most q vec4s a wgsl-absorbed-tiled invocation holds in registers: a power of two to 64. */
  readonly tiledMaxQVec4?: number;
  /** Smallest key share of one wgsl-absorbed-tiled KV split: 16 to 65536 keys. */
  readonly tiledMinKeysPerSplit?: number;
  /** Workgroups per SM the wgsl-absorbed-tiled splits aim for: 1 to 32. */
  readonly tiledWorkgroupsPerSm?: number;
  /**
   * The workgroup-memory tier wgsl-absorbed-tiled stages its key tiles for (bytes): 16384,
   * 32768 or 49152, at most the device's maxComputeWorkgroupStorageSize.
   */
  readonly tiledTier?: number;
  /** Widest chunk of the head width wgsl-expanded-tiled (FA2) stages at once: 1 to 16 vec4s. */
  readonly fa2MaxChunkVec4?: number;
  /** Smallest key share of one wgsl-expanded-tiled KV split: 32 to 65536 keys. */
  readonly fa2MinKeysPerSplit?: number;
  /** Workgroups per SM the wgsl-expanded-tiled grid and splits aim for: 1 to 32. */
  readonly fa2WorkgroupsPerSm?: number;
}

/** Device capabilities as plain data, probed by gpu/ or loaded from a caps file. */
export interface DeviceCaps {
  /** Adapter information. */
  readonly adapter: {
    readonly vendor: string;
    readonly architecture: string;
    readonly device: string;
    readonly description: string;
    readonly isFallbackAdapter: boolean;
  };
  /** Enabled-able features, e.g. "shader-f16", "timestamp-query". */
  readonly features: readonly string[];
  /** Limits by their WebGPU names, e.g. maxStorageBufferBindingSize. */
  readonly limits: Readonly<Record<string, number>>;
  /**
   * Loop iterations one shader invocation may run in total before the device ends
   * its loops (measured by gpu/loop_budget.ts when a device was created; null: no
   * budget found; absent: not measured, see adapter/loop_budget.ts).
   */
  readonly loopIterationBudget?: number | null;
  /**
   * Streaming multiprocessors (compute units): WebGPU does not expose them, so a caps
   * file or, for the device the harness runs on, the environment variable
   * MLA_HARNESS_SM_COUNT sets this; it overrides the table of adapter/device_class.ts.
   */
  readonly smCount?: number;
  /** Where `smCount` came from when not a caps file: "MLA_HARNESS_SM_COUNT". */
  readonly smCountFrom?: "MLA_HARNESS_SM_COUNT";
  /**
   * The device class set by hand, overriding the rules of adapter/device_class.ts (which
   * kernels `auto` picks, whether weights are read through textures): a caps file's
   * `deviceClass` or, for the device the harness runs on, MLA_HARNESS_DEVICE_CLASS. The
   * device's loop budget still applies.
   */
  readonly deviceClass?: "cpu" | "gpu";
  /** Where `deviceClass` came from when not a caps file: "MLA_HARNESS_DEVICE_CLASS". */
  readonly deviceClassFrom?: "MLA_HARNESS_DEVICE_CLASS";
  /**
   * Plan tuning (adapter/plan_tuning.ts): knobs over the adapter's defaults for the
   * GPU-shaped kernels' plans, measured on this device; a caps file's `tuning` or, for the
   * device the harness runs on, the file MLA_HARNESS_TUNING names.
   */
  readonly tuning?: PlanTuning;
  /** Where `tuning` came from when not a caps file: "MLA_HARNESS_TUNING=<file>". */
  readonly tuningFrom?: string;
  /**
   * The WebGPU backend the device runs on (wgpu's: "vulkan", "gl", "metal", "dx12"),
   * recorded when the harness creates a device; absent when not known (a caps file
   * without it, a browser). With "gl" and a fallback adapter, resolve() refuses model-size
   * cases as too slow (adapter/slow_device.ts).
   */
  readonly webgpuBackend?: string;
}

/**
 * Backend identifiers: the bundled `wgsl-absorbed`, `wgsl-expanded` and
 * `cpu-reference`, or the id of a user backend registered for the run (see
 * adapter/registry.ts); `auto` picks among the bundled GPU ones by priority.
 */
export type BackendId = string;

/**
 * `auto` restricted to one attention path: the device-class choice among the bundled
 * backends of that path (adapter/backends.ts `pathPriority`). Matrix cases and `bench`
 * request their `path` this way.
 */
export type AutoPathRequest = `auto:${AttentionPath}`;

/** A backend id as requested (may be `auto`, or `auto:<path>`). */
export type BackendRequest = BackendId | "auto" | AutoPathRequest;

/** One failed support check. */
export interface Reason {
  /** Stable machine-readable code, e.g. `dtype.f16-unavailable`. */
  readonly code: string;
  /** Human-readable explanation with the offending value and what would be valid. */
  readonly message: string;
}

/** What one case asks for: a spec, a layout, a dtype and a backend. */
export interface CaseRequest {
  /** The layer spec. */
  readonly spec: MlaSpec;
  /** The layout request (normalized by resolve). */
  readonly layout: LayoutRequest;
  /** Storage dtype. */
  readonly dtype: Dtype;
  /** Requested backend. */
  readonly backend: BackendRequest;
}

/**
 * A texture holding rows of vec4s that a gemm kernel reads (the latent cache, the absorbed
 * query's (row, head) rows, or the expanded q, K and V's), one texel per vec4 of a row:
 * row k's texel c is at x = (k % rowsPerTexelRow) x (vec4s per row) + c,
 * y = floor(k / rowsPerTexelRow) (several rows share a texture row when the rows outnumber
 * maxTextureDimension2D).
 */
export interface CacheTextureShape {
  /**
   * rgba32float for f32 rows, rgba16float for f16 (the same bits, read as f32), or
   * rgba32uint for f16 rows packed two vec4s of halves per texel (gemm_plan.ts
   * `packsF16Rows`: then row k's vec4s 2c and 2c + 1 are texel c, and a row has half as
   * many texels).
   */
  readonly format: "rgba32float" | "rgba16float" | "rgba32uint";
  /** Rows per texture row (the kernels' RPT, RPTQ, RPTK, RPTV). */
  readonly rowsPerTexelRow: number;
  /** Texture width in texels: (texels per row) x rowsPerTexelRow. */
  readonly width: number;
  /** Texture height: ceil(cache rows / rowsPerTexelRow), at least 1. */
  readonly height: number;
}

/** The textures of {@link KernelVariant.expandTextures}. */
export interface ExpandTextures {
  /** The latent cache's rows, (r + rope) / 4 vec4s each. */
  readonly latent: CacheTextureShape;
  /** w_kv_b's h x (nope + v) rows, r / 4 vec4s each. */
  readonly weights: CacheTextureShape;
}

/** The loop budget's share in a plan's KV splits ({@link KernelVariant.kvSplitsBudget}). */
export interface KvSplitsBudget {
  /** Loop iterations one invocation runs before the device ends the loop. */
  readonly budget: number;
  /** The most keys one invocation (one split of one sequence) may walk within it. */
  readonly maxKeysPerSplit: number;
  /** The fewest KV splits that keep the longest sequence's keys within it (> 1). */
  readonly minSplits: number;
}

/**
 * Why `wgsl-expanded-tiled` took its query tile (adapter/tiled_plan.ts `fa2QueryTile`, as
 * {@link KernelVariant.queryTileChoice}): what `explain` says, read from the plan.
 */
export interface QueryTileChoice {
  /** Workgroups of the grid at the plan's tile (query tiles x heads). */
  readonly workgroups: number;
  /** Workgroups per SM the grid should reach (the plan tuning's fa2WorkgroupsPerSm). */
  readonly workgroupsPerSm: number;
  /** Workgroups the grid should reach (SMs x workgroupsPerSm); null: the SM count is unknown. */
  readonly target: number | null;
  /** The GL fallback's workgroup-element cap the tile was held to, or null: none. */
  readonly elementCap: number | null;
  /**
   * The device's workgroup memory (bytes) that held the tile below the largest (absent:
   * none did; the tiles of larger queries would not fit it at any chunk width).
   */
  readonly workgroupBytesCap?: number;
}

/** Kernel variant parameters chosen by a backend: every launch parameter of its kernels. */
export interface KernelVariant {
  /** Kernel family, e.g. "absorbed" or "expanded" or "reference". */
  readonly family: string;
  /** Storage dtype. */
  readonly dtype: Dtype;
  /** Invocations per workgroup. */
  readonly workgroupSize: number;
  /** Heads handled per workgroup (absorbed) or 1. */
  readonly headsPerTile: number;
  /** Number of KV splits (1 = single pass). */
  readonly kvSplits: number;
  /** Queries per tile of the attention kernel: 1 (decode) or 4 (prefill). */
  readonly queryTile: number;
  /** Heads one invocation handles (HPL of absorbed.wgsl); 1 for the other kernels. */
  readonly headsPerInvocation: number;
  /** Keys per block of the key loop (adapter/loop_budget.ts `keysPerBlock`). */
  readonly keysPerBlock: number;
  /**
   * `wgsl-expanded`: vec4s per trip of its decode tile's d loops (DSTEP of expanded.wgsl: 1,
   * 2 for packed f16 rows, or 4 where one fetch per trip would not fit the loop budget;
   * always 4 in a prefill tile; adapter/loop_budget.ts `expandedDecodeStep`); other
   * kernels omit it.
   */
  readonly decodeStep?: number;
  /**
   * `wgsl-absorbed-tiled`: row groups of its value phase (RG of absorbed_tiled.wgsl:
   * invocation t owns output vec4 column t % (r / 4) of the rows of group
   * t / (r / 4); adapter/tiled_plan.ts `tiledValueRowGroups`); other kernels omit it.
   */
  readonly valueRowGroups?: number;
  /**
   * The kernel's `// @unroll` loops are unrolled in its source (kernels/unroll.ts) before
   * compilation: `wgsl-absorbed-tiled` and `wgsl-expanded-tiled` on a gpu-class device, where wgpu's loop bounding
   * would hide their trip counts from the driver (adapter/backends.ts); absent: as written.
   */
  readonly unrolledLoops?: boolean;
  /**
   * Where the device's loop budget calls for more than one KV split (`wgsl-absorbed`,
   * `wgsl-absorbed-tiled`, `wgsl-expanded-tiled`): the budget, the most keys one invocation
   * of the kernel may walk within it, and the fewest splits that keep the longest
   * sequence's keys within it (`kvSplits` is at least that many). Absent without a budget,
   * or where one split fits. What `explain` says of why the plan took its splits.
   */
  readonly kvSplitsBudget?: KvSplitsBudget;
  /** `wgsl-expanded-tiled`: why its query tile ({@link QueryTileChoice}); other kernels omit it. */
  readonly queryTileChoice?: QueryTileChoice;
  /**
   * `wgsl-expanded-tiled`: vec4s of the head width its score GEMM stages per chunk (DKV of
   * expanded_fa2.wgsl: the widest divisor of (nope + rope) / 4 that fits the device's
   * workgroup memory, adapter/tiled_plan.ts `fa2ChunkVec4`); other kernels omit it.
   */
  readonly chunkVec4?: number;
  /** Output vec4 columns per invocation of a values pass (EV of absorbed_gemm.wgsl); other kernels omit it. */
  readonly columnsPerInvocation?: number;
  /** vec4s per row of a materialized score buffer (KMAX4 of absorbed_gemm.wgsl); other kernels omit it. */
  readonly scoreVec4PerRow?: number;
  /**
   * Key splits of the absorbed gemm kernel's values pass (1: it writes x itself; more:
   * partials summed by split_sum.wgsl); other kernels omit it. Not `kvSplits`: the
   * softmax still sees every key, so the splits need no LSE merge.
   */
  readonly valueSplits?: number;
  /** Keys of one values split (a multiple of 4), with `valueSplits`. */
  readonly keysPerValueSplit?: number;
  /**
   * The texture the kernel reads the latent cache through (`wgsl-absorbed-gemm`: copied
   * from the cache buffer by cache_texture.wgsl, a pass outside the attention core);
   * other kernels omit it.
   */
  readonly cacheTexture?: CacheTextureShape;
  /**
   * The texture the kernel reads the absorbed query through (`wgsl-absorbed-gemm`: rows
   * are (query row, head) pairs, copied from q_absorbed by cache_texture.wgsl in a pass of
   * the attention core); other kernels omit it.
   */
  readonly queryTexture?: CacheTextureShape;
  /**
   * `wgsl-absorbed-gemm` and `wgsl-expanded-gemm`: the texture their softmax pass writes
   * the probabilities into and their values pass reads them through (always rgba32float: P
   * is f32; rows are (query token, head) pairs of scoreVec4PerRow texels). Absent where no texture of the device
   * holds them (the values pass then reads the score buffer); other kernels omit it.
   */
  readonly probTexture?: CacheTextureShape;
  /**
   * `wgsl-expanded-gemm`: the textures it reads the expanded K and V through, rows are
   * (key row, head) pairs, copied from the expanded buffers as cache construction; other
   * kernels omit them.
   */
  readonly keyTexture?: CacheTextureShape;
  /**
   * The textures the K/V expansion (kernels/launch.ts `expandDense`, expand_kv.wgsl)
   * reads the latent cache and w_kv_b through, copied as cache construction; absent: it
   * reads the buffers.
   */
  readonly expandTextures?: ExpandTextures;
  /**
   * The texture the absorbed path's query absorption and up-projection (kernels/launch.ts
   * `absorbQ`, `upProject`) read w_kv_b's rows through, copied as cache construction;
   * absent: they read the buffer.
   */
  readonly weightTexture?: CacheTextureShape;
  /** See {@link KernelVariant.keyTexture}. */
  readonly valueTexture?: CacheTextureShape;
  /**
   * The kernels' subgroup variant (WebGPU feature `subgroups`; kernels/source.ts `// @sg:`
   * lines): true for `wgsl-absorbed-tiled-sg`; other kernels omit it.
   */
  readonly subgroups?: boolean;
}

/** Where a plan's backend computes: on the WebGPU device, or on the CPU. */
export type RunsOn = "gpu" | "cpu";

/** The float64 formulation the reference computes a case with (chosen by cost). */
export type ReferenceFormulation = "dense" | "absorbed-f64";

/** A buffer the plan will allocate. */
export interface BufferSpec {
  /** Buffer name. */
  readonly name: string;
  /** Size in bytes. */
  readonly bytes: number;
}

/** The resolved, serializable execution plan of one case. */
export interface Plan {
  /** Discriminant. */
  readonly kind: "plan";
  /** The chosen backend. */
  readonly backend: BackendId;
  /** Where the backend computes; only "gpu" plans reach a GPU launcher. */
  readonly runsOn: RunsOn;
  /** The float64 formulation the parity reference uses for this case. */
  readonly reference: ReferenceFormulation;
  /** The requested backend (auto or a concrete one). */
  readonly requested: BackendRequest;
  /** The attention path the backend computes. */
  readonly path: AttentionPath;
  /** Kernel variant and its parameters. */
  readonly variant: KernelVariant;
  /** Layer metadata the attention core needs. */
  readonly attention: {
    readonly numHeads: number;
    /** Per-head no-position width of q and k. */
    readonly qkNopeHeadDim: number;
    /** Decoupled RoPE width (q_pe per head, the shared k_pe). */
    readonly qkRopeHeadDim: number;
    /** Latent width r (kv_lora_rank). */
    readonly kvLoraRank: number;
    readonly kChannels: number;
    readonly vChannels: number;
    /** Key width the kernel reads per cached row (absorbed: r + rope; expanded: k_channels). */
    readonly keyWidth: number;
    /** Value width the kernel accumulates (absorbed: r; expanded: v). */
    readonly valueWidth: number;
    readonly softmaxScale: number;
    /** The RoPE the harness applies to q_pe and k_pe, as the adapter read it from the config. */
    readonly rope: PlanRope;
  };
  /** The tiles of the harness's own passes around the core (adapter/harness_tiles.ts). */
  readonly harnessTiles: HarnessTiles;
  /** The normalized layout. */
  readonly layout: NormalizedLayout;
  /** Buffers and their sizes. */
  readonly buffers: readonly BufferSpec[];
  /** Reasons other backends were passed over (auto), for the record. */
  readonly passedOver: readonly Unsupported[];
}

/**
 * The RoPE a plan's passes apply (rope.wgsl, on q_pe each step and on the cache's k_pe
 * once): from the spec, so that the plan digest changes with any RoPE setting.
 */
export interface PlanRope {
  /** How the two halves of each pair are chosen. */
  readonly pairing: RopePairing;
  /** Inverse frequencies, rope/2 of them (YaRN-corrected where the config has YaRN). */
  readonly invFreq: readonly number[];
  /** Multiplier on cos and sin (YaRN's m(mscale) / m(mscale_all_dim), LongRoPE's; else 1). */
  readonly cosSinScale: number;
}

/**
 * Register tiles of the harness's own passes (adapter/harness_tiles.ts): each present on the
 * path that runs the pass.
 */
export interface HarnessTiles {
  /**
   * The query absorption (absorbed path): absorb_q.wgsl, rows x output vec4 columns per
   * invocation; with `nopeGroups` (gpu-class devices) absorb_q_split.wgsl, rows x output
   * vec4 columns per workgroup, one column a lane, `nopeGroups` groups of lanes splitting
   * the sum over the nope channels.
   */
  readonly absorbQ?: {
    readonly rows: number;
    readonly columns: number;
    readonly nopeGroups?: number;
  };
  /**
   * The up-projection (absorbed path): up_proj.wgsl, tokens x output channels per
   * invocation; with `latentLanes` (gpu-class devices) up_proj_split.wgsl, tokens x
   * channels per workgroup of `workgroupSize` invocations, `latentLanes` of which split the
   * latent width of each channel.
   */
  readonly upProj?:
    | {
      readonly tokens: number;
      readonly channels: number;
      readonly latentLanes?: undefined;
      readonly workgroupSize?: undefined;
    }
    | {
      readonly tokens: number;
      readonly channels: number;
      readonly latentLanes: number;
      readonly workgroupSize: number;
    };
  /** expand_kv.wgsl (expanded path): rows x channels per invocation, invocations per workgroup. */
  readonly expandKv?: {
    readonly rows: number;
    readonly channels: number;
    readonly workgroupSize: number;
  };
}

/** A plan whose backend runs on the GPU: the only kind a GPU launcher accepts. */
export type GpuPlan = Plan & { readonly runsOn: "gpu" };

/** The explicit "unsupported, because ..." outcome. Never thrown. */
export interface Unsupported {
  /** Discriminant. */
  readonly kind: "unsupported";
  /** The backend that was asked (or `auto`). */
  readonly backend: BackendRequest;
  /**
   * Every failed check. For `auto` and `auto:<path>`, a reason every candidate gave (the
   * case's, e.g. `layout.no-keys`) once, with no prefix, then each candidate's own reasons,
   * code-prefixed by backend (adapter/resolve.ts `reasonsByCandidate` reads them back).
   */
  readonly reasons: readonly Reason[];
  /** `auto` and `auto:<path>`: the backends tried, in order (absent for a named backend). */
  readonly tried?: readonly BackendId[];
}

/** The outcome of resolve(). */
export type Resolution = Plan | Unsupported;

/** A dense row-major tensor buffer (float64 on the CPU, float32 where a GPU result came back). */
export type Tensor = Float64Array | Float32Array;

/**
 * The inputs of the MLA attention core, shared by both paths so absorbed and
 * expanded kernels (and the references) consume the same numbers. Rows are buffer
 * rows of the layout (`qRowOf` / `kRowOf` map logical tokens to them); rows that
 * no logical token maps to are padding (poisoned with NaN by the input generator).
 * RoPE is NOT yet applied to `qPe` / `kPe`: it is part of the computation under test.
 */
export interface AttentionInputs {
  /** [qRows, numHeads, qkNopeHeadDim] */
  readonly qNope: Tensor;
  /** [qRows, numHeads, qkRopeHeadDim], before RoPE. */
  readonly qPe: Tensor;
  /** Normalized latent c: [kRows, kvLoraRank]. */
  readonly latent: Tensor;
  /** Shared RoPE key: [kRows, qkRopeHeadDim], before RoPE. */
  readonly kPe: Tensor;
  /** kv_b_proj weight [numHeads * (qkNopeHeadDim + vHeadDim), kvLoraRank]: per head W_UK rows then W_UV rows. */
  readonly wKvB: Tensor;
}

/**
 * Attention outputs in logical query order. For a query row that sees no key the
 * convention is: output 0, LSE = -Infinity (the log-sum-exp of nothing).
 */
export interface AttentionOutputs {
  /** [totalQ, numHeads, vHeadDim] */
  readonly out: Tensor;
  /** Natural-log log-sum-exp of the scaled scores: [totalQ, numHeads]. */
  readonly lse: Tensor;
}

/**
 * Weights of one MLA layer in the torch Linear convention (weight [out, in],
 * y = x W^T), HF names in comments.
 */
export interface LayerWeights {
  /** q_proj [h*(nope+rope), hidden] (direct q path only). */
  readonly qProj?: Tensor;
  /** q_a_proj [q_lora, hidden] (low-rank only). */
  readonly qAProj?: Tensor;
  /** q_a_layernorm weight [q_lora] (low-rank only). */
  readonly qANorm?: Tensor;
  /** q_b_proj [h*(nope+rope), q_lora] (low-rank only). */
  readonly qBProj?: Tensor;
  /** kv_a_proj_with_mqa [r + rope, hidden]. */
  readonly kvAProj: Tensor;
  /** kv_a_layernorm weight [r]. */
  readonly kvANorm: Tensor;
  /** kv_b_proj [h*(nope+v), r]. */
  readonly kvBProj: Tensor;
  /** o_proj [hidden, h*v]. */
  readonly oProj: Tensor;
}
