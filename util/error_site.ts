/**
 * Where an error was thrown, for a message that must name the user's own line: the first
 * frame of its stack, as ` (at <file>:<line>:<col>)`.
 *
 * @module
 */

/**
 * ` (at <location>)` of the first frame of `e`'s stack, or "" for a value that is not an
 * Error or has no frame.
 *
 * @example
 * ```ts
 * import { throwSite } from "./error_site.ts";
 * throwSite("not an error"); // ""
 * throwSite(new Error("x")).startsWith(" (at "); // true
 * ```
 */
export function throwSite(e: unknown): string {
  if (!(e instanceof Error)) return "";
  const at = e.stack?.split("\n").map((l) => l.trim()).find((l) => l.startsWith("at "));
  return at === undefined ? "" : ` (${at.replace(/^at .*?\((.*)\)$/, "at $1")})`;
}
