/**
 * The WebGPU backend names wgpu reads from DENO_WEBGPU_BACKEND, and the one name the harness
 * records for each (a device key, a caps file, the GL-fallback rules compare that name).
 *
 * @module
 */

/**
 * The backend names wgpu reads from DENO_WEBGPU_BACKEND (case-insensitive, comma-separated;
 * wgpu-types `Backends::from_comma_list`): a name outside these is skipped with a log line
 * nobody sees, and a value of none of them asks wgpu for no backend at all.
 */
export const WGPU_BACKEND_NAMES: readonly string[] = [
  "vulkan",
  "vk",
  "gl",
  "gles",
  "opengl",
  "metal",
  "mtl",
  "dx12",
  "d3d12",
  "webgpu",
];

/** wgpu's aliases, each to the name the harness records. */
const CANONICAL: Readonly<Record<string, string>> = {
  vk: "vulkan",
  gles: "gl",
  opengl: "gl",
  mtl: "metal",
  d3d12: "dx12",
};

/**
 * A backend value (one name or a comma-separated list) with each name lower-cased and wgpu's
 * aliases replaced by one name (`gles`, `opengl` → `gl`; `vk` → `vulkan`; `mtl` → `metal`;
 * `d3d12` → `dx12`), repeats and empty names dropped. A name wgpu does not read is kept, lower
 * case (the harness says it is skipped).
 *
 * @example
 * ```ts
 * import { canonicalBackend } from "./wgpu_backends.ts";
 * canonicalBackend("GLES"); // "gl"
 * canonicalBackend("vk, vulkan,gl"); // "vulkan,gl"
 * ```
 */
export function canonicalBackend(value: string): string {
  const names = value.split(",").map((n) => n.trim().toLowerCase()).filter((n) => n !== "")
    .map((n) => CANONICAL[n] ?? n);
  return [...new Set(names)].join(",");
}
