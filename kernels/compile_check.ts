/**
 * Compile WGSL files on the device and collect diagnostics, for kernel authors
 * (`mla-harness compile`): every file is specialized for each dtype first, and a
 * kernel with a subgroup variant also with its subgroup lines where the device has the
 * `subgroups` feature, and a kernel with named line switches once with each.
 *
 * @module
 */
import type { Dtype } from "../adapter/types.ts";
import type { GpuContext } from "../gpu/device.ts";
import { ShaderCompileError } from "../gpu/errors.ts";
import { compileShader } from "../gpu/shader.ts";
import {
  expandIncludes,
  includeDirectives,
  readKernelFile,
  RESERVED_SWITCHES,
  specializeSource,
} from "./source.ts";
import { sourceLocation, workgroupHazards } from "./workgroup_hazards.ts";
import { workgroupStorageOver } from "./workgroup_storage.ts";

/** One specialization of a kernel source: a dtype, with or without its subgroup lines. */
export interface SourceVariant {
  /** dtype it is specialized for. */
  readonly dtype: Dtype;
  /** Whether its `// @sg:` lines are in (kernels/source.ts). */
  readonly subgroups: boolean;
  /** How a listing names it: "f32", or "f32, subgroups". */
  readonly label: string;
  /** The specialized source. */
  readonly code: string;
}

/**
 * The specializations of one kernel source to compile: one per dtype, and for a source
 * with a subgroup variant (a `// @enable-subgroups` line) one more per dtype when the
 * device has the `subgroups` feature; each of these once more per named line switch
 * (`// @tex:` lines: labelled "f32, tex").
 *
 * @example
 * ```ts
 * import { sourceVariants } from "./compile_check.ts";
 * const raw = "// @enable-f16\n// @enable-subgroups\nalias store_t = f32; // @dtype\n";
 * sourceVariants(raw, ["f32"], { subgroups: true }).map((v) => v.label); // ["f32", "f32, subgroups"]
 * sourceVariants(raw, ["f32"], { subgroups: false }).length; // 1
 * ```
 */
export function sourceVariants(
  raw: string,
  dtypes: readonly Dtype[],
  options: { subgroups: boolean },
): SourceVariant[] {
  const withSg = options.subgroups && /^\/\/ @enable-subgroups$/m.test(raw);
  const switches = lineSwitches(raw);
  const out: SourceVariant[] = [];
  for (const dtype of dtypes) {
    for (const subgroups of withSg ? [false, true] : [false]) {
      const base = subgroups ? `${dtype}, subgroups` : dtype;
      for (const on of [null, ...switches]) {
        out.push({
          dtype,
          subgroups,
          label: on === null ? base : `${base}, ${on}`,
          code: specializeSource(raw, { dtype, subgroups, switches: on === null ? [] : [on] }),
        });
      }
    }
  }
  return out;
}

/**
 * The named line switches a kernel source has (`// @name:` lines other than the dtype's,
 * the subgroup variant's and the other reserved names, which no switch may take;
 * kernels/source.ts `RESERVED_SWITCHES`), in order of first appearance.
 *
 * @example
 * ```ts
 * import { lineSwitches } from "./compile_check.ts";
 * lineSwitches("// @f16: let a = 1h;\n  // @tex: let t = 1u;\n"); // ["tex"]
 * lineSwitches("// @f32: a comment, not a switch\n"); // []
 * ```
 */
export function lineSwitches(raw: string): string[] {
  const names = new Set<string>();
  for (const m of raw.matchAll(/^\s*\/\/ @([a-z][a-z0-9]*): /gm)) {
    // (specializeSource refuses to switch a reserved name on: a comment such as `// @f32: ..`)
    if (!RESERVED_SWITCHES.has(m[1])) names.add(m[1]);
  }
  return [...names];
}

/** The outcome of compiling one file for one dtype (with or without subgroups). */
export interface CompileCheck {
  /** File as given (or the bundled kernel's name). */
  readonly file: string;
  /** dtype it was specialized for. */
  readonly dtype: Dtype;
  /** How the listing names the specialization ({@link SourceVariant.label}). */
  readonly label: string;
  /** Whether it compiled. */
  readonly ok: boolean;
  /** The readable error (file:line:col, source line, caret) when it did not. */
  readonly message: string;
}

/**
 * Names of the bundled kernel sources.
 *
 * @example
 * ```ts
 * import { bundledKernels } from "./compile_check.ts";
 * (await bundledKernels()).includes("absorbed.wgsl"); // true
 * ```
 */
export async function bundledKernels(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(new URL("./", import.meta.url))) {
    if (e.isFile && e.name.endsWith(".wgsl")) names.push(e.name);
  }
  // A part another kernel file includes (`// @include`, kernels/source.ts) is no module of
  // its own: it compiles, and its diagnostics name it, inside each kernel that includes it.
  const parts = new Set<string>();
  for (const name of names) {
    const raw = await Deno.readTextFile(new URL(`./${name}`, import.meta.url));
    for (const d of includeDirectives(name, raw)) parts.add(d.file);
  }
  return names.filter((n) => !parts.has(n)).sort();
}

/**
 * A reader of `// @include` parts (kernels/source.ts `expandIncludes`) from folders, the
 * first that has the part winning; a part none has is the last folder's NotFound error.
 *
 * @example
 * ```ts
 * import { partReader } from "./compile_check.ts";
 * const read = partReader([new URL("./", import.meta.url)]);
 * (await read("max_key.wgsl")).includes("fn max_key"); // true
 * ```
 */
export function partReader(folders: readonly URL[]): (name: string) => Promise<string> {
  return async (name) => {
    for (const [i, folder] of folders.entries()) {
      try {
        // a part is checked as a file given to compile is: an empty or binary one compiled
        // (or failed with raw control bytes on the terminal) without a word
        const bytes = await Deno.readFile(new URL(name, folder));
        const problem = notTextProblem(bytes);
        if (problem !== null) {
          throw new Error(`the part ${name} ${problem.replace(" with the kernel in it", "")}`);
        }
        return new TextDecoder().decode(bytes);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound) || i === folders.length - 1) throw e;
      }
    }
    throw new Deno.errors.NotFound(`${name}: no folder to read it from`);
  };
}

/**
 * Why `bytes` are not WGSL source text (invalid UTF-8, or a control character WGSL never
 * has: a binary file), or not a kernel at all (empty, or blanks only: a truncated file
 * would otherwise compile as an empty module), or null. `compile` asks it of each file it
 * is given and of each part those include.
 *
 * @example
 * ```ts
 * import { notTextProblem } from "./compile_check.ts";
 * notTextProblem(new TextEncoder().encode("fn f() {}")); // null
 * notTextProblem(new Uint8Array([0, 1, 2])); // "is not text (control byte 0x00 at byte 0): ..."
 * ```
 */
export function notTextProblem(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "is not text (not valid UTF-8): a binary file? give a WGSL source file";
  }
  if (text.trim() === "") {
    return `${
      bytes.length === 0 ? "is empty (0 bytes)" : `holds only blanks (${bytes.length} bytes)`
    }: a truncated file? give a WGSL source file with the kernel in it`;
  }
  // WGSL's blank characters are tab, LF, VT, FF, CR (and Unicode ones); other C0 controls
  // and DEL mark a binary file
  const at = bytes.findIndex((b) => (b < 0x20 && (b < 0x09 || b > 0x0d)) || b === 0x7f);
  if (at < 0) return null;
  return `is not text (control byte 0x${
    bytes[at].toString(16).padStart(2, "0")
  } at byte ${at}): a binary file? give a WGSL source file`;
}

/**
 * The folder of a file path (relative to the working directory), as a URL.
 *
 * @example
 * ```ts
 * import { fileFolder } from "./compile_check.ts";
 * fileFolder("/tmp/k/a.wgsl").href; // "file:///tmp/k/"
 * ```
 */
export function fileFolder(path: string): URL {
  return new URL(".", new URL(path, `file://${Deno.cwd()}/`));
}

/**
 * The text of a file to check, its `// @include` lines expanded: a bundled kernel by name
 * (kernels/source.ts `readKernelFile`), any other file by path, its parts read from its
 * own folder.
 *
 * @example
 * ```ts
 * import { checkSourceText } from "./compile_check.ts";
 * const text = await checkSourceText("absorb_q.wgsl", { bundled: true });
 * text.includes("// @included w_kv_b_rows.wgsl from absorb_q.wgsl:"); // true
 * ```
 */
export async function checkSourceText(
  file: string,
  options: { bundled: boolean },
): Promise<string> {
  if (options.bundled) return await readKernelFile(file);
  return await expandIncludes(file, await Deno.readTextFile(file), partReader([fileFolder(file)]));
}

/** Options of {@link compileCheck}. */
export interface CompileCheckOptions {
  /** Files to compile (default: every bundled kernel). */
  files?: readonly string[];
  /** dtypes to specialize for (default f32, and f16 when the device has shader-f16). */
  dtypes?: readonly Dtype[];
}

/**
 * Compile files and report each one's diagnostics; never throws for a compile error.
 *
 * @example
 * ```ts ignore
 * import { compileCheck } from "./compile_check.ts";
 * const checks = await compileCheck(ctx, { files: ["broken.wgsl"] });
 * ```
 */
export async function compileCheck(
  ctx: GpuContext,
  options: CompileCheckOptions = {},
): Promise<CompileCheck[]> {
  const dtypes = options.dtypes ?? (ctx.hasFeature("shader-f16") ? ["f32", "f16"] : ["f32"]);
  const bundled = options.files === undefined;
  const files = options.files ?? await bundledKernels();
  const out: CompileCheck[] = [];
  for (const file of files) {
    const raw = await checkSourceText(file, { bundled });
    for (const v of sourceVariants(raw, dtypes, { subgroups: ctx.hasFeature("subgroups") })) {
      const { dtype, label } = v;
      try {
        await compileShader(ctx.device, { fileName: file, code: v.code });
        // a user's file over the device's workgroup memory compiled "ok" (Deno's wgpu checks
        // it nowhere and lavapipe runs it), though a GPU refuses its pipeline; the bundled
        // kernels' sizes are the plan's params, not their defaults, so they are not judged here
        const over = bundled
          ? null
          : workgroupStorageProblem(v.code, ctx.caps.limits.maxComputeWorkgroupStorageSize);
        out.push(
          over === null
            ? { file, dtype, label, ok: true, message: "ok" }
            : { file, dtype, label, ok: false, message: `${file}: ${over}` },
        );
      } catch (e) {
        if (!(e instanceof ShaderCompileError)) throw e;
        out.push({ file, dtype, label, ok: false, message: e.message });
      }
    }
  }
  return out;
}

/**
 * What is wrong with the workgroup memory of a source's compute entry points against a
 * device's `maxComputeWorkgroupStorageSize` (kernels/workgroup_storage.ts sizes it as WebGPU
 * counts it: {@link workgroupStorageOver}), or null when each fits or cannot be sized.
 *
 * @example
 * ```ts
 * import { workgroupStorageProblem } from "./compile_check.ts";
 * const code = "var<workgroup> s: array<f32, 16384>;\n@compute @workgroup_size(64)\n" +
 *   "fn main() { s[0] = 1.0; }";
 * workgroupStorageProblem(code, 32768)?.startsWith("entry point main declares 65536 bytes"); // true
 * workgroupStorageProblem(code, 65536); // null
 * ```
 */
export function workgroupStorageProblem(code: string, limit: number | undefined): string | null {
  if (limit === undefined) return null;
  const problems: string[] = [];
  for (const m of code.matchAll(/@compute\b[^{;]*?\bfn\s+([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const over = workgroupStorageOver(code, m[1], limit);
    if (over !== null) problems.push(over);
  }
  return problems.length === 0 ? null : problems.join("; ");
}

/** A finding of the barrier check over a file's specializations ({@link barrierCheck}). */
export interface BarrierFinding {
  /** Where the later access (or the barrier) is: `file.wgsl:LINE`, or an included part's. */
  readonly location: string;
  /** The specializations it was found in ("f32", "f16, subgroups"). */
  readonly labels: string[];
  /** "hazard" or "divergent barrier". */
  readonly kind: string;
  /** What is wrong. */
  readonly message: string;
}

/**
 * The static barrier check (kernels/workgroup_hazards.ts) over every specialization of a
 * kernel source: every dtype given, with and without its subgroup lines, and each named line
 * switch; no device needed. A finding shared by several specializations is listed once, with
 * their labels. `skipped` says why the check could not read a specialization (source
 * outside the subset it parses; each such one named, the others still checked), or is null.
 *
 * @example
 * ```ts
 * import { barrierCheck } from "./compile_check.ts";
 * const raw = "var<workgroup> s: array<f32, 4>;\n@compute @workgroup_size(4)\n" +
 *   "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; let x = s[0]; }";
 * barrierCheck("k.wgsl", raw, ["f32"]).findings[0].location; // "k.wgsl:3"
 * ```
 */
export function barrierCheck(
  file: string,
  raw: string,
  dtypes: readonly Dtype[],
): { findings: BarrierFinding[]; skipped: string | null } {
  const byMessage = new Map<string, BarrierFinding>();
  // a specialization the check cannot read is named; the others are still checked
  const skipped: string[] = [];
  for (const v of sourceVariants(raw, dtypes, { subgroups: true })) {
    let found;
    try {
      found = workgroupHazards(v.code, { fileName: file });
    } catch (e) {
      skipped.push(`${v.label}: ${e instanceof Error ? e.message : e}`);
      continue;
    }
    for (const h of found) {
      const key = `${h.kind}|${h.message}`;
      const seen = byMessage.get(key);
      if (seen) {
        // one specialization may repeat a finding (an unrolled copy per element): named once
        if (!seen.labels.includes(v.label)) seen.labels.push(v.label);
      } else {
        byMessage.set(key, {
          location: sourceLocation(v.code, file, h.second.line),
          labels: [v.label],
          kind: h.kind,
          message: h.message,
        });
      }
    }
  }
  return { findings: [...byMessage.values()], skipped: skipped.length ? skipped.join("; ") : null };
}
