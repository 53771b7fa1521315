/**
 * `compile`: compile WGSL on the device and print readable diagnostics.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { GpuContext, HARNESS_FEATURES } from "../gpu/device.ts";
import {
  barrierCheck,
  bundledKernels,
  checkSourceText,
  compileCheck,
  notTextProblem,
  sourceVariants,
  workgroupStorageProblem,
} from "../kernels/compile_check.ts";
import type { Dtype } from "../adapter/types.ts";
import {
  chromiumOption,
  runtimeOption,
  startChromiumStoppable,
  useChromiumStoppable,
} from "./runtime_options.ts";
import { CliError, EXIT } from "./errors.ts";

/** What is wrong with a WGSL file argument, or null when it is a readable text file. */
async function sourceFileProblem(path: string): Promise<string | null> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) return "is a folder; give WGSL files (e.g. <folder>/*.wgsl)";
    // a pipe (`compile <(...)`) is fine: only opening it for reading is checked (reading
    // would consume it)
    if (!info.isFile) {
      (await Deno.open(path, { read: true })).close();
      return null;
    }
    return notTextProblem(await Deno.readFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "no such file; give a WGSL file";
    const m = e instanceof Error ? e.message : String(e);
    return `cannot be read (${m.replace(/ \(os error.*$/, "")})`;
  }
}

/**
 * Check every file argument before the device starts: a missing file, a folder, an
 * unreadable file, an empty one (or blanks only), one that is not text (binary), or one
 * whose `// @include` parts cannot be read from its folder (or include each other in a
 * cycle, or twice) is a CliError (exit 2) naming the file and what is wrong.
 *
 * @example
 * ```ts ignore
 * import { checkSourceFiles } from "./compile.ts";
 * await checkSourceFiles(["kernels/absorbed.wgsl"]); // fine
 * ```
 */
export async function checkSourceFiles(files: readonly string[]): Promise<void> {
  for (const file of files) {
    const problem = await sourceFileProblem(file);
    if (problem !== null) throw new CliError(`compile: ${file}: ${problem}`, EXIT.badInput);
    try {
      await checkSourceText(file, { bundled: false });
    } catch (e) {
      throw new CliError(
        `compile: ${file}: ${e instanceof Error ? e.message : String(e)}`,
        EXIT.badInput,
      );
    }
  }
}

/** The files `compile` checks: those given, or every bundled kernel. */
async function compiledNames(files: readonly string[]): Promise<readonly string[]> {
  return files.length ? files : await bundledKernels();
}

/**
 * Run the static barrier check (kernels/workgroup_hazards.ts) over each file's
 * specializations and print its findings (`hazard file:line (labels): ...`); a source the
 * check cannot parse gets a `note` line. Returns whether anything was found.
 *
 * @example
 * ```ts ignore
 * import { printBarrierCheck } from "./compile.ts";
 * const found = await printBarrierCheck(["expanded_fa2.wgsl"], { bundled: true, dtypes: ["f32"] });
 * ```
 */
export async function printBarrierCheck(
  files: readonly string[],
  options: { bundled: boolean; dtypes: readonly Dtype[] },
): Promise<boolean> {
  let found = false;
  for (const file of files) {
    const raw = await checkSourceText(file, { bundled: options.bundled });
    const { findings, skipped } = barrierCheck(file, raw, options.dtypes);
    if (skipped !== null) console.log(`note  ${file}: barrier check skipped (${skipped})`);
    for (const f of findings) {
      found = true;
      const kind = f.kind === "hazard" ? "hazard" : "barrier";
      console.log(`${kind} ${f.location} (${f.labels.join("; ")}): ${f.message}`);
    }
  }
  return found;
}

/**
 * Refuse `--dtype f16` on a device without shader-f16 (a CliError, exit 3): every source
 * would fail on its `enable f16;` line, which read as each bundled kernel being broken (exit
 * 1). Without --dtype the f16 specializations are only compiled where the device has it.
 *
 * @example
 * ```ts
 * import { checkF16Asked } from "./compile.ts";
 * const gl = { adapter: { description: "llvmpipe" }, features: [] };
 * checkF16Asked("f32", gl, "elsewhere"); // fine; "f16" throws, naming the adapter
 * ```
 */
export function checkF16Asked(
  dtype: Dtype | undefined,
  caps: {
    readonly adapter: { readonly description: string };
    readonly features: readonly string[];
  },
  where: string,
): void {
  if (dtype !== "f16" || caps.features.includes("shader-f16")) return;
  throw new CliError(
    `compile --dtype f16: adapter "${caps.adapter.description}" has no shader-f16, so no f16 ` +
      "source compiles on it (each would fail on its `enable f16;` line, whatever the kernel); " +
      `compile f16 ${where}, or give --dtype f32 here`,
    EXIT.infra,
  );
}

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
        "shader-f16) f16. A file's `// @include part.wgsl` lines read the parts from its own " +
        "folder. Exit 1 when any file fails to compile, 2 when a file is missing, a folder, " +
        "unreadable, empty (or blanks only) or not text, or a part it includes cannot be " +
        "read, 3 without an adapter or with --dtype f16 on a device without shader-f16, 130 " +
        "when interrupted by Ctrl-C (SIGINT), 143 by SIGTERM (said on stderr). Then a static barrier check of every file, in every " +
        "specialization (dtypes, subgroup lines, line switches; no device needed): two " +
        "accesses to workgroup memory by different invocations with no workgroupBarrier() " +
        "between (`hazard` lines), and a barrier some invocations may not reach (`barrier` " +
        "lines); either is exit 1. An access written `// @no-race: <why>` on its line is " +
        "exempt from conflicts within one trip of its loop (docs/backends.md).",
    )
    .argument("[files...]", "WGSL files (default: the bundled kernels)")
    .addOption(new Option("--dtype <dtype>", "only this dtype").choices(["f32", "f16"] as const))
    .option("--no-barrier-check", "skip the static barrier check")
    .addOption(runtimeOption())
    .addOption(chromiumOption())
    .action(async (files, opts) => {
      await checkSourceFiles(files);
      // after either runtime's compile: every dtype's specializations, no device needed
      const barrierStep = async () => {
        if (!opts.barrierCheck) return;
        const found = await printBarrierCheck(await compiledNames(files), {
          bundled: files.length === 0,
          dtypes: opts.dtype ? [opts.dtype] : ["f32", "f16"],
        });
        if (found) Deno.exitCode = EXIT.failure;
      };
      if (opts.runtime === "chromium") {
        // Tint in the page compiles what naga would: the same specialized sources
        const gpu = await startChromiumStoppable(
          { chromium: opts.chromium },
          "nothing was compiled",
        );
        // a Ctrl-C after start-up (the compile takes seconds) is said, as run and bench say it
        await useChromiumStoppable(
          gpu,
          "while Chromium compiled: not every result was printed",
          async () => {
            checkF16Asked(
              opts.dtype,
              gpu.caps,
              "with --runtime deno (lavapipe or a GPU has shader-f16)",
            );
            const dtypes: Dtype[] = opts.dtype
              ? [opts.dtype]
              : gpu.caps.features.includes("shader-f16")
              ? ["f32", "f16"]
              : ["f32"];
            const bundled = files.length === 0;
            const names = bundled ? await bundledKernels() : files;
            const sources: { fileName: string; code: string; label: string }[] = [];
            const subgroups = gpu.caps.features.includes("subgroups");
            for (const file of names) {
              const raw = await checkSourceText(file, { bundled });
              for (const v of sourceVariants(raw, dtypes, { subgroups })) {
                sources.push({ fileName: file, code: v.code, label: v.label });
              }
            }
            console.log(
              `runtime: chromium (${gpu.identity.version}, ${gpu.caps.adapter.description})`,
            );
            const results = await gpu.compile(
              sources.map(({ fileName, code }) => ({ fileName, code })),
            );
            // a user's file over the device's workgroup memory, as in Deno's (compileCheck)
            const limit = gpu.caps.limits.maxComputeWorkgroupStorageSize;
            const checked = results.map((r, i) => {
              const over = r.ok && !bundled
                ? workgroupStorageProblem(sources[i].code, limit)
                : null;
              return over === null ? r : { ok: false, message: `${sources[i].fileName}: ${over}` };
            });
            checked.forEach((r, i) => {
              const s = sources[i];
              console.log(
                r.ok
                  ? `ok    ${s.fileName} (${s.label})`
                  : `error ${s.fileName} (${s.label})\n${r.message}`,
              );
            });
            if (checked.some((r) => !r.ok)) Deno.exitCode = EXIT.failure;
          },
        );
        await barrierStep();
        return;
      }
      const ctx = await GpuContext.create({ optionalFeatures: HARNESS_FEATURES });
      try {
        checkF16Asked(
          opts.dtype,
          ctx.caps,
          "with Mesa's Vulkan driver (apt-get install mesa-vulkan-drivers: lavapipe has shader-f16)",
        );
        const checks = await compileCheck(ctx, {
          files: files.length ? files : undefined,
          dtypes: opts.dtype ? [opts.dtype] : undefined,
        });
        for (const c of checks) {
          console.log(
            c.ok ? `ok    ${c.file} (${c.label})` : `error ${c.file} (${c.label})\n${c.message}`,
          );
        }
        if (checks.some((c) => !c.ok)) Deno.exitCode = EXIT.failure;
      } finally {
        ctx.destroy();
      }
      await barrierStep();
    });
}
