/**
 * Hand-assembled SPIR-V for the tests of tools/spirv.ts and tools/radv_null.ts, and why
 * RADV's null hardware cannot compile here.
 *
 * @module
 */
import { hasCompiler } from "../tools/c_shim.ts";
import { radvManifest } from "../tools/radv_null.ts";

/**
 * Why Mesa's RADV cannot compile modules on null hardware here (not installed, or no C
 * compiler for tools/spirv_shim/pipeline_stats.c), or null.
 *
 * @example
 * ```ts
 * import { radvSkip } from "./helpers_spirv.ts";
 * const skip = await radvSkip(); // null where mesa-vulkan-drivers and cc are installed
 * ```
 */
export async function radvSkip(): Promise<string | null> {
  if (radvManifest() === null) return "Mesa's RADV (mesa-vulkan-drivers) is not installed";
  if (!(await hasCompiler())) return "no C compiler (cc) to build pipeline_stats.c";
  return null;
}

/**
 * A SPIR-V module from instructions given as [opcode, ...operands], after a header of the
 * given version (default 1.6; a module a Vulkan 1.1 driver compiles says 1.3).
 *
 * @example
 * ```ts
 * import { spirvModule } from "./helpers_spirv.ts";
 * spirvModule([[17, 1]]).byteLength; // 28: the 5-word header and OpCapability Shader
 * ```
 */
export function spirvModule(instructions: number[][], version = 0x00010600): Uint8Array {
  const words = [0x07230203, version, 0, 100, 0];
  for (const [op, ...operands] of instructions) {
    words.push(((operands.length + 1) << 16) | op, ...operands);
  }
  return new Uint8Array(new Uint32Array(words).buffer);
}

/** "main" as a SPIR-V literal string (NUL-terminated, padded to whole words). */
export const SPIRV_MAIN = [0x6e69616d, 0];
