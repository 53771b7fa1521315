/**
 * Building the maintainer tools' C code with the machine's C compiler, and whether there is
 * one: the shims (`tools/glvnd_no_key_destructor.c` for `gl_exit_abort_repro.ts`,
 * `tools/spirv_shim/icd_shim.c` for `spirv_audit.ts`) as shared libraries, and
 * `tools/spirv_shim/pipeline_stats.c` (also `spirv_audit.ts`) as a program.
 *
 * @module
 */

/**
 * Build the C file `source` into the shared library `path` with `cc` (`-shared -fPIC -O2
 * ... -ldl`). Returns the path, or an error that starts with `what` and says what is missing
 * (no compiler: install gcc) or what the compiler printed.
 *
 * @example
 * ```ts ignore
 * import { buildSharedLibrary } from "./c_shim.ts";
 * const built = await buildSharedLibrary("tools/x.c", "/tmp/x.so", "--x");
 * if ("error" in built) console.error(built.error);
 * ```
 */
export function buildSharedLibrary(
  source: string,
  path: string,
  what: string,
  cc = "cc",
): Promise<{ path: string } | { error: string }> {
  return compileC(["-shared", "-fPIC"], source, path, what, cc);
}

/**
 * Build the C file `source` into the program `path` with `cc` (`-O2 ... -ldl`), as
 * {@link buildSharedLibrary} builds a library: the path, or an error naming what is missing.
 *
 * @example
 * ```ts ignore
 * import { buildProgram } from "./c_shim.ts";
 * const built = await buildProgram("tools/spirv_shim/pipeline_stats.c", "/tmp/ps", "stats");
 * ```
 */
export function buildProgram(
  source: string,
  path: string,
  what: string,
  cc = "cc",
): Promise<{ path: string } | { error: string }> {
  return compileC([], source, path, what, cc);
}

async function compileC(
  flags: string[],
  source: string,
  path: string,
  what: string,
  cc: string,
): Promise<{ path: string } | { error: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cc, {
      args: [...flags, "-O2", "-o", path, source, "-ldl"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return {
        error: `${what} needs a C compiler: "${cc}" is not on PATH (apt-get install gcc)`,
      };
    }
    throw e;
  }
  if (!out.success) {
    return {
      error: `${what}: ${cc} could not build ${source} (exit ${out.code}):\n` +
        new TextDecoder().decode(out.stderr).trim(),
    };
  }
  return { path };
}

/**
 * Whether a C compiler `cc` runs here (tests of the shims are ignored, named, without one).
 *
 * @example
 * ```ts ignore
 * import { hasCompiler } from "./c_shim.ts";
 * if (!(await hasCompiler())) console.log("no cc");
 * ```
 */
export async function hasCompiler(cc = "cc"): Promise<boolean> {
  try {
    return (await new Deno.Command(cc, { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}
