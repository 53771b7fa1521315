/**
 * The device key that names a baseline file: `baselines/<device-key>.json`.
 *
 * The key identifies a device *class*, so that a driver or compiler update is attributed
 * as a change rather than making the baseline vanish:
 *
 *     slug(description without parenthesized parts) - slug(vendor) [- "fallback"] - backend
 *
 * e.g. lavapipe, `llvmpipe (LLVM 15.0.6, 256 bits)`, vendor 65541, a fallback adapter, on
 * Vulkan: `llvmpipe-65541-fallback-vulkan`. The LLVM/driver version in parentheses is left
 * out (it stays in the fingerprint and `compare` attributes changes to it). The backend is
 * what the run asked wgpu for: `DENO_WEBGPU_BACKEND` (unset: `default`), because the same
 * silicon under Vulkan and GL has different features and decisions.
 *
 * @module
 */
import { adapterIdentity } from "../report/adapter_info.ts";
import type { Fingerprint } from "../runner/types.ts";

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
 * The backend wgpu was asked for: `DENO_WEBGPU_BACKEND` when set (and readable), else
 * `default`.
 *
 * @example
 * ```ts
 * import { currentBackend } from "./device_key.ts";
 * currentBackend(); // "vulkan" under DENO_WEBGPU_BACKEND=vulkan
 * ```
 */
export function currentBackend(): string {
  try {
    const v = Deno.env.get("DENO_WEBGPU_BACKEND")?.trim();
    return v ? slug(v) : "default";
  } catch {
    return "default";
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isFallback(adapter: unknown): boolean {
  if (!isRecord(adapter)) return false;
  for (const s of [adapter.adapter, adapter.info, adapter]) {
    if (isRecord(s) && s.isFallbackAdapter === true) return true;
  }
  return false;
}

/**
 * The device key of a fingerprint's adapter (see the module doc); `no-adapter-<backend>`
 * when the fingerprint has none.
 *
 * @example
 * ```ts
 * import { deviceKey } from "./device_key.ts";
 * import type { Fingerprint } from "../runner/types.ts";
 * declare const fp: Fingerprint;
 * deviceKey(fp, { backend: "vulkan" }); // "llvmpipe-65541-fallback-vulkan" on lavapipe
 * ```
 */
export function deviceKey(
  fingerprint: Pick<Fingerprint, "adapter">,
  options: { backend?: string } = {},
): string {
  const backend = slug(options.backend ?? currentBackend());
  const id = adapterIdentity(fingerprint.adapter);
  if (id.description === null && id.vendor === null) return `no-adapter-${backend}`;
  const description = slug((id.description ?? "").replace(/\([^)]*\)/g, " "));
  const parts = [description, slug(id.vendor ?? "unknown")];
  if (isFallback(fingerprint.adapter)) parts.push("fallback");
  parts.push(backend);
  return parts.join("-");
}
