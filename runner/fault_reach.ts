/**
 * Whether a planted fault (`run --plant-fault`) would execute in any case of a run, decided
 * before the run from the cases' plans (the adapter resolves them without the GPU): a run
 * whose cases never compile the faulted kernel file could only pass, a green run that
 * proved nothing, so it is refused as bad input.
 *
 * @module
 */
import {
  BUNDLED_BACKENDS,
  BUNDLED_KERNEL_FILES,
  type BundledGpuBackendId,
} from "../adapter/backends.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import { ConfigError } from "../adapter/errors.ts";
import { isSelfAttention, visibleKeyCount } from "../adapter/layout.ts";
import { pathMismatch } from "../adapter/registry.ts";
import { isGpuPlan } from "../adapter/resolve.ts";
import type { BackendId, DeviceCaps, GpuPlan, MlaSpec, Resolution } from "../adapter/types.ts";
import type { Case } from "../matrix/types.ts";
import {
  type F16AccumulationKernel,
  type Fault,
  type FaultReach,
  type KeyWalk,
  SUBGROUP_BACKEND,
} from "../parity/faults.ts";
import { queryTiles } from "../kernels/tables.ts";
import { caseRequest, resolveCase } from "./case_request.ts";
import { caseBackend, caseSeed } from "./run_case.ts";
import { DEVICE_CLASS_ENV } from "../gpu/device.ts";
import { nounFor } from "../util/plural.ts";
import { cleanReasonCounts } from "../report/verdict.ts";
import type { PlantedFaultClean } from "../results/types.ts";

/** Kernel files every attention run compiles, whatever its backend (kernels/attention.ts). */
const SHARED_KERNEL_FILES: readonly string[] = ["rope.wgsl"];

/**
 * The kernel files a bundled backend compiles (its launcher's, and the shared RoPE pass);
 * none for a backend that is not a bundled GPU backend.
 *
 * @example
 * ```ts
 * import { kernelFilesOf } from "./fault_reach.ts";
 * kernelFilesOf("wgsl-absorbed").includes("absorbed.wgsl"); // true
 * kernelFilesOf("cpu-reference"); // []
 * ```
 */
export function kernelFilesOf(backend: BackendId): readonly string[] {
  const own = Object.hasOwn(BUNDLED_KERNEL_FILES, backend)
    ? BUNDLED_KERNEL_FILES[backend as BundledGpuBackendId]
    : null;
  return own === null ? [] : [...own, ...SHARED_KERNEL_FILES];
}

/**
 * Whether a backend may compile a harness kernel file: a bundled one when its list has it
 * ({@link kernelFilesOf}); a user backend (--backend-module) always, since its kit may
 * compile any harness kernel (absorbQ, upProject, expandDense, kernel()).
 *
 * @example
 * ```ts
 * import { mayCompile } from "./fault_reach.ts";
 * mayCompile("wgsl-expanded", "absorbed.wgsl"); // false
 * mayCompile("cpu-reference", "absorbed.wgsl"); // false: it compiles nothing
 * mayCompile("my-backend", "absorbed.wgsl"); // true: not a bundled backend
 * ```
 */
export function mayCompile(backend: BackendId, file: string): boolean {
  return !Object.hasOwn(BUNDLED_BACKENDS, backend) || kernelFilesOf(backend).includes(file);
}

/**
 * The bundled backends that compile a kernel file.
 *
 * @example
 * ```ts
 * import { backendsCompiling } from "./fault_reach.ts";
 * backendsCompiling("absorbed.wgsl"); // ["wgsl-absorbed"]
 * ```
 */
export function backendsCompiling(file: string): BackendId[] {
  return Object.keys(BUNDLED_KERNEL_FILES).filter((id) => kernelFilesOf(id).includes(file));
}

/** Options of {@link faultMiss}: as the run gives them to each case. */
export interface FaultReachOptions {
  /** Directory config paths in the matrix are relative to. */
  baseDir?: string;
  /** Spec cache shared with the run. */
  specCache?: Map<string, Promise<MlaSpec>>;
  /** `run --backend`. */
  backend?: BackendId;
}

/** What a reason says of a case that runs the fault where no input shows it. */
const NO_INPUT = "no input can show it there";
/** What a reason says of a case whose backend runs the fault where no input shows it. */
const BLIND = `which executes it but ${NO_INPUT}`;

/**
 * Why a resolved case would not run the fault, or cannot show it, or null when it would
 * (mirrors runCase).
 */
function missOfPlan(
  c: Case,
  fault: Fault,
  r: Resolution,
  options: { override?: BackendId; spec: MlaSpec },
): string | null {
  const override = options.override;
  if (r.kind === "unsupported") {
    return `refused by ${r.backend} (${[...new Set(r.reasons.map((x) => x.code))].join(", ")})`;
  }
  if (!isGpuPlan(r)) return `planned on ${r.backend}, which runs on the ${r.runsOn}`;
  // runCase runs a planned case only when it is expected to run (or --backend overrides)
  if (c.expect.support === "invalid" || (c.expect.support !== "supported" && !override)) {
    return `expected ${c.expect.support}, so not run`;
  }
  if (c.params.mode === "layer" && !isSelfAttention(r.layout)) return "not a layer case";
  if (fault.apply.kind === "plan") {
    if (c.params.mode === "layer") return "mode layer (plan faults apply to attention only)";
    // what runCase gives the kernel: a change that leaves the spec and plan as they are (no
    // YaRN factor to leave out, no causal offset to drop, one sequence) runs the clean case
    const changed = fault.apply.change({ spec: options.spec, plan: r });
    if (JSON.stringify(changed.spec) !== JSON.stringify(options.spec)) return null;
    if (JSON.stringify(changed.plan) === JSON.stringify(r)) {
      return "the fault leaves its spec and plan as they are (what it changes is not in this case)";
    }
    return isGpuPlan(changed.plan) && positionsShiftedAlike(r, changed.plan)
      ? "the fault moves each sequence's query and key RoPE positions by one amount: RoPE " +
        "is relative, so its scores are as they were"
      : null;
  }
  if (fault.dtype !== undefined && c.params.dtype !== fault.dtype) {
    return `its storage is ${c.params.dtype}: the faulted code exists in ${fault.dtype} ` +
      "kernels only";
  }
  if (!mayCompile(r.backend, fault.apply.file)) {
    return `runs on ${r.backend}, which does not compile ${fault.apply.file}`;
  }
  if (
    fault.subgroups !== undefined && Object.hasOwn(BUNDLED_BACKENDS, r.backend) &&
    (r.variant.subgroups ?? false) !== fault.subgroups
  ) {
    return `its plan runs ${variantOf(!fault.subgroups, fault.apply.file)}, in which the ` +
      `lines the fault rewrites are comments: it runs the clean code`;
  }
  // one split: the split code does not run, or changes nothing (a bundled backend's plan)
  const splits = fault.splitsOnly === undefined || !Object.hasOwn(BUNDLED_BACKENDS, r.backend)
    ? undefined
    : r.variant[fault.splitsOnly] ?? 1;
  if (splits !== undefined && splits <= 1) {
    return `its plan runs one ${
      fault.splitsOnly === "kvSplits" ? "KV split" : "values split"
    }: the faulted code runs only with several`;
  }
  for (const [field, over] of Object.entries(fault.variantOver ?? {})) {
    const has = r.variant[field as keyof NonNullable<Fault["variantOver"]>] ?? 0;
    if (Object.hasOwn(BUNDLED_BACKENDS, r.backend) && has <= over) {
      return `its plan's ${field} is ${has}: the faulted code runs only with more than ${over}`;
    }
  }
  const packed = fault.packedTexture;
  if ((packed === "any" || packed === "unpacked") && Object.hasOwn(BUNDLED_BACKENDS, r.backend)) {
    // the textures a plan fills by copying rows into them (cache_texture.wgsl)
    const v = r.variant;
    const textures = [
      v.cacheTexture,
      v.queryTexture,
      v.keyTexture,
      v.valueTexture,
      v.weightTexture,
      v.expandTextures?.latent,
      v.expandTextures?.weights,
    ].filter((t) => t !== undefined);
    if (packed === "any" && !textures.some((t) => t.format === "rgba32uint")) {
      return "no texture of its plan holds packed f16 rows (rgba32uint): the faulted code " +
        "packs rows only into one";
    }
    if (packed === "unpacked" && textures.every((t) => t.format === "rgba32uint")) {
      return `every texture its plan copies rows into holds packed f16 rows (rgba32uint)${
        textures.length === 0 ? " (it copies into none)" : ""
      }: the faulted code copies only into an unpacked one (its lines are comments in the ` +
        "packed copy), so it runs the clean code";
    }
  } else if (packed === "cacheTexture" && Object.hasOwn(BUNDLED_BACKENDS, r.backend)) {
    const format = r.variant[packed]?.format;
    if (format !== "rgba32uint") {
      return `its plan's ${packed} is ${format ?? "absent"}, not packed f16 rows ` +
        "(rgba32uint): the faulted code reads packed rows only";
    }
  }
  // one row per texture row: (row % 1) * width + p is p, the folded read the right one
  if (fault.sharedRows !== undefined && Object.hasOwn(BUNDLED_BACKENDS, r.backend)) {
    const v = r.variant;
    const shape = fault.sharedRows === "expandTextures.latent"
      ? v.expandTextures?.latent
      : v[fault.sharedRows];
    if (shape === undefined) {
      return `its plan reads no ${fault.sharedRows}: the faulted read does not run`;
    }
    if (shape.rowsPerTexelRow < 2) {
      return `its plan's ${fault.sharedRows} holds one row per texture row: the fault ` +
        "changes nothing there (it needs rows that share a texture row: more rows than the " +
        "texture side)";
    }
  }
  const blind = fault.blindOn?.[r.backend];
  if (blind !== undefined) return `runs on ${r.backend}, ${BLIND} (${blind})`;
  const reach = fault.reach !== undefined && Object.hasOwn(BUNDLED_BACKENDS, r.backend)
    ? reachMiss(fault.reach, r, { layer: c.params.mode === "layer" })
    : null;
  return reach === null ? null : `its plan executes it but ${NO_INPUT}: ${reach}`;
}

/**
 * Whether `changed` differs from `plan` only in its RoPE positions, each sequence's query and
 * key positions moved by one amount (positions-not-restarted in a self-attention prefill: a
 * later sequence's queries and keys both counted from the batch's first token). RoPE scores
 * depend on the query position less the key position, so nothing a kernel computes changes.
 */
function positionsShiftedAlike(plan: GpuPlan, changed: GpuPlan): boolean {
  const a = plan.layout, b = changed.layout;
  const rest = (p: GpuPlan) =>
    JSON.stringify({ ...p, layout: { ...p.layout, qPositions: [], kPositions: [] } });
  if (rest(plan) !== rest(changed)) return false;
  if (a.qPositions.length !== b.qPositions.length) return false;
  if (a.kPositions.length !== b.kPositions.length) return false;
  const shift = new Map<number, number>();
  const same = (seq: number, d: number) => {
    const had = shift.get(seq);
    if (had === undefined) shift.set(seq, d);
    return had === undefined || had === d;
  };
  for (let t = 0; t < a.qPositions.length; t++) {
    if (!same(a.qSeqId[t], b.qPositions[t] - a.qPositions[t])) return false;
  }
  for (let t = 0; t < a.kPositions.length; t++) {
    if (!same(a.kSeqId[t], b.kPositions[t] - a.kPositions[t])) return false;
  }
  return true;
}

/** The query tiles of a plan as [first query, count] pairs (kernels/tables.ts queryTiles). */
function tilesOf(plan: GpuPlan): [number, number][] {
  const flat = queryTiles(plan.layout, plan.variant.queryTile);
  const out: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

/**
 * The key ranges [begin, end) the KV splits of a query tile whose last query sees `last`
 * keys walk, as the kernel divides them: absorbed_tiled.wgsl a `chunk` of ceil(last /
 * splits) keys each, expanded_fa2.wgsl a share of whole `tile`-key tiles.
 */
function splitRanges(
  walk: KeyWalk,
  last: number,
  splits: number,
  tile: number,
): [number, number][] {
  const each = Math.ceil(last / splits);
  const share = walk === "fa2" ? Math.ceil(each / tile) * tile : each;
  const ranges: [number, number][] = [];
  for (let s = 0; s < splits; s++) {
    const begin = Math.min(s * share, last);
    ranges.push([begin, Math.min(begin + share, last)]);
  }
  return ranges;
}

/**
 * The rounding error, in f16 roundings of a unit score, that storing absorbed_tiled.wgsl's
 * partial scores in f16 adds to a score (tiled-f16-partial-scores), below which the f16
 * tolerance lets it through ({@link f16ScoreRounding}). Every f16 plan of a preset reaches
 * it: its chains hold 2 products or more (2 halves a key chunk), 2.06 at unit spread, and
 * YaRN's m² only adds. Measured on lavapipe against the f16 absorbed tolerance of session 62
 * (parity/tolerance.ts: cos_diff 1.6e-9; measure again when it changes): the smoke matrix's
 * 12 tiny (2.1, 2.4) and 10 tiny-yarn (3.3, 3.7) f16 absorbed cases, seeds 1 to 20, were
 * caught in all 440 runs, by 13x the cos_diff tolerance at the least (tiny), 27x (tiny-yarn).
 * Under the cell before (cos_diff 2.3e-7, derived while the absorbed query was f16) 33 of
 * them were, and V2-Lite's (4.7) by 1.06x to 2.48x.
 */
export const F16_SCORE_ROUNDING_MIN = 2;

/**
 * The visible keys a query of an attention case needs for tiled-f16-partial-scores to show
 * ({@link f16ScoreRounding}): a row of one key has an output of that key's value whatever its
 * score. Measured on lavapipe (session 62): f16 decodes of tiny, tiny-yarn and V2-Lite over
 * 4, 8, 16 and 64 keys, bshd and thd, seeds 1 to 3, were caught in all 72 runs, at 4 keys by
 * 8x the cos_diff tolerance at the least (tiny); fewer keys were not measured. (Under the
 * cell before, V2-Lite's over 4 or 8 keys were caught in 3 of 16 and the bound was 64.)
 */
export const F16_SCORE_ROUNDING_KEYS = 4;

/** What {@link f16ScoreRounding} returns. */
export interface F16ScoreRounding {
  /** The scores' spread (standard deviation) under the harness's inputs. */
  readonly scoreStd: number;
  /** Products each f16 chain of an invocation sums (its q segment's vec4s). */
  readonly chain: number;
  /** The rounding error the f16 chains add to a score, in f16 roundings of a unit score. */
  readonly error: number;
}

/**
 * How much tiled-f16-partial-scores moves a score of a wgsl-absorbed-tiled plan (f16
 * storage). The fault keeps each invocation's partial dot products, vec4 lanes of `chain`
 * products each (its q segment: ceil(key chunks / segments) chunks of 2 vec4s), in f16: every
 * product and every running sum is rounded to f16, then the lanes' four sums (in f16 too).
 * A rounding adds an error of the rounded value's size times f16's unit roundoff; over a
 * chain of n products of spread p the running sums grow as sqrt(j) p, so a score of K
 * products takes a variance of about K p² ((n + 3) / 2 - 1 / n + 9 / 4) roundings. The
 * harness's inputs (reference/inputs.ts: unit normals, W_UK of spread 1/sqrt(r)) make K p²
 * the score's variance before the softmax scale, kChannels, so after it the error is
 * `scoreStd * sqrt(...)`, with `scoreStd = softmaxScale * sqrt(kChannels)` (the YaRN m²,
 * 1 without YaRN). It shows where that error passes the f16 tolerance
 * ({@link F16_SCORE_ROUNDING_MIN}): V2-Lite's (1.59, 10 products a chain: 4.7), tiny's (1, 2
 * or 4: 2.1, 2.4), tiny-yarn's (1.59, 2 or 4: 3.3, 3.7) and Moonlight's (1, 10: 2.9) all do
 * since session 62's f16 absorbed cell; under the one before only V2-Lite's and V3's did.
 *
 * @example
 * ```ts ignore
 * import { f16ScoreRounding } from "./fault_reach.ts";
 * declare const plan: import("../adapter/types.ts").GpuPlan; // V2-Lite f16, 16 heads a tile
 * f16ScoreRounding(plan); // { scoreStd: 1.59, chain: 10, error: 4.68 }
 * ```
 */
export function f16ScoreRounding(plan: GpuPlan): F16ScoreRounding {
  const v = plan.variant;
  const a = plan.attention;
  const perChunk = v.dtype === "f16" ? 2 : 1;
  const chunks = a.keyWidth / 4 / perChunk;
  const segments = Math.max(1, Math.floor(v.workgroupSize / (v.headsPerTile * v.queryTile)));
  const chain = Math.ceil(chunks / Math.min(segments, chunks)) * perChunk;
  const scoreStd = a.softmaxScale * Math.sqrt(a.kChannels);
  const error = scoreStd * Math.sqrt((chain + 3) / 2 - 1 / chain + 9 / 4);
  return { scoreStd, chain, error };
}

/**
 * The score chain, in f16 products, below which a layer case does not show an f16
 * accumulation fault (f16-accumulation, tiled-f16-accumulation, fa2-f16-accumulation:
 * {@link f16AccumulationChain}). Any attention case shows them: over the smoke matrix's 22
 * tiny and tiny-yarn f16 absorbed cases a kernel, seeds 1 to 20, on lavapipe (session 62),
 * absorbed.wgsl's and absorbed_tiled.wgsl's were caught in all 880 case runs, at cos_diff
 * 1.3e-7 to 1.4e-6, 82x the f16 absorbed tolerance (1.6e-9) at the least, where the clean
 * kernels err by cos_diff 1e-14 to 4e-10. Under the cell before (2.3e-7, derived while the
 * absorbed query was f16) 826 of those 880 were (tiny's absorbed.wgsl 219 of 240,
 * absorbed_tiled.wgsl 223 of 240). expanded_fa2.wgsl's are held to the f16 expanded
 * tolerance (3.5e-7: the expanded path stores K and V in f16), not re-measured: session 61
 * had all three kernels caught in 1258 of 1320 runs (a case that can show it and passes is
 * still "not caught"). A layer case
 * compared the output after o_proj against the layer's looser f16 tolerance (cos_diff
 * 4.1e-7), which an expanded one still does: measured on lavapipe, chains of 6 to 24 products (tiny and tiny-yarn, all three
 * kernels; DeepSeek-V2-Lite on absorbed_tiled.wgsl, 18) passed with cos_diff 1.4e-7 to
 * 4.0e-7; DeepSeek-V2-Lite's 144 (absorbed.wgsl) and 192 (expanded_fa2.wgsl) failed
 * (cos_diff 5.5e-7, 7.3e-7). The bound lies between (about their geometric mean); measure
 * again when the layer's tolerance changes. Over seeds 1 to 20 it held for tiny (0 of 20
 * caught, every kernel) and absorbed_tiled.wgsl, not for tiny-yarn: its expanded_fa2.wgsl
 * layer cases (24 products, YaRN's larger scores) were caught in 10 and 14 of 20 (cos_diff
 * 2.9e-7 to 5.6e-7), its absorbed.wgsl ones in 2 and 1 of 20. Since session 62 an f16
 * absorbed layer case has a cell of its own (parity/tolerance.ts, cos_diff 1.4e-7), so the bound
 * is the expanded path's only: absorbed.wgsl's and absorbed_tiled.wgsl's faults, planted by
 * runCase in the smoke matrix's five f16 absorbed layer cases (tiny, tiny-yarn: chains of 6 to
 * 10; V2-Lite) over seeds 1000 to 1019 on lavapipe, failed 198 of 200 runs (cos_diff 1.06e-7 to
 * 8.0e-7), the two that passed tiny's on absorbed_tiled.wgsl (1.30e-7, 1.33e-7): every f16
 * absorbed layer case can show them, and one that passes is "not caught" (`run --plant-fault
 * tiled-f16-accumulation --filter 'mode=layer;dtype=f16;path=absorbed'` fails 4 of 5 cases; the
 * tiny thd case, at the run's seed, passes).
 */
export const F16_ACCUMULATION_LAYER_CHAIN = 64;

/**
 * How many products each f16 running sum of a score adds under an f16 accumulation fault
 * (acc_t = f16), by kernel: absorbed.wgsl sums a key's keyWidth / 4 vec4 products in its
 * four lanes (keyWidth / 4 each); absorbed_tiled.wgsl an invocation's q segment
 * ({@link f16ScoreRounding}); expanded_fa2.wgsl one fma a channel of the key into the
 * key's score (keyWidth, k_channels).
 *
 * @example
 * ```ts ignore
 * import { f16AccumulationChain } from "./fault_reach.ts";
 * declare const plan: import("../adapter/types.ts").GpuPlan; // tiny, wgsl-absorbed
 * f16AccumulationChain(plan, "absorbed"); // 10: (32 + 8) / 4
 * ```
 */
export function f16AccumulationChain(plan: GpuPlan, kernel: F16AccumulationKernel): number {
  if (kernel === "absorbed-tiled") return f16ScoreRounding(plan).chain;
  const width = plan.attention.keyWidth;
  return kernel === "fa2" ? width : Math.ceil(width / 4);
}

/**
 * Why a bundled backend's plan runs a fault's code where no input shows it (its
 * {@link Fault.reach}), or null when some input can: read from the plan's query tiles,
 * key tiles (`keysPerBlock`) and KV splits as the kernel walks them; for the f16 rounding of
 * the scores, from the scores' size and chains, the keys and whether it is a layer case.
 */
function reachMiss(reach: FaultReach, plan: GpuPlan, options: { layer: boolean }): string | null {
  const v = plan.variant;
  const layout = plan.layout;
  if (reach.need === "decode-tile") {
    const qt = v.queryTile;
    return qt === 1 ? null : `its plan runs prefill tiles (${qt} queries a tile): the faulted ` +
      "code is the decode tile's (one query a tile)";
  }
  if (reach.need === "several-softmax-groups") {
    const rows = layout.totalQ * plan.attention.numHeads;
    return rows > v.workgroupSize ? null : `its ${rows} (query token, head) ` +
      `${nounFor(rows, "row")} fit one softmax workgroup of ${v.workgroupSize}: the ` +
      "faulted order changes only which workgroup takes which of several blocks";
  }
  if (reach.need === "later-sequence") {
    return layout.seqs.some((q) => q.qLen > 0 && q.kLen > 0 && q.kStart > 0) ? null : "its " +
      "keys are one sequence's, from the key buffer's first key: read from the buffer's " +
      "start they are the same keys";
  }
  if (reach.need === "f16-accumulation") {
    // the f16 absorbed layer's own cell catches absorbed.wgsl's and absorbed_tiled.wgsl's
    // (F16_ACCUMULATION_LAYER_CHAIN)
    if (!options.layer || reach.kernel !== "fa2") return null;
    const chain = f16AccumulationChain(plan, reach.kernel);
    return chain >= F16_ACCUMULATION_LAYER_CHAIN ? null : `it is a layer case whose scores ` +
      `are summed in f16 chains of ${chain} ${nounFor(chain, "product")}: the f16 ` +
      "accumulation moves its output (after o_proj) less than the layer's f16 tolerance " +
      `(cos_diff); chains of ${F16_ACCUMULATION_LAYER_CHAIN} or more move it past`;
  }
  if (reach.need === "key-count-past-vec4") {
    // gemm_softmax.wgsl walks a row's ceil(keys / 4) score vec4s; the slots of the last one
    // past its keys hold copies of its last key's score (key_rows clamps to the last key),
    // which the values pass weighs with that key's value unless the softmax zeroes them
    const counts = new Set<number>();
    for (let q = 0; q < layout.totalQ; q++) counts.add(visibleKeyCount(layout, q));
    if ([...counts].some((n) => n % 4 !== 0)) return null;
    const sorted = [...counts].sort((a, b) => a - b);
    const seen = sorted.length > 6 ? `${sorted.slice(0, 6).join(", ")}, ...` : sorted.join(", ");
    return `every query of it sees a multiple of 4 keys (${seen}): its score rows end on ` +
      "whole vec4s, so no row has a masked slot for the faulted softmax to keep";
  }
  if (reach.need === "f16-score-rounding") {
    if (options.layer) {
      return "it is a layer case, whose f16 tolerance (cos_diff) is looser than the f16 " +
        "rounding of the scores moves its output";
    }
    const r = f16ScoreRounding(plan);
    const round = (x: number) => Math.round(x * 100) / 100;
    if (r.error < F16_SCORE_ROUNDING_MIN) {
      return `the f16 rounding of its scores stays within the f16 tolerance: an error of ` +
        `about ${round(r.error)} f16 roundings a score (scores of spread ${round(r.scoreStd)} ` +
        `summed in f16 chains of ${r.chain} ${nounFor(r.chain, "product")}), where ` +
        `${F16_SCORE_ROUNDING_MIN} or more shows`;
    }
    let most = 0;
    for (let q = 0; q < layout.totalQ; q++) most = Math.max(most, visibleKeyCount(layout, q));
    return most >= F16_SCORE_ROUNDING_KEYS ? null : `no query of it sees ` +
      `${F16_SCORE_ROUNDING_KEYS} keys (at most ${most}): over fewer, the f16 rounding of ` +
      "the scores moves the output less than the f16 tolerance";
  }
  const qt = v.queryTile;
  const tiles = tilesOf(plan);
  const perTile = `${qt} ${nounFor(qt, "query", "queries")} a tile`;
  if (reach.need === "partial-query-tile") {
    return tiles.some(([, n]) => n < qt) ? null : `every query tile of its plan is full ` +
      `(${perTile}): the faulted code changes only a partial tile's repeated rows`;
  }
  if (reach.need === "tile-keys-past-first") {
    const past = tiles.some(([t, n]) =>
      visibleKeyCount(layout, t + n - 1) > Math.ceil(visibleKeyCount(layout, t) / 4) * 4
    );
    return past ? null : `no query tile of its plan (${perTile}) has a query that sees keys ` +
      "past its first query's, rounded up to 4: the faulted loop stops short only there";
  }
  const kt = v.keysPerBlock;
  const splits = v.kvSplits;
  const walks = `${kt} keys a key tile, ${splits} ${nounFor(splits, "KV split")}`;
  for (const [t, n] of tiles) {
    const ranges = splitRanges(reach.kernel, visibleKeyCount(layout, t + n - 1), splits, kt);
    if (reach.need === "several-key-tiles") {
      if (ranges.some(([b, e]) => e - b > kt)) return null;
      continue;
    }
    // the lowest visible count of the tile's rows against the last key tile a split walks
    let fewest = Infinity;
    for (let q = t; q < t + n; q++) fewest = Math.min(fewest, visibleKeyCount(layout, q));
    if (ranges.some(([b, e]) => e > b && b + Math.floor((e - b - 1) / kt) * kt > fewest)) {
      return null;
    }
  }
  return reach.need === "several-key-tiles"
    ? `no KV split of its plan walks more than one key tile (${walks}): the faulted code ` +
      "changes only a split's later tiles"
    : `no query of its plan sees fewer keys than where a key tile its split walks starts ` +
      `(${walks}): the faulted mask differs only for such a row`;
}

/** Why one case would not run the fault, or null when it would. */
async function caseMiss(
  c: Case,
  fault: Fault,
  caps: DeviceCaps,
  options: FaultReachOptions,
): Promise<string | null> {
  // Kernel code only one device class's plans run (a cpu-class device's texture reads, a
  // GPU's buffer reads of the K/V expansion): the file compiles on either, the code runs
  // on one.
  const need = fault.scenario.deviceClass;
  const cls = deviceClassOf(caps)?.kind;
  if (need !== undefined && cls !== undefined && need !== cls) {
    return `the faulted code runs only in ${need}-class plans and this device is ${cls}-class ` +
      `(${DEVICE_CLASS_ENV}=${need} plans as one)`;
  }
  let req;
  try {
    req = await caseRequest(c.params, {
      seed: caseSeed(c.id, c.seed),
      baseDir: options.baseDir,
      specCache: options.specCache,
    });
  } catch (e) {
    if (e instanceof ConfigError) return "its config is invalid";
    throw e;
  }
  const named = caseBackend(c, { backend: options.backend, fault });
  let r: Resolution;
  try {
    r = resolveCase(req, c, caps, named);
  } catch (e) {
    if (e instanceof ConfigError) return "its layout is invalid";
    throw e;
  }
  const mismatch = named === undefined ? null : pathMismatch(named, c.params.path);
  if (mismatch && r.kind === "plan") return `refused by ${named} (${mismatch.code})`;
  return missOfPlan(c, fault, r, { override: options.backend, spec: req.spec });
}

/**
 * Why none of `cases` would execute `fault`: null as soon as one case would (its plan
 * compiles the faulted kernel file, or, for a plan fault, it runs its attention core on
 * the GPU), else how many cases miss it for each reason. Resolves the cases as runCase
 * does (on the device's caps with each case's profile); nothing runs on the GPU.
 *
 * @example
 * ```ts ignore
 * import { faultMiss } from "./fault_reach.ts";
 * const miss = await faultMiss(cases, fault, ctx.caps, { baseDir });
 * miss === null; // some case runs the fault
 * ```
 */
export async function faultMiss(
  cases: readonly Case[],
  fault: Fault,
  caps: DeviceCaps,
  options: FaultReachOptions = {},
): Promise<Map<string, number> | null> {
  const why = new Map<string, number>();
  for (const c of cases) {
    const miss = await caseMiss(c, fault, caps, options);
    if (miss === null) return null;
    why.set(miss, (why.get(miss) ?? 0) + 1);
  }
  return why;
}

/**
 * The cases of `cases` that would not execute a planted fault, each with why, in their
 * order (empty when every case would): unlike {@link faultMiss}, every case is asked. A
 * run warns of them and records them (report.json `plantedFaultClean`): they run the clean
 * kernels, so their passes say nothing about the checks.
 *
 * @example
 * ```ts ignore
 * import { faultMisses } from "./fault_reach.ts";
 * const clean = await faultMisses(cases, fault, ctx.caps, { baseDir });
 * clean.length; // 0: every case runs the fault
 * ```
 */
export async function faultMisses(
  cases: readonly Case[],
  fault: Fault,
  caps: DeviceCaps,
  options: FaultReachOptions = {},
): Promise<PlantedFaultClean[]> {
  const clean: PlantedFaultClean[] = [];
  for (const c of cases) {
    const reason = await caseMiss(c, fault, caps, options);
    if (reason !== null) clean.push({ id: c.id, reason });
  }
  return clean;
}

/**
 * How many of `cases` would not execute a planted fault, by reason (empty when every case
 * would): {@link faultMisses} counted.
 *
 * @example
 * ```ts ignore
 * import { faultMissCounts } from "./fault_reach.ts";
 * const clean = await faultMissCounts(cases, fault, ctx.caps, { baseDir });
 * clean.size; // 0: every case runs the fault
 * ```
 */
export async function faultMissCounts(
  cases: readonly Case[],
  fault: Fault,
  caps: DeviceCaps,
  options: FaultReachOptions = {},
): Promise<Map<string, number>> {
  return cleanReasonCounts(await faultMisses(cases, fault, caps, options));
}

/**
 * The warning for the cases of a run that cannot show its planted fault (from
 * {@link faultMissCounts}: their kernels do not execute it, or run it on a backend no input
 * shows it on), or null when every case can.
 *
 * @example
 * ```ts
 * import { faultMissWarning } from "./fault_reach.ts";
 * faultMissWarning("kpe-left-out", 4, new Map([["runs on wgsl-expanded, which does not compile absorbed.wgsl", 2]]));
 * // "warning: --plant-fault kpe-left-out: 2 of 4 cases cannot show it (2 × runs on ..."
 * ```
 */
export function faultMissWarning(
  faultId: string,
  total: number,
  why: ReadonlyMap<string, number>,
): string | null {
  const n = [...why.values()].reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  const reasons = [...why].map(([reason, k]) => `${k} × ${reason}`).join("; ");
  return `warning: --plant-fault ${faultId}: ${n} of ${total} ${nounFor(total, "case")} ` +
    `cannot show it (${reasons}): their passes say nothing about the checks`;
}

/** "the subgroup variant of absorbed_tiled.wgsl (`// @sg:` lines)", or the other's. */
function variantOf(subgroups: boolean, file: string): string {
  return subgroups
    ? `the subgroup variant of ${file} (its \`// @sg:\` lines)`
    : `the non-subgroup variant of ${file} (its \`// @nosg\` lines)`;
}

/** Whether a bundled backend runs the subgroup variant of its kernels. */
function runsSubgroups(backend: BackendId): boolean {
  return backend === SUBGROUP_BACKEND;
}

/** Where a fault would show: the file it rewrites and the backends that compile it. */
function faultHome(fault: Fault): string {
  const s = fault.scenario;
  const where = `select cases it shows in, e.g. --filter 'preset=${s.preset};path=${s.path};` +
    `dtype=${s.dtype}'`;
  if (fault.apply.kind === "plan") {
    return `it changes what the kernel is given in an attention case run on the GPU; ${where}`;
  }
  // a variant's lines: only the backends that run that variant run them
  const sg = fault.subgroups;
  const backends = backendsCompiling(fault.apply.file)
    .filter((b) => sg === undefined || runsSubgroups(b) === sg);
  const blind = Object.keys(fault.blindOn ?? {});
  const file = sg === undefined ? fault.apply.file : variantOf(sg, fault.apply.file);
  const needs = sg === true ? ", on a device with the WebGPU feature subgroups" : "";
  return `it rewrites ${file}, which ${
    backends.length === 0
      ? "no backend compiles"
      : `only ${backends.join(", ")} ${backends.length === 1 ? "compiles" : "compile"}${needs}`
  }${blind.length === 0 ? "" : ` (no input shows it on ${blind.join(", ")})`}${
    fault.reach === undefined ? "" : `; it shows only in ${REACH_NEEDS[fault.reach.need]}`
  }; ${where}${sizesOf(s.layout)}`;
}

/** What case a fault with a {@link Fault.reach} shows in, for the refusal's last line. */
const REACH_NEEDS: Readonly<Record<FaultReach["need"], string>> = {
  "partial-query-tile": "a case with a partial query tile (queries per sequence not a " +
    "multiple of its plan's query tile)",
  "several-key-tiles": "a case whose KV split walks more than one key tile (more visible " +
    "keys per split than its plan's keysPerBlock)",
  "key-tile-past-row": "a causal case in which a query tile's first query sees fewer keys " +
    "than where a later key tile starts (a prefill longer than a key tile)",
  "tile-keys-past-first": "a causal prefill in which a query tile's last query sees keys " +
    "past its first query's, rounded up to 4",
  "decode-tile": "a decode case, whose plan runs one-query tiles",
  "several-softmax-groups": "a case of more (query token, head) rows than its plan's " +
    "softmax workgroup holds",
  "f16-accumulation": "an f16 attention case, an f16 absorbed layer case, or an f16 expanded " +
    `layer case whose scores are summed in f16 chains of ${F16_ACCUMULATION_LAYER_CHAIN} ` +
    "products or more (DeepSeek-V2-Lite's on expanded_fa2.wgsl, 192)",
  "key-count-past-vec4": "a case in which some query sees a number of keys that is not a " +
    "multiple of 4 (a causal prefill, or sequences of such lengths)",
  "later-sequence": "a case of several sequences (b > 1, or packed thd sequences), whose " +
    "later sequences' keys start past the key buffer's first key",
  "f16-score-rounding": `an f16 attention case (not a layer case) whose scores the f16 ` +
    `rounding moves past the f16 tolerance (every published preset's), in which some query ` +
    `sees ${F16_SCORE_ROUNDING_KEYS} keys or more`,
};

/** ` (its own case: b=1, sq=40, sk=70, causal)` for a uniform layout, else "". */
function sizesOf(layout: Fault["scenario"]["layout"]): string {
  if ((layout.kind !== "bshd" && layout.kind !== "sbhd") || layout.kvLens !== undefined) return "";
  return ` (its own case: b=${layout.batch}, sq=${layout.seqQ}, sk=${layout.seqK}` +
    `${layout.causal ? ", causal" : ""})`;
}

/**
 * Refuse (ConfigError, exit 2) a run with a planted fault in which no case would execute
 * it (see {@link faultMiss}): such a run could only pass. The message says why each case
 * misses it and where the fault shows.
 *
 * @example
 * ```ts ignore
 * import { checkFaultReached } from "./fault_reach.ts";
 * await checkFaultReached(mine, fault, ctx.caps, { baseDir, backend });
 * ```
 */
export async function checkFaultReached(
  cases: readonly Case[],
  fault: Fault,
  caps: DeviceCaps,
  options: FaultReachOptions = {},
): Promise<void> {
  if (cases.length === 0) return;
  const why = await faultMiss(cases, fault, caps, options);
  if (why === null) return;
  // some case would execute it, on a backend where no input shows it
  const show = [...why.keys()].some((reason) => reason.includes(NO_INPUT));
  throw new ConfigError("--plant-fault", [
    ...[...why].map(([reason, n]) => ({
      path: fault.id,
      value: n,
      message: `${nounFor(n, "case")} would ${
        reason.includes(NO_INPUT) ? "not show" : "not run"
      } it: ${reason}`,
    })),
    {
      path: fault.id,
      value: cases.length,
      message: (cases.length === 1
        ? `selected case in all, which would not ${show ? "show" : "execute"} the fault, so ` +
          "the run "
        : `selected cases in all, none of which would ${show ? "show" : "execute"} the ` +
          "fault, so the run ") +
        `could only pass; ${faultHome(fault)}`,
    },
  ], `${fault.id} would never ${show ? "show" : "execute"} in this run`);
}
