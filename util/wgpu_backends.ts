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
 * `d3d12` → `dx12`), repeats and empty names dropped. A name wgpu does not read is dropped
 * beside one it reads (wgpu skips it), and kept, lower case, where none is read (the harness
 * then says wgpu was asked for no backend).
 *
 * @example
 * ```ts
 * import { canonicalBackend } from "./wgpu_backends.ts";
 * canonicalBackend("GLES"); // "gl"
 * canonicalBackend("vk, vulkan,gl"); // "vulkan,gl"
 * canonicalBackend("vulkan,foo"); // "vulkan"
 * canonicalBackend(" Default"); // "default" (wgpu's own choice: no name it reads)
 * ```
 */
export function canonicalBackend(value: string): string {
  const names = [
    ...new Set(
      value.split(",").map((n) => n.trim().toLowerCase()).filter((n) => n !== "")
        .map((n) => CANONICAL[n] ?? n),
    ),
  ];
  // wgpu skips a name it does not read: beside one it reads, it is not part of the backend
  // (vulkan,foo runs Vulkan); alone, it is kept, so that the harness can say it reads none
  const read = names.filter((n) => WGPU_BACKEND_NAMES.includes(n));
  return (read.length > 0 ? read : names).join(",");
}
