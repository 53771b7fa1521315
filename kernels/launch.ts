/**
 * The GPU half of the backend contract (docs/backends.md): the standard device
 * buffers every attention launcher receives, the kit it launches with, and the
 * registry of launchers by backend id. A launcher reads only its plan: every
 * parameter its kernels run with (widths, workgroup size, heads per tile and per
 * invocation, query tile, keys per block, splits, buffer sizes) is in the plan.
 *
 * @module
 */
import type {
  AttentionPath,
  CacheTextureShape,
  Dtype,
  GpuPlan,
  HarnessTiles,
  KernelVariant,
} from "../adapter/types.ts";
import { HARNESS_PASS_NAMES, passRole, passRoleReason } from "../adapter/pass_roles.ts";
import { texelVec4s } from "../adapter/gemm_plan.ts";
import {
  createStorage,
  createUniform,
  type StorageType,
  UniformWriter,
  uploadStorage,
} from "../gpu/buffers.ts";
import {
  bindBuffers,
  checkWorkgroups,
  encodeDispatch,
  grid1d,
  LINEAR_WORKGROUP,
} from "../gpu/dispatch.ts";
import type { PipelineCache } from "../gpu/shader.ts";
import type { PassTimer } from "../gpu/timing.ts";
import { loadKernel, type SourceMutation, specializeSource } from "./source.ts";
import { type DenseGroup, denseGroups, expandChunks } from "./tables.ts";
import { checkCompiledKernel } from "./module_barriers.ts";
import { unrollLoops } from "./unroll.ts";
import { workgroupStorageOver } from "./workgroup_storage.ts";
import {
  declaredScalar,
  type EntryBinding,
  entryPointBindings,
  uniformScalarFields,
} from "./entry_bindings.ts";
import { parseModule } from "./wgsl_tokens.ts";
import { constInt } from "./wgsl_expr.ts";

/** The version of the backend contract this harness implements. */
export const BACKEND_CONTRACT_VERSION = 1;

/**
 * The standard device buffers of one attention case, filled by the harness before
 * the launcher runs (RoPE already applied). Storage-dtype buffers hold f32 or f16
 * (the plan's `variant.dtype`); `out` and `lse` are f32 and written by the launcher.
 */
export interface AttentionBuffers {
  /** q_nope [qRows, h, nope], storage dtype. */
  readonly qNope: GPUBuffer;
  /** q_pe [qRows, h, rope], storage dtype, rotated. */
  readonly qPe: GPUBuffer;
  /**
   * The latent cache [kRows, r + rope], storage dtype: each row is the normalized
   * latent c (r columns) then the rotated k_pe (rope columns). Rows are physical
   * (paged) rows; read them only through `kRows`.
   */
  readonly kvCache: GPUBuffer;
  /** u32 [max(1, totalK)]: logical key -> row of kvCache (block tables resolved). */
  readonly kRows: GPUBuffer;
  /**
   * vec4<u32> [totalQ], per logical query: (its row in qNope/qPe, the first logical
   * key of its sequence, the number of keys it sees (causal and lengths applied), 0).
   */
  readonly qMeta: GPUBuffer;
  /** kv_b_proj [h * (nope + v), r], storage dtype: per head, W_UK (nope rows) then W_UV (v rows). */
  readonly wKvB: GPUBuffer;
  /** Output [totalQ, h, v], f32, logical query order (written by the launcher). */
  readonly out: GPUBuffer;
  /** Natural-log LSE [totalQ, h], f32 (written by the launcher; -Infinity for no key). */
  readonly lse: GPUBuffer;
}

/** A pass recorded by {@link LaunchKit.dispatch}, for timing and benchmark replays. */
export interface RecordedPass {
  /** Pass name (timing label). */
  readonly name: string;
  /** Whether it belongs to the attention core (what a "core" benchmark repeats). */
  readonly core: boolean;
  /**
   * Whether it is cache construction (the expanded path's K/V expansion, the gemm
   * kernels' copies of the latent cache or of the expanded K/V into textures): outside the
   * core, and not replayed by the timed repetitions of any scope (kernels/measure.ts
   * times it once, apart).
   */
  readonly construction: boolean;
  /** Its pipeline. */
  readonly pipeline: GPUComputePipeline;
  /** Its bind group. */
  readonly group: GPUBindGroup;
  /** What the bind group binds, by binding number (tests read tables back through it). */
  readonly bindings: readonly Binding[];
  /** Its workgroup counts. */
  readonly workgroups: readonly [number, number?, number?];
}

/** A binding: a whole buffer, a range of one, or a texture view. */
export type Binding = GPUBuffer | GPUBufferBinding | GPUTextureView;

/** What a kit allocates for a case and destroys after it. */
export type OwnedResource = GPUBuffer | GPUTexture;

/**
 * The device limits a launcher binds and groups by: the device's own, or lower ones a
 * device profile pretends (the caps the plan was resolved against), so a run under a
 * profile binds and splits as that device would.
 */
export interface LaunchLimits {
  /** Largest storage binding, bytes. */
  readonly maxStorageBufferBindingSize: number;
  /** Storage binding offsets are multiples of this. */
  readonly minStorageBufferOffsetAlignment: number;
  /** Workgroups per grid dimension. */
  readonly maxComputeWorkgroupsPerDimension: number;
  /** Workgroup memory of one entry point, bytes ({@link LaunchKit.kernel} and {@link LaunchKit.compile} refuse more). */
  readonly maxComputeWorkgroupStorageSize: number;
  /** Invocations of one workgroup ({@link LaunchKit.kernel} and {@link LaunchKit.compile} refuse more). */
  readonly maxComputeInvocationsPerWorkgroup: number;
  /** A workgroup's x size ({@link LaunchKit.kernel} and {@link LaunchKit.compile} refuse more). */
  readonly maxComputeWorkgroupSizeX: number;
}

/**
 * The limits a kit launches by: each of the device's, lowered to `wanted`'s where that is
 * stricter (a larger offset alignment is the stricter one). Figures a device cannot meet
 * (a binding larger than its own) never raise them. A wanted figure no device has (not an
 * integer >= 1, or an alignment that is not a power of two) is a RangeError naming it: NaN
 * failed as "workgroup count x NaN" in the first pass, 0 as a grid "more than a 0 x 0 grid
 * holds", and an alignment of 3 ran.
 *
 * @example
 * ```ts
 * import { launchLimits } from "./launch.ts";
 * const device = {
 *   maxStorageBufferBindingSize: 1 << 30,
 *   minStorageBufferOffsetAlignment: 256,
 *   maxComputeWorkgroupsPerDimension: 65535,
 *   maxComputeWorkgroupStorageSize: 32768,
 *   maxComputeInvocationsPerWorkgroup: 256,
 *   maxComputeWorkgroupSizeX: 256,
 * };
 * launchLimits(device, { maxStorageBufferBindingSize: 65536 }).maxStorageBufferBindingSize; // 65536
 * ```
 */
export function launchLimits(
  device: LaunchLimits,
  wanted: Partial<LaunchLimits> = {},
): LaunchLimits {
  // (the runner passes a profile's whole caps.limits: only these are read)
  const keys = [
    "maxStorageBufferBindingSize",
    "minStorageBufferOffsetAlignment",
    "maxComputeWorkgroupsPerDimension",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
  ] as const;
  for (const k of keys) {
    const v = wanted[k];
    if (v === undefined) continue;
    const align = k === "minStorageBufferOffsetAlignment";
    if (!Number.isSafeInteger(v) || v < 1 || (align && (v & (v - 1)) !== 0)) {
      throw new RangeError(
        `limits.${k} must be ${align ? "a power of two" : "an integer >= 1"}, got ${v}`,
      );
    }
  }
  const low = (
    k:
      | "maxStorageBufferBindingSize"
      | "maxComputeWorkgroupsPerDimension"
      | "maxComputeWorkgroupStorageSize"
      | "maxComputeInvocationsPerWorkgroup"
      | "maxComputeWorkgroupSizeX",
  ) => Math.min(device[k], wanted[k] ?? device[k]);
  return {
    maxStorageBufferBindingSize: low("maxStorageBufferBindingSize"),
    maxComputeWorkgroupsPerDimension: low("maxComputeWorkgroupsPerDimension"),
    maxComputeWorkgroupStorageSize: low("maxComputeWorkgroupStorageSize"),
    maxComputeInvocationsPerWorkgroup: low("maxComputeInvocationsPerWorkgroup"),
    maxComputeWorkgroupSizeX: low("maxComputeWorkgroupSizeX"),
    minStorageBufferOffsetAlignment: Math.max(
      device.minStorageBufferOffsetAlignment,
      wanted.minStorageBufferOffsetAlignment ?? 0,
    ),
  };
}

/**
 * The limits a device profile lowers, as a kit is given them: {@link LaunchLimits}' and the
 * profile's `maxBufferSize` (checked by {@link LaunchKit.storage} and {@link LaunchKit.upload}).
 */
export type ProfileLimits = Partial<LaunchLimits> & { readonly maxBufferSize?: number };

/** Options of {@link LaunchKit.absorbQ}. */
export interface AbsorbQOptions {
  /**
   * The absorbed query's element type: the plan's storage dtype (the default, backend
   * contract version 1) or "f32", which keeps q_nope W_UK out of f16's range limit
   * (65504). With "f32" the plan's "q_absorbed" buffer holds 4 bytes an element.
   */
  dtype?: Dtype;
}

/** Options of {@link LaunchKit.dispatch}. */
export interface DispatchPassOptions {
  /** Part of the attention core (default true). */
  core?: boolean;
  /**
   * Cache construction (default false): the pass turns the cache into the form the
   * kernels read (expanded K/V, a texture) and a serving loop would keep it in that form,
   * so timed repetitions do not replay it. Implies `core: false`.
   */
  construction?: boolean;
}

const PASS_OPTION_KEYS: readonly (keyof DispatchPassOptions)[] = ["core", "construction"];

/**
 * Throw a TypeError naming pass `name` where `options` is not a {@link DispatchPassOptions}:
 * not an object, a key other than `core` and `construction`, a value not true, false or
 * undefined, or `construction` with `core: true` (construction is outside the core).
 * `{ core: "yes" }` counted as core and `{ construction: true, core: true }` as construction,
 * both without a word, and a misspelt `{ cor: false }` timed the pass as core.
 */
function checkPassOptions(name: string, options: unknown): void {
  const what = `kit.dispatch("${name}")`;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(
      `${what}: options must be an object ({ core?: boolean, construction?: boolean }), ` +
        `got ${Array.isArray(options) ? "an array" : options === null ? "null" : typeof options}`,
    );
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(PASS_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new TypeError(
        `${what}: unknown option "${key}" (valid: ${PASS_OPTION_KEYS.join(", ")})`,
      );
    }
    const v = given[key];
    if (v !== undefined && typeof v !== "boolean") {
      throw new TypeError(
        `${what}: options.${key} must be true, false or absent, got ${
          typeof v === "string" ? JSON.stringify(v) : String(v)
        }`,
      );
    }
  }
  if (given.construction === true && given.core === true) {
    throw new TypeError(
      `${what}: options { construction: true, core: true } contradict each other: cache ` +
        "construction is outside the attention core (construction implies core: false); " +
        "give one of them",
    );
  }
}

/**
 * The vec4s per texel (the kernels' `CPT`) and the line switch of a plan's row textures:
 * `{ CPT: 2, switches: ["packed"] }` when they are packed f16 rows (rgba32uint), else
 * `{ CPT: 1, switches: [] }`. The plan packs all of a kernel's textures or none
 * (adapter/gemm_plan.ts `packsF16Rows`); a plan that mixes them is refused with an Error
 * naming `backend` and the formats.
 *
 * @example
 * ```ts
 * import { packedRows } from "./launch.ts";
 * packedRows("wgsl-absorbed-gemm", [{ format: "rgba32uint" }, { format: "rgba32uint" }]);
 * // { CPT: 2, switches: ["packed"] }
 * ```
 */
export function packedRows(
  backend: string,
  shapes: readonly Pick<CacheTextureShape, "format">[],
): { CPT: 1 | 2; switches: string[] } {
  const cpts = new Set(shapes.map(texelVec4s));
  if (cpts.size > 1) {
    throw new Error(
      `${backend}: the plan's textures are ${shapes.map((t) => t.format).join(", ")}; ` +
        "all must be packed (rgba32uint) or none",
    );
  }
  return cpts.has(2) ? { CPT: 2, switches: ["packed"] } : { CPT: 1, switches: [] };
}

/**
 * Whose lower limit a kit launches by, in its refusals: `device profile "NAME"'s` (or "a
 * device profile's" where the kit was not told its name), and the device's own figure.
 */
function profileWhose(profile: string | undefined, device: number): string {
  const whose = profile === undefined ? "a device profile's" : `device profile "${profile}"'s`;
  return `${whose}; the device's own is ${device}`;
}

/**
 * Throw a RangeError when the entry point's workgroup memory (kernels/workgroup_storage.ts)
 * is over `limit`, the kit's `maxComputeWorkgroupStorageSize` (a device profile's where it is
 * lower than `deviceLimit`, the device's own). Deno's wgpu creates such a pipeline without a
 * word and lavapipe runs it, while a GPU's driver refuses it: a kernel that passed every case
 * on CI could not run on the device its check() was asked about.
 */
function overWorkgroupStorage(
  source: { fileName: string; code: string },
  entryPoint: string,
  o: { limit: number; deviceLimit: number; profile?: string },
): void {
  const whose = o.limit < o.deviceLimit
    ? `the maxComputeWorkgroupStorageSize ${o.limit} this kit launches by (` +
      `${profileWhose(o.profile, o.deviceLimit)})`
    : undefined;
  const over = workgroupStorageOver(source.code, entryPoint, o.limit, { whose });
  if (over === null) return;
  throw new RangeError(
    `${source.fileName}: ${over}; refuse the case in check() with a ` +
      "limits.workgroup-storage reason (query.caps.limits has the limit)",
  );
}

/**
 * Throw a RangeError when the entry point's `@workgroup_size` (as constants) is over a device
 * profile's `maxComputeWorkgroupSizeX` or `maxComputeInvocationsPerWorkgroup` in `limits`,
 * lower than `device`'s: WebGPU checks it against the device's own figure only, so lavapipe
 * ran 512 invocations a workgroup under a profile of 256.
 */
function overWorkgroupSize(
  source: { fileName: string; code: string },
  entryPoint: string,
  o: { limits: LaunchLimits; device: LaunchLimits; profile?: string },
): void {
  const keys = ["maxComputeWorkgroupSizeX", "maxComputeInvocationsPerWorkgroup"] as const;
  if (keys.every((k) => o.limits[k] >= o.device[k])) return; // WebGPU checks the device's
  let module: ReturnType<typeof parseModule>;
  try {
    module = parseModule(source.code);
  } catch {
    return; // a source the parser cannot read: left to WebGPU
  }
  const written = module.functions.get(entryPoint)?.workgroupSize;
  if (written === undefined || written === null) return;
  const dims = written.map((d) => constInt(d, module.consts));
  if (dims.some((d) => d === null)) return;
  const [x, y = 1, z = 1] = dims as number[];
  for (const [k, value] of [[keys[0], x], [keys[1], x * y * z]] as const) {
    const limit = o.limits[k];
    if (value <= limit || limit >= o.device[k]) continue;
    throw new RangeError(
      `${source.fileName}: entry point ${entryPoint}'s @workgroup_size(${dims.join(", ")}) ` +
        `has ${k === keys[0] ? "x size" : "invocations"} ${value}, over the ${k} ${limit} ` +
        `this kit launches by (${profileWhose(o.profile, o.device[k])}): a GPU ` +
        "of the profile refuses such a pipeline; refuse the case in check() " +
        "(query.caps.limits has the limit)",
    );
  }
}

/**
 * The element type of each buffer whose contents the harness wrote or will read as one type
 * (kit.upload's, the standard buffers, absorbQ's), for {@link bindingMismatch}: a user
 * kernel that declared the f16 cache `array<vec4<f32>>` read its halves in pairs as floats
 * and failed parity as if its arithmetic were wrong.
 */
const ELEMENT_TYPES = new WeakMap<GPUBuffer, StorageType>();

/**
 * Record that `buffer` holds elements of `type` (a buffer the harness made outside a kit,
 * such as `out` and `lse`): {@link LaunchKit.dispatch} then refuses it at a binding of a
 * backend's own WGSL that declares another float type.
 *
 * @example
 * ```ts ignore
 * holdsElements(out, "f32");
 * ```
 */
export function holdsElements<T extends GPUBuffer>(buffer: T, type: StorageType): T {
  ELEMENT_TYPES.set(buffer, type);
  return buffer;
}

/** `name` after "a" or "an" ("an ArrayBuffer", "a GPUSampler"). */
function withArticle(name: string): string {
  return `${/^[AEIOUaeiou]/.test(name) ? "an" : "a"} ${name}`;
}

/** The field kinds each uniform of `LaunchKit.uniform` was written with. */
const UNIFORM_FIELDS = new WeakMap<GPUBuffer, readonly ("u32" | "i32" | "f32")[]>();

/**
 * Where the uniform `buffer` was written with other fields than `declared`'s struct holds
 * (kernels/entry_bindings.ts uniformScalarFields): what the struct takes, or null. A field
 * written as f32 where the struct reads u32 read its bits as a huge count, and one the
 * writer left out read 0, each without a word.
 */
function uniformMismatch(declared: EntryBinding, buffer: GPUBuffer, code: string): string | null {
  const written = UNIFORM_FIELDS.get(buffer);
  const fields = written === undefined ? null : uniformScalarFields(declared.declaration, code);
  if (written === undefined || fields === null) return null;
  const struct = fields.map(([n, t]) => `${n}: ${t}`).join(", ");
  const wrote = `the kit.uniform given wrote ${written.length} (${written.join(", ")})`;
  const at = fields.findIndex(([, t], i) => i < written.length && written[i] !== t);
  if (at >= 0) {
    return `the fields ${struct}; ${wrote}: field ${at} (${fields[at][0]}) is ` +
      `${fields[at][1]}, written as ${written[at]} (its bits would be read as ` +
      `${fields[at][1]}): write .${fields[at][1]}(...) there`;
  }
  if (written.length !== fields.length) {
    return `${fields.length} fields (${struct}); ${wrote}: write one per field, in order` +
      (written.length < fields.length ? " (a field left out reads 0)" : "");
  }
  return null;
}

/** The fields of {@link AttentionBuffers}, named where a binding read undefined. */
const STANDARD_BUFFERS = ["qNope", "qPe", "kvCache", "kRows", "qMeta", "wKvB", "out", "lse"];

/**
 * Sources found within a kit's workgroup limits, by code, each with the entry points and
 * limits it was checked at (`LaunchKit.#checkWorkgroupLimits`): a harness kernel is read
 * once, not once per case. Cleared when it holds 256 sources.
 */
const WITHIN_LIMITS = new Map<string, Set<string>>();

/** `usage`'s GPUBufferUsage flags by name, e.g. "STORAGE | COPY_SRC | COPY_DST". */
function usageNames(usage: number): string {
  const names = Object.entries({
    MAP_READ: GPUBufferUsage.MAP_READ,
    MAP_WRITE: GPUBufferUsage.MAP_WRITE,
    COPY_SRC: GPUBufferUsage.COPY_SRC,
    COPY_DST: GPUBufferUsage.COPY_DST,
    INDEX: GPUBufferUsage.INDEX,
    VERTEX: GPUBufferUsage.VERTEX,
    UNIFORM: GPUBufferUsage.UNIFORM,
    STORAGE: GPUBufferUsage.STORAGE,
    INDIRECT: GPUBufferUsage.INDIRECT,
    QUERY_RESOLVE: GPUBufferUsage.QUERY_RESOLVE,
  }).filter(([, flag]) => (usage & flag) !== 0).map(([n]) => n);
  return names.length === 0 ? "none" : names.join(" | ");
}

/**
 * What `declared` takes, and what was given instead, where `given` is not that (a buffer
 * without the usage its address space needs, a buffer where a texture is declared or the
 * reverse); null where it fits, or the declaration is not read that way.
 */
function bindingMismatch(
  declared: EntryBinding,
  given: Binding,
  code?: string,
): string | null {
  const view = given instanceof GPUTextureView;
  const buffer = view ? null : given instanceof GPUBuffer ? given : given.buffer;
  const what = view
    ? `a texture view${given.label ? ` ("${given.label}")` : ""}`
    : `${buffer!.label ? `buffer "${buffer!.label}"` : "an unlabelled buffer"} (usage ` +
      `${usageNames(buffer!.usage)})`;
  const takes = {
    uniform: "a buffer with UNIFORM usage (kit.uniform)",
    storage: "a buffer with STORAGE usage (kit.storage, kit.upload or one of the harness's " +
      "buffers)",
    texture: "a texture view (kit.texture(...).createView(), kit.rowsTexture)",
  };
  if (declared.kind === "texture") return view ? null : `${takes.texture}; it was given ${what}`;
  if (declared.kind !== "uniform" && declared.kind !== "storage") return null;
  const flag = declared.kind === "uniform" ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE;
  if (buffer === null || (buffer.usage & flag) === 0) {
    return `${takes[declared.kind]}; it was given ${what}`;
  }
  if (declared.kind === "uniform") {
    return code === undefined ? null : uniformMismatch(declared, buffer, code);
  }
  // a float declaration over elements of another type reads them as other bits (u32 or i32
  // over floats is left alone: unpack2x16float and bitcasts read halves that way on purpose)
  const holds = ELEMENT_TYPES.get(buffer);
  const reads = code === undefined ? null : declaredScalar(declared.declaration, code);
  if (holds === undefined || reads === null || reads === holds) return null;
  if (reads !== "f32" && reads !== "f16") return null;
  const dtypeHint = holds === "f32" || holds === "f16"
    ? ` (declare the storage dtype's elements with store_t, \`alias store_t = f32; // @dtype\`, ` +
      `which the harness specializes to the plan's dtype; absorbQ's { dtype: "f32" } query is ` +
      "f32 in every dtype)"
    : "";
  return `${reads} elements; it was given ${what.replace(/ \(usage [^)]*\)$/, "")}, which ` +
    `holds ${holds} elements${dtypeHint}`;
}

/**
 * The source of each pipeline a kit made (kernel, compile), and the group-0 bindings its entry
 * point uses once a dispatch asked (kernels/entry_bindings.ts; null: the source could not be
 * read that way): {@link LaunchKit.dispatch} names a pass given the wrong bindings from it.
 */
const PIPELINE_SOURCES = new WeakMap<
  GPUComputePipeline,
  {
    fileName: string;
    code: string;
    entryPoint: string;
    /** Made by kit.compile: a backend's own WGSL (its element types are checked). */
    compiled?: boolean;
    bindings?: EntryBinding[] | null;
  }
>();

/**
 * Where a pass's pipeline came from, for a message: `alias.wgsl entry point main` for one of
 * {@link LaunchKit.kernel} or {@link LaunchKit.compile}, else a pipeline the kit did not make
 * (`kit.device.createComputePipeline`, whose source the kit never read).
 *
 * @example
 * ```ts ignore
 * pipelineOrigin(kit.passes[0].pipeline); // "rope.wgsl entry point rope_inplace"
 * ```
 */
export function pipelineOrigin(pipeline: GPUComputePipeline): string {
  const source = PIPELINE_SOURCES.get(pipeline);
  if (source === undefined) {
    return `a pipeline${pipeline.label ? ` labelled "${pipeline.label}"` : ""} not made by ` +
      "kit.kernel or kit.compile, whose WGSL the kit never read (kit.compile's are checked " +
      "binding by binding as they are dispatched)";
  }
  return `${source.fileName} entry point ${source.entryPoint}`;
}

/**
 * Record `pipeline`'s source: the name it was last made under (the pipeline cache gives one
 * pipeline to the same code under two names), and the bindings already read from its code.
 */
function sourceOf(
  pipeline: GPUComputePipeline,
  o: { fileName: string; code: string; entryPoint: string; compiled?: boolean },
): void {
  PIPELINE_SOURCES.set(pipeline, { ...o, bindings: PIPELINE_SOURCES.get(pipeline)?.bindings });
}

/**
 * What a launcher launches with: the device, pipelines of the harness's kernels or
 * of its own WGSL, owned buffers, and `dispatch`, which encodes and records a pass.
 * Everything it allocates is destroyed after the case.
 */
export class LaunchKit {
  /** The device. */
  readonly device: GPUDevice;
  /** The plan's storage dtype. */
  readonly dtype: Dtype;
  /** Whether the plan's variant uses subgroups (kernels/source.ts `// @sg:` lines). */
  readonly subgroups: boolean;
  /** Whether the plan's variant unrolls `// @unroll` loops in the source (kernels/unroll.ts). */
  readonly unroll: boolean;
  /** The plan's attention path (a harness pass's timing role can depend on it). */
  readonly path: AttentionPath;
  /** The limits to bind and group by ({@link launchLimits}): use these, not the device's. */
  readonly limits: LaunchLimits;
  /** Passes dispatched so far, in order. */
  readonly passes: RecordedPass[] = [];
  #cache: PipelineCache;
  #enc: GPUCommandEncoder;
  #timer: PassTimer | null;
  #mutate?: SourceMutation;
  #owned: OwnedResource[];
  #backend?: string;
  #profile?: string;
  /** A device profile's maxBufferSize, where lower than the device's. */
  #maxBufferSize?: number;
  /** w_kv_b's texture per weight buffer (LaunchKit.#wKvBTexture), copied once per kit. */
  #weightViews = new Map<GPUBuffer, GPUTextureView>();

  /** A kit encoding into `enc` (created by the harness, see kernels/attention.ts). */
  constructor(
    device: GPUDevice,
    enc: GPUCommandEncoder,
    options: {
      dtype: Dtype;
      path: AttentionPath;
      /**
       * Lower limits to launch by (a device profile's); default the device's. A lower
       * `maxBufferSize` is enforced by {@link LaunchKit.storage} and {@link LaunchKit.upload}.
       */
      limits?: ProfileLimits;
      /** The device profile `limits` are from (its name in the matrix), named in refusals. */
      profile?: string;
      subgroups?: boolean;
      /** The variant's `unrolledLoops`. */
      unroll?: boolean;
      cache: PipelineCache;
      timer: PassTimer | null;
      owned: OwnedResource[];
      mutate?: SourceMutation;
      /** The plan's backend: what {@link LaunchKit.compile} compiles is barrier-checked as its. */
      backend?: string;
    },
  ) {
    this.device = device;
    this.dtype = options.dtype;
    this.path = options.path;
    this.limits = launchLimits(device.limits, options.limits);
    this.subgroups = options.subgroups ?? false;
    this.unroll = options.unroll ?? false;
    this.#enc = enc;
    this.#cache = options.cache;
    this.#timer = options.timer;
    this.#mutate = options.mutate;
    this.#owned = options.owned;
    this.#backend = options.backend;
    this.#profile = options.profile;
    const most = options.limits?.maxBufferSize;
    if (most !== undefined) {
      if (!Number.isSafeInteger(most) || most < 1) {
        throw new RangeError(`limits.maxBufferSize must be an integer >= 1, got ${most}`);
      }
      if (most < device.limits.maxBufferSize) this.#maxBufferSize = most;
    }
  }

  /**
   * Refuse (a RangeError naming the buffer, its size, the limit and the profile) a buffer
   * over a device profile's lower `maxBufferSize`: WebGPU checks the device's own only, so
   * lavapipe made a 300 MiB buffer under the adapter matrix's 256 MiB "default-limits".
   */
  #checkBufferSize(bytes: number, label: string): void {
    const most = this.#maxBufferSize;
    if (most === undefined || !Number.isSafeInteger(bytes) || bytes <= most) return;
    throw new RangeError(
      `storage buffer "${label}": size ${bytes} bytes is over maxBufferSize ${most}, the ` +
        `limit this kit launches by (${
          profileWhose(this.#profile, this.device.limits.maxBufferSize)
        }): a GPU of the profile refuses such a buffer; split it, or refuse the case in ` +
        "check() (query.caps.limits has the limit)",
    );
  }

  /**
   * A pipeline of one of the harness's kernels (kernels/*.wgsl), specialized: the kit's
   * dtype and subgroup variant, `params`, and the named line switches in `switches`
   * (kernels/source.ts; e.g. `["tex"]` for expanded.wgsl's K and V through textures).
   */
  kernel(
    fileName: string,
    entryPoint: string,
    params?: Record<string, number>,
    switches: readonly string[] = [],
  ): Promise<GPUComputePipeline> {
    return this.#kernelAs(this.dtype, fileName, entryPoint, params, switches);
  }

  /** {@link kernel} specialized for `dtype` instead of the kit's (an f32 source's copy). */
  async #kernelAs(
    dtype: Dtype,
    fileName: string,
    entryPoint: string,
    params?: Record<string, number>,
    switches: readonly string[] = [],
  ): Promise<GPUComputePipeline> {
    const src = await loadKernel(fileName, {
      dtype,
      params,
      subgroups: this.subgroups,
      switches,
      mutate: this.#mutate,
      allParams: true,
      unroll: this.unroll,
    }).catch((e: unknown) => {
      // Deno's "No such file or directory (os error 2): readfile '.../kernels/mine.wgsl'"
      // said nothing of kit.kernel being for the harness's kernels only
      if (!(globalThis.Deno && e instanceof Deno.errors.NotFound)) throw e;
      throw new TypeError(
        `kit.kernel("${fileName}"): no such harness kernel (kit.kernel compiles the .wgsl ` +
          "files of the harness's kernels/ folder, such as combine.wgsl); a backend's own WGSL " +
          "goes through kit.compile({ fileName, code }, entryPoint, params)",
        { cause: e },
      );
    });
    this.#checkWorkgroupLimits(src, entryPoint);
    const pipeline = await this.#cache.get(src, { entryPoint });
    sourceOf(pipeline, { fileName: src.fileName, code: src.code, entryPoint });
    return pipeline;
  }

  /**
   * A pipeline of a backend's own WGSL. `fileName` names it in diagnostics; the
   * harness's `// @dtype`, `// @enable-f16`, `// @param` and subgroup markers apply, and
   * the named line switches in `switches` (`// @name:` lines in, `// @noname` lines out),
   * as for {@link LaunchKit.kernel} (see kernels/source.ts), so one file serves f32 and
   * f16 and each of its variants.
   */
  async compile(
    source: { fileName: string; code: string },
    entryPoint: string,
    params?: Record<string, number>,
    switches: readonly string[] = [],
  ): Promise<GPUComputePipeline> {
    const specialized = specializeSource(source.code, {
      fileName: source.fileName,
      dtype: this.dtype,
      params,
      subgroups: this.subgroups,
      switches,
    });
    if (this.#backend !== undefined) {
      // the static barrier check of what the backend runs (kernels/module_barriers.ts): its
      // specialization as the harness made it, before unrolling, so lines match its source
      const label = [this.dtype, ...(this.subgroups ? ["subgroups"] : []), ...switches];
      checkCompiledKernel(
        this.#backend,
        { fileName: source.fileName, code: specialized },
        label.join(", "),
      );
    }
    this.#checkWorkgroupLimits({ fileName: source.fileName, code: specialized }, entryPoint);
    const code = this.unroll ? unrollLoops(specialized) : specialized;
    const pipeline = await this.#cache.get({ fileName: source.fileName, code }, { entryPoint });
    sourceOf(pipeline, { fileName: source.fileName, code, entryPoint, compiled: true });
    return pipeline;
  }

  /**
   * Refuse (a RangeError naming the file, the entry point, the limit and the profile) an entry
   * point whose workgroup memory is over this kit's `maxComputeWorkgroupStorageSize`, or
   * whose constant `@workgroup_size` is over a device profile's lower
   * `maxComputeWorkgroupSizeX` or `maxComputeInvocationsPerWorkgroup`: Deno's wgpu checks
   * neither against the profile (nor the memory at all), so lavapipe ran what the profile's
   * GPU refuses. For {@link kernel} (a harness kernel at the caller's params) and
   * {@link compile} alike; a source already found within the limits is not read again.
   */
  #checkWorkgroupLimits(source: { fileName: string; code: string }, entryPoint: string): void {
    const device = launchLimits(this.device.limits);
    const key = `${entryPoint}\n${JSON.stringify([this.limits, device])}`;
    const seen = WITHIN_LIMITS.get(source.code);
    if (seen?.has(key)) return;
    overWorkgroupStorage(source, entryPoint, {
      limit: this.limits.maxComputeWorkgroupStorageSize,
      deviceLimit: this.device.limits.maxComputeWorkgroupStorageSize,
      profile: this.#profile,
    });
    overWorkgroupSize(source, entryPoint, {
      limits: this.limits,
      device,
      profile: this.#profile,
    });
    if (seen === undefined) {
      if (WITHIN_LIMITS.size >= 256) WITHIN_LIMITS.clear();
      WITHIN_LIMITS.set(source.code, new Set([key]));
    } else seen.add(key);
  }

  /**
   * A storage buffer of `bytes` bytes (zeroed), destroyed after the case. A size that is not
   * an integer >= 0 (-4 made a 16-byte buffer) is a RangeError naming `label`.
   */
  storage(bytes: number, label: string): GPUBuffer {
    this.#checkBufferSize(bytes, label);
    const b = createStorage(this.device, bytes, label);
    this.#owned.push(b);
    return b;
  }

  /** A storage buffer holding `data` as `type` (default: the plan's dtype), destroyed after the case. */
  upload(data: ArrayLike<number>, label: string, type: StorageType = this.dtype): GPUBuffer {
    this.#checkBufferSize(data.length * (type === "f16" ? 2 : 4), label);
    const b = uploadStorage(this.device, data, { type, label });
    this.#owned.push(b);
    return holdsElements(b, type);
  }

  /**
   * A 2D texture (sampled and storage-written), destroyed after the case. A width or height
   * that is not an integer in [1, the device's maxTextureDimension2D] is a RangeError naming
   * `label`: WebGPU truncated 2.5 to 2 without a word (a texture a texel short), and its
   * error for 0 or 70000 named no texture.
   */
  texture(
    size: { width: number; height: number },
    format: GPUTextureFormat,
    label: string,
  ): GPUTexture {
    const most = this.device.limits.maxTextureDimension2D;
    for (const side of ["width", "height"] as const) {
      const n = size?.[side];
      if (Number.isSafeInteger(n) && n >= 1 && n <= most) continue;
      throw new RangeError(
        `kit.texture("${label}"): ${side} ${n} must be an integer from 1 to this device's ` +
          `maxTextureDimension2D ${most}`,
      );
    }
    const t = this.device.createTexture({
      label,
      size: [size.width, size.height],
      format,
      // The device adds COPY_DST (gpu/texture_clears.ts, on every GpuContext's device).
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING,
    });
    this.#owned.push(t);
    return t;
  }

  /**
   * A texture of `shape` holding `rows` rows of `rowVec4` vec4s of `source` (of the plan's
   * dtype, or of `dtype` where given: "f32" for an f32 buffer in an f16 plan, such as
   * {@link absorbQ}'s with `dtype: "f32"`), copied by the harness's cache_texture.wgsl in
   * passes named `name`: row k's vec4
   * c becomes texel ((k % RPT) x rowVec4 + c, k / RPT), RPT = `shape.rowsPerTexelRow`
   * (an rgba32uint shape packs f16 rows: vec4s 2c and 2c + 1 become texel c). A
   * source larger than one storage binding is bound and copied a chunk of rows at a time.
   * With `construction` the copy is cache construction (see {@link DispatchPassOptions});
   * otherwise it is outside the attention core unless `core`. Returns the texture's view.
   */
  async rowsTexture(
    name: string,
    source: GPUBuffer,
    shape: CacheTextureShape,
    o: {
      rows: number;
      rowVec4: number;
      construction?: boolean;
      core?: boolean;
      dtype?: Dtype;
    },
  ): Promise<GPUTextureView> {
    const dtype = o.dtype ?? this.dtype;
    // cache_texture.wgsl binds rgba32float for f32 rows, rgba16float or (packed) rgba32uint
    // for f16 ones: f32 rows into rgba32uint would be rounded to f16 without a word, and the
    // other mismatches fail as a bind-group validation error naming no pass.
    const holds = shape.format === "rgba32float" ? "f32" : "f16";
    if (dtype !== holds) {
      throw new RangeError(
        `kit.rowsTexture("${name}"): a ${shape.format} texture holds ${holds} rows, and these ` +
          `are ${dtype} (${o.dtype ? "options.dtype" : "the plan's dtype"}): give ` +
          (dtype === "f32"
            ? "an rgba32float shape for f32 rows (packing them into halves would round them)"
            : "an rgba16float or rgba32uint shape for f16 rows") +
          ", or the dtype the source buffer holds",
      );
    }
    // Packed f16 rows (rgba32uint): two vec4s of halves per texel, one invocation each.
    const { CPT: cpt, switches } = packedRows("cache_texture.wgsl", [shape]);
    // A texture smaller than its rows took them without a word (textureStore drops a texel
    // out of bounds) and the kernel reading it read zeros.
    const rpt = shape.rowsPerTexelRow;
    const width = rpt * o.rowVec4 / cpt;
    const height = Math.ceil(o.rows / rpt);
    if (shape.width < width || shape.height < height) {
      throw new RangeError(
        `kit.rowsTexture("${name}"): a ${shape.width} x ${shape.height} texture cannot hold ` +
          `${o.rows} rows of ${o.rowVec4} vec4s at ${rpt} rows per texture row (` +
          `${cpt === 2 ? "two vec4s a texel: " : ""}${width} x ${height} texels): size the ` +
          "plan's texture shape from the rows it holds",
      );
    }
    const texture = this.texture(shape, shape.format, name);
    const copy = await this.#kernelAs(
      dtype,
      "cache_texture.wgsl",
      "copy",
      { WG: LINEAR_WORKGROUP, KEY_VEC4: o.rowVec4, RPT: shape.rowsPerTexelRow, CPT: cpt },
      switches,
    );
    const rowBytes = o.rowVec4 * 4 * (dtype === "f16" ? 2 : 4);
    const limits = this.limits;
    const chunks = expandChunks(
      o.rows,
      rowBytes,
      rowBytes,
      limits.maxStorageBufferBindingSize,
      limits.minStorageBufferOffsetAlignment,
    );
    for (const [row0, rows] of chunks) {
      const texels = rows * o.rowVec4 / cpt;
      this.dispatch(
        name,
        copy,
        [
          this.uniform(this.writer().u32(texels).u32(row0)),
          { buffer: source, offset: row0 * rowBytes, size: rows * rowBytes },
          texture.createView(),
        ],
        this.grid1d(texels),
        // A harness pass's role is the adapter's (adapter/pass_roles.ts); a pass of the
        // caller's own is outside the core unless it says otherwise.
        passRole(this.path, name) !== undefined
          ? { construction: o.construction, core: o.core }
          : { construction: o.construction ?? false, core: o.core ?? false },
      );
    }
    return texture.createView();
  }

  /**
   * The expanded K and V of `plan` (from {@link expandDense}) copied into the textures of
   * `shapes` by {@link rowsTexture}, as cache construction: one (key row, head) row of
   * keyWidth / 4 (K) or valueWidth / 4 (V) vec4s per row. Returns the two views.
   */
  async keyValueTextures(
    plan: GpuPlan,
    o: {
      k: GPUBuffer;
      v: GPUBuffer;
      keyTexture: CacheTextureShape;
      valueTexture: CacheTextureShape;
    },
  ): Promise<{ key: GPUTextureView; value: GPUTextureView }> {
    const rows = plan.layout.kRows * plan.attention.numHeads;
    const key = await this.rowsTexture("key_texture", o.k, o.keyTexture, {
      rows,
      rowVec4: plan.attention.keyWidth / 4,
    });
    const value = await this.rowsTexture("value_texture", o.v, o.valueTexture, {
      rows,
      rowVec4: plan.attention.valueWidth / 4,
    });
    return { key, value };
  }

  /**
   * A uniform buffer from a writer, destroyed after the case. Bound to a kernel of
   * {@link compile} whose uniform struct has only u32, i32 and f32 fields, its fields must be
   * the struct's, in kind and number ({@link dispatch} names the first that is not).
   */
  uniform(writer: UniformWriter): GPUBuffer {
    if (typeof (writer as Partial<UniformWriter> | null)?.finish !== "function") {
      throw new TypeError(
        "kit.uniform takes a writer, kit.writer().u32(...).f32(...), one field per field of " +
          `the WGSL struct in its order; it was given ${
            writer === null
              ? "null"
              : typeof writer === "object"
              ? withArticle((writer as object).constructor?.name ?? "plain object")
              : typeof writer
          }`,
      );
    }
    const b = createUniform(this.device, writer.finish());
    if (Array.isArray(writer.fields)) UNIFORM_FIELDS.set(b, writer.fields);
    this.#owned.push(b);
    return b;
  }

  /** A fresh {@link UniformWriter} (fields in the WGSL struct's order). */
  writer(): UniformWriter {
    return new UniformWriter();
  }

  /**
   * The harness's query absorption, for any absorbed backend: a buffer sized from the
   * plan's "q_absorbed", [qRows, h, r + rope], filled with
   * [ q_nope,h W_UK,h | rotated q_pe,h ]. Not part of the attention core.
   *
   * Its element type is the storage dtype (backend contract version 1), or f32 with
   * `options.dtype` "f32", which the bundled absorbed kernels use: q_nope W_UK sums nope
   * products and can pass f16's largest finite value (65504) while q_nope, the cache and
   * the float64 reference are in range, and stored as f16 it becomes inf (every score of
   * the row NaN). The plan's "q_absorbed" must then hold 4 bytes an element; a smaller
   * one is an Error naming its bytes.
   */
  async absorbQ(
    plan: GpuPlan,
    buffers: AttentionBuffers,
    options: AbsorbQOptions = {},
  ): Promise<GPUBuffer> {
    const a = plan.attention;
    const r = a.kvLoraRank;
    const kw = r + a.qkRopeHeadDim;
    const rows = plan.layout.qRows;
    const dtype = options.dtype ?? this.dtype;
    if (dtype !== this.dtype && dtype !== "f32") {
      throw new RangeError(
        `absorbQ: dtype "${dtype}" must be the plan's storage dtype (${this.dtype}) or "f32"`,
      );
    }
    const bytes = planBufferBytes(plan, "q_absorbed");
    const need = rows * a.numHeads * kw * (dtype === "f16" ? 2 : 4);
    if (bytes < need) {
      throw new Error(
        `plan of ${plan.backend}: its "q_absorbed" buffer has ${bytes} bytes; the absorbed ` +
          `query as ${dtype} needs ${need} (${rows} rows x ${a.numHeads} heads x ${kw} ` +
          `elements of ${dtype === "f16" ? 2 : 4} bytes)`,
      );
    }
    const qAbsorbed = holdsElements(this.storage(bytes, "q_absorbed"), dtype);
    const t = harnessTile(plan, "absorbQ");
    const w = await this.weights(plan, buffers);
    // absorb_q_io.wgsl's q_absorbed is f32 unless `qstore` stores it in the storage dtype.
    const switches = dtype === this.dtype && dtype === "f16"
      ? [...w.switches, "qstore"]
      : w.switches;
    const bindings = [
      this.uniform(
        this.writer().u32(rows).u32(a.numHeads).u32(a.qkNopeHeadDim).u32(r / 4)
          .u32(a.qkNopeHeadDim + a.vChannels).u32(kw / 4),
      ),
      buffers.qNope,
      w.binding,
      qAbsorbed,
      buffers.qPe,
    ];
    const rowBlocks = Math.ceil(rows / t.rows);
    if (t.nopeGroups === undefined) {
      const p = await this.kernel(
        "absorb_q.wgsl",
        "absorb_q",
        { TR: t.rows, TC: t.columns, WG: LINEAR_WORKGROUP, ...w.params },
        switches,
      );
      // absorb_q.wgsl: one invocation per tile of rows x head x (a tile of latent vec4
      // columns, or one rope vec4 column)
      this.dispatch(
        "absorb_q",
        p,
        bindings,
        this.grid1d(
          rowBlocks * a.numHeads * (Math.ceil(r / (4 * t.columns)) + a.qkRopeHeadDim / 4),
        ),
      );
      return qAbsorbed;
    }
    // absorb_q_split.wgsl: a workgroup per (column block, or the rope copy, x head) x row
    // block
    this.#checkGridRows("absorb_q_split", rows, t.rows);
    const p = await this.kernel(
      "absorb_q_split.wgsl",
      "absorb_q_split",
      { TT: t.rows, LC: t.columns, RG: t.nopeGroups, ...w.params },
      switches,
    );
    this.dispatch("absorb_q", p, bindings, [
      (Math.ceil(r / (4 * t.columns)) + 1) * a.numHeads,
      rowBlocks,
    ]);
    return qAbsorbed;
  }

  /**
   * The split projections put their token (row) blocks on the grid's y, which does not fold:
   * an error naming the pass, the tokens and the limit where they do not fit, before anything
   * is compiled or encoded.
   */
  #checkGridRows(pass: string, tokens: number, perBlock: number): void {
    const blocks = Math.ceil(tokens / perBlock);
    const limit = this.limits.maxComputeWorkgroupsPerDimension;
    if (blocks > limit) {
      throw new Error(
        `${pass}: ${tokens} query tokens are ${blocks} workgroup rows of ${perBlock}, over the ` +
          `${limit} workgroups a grid dimension holds on this device; run at most ` +
          `${limit * perBlock} query tokens per call`,
      );
    }
  }

  /**
   * w_kv_b as absorb_q.wgsl and up_proj.wgsl read it: through the plan's `weightTexture`
   * (copied once per kit and weight buffer as cache construction, pass `weight_texture`)
   * with their switch `tex` and its rows per texture row as WRPT, or the buffer itself.
   */
  async weights(
    plan: GpuPlan,
    buffers: AttentionBuffers,
  ): Promise<{
    binding: GPUBuffer | GPUTextureView;
    switches: string[];
    params: { WRPT: number };
  }> {
    const shape = plan.variant.weightTexture;
    if (shape === undefined) return { binding: buffers.wKvB, switches: [], params: { WRPT: 1 } };
    return {
      binding: await this.#wKvBTexture("weight_texture", plan, buffers, shape),
      switches: ["tex"],
      params: { WRPT: shape.rowsPerTexelRow },
    };
  }

  /**
   * w_kv_b's h x (nope + v) rows in a texture of `shape`, copied by {@link rowsTexture} as
   * cache construction in a pass named `name`, once per kit and weight buffer.
   */
  async #wKvBTexture(
    name: string,
    plan: GpuPlan,
    buffers: AttentionBuffers,
    shape: CacheTextureShape,
  ): Promise<GPUTextureView> {
    let view = this.#weightViews.get(buffers.wKvB);
    if (view === undefined) {
      const a = plan.attention;
      view = await this.rowsTexture(name, buffers.wKvB, shape, {
        rows: a.numHeads * (a.qkNopeHeadDim + a.vChannels),
        rowVec4: a.kvLoraRank / 4,
      });
      this.#weightViews.set(buffers.wKvB, view);
    }
    return view;
  }

  /**
   * The harness's up-projection, for any absorbed backend: `buffers.out[t, h, :] =
   * W_UV,h x[t, h, :]` from the latent outputs `x` [totalQ, h, r] (f32). Not part of
   * the attention core.
   */
  async upProject(plan: GpuPlan, buffers: AttentionBuffers, x: GPUBuffer): Promise<void> {
    const a = plan.attention;
    const totalQ = plan.layout.totalQ;
    bufferHolds(plan, "upProject", {
      x: [x, [totalQ, a.numHeads, a.kvLoraRank], "queries x heads x kv_lora_rank, f32"],
    });
    const t = harnessTile(plan, "upProj");
    const w = await this.weights(plan, buffers);
    const bindings = [
      this.uniform(
        this.writer().u32(totalQ).u32(a.numHeads).u32(a.qkNopeHeadDim).u32(a.vChannels)
          .u32(a.kvLoraRank / 4).u32(a.qkNopeHeadDim + a.vChannels),
      ),
      x,
      w.binding,
      buffers.out,
    ];
    const tokenBlocks = Math.ceil(totalQ / t.tokens);
    const channelBlocks = Math.ceil(a.vChannels / t.channels);
    if (t.latentLanes === undefined) {
      const p = await this.kernel(
        "up_proj.wgsl",
        "up_proj",
        { TT: t.tokens, TM: t.channels, WG: LINEAR_WORKGROUP, ...w.params },
        w.switches,
      );
      // up_proj.wgsl: one invocation per tile of tokens x head x tile of output channels
      this.dispatch("up_proj", p, bindings, this.grid1d(tokenBlocks * a.numHeads * channelBlocks));
      return;
    }
    // up_proj_split.wgsl: a workgroup per (channel block, head) x token block; its
    // workgroupSize / latentLanes lane groups share the block's channels.
    const wg = t.workgroupSize;
    const groups = wg / t.latentLanes;
    if (!Number.isInteger(groups) || t.channels % groups !== 0) {
      throw new Error(
        `plan of ${plan.backend}: harnessTiles.upProj ${JSON.stringify(t)}: workgroupSize ` +
          "must be a multiple of latentLanes, and channels of workgroupSize / latentLanes",
      );
    }
    this.#checkGridRows("up_proj_split", totalQ, t.tokens);
    const p = await this.kernel(
      "up_proj_split.wgsl",
      "up_proj_split",
      { TT: t.tokens, LJ: t.latentLanes, CPG: t.channels / groups, WG: wg, ...w.params },
      w.switches,
    );
    this.dispatch("up_proj", p, bindings, [channelBlocks * a.numHeads, tokenBlocks]);
  }

  /**
   * The latent outputs of a split-KV absorbed kernel, sized from the plan: `x`
   * [totalQ, h, r] (f32), and, when the plan splits, the per-split partials `xPart`
   * ("x_latent_out") and `lsePart` ("lse_part"); with one split they are `x` and
   * `buffers.lse` themselves. Finish with {@link LaunchKit.finishLatent}.
   */
  latentOutputs(
    plan: GpuPlan,
    buffers: AttentionBuffers,
  ): { x: GPUBuffer; xPart: GPUBuffer; lsePart: GPUBuffer } {
    const split = plan.variant.kvSplits > 1;
    const f32 = (name: string, label: string) =>
      holdsElements(this.storage(planBufferBytes(plan, name), label), "f32");
    const x = f32("x_latent", "x_latent");
    return {
      x,
      xPart: split ? f32("x_latent_out", "x_part") : x,
      lsePart: split ? f32("lse_part", "lse_part") : buffers.lse,
    };
  }

  /**
   * After a split-KV absorbed kernel: merge the splits' partials (combine.wgsl, part
   * of the attention core) when the plan splits, then `out = W_UV x`.
   */
  async finishLatent(
    plan: GpuPlan,
    buffers: AttentionBuffers,
    parts: { x: GPUBuffer; xPart: GPUBuffer; lsePart: GPUBuffer },
  ): Promise<void> {
    if (plan.variant.kvSplits > 1) {
      await this.combineSplits(plan, { ...parts, lse: buffers.lse });
    }
    await this.upProject(plan, buffers, parts.x);
  }

  /**
   * Merge a split-KV kernel's partials (combine.wgsl, part of the attention core): the
   * plan's `kvSplits` normalized partials [splits, totalQ, h, valueWidth] and their LSEs
   * into `x` [totalQ, h, valueWidth] and `lse`.
   */
  async combineSplits(
    plan: GpuPlan,
    parts: { xPart: GPUBuffer; lsePart: GPUBuffer; x: GPUBuffer; lse: GPUBuffer },
  ): Promise<void> {
    const a = plan.attention;
    const rows = plan.layout.totalQ * a.numHeads;
    const splits = plan.variant.kvSplits;
    bufferHolds(plan, "combineSplits", {
      xPart: [parts.xPart, [splits, rows, a.valueWidth], "splits x query-heads x valueWidth, f32"],
      lsePart: [parts.lsePart, [splits, rows], "splits x query-heads, f32"],
      x: [parts.x, [rows, a.valueWidth], "query-heads x valueWidth, f32"],
      lse: [parts.lse, [rows], "query-heads, f32"],
    });
    const comb = await this.kernel("combine.wgsl", "combine", { WG: LINEAR_WORKGROUP });
    this.dispatch("combine", comb, [
      this.uniform(
        this.writer().u32(rows).u32(a.valueWidth / 4).u32(plan.variant.kvSplits).f32(-Infinity),
      ),
      parts.xPart,
      parts.lsePart,
      parts.x,
      parts.lse,
    ], this.grid1d(rows * (a.valueWidth / 4)));
  }

  /**
   * The harness's dense-path preparation, for any expanded backend: q packed as
   * [q_nope | rotated q_pe] [qRows, h, nope + rope], and per-head K [kRows, h, nope +
   * rope] and V [kRows, h, v] expanded from the latent cache (in row chunks whose
   * bindings fit the device). Sizes come from the plan's "q", "k" and "v" buffers.
   * Cache construction, not part of the attention core.
   */
  async expandDense(
    plan: GpuPlan,
    buffers: AttentionBuffers,
  ): Promise<{ q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; rowK: number; rowV: number }> {
    const a = plan.attention;
    const layout = plan.layout;
    const h = a.numHeads;
    const nope = a.qkNopeHeadDim;
    const rope = a.qkRopeHeadDim;
    const r = a.kvLoraRank;
    const vDim = a.vChannels;
    const eb = plan.variant.dtype === "f16" ? 2 : 4;
    const limits = this.limits;
    const dt = plan.variant.dtype;
    const q = holdsElements(this.storage(planBufferBytes(plan, "q"), "q"), dt);
    const k = holdsElements(this.storage(planBufferBytes(plan, "k"), "k"), dt);
    const v = holdsElements(this.storage(planBufferBytes(plan, "v"), "v"), dt);
    bufferHolds(plan, "expandDense", {
      q: [q, [layout.qRows, h, nope + rope], `q rows x heads x (nope + rope), ${dt}`, eb],
      k: [k, [layout.kRows, h, nope + rope], `cache rows x heads x (nope + rope), ${dt}`, eb],
      v: [v, [layout.kRows, h, vDim], `cache rows x heads x v_head_dim, ${dt}`, eb],
    });
    const pack = await this.kernel("pack_q.wgsl", "pack_q", { WG: LINEAR_WORKGROUP });
    this.dispatch(
      "pack_q",
      pack,
      [
        this.uniform(this.writer().u32(layout.qRows * h).u32(nope).u32(rope)),
        buffers.qNope,
        buffers.qPe,
        q,
      ],
      this.grid1d(layout.qRows * h * (nope + rope)),
    );
    const rowK = h * (nope + rope) * eb;
    const rowV = h * vDim * eb;
    const t = harnessTile(plan, "expandKv");
    const et = plan.variant.expandTextures;
    const latTex = et === undefined
      ? null
      : await this.rowsTexture("expand_latent_texture", buffers.kvCache, et.latent, {
        rows: layout.kRows,
        rowVec4: (r + rope) / 4,
      });
    const wTex = et === undefined
      ? null
      : await this.#wKvBTexture("expand_weight_texture", plan, buffers, et.weights);
    const expand = await this.kernel("expand_kv.wgsl", "expand_kv", {
      ROWS: t.rows,
      CH: t.channels,
      WG: t.workgroupSize,
      LRPT: et?.latent.rowsPerTexelRow ?? 1,
      WRPT: et?.weights.rowsPerTexelRow ?? 1,
    }, et === undefined ? [] : ["tex"]);
    const chunks = expandChunks(
      layout.kRows,
      rowK,
      rowV,
      limits.maxStorageBufferBindingSize,
      limits.minStorageBufferOffsetAlignment,
    );
    for (const [row0, rows] of chunks) {
      this.dispatch(
        "expand_kv",
        expand,
        [
          this.uniform(
            this.writer().u32(rows).u32(row0).u32(h).u32(nope).u32(vDim).u32(rope).u32(r / 4)
              .u32((r + rope) / 4),
          ),
          latTex ?? buffers.kvCache,
          buffers.kvCache,
          wTex ?? buffers.wKvB,
          { buffer: k, offset: row0 * rowK, size: rows * rowK },
          { buffer: v, offset: row0 * rowV, size: rows * rowV },
        ],
        // expand_kv.wgsl: workgroups of invocations of a tile of channels (then of k_pe
        // entries) x a tile of rows
        [
          Math.ceil(
            (Math.ceil(h * (nope + vDim) / t.channels) + Math.ceil(h * rope / t.channels)) /
              t.workgroupSize,
          ),
          Math.ceil(rows / t.rows),
        ],
      );
    }
    return { q, k, v, rowK, rowV };
  }

  /**
   * The query tiles (pairs first query, count; at most the plan's query tile each) and the
   * dispatch groups of a dense kernel over the expanded K and V of {@link expandDense}
   * (rows of `rowK` and `rowV` bytes): consecutive sequences grouped while their rows fit
   * one binding within this kit's limits (kernels/tables.ts `denseGroups`), each group with
   * its K and V bindings' first row element as vec4s of the plan's dtype (`kBase`, `vBase`:
   * what a kernel adds to a row's vec4 index inside its binding's window).
   */
  denseGroups(
    plan: GpuPlan,
    dense: { rowK: number; rowV: number },
  ): { tiles: number[]; groups: (DenseGroup & { kBase: number; vBase: number })[] } {
    const vec4Bytes = 4 * (plan.variant.dtype === "f16" ? 2 : 4);
    const { tiles, groups } = denseGroups(plan.layout, plan.variant.queryTile, {
      rowK: dense.rowK,
      rowV: dense.rowV,
      maxBinding: this.limits.maxStorageBufferBindingSize,
      align: this.limits.minStorageBufferOffsetAlignment,
    });
    return {
      tiles,
      groups: groups.map((g) => ({
        ...g,
        kBase: g.kOffset / vec4Bytes,
        vBase: g.vOffset / vec4Bytes,
      })),
    };
  }

  /**
   * A pass's timing role: a harness pass's from the adapter (adapter/pass_roles.ts), which
   * options may restate but not contradict; any other pass's from its options (core
   * unless it says otherwise).
   */
  #roleOf(name: string, options: DispatchPassOptions): { core: boolean; construction: boolean } {
    const fixed = passRole(this.path, name);
    const construction = options.construction ?? false;
    const given = construction ? "construction" : (options.core ?? true) ? "core" : "step";
    if (fixed === undefined) return { core: given === "core", construction };
    const stated = options.construction !== undefined || options.core !== undefined;
    if (stated && given !== fixed) {
      throw new Error(
        `pass "${name}" is the harness's, and on the ${this.path} path it is ${fixed} ` +
          `(adapter/pass_roles.ts: ${passRoleReason(name)}), not ${given}; a backend's ` +
          `own pass needs a name of its own (harness passes: ${HARNESS_PASS_NAMES.join(", ")})`,
      );
    }
    return { core: fixed === "core", construction: fixed === "construction" };
  }

  /**
   * {@link grid1d} folded at this kit's per-dimension limit (a device profile's, where it is
   * lower than the device's): every 1-D pass of a kit takes its grid from here.
   */
  grid1d(n: number, per: number = LINEAR_WORKGROUP): [number, number] {
    return grid1d(n, per, { limit: this.limits.maxComputeWorkgroupsPerDimension });
  }

  /**
   * The group-0 bindings the entry point of `pipeline` uses (a pipeline of {@link kernel} or
   * {@link compile}; kernels/entry_bindings.ts, read once), or null where the kit did not
   * read its source, or could not read it that way.
   */
  #entryBindings(pipeline: GPUComputePipeline): EntryBinding[] | null {
    const source = PIPELINE_SOURCES.get(pipeline);
    if (source === undefined) return null;
    if (source.bindings === undefined) {
      source.bindings = entryPointBindings(source.code, source.entryPoint);
    }
    return source.bindings;
  }

  /**
   * Throw a TypeError naming pass `name` where its pipeline or a binding is not a WebGPU
   * object of the kind dispatch takes: a promise not awaited (`kit.compile(...)`,
   * `kit.absorbQ(...)`), or undefined (a misspelt field of the standard buffers,
   * `buffers.kvcache`), failed deep in the kit as "Cannot read properties of undefined
   * (reading 'buffer')" or "pipeline.getBindGroupLayout is not a function".
   */
  #checkArguments(name: string, pipeline: unknown, bindings: unknown): void {
    const promise = (v: unknown) =>
      typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
    const shown = (v: unknown) =>
      promise(v)
        ? "a Promise (not awaited?)"
        : v === null || v === undefined
        ? String(v)
        : typeof v === "object"
        ? withArticle(v.constructor?.name ?? "plain object")
        : `the ${typeof v} ${JSON.stringify(v)}`;
    if (!(pipeline instanceof GPUComputePipeline)) {
      throw new TypeError(
        `pass "${name}": the pipeline is ${shown(pipeline)}, not a GPUComputePipeline: give ` +
          "what `await kit.compile(...)` or `await kit.kernel(...)` returns",
      );
    }
    if (!Array.isArray(bindings)) {
      throw new TypeError(
        `pass "${name}": the bindings are ${shown(bindings)}, not an array (one entry per ` +
          "@binding of group 0, in binding order)",
      );
    }
    const declared = this.#entryBindings(pipeline);
    bindings.forEach((b: unknown, i) => {
      if (b instanceof GPUBuffer || b instanceof GPUTextureView) return;
      const range = typeof b === "object" && b !== null && !promise(b) &&
        (b as { buffer?: unknown }).buffer instanceof GPUBuffer;
      if (range) return;
      const variable = declared?.find((d) => d.binding === i);
      const inRange = typeof b === "object" && b !== null && !promise(b) && "buffer" in b;
      throw new TypeError(
        `pass "${name}": binding ${i}${variable ? ` (${variable.name})` : ""} is ` +
          (inRange ? `a range whose buffer is ${shown(b.buffer)}` : shown(b)) +
          ": give a GPUBuffer, a { buffer, offset, size } range of one, or a GPUTextureView" +
          (promise(b) ? " (await what kit.absorbQ, kit.rowsTexture and the like return)" : "") +
          ((b === undefined || inRange)
            ? `; a misspelt field reads undefined (the standard ` +
              `buffers: ${STANDARD_BUFFERS.join(", ")})`
            : ""),
      );
    });
  }

  /**
   * Throw where pass `name` gives other bindings than its pipeline's entry point uses (a
   * pipeline of {@link kernel} or {@link compile}, whose source the kit read; others are left
   * to WebGPU, whose "Number of bindings ... does not match" named no pass): binding i of
   * `bindings` is bound at `@binding(i)` of group 0, so they must be the entry point's, in
   * order; and where one is not what its declaration takes (a storage buffer for a
   * `var<uniform>`, a buffer for a texture: WebGPU's message named a buffer label or a
   * binding type, no pass and no variable).
   */
  #checkBindingCount(name: string, pipeline: GPUComputePipeline, bindings: readonly Binding[]) {
    const source = PIPELINE_SOURCES.get(pipeline);
    const used = this.#entryBindings(pipeline);
    if (source === undefined || used === null) return;
    const list = used.map((b) => `${b.binding} (${b.name})`).join(", ");
    if (used.length !== bindings.length || !used.every((b, i) => b.binding === i)) {
      throw new RangeError(
        `pass "${name}": ${bindings.length} binding${bindings.length === 1 ? "" : "s"} given, ` +
          `but ${source.fileName} entry point ${source.entryPoint} uses ${used.length} in ` +
          `group 0${used.length === 0 ? "" : `: ${list}`}; give them in binding order`,
      );
    }
    used.forEach((u, i) => {
      const wrong = bindingMismatch(u, bindings[i], source.compiled ? source.code : undefined);
      if (wrong === null) return;
      throw new RangeError(
        `pass "${name}": binding ${i} of ${source.fileName} entry point ` +
          `${source.entryPoint} is \`${u.declaration}\`, which takes ${wrong}`,
      );
    });
  }

  /**
   * Throw where a buffer binding of pass `name` runs past its buffer's end, or a storage
   * binding is larger than this kit's `maxStorageBufferBindingSize` or starts at an offset
   * that is not a multiple of its `minStorageBufferOffsetAlignment`: under a device profile
   * that makes them stricter, lavapipe binds such a range without a word while the device
   * the profile stands for refuses the bind group, so a launcher that forgot to chunk or
   * align would pass here and fail there (and without a profile, WebGPU's error names no pass).
   */
  #checkBindings(name: string, bindings: readonly Binding[]): void {
    const own = this.device.limits;
    const whose = (mine: number, device: number) =>
      mine === device ? "the device's" : profileWhose(this.#profile, device);
    bindings.forEach((b, i) => {
      if (b instanceof GPUTextureView) return;
      const buffer = b instanceof GPUBuffer ? b : b.buffer;
      const offset = b instanceof GPUBuffer ? 0 : b.offset ?? 0;
      const size = b instanceof GPUBuffer ? b.size : b.size ?? buffer.size - offset;
      const what = `pass "${name}": binding ${i} ("${buffer.label}")`;
      if (offset + size > buffer.size) {
        throw new RangeError(
          `${what}: ${size} bytes at offset ${offset} run past the buffer's ${buffer.size} bytes`,
        );
      }
      if ((buffer.usage & GPUBufferUsage.STORAGE) === 0) return;
      const limit = this.limits.maxStorageBufferBindingSize;
      if (size > limit) {
        throw new RangeError(
          `${what} is ${size} bytes, over the maxStorageBufferBindingSize ${limit} this kit ` +
            `launches by (${whose(limit, own.maxStorageBufferBindingSize)}): bind it a chunk ` +
            "of rows at a time, each within the limit",
        );
      }
      const align = this.limits.minStorageBufferOffsetAlignment;
      if (offset % align !== 0) {
        throw new RangeError(
          `${what} starts at offset ${offset}, not a multiple of the ` +
            `minStorageBufferOffsetAlignment ${align} this kit launches by (${
              whose(align, own.minStorageBufferOffsetAlignment)
            }): start each chunk at a multiple of kit.limits.minStorageBufferOffsetAlignment`,
        );
      }
    });
  }

  /**
   * Encode (and record) one compute pass. A storage binding larger than this kit's
   * `maxStorageBufferBindingSize` or at an offset off its `minStorageBufferOffsetAlignment`
   * (a device profile's, where stricter than the device's), a binding past its buffer's end,
   * or a workgroup count that is not an integer >= 0, is a RangeError naming the pass (and
   * the binding's label, its size and the limit), and nothing is recorded; so are bindings
   * other than the pipeline's entry point uses (named with the count given and the entry
   * point's bindings), for a pipeline of {@link kernel} or {@link compile}. `options` that
   * are not a {@link DispatchPassOptions} (an unknown key, a value not true, false or
   * undefined, or `construction` with `core: true`) are a TypeError naming the pass and the
   * option.
   */
  dispatch(
    name: string,
    pipeline: GPUComputePipeline,
    bindings: readonly Binding[],
    workgroups: readonly [number, number?, number?],
    options: DispatchPassOptions = {},
  ): void {
    checkPassOptions(name, options);
    checkWorkgroups(`pass "${name}"`, workgroups, this.limits.maxComputeWorkgroupsPerDimension);
    this.#checkArguments(name, pipeline, bindings);
    this.#checkBindingCount(name, pipeline, bindings);
    this.#checkBindings(name, bindings);
    const device = this.device;
    const group = bindings.every((b) => b instanceof GPUBuffer)
      ? bindBuffers(device, pipeline, bindings as GPUBuffer[])
      : device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: bindings.map((b, binding) => ({
          binding,
          resource: b instanceof GPUBuffer ? { buffer: b } : b,
        })),
      });
    const [x, y = 1] = workgroups;
    const { core, construction } = this.#roleOf(name, options);
    this.passes.push({
      name,
      core,
      construction,
      pipeline,
      group,
      bindings,
      workgroups,
    });
    encodeDispatch(this.#enc, pipeline, {
      group,
      workgroups,
      label: name,
      limit: this.limits.maxComputeWorkgroupsPerDimension,
      timestampWrites: x * y > 0 ? this.#timer?.writes(name) : undefined,
    });
  }
}

/**
 * The register tile of one of the harness's own passes, from the plan (adapter/harness_tiles.ts
 * chooses them; each kernel takes them as @params and asserts the written-out form, and the
 * grids here divide by them, so the two never disagree), or an error naming the pass: a
 * plan of the other path has none.
 *
 * @example
 * ```ts ignore
 * const { rows, columns } = harnessTile(plan, "absorbQ");
 * ```
 */
export function harnessTile<K extends keyof HarnessTiles>(
  plan: GpuPlan,
  pass: K,
): NonNullable<HarnessTiles[K]> {
  const tile = plan.harnessTiles?.[pass];
  if (tile === undefined) {
    throw new Error(
      `plan of ${plan.backend} (path ${plan.path}) has no harnessTiles.${pass}: the harness ` +
        `pass it sizes does not run on that path, or the plan was not made by resolve()`,
    );
  }
  return tile as NonNullable<HarnessTiles[K]>;
}

/**
 * Fields of a plan's variant that a launcher needs and that only some backends' checks
 * set, or an error naming the variant and the check that makes them: a launcher reads its
 * kernel parameters from its plan, never by itself.
 *
 * @example
 * ```ts ignore
 * const { valueSplits } = variantFields(plan, ["valueSplits"], "wgsl-absorbed-gemm");
 * ```
 */
export function variantFields<K extends keyof KernelVariant>(
  plan: GpuPlan,
  keys: readonly K[],
  madeBy: string,
): { [P in K]-?: NonNullable<KernelVariant[P]> } {
  const v = plan.variant;
  const missing = keys.filter((k) => v[k] === undefined);
  if (missing.length > 0) {
    throw new Error(
      `plan variant ${v.family} lacks ${missing.join("/")}: it was not made by ${madeBy}'s ` +
        "check (adapter/backends.ts)",
    );
  }
  return Object.fromEntries(keys.map((k) => [k, v[k]])) as {
    [P in K]-?: NonNullable<KernelVariant[P]>;
  };
}

/**
 * Bytes of a buffer the plan lists (plan.buffers), or an error naming the plan's
 * buffers: a launcher sizes what it allocates from its plan, never by itself.
 *
 * @example
 * ```ts ignore
 * const bytes = planBufferBytes(plan, "q_absorbed");
 * ```
 */
export function planBufferBytes(plan: GpuPlan, name: string): number {
  const b = plan.buffers.find((x) => x.name === name);
  if (!b) {
    throw new Error(
      `plan of ${plan.backend} lists no buffer "${name}" (it lists ${
        plan.buffers.map((x) => x.name).join(", ")
      }): the backend's check must declare every buffer its launcher allocates`,
    );
  }
  return b.bytes;
}

/**
 * Throw where a buffer a harness pass reads or writes is smaller than that pass needs
 * (elements of the given shape, of 4 bytes unless given): a user backend's check that declared `x_latent` too small
 * got an up-projection that read past its end, which WebGPU turns into zeros, and the case
 * failed parity ("got 0") as if its kernel were wrong.
 */
function bufferHolds(
  plan: GpuPlan,
  pass: string,
  wanted: Record<string, [GPUBuffer, number[], string, number?]>,
): void {
  for (const [name, [buffer, shape, what, elementBytes = 4]] of Object.entries(wanted)) {
    const need = shape.reduce((p, n) => p * n, elementBytes);
    if (buffer.size < need) {
      throw new RangeError(
        `plan of ${plan.backend}: ${pass}'s ${name} has ${buffer.size} bytes; it needs ${need} ` +
          `([${shape.join(", ")}]: ${what}): size the buffer in check() from the plan's ` +
          "layout and widths",
      );
    }
  }
}

/**
 * A launcher: encodes a GPU plan's attention from the standard buffers into the
 * kit's encoder (it writes `out` and `lse`). It receives only GPU plans: a
 * `cpu-reference` plan cannot be passed (the type refuses it; runAttention checks
 * at run time too).
 */
export type AttentionLauncher = (
  plan: GpuPlan,
  buffers: AttentionBuffers,
  kit: LaunchKit,
) => Promise<void>;

const launchers = new Map<string, AttentionLauncher>();

/**
 * Register the launcher of a backend id (the bundled ones register in
 * kernels/bundled_modules.ts; user modules through kernels/backend_module.ts).
 *
 * @example
 * ```ts ignore
 * registerLauncher("my-backend", async (plan, buffers, kit) => {});
 * ```
 */
export function registerLauncher(id: string, launcher: AttentionLauncher): void {
  launchers.set(id, launcher);
}

/**
 * The launcher registered for a backend id, or undefined.
 *
 * @example
 * ```ts
 * import { launcherOf } from "./launch.ts";
 * launcherOf("no-such-backend"); // undefined
 * ```
 */
export function launcherOf(id: string): AttentionLauncher | undefined {
  return launchers.get(id);
}
