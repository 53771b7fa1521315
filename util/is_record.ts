/**
 * The one test for "a JSON-like object with string keys": not null, not an array.
 *
 * @module
 */

/**
 * Whether `v` is a non-null, non-array object (a parsed JSON object, say).
 *
 * @example
 * ```ts
 * import { isRecord } from "./is_record.ts";
 * isRecord({ a: 1 }); // true
 * isRecord([1]); // false
 * isRecord(null); // false
 * ```
 */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
