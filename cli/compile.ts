/**
 * `compile`: compile WGSL on the device and print readable diagnostics.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { GpuContext } from "../gpu/device.ts";
import { compileCheck } from "../kernels/compile_check.ts";
import { EXIT } from "./errors.ts";

/**
 * Build the `compile` command.
 *
 * @example
 * ```ts ignore
 * import { compileCommand } from "./compile.ts";
 * const cmd = compileCommand();
 * ```
 */
export function compileCommand() {
  return new Command("compile")
    .description(
      "Compile WGSL files on the default adapter and print every error as file:line:col with " +
        "the source line. Without files: every bundled kernel, in f32 and (when the device has " +
        "shader-f16) f16. Exit 1 when any file fails to compile, 3 without an adapter.",
    )
    .argument("[files...]", "WGSL files (default: the bundled kernels)")
    .addOption(new Option("--dtype <dtype>", "only this dtype").choices(["f32", "f16"] as const))
    .action(async (files, opts) => {
      const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16"] });
      try {
        const checks = await compileCheck(ctx, {
          files: files.length ? files : undefined,
          dtypes: opts.dtype ? [opts.dtype] : undefined,
        });
        for (const c of checks) {
          console.log(
            c.ok ? `ok    ${c.file} (${c.dtype})` : `error ${c.file} (${c.dtype})\n${c.message}`,
          );
        }
        if (checks.some((c) => !c.ok)) Deno.exitCode = EXIT.failure;
      } finally {
        ctx.destroy();
      }
    });
}
