/**
 * Where an error was thrown, for a message that must name the user's own line: the first
 * frame of its stack, as ` (at <file>:<line>:<col>)`.
 *
 * @module
 */

/**
 * ` (at <location>)` of the first frame of `e`'s stack that names a file (a built-in's,
 * `<anonymous>`, only where none does), or "" for a value that is not an Error or has no
 * frame.
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
  const frames = (e.stack ?? "").split("\n").map((l) => l.trim()).filter((l) =>
    l.startsWith("at ")
  );
  // A built-in's frame (`at Array.sort (<anonymous>)`: a frozen array sorted in place)
  // names no file: the first frame that does is the line to read.
  const at = frames.find((l) => !/\((?:<anonymous>|native)\)$/.test(l)) ?? frames[0];
  return at === undefined ? "" : ` (${at.replace(/^at .*?\((.*)\)$/, "at $1")})`;
}
