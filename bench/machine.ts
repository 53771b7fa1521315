/**
 * The machine a benchmark runs on: CPU model and count (node:os), the adapter
 * description (lavapipe puts its LLVM version there), the Deno version and the plan tuning
 * the cases are planned with, if any.
 *
 * @module
 */
import { cpus } from "node:os";
import type { DeviceCaps } from "../adapter/types.ts";
import type { MachineInfo } from "./report.ts";

/**
 * Describe the machine of a context.
 *
 * @example
 * ```ts ignore
 * import { GpuContext } from "../gpu/device.ts";
 * import { machineInfo } from "./machine.ts";
 * machineInfo(await GpuContext.create()).cpu;
 * ```
 */
export function machineInfo(ctx: { readonly caps: DeviceCaps }): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model ?? "unknown",
    cores: list.length,
    adapter: ctx.caps.adapter.description || "unknown",
    deno: Deno.version.deno,
    ...(ctx.caps.tuning === undefined ? {} : { tuning: ctx.caps.tuning }),
    ...(ctx.caps.tuningFrom === undefined ? {} : { tuningFrom: ctx.caps.tuningFrom }),
  };
}
