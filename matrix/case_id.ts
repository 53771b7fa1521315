/**
 * Stable case ids and `--filter` selection.
 *
 * @module
 */
import { AXIS_BOUNDS, AXIS_ENUMS, idValueProblem } from "./schema.ts";
import { CASE_DEFAULTS, CASE_ID_ORDER, type CaseParams } from "./types.ts";

const show = (v: unknown) => (typeof v === "boolean" ? (v ? "1" : "0") : String(v));

/** A wrong argument as a message shows it: an object as JSON, anything else as written. */
const shownArg = (v: unknown) =>
  typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);

/**
 * The stable id of a case: `key=value` pairs joined by `;` in {@link CASE_ID_ORDER}.
 * `preset`, `path`, `dtype`, `b`, `sq`, `sk`, `layout` and `causal` always appear;
 * the rarer params only when they differ from their defaults, so adding a new
 * rare axis does not rename old cases. A config path is written as given: matrix/expand.ts
 * `loadMatrix` normalizes a matrix's config paths first (matrix/config_paths.ts
 * `normalizeConfigPath`), so one file gives one id.
 *
 * @example
 * ```ts
 * import { caseId } from "./case_id.ts";
 * import { CASE_DEFAULTS } from "./types.ts";
 * caseId({ ...CASE_DEFAULTS, preset: "deepseek-v2-lite", dtype: "f16", b: 4, sk: 4096 });
 * // "preset=deepseek-v2-lite;path=absorbed;dtype=f16;b=4;sq=1;sk=4096;layout=bshd;causal=1"
 * ```
 */
export function caseId(p: CaseParams): string {
  const always = new Set(["preset", "path", "dtype", "b", "sq", "sk", "layout", "causal"]);
  return CASE_ID_ORDER
    .filter((k) => always.has(k) || p[k] !== CASE_DEFAULTS[k])
    .map((k) => `${k}=${show(p[k])}`)
    .join(";");
}

/**
 * The params a case id stands for: the inverse of {@link caseId}, its `key=value` pairs
 * over {@link CASE_DEFAULTS} (numbers and booleans read back as such). For ids the harness
 * wrote (a report's `shardIds`); values are not checked.
 *
 * @example
 * ```ts
 * import { paramsOfCaseId } from "./case_id.ts";
 * paramsOfCaseId("preset=tiny;path=expanded;dtype=f32;b=2;sq=1;sk=9;layout=bshd;causal=0").sk; // 9
 * ```
 */
export function paramsOfCaseId(id: string): CaseParams {
  const params: Record<string, unknown> = { ...CASE_DEFAULTS };
  for (const pair of id.split(";")) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const d: unknown = CASE_DEFAULTS[key as keyof CaseParams];
    params[key] = typeof d === "number"
      ? Number(value)
      : typeof d === "boolean"
      ? value === "1" || value === "true"
      : value;
  }
  return params as unknown as CaseParams;
}

/** A parsed `--filter`: each key must match one of its values. */
export type CaseFilter = ReadonlyMap<string, readonly string[]>;

/**
 * Parse `preset=deepseek-v2-lite;dtype=f16,f32` (`;` between keys, `,` between
 * alternatives). Every key and value is checked against the axes' domains: no term at all
 * (`""`, `";"`), an unknown key, a repeated key, an empty value, a value outside an enumerated axis (`dtype=bf16`,
 * `causal=yes`) or an integer outside an axis's bounds throws a RangeError naming it and
 * what would be valid. Integers come back as ids write them (`sk=064` is `["64"]`).
 *
 * @example
 * ```ts
 * import { parseFilter } from "./case_id.ts";
 * parseFilter("preset=tiny;dtype=f16,f32").get("dtype"); // ["f16", "f32"]
 * parseFilter("sk=064").get("sk"); // ["64"]
 * ```
 */
export function parseFilter(text: string): CaseFilter {
  // a missing text failed with "Cannot read properties of undefined (reading 'split')"
  if (typeof text !== "string") {
    throw new RangeError(
      `filter must be a string such as preset=tiny;dtype=f16,f32, found ${shownArg(text)}`,
    );
  }
  const out = new Map<string, string[]>();
  for (const part of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new RangeError(`filter term "${part}" must look like key=value`);
    const key = part.slice(0, eq).trim();
    if (!(CASE_ID_ORDER as readonly string[]).includes(key)) {
      throw new RangeError(
        `filter key "${key}" is unknown; valid keys: ${CASE_ID_ORDER.join(", ")}`,
      );
    }
    if (out.has(key)) {
      throw new RangeError(
        `filter key "${key}" appears twice; list alternatives with ',', e.g. ${key}=a,b`,
      );
    }
    const values = part.slice(eq + 1).split(",").map((s) => s.trim());
    // `sq=1,,4` (or a trailing comma) read "filter value sq= is empty", as if the whole term
    // were: name the term and the empty alternative in it
    if (values.length > 1 && values.some((v) => v === "")) {
      throw new RangeError(
        `filter term "${part}" has an empty value between its commas; list values as ` +
          `${key}=a,b (no empty one)`,
      );
    }
    for (const v of values) {
      const problem = filterValueProblem(key, v);
      if (problem) throw new RangeError(`filter value ${key}=${v} ${problem}`);
    }
    // an integer as ids write it: `sk=064` is sk 64 (it passed the check above, and
    // sameFilter reads it so), not a value no case id holds
    out.set(key, AXIS_BOUNDS[key] ? values.map((v) => String(Number(v))) : values);
  }
  if (out.size === 0) {
    throw new RangeError(
      `filter "${text}" holds no key=value term (it would select every case); a filter looks ` +
        "like preset=tiny;dtype=f16,f32",
    );
  }
  return out;
}

/**
 * Whether two `--filter` texts are the same selection written two ways: the same keys, each
 * with the same values in any order and spelling (`dtype=f32;preset=tiny` is
 * `preset=tiny;dtype=f32`, `causal=true` is `causal=1`, `sk=064` is `sk=64`). Two nulls (no
 * filter) are the same; a text that does not parse is the same only as itself.
 *
 * @example
 * ```ts
 * import { sameFilter } from "./case_id.ts";
 * sameFilter("dtype=f32,f16;preset=tiny", "preset=tiny;dtype=f16,f32"); // true
 * sameFilter("causal=true", "causal=1"); // true
 * sameFilter("preset=tiny", null); // false
 * ```
 */
export function sameFilter(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  let fa: CaseFilter, fb: CaseFilter;
  try {
    [fa, fb] = [parseFilter(a), parseFilter(b)];
  } catch {
    return false;
  }
  const canonical = (key: string, v: string) =>
    typeof CASE_DEFAULTS[key as keyof CaseParams] === "boolean"
      ? (v === "true" ? "1" : v === "false" ? "0" : v)
      : AXIS_BOUNDS[key]
      ? String(Number(v))
      : v;
  const values = (f: CaseFilter, key: string) =>
    [...new Set((f.get(key) ?? []).map((v) => canonical(key, v)))].sort().join(",");
  return fa.size === fb.size &&
    [...fa.keys()].every((k) => fb.has(k) && values(fa, k) === values(fb, k));
}

/**
 * Check only the shape of a filter, not its keys and values against this checkout's axes
 * (for a filter another revision of the harness will read): at least one term, each
 * `key=value` with a key and no empty value, no key twice. Throws a RangeError naming the
 * term, as {@link parseFilter} does.
 *
 * @example
 * ```ts
 * import { checkFilterSyntax } from "./case_id.ts";
 * checkFilterSyntax("future_axis=1;dtype=f16,f32"); // fine; "preset" and "dtype=" throw
 * ```
 */
export function checkFilterSyntax(text: string): void {
  const keys = new Set<string>();
  for (const part of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new RangeError(`filter term "${part}" must look like key=value`);
    const key = part.slice(0, eq).trim();
    if (keys.has(key)) {
      throw new RangeError(
        `filter key "${key}" appears twice; list alternatives with ',', e.g. ${key}=a,b`,
      );
    }
    keys.add(key);
    if (part.slice(eq + 1).split(",").some((v) => v.trim() === "")) {
      throw new RangeError(`filter term "${part}" has an empty value; give ${key}=v1,v2`);
    }
  }
  if (keys.size === 0) {
    throw new RangeError(
      `filter "${text}" holds no key=value term (it would select every case); a filter looks ` +
        "like preset=tiny;dtype=f16,f32",
    );
  }
}

/** An example value of an axis whose default is the empty string. */
const EMPTY_DEFAULT_EXAMPLE: Readonly<Record<string, string>> = { backend: "wgsl-absorbed-gemm" };

/** Why `value` can never match axis `key`, or null when it can. */
function filterValueProblem(key: string, value: string): string | null {
  if (value === "") {
    // an axis whose default is empty (backend: the path's bundled one) gets a real example
    const example = show(CASE_DEFAULTS[key as keyof CaseParams]) || EMPTY_DEFAULT_EXAMPLE[key];
    return `is empty; give a value of ${key}${example ? ` (e.g. ${key}=${example})` : ""}`;
  }
  const choices = AXIS_ENUMS[key];
  if (choices) {
    return choices.includes(value)
      ? null
      : `is not a value of axis ${key}; valid: ${choices.join(", ")}`;
  }
  const bounds = AXIS_BOUNDS[key];
  if (bounds) {
    const n = Number(value);
    return /^[0-9]+$/.test(value) && n >= bounds.min && n <= bounds.max
      ? null
      : `is not a value of axis ${key}; valid: integers from ${bounds.min} to ${bounds.max}`;
  }
  const problem = idValueProblem(value);
  return problem ? `is not a possible ${key}: it ${problem}` : null;
}

/**
 * Whether a case's params pass a filter (booleans match 1/0 or true/false).
 *
 * @example
 * ```ts
 * import { matchesFilter, parseFilter } from "./case_id.ts";
 * import { CASE_DEFAULTS } from "./types.ts";
 * matchesFilter(CASE_DEFAULTS, parseFilter("causal=1")); // true
 * ```
 */
export function matchesFilter(p: CaseParams, filter: CaseFilter): boolean {
  for (const [key, values] of filter) {
    const v = p[key as keyof CaseParams];
    const s = show(v);
    const alt = typeof v === "boolean" ? String(v) : s;
    if (!values.includes(s) && !values.includes(alt)) return false;
  }
  return true;
}

/**
 * 32-bit FNV-1a of a string (used for deterministic sharding).
 *
 * @example
 * ```ts
 * import { fnv1a32 } from "./case_id.ts";
 * fnv1a32(""); // 2166136261
 * ```
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Deterministic shard membership: case `id` belongs to shard `index` of `count`
 * when fnv1a32(id) mod count = index (1-based `index` as in `--shard 2/4`).
 *
 * @example
 * ```ts
 * import { inShard } from "./case_id.ts";
 * inShard("preset=tiny", { index: 1, count: 1 }); // true
 * ```
 */
export function inShard(id: string, shard: { index: number; count: number }): boolean {
  return fnv1a32(id) % shard.count === shard.index - 1;
}
