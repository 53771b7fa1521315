/**
 * Which kernel source files a backend runs, so a case's baseline entry carries the hash of
 * exactly the sources it depends on and a numeric drift can be attributed to the file that
 * changed: the adapter's list of each bundled launcher's files plus the shared RoPE pass
 * (attention cases); a backend not listed here (a new kernel family), or a case of another mode, depends,
 * conservatively, on every kernel file.
 *
 * @module
 */
import { BUNDLED_KERNEL_FILES } from "../adapter/backends.ts";
import { sha256Hex16 } from "../util/hash.ts";

/**
 * The kernel files of each backend (see the module doc): the adapter's
 * `BUNDLED_KERNEL_FILES` plus the RoPE pass every attention run compiles.
 *
 * @example
 * ```ts
 * import { BACKEND_KERNEL_FILES } from "./kernel_files.ts";
 * BACKEND_KERNEL_FILES["wgsl-expanded"]; // ["cache_texture.wgsl", "expand_kv.wgsl", "expanded.wgsl", "pack_q.wgsl", "rope.wgsl"]
 * ```
 */
export const BACKEND_KERNEL_FILES: Readonly<Record<string, readonly string[]>> = Object.freeze(
  Object.fromEntries(
    Object.entries(BUNDLED_KERNEL_FILES).map(([id, files]) => [id, [...files, "rope.wgsl"].sort()]),
  ),
);

/**
 * The kernel files a backend depends on, restricted to those the fingerprint hashed
 * (every hashed file for an unknown backend; none for no backend).
 *
 * @example
 * ```ts
 * import { kernelFilesFor } from "./kernel_files.ts";
 * kernelFilesFor("wgsl-expanded", { "expanded.wgsl": "a", "absorbed.wgsl": "b" }); // ["expanded.wgsl"]
 * kernelFilesFor(null, { "expanded.wgsl": "a" }); // []
 * ```
 */
export function kernelFilesFor(
  backend: string | null,
  kernelHashes: Readonly<Record<string, string>>,
): string[] {
  if (backend === null) return [];
  const known = BACKEND_KERNEL_FILES[backend];
  const all = Object.keys(kernelHashes).sort();
  return known ? all.filter((f) => known.includes(f)) : all;
}

/**
 * Digest of the named files' hashes (`name:hash` lines), or null for no files.
 *
 * @example
 * ```ts
 * import { kernelDigest } from "./kernel_files.ts";
 * await kernelDigest(["a.wgsl"], { "a.wgsl": "0123" }); // 16 hex characters
 * ```
 */
export async function kernelDigest(
  files: readonly string[],
  kernelHashes: Readonly<Record<string, string>>,
): Promise<string | null> {
  if (files.length === 0) return null;
  const text = files.map((f) => `${f}:${kernelHashes[f] ?? "absent"}`).join("\n");
  return await sha256Hex16(text);
}
