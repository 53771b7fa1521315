/**
 * Compile WGSL files on the device and collect diagnostics, for kernel authors
 * (`mla-harness compile`): bundled kernels are specialized for each dtype first;
 * other files are compiled as they are.
 *
 * @module
 */
import type { Dtype } from "../adapter/types.ts";
import type { GpuContext } from "../gpu/device.ts";
import { ShaderCompileError } from "../gpu/errors.ts";
import { compileShader } from "../gpu/shader.ts";
import { specializeSource } from "./source.ts";

/** The outcome of compiling one file for one dtype. */
export interface CompileCheck {
  /** File as given (or the bundled kernel's name). */
  readonly file: string;
  /** dtype it was specialized for. */
  readonly dtype: Dtype;
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
  return names.sort();
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
    const raw = await Deno.readTextFile(bundled ? new URL(`./${file}`, import.meta.url) : file);
    for (const dtype of dtypes) {
      const code = specializeSource(raw, { dtype });
      try {
        await compileShader(ctx.device, { fileName: file, code });
        out.push({ file, dtype, ok: true, message: "ok" });
      } catch (e) {
        if (!(e instanceof ShaderCompileError)) throw e;
        out.push({ file, dtype, ok: false, message: e.message });
      }
    }
  }
  return out;
}
