/**
 * The runtime that ran a run's (or a benchmark's) kernels, as the reports name it: Deno's own
 * WebGPU, or a browser's with the harness on Deno (`--runtime chromium`). One home for the
 * wording of report.html, the drift reports (HTML and Markdown) and the benchmark report.
 *
 * @module
 */

/** What a runtime label names. */
export interface RuntimeFacts {
  /** The Deno version the harness ran on, e.g. "2.9.6". */
  readonly deno: string;
  /** The V8 version, named after Deno's where the browser is absent and it is given. */
  readonly v8?: string;
  /**
   * The browser whose WebGPU ran the kernels, absent for Deno's own: its name and version
   * line (a fingerprint's `browser`), or both in one label, e.g. "chromium
   * HeadlessChrome/156.0.8078.114" (a drift side's or a benchmark's `browser`).
   */
  readonly browser?: string | { readonly name: string; readonly version: string };
}

/**
 * The label of the runtime that ran the kernels. As a fact of its own (the default):
 * `deno (Deno 2.9.6)` (with `, V8 <v8>` when given), `chromium (HeadlessChrome/156...;
 * harness on Deno 2.9.6)` for a browser given by name and version, `chromium
 * HeadlessChrome/156... (harness on Deno 2.9.6)` for one given as one label. `inline`: as a
 * part of a comma-separated line, `Deno 2.9.6` or `chromium HeadlessChrome/156..., harness on
 * Deno 2.9.6`.
 *
 * @example
 * ```ts
 * import { runtimeLabel } from "./runtime_label.ts";
 * runtimeLabel({ deno: "2.9.6" }); // "deno (Deno 2.9.6)"
 * const browser = { name: "chromium", version: "HeadlessChrome/156" };
 * runtimeLabel({ deno: "2.9.6", browser }); // "chromium (HeadlessChrome/156; harness on Deno 2.9.6)"
 * runtimeLabel({ deno: "2.9.6", browser }, { inline: true }); // "chromium HeadlessChrome/156, harness..."
 * ```
 */
export function runtimeLabel(runtime: RuntimeFacts, options: { inline?: boolean } = {}): string {
  const { deno, v8, browser } = runtime;
  if (options.inline) {
    if (!browser) return `Deno ${deno}`;
    const name = typeof browser === "string" ? browser : `${browser.name} ${browser.version}`;
    return `${name}, harness on Deno ${deno}`;
  }
  if (!browser) return `deno (Deno ${deno}${v8 === undefined ? "" : `, V8 ${v8}`})`;
  if (typeof browser === "string") return `${browser} (harness on Deno ${deno})`;
  return `${browser.name} (${browser.version}; harness on Deno ${deno})`;
}
