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
 * preset (name or config path), heads (0 = the spec's; the preset's own count beside 0 in
 * the matrix is one case under two ids, refused on load: matrix/expand.ts `iterateCases`), path (absorbed | expanded),
 * dtype (f32 | f16), b (>= 1), sq (>= 1), sk (>= 0), varlen (none | normal |
 * normal-empty), layout (bshd | sbhd | thd), causal (bool), splits (0 = adapter's
 * choice), page (page size of a paged cache with a shuffled block table; 0 =
 * contiguous), device ("native" or a name under `devices`), mode (attention | layer), backend
 * (a registered backend id; default: the bundled backend of path). A group with a backend
 * axis and no path axis takes its backends' path (backends of both paths there: refused on
 * load, matrix/expand.ts `pathsOfBackends`). A mode layer case with sq != sk, varlen with
 * bshd/sbhd or a page size is invalid, whatever lengths its seed draws: refused on load
 * unless its group expects it invalid (matrix/expand.ts `layerNotSelfAttention`).
 * A thd case packs sq queries per sequence against its cache when sq < sk, and a prefill
 * (sq = sk) as self-attention; sq > sk is refused on load (thd would run it as sq = sk:
 * matrix/expand.ts `thdMoreQueriesThanKeys`), bshd and sbhd run it as written.
 * Integer axes are bounded ({@link AXIS_BOUNDS}); preset and device values (and device
 * profile names) may not hold `;`, `=`, `,` or control characters, which would make
 * case ids ambiguous.
 *
 * Device profiles name WebGPU features and limits the harness knows (adapter/caps_file.ts
 * lists them); a misspelt name is an error, not a profile that silently changes nothing.
 * Exclude objects must name at least one axis, each of their values must be one the group's
 * axis takes, and no group's excludes may remove all its cases (checked when a matrix is
 * loaded: matrix/expand.ts `checkExcludes`).
 *
 * A group's `name` (or `groups[i]` when it has none) labels its cases in the reports; two
 * groups of one label, or of labels that differ only in spaces, are refused
 * (matrix/expand.ts `validateMatrix`).
 *
 * A config path in `preset` is read relative to the matrix file's folder and must stay
 * inside it (or inside `run --config-root`); see matrix/config_paths.ts.
 *
 * @module
 */
import { z } from "zod";
import { featureNameSchema, limitsSchema } from "../adapter/caps_file.ts";
import type { SchemaIssue } from "../adapter/errors.ts";
import type { MatrixFile } from "./types.ts";
import { didYouMean } from "../util/edit_distance.ts";

/**
 * `did you mean "dtype"? ` for an object's one unknown key near a valid one, else "": a
 * typo'd key ("dtpye", "Preset", "suport") was told the list of valid keys with no word of
 * which it misspells, where a typo'd preset or limit name is.
 */
function nearKey(issue: unknown, valid: readonly string[]): string {
  const keys = (issue as { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.length === 1 && typeof keys[0] === "string"
    ? didYouMean(keys[0], valid)
    : "";
}

// A single value stands for a list of one; errors then point at [index] of the list.
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) => (Array.isArray(v) ? v : [v]),
    z.array(item).min(1, { error: "must list at least one value" }),
  );

// zod's int() takes safe integers only: the message says so (1e20 is an integer >= 0)
const int = (min: number) => {
  const error = `must be an integer from ${min} to ${Number.MAX_SAFE_INTEGER} (a safe integer)`;
  return z.number({ error }).int({ error }).min(min, { error });
};

/**
 * Bounds of the integer axes: far above any published MLA model or FlashMLA test shape
 * (DeepSeek-V3 has 128 heads and a 128 Ki context; FlashMLA tests b <= 128, s_k <= 64 Ki,
 * pages of 64), and low enough that what the runner builds per case before the adapter's
 * buffer checks (per-sequence key lengths, block tables) stays small.
 */
export const AXIS_BOUNDS: Readonly<Record<string, { min: number; max: number }>> = {
  heads: { min: 0, max: 1024 },
  b: { min: 1, max: 4096 },
  sq: { min: 1, max: 1 << 20 },
  sk: { min: 0, max: 1 << 20 },
  splits: { min: 0, max: 4096 },
  page: { min: 0, max: 1 << 16 },
};

/**
 * The most query or key tokens (over every sequence of a case) a layout may have: 16 Mi,
 * DeepSeek-V3's 128 Ki context at batch 128. The layout, its RoPE tables and the reference
 * hold an entry per token; the axes' own bounds alone would allow b 4096 x s_k 1 Mi, whose
 * tables run out of memory after a minute (a RangeError). `explain`'s shape flags and a
 * matrix's cases (matrix/expand.ts `oversizedCases`) are held to it.
 */
export const MAX_LAYOUT_TOKENS = 1 << 24;

const bounded = (axis: keyof typeof AXIS_BOUNDS) => {
  const { min, max } = AXIS_BOUNDS[axis];
  const error = `must be an integer from ${min} to ${max} (the harness's bound on ${axis})`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/**
 * Characters a string axis value may not hold: `;`, `=` and `,` separate the fields of a
 * case id and of `--filter` (a preset holding one could never be selected), and control
 * characters would break the one-line reports.
 */
// deno-lint-ignore no-control-regex
export const ID_VALUE_FORBIDDEN = /[;=,\u0000-\u001f\u007f]/;

/**
 * Why a string cannot be a case id value, or null when it can.
 *
 * @example
 * ```ts
 * import { idValueProblem } from "./schema.ts";
 * idValueProblem("a;b"); // "must not contain ';', '=', ',' or control characters ..."
 * idValueProblem("tiny"); // null
 * ```
 */
export function idValueProblem(value: string): string | null {
  if (value === "") return "must not be empty";
  if (ID_VALUE_FORBIDDEN.test(value)) {
    return "must not contain ';', '=', ',' or control characters (they separate the fields " +
      "of a case id and of --filter, so the case could not be selected)";
  }
  if (value.trim() !== value) return "must not start or end with spaces";
  return null;
}

const idString = (what: string) =>
  z.string({ error: `must be ${what}` }).superRefine((v, ctx) => {
    const problem = idValueProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** The values of every enumerated axis (causal as written in ids: 1/0 or true/false). */
export const AXIS_ENUMS: Readonly<Record<string, readonly string[]>> = {
  path: ["absorbed", "expanded"],
  dtype: ["f32", "f16"],
  varlen: ["none", "normal", "normal-empty"],
  layout: ["bshd", "sbhd", "thd"],
  mode: ["attention", "layer"],
  causal: ["1", "0", "true", "false"],
};

const enumOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` });

/** Value schemas of every axis. */
const AXIS_SCHEMAS = {
  preset: idString("a preset name or a config path"),
  heads: bounded("heads"),
  path: enumOf(["absorbed", "expanded"] as const),
  dtype: enumOf(["f32", "f16"] as const),
  b: bounded("b"),
  sq: bounded("sq"),
  sk: bounded("sk"),
  varlen: enumOf(["none", "normal", "normal-empty"] as const),
  layout: enumOf(["bshd", "sbhd", "thd"] as const),
  causal: z.boolean({ error: "must be true or false" }),
  splits: bounded("splits"),
  page: bounded("page"),
  device: idString("a device profile name"),
  mode: enumOf(["attention", "layer"] as const),
  backend: z.string({ error: "must be a backend id" }).regex(/^[a-z][a-z0-9._-]{0,63}$/, {
    error: "must be a registered backend id ([a-z][a-z0-9._-]*), never a module path: load a " +
      "user backend with --backend-module and name its id here",
  }),
};

const axesShape = Object.fromEntries(
  Object.entries(AXIS_SCHEMAS).map(([k, s]) => [k, list(s as z.ZodType).optional()]),
) as unknown as { [K in keyof typeof AXIS_SCHEMAS]: z.ZodOptional<z.ZodType> };

const axes = z.strictObject(axesShape, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown axis; ${nearKey(i, Object.keys(AXIS_SCHEMAS))}valid axes: ${
        Object.keys(AXIS_SCHEMAS).join(", ")
      }`
      : "must be an object of axes",
});

const expect = z.strictObject({
  support: enumOf(["supported", "unsupported", "invalid"] as const),
  // zod's own messages named types ("expected array, received string"), not what is valid
  codes: z.array(z.string({ error: "must be a string: a reason code or a message fragment" }), {
    error: 'must be a list of strings: reason codes (or, for "invalid", fragments of the ' +
      'message), e.g. ["dtype.f16-unavailable"]',
  }).optional(),
}, {
  // a key it does not have ("backend", a typo'd "suport") read as if the whole expect were
  // of the wrong form, not as the one key to drop or respell
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown key; ${nearKey(i, ["support", "codes"])}valid: support, codes (an expect ` +
        "checks the support decision and its codes, nothing else)"
      : 'must be {"support": "supported" | "unsupported" | "invalid", "codes"?: [...]}',
})
  .superRefine((e, ctx) => {
    // An invalid case's codes are fragments of its message, and an empty one is in every
    // message: refused, not matched (an unsupported case's codes are checked against the
    // reason codes, matrix/reason_codes.ts, which names an empty one).
    if (e.support !== "invalid") return;
    (e.codes ?? []).forEach((c, i) => {
      if (c.trim() === "") {
        ctx.addIssue({
          code: "custom",
          path: ["codes", i],
          message: "must not be empty: an invalid case's codes are fragments of its message, " +
            "and an empty one is in every message",
        });
      }
    });
  });

/**
 * Control characters and bidirectional overrides: a name holding one would corrupt the
 * one-line reports (summary.md, the terminal) or show a cell's text in another order than
 * it has.
 */
// deno-lint-ignore no-control-regex
const LABEL_FORBIDDEN = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/;

/** A name the reports print as a label (a matrix's, a group's). */
const labelString = (error: string | ((issue: { input?: unknown }) => string)) =>
  z.string({ error }).refine((v) => !LABEL_FORBIDDEN.test(v), {
    error: "must not contain control characters or bidirectional overrides (the reports " +
      "print it on one line, as it reads)",
  });

const group = z.strictObject({
  // a blank group name made the reports' group rows read as nothing (leave it out for
  // `groups[i]`)
  name: labelString("must be a string").refine((v) => v.trim() !== "", {
    error: "must not be empty or only spaces: a short label the reports print for the group's " +
      'rows, e.g. "decode", or leave it out (the reports then say groups[i])',
  }).optional(),
  axes,
  exclude: z.array(axes, {
    error: "must be a list of exclude objects, each naming axis values whose cases are left " +
      'out, e.g. [{"path": "expanded", "sq": 2}]',
  }).optional(),
  expect: expect.optional(),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown key; ${nearKey(i, ["name", "axes", "exclude", "expect"])}valid: name, axes, ` +
        "exclude, expect"
      : "must be a group object",
});

const loopBudgetError = "must be a positive integer, the loop iterations a shader may run " +
  `(e.g. 65535; at most ${Number.MAX_SAFE_INTEGER}), or null for no budget`;
const loopBudget = z.number({ error: loopBudgetError }).int({ error: loopBudgetError })
  .positive({ error: loopBudgetError });

const profile = z.strictObject({
  removeFeatures: z.array(featureNameSchema, {
    error: 'must be a list of WebGPU feature names, e.g. ["shader-f16"]',
  }).optional(),
  limits: limitsSchema('must be an object of limits by name, e.g. {"maxBufferSize": 65536}', {
    profile: true,
  })
    .optional(),
  loopIterationBudget: loopBudget.nullable().optional(),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown key; ${
        nearKey(i, ["removeFeatures", "limits", "loopIterationBudget"])
      }valid: removeFeatures, limits, loopIterationBudget`
      : "must be {removeFeatures?: string[], limits?: {name: number}, loopIterationBudget?: " +
        "integer | null}",
});

/** The schema of a matrix file. */
const matrixFileSchemaImpl = z.strictObject({
  // a blank name made the reports' titles and headers read as nothing
  name: labelString((i) =>
    i.input === undefined
      ? 'is required: a short name, e.g. "smoke"'
      : 'must be a string: a short name, e.g. "smoke"'
  ).refine((v) => v.trim() !== "", {
    error: 'must not be empty or only spaces: a short name the reports title, e.g. "smoke"',
  }),
  // zod's own messages named types ("expected record, received array"), not what is valid
  description: z.string({ error: "must be a string: what the matrix covers" }).optional(),
  seed: int(0).optional(),
  devices: z.record(z.string(), profile, {
    error: "must be an object of device profiles by name, e.g. " +
      '{"no-f16": {"removeFeatures": ["shader-f16"]}}',
  }).optional(),
  // present but not a list (groups by name, one group object) read "is required"
  groups: z.array(group, {
    error: (i) =>
      i.input === undefined
        ? "is required: a list of groups"
        : 'must be a list of groups, e.g. [{"name": "decode", "axes": {"preset": "tiny"}}]',
  }).min(1, {
    error: "must list at least one group",
  }),
}, {
  error: (i) =>
    i.code === "unrecognized_keys"
      ? `unknown key; ${
        nearKey(i, ["name", "description", "seed", "devices", "groups"])
      }valid: name, description, seed, devices, groups`
      : "must be a JSON object",
});

/**
 * Parse a raw matrix object; on success the data is a {@link MatrixFile}, else the error
 * holds every schema problem ({@link SchemaIssue}: the keys to the entry, the message, and
 * an unknown key's names).
 *
 * @example
 * ```ts
 * import { parseMatrixFile } from "./schema.ts";
 * parseMatrixFile({ name: "m", groups: [{ axes: {} }] }).success; // true
 * ```
 */
export function parseMatrixFile(
  raw: unknown,
): { success: true; data: MatrixFile } | {
  success: false;
  error: { readonly issues: readonly SchemaIssue[] };
} {
  // zod drops a record's "__proto__" key without a word (a device profile or limit so
  // named vanished); JSON.parse keeps it as an own key: refused by name wherever it is
  const reserved = reservedKeyPaths(raw);
  if (reserved.length > 0) {
    return {
      success: false,
      error: {
        issues: reserved.map((path) => ({
          path,
          message: '"__proto__" cannot be a key of a matrix (JavaScript objects reserve ' +
            "it, and it would be dropped): give it another name",
        })),
      },
    };
  }
  const r = matrixFileSchemaImpl.safeParse(raw);
  return r.success
    ? { success: true, data: r.data as MatrixFile }
    : { success: false, error: r.error };
}

/** The paths of every own "__proto__" key in a parsed JSON value (iteratively: any depth). */
function reservedKeyPaths(raw: unknown): PropertyKey[][] {
  const found: PropertyKey[][] = [];
  const todo: [unknown, PropertyKey[]][] = [[raw, []]];
  while (todo.length > 0) {
    const [v, path] = todo.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => todo.push([x, [...path, i]]));
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      if (k === "__proto__") found.push([...path, k]);
      else todo.push([x, [...path, k]]);
    }
  }
  return found;
}

/** Axis names a matrix group may use. */
export const AXIS_NAMES: readonly string[] = Object.keys(AXIS_SCHEMAS);
