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
 *
 * @module
 */
import type { Dtype } from "../adapter/types.ts";
import { readSourceText } from "../gpu/text_source.ts";
import { unrollLoops } from "./unroll.ts";

/** A transformation of a kernel source before compilation (fault injection). */
export type SourceMutation = (fileName: string, source: string) => string;

const rawCache = new Map<string, Promise<string>>();

/**
 * Read a kernel file of this folder (cached).
 *
 * @example
 * ```ts
 * import { readKernelFile } from "./source.ts";
 * const text = await readKernelFile("rope.wgsl");
 * ```
 */
export function readKernelFile(fileName: string): Promise<string> {
  let p = rawCache.get(fileName);
  if (!p) {
    // through the text source: the file system under Deno, the bundle's text in a page
    p = readSourceText(new URL(`./${fileName}`, import.meta.url));
    rawCache.set(fileName, p);
    p.catch(() => rawCache.delete(fileName));
  }
  return p;
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
}

/** Marker names a switch may not take: the dtype's, the subgroup variant's, the unroller's. */
const RESERVED_SWITCHES = new Set(["f16", "f32", "sg", "dtype", "param", "enable", "unroll"]);

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
  for (const name of options.switches ?? []) {
    if (!/^[a-z][a-z0-9]*$/.test(name) || RESERVED_SWITCHES.has(name)) {
      throw new RangeError(
        `kernel switch "${name}" must be lower-case letters and digits, not one of ` +
          [...RESERVED_SWITCHES].join(", "),
      );
    }
    out = out.replace(new RegExp(`^(.*// @no${name}\\b.*)$`, "gm"), "// $1");
    out = out.replace(new RegExp(`^(\\s*)// @${name}: (.*)$`, "gm"), "$1$2");
  }
  for (const [name, value] of Object.entries(options.params ?? {})) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`kernel parameter ${name} = ${value} must be a non-negative integer`);
    }
    const re = new RegExp(`^(const ${name}: u32 = )\\d+(u; // @param)`, "m");
    if (!re.test(out)) throw new Error(`kernel parameter ${name} is not declared with // @param`);
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
  const code = specializeSource(raw, options);
  const mutated = options.mutate ? options.mutate(fileName, code) : code;
  return { fileName, code: options.unroll ? unrollLoops(mutated) : mutated };
}
