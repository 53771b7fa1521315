/**
 * The harness's WebGPU context for a tool in tools/: `GpuContext.create`, with the two ways
 * it refuses to start said in one line naming the tool, not an uncaught error with a stack
 * trace: an invalid `MLA_HARNESS_*` variable (a `ConfigError`, exit 2, as the harness's
 * commands) and no adapter (a `NoAdapterError`, exit 3, as the probes).
 *
 * @module
 */
import { ConfigError } from "../adapter/errors.ts";
import { type ContextOptions, GpuContext } from "../gpu/device.ts";
import { NoAdapterError } from "../gpu/errors.ts";

/** Exit status of a tool whose environment names an invalid setting. */
export const TOOL_CONFIG_EXIT = 2;
/** Exit status of a tool that found no WebGPU adapter. */
export const TOOL_NO_ADAPTER_EXIT = 3;

/**
 * The exit status and the line for an error of `GpuContext.create`, or null when it is
 * neither a `ConfigError` nor a `NoAdapterError` (a fault to show with its stack).
 *
 * @example
 * ```ts
 * import { NoAdapterError } from "../gpu/errors.ts";
 * import { gpuStartFailure } from "./tool_gpu.ts";
 * gpuStartFailure("x", new NoAdapterError("none", "fix")); // { code: 3, line: "x: no WebGPU adapter: none; fix" }
 * ```
 */
export function gpuStartFailure(
  tool: string,
  error: unknown,
): { code: number; line: string } | null {
  if (error instanceof ConfigError) {
    return { code: TOOL_CONFIG_EXIT, line: `${tool}: ${error.message}` };
  }
  if (error instanceof NoAdapterError) {
    return { code: TOOL_NO_ADAPTER_EXIT, line: `${tool}: ${error.message}` };
  }
  return null;
}

/**
 * `GpuContext.create(options)`; on an invalid `MLA_HARNESS_*` variable or no adapter,
 * prints `<tool>: <message>` to stderr and exits ({@link gpuStartFailure}).
 *
 * @example
 * ```ts ignore
 * import { HARNESS_FEATURES } from "../gpu/device.ts";
 * import { toolGpuContext } from "./tool_gpu.ts";
 * const ctx = await toolGpuContext("derive_tolerances", { optionalFeatures: HARNESS_FEATURES });
 * ```
 */
export async function toolGpuContext(
  tool: string,
  options: ContextOptions = {},
): Promise<GpuContext> {
  try {
    return await GpuContext.create(options);
  } catch (e) {
    const failure = gpuStartFailure(tool, e);
    if (failure === null) throw e;
    console.error(failure.line);
    Deno.exit(failure.code);
  }
}
