/**
 * The DeviceCaps schema, and reading a caps JSON file (`--caps`), e.g. one written by
 * `devices --json`, so decisions can be explained for a device that is not attached.
 *
 * @module
 */
import { parseTuningKnobs } from "./plan_tuning.ts";
import { z } from "zod";
import { ConfigError, issuesFromSchema, showValue } from "./errors.ts";
import { deviceClassOf, MAX_SM_COUNT } from "./device_class.ts";
import { wrongFileKindIssue } from "./file_kind.ts";
import { readJsonFile } from "./json_file.ts";
import type { DeviceCaps } from "./types.ts";
import { nearMiss } from "../util/edit_distance.ts";
import { isRecord } from "../util/is_record.ts";
import { canonicalBackend, WGPU_BACKEND_NAMES } from "../util/wgpu_backends.ts";

/**
 * The WebGPU feature names the harness knows: the specification's, and the ones Deno's
 * wgpu reports besides them (`immediates`, its native extensions). A browser's own
 * experimental features are accepted by their prefix ({@link VENDOR_FEATURE_PREFIX}).
 */
export const WEBGPU_FEATURE_NAMES: readonly string[] = [
  "bgra8unorm-storage",
  "clip-distances",
  "core-features-and-limits",
  "depth-clip-control",
  "depth32float-stencil8",
  "dual-source-blending",
  "float32-blendable",
  "float32-filterable",
  "immediates",
  "indirect-first-instance",
  "primitive-index",
  "rg11b10ufloat-renderable",
  "shader-f16",
  "subgroups",
  "texture-component-swizzle",
  "texture-compression-astc",
  "texture-compression-astc-sliced-3d",
  "texture-compression-bc",
  "texture-compression-bc-sliced-3d",
  "texture-compression-etc2",
  "texture-formats-tier1",
  "texture-formats-tier2",
  "timestamp-query",
];

/** Prefix of a browser's experimental feature names (Chromium's, with developer features). */
export const VENDOR_FEATURE_PREFIX = "chromium-experimental-";

/** The WebGPU limit names the harness knows (GPUSupportedLimits, as Deno and browsers give them). */
export const WEBGPU_LIMIT_NAMES: readonly string[] = [
  "maxTextureDimension1D",
  "maxTextureDimension2D",
  "maxTextureDimension3D",
  "maxTextureArrayLayers",
  "maxBindGroups",
  "maxBindGroupsPlusVertexBuffers",
  "maxBindingsPerBindGroup",
  "maxDynamicUniformBuffersPerPipelineLayout",
  "maxDynamicStorageBuffersPerPipelineLayout",
  "maxSampledTexturesPerShaderStage",
  "maxSamplersPerShaderStage",
  "maxStorageBuffersPerShaderStage",
  "maxStorageBuffersInVertexStage",
  "maxStorageBuffersInFragmentStage",
  "maxStorageTexturesPerShaderStage",
  "maxStorageTexturesInVertexStage",
  "maxStorageTexturesInFragmentStage",
  "maxUniformBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
  "maxStorageBufferBindingSize",
  "minUniformBufferOffsetAlignment",
  "minStorageBufferOffsetAlignment",
  "maxVertexBuffers",
  "maxBufferSize",
  "maxVertexAttributes",
  "maxVertexBufferArrayStride",
  "maxInterStageShaderVariables",
  "maxInterStageShaderComponents",
  "maxColorAttachments",
  "maxColorAttachmentBytesPerSample",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxImmediateSize",
  "minSubgroupSize",
  "maxSubgroupSize",
];

/**
 * Why a string is not a feature name the harness knows (naming the valid ones), or null
 * when it is one.
 *
 * @example
 * ```ts
 * import { featureNameProblem } from "./caps_file.ts";
 * featureNameProblem("shader-f16"); // null
 * featureNameProblem("shader-f17"); // "is not a WebGPU feature name; valid: ..."
 * ```
 */
export function featureNameProblem(name: string): string | null {
  if (WEBGPU_FEATURE_NAMES.includes(name) || name.startsWith(VENDOR_FEATURE_PREFIX)) return null;
  return `is not a WebGPU feature name; valid: ${WEBGPU_FEATURE_NAMES.join(", ")} ` +
    `(or a browser's ${VENDOR_FEATURE_PREFIX}* feature)`;
}

/**
 * The limits a device profile may set: the ones the harness reads, in the adapter's plans
 * (adapter/backends.ts, adapter/device_class.ts) and in the launchers (kernels/launch.ts
 * `launchLimits`). A profile naming any other WebGPU limit (`maxBindGroups`) would change
 * nothing, so it is refused ({@link profileLimitProblem}). tests/device_profile_limits_test.ts
 * keeps this list equal to the limits those files read.
 */
export const PROFILE_LIMIT_NAMES: readonly string[] = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "minStorageBufferOffsetAlignment",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
  "maxTextureDimension2D",
];

/**
 * Whether a limit is a minimum (an alignment such as minStorageBufferOffsetAlignment), for
 * which the restrictive direction is the larger value; for every other limit it is the
 * smaller one.
 *
 * @example
 * ```ts
 * import { isMinLimit } from "./caps_file.ts";
 * isMinLimit("minStorageBufferOffsetAlignment"); // true
 * isMinLimit("maxBufferSize"); // false
 * ```
 */
export function isMinLimit(name: string): boolean {
  return name.startsWith("min");
}

/**
 * Why a string is not a limit a device profile may set ({@link PROFILE_LIMIT_NAMES}, which
 * the message lists), or null when it is one: a WebGPU limit the harness never reads, or
 * not a WebGPU limit name at all.
 *
 * @example
 * ```ts
 * import { profileLimitProblem } from "./caps_file.ts";
 * profileLimitProblem("maxBufferSize"); // null
 * profileLimitProblem("maxBindGroups"); // "is a WebGPU limit the harness never reads, ..."
 * ```
 */
export function profileLimitProblem(name: string): string | null {
  if (PROFILE_LIMIT_NAMES.includes(name)) return null;
  const valid = `valid: ${PROFILE_LIMIT_NAMES.join(", ")} (the limits the harness reads, ` +
    "the only ones a profile may set)";
  if (WEBGPU_LIMIT_NAMES.includes(name)) {
    return "is a WebGPU limit the harness never reads, so a profile setting it would change " +
      `nothing; ${valid}`;
  }
  const near = nearMiss(name, PROFILE_LIMIT_NAMES, 2);
  return `is not a WebGPU limit name; ${valid}${near ? `; did you mean "${near}"?` : ""}`;
}

/**
 * Why a string is not a limit name the harness knows (naming the valid ones), or null when
 * it is one.
 *
 * @example
 * ```ts
 * import { limitNameProblem } from "./caps_file.ts";
 * limitNameProblem("maxBufferSize"); // null
 * limitNameProblem("maxBufferSizee"); // "is not a WebGPU limit name; valid: ..."
 * ```
 */
export function limitNameProblem(name: string): string | null {
  if (WEBGPU_LIMIT_NAMES.includes(name)) return null;
  return `is not a WebGPU limit name; valid: ${WEBGPU_LIMIT_NAMES.join(", ")}`;
}

/**
 * Why a limit name a device reported is refused in a caps file, or null: a caps file is
 * what `devices --json` wrote, and adapters report limits newer than any list, which no
 * plan reads, so an unknown name is kept; only one or two letters from a known name, it is
 * a misspelling that would silently not apply (`maxComputeWorkgroupStorageSizee`), and is
 * refused naming the one meant. (Feature names are kept as reported: see
 * reportedFeatureSchema.)
 *
 * @example
 * ```ts
 * import { reportedNameProblem, WEBGPU_LIMIT_NAMES } from "./caps_file.ts";
 * reportedNameProblem("maxTaskWorkgroupTotalCount", WEBGPU_LIMIT_NAMES); // null
 * reportedNameProblem("maxBufferSizee", WEBGPU_LIMIT_NAMES); // 'is not a ...; did you mean "maxBufferSize"? ...'
 * ```
 */
export function reportedNameProblem(
  name: string,
  known: readonly string[],
  most = 2,
): string | null {
  const near = nearMiss(name, known, most);
  return near === undefined
    ? null
    : `is not a name WebGPU reports; did you mean "${near}"? (a misspelt name would not apply)`;
}

/** A feature name the harness knows ({@link featureNameProblem}): what a device profile may remove. */
export const featureNameSchema: z.ZodType<string> = z.string({
  error: 'must be a feature name like "shader-f16"',
}).superRefine((name, ctx) => {
  const problem = featureNameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/**
 * A feature name as a device reports it: any string. Feature names come in families that
 * sit an edit or two apart (shader-f16, wgpu-native's shader-f64 and shader-i16), so a
 * near-miss cannot be told from a newer name; and a misspelt one only shows as a missing
 * feature, which `explain` names (dtype.f16-unavailable). Limits are checked for
 * near-misses ({@link limitsSchema}).
 */
const reportedFeatureSchema: z.ZodType<string> = z.string({
  error: 'must be a feature name like "shader-f16"',
});

/** A limit value: an integer >= 0 (WebGPU limits are sizes, counts and alignments). */
export const limitValueSchema: z.ZodType<number> = z.number({
  error: "must be an integer >= 0 (a WebGPU limit)",
}).superRefine((v, ctx) => {
  // 1e300 is a whole number, but past the integers a JSON number holds exactly: "must be an
  // integer" called it what it is
  if (Number.isFinite(v) && v > Number.MAX_SAFE_INTEGER) {
    ctx.addIssue({
      code: "custom",
      message: `is past ${Number.MAX_SAFE_INTEGER} (2^53 - 1), the largest integer a JSON ` +
        "number holds exactly; no device has such a limit",
    });
  } else if (!Number.isInteger(v) || v < 0) {
    ctx.addIssue({ code: "custom", message: "must be an integer >= 0 (a WebGPU limit)" });
  }
});

/**
 * An object of limits by name, every value an integer >= 0. With `profile` (a device
 * profile's limits, which only change a plan through a limit the harness reads) every name
 * must be one the harness reads ({@link profileLimitProblem}); without it (a caps file) any
 * name a device reports is kept unless it is a misspelling ({@link reportedNameProblem}).
 * Errors point at the limit by name.
 *
 * @example
 * ```ts
 * import { limitsSchema } from "./caps_file.ts";
 * limitsSchema("must be limits", { profile: true }).safeParse({ maxBindGroups: 1 }).success; // false
 * ```
 */
export function limitsSchema(
  error: string,
  options: { profile?: boolean } = {},
): z.ZodType<Record<string, number>> {
  return z.record(z.string(), limitValueSchema, { error }).superRefine((limits, ctx) => {
    for (const name of Object.keys(limits)) {
      const problem = options.profile
        ? profileLimitProblem(name)
        : reportedNameProblem(name, WEBGPU_LIMIT_NAMES);
      if (problem) ctx.addIssue({ code: "custom", path: [name], message: problem });
      // WebGPU's alignment limits are powers of two (the launchers round offsets up to them:
      // 0 or 3 planned per-group offsets no device accepts)
      const v = limits[name];
      if (ALIGNMENT_LIMITS.includes(name) && !(v >= 1 && Number.isInteger(Math.log2(v)))) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "must be a power of two (WebGPU's alignment limits are: 256 on most devices)",
        });
      }
      // A caps file records a real device, and every WebGPU device has at least WebGPU's
      // default of each limit (at most it, for an alignment): below that the file is no
      // device's, and its plans (the fixed 64-invocation passes among them) are no device's
      // either. A device profile may go below (it simulates a smaller device on purpose),
      // but not in the workgroup sizes: there the fixed passes would plan, and pass, for a
      // device that could not run them.
      const floor = !options.profile || PROFILE_FLOORED.includes(name)
        ? belowWebGpuMinimum(name, v, { profile: options.profile })
        : undefined;
      if (floor !== undefined) ctx.addIssue({ code: "custom", path: [name], message: floor });
    }
  });
}

/**
 * The least of each limit the harness reads that a WebGPU device reports (the most, for the
 * alignment): core WebGPU's minimum, lowered where a real device may report less: 128
 * invocations in compatibility mode and on GLES 3.1 (the plans walk one lane there), 16352
 * bytes of workgroup memory in wgpu's downlevel (GL) limits. maxTextureDimension2D is left
 * out: GL devices report as little as 2048, and a small one only moves K and V to buffers.
 */
const LEAST_REPORTED_LIMITS: Readonly<Record<string, number>> = {
  maxBufferSize: 268435456,
  maxStorageBufferBindingSize: 134217728,
  minStorageBufferOffsetAlignment: 256,
  maxComputeWorkgroupStorageSize: 16352,
  maxComputeInvocationsPerWorkgroup: 128,
  maxComputeWorkgroupSizeX: 128,
  maxComputeWorkgroupsPerDimension: 65535,
};

/** The limits a device profile may not set below {@link LEAST_REPORTED_LIMITS}. */
const PROFILE_FLOORED = ["maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX"];

/**
 * Why a reported limit value is past what every WebGPU device has ("is below 128, ..."), or
 * undefined when it is within it or not checked ({@link LEAST_REPORTED_LIMITS}).
 */
function belowWebGpuMinimum(
  name: string,
  v: number,
  options: { profile?: boolean } = {},
): string | undefined {
  const least = LEAST_REPORTED_LIMITS[name];
  if (least === undefined) return undefined;
  const core = WEBGPU_DEFAULT_LIMITS[name];
  const coreNote = core === least ? "" : ` (core WebGPU's minimum is ${core})`;
  const hint = options.profile
    ? ": the harness's fixed 64-invocation passes (rope, combine, q packing, K/V expansion) " +
      "would be planned for a device that cannot run them"
    : ": a caps file records a real device, as devices --json writes it; to plan for a " +
      "smaller one, use a matrix device profile";
  if (isMinLimit(name)) {
    return v > least ? `is above ${least}, WebGPU's largest for this alignment${hint}` : undefined;
  }
  return v < least
    ? `is below ${least}, the least a WebGPU device reports${coreNote}${hint}`
    : undefined;
}

/**
 * Whether a caps file's backend value names a backend wgpu reads (a list with one, as wgpu
 * skips the others and devices --json records what it was given), or "default".
 */
function readsABackend(v: string): boolean {
  return v.trim().toLowerCase() === "default" ||
    v.split(",").some((n) => WGPU_BACKEND_NAMES.includes(n.trim().toLowerCase()));
}

const BACKEND_NAME_ERROR = `must name a backend wgpu reads (${
  WGPU_BACKEND_NAMES.join(", ")
}; a comma-separated list with one of them) or "default"`;

/** The limits that are alignments (powers of two). */
const ALIGNMENT_LIMITS = ["minStorageBufferOffsetAlignment", "minUniformBufferOffsetAlignment"];

/**
 * Top-level keys `devices --json` writes besides the caps (the wgpu backend choice, a
 * browser runtime, measured ceilings and saturation, the device class and device key derived
 * from the caps): accepted in a caps file and dropped.
 */
const DEVICES_JSON_EXTRA_KEYS = [
  "backend",
  "runtime",
  "ceilings",
  "saturation",
  "smCountFrom",
  "deviceClassFrom",
  "tuningFrom",
  "classified",
  "deviceKey",
];

const capsSchema = z.strictObject({
  adapter: z.object({
    vendor: z.string({ error: "must be a string" }).default(""),
    architecture: z.string({ error: "must be a string" }).default(""),
    device: z.string({ error: "must be a string" }).default(""),
    description: z.string({ error: "must be a string" }).default(""),
    isFallbackAdapter: z.boolean({ error: "must be true or false" }).default(false),
  }, { error: "is required; expected an object with vendor, description, ..." }),
  features: z.array(reportedFeatureSchema, {
    error: 'must be an array of feature names like "shader-f16"',
  }),
  limits: limitsSchema("must be an object of numeric limits like maxStorageBufferBindingSize"),
  loopIterationBudget: z.number({ error: "must be a positive integer or null" }).int().positive()
    .nullable().optional(),
  // the bound MLA_HARNESS_SM_COUNT has (no device has a million SMs; 1e15 was printed as is)
  smCount: z.number({ error: "must be a positive integer (SMs / compute units)" }).int()
    .positive().max(MAX_SM_COUNT, {
      error: `must be at most ${MAX_SM_COUNT} (SMs / compute units)`,
    })
    .optional(),
  // A name wgpu reads (aliases allowed: recorded as one name, gles as gl) or "default"
  // (wgpu's own choice): anything else would plan as some other backend without a word.
  webgpuBackend: z.string({ error: 'must be a WebGPU backend name like "vulkan" or "gl"' })
    .refine(readsABackend, { error: BACKEND_NAME_ERROR }).optional(),
  deviceClass: z.enum(["cpu", "gpu"], { error: 'must be "cpu" or "gpu"' }).optional(),
  // Checked knob by knob after the schema (plan_tuning.ts names each knob's valid values).
  tuning: z.unknown().optional(),
  ...Object.fromEntries(DEVICES_JSON_EXTRA_KEYS.map((k) => [k, z.unknown().optional()])),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? "unknown key; valid: adapter, features, limits, loopIterationBudget, smCount, " +
        `webgpuBackend, deviceClass, tuning (and, as devices --json writes them, ${
          DEVICES_JSON_EXTRA_KEYS.join(", ")
        })`
      : "must be an object of caps, as devices --json writes it",
});

/**
 * Validate a parsed caps value (the JSON of `devices --json`; the keys it writes besides the
 * caps, such as ceilings, are dropped). An unknown key, feature or limit name, or a limit that
 * is not an integer >= 0, throws a `ConfigError` naming `source` and the field; a model
 * config.json, a baseline, a run report or another of the harness's files is named for what
 * it is (adapter/file_kind.ts).
 *
 * @example
 * ```ts
 * import { parseCaps } from "./caps_file.ts";
 * const caps = parseCaps({
 *   adapter: { description: "llvmpipe" },
 *   features: ["shader-f16"],
 *   limits: { maxStorageBufferBindingSize: 134217728 },
 *   loopIterationBudget: 65535,
 * }, "caps.json");
 * caps.loopIterationBudget; // 65535
 * ```
 */
export function parseCaps(raw: unknown, source: string): DeviceCaps {
  const parsed = capsSchema.safeParse(raw);
  if (!parsed.success) {
    // another of the files explain reads (a config.json) or the harness writes: say which
    const other = wrongFileKindIssue(raw, "caps");
    if (other !== null) throw new ConfigError(source, [other], "not a caps file");
    // each unknown key is named at its own path, with its value (errors.ts issuesFromSchema)
    throw new ConfigError(source, issuesFromSchema(parsed.error.issues, raw), "invalid caps file");
  }
  // The devices command writes {adapter, features, limits, loopIterationBudget} plus extra
  // keys (ceilings); keep only caps.
  const {
    adapter,
    features,
    limits,
    loopIterationBudget,
    smCount,
    webgpuBackend,
    deviceClass,
    tuning: rawTuning,
  } = parsed.data;
  const tuning = rawTuning === undefined ? undefined : parseTuningKnobs(rawTuning, source);
  // devices --json before webgpuBackend existed (969fb27) said the backend only in its backend
  // choice, `backend.name` (what webgpuBackend records since): without it, a GL fallback's
  // caps read as another backend's, and explain planned cases the device refuses as too slow.
  const choice = isRecord(raw) ? raw.backend : undefined;
  const chosen = isRecord(choice) && typeof choice.name === "string" ? choice.name : undefined;
  // an older devices --json's backend.name: the same check (it was taken as given)
  if (webgpuBackend === undefined && chosen !== undefined && !readsABackend(chosen)) {
    throw new ConfigError(source, [{
      path: "backend.name",
      value: chosen,
      message: BACKEND_NAME_ERROR,
    }]);
  }
  const given = webgpuBackend ?? chosen;
  // ("default", which no backend name is, is kept as it is by canonicalBackend)
  const webgpu = given === undefined ? undefined : canonicalBackend(given);
  const caps: DeviceCaps = {
    adapter,
    features,
    limits,
    ...(loopIterationBudget === undefined ? {} : { loopIterationBudget }),
    ...(smCount === undefined ? {} : { smCount }),
    ...(webgpu === undefined ? {} : { webgpuBackend: webgpu }),
    ...(deviceClass === undefined ? {} : { deviceClass }),
    ...(tuning === undefined ? {} : { tuning }),
    // where devices --json had the tuning from: its "(incomplete: ...)" and "(measured on
    // another device ...)" clauses were dropped with it, and explain called the knobs the
    // caps file's own
    ...(tuning !== undefined && isRecord(raw) && typeof raw.tuningFrom === "string"
      ? { tuningFrom: `the caps file (devices --json had it from ${raw.tuningFrom})` }
      : {}),
  };
  return caps;
}

/**
 * `classified` is what `devices --json` derived (read back, not read): where it disagrees
 * with what the file's own keys give, a hand edit there changed nothing, or the file is an
 * older harness's whose rules differed. Either way the lines say so, naming the keys that do
 * set the class (a warning: an older file still reads).
 *
 * @example
 * ```ts
 * import { classifiedWarnings, parseCaps } from "./caps_file.ts";
 * const raw = { adapter: {}, features: [], limits: {} };
 * classifiedWarnings(raw, parseCaps(raw, "caps.json")); // []
 * ```
 */
export function classifiedWarnings(raw: unknown, caps: DeviceCaps): string[] {
  const written = isRecord(raw) && isRecord(raw.classified) ? raw.classified : undefined;
  if (written === undefined) return [];
  const cls = deviceClassOf(caps);
  const lines: string[] = [];
  const why = "classified is what devices derived, not read (a hand edit there changes " +
    "nothing; an older harness's rules may have differed)";
  if (written.kind !== undefined && written.kind !== cls?.kind) {
    lines.push(
      `classified.kind ${showValue(written.kind)} disagrees with the class this file's ` +
        `keys give (${cls?.kind}), which is planned with: ${why}; set the top-level ` +
        '"deviceClass" to choose the class',
    );
  }
  if (written.smCount !== undefined && written.smCount !== (cls?.smCount ?? null)) {
    lines.push(
      `classified.smCount ${showValue(written.smCount)} disagrees with the SM count this ` +
        `file's keys give (${cls?.smCount ?? null}), which is planned with: ${why}; set the ` +
        'top-level "smCount" to choose it',
    );
  }
  return lines;
}

/**
 * WebGPU's default of each limit the harness reads ({@link PROFILE_LIMIT_NAMES}): what a
 * plan assumes where caps omit the limit (every device has at least this much).
 */
export const WEBGPU_DEFAULT_LIMITS: Readonly<Record<string, number>> = {
  maxBufferSize: 268435456,
  maxStorageBufferBindingSize: 134217728,
  minStorageBufferOffsetAlignment: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxTextureDimension2D: 8192,
};

/**
 * The warning for a caps file that omits limits the harness reads: its plans take WebGPU's
 * defaults there, which the device the file describes may well exceed (a 48 KiB device read
 * as 16 KiB gets another tiled plan than a run there), so the plan printed is not
 * necessarily the one the device would get. Empty when every such limit is given.
 *
 * @example
 * ```ts
 * import { missingLimitWarnings } from "./caps_file.ts";
 * missingLimitWarnings({ maxBufferSize: 1 << 30 })[0].startsWith("limits lacks"); // true
 * ```
 */
export function missingLimitWarnings(limits: Readonly<Record<string, number>>): string[] {
  const missing = PROFILE_LIMIT_NAMES.filter((n) => limits[n] === undefined);
  if (missing.length === 0) return [];
  return [
    `limits lacks ${missing.join(", ")}, which the plans read: planned with WebGPU's ` +
    `default${missing.length === 1 ? "" : "s"} (${
      missing.map((n) => `${n} ${WEBGPU_DEFAULT_LIMITS[n]}`).join(", ")
    }), which the device may exceed; devices --json writes every limit the device reports`,
  ];
}

/**
 * The largest caps file read (bytes): devices --json writes about 3 KB, 10 KB with
 * --measure's ceilings; a larger file is another one given by mistake.
 */
export const MAX_CAPS_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Read and validate a caps file; a bad file throws a `ConfigError` naming the file and the
 * field.
 *
 * @example
 * ```ts
 * import { readCapsFile } from "./caps_file.ts";
 * const caps = await readCapsFile("tests/fixtures/caps_lavapipe.json");
 * ```
 */
export async function readCapsFile(path: string): Promise<DeviceCaps> {
  const raw = await readJsonFile(path, { what: "caps file", maxBytes: MAX_CAPS_FILE_BYTES });
  const caps = parseCaps(raw, path);
  for (const line of [...classifiedWarnings(raw, caps), ...missingLimitWarnings(caps.limits)]) {
    console.error(`warning: ${path}: ${line}`);
  }
  return caps;
}
