/**
 * Plan tuning: the constants the adapter plans the GPU-shaped kernels with
 * (adapter/tiled_plan.ts), which sessions without a GPU chose by reasoning and by AMD's
 * compiler, set per device by whoever measures them there. A tuning is an input of
 * `resolve()` like the caps (it travels in `DeviceCaps.tuning`: a caps file's `tuning`, or
 * the file MLA_HARNESS_TUNING names for the device the harness runs on), so a tuned plan is
 * still the adapter's one plan: every kernel parameter comes from it, its variant records
 * what the knobs changed (and so does its digest), and `explain` says which knob came from
 * where. The kernels and their parity checks do not change: a knob only picks among shapes
 * the kernels already support, and a knob the device cannot take (a workgroup-memory tier
 * over its limit) makes the plan unsupported with that reason, never a silent fallback.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError, issuesFromSchema } from "./errors.ts";
import { readJsonFileSync } from "./json_file.ts";
import { wrongFileKindIssue } from "./file_kind.ts";
import type { PlanTuning } from "./types.ts";
import { isRecord } from "../util/is_record.ts";
import {
  FA2_MAX_CHUNK_VEC4,
  FA2_MIN_KEYS_PER_SPLIT,
  FA2_WORKGROUPS_PER_SM,
  TILED_MAX_Q_VEC4,
  TILED_MAX_ROWS,
  TILED_MIN_KEYS_PER_SPLIT,
  TILED_WORKGROUPS_PER_SM,
} from "./tiled_plan.ts";

/** Every knob with a value: the adapter's defaults, or a tuning over them. */
export type ResolvedTuning = { readonly [K in keyof PlanTuning]-?: number };

/**
 * The adapter's defaults: adapter/tiled_plan.ts's constants, where each is documented with
 * what it was measured or reasoned from. `tiledTier` is the most the default takes: a device
 * with less workgroup memory runs its own tier (16384), one with more the 32 KiB one.
 */
export const DEFAULT_TUNING: ResolvedTuning = {
  tiledMaxRows: TILED_MAX_ROWS,
  tiledMaxQVec4: TILED_MAX_Q_VEC4,
  tiledMinKeysPerSplit: TILED_MIN_KEYS_PER_SPLIT,
  tiledWorkgroupsPerSm: TILED_WORKGROUPS_PER_SM,
  tiledTier: 32768,
  fa2MaxChunkVec4: FA2_MAX_CHUNK_VEC4,
  fa2MinKeysPerSplit: FA2_MIN_KEYS_PER_SPLIT,
  fa2WorkgroupsPerSm: FA2_WORKGROUPS_PER_SM,
};

/** The knob names, in the order `explain` prints them. */
export const TUNING_KNOBS: readonly (keyof PlanTuning)[] = Object.keys(
  DEFAULT_TUNING,
) as (keyof PlanTuning)[];

const pow2In = (lo: number, hi: number, what: string) =>
  z.number({ error: `must be a power of two from ${lo} to ${hi} (${what})` }).int().refine(
    (v) => v >= lo && v <= hi && (v & (v - 1)) === 0,
    { error: `must be a power of two from ${lo} to ${hi} (${what})` },
  );
const intIn = (lo: number, hi: number, what: string) =>
  z.number({ error: `must be an integer from ${lo} to ${hi} (${what})` }).int({
    error: `must be an integer from ${lo} to ${hi} (${what})`,
  }).min(lo, { error: `must be an integer from ${lo} to ${hi} (${what})` }).max(hi, {
    error: `must be an integer from ${lo} to ${hi} (${what})`,
  });

const knobsSchema = z.strictObject({
  tiledMaxRows: pow2In(1, 32, "rows per wgsl-absorbed-tiled workgroup; default 32").optional(),
  tiledMaxQVec4: pow2In(1, 64, "q vec4s an invocation holds; default 16").optional(),
  tiledMinKeysPerSplit: intIn(16, 65536, "keys per KV split at least; default 128").optional(),
  tiledWorkgroupsPerSm: intIn(1, 32, "workgroups per SM the splits aim for; default 2")
    .optional(),
  tiledTier: z.union([z.literal(16384), z.literal(32768), z.literal(49152)], {
    error: "must be 16384, 32768 or 49152 (bytes of workgroup memory; default 32768)",
  }).optional(),
  fa2MaxChunkVec4: intIn(1, 16, "vec4s of the head width per staged chunk; default 16")
    .optional(),
  fa2MinKeysPerSplit: intIn(32, 65536, "keys per FA2 KV split at least; default 256").optional(),
  fa2WorkgroupsPerSm: intIn(1, 32, "workgroups per SM the FA2 grid aims for; default 2")
    .optional(),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown knob; valid: ${TUNING_KNOBS.join(", ")}`
      : `must be an object of knobs (${TUNING_KNOBS.join(", ")})`,
});

/** What a tuning file holds: the knobs, and what the tool that wrote it says of them. */
const fileSchema = z.strictObject({
  format: z.literal("mla-harness-tuning/1", {
    error: 'must be "mla-harness-tuning/1"',
  }).optional(),
  knobs: knobsSchema,
  device: z.string({ error: "must be a string (the device the knobs were measured on)" })
    .optional(),
  note: z.string({ error: "must be a string" }).optional(),
  complete: z.boolean({ error: "must be true or false (whether the tuner finished)" }).optional(),
  trials: z.array(z.unknown(), { error: "must be an array (the tuner's measurements)" })
    .optional(),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? "unknown key; valid: format, knobs, device, note, complete, trials"
      : 'must be an object: {"knobs": {...}} (with format, device, note, complete, trials optional)',
});

/**
 * Validate a knobs object (a caps file's `tuning`). An unknown knob or a value out of its
 * range throws a `ConfigError` naming `source`, the knob and the valid values.
 *
 * @example
 * ```ts
 * import { parseTuningKnobs } from "./plan_tuning.ts";
 * parseTuningKnobs({ tiledMaxRows: 8 }, "caps.json"); // { tiledMaxRows: 8 }
 * ```
 */
export function parseTuningKnobs(raw: unknown, source: string): PlanTuning {
  const parsed = knobsSchema.safeParse(raw);
  if (!parsed.success) {
    // Named as the caps file's key: `tuning.tiledMaxRows`.
    const issues = issuesFromSchema(parsed.error.issues, raw).map((i) => ({
      ...i,
      path: i.path === "" || i.path === "(root)" ? "tuning" : `tuning.${i.path}`,
    }));
    throw new ConfigError(source, issues, "invalid tuning");
  }
  return parsed.data;
}

/**
 * Validate the parsed JSON of a tuning file (`{"knobs": {...}}`, as tools/tune_plan.ts
 * writes it); returns its knobs. A bad file throws a `ConfigError` naming `source` and the
 * field.
 *
 * @example
 * ```ts
 * import { parseTuningFile } from "./plan_tuning.ts";
 * parseTuningFile({ knobs: { tiledMinKeysPerSplit: 64 } }, "t.json"); // { tiledMinKeysPerSplit: 64 }
 * ```
 */
export function parseTuningFile(raw: unknown, source: string): PlanTuning {
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    // a caps file (devices --json), a report or another of the harness's files: say which
    const other = wrongFileKindIssue(raw, "tuning");
    if (other !== null) throw new ConfigError(source, [other], "not a tuning file");
    throw new ConfigError(
      source,
      issuesFromSchema(parsed.error.issues, raw),
      "not a valid tuning file",
    );
  }
  return parsed.data.knobs;
}

/**
 * Read and validate a tuning file. A missing or unreadable file, text that is not JSON, or
 * a bad knob throws a `ConfigError` naming the file (exit 2 in the CLI).
 *
 * @example
 * ```ts ignore
 * import { readTuningFile } from "./plan_tuning.ts";
 * const knobs = readTuningFile("tuning.json");
 * ```
 */
export function readTuningFile(path: string): PlanTuning {
  return readTuningFileInfo(path).knobs;
}

/**
 * The largest tuning file read (bytes): its knobs are a few hundred; tools/tune_plan.ts's
 * trials list each case of each trial (a 1000-case matrix over 50 trials is a few MB).
 */
export const MAX_TUNING_FILE_BYTES = 64 * 1024 * 1024;

/**
 * A tuning file's knobs, whether the tuner finished (`complete: false`: it was stopped
 * before its last trial, so the knobs are the best found so far, not the search's answer)
 * and the device it measured them on (`device`, as {@link tuningDeviceOf} writes it).
 *
 * @example
 * ```ts ignore
 * import { readTuningFileInfo } from "./plan_tuning.ts";
 * readTuningFileInfo("tuning.json").complete; // undefined, true or false
 * ```
 */
export function readTuningFileInfo(path: string): TuningFileInfo {
  // A pipe (MLA_HARNESS_TUNING=<(...)) reads once: the harness reads the variable more than
  // once (checked before every command, then when the device's caps are put together), and
  // the second read found it empty ("the file is empty"). What a pipe gave is kept; a
  // regular file is read afresh each time.
  const stream = isStream(path);
  const kept = stream ? streamReads.get(path) : undefined;
  if (kept !== undefined) return kept;
  const info = readTuningFileOnce(path);
  if (stream) streamReads.set(path, info);
  return info;
}

/** What {@link readTuningFileInfo} returns. */
export interface TuningFileInfo {
  /** The knobs. */
  readonly knobs: PlanTuning;
  /** Whether the tuner finished (absent: the file does not say). */
  readonly complete?: boolean;
  /** The device the knobs were measured on (absent: the file does not say). */
  readonly device?: string;
}

/** What a pipe or other non-regular file gave, by path (it cannot be read again). */
const streamReads = new Map<string, TuningFileInfo>();

/** Whether a path is a pipe, socket or device rather than a regular file or a folder. */
function isStream(path: string): boolean {
  try {
    const s = Deno.statSync(path);
    return !s.isFile && !s.isDirectory;
  } catch {
    return false; // the read says why
  }
}

function readTuningFileOnce(path: string): TuningFileInfo {
  const raw = readJsonFileSync(path, {
    what: "tuning file",
    hint: 'expected a tuning file: {"knobs": {...}}',
    maxBytes: MAX_TUNING_FILE_BYTES,
  });
  const knobs = parseTuningFile(raw, path);
  const complete = isRecord(raw) && typeof raw.complete === "boolean" ? raw.complete : undefined;
  const device = isRecord(raw) && typeof raw.device === "string" ? raw.device : undefined;
  return {
    knobs,
    ...(complete === undefined ? {} : { complete }),
    ...(device === undefined ? {} : { device }),
  };
}

/**
 * How a tuning file names the device its knobs were measured on (tools/tune_plan.ts writes
 * it as the file's `device`): the adapter's description with its PCI vendor and device ids
 * ("?" where unknown).
 *
 * @example
 * ```ts
 * import { tuningDeviceOf } from "./plan_tuning.ts";
 * tuningDeviceOf({ description: "NVIDIA H100 80GB HBM3", vendor: "4318", device: "9008" });
 * // "NVIDIA H100 80GB HBM3 (vendor 4318, device 9008)"
 * ```
 */
export function tuningDeviceOf(
  a: { description: string | null; vendor: string | null; device: string | null },
): string {
  return `${a.description} (vendor ${a.vendor ?? "?"}, device ${a.device ?? "?"})`;
}

/**
 * The clause a tuning's source gets when its file was measured on another device than the
 * one it is applied to (knobs chosen for an H100 are not an answer for lavapipe), or null
 * when the file names no device or this one.
 *
 * @example
 * ```ts
 * import { otherDeviceClause } from "./plan_tuning.ts";
 * otherDeviceClause("NVIDIA H100 80GB HBM3 (vendor 4318, device 9008)", {
 *   description: "llvmpipe (LLVM 15.0.6, 256 bits)", vendor: "65541", device: "0",
 * }); // "(measured on NVIDIA H100 ..., not on this device: llvmpipe ...)"
 * ```
 */
export function otherDeviceClause(
  measuredOn: string | undefined,
  adapter: { description: string; vendor: string; device: string },
): string | null {
  if (measuredOn === undefined) return null;
  const here = tuningDeviceOf(adapter);
  return measuredOn === here
    ? null
    : `(measured on ${measuredOn}, not on this device: ${here}; its knobs were chosen there)`;
}

/**
 * Every knob's value for a tuning (absent or undefined: the defaults). The tuning is
 * validated first: caps handed to `resolve()` by a library caller never went through a
 * file's checks, and an out-of-range knob (3 rows a workgroup) would plan a shape the
 * kernels do not take; it throws the `ConfigError` a file would.
 *
 * @example
 * ```ts
 * import { resolvedTuning } from "./plan_tuning.ts";
 * resolvedTuning({ tiledMaxRows: 8 }).tiledMaxRows; // 8
 * resolvedTuning(undefined).tiledMinKeysPerSplit; // 128
 * ```
 */
export function resolvedTuning(t: PlanTuning | undefined | null): ResolvedTuning {
  if (!t) return DEFAULT_TUNING;
  const checked = parseTuningKnobs(t, "caps");
  const out: Record<string, number> = { ...DEFAULT_TUNING };
  for (const k of TUNING_KNOBS) {
    const v = checked[k];
    if (v !== undefined) out[k] = v;
  }
  return out as ResolvedTuning;
}

/**
 * The knobs a tuning sets to something other than the default, as `name value (default d)`
 * clauses; empty when it changes nothing.
 *
 * @example
 * ```ts
 * import { tuningChanges } from "./plan_tuning.ts";
 * tuningChanges({ tiledMaxRows: 8, fa2MaxChunkVec4: 16 }); // ["tiledMaxRows 8 (default 32)"]
 * ```
 */
export function tuningChanges(t: PlanTuning | undefined | null): string[] {
  if (!t) return [];
  return TUNING_KNOBS.flatMap((k) => {
    const v = t[k];
    if (v === undefined || v === DEFAULT_TUNING[k]) return [];
    // The tier's default is the device's own, 32768 at most (a 16 KiB device runs 16384).
    return [
      `${k} ${v} (default ${
        k === "tiledTier" ? "the device's tier, 32768 at most" : DEFAULT_TUNING[k]
      })`,
    ];
  });
}

/**
 * The line `explain` and `devices` print for caps that carry a tuning: where it came from
 * and the knobs it changes; null for caps without one.
 *
 * @example
 * ```ts
 * import { formatTuning } from "./plan_tuning.ts";
 * formatTuning({ tuning: { tiledMaxRows: 8 }, tuningFrom: "MLA_HARNESS_TUNING=t.json" });
 * // "plan tuning from MLA_HARNESS_TUNING=t.json: tiledMaxRows 8 (default 32)"
 * formatTuning({}); // null
 * ```
 */
export function formatTuning(
  caps: { readonly tuning?: PlanTuning; readonly tuningFrom?: string } | null,
): string | null {
  if (caps?.tuning === undefined) return null;
  const changes = tuningChanges(caps.tuning);
  return `plan tuning from ${caps.tuningFrom ?? "the caps file"}: ` +
    (changes.length === 0 ? "every knob at the adapter's default" : changes.join(", "));
}
