/**
 * JSON text whose non-finite numbers are spelled out: JSON has no NaN or Infinity, and
 * `JSON.stringify` writes null for them (a NaN in one runtime read `"maxUlp": null`, a
 * history step from 0 `"change": null`).
 *
 * @module
 */

/**
 * `JSON.stringify(value, ..., indent)` with every non-finite number as a string ("NaN",
 * "Infinity", "-Infinity"), as run.json gives a worst element's values.
 *
 * @example
 * ```ts
 * import { spelledJson } from "./spelled_json.ts";
 * spelledJson({ maxUlp: Infinity, worstValues: [NaN, 0.5] });
 * // '{"maxUlp":"Infinity","worstValues":["NaN",0.5]}'
 * ```
 */
export function spelledJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_key, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
    indent,
  );
}
