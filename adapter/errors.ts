/**
 * The adapter's error type for bad input: every problem with its field path, the
 * value found and what would be valid.
 *
 * @module
 */

/** One problem in a config or layout. */
export interface ConfigIssue {
  /** Dotted field path, e.g. `rope_scaling.factor`. */
  readonly path: string;
  /** The value found (undefined when missing). */
  readonly value: unknown;
  /** What is wrong and what would be valid. */
  readonly message: string;
}

/** Marks a number JSON cannot write (JSON.stringify writes null), so it is shown as it is. */
const NON_FINITE = "\u0000non-finite:";

/**
 * A value as messages show it: JSON, a string whole up to 240 characters and anything else
 * up to 60 (then cut, ending "..."), a non-finite number as itself, and "(missing)" for
 * undefined.
 *
 * @example
 * ```ts
 * import { showValue } from "./errors.ts";
 * showValue("gpu"); // '"gpu"'
 * showValue("x".repeat(1000)).length; // 240
 * ```
 */
export function showValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  // JSON.parse reads 1e400 as Infinity, which JSON.stringify would show as null: a value the
  // file does not hold
  if (value === Infinity || value === -Infinity) {
    return `${value} (a number past float64's range, as ${value > 0 ? "" : "-"}1e400 is)`;
  }
  let s: string | undefined;
  try {
    s = JSON.stringify(
      value,
      (_k, v) => typeof v === "number" && !Number.isFinite(v) ? NON_FINITE + String(v) : v,
    )?.replace(/"\\u0000non-finite:(-?Infinity|NaN)"/g, "$1");
  } catch {
    // JSON.parse reads arrays nested 100000 deep, which JSON.stringify cannot write back
    // (a stack overflow, which ended the command with a stack trace)
    return `${Array.isArray(value) ? "[[[..." : "{...}"} (nested too deep to show)`;
  }
  // A string (a case id, a path) is shown whole up to 240 characters: its last keys are
  // often what tells two apart. Other values are cut at 60.
  const limit = typeof value === "string" ? 240 : 60;
  return s === undefined ? String(value) : s.length > limit ? s.slice(0, limit - 3) + "..." : s;
}

/**
 * Render one issue as `path: value message`.
 *
 * @example
 * ```ts
 * import { formatIssue } from "./errors.ts";
 * formatIssue({ path: "qk_rope_head_dim", value: 63, message: "must be even" });
 * // "qk_rope_head_dim: 63 must be even"
 * ```
 */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${showValue(issue.value)} ${issue.message}`;
}

/** One schema problem as a validator reports it (zod's issues have this shape). */
export interface SchemaIssue {
  /** Keys from the input's root to the field. */
  readonly path: readonly PropertyKey[];
  /** What is wrong and what would be valid. */
  readonly message: string;
  /** Keys the object at `path` holds and the schema does not know (zod's unrecognized_keys). */
  readonly keys?: readonly PropertyKey[];
}

/**
 * Schema problems as {@link ConfigIssue}s: the dotted path and the value found there in
 * `input` (undefined when absent). Unknown keys (an issue with `keys`) are one issue each,
 * at the key's own path, with the value the key holds: they are present, not missing.
 *
 * @example
 * ```ts
 * import { issuesFromSchema } from "./errors.ts";
 * issuesFromSchema([{ path: ["a", "b"], message: "must be a number" }], { a: { b: "x" } });
 * // [{ path: "a.b", value: "x", message: "must be a number" }]
 * issuesFromSchema([{ path: [], keys: ["c"], message: "unknown key" }], { c: 3 });
 * // [{ path: "c", value: 3, message: "unknown key" }]
 * ```
 */
export function issuesFromSchema(
  issues: readonly SchemaIssue[],
  input: unknown,
): ConfigIssue[] {
  return issues.flatMap((issue) => {
    const paths = issue.keys?.length ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    return paths.map((path) => ({
      path: path.map(String).join(".") || "(root)",
      value: valueAt(input, path),
      message: issue.message,
    }));
  });
}

/**
 * The value at `path` in `input`, or undefined where the path leaves it.
 *
 * @example
 * ```ts
 * import { valueAt } from "./errors.ts";
 * valueAt({ a: [1, { b: "x" }] }, ["a", 1, "b"]); // "x"
 * valueAt({ a: 1 }, ["a", "b"]); // undefined
 * ```
 */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    value = value !== null && typeof value === "object"
      ? (value as Record<PropertyKey, unknown>)[key]
      : undefined;
  }
  return value;
}

/**
 * Bad input: a malformed config, an impossible layout. CLI maps it to exit code 2.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * const e = new ConfigError("x.json", [{ path: "qk_rope_head_dim", value: 63, message: "must be even" }]);
 * e.message; // "x.json: invalid config\n  qk_rope_head_dim: 63 must be even"
 * ```
 */
export class ConfigError extends Error {
  /** Where the input came from. */
  readonly source: string;
  /** Every problem found. */
  readonly issues: readonly ConfigIssue[];
  /** Build the error from every issue found in `source` (`what` heads the message). */
  constructor(source: string, issues: readonly ConfigIssue[], what = "invalid config") {
    super(`${source}: ${what}\n${issues.map((i) => "  " + formatIssue(i)).join("\n")}`);
    this.name = "ConfigError";
    this.source = source;
    this.issues = issues;
  }
}
