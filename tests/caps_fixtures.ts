/**
 * The device caps that plan tests resolve against without asking a device, each read once:
 * lavapipe's (the CI device, tests/fixtures/caps_lavapipe.json), the same without shader-f16
 * (caps_no_f16.json), the GL fallback's (llvmpipe through wgpu's GL backend, as `devices
 * --json` recorded them with the Vulkan driver hidden: caps_gl.json) and the NVIDIA H100's as
 * `devices --json` recorded them on the lent machine (docs/gpu_machine/h100-2026-11-27/devices.json),
 * also with fields replaced ({@link h100Caps}).
 */
import type { DeviceCaps } from "../adapter/types.ts";

async function readCaps(relative: string): Promise<DeviceCaps> {
  return JSON.parse(await Deno.readTextFile(new URL(relative, import.meta.url)));
}

/** Lavapipe (Mesa 22.3, LLVM 15) through Deno's Vulkan backend. */
export const LAVAPIPE_CAPS: DeviceCaps = await readCaps("./fixtures/caps_lavapipe.json");
/** Lavapipe's caps without the shader-f16 feature (as the GL fallback has none). */
export const NO_F16_CAPS: DeviceCaps = await readCaps("./fixtures/caps_no_f16.json");
/** llvmpipe through wgpu's GL backend (the fallback of a machine without a Vulkan driver). */
export const GL_CAPS: DeviceCaps = await readCaps("./fixtures/caps_gl.json");
/** The NVIDIA H100 SXM of docs/gpu_machine/h100-2026-11-27. */
export const H100_CAPS: DeviceCaps = await readCaps(
  "../docs/gpu_machine/h100-2026-11-27/devices.json",
);

/**
 * {@link H100_CAPS} with some `adapter` fields and other caps fields replaced (a device-class
 * rule tested on its own).
 *
 * @example
 * ```ts
 * import { h100Caps } from "./caps_fixtures.ts";
 * h100Caps({ description: "llvmpipe (LLVM 15)" }).adapter.vendor; // "4318"
 * h100Caps({}, { smCount: 20 }).smCount; // 20
 * ```
 */
export function h100Caps(
  adapter: Partial<DeviceCaps["adapter"]> = {},
  extra: Partial<DeviceCaps> = {},
): DeviceCaps {
  return { ...H100_CAPS, adapter: { ...H100_CAPS.adapter, ...adapter }, ...extra };
}
