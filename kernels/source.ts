/**
 * Loading WGSL kernel sources and specializing them: storage dtype, compile-time
 * sizes, then an optional mutation (fault injection). Every substitution keeps
 * the line count, so compiler diagnostics point at the lines of the .wgsl file.
 *
 * Conventions inside a kernel file:
 * - the first line is `// @enable-f16`; it becomes `enable f16;` for dtype f16;
 * - `alias store_t = f32; // @dtype` becomes `alias store_t = f16; // @dtype`;
 * - `const NAME: u32 = 123u; // @param ...` gets the value of `params.NAME`;
 * - for dtype f16, a line ending in `// @f32` is commented out and a line
 *   `<indent>// @f16: <code>` becomes `<indent><code>` (dtype-specific declarations,
 *   e.g. f16 data read as packed u32 words and widened with unpack2x16float);
 * - with `subgroups` (a plan whose variant uses the WebGPU `subgroups` feature), the
 *   line `// @enable-subgroups` becomes `enable subgroups;` (with the
 *   `subgroup_uniformity` diagnostic off: WGSL's uniformity analysis is per workgroup,
 *   and a loop whose bounds are uniform within a subgroup only would otherwise be
 *   refused), a line ending in `// @nosg` is commented out and a line
 *   `<indent>// @sg: <code>` becomes `<indent><code>`. Without it the file is its
 *   subgroup-free variant, as written.
 * - with a named switch `name` on (`switches`, e.g. `tex` for expanded.wgsl's K/V read
 *   through textures), a line containing `// @noname` is commented out and a line
 *   `<indent>// @name: <code>` becomes `<indent><code>` (applied after the dtype's lines,
 *   so a line may end in `// @notex // @f32`, or be `// @f16: <code> // @notex`).
 * - a line `// @include part.wgsl` (or `// @include part.wgsl params: A, B` when the part
 *   declares the `// @param` constants A and B) appends the text of `part.wgsl`, a file of
 *   the same folder, after the file's own lines, behind a marker line
 *   `// @included part.wgsl from file.wgsl:LINE` (gpu/shader.ts maps a diagnostic below it
 *   to the part's own line). WGSL's module-scope declarations are order-independent, so
 *   the part may come last, and every line of the including file keeps its number. The
 *   expansion happens where the text is read ({@link readKernelFile}): specialization, the
 *   planted faults and the tools' variants see the whole module, and the markers above
 *   apply inside a part as well. A part may include parts of its own; a part that cannot be
 *   read, an include cycle, a part included twice, a part with a `// @enable-` line, and a
 *   directive whose `params:` differ from the `// @param`s the part declares are errors
 *   naming the files ({@link expandIncludes}). A part is compiled only as part of the
 *   kernels that include it (kernels/compile_check.ts).
 *
 * @module
 */
import type { Dtype } from "../adapter/types.ts";
import { INCLUDED_MARKER, includedMarker } from "../gpu/shader.ts";
import { readSourceText } from "../gpu/text_source.ts";
import { unrollLoops } from "./unroll.ts";

/** A transformation of a kernel source before compilation (fault injection). */
export type SourceMutation = (fileName: string, source: string) => string;

const rawCache = new Map<string, Promise<string>>();
const expandedCache = new Map<string, Promise<string>>();

/** The raw text of a kernel file of this folder, includes not expanded (cached). */
function readRawKernelFile(fileName: string): Promise<string> {
  let p = rawCache.get(fileName);
  if (!p) {
    // through the text source: the file system under Deno, the bundle's text in a page
    p = readSourceText(new URL(`./${fileName}`, import.meta.url));
    rawCache.set(fileName, p);
    p.catch(() => rawCache.delete(fileName));
  }
  return p;
}

/**
 * Read a kernel file of this folder, its `// @include` lines expanded (cached).
 *
 * @example
 * ```ts
 * import { readKernelFile } from "./source.ts";
 * const text = await readKernelFile("rope.wgsl");
 * ```
 */
export function readKernelFile(fileName: string): Promise<string> {
  let p = expandedCache.get(fileName);
  if (!p) {
    p = readRawKernelFile(fileName).then((raw) => expandIncludes(fileName, raw, readRawKernelFile));
    expandedCache.set(fileName, p);
    p.catch(() => expandedCache.delete(fileName));
  }
  return p;
}

/** One `// @include` line of a kernel source. */
export interface IncludeDirective {
  /** The part's file name (same folder). */
  readonly file: string;
  /** The `// @param` constants the directive says the part declares. */
  readonly params: readonly string[];
  /** 1-based line of the directive in the including file. */
  readonly line: number;
}

/** The strict form of a directive; any other line starting `// @include` is an error. */
const INCLUDE_LINE =
  /^\/\/ @include ([\w-]+\.wgsl)(?: params: ([A-Z_][A-Z0-9_]*(?:, [A-Z_][A-Z0-9_]*)*))?$/;

/**
 * The `// @include` lines of a kernel source, in order. Throws, naming `fileName` and the
 * line, for a line that starts `// @include` but is not a directive.
 *
 * @example
 * ```ts
 * import { includeDirectives } from "./source.ts";
 * includeDirectives("a.wgsl", "// @include w.wgsl params: WRPT\nfn f() {}\n");
 * // [{ file: "w.wgsl", params: ["WRPT"], line: 1 }]
 * ```
 */
export function includeDirectives(fileName: string, source: string): IncludeDirective[] {
  const out: IncludeDirective[] = [];
  source.split("\n").forEach((text, i) => {
    // "//@include" or "//   @include" was no directive and no error: the part silently left out
    if (!/^\s*\/\/\s*@include\b/.test(text)) return;
    const m = INCLUDE_LINE.exec(text.trimEnd());
    if (!m) {
      // the line as it is (JSON-quoted): leading blanks, the usual cause, stay visible
      throw new Error(
        `${fileName}:${i + 1}: ${JSON.stringify(text.trimEnd())} is not an include: write ` +
          "`// @include part.wgsl` at the start of a line (no blanks before it), or " +
          "`// @include part.wgsl params: A, B` for a part that declares // @param constants",
      );
    }
    out.push({ file: m[1], params: m[2] ? m[2].split(", ") : [], line: i + 1 });
  });
  return out;
}

/**
 * Expand the `// @include` lines of a kernel source (see the module doc): each part's text,
 * itself expanded, is appended after the source's own lines behind its marker line, so the
 * source's lines keep their numbers. `read` gives a part's raw text by file name. Throws,
 * naming the files, for a part `read` cannot give, an include cycle, a part included twice,
 * a part with a `// @enable-` line, and a directive whose `params:` are not exactly the
 * `// @param` constants the (expanded) part declares. A source that already holds an
 * included part (a line of {@link INCLUDED_MARKER}: the loaded text of a kernel, as
 * `loadKernel` gives it or tools/kernel_variants.ts writes it) comes back as it is: its
 * parts are there, and appending them again would declare everything twice.
 *
 * @example
 * ```ts
 * import { expandIncludes } from "./source.ts";
 * const parts: Record<string, string> = { "p.wgsl": "fn two() -> u32 { return 2u; }\n" };
 * const text = await expandIncludes(
 *   "k.wgsl",
 *   "// @include p.wgsl\nconst X = two();\n",
 *   (name) => Promise.resolve(parts[name]),
 * );
 * text.split("\n")[2]; // "// @included p.wgsl from k.wgsl:1"
 * ```
 */
export function expandIncludes(
  fileName: string,
  source: string,
  read: (fileName: string) => Promise<string>,
): Promise<string> {
  if (source.split("\n").some((l) => INCLUDED_MARKER.test(l))) return Promise.resolve(source);
  return expandFrom([fileName], source, read, new Map());
}

async function expandFrom(
  stack: readonly string[],
  source: string,
  read: (fileName: string) => Promise<string>,
  seen: Map<string, string>,
): Promise<string> {
  const fileName = stack[stack.length - 1];
  let out = source;
  for (const d of includeDirectives(fileName, source)) {
    const at = `${fileName}:${d.line}`;
    if (stack.includes(d.file)) {
      throw new Error(`${at}: include cycle: ${[...stack, d.file].join(" -> ")}`);
    }
    const first = seen.get(d.file);
    if (first !== undefined) {
      throw new Error(
        `${at}: ${d.file} is included a second time (first by ${first}): its declarations ` +
          "would stand twice in the module; include it once",
      );
    }
    seen.set(d.file, at);
    let raw: string;
    try {
      raw = await read(d.file);
    } catch (e) {
      throw new Error(
        `${at}: cannot read the included file ${d.file}: ${e instanceof Error ? e.message : e}`,
      );
    }
    if (typeof raw !== "string") throw new Error(`${at}: no included file ${d.file}`);
    const enable = /^\/\/ @enable-\S*$/m.exec(raw);
    if (enable) {
      throw new Error(
        `${d.file}, included by ${at}, has a line "${enable[0]}": enable directives must ` +
          `open the module, so only the including kernel (${stack[0]}) may have them`,
      );
    }
    const part = await expandFrom([...stack, d.file], raw, read, seen);
    const declared = declaredParams(part);
    const unnamed = declared.filter((p) => !d.params.includes(p));
    const absent = d.params.filter((p) => !declared.includes(p));
    if (unnamed.length > 0 || absent.length > 0) {
      const want = declared.length > 0
        ? `// @include ${d.file} params: ${declared.join(", ")}`
        : `// @include ${d.file}`;
      throw new Error(
        `${at}: ${d.file} ` +
          (unnamed.length > 0
            ? `declares // @param ${unnamed.join(", ")}, which the include does not name`
            : `does not declare // @param ${absent.join(", ")}, which the include names`) +
          `: its includer's launcher passes the part's parameters too, so the include line ` +
          `lists them exactly (write \`${want}\`)`,
      );
    }
    out += `${out.endsWith("\n") ? "" : "\n"}${includedMarker(d.file, fileName, d.line)}\n${part}`;
  }
  return out;
}

/**
 * The parts a kernel file includes, directly or through other parts, in the order their
 * texts are appended.
 *
 * @example
 * ```ts
 * import { kernelIncludes } from "./source.ts";
 * await kernelIncludes("absorb_q.wgsl"); // ["absorb_q_io.wgsl", "w_kv_b_rows.wgsl"]
 * ```
 */
export async function kernelIncludes(fileName: string): Promise<string[]> {
  const lines = (await readKernelFile(fileName)).split("\n");
  return lines.flatMap((l) => INCLUDED_MARKER.exec(l)?.[1] ?? []);
}

/** Options of {@link specializeSource}. */
export interface SpecializeOptions {
  /** Storage dtype. */
  dtype: Dtype;
  /** Values of the `// @param` constants; every one named must exist in the source. */
  params?: Record<string, number>;
  /** The subgroup variant (`// @enable-subgroups`, `// @sg:` and `// @nosg` lines). */
  subgroups?: boolean;
  /** Named line switches that are on (`// @name:` and `// @noname` lines), e.g. `["tex"]`. */
  switches?: readonly string[];
  /** The source's file name, which a refused parameter or switch names. */
  fileName?: string;
}

/**
 * Marker names a switch may not take: the dtype's, the subgroup variant's, the unroller's.
 * A `// @f32: ...` line is a comment, not a switch: {@link specializeSource} refuses to switch
 * it on.
 *
 * @example
 * ```ts
 * import { RESERVED_SWITCHES } from "./source.ts";
 * RESERVED_SWITCHES.has("f32"); // true
 * RESERVED_SWITCHES.has("tex"); // false
 * ```
 */
export const RESERVED_SWITCHES: ReadonlySet<string> = new Set([
  "f16",
  "f32",
  "sg",
  "dtype",
  "param",
  "enable",
  "unroll",
]);

/**
 * Specialize a kernel source for a dtype and compile-time sizes. Throws when a
 * named parameter is not declared in the source.
 *
 * @example
 * ```ts
 * import { specializeSource } from "./source.ts";
 * const src = "// @enable-f16\nalias store_t = f32; // @dtype\nconst WG: u32 = 32u; // @param\n";
 * specializeSource(src, { dtype: "f16", params: { WG: 16 } }).split("\n")[0]; // "enable f16;"
 * specializeSource("let n = 1u; // @nosg\n// @sg: let n = subgroupAdd(1u);", {
 *   dtype: "f32",
 *   subgroups: true,
 * }); // "// let n = 1u; // @nosg\nlet n = subgroupAdd(1u);"
 * specializeSource("let x = k[i]; // @notex\n// @tex: let x = textureLoad(k, c, 0);", {
 *   dtype: "f32",
 *   switches: ["tex"],
 * }); // "// let x = k[i]; // @notex\nlet x = textureLoad(k, c, 0);"
 * ```
 */
export function specializeSource(source: string, options: SpecializeOptions): string {
  let out = source;
  if (options.dtype === "f16") {
    out = out.replace(/^\/\/ @enable-f16$/m, "enable f16;");
    out = out.replace(/alias store_t = f32; \/\/ @dtype/g, "alias store_t = f16; // @dtype");
    out = out.replace(/^(.*\/\/ @f32)$/gm, "// $1");
    out = out.replace(/^(\s*)\/\/ @f16: (.*)$/gm, "$1$2");
  }
  if (options.subgroups) {
    out = out.replace(
      /^\/\/ @enable-subgroups$/m,
      "enable subgroups; diagnostic(off, subgroup_uniformity);",
    );
    out = out.replace(/^(.*\/\/ @nosg)$/gm, "// $1");
    out = out.replace(/^(\s*)\/\/ @sg: (.*)$/gm, "$1$2");
  }
  const kernel = options.fileName === undefined ? "" : `${options.fileName}: `;
  for (const name of options.switches ?? []) {
    if (!/^[a-z][a-z0-9]*$/.test(name) || RESERVED_SWITCHES.has(name)) {
      throw new RangeError(
        `${kernel}kernel switch "${name}" must be lower-case letters and digits, not one of ` +
          [...RESERVED_SWITCHES].join(", "),
      );
    }
    out = out.replace(new RegExp(`^(.*// @no${name}\\b.*)$`, "gm"), "// $1");
    out = out.replace(new RegExp(`^(\\s*)// @${name}: (.*)$`, "gm"), "$1$2");
  }
  for (const [name, value] of Object.entries(options.params ?? {})) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(
        `${kernel}kernel parameter ${name} = ${value} must be a non-negative integer`,
      );
    }
    const re = new RegExp(`^(const ${name}: u32 = )\\d+(u; // @param)`, "m");
    if (!re.test(out)) throw new Error(`${kernel}${undeclaredParam(name, out)}`);
    out = out.replace(re, `$1${value}$2`);
  }
  return out;
}

/** Options of {@link loadKernel}. */
export interface LoadKernelOptions extends SpecializeOptions {
  /** Rewrite the specialized source (fault injection). */
  mutate?: SourceMutation;
  /**
   * Every `// @param` the file declares must be in `params` (the launch kit's kernels: a
   * parameter's value comes from the plan or from the constant the grid divides by, never
   * from the default written in the file).
   */
  allParams?: boolean;
  /**
   * Unroll the file's `// @unroll` loops (kernels/unroll.ts), after `mutate`: a planted
   * fault edits the loops as written, and its copies carry the edit.
   */
  unroll?: boolean;
}

/**
 * Why `params` names `name` and `source` has no `// @param` line for it: a line that marks it
 * but is not of the one form the harness replaces (`const N = 4u; // @param`, an i32, a
 * default without `u`: it said only "is not declared with // @param", of a marked line), or
 * no line at all, with the parameters the source declares.
 */
function undeclaredParam(name: string, source: string): string {
  const form = `\`const ${name}: u32 = <digits>u; // @param\``;
  const marked = new RegExp(`^\\s*const\\s+${name}\\b.*//\\s*@param.*$`, "m").exec(source);
  if (marked !== null) {
    return `kernel parameter ${name}: its line \`${marked[0].trim()}\` is not of the form ` +
      `${form} (a u32 constant whose value is a literal with the u suffix, then the marker), ` +
      "so the harness cannot set it";
  }
  const declared = declaredParams(source);
  return `kernel parameter ${name} is not declared with // @param (declare it as ${form}; ` +
    `the source's parameters: ${declared.length === 0 ? "none" : declared.join(", ")})`;
}

/**
 * The names of the `// @param` constants a kernel source declares, in order.
 *
 * @example
 * ```ts
 * import { declaredParams } from "./source.ts";
 * declaredParams("const WG: u32 = 64u; // @param\nconst X: u32 = 1u;\n"); // ["WG"]
 * ```
 */
export function declaredParams(source: string): string[] {
  return [...source.matchAll(/^const (\w+): u32 = \d+u; \/\/ @param/gm)].map((m) => m[1]);
}

/**
 * Read, specialize and (optionally) mutate a kernel file; returns the source and
 * its file name, ready for `PipelineCache.get`.
 *
 * @example
 * ```ts
 * import { loadKernel } from "./source.ts";
 * const src = await loadKernel("rope.wgsl", { dtype: "f32" });
 * src.fileName; // "rope.wgsl"
 * ```
 */
export async function loadKernel(
  fileName: string,
  options: LoadKernelOptions,
): Promise<{ fileName: string; code: string }> {
  const raw = await readKernelFile(fileName);
  if (options.allParams) {
    const missing = declaredParams(raw).filter((n) => options.params?.[n] === undefined);
    if (missing.length > 0) {
      throw new Error(
        `kernel ${fileName} declares // @param ${missing.join(", ")}, which its launcher did ` +
          "not pass: a harness kernel takes every parameter from the launch kit (the plan, or " +
          "the constant its grid divides by), never the default written in the file",
      );
    }
  }
  const code = specializeSource(raw, { ...options, fileName });
  const mutated = options.mutate ? options.mutate(fileName, code) : code;
  return { fileName, code: options.unroll ? unrollLoops(mutated) : mutated };
}
