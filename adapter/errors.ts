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

function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 60 ? s.slice(0, 57) + "..." : s;
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
  return `${issue.path}: ${show(issue.value)} ${issue.message}`;
}

/** One schema problem as a validator reports it (zod's issues have this shape). */
export interface SchemaIssue {
  /** Keys from the input's root to the field. */
  readonly path: readonly PropertyKey[];
  /** What is wrong and what would be valid. */
  readonly message: string;
}

/**
 * Schema problems as {@link ConfigIssue}s: the dotted path and the value found there in
 * `input` (undefined when absent).
 *
 * @example
 * ```ts
 * import { issuesFromSchema } from "./errors.ts";
 * issuesFromSchema([{ path: ["a", "b"], message: "must be a number" }], { a: { b: "x" } });
 * // [{ path: "a.b", value: "x", message: "must be a number" }]
 * ```
 */
export function issuesFromSchema(
  issues: readonly SchemaIssue[],
  input: unknown,
): ConfigIssue[] {
  return issues.map((issue) => {
    let value: unknown = input;
    for (const key of issue.path) {
      value = value !== null && typeof value === "object"
        ? (value as Record<PropertyKey, unknown>)[key]
        : undefined;
    }
    return {
      path: issue.path.map(String).join(".") || "(root)",
      value,
      message: issue.message,
    };
  });
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
