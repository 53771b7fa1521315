/**
 * The bundled GPU backends as backend modules (docs/backends.md): their support
 * checks (adapter/backends.ts) and launchers, under the same contract as a user
 * module. Importing this module registers their launchers (their checks are in the
 * adapter's registry from the start, so `explain` needs no GPU code).
 *
 * @module
 */
import {
  BUNDLED_BACKENDS,
  BUNDLED_KERNEL_FILES,
  type BundledGpuBackendId,
} from "../adapter/backends.ts";
import type { BackendModule } from "./backend_module.ts";
import { BACKEND_CONTRACT_VERSION, registerLauncher } from "./launch.ts";
import { launchAbsorbed } from "./launch_absorbed.ts";
import { launchAbsorbedGemm } from "./launch_absorbed_gemm.ts";
import { launchAbsorbedTiled } from "./launch_absorbed_tiled.ts";
import { launchExpanded } from "./launch_expanded.ts";
import { launchExpandedGemm } from "./launch_expanded_gemm.ts";
import { launchExpandedTiled } from "./launch_expanded_tiled.ts";

function bundled(id: BundledGpuBackendId, launch: BackendModule["launch"]): BackendModule {
  const b = BUNDLED_BACKENDS[id];
  return {
    contractVersion: BACKEND_CONTRACT_VERSION,
    id,
    description: b.description,
    path: b.path,
    check: (q) => b.check(q),
    launch,
    files: BUNDLED_KERNEL_FILES[id],
  };
}

/** The bundled GPU backends (absorbed, expanded and their tiled GPU-shaped variants) as modules. */
export const BUNDLED_MODULES: readonly BackendModule[] = [
  bundled("wgsl-absorbed", launchAbsorbed),
  bundled("wgsl-expanded", launchExpanded),
  bundled("wgsl-absorbed-tiled", launchAbsorbedTiled),
  // The same launcher: the plan's variant (subgroups: true) selects the kernel's
  // subgroup lines (kernels/launch.ts LaunchKit.kernel).
  bundled("wgsl-absorbed-tiled-sg", launchAbsorbedTiled),
  bundled("wgsl-expanded-tiled", launchExpandedTiled),
  bundled("wgsl-absorbed-gemm", launchAbsorbedGemm),
  bundled("wgsl-expanded-gemm", launchExpandedGemm),
];

for (const m of BUNDLED_MODULES) registerLauncher(m.id, m.launch);
