/**
 * Where gpu/ and kernels/ read their WGSL text from: the file system under Deno (the
 * default), or text a bundle carries when the same code runs in a browser page
 * (browser/page_main.ts installs it). The one place these folders read files.
 *
 * @module
 */

/** Reads the text of a source file (a `.wgsl` next to the module that asks). */
export type TextSource = (url: URL) => Promise<string>;

/** Deno: read the file. */
const denoTextSource: TextSource = (url) => Deno.readTextFile(url);

let current: TextSource = denoTextSource;

/**
 * Replace the text source (a browser page: the WGSL its bundle carries). `null` restores
 * the file system.
 *
 * @example
 * ```ts
 * import { readSourceText, setTextSource } from "./text_source.ts";
 * setTextSource(async (url) => url.pathname.endsWith("x.wgsl") ? "// x" : "");
 * await readSourceText(new URL("file:///any/x.wgsl")); // "// x"
 * setTextSource(null);
 * ```
 */
export function setTextSource(source: TextSource | null): void {
  current = source ?? denoTextSource;
}

/**
 * Read a source file's text through the current {@link TextSource}.
 *
 * @example
 * ```ts
 * import { readSourceText } from "./text_source.ts";
 * const wgsl = await readSourceText(new URL("./loop_budget.wgsl", import.meta.url));
 * ```
 */
export function readSourceText(url: URL): Promise<string> {
  return current(url);
}

/**
 * A text source over texts keyed by file name (the last path segment of the URL), as a
 * bundle carries them; a name it lacks is an error naming the names it has.
 *
 * @example
 * ```ts
 * import { bundledTextSource } from "./text_source.ts";
 * const src = bundledTextSource({ "rope.wgsl": "// rope" });
 * await src(new URL("file:///x/kernels/rope.wgsl")); // "// rope"
 * ```
 */
export function bundledTextSource(texts: Readonly<Record<string, string>>): TextSource {
  return (url) => {
    const name = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
    const text = Object.hasOwn(texts, name) ? texts[name] : undefined;
    if (text === undefined) {
      return Promise.reject(
        new Error(
          `source ${name} is not in the bundle (it carries ${Object.keys(texts).join(", ")})`,
        ),
      );
    }
    return Promise.resolve(text);
  };
}
