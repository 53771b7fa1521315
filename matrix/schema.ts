/**
 * The matrix file format (JSON), validated with zod. Errors name the entry, e.g.
 * `groups[1].axes.dtype[0]: "bf16" must be one of f32, f16`.
 *
 * ```json
 * {
 *   "name": "smoke",
 *   "description": "what it covers",
 *   "seed": 1,
 *   "devices": { "no-f16": { "removeFeatures": ["shader-f16"] } },
 *   "groups": [
 *     {
 *       "name": "decode",
 *       "axes": { "preset": ["tiny"], "path": ["absorbed", "expanded"], "sq": [1, 2] },
 *       "exclude": [{ "path": "expanded", "sq": 2 }],
 *       "expect": { "support": "supported" }
 *     }
 *   ]
 * }
 * ```
 *
 * Axes (each a value or a list of values; absent axes take the default):
 * preset (name or config path), heads (0 = the spec's), path (absorbed | expanded),
 * dtype (f32 | f16), b (>= 1), sq (>= 1), sk (>= 0), varlen (none | normal |
 * normal-empty), layout (bshd | sbhd | thd), causal (bool), splits (0 = adapter's
 * choice), page (page size of a paged cache with a shuffled block table; 0 =
 * contiguous), device ("native" or a name under `devices`), mode (attention | layer).
 *
 * @module
 */
import { z } from "zod";
import type { MatrixFile } from "./types.ts";

// A single value stands for a list of one; errors then point at [index] of the list.
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) => (Array.isArray(v) ? v : [v]),
    z.array(item).min(1, { error: "must list at least one value" }),
  );

const int = (min: number) =>
  z.number({ error: `must be an integer >= ${min}` }).int({ error: `must be an integer >= ${min}` })
    .min(min, { error: `must be an integer >= ${min}` });

const enumOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` });

/** Value schemas of every axis. */
const AXIS_SCHEMAS = {
  preset: z.string({ error: "must be a preset name or a config path" }).min(1),
  heads: int(0),
  path: enumOf(["absorbed", "expanded"] as const),
  dtype: enumOf(["f32", "f16"] as const),
  b: int(1),
  sq: int(1),
  sk: int(0),
  varlen: enumOf(["none", "normal", "normal-empty"] as const),
  layout: enumOf(["bshd", "sbhd", "thd"] as const),
  causal: z.boolean({ error: "must be true or false" }),
  splits: int(0),
  page: int(0),
  device: z.string({ error: "must be a device profile name" }).min(1),
  mode: enumOf(["attention", "layer"] as const),
};

const axesShape = Object.fromEntries(
  Object.entries(AXIS_SCHEMAS).map(([k, s]) => [k, list(s as z.ZodType).optional()]),
) as unknown as { [K in keyof typeof AXIS_SCHEMAS]: z.ZodOptional<z.ZodType> };

const axes = z.strictObject(axesShape, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown axis; valid axes: ${Object.keys(AXIS_SCHEMAS).join(", ")}`
      : "must be an object of axes",
});

const expect = z.strictObject({
  support: enumOf(["supported", "unsupported", "invalid"] as const),
  codes: z.array(z.string()).optional(),
}, { error: 'must be {"support": "supported" | "unsupported" | "invalid", "codes"?: [...]}' });

const group = z.strictObject({
  name: z.string().optional(),
  axes,
  exclude: z.array(axes).optional(),
  expect: expect.optional(),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? "unknown key; valid: name, axes, exclude, expect"
      : "must be a group object",
});

const profile = z.strictObject({
  removeFeatures: z.array(z.string()).optional(),
  limits: z.record(z.string(), z.number()).optional(),
  loopIterationBudget: z.number().int().positive().nullable().optional(),
}, {
  error:
    "must be {removeFeatures?: string[], limits?: {name: number}, loopIterationBudget?: integer | null}",
});

/** The schema of a matrix file. */
const matrixFileSchemaImpl = z.strictObject({
  name: z.string({ error: "is required: a short name" }).min(1),
  description: z.string().optional(),
  seed: int(0).optional(),
  devices: z.record(z.string(), profile).optional(),
  groups: z.array(group, { error: "is required: a list of groups" }).min(1, {
    error: "must list at least one group",
  }),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? "unknown key; valid: name, description, seed, devices, groups"
      : "must be a JSON object",
});

/**
 * Parse a raw matrix object; on success the data is a {@link MatrixFile}.
 *
 * @example
 * ```ts
 * import { parseMatrixFile } from "./schema.ts";
 * parseMatrixFile({ name: "m", groups: [{ axes: {} }] }).success; // true
 * ```
 */
export function parseMatrixFile(
  raw: unknown,
): { success: true; data: MatrixFile } | { success: false; error: z.ZodError } {
  const r = matrixFileSchemaImpl.safeParse(raw);
  return r.success
    ? { success: true, data: r.data as MatrixFile }
    : { success: false, error: r.error };
}

/** Axis names a matrix group may use. */
export const AXIS_NAMES: readonly string[] = Object.keys(AXIS_SCHEMAS);
