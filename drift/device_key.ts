/**
 * The device key that names a baseline file: `baselines/<device-key>.json`.
 *
 * The key identifies a device *class* from facts that do not depend on the runtime
 * version or the driver version, so that an upgrade compares one device across runtimes
 * and a driver update is attributed as a change rather than orphaning the baseline:
 *
 *     slug(description without parenthesized parts) - slug(vendor) [- device id] - backend
 *
 * e.g. lavapipe, `llvmpipe (LLVM 15.0.6, 256 bits)`, vendor 65541, device id 0, on Vulkan:
 * `llvmpipe-65541-vulkan`. Left out, and kept in the fingerprint for attribution:
 * - the LLVM/driver version in parentheses;
 * - the fallback flag: Deno 2.8.0's wgpu reports lavapipe as a regular adapter and 2.9.6 as
 *   a fallback one, so the flag describes the runtime, not the device;
 * - a device id of 0 or empty (software adapters report 0).
 *
 * The backend is the one wgpu was asked for (`DENO_WEBGPU_BACKEND`, else what the harness
 * chooses: gpu/backend_choice.ts), because the same silicon under Vulkan and GL has
 * different features and decisions. A run in a browser (`--runtime chromium`) ends in the
 * browser's name instead: another WebGPU implementation is another device class.
 *
 * @module
 */
import { adapterIdentity } from "../report/adapter_info.ts";
import type { Fingerprint } from "../results/types.ts";
import { canonicalBackend } from "../util/wgpu_backends.ts";
import { backendChoice } from "../gpu/backend_choice.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { remoteFingerprint, type RemoteIdentity } from "../gpu/runtime.ts";

/**
 * Lower-case ASCII words joined by `-` (empty input: `unknown`).
 *
 * @example
 * ```ts
 * import { slug } from "./device_key.ts";
 * slug("NVIDIA GeForce RTX 4090"); // "nvidia-geforce-rtx-4090"
 * ```
 */
export function slug(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return s === "" ? "unknown" : s;
}

/**
 * The backend wgpu is asked for: `DENO_WEBGPU_BACKEND` when set, else what the harness
 * chooses on this machine (`vulkan` when a Vulkan driver is installed, `gl` on Linux
 * without one, `default` elsewhere; gpu/backend_choice.ts).
 *
 * @example
 * ```ts
 * import { currentBackend } from "./device_key.ts";
 * currentBackend(); // "vulkan" with lavapipe installed or under DENO_WEBGPU_BACKEND=vulkan
 * ```
 */
export function currentBackend(): string {
  return slug(backendChoice().backend);
}

/**
 * The backend a run's kernels ran on, as its device key and baseline name it: the
 * browser's name when a browser's WebGPU ran them (run --runtime chromium, e.g.
 * `swiftshader-device-google-0xc0de-chromium`), else the backend its fingerprint recorded,
 * else `options.backend`, else this process's ({@link currentBackend}; reports written
 * before the fingerprint recorded it).
 *
 * @example
 * ```ts
 * import { runBackend } from "./device_key.ts";
 * runBackend({ backend: "gl" }, { backend: "vulkan" }); // "gl"
 * runBackend({ backend: "gles" }); // "gl"
 * ```
 */
export function runBackend(
  fingerprint: Pick<Fingerprint, "browser" | "backend">,
  options: { backend?: string } = {},
): string {
  if (fingerprint.browser) return slug(fingerprint.browser.name);
  // one name per backend, also for a fingerprint recorded before aliases were one (gles:
  // its baselines and history are gl's)
  const b = fingerprint.backend ?? options.backend ?? currentBackend();
  return slug(canonicalBackend(b) || b);
}

/**
 * The device key of a fingerprint's adapter (see the module doc); `no-adapter-<backend>`
 * when the fingerprint has none.
 *
 * @example
 * ```ts
 * import { deviceKey } from "./device_key.ts";
 * import type { Fingerprint } from "../results/types.ts";
 * declare const fp: Fingerprint;
 * deviceKey(fp, { backend: "vulkan" }); // "llvmpipe-65541-vulkan" on lavapipe
 * ```
 */
export function deviceKey(
  fingerprint: Pick<Fingerprint, "adapter" | "browser" | "backend">,
  options: { backend?: string } = {},
): string {
  const backend = runBackend(fingerprint, options);
  const id = adapterIdentity(fingerprint.adapter);
  if (id.description === null && id.vendor === null) return `no-adapter-${backend}`;
  const description = slug((id.description ?? "").replace(/\([^)]*\)/g, " "));
  const parts = [description, slug(id.vendor ?? "unknown")];
  const device = (id.device ?? "").trim();
  if (device !== "" && !/^(0x)?0+$/i.test(device)) parts.push(slug(device));
  parts.push(backend);
  return parts.join("-");
}

/**
 * The device key of a device this process holds, as a run on it would be keyed: its caps
 * under this process's backend ({@link currentBackend}), or, for a browser's device (`--runtime
 * chromium`), the browser's name (`devices --json`'s and bench report's `deviceKey`).
 *
 * @example
 * ```ts
 * import { liveDeviceKey } from "./device_key.ts";
 * const caps = {
 *   adapter: { vendor: "65541", architecture: "", device: "0",
 *     description: "llvmpipe (LLVM 15.0.6, 256 bits)", isFallbackAdapter: true },
 *   features: [], limits: {},
 * };
 * liveDeviceKey(caps).startsWith("llvmpipe-65541-"); // true
 * ```
 */
export function liveDeviceKey(caps: DeviceCaps, browser?: RemoteIdentity): string {
  if (browser === undefined) return deviceKey({ adapter: caps }, { backend: currentBackend() });
  // the facts a run on it records (runner/run_matrix.ts): the same key
  return deviceKey(remoteFingerprint(caps, browser));
}
