/**
 * `explain`: the canonical spec and the resolution of one case, as data and as
 * text for a terminal.
 *
 * @module
 */
import { sameFactors, specForLayout } from "./longrope.ts";
import { normalizeLayout } from "./layout.ts";
import { formatTuning, resolvedTuning } from "./plan_tuning.ts";
import type { ConfigReading } from "./config.ts";
import { autoPathOf, autoPriority, laneHeadTile, pathPriority } from "./backends.ts";
import { expandedTextureBinding } from "./gemm_plan.ts";
import {
  FA2_QUERY_TILE,
  FA2_QUERY_TILES,
  fa2Grid,
  fa2KeysPerSplit,
  fa2WorkgroupBytes,
  fa2WorkgroupElements,
  tiledKeysPerTrip,
  tiledQSegment,
  tiledUnrolledValueKeys,
} from "./tiled_plan.ts";
import { type DeviceClass, deviceClassOf, formatDeviceClass } from "./device_class.ts";
import { harnessSplitRefusals } from "./harness_tiles.ts";
import { workgroupElementCap } from "./slow_device.ts";
import { backendById, isBundledBackend } from "./registry.ts";
import { resolve, type ResolveOptions } from "./resolve.ts";
import type {
  CacheTextureShape,
  CaseRequest,
  DeviceCaps,
  HarnessTiles,
  KernelVariant,
  MlaSpec,
  NormalizedLayout,
  Resolution,
} from "./types.ts";

/** The explanation of one case: what the adapter derived and decided. */
export interface Explanation {
  /** The canonical spec. */
  readonly spec: MlaSpec;
  /** The requested dtype. */
  readonly dtype: CaseRequest["dtype"];
  /** The device the decision was made for (null: none). */
  readonly caps: DeviceCaps | null;
  /**
   * How the adapter classified that device (cpu or gpu, why, its workgroup-memory tier and SM
   * count, each with its source; null without a device), as the text's "device class" line.
   */
  readonly classified: DeviceClass | null;
  /** Plan or every reason. */
  readonly resolution: Resolution;
  /** How the config was read (naming, RoPE shape, defaults applied), when known. */
  readonly config?: ConfigReading;
}

/** Options of {@link explainCase}: resolve's, plus how the config was read. */
export interface ExplainOptions extends ResolveOptions {
  /** How the spec's config was read (from `loadSpecReading`, ./source.ts). */
  config?: ConfigReading;
}

/**
 * Resolve a case and keep everything that explains the decision.
 *
 * @example
 * ```ts
 * import { explainCase } from "./explain.ts";
 * import { presetSpec } from "./presets.ts";
 * const e = explainCase({
 *   spec: presetSpec("tiny"), dtype: "f32", backend: "cpu-reference",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true },
 * }, null);
 * e.resolution.kind; // "plan"
 * ```
 */
export function explainCase(
  req: CaseRequest,
  caps: DeviceCaps | null,
  options: ExplainOptions = {},
): Explanation {
  const { config, ...resolveOptions } = options;
  // LongRoPE (MiniCPM3): the spec of the factor list the model picks for this layout's
  // longest key sequence (a layout resolve() refuses keeps the spec as read).
  let spec = req.spec;
  try {
    spec = specForLayout(req.spec, normalizeLayout(req.layout));
  } catch {
    // resolve() below reports the layout's problem
  }
  req = { ...req, spec };
  const e = {
    spec: req.spec,
    dtype: req.dtype,
    caps,
    classified: deviceClassOf(caps),
    resolution: resolve(req, caps, resolveOptions),
  };
  return config ? { ...e, config } : e;
}

const g = (x: number) => Number(x.toPrecision(6)).toString();

const SHAPE_TEXT: Record<ConfigReading["ropeShape"], string> = {
  rope_scaling: "rope_theta + rope_scaling (transformers 4)",
  rope_parameters: "rope_parameters (transformers 5)",
  "rope_parameters+rope_scaling": "rope_parameters and rope_theta/rope_scaling (they agree)",
  none: "no rope_scaling or rope_parameters (plain RoPE)",
  megatron: "Megatron keys",
};

function readingLines(r: ConfigReading, spec: MlaSpec): string[] {
  const lines = [
    `  config read as ${r.format}; ` +
    (spec.mlaUseNope ? "no RoPE (mla_use_nope)" : `RoPE from ${SHAPE_TEXT[r.ropeShape]}`),
  ];
  if (r.defaulted.length === 0) lines.push("  defaulted: none (every RoPE/YaRN field is given)");
  for (const d of r.defaulted) {
    lines.push(
      `  defaulted ${d.field} = ${JSON.stringify(d.value)}${d.note ? ` (${d.note})` : ""}`,
    );
  }
  for (const d of r.overridden ?? []) {
    lines.push(
      `  overridden ${d.field} = ${JSON.stringify(d.value)}${d.note ? ` (${d.note})` : ""}`,
    );
  }
  return lines;
}

// Every value where there are 6 or fewer (a rope width of 12 or less); else the first 4 and the
// last 2 around an ellipsis (the two slices overlapped below 6, repeating values).
function invFreqList(invFreq: readonly number[]): string {
  if (invFreq.length <= 6) return invFreq.map(g).join(", ");
  return `${invFreq.slice(0, 4).map(g).join(", ")}, ..., ${invFreq.slice(-2).map(g).join(", ")}`;
}

function specLines(spec: MlaSpec, reading?: ConfigReading): string[] {
  const y = spec.yarn;
  return [
    `spec ${spec.name} (${spec.source})`,
    ...(reading ? readingLines(reading, spec) : []),
    `  hidden ${spec.hiddenSize}, heads ${spec.numHeads}, q path ${spec.qPath}` +
    ` (q_lora_rank ${spec.qLoraRank ?? "none"}), kv_lora_rank ${spec.kvLoraRank}`,
    `  k_channels ${spec.kChannels} = nope ${spec.qkNopeHeadDim} + rope ${spec.qkRopeHeadDim};` +
    ` v_channels ${spec.vChannels}; latent cache row ${spec.latentCacheWidth}`,
    ...(spec.mlaUseNope
      ? [
        `  no RoPE (mla_use_nope): the ${spec.qkRopeHeadDim} rope channels are carried ` +
        "unrotated (inv_freq all 0: every rotation is the identity)",
        `  softmax scale ${spec.softmaxScale.toFixed(6)} = 1 / sqrt(${spec.kChannels})`,
      ]
      : [
        `  rope theta ${spec.ropeTheta}, pairing ${spec.ropePairing}, ` +
        (y
          ? `YaRN factor ${y.factor} (original ${y.originalMaxPositionEmbeddings}, beta ${y.betaFast}/${y.betaSlow}, mscale ${y.mscale}/${y.mscaleAllDim}), m ${
            g(spec.yarnM)
          }, cos/sin scale ${g(spec.ropeCosSinScale)}`
          : spec.longrope
          ? `LongRoPE (MiniCPM3): ${spec.longrope.factors}_factor (keys up to original ` +
            `${spec.longrope.originalMaxPositionEmbeddings}: short_factor, longer: long_factor${
              sameFactors(spec.longrope) ? "; the two lists are equal" : ""
            }), cos/sin scale ${g(spec.ropeCosSinScale)} (max positions ` +
            `${spec.longrope.maxPositionEmbeddings}), no YaRN (m = 1)`
          : spec.yarnM !== 1
          // Megatron's rope_type "rope": plain RoPE, the softmax still scaled by m^2
          ? `no YaRN RoPE, softmax m ${g(spec.yarnM)} (Megatron: m(rotary_scaling_factor, ` +
            "mscale_all_dim) whatever rope_type)"
          : "no YaRN (m = 1)"),
        spec.softmaxWithoutYarnM
          ? `  softmax scale ${spec.softmaxScale.toFixed(6)} = 1 / sqrt(${spec.kChannels}) ` +
            "(Mistral 4: no YaRN m^2 in the softmax)"
          : `  softmax scale ${spec.softmaxScale.toFixed(6)} = m^2 / sqrt(${spec.kChannels})`,
        ...(spec.queryTemperature
          ? [
            `  query temperature (beta ${spec.queryTemperature.beta}): 1 + beta ` +
            `* ln(1 + floor(position / ${spec.queryTemperature.originalMaxPositionEmbeddings})), ` +
            `1 below position ${spec.queryTemperature.originalMaxPositionEmbeddings}; cases with ` +
            "a query at that position or later are refused (spec.query-temperature)",
          ]
          : []),
        `  inv_freq (${spec.invFreq.length}): ${invFreqList(spec.invFreq)}`,
      ]),
    ...(spec.mlaOutputGate
      ? [
        "  output gate (mla_use_output_gate or gated_attention_proj_granularity_type): " +
        "sigmoid(g_proj(x)) * attention before o_proj; " +
        "the attention core is unchanged, the full layer (`layer`) is refused",
      ]
      : []),
    ...(spec.qLatentScale !== undefined || spec.kvLatentScale !== undefined
      ? [
        "  latent scaling (mla_scale_q_lora / mla_scale_kv_lora): " +
        [
          spec.qLatentScale !== undefined ? `q latent x ${g(spec.qLatentScale)}` : null,
          spec.kvLatentScale !== undefined ? `kv latent x ${g(spec.kvLatentScale)}` : null,
        ].filter((x) => x !== null).join(", ") +
        " after their norms (the full layer applies it)",
      ]
      : []),
    ...(spec.noLatentNorms
      ? [
        `  no latent norms (${
          spec.source === "megatron"
            ? "Megatron without qk_layernorm"
            : "qk_latent_layernorm or qk_latent_norm false"
        }): the attention core is unchanged, ` +
        "the full layer (`layer`) is refused",
      ]
      : []),
    ...(spec.attentionBias
      ? [
        "  attention biases (attention_bias): the attention core is unchanged, the full " +
        "layer (`layer`) is refused",
      ]
      : []),
  ];
}

/** The line that says why `auto` or `auto:<path>` tried backends in its order. */
function autoReason(
  requested: string,
  layout: NormalizedLayout,
  caps: DeviceCaps | null,
): string[] {
  if (requested === "auto") return [`  auto: ${autoPriority(layout, caps).reason}`];
  const path = autoPathOf(requested);
  return path ? [`  ${requested}: ${pathPriority(path, layout, caps).reason}`] : [];
}

/**
 * Human-readable rendering of an explanation.
 *
 * @example
 * ```ts
 * import { explainCase, formatExplanation } from "./explain.ts";
 * import { presetSpec } from "./presets.ts";
 * const text = formatExplanation(explainCase({
 *   spec: presetSpec("tiny"), dtype: "f32", backend: "auto",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true },
 * }, null));
 * text.includes("unsupported"); // true
 * ```
 */
export function formatExplanation(e: Explanation): string {
  const lines = specLines(e.spec, e.config);
  // a caps file may name no device at all (its adapter object left empty): said, not blank
  const device = e.caps
    ? e.caps.adapter.description || e.caps.adapter.vendor ||
      "(unnamed: the adapter gives no description or vendor)"
    : "none";
  lines.push(`device ${device}; dtype ${e.dtype}`);
  const cls = e.classified;
  if (cls) lines.push(`  ${formatDeviceClass(cls)}`);
  lines.push(...tuningLines(e.caps));
  const r = e.resolution;
  if (r.kind === "plan") {
    const l = r.layout;
    lines.push(
      `layout ${l.kind}${
        l.causal ? " causal (bottom-right)" : ""
      }: ${l.seqs.length} sequence(s), ` +
        `${l.totalQ} query / ${l.totalK} key tokens`,
      `plan: ${r.backend} (requested ${r.requested}), path ${r.path}, ${r.variant.dtype}, ` +
        `workgroup ${r.variant.workgroupSize}, heads/tile ${r.variant.headsPerTile}, ` +
        `kv splits ${r.variant.kvSplits}, queries/tile ${r.variant.queryTile}`,
      ...autoReason(r.requested, r.layout, e.caps),
      // a user backend's own one-line description (its module's `description` export)
      ...(isBundledBackend(r.backend)
        ? []
        : [`  ${r.backend}: ${backendById(r.backend)?.description ?? "(no description)"}`]),
      ...headTileLines(r.variant, r.attention.numHeads),
      ...tiledLines(r.variant, r.attention.keyWidth, e.caps),
      ...fa2Lines(r.variant, r.layout, r.attention, cls?.smCount ?? null, e.caps),
      ...kvSplitLines(r.variant, r.layout),
      ...unrolledLines(r.variant),
      ...valuesPassLines(r.variant),
      ...weightReadLines(r.variant, r.path, r.harnessTiles),
      ...harnessSplitRefusals(r.path, { deviceClass: cls?.kind, limits: e.caps?.limits })
        .map((why) => `  ${why} (the one-lane walk this device's limits take)`),
      `  key width ${r.attention.keyWidth}, value width ${r.attention.valueWidth}, ` +
        `softmax scale ${r.attention.softmaxScale.toFixed(6)}`,
    );
    for (const b of r.buffers) lines.push(`  buffer ${b.name}: ${b.bytes} bytes`);
    for (const u of r.passedOver) {
      lines.push(`passed over ${u.backend}:`);
      for (const reason of u.reasons) lines.push(`  - ${reason.code}: ${reason.message}`);
    }
  } else {
    lines.push(`unsupported (${r.backend}), because:`);
    // auto's candidates: a reason they all gave is said once, without a backend prefix
    if (r.tried !== undefined && r.tried.length > 1) {
      lines.push(
        `  backends tried: ${r.tried.join(", ")} (a reason without a backend prefix is ` +
          "every one's)",
      );
    }
    for (const reason of r.reasons) lines.push(`  - ${reason.code}: ${reason.message}`);
  }
  return lines.join("\n");
}

/**
 * A line saying which texture a kernel reads `what` through, how the kernel binds it
 * (`storage`: a read-only storage texture, `sampled`: a sampled one), and how it is filled.
 */
function textureLine(
  what: string,
  t: CacheTextureShape | undefined,
  copied: string,
  binding: "storage" | "sampled" = "storage",
): string[] {
  return t === undefined ? [] : [
    `  ${what}: read through an ${t.format} texture of ${t.width} x ${t.height} texels ` +
    (t.format === "rgba32uint" ? "(f16 rows packed two vec4s of halves per texel; " : "(") +
    `${t.rowsPerTexelRow} row${t.rowsPerTexelRow === 1 ? "" : "s"} per texture row), ` +
    `bound as a ${binding === "storage" ? "read-only storage" : "sampled"} texture, ` +
    `copied by cache_texture.wgsl ${copied}`,
  ];
}

/**
 * Where the passes around the attention read w_kv_b (and the latent cache): an absorbed
 * plan's query absorption and up-projection, an expanded plan's K/V expansion. Through
 * textures on cpu-class devices (`weightTexture`, `expandTextures`), else the buffers. On
 * a gpu-class device the absorbed plan's two projections are the split forms
 * (adapter/harness_tiles.ts), with a line on their shape.
 */
function weightReadLines(v: KernelVariant, path: string, tiles: HarnessTiles): string[] {
  if (v.family === "reference") return [];
  const a = tiles.absorbQ;
  const u = tiles.upProj;
  const files = `${a?.nopeGroups === undefined ? "absorb_q" : "absorb_q_split"}.wgsl, ` +
    `${u?.latentLanes === undefined ? "up_proj" : "up_proj_split"}.wgsl`;
  const splitLines = path !== "absorbed" || a === undefined || u === undefined ? [] : [
    ...(a.nopeGroups === undefined ? [] : [
      `  q absorption split: ${a.rows} rows x ${a.columns} output vec4s a workgroup of ` +
      `${a.columns * a.nopeGroups}, ${a.nopeGroups} lane groups splitting the nope channels ` +
      "(a decode's few rows would give one-invocation walks a few workgroups)",
    ]),
    ...(u.latentLanes === undefined ? [] : [
      `  up-projection split: ${u.tokens} tokens x ${u.channels} channels a workgroup of ` +
      `${u.workgroupSize}, ${u.latentLanes} lanes splitting the latent width`,
    ]),
  ];
  const [who, what, textures] = path === "absorbed"
    ? [
      `q absorption, up-projection (${files})`,
      "w_kv_b",
      v.weightTexture === undefined ? undefined : [["w_kv_b", v.weightTexture] as const],
    ]
    : [
      "K/V expansion (expand_kv.wgsl)",
      "the latent cache and w_kv_b",
      v.expandTextures === undefined ? undefined : [
        ["latent cache", v.expandTextures.latent] as const,
        ["w_kv_b", v.expandTextures.weights] as const,
      ],
    ];
  if (textures === undefined) {
    return [`  ${who}: reads ${what} from storage buffers`, ...splitLines];
  }
  return [
    `  ${who}: reads ${what} through textures (a cpu-class device loads a texel in one ` +
    "fetch, a storage vec4 a component at a time)",
    ...textures.flatMap(([name, t]) => textureLine(`  ${name}`, t, "as cache construction")),
    ...splitLines,
  ];
}

/** wgsl-expanded's decode tile of 8 heads where 16 would fit (backends.ts expandedHeadsPerTile). */
function headTileLines(v: KernelVariant, heads: number): string[] {
  if (v.family !== "expanded" || v.queryTile !== 1 || v.headsPerTile >= laneHeadTile(heads)) {
    return [];
  }
  return [
    `  heads/tile ${v.headsPerTile} of ${heads}: tiles of up to 16 heads would make the whole ` +
    "grid one workgroup; two let a CPU implementation run them on two threads",
  ];
}

/** Why the GL fallback caps a tiled kernel's workgroup memory (adapter/slow_device.ts). */
const GL_ZERO_FILL_WHY = "GL compiles workgroup memory's zero fill one store per element, " +
  "in time growing with their square";

/**
 * wgsl-absorbed-tiled's key tile and score shape (adapter/tiled_plan.ts): keys per staged
 * tile, and how an invocation's share of a query row is held (registers, or the subgroup
 * variant's coalesced reads).
 */
function tiledLines(v: KernelVariant, keyWidth: number, caps: DeviceCaps | null): string[] {
  if (!v.family.startsWith("absorbed-tiled")) return [];
  const rows = v.headsPerTile * v.queryTile;
  const chunks = keyWidth / (v.dtype === "f16" ? 8 : 4);
  const cap = workgroupElementCap(caps);
  const tile = `  key tiles: ${v.keysPerBlock} keys staged in workgroup memory, ` +
    "each tile's loads issued one tile ahead" +
    (cap === null ? "" : ` (at most ${cap} workgroup-memory elements: ${GL_ZERO_FILL_WHY})`);
  if (v.subgroups) {
    return [`${tile}; each (row, key) score summed by one subgroup from q read per tile`];
  }
  const segments = v.workgroupSize / rows;
  const groups = v.valueRowGroups ?? 1;
  const unrolledValues = tiledUnrolledValueKeys(v);
  return [
    `${tile}; ${rows} rows x ${segments} segments: each invocation holds ` +
    `${tiledQSegment(chunks, segments)} of a query row's ${chunks} 16-byte chunks in ` +
    "registers for its whole split" +
    (tiledKeysPerTrip(v) === 2
      ? ", and scores them against two staged keys a trip (two fma chains, two loads in flight)"
      : "") +
    (groups > 1
      ? `; values in ${groups} row groups of ${rows / groups} rows (every invocation ` +
        "takes a share)"
      : "") +
    (unrolledValues > 0
      ? `; a tile that every row of a value group sees whole runs its ${unrolledValues} keys' ` +
        "values unrolled, without the mask"
      : ""),
  ];
}

/**
 * The plan tuning the caps carry (adapter/plan_tuning.ts), where it came from, and which
 * knobs differ from the adapter's defaults; nothing without one.
 */
function tuningLines(caps: DeviceCaps | null): string[] {
  const line = formatTuning(caps);
  return line === null ? [] : [`  ${line}`];
}

/** A plan whose kernel's constant-trip loops are unrolled in the source, and why. */
function unrolledLines(v: KernelVariant): string[] {
  if (!v.unrolledLoops) return [];
  return [
    "  constant-trip loops unrolled in the source (gpu-class device): wgpu bounds every loop " +
    "it emits, which hides their trip counts from the driver, and an array a loop indexes " +
    "then leaves registers (kernels/unroll.ts)",
  ];
}

/**
 * wgsl-expanded-tiled's query tile and why (adapter/tiled_plan.ts fa2QueryTile): the
 * largest that gives the grid enough workgroups per SM, or the largest when the SM count
 * is unknown.
 */
function fa2Lines(
  v: KernelVariant,
  layout: NormalizedLayout,
  attention: { numHeads: number; keyWidth: number; valueWidth: number },
  smCount: number | null,
  caps: DeviceCaps | null,
): string[] {
  // the adapter's choice, as the plan carries it (a user backend's plan may not)
  const c = v.queryTileChoice;
  if (v.family !== "expanded-fa2" || c === undefined) return [];
  const heads = attention.numHeads;
  const queryLens = layout.seqs.map((s) => s.qLen);
  const shape = { qkVec4: attention.keyWidth / 4, vVec4: attention.valueWidth / 4 };
  const cap = workgroupElementCap(caps);
  const { fa2MaxChunkVec4: maxChunk } = resolvedTuning(caps?.tuning);
  const perSm = c.workgroupsPerSm;
  const chunk = v.chunkVec4 === undefined ? [] : [
    `  score chunks: ${v.chunkVec4} vec4s of the head width's ${shape.qkVec4} staged at a time ` +
    `(${shape.qkVec4 / v.chunkVec4} chunk${
      shape.qkVec4 / v.chunkVec4 === 1 ? "" : "s"
    }, 2 barriers each, per 32-key tile; the widest ` +
    `divisor within ${maxChunk} that fits): ` +
    `${fa2WorkgroupBytes(shape, v.queryTile, v.chunkVec4)} bytes of workgroup memory` +
    (cap === null
      ? ""
      : `, ${
        fa2WorkgroupElements(shape, v.queryTile, v.chunkVec4)
      } elements within the GL fallback's ${cap} (${GL_ZERO_FILL_WHY})`),
  ];
  const longest = longestKeys(layout);
  const head = `  query tiles: ${v.queryTile} queries x 1 head per workgroup ` +
    `(${v.workgroupSize} invocations): ${c.workgroups} workgroups` +
    (v.kvSplits > 1
      ? ` x ${v.kvSplits} KV splits of up to ${
        fa2KeysPerSplit(longest, v.kvSplits)
      } keys, merged by combine.wgsl${budgetWhy(v, longest)}`
      : "");
  if (c.elementCap !== null) {
    return [
      `${head}; ${
        fa2WorkgroupElements(shape, v.queryTile, v.chunkVec4 ?? 1)
      } workgroup-memory elements, within the GL fallback's ${c.elementCap} ` +
      `(${GL_ZERO_FILL_WHY})`,
      ...chunk,
    ];
  }
  if (c.workgroupBytesCap !== undefined) {
    return [
      `${head}; larger tiles would exceed the device's maxComputeWorkgroupStorageSize ` +
      `${c.workgroupBytesCap} bytes at any chunk width, so tiles of at most ${v.queryTile} ` +
      "queries" +
      (c.target === null ? "" : `, at least ${perSm} per SM of ${smCount} where they reach it`),
      ...chunk,
    ];
  }
  if (c.target === null) {
    return [
      `${head}; the SM count is unknown, so the largest tile (a caps file's smCount or ` +
      "MLA_HARNESS_SM_COUNT sets one)",
      ...chunk,
    ];
  }
  if (v.queryTile === FA2_QUERY_TILE) {
    return [`${head}, at least ${perSm} per SM of ${smCount}`, ...chunk];
  }
  const smallest = FA2_QUERY_TILES[FA2_QUERY_TILES.length - 1];
  return [
    `${head}; ${FA2_QUERY_TILE}-query tiles would give ${
      fa2Grid(queryLens, heads, FA2_QUERY_TILE)
    }, under ${perSm} per SM of ${smCount} (${c.target})` +
    (c.workgroups < c.target ? `; ${smallest} is the smallest tile` : ""),
    ...chunk,
  ];
}

const longestKeys = (layout: NormalizedLayout) => Math.max(0, ...layout.seqs.map((s) => s.kLen));

/**
 * Why a plan took at least its KV splits where the device's loop budget called for them
 * (the plan's `kvSplitsBudget`); "" where it did not.
 */
function budgetWhy(v: KernelVariant, longest: number): string {
  const b = v.kvSplitsBudget;
  return b === undefined ? "" : ` (the loop budget of ${b.budget} iterations fits ` +
    `${b.maxKeysPerSplit} keys an invocation: ${longest} keys take at least ${b.minSplits} splits)`;
}

/**
 * The KV splits of an absorbed plan (wgsl-absorbed, wgsl-absorbed-tiled) and, where the loop
 * budget called for them, why; wgsl-expanded-tiled says its own on its query-tile line.
 */
function kvSplitLines(v: KernelVariant, layout: NormalizedLayout): string[] {
  if (v.kvSplits <= 1 || !v.family.startsWith("absorbed")) return [];
  const longest = longestKeys(layout);
  return [
    `  KV splits: ${v.kvSplits} of up to ${Math.ceil(longest / v.kvSplits)} keys, ` +
    `merged by combine.wgsl${budgetWhy(v, longest)}`,
  ];
}

/** wgsl-expanded's decode tile: how many vec4s its d loops take per trip, and why. */
function decodeStepLines(v: KernelVariant): string[] {
  if (v.queryTile !== 1 || v.decodeStep === undefined) return [];
  // Below 4, the step is one fetch per trip (expandedDecodeStep).
  return [
    `  decode d loops: ${v.decodeStep} vec4${v.decodeStep === 1 ? "" : "s"} per trip` +
    (v.decodeStep < 4
      ? " (one fetch per key per trip)"
      : ` (one fetch per trip would run over the device's loop budget)`),
  ];
}

/**
 * The gemm kernels' values-pass shape and the textures they read through; wgsl-expanded's
 * K/V storage (nothing for the other variants).
 */
function valuesPassLines(v: KernelVariant): string[] {
  if (v.columnsPerInvocation === undefined) {
    // wgsl-expanded: K and V through textures where they fit, else per-group bindings.
    if (v.family !== "expanded") return [];
    return [
      ...decodeStepLines(v),
      ...(v.keyTexture === undefined
        ? [
          "  K, V: storage buffers, bound per group of sequences (no texture of this device holds them)",
        ]
        : [
          ...(["K", "V"] as const).flatMap((name) =>
            textureLine(
              name,
              name === "K" ? v.keyTexture : v.valueTexture,
              "outside the attention core (cache construction)",
              expandedTextureBinding(v),
            )
          ),
        ]),
    ];
  }
  const splits = v.valueSplits === undefined
    ? ""
    : v.valueSplits > 1
    ? `, ${v.valueSplits} key splits of ${v.keysPerValueSplit} keys (summed by split_sum.wgsl)`
    : ", no key split";
  return [
    `  values pass: ${v.columnsPerInvocation} output vec4s per invocation${splits}`,
    ...textureLine("latent cache", v.cacheTexture, "outside the attention core"),
    ...(v.family === "expanded-gemm"
      ? [
        ...textureLine("q", v.queryTexture, "outside the attention core, with q packing"),
        ...textureLine("K", v.keyTexture, "outside the attention core (cache construction)"),
        ...textureLine("V", v.valueTexture, "outside the attention core (cache construction)"),
      ]
      : textureLine("absorbed query", v.queryTexture, "in the attention core")),
    ...(v.family !== "absorbed-gemm" && v.family !== "expanded-gemm"
      ? []
      : v.probTexture === undefined
      ? [
        "  probabilities: read from the score buffer by the values pass (no texture of this " +
        "device holds them)",
      ]
      : [
        `  probabilities: written by the softmax pass into an rgba32float texture of ` +
        `${v.probTexture.width} x ${v.probTexture.height} texels (` +
        `${v.probTexture.rowsPerTexelRow} row${v.probTexture.rowsPerTexelRow === 1 ? "" : "s"}` +
        " per texture row), read by the values pass as a read-only storage texture",
      ]),
  ];
}
