/**
 * The bundled GPU backends as backend modules (docs/backends.md): their support
 * checks (adapter/backends.ts) and launchers, under the same contract as a user
 * module. Importing this module registers their launchers (their checks are in the
 * adapter's registry from the start, so `explain` needs no GPU code).
 *
 * @module
 */
import { BUNDLED_BACKENDS } from "../adapter/backends.ts";
import type { BackendModule } from "./backend_module.ts";
import { BACKEND_CONTRACT_VERSION, registerLauncher } from "./launch.ts";
import { launchAbsorbed } from "./launch_absorbed.ts";
import { launchAbsorbedGemm } from "./launch_absorbed_gemm.ts";
import { launchAbsorbedTiled } from "./launch_absorbed_tiled.ts";
import { launchExpanded } from "./launch_expanded.ts";
import { launchExpandedGemm } from "./launch_expanded_gemm.ts";
import { launchExpandedTiled } from "./launch_expanded_tiled.ts";

function bundled(
  id:
    | "wgsl-absorbed"
    | "wgsl-expanded"
    | "wgsl-absorbed-tiled"
    | "wgsl-expanded-tiled"
    | "wgsl-absorbed-gemm"
    | "wgsl-expanded-gemm",
  launch: BackendModule["launch"],
  files: readonly string[],
): BackendModule {
  const b = BUNDLED_BACKENDS[id];
  return {
    contractVersion: BACKEND_CONTRACT_VERSION,
    id,
    description: b.description,
    path: b.path,
    check: (q) => b.check(q),
    launch,
    files,
  };
}

/** The bundled GPU backends (absorbed, expanded and their tiled GPU-shaped variants) as modules. */
export const BUNDLED_MODULES: readonly BackendModule[] = [
  bundled("wgsl-absorbed", launchAbsorbed, [
    "absorb_q.wgsl",
    "absorbed.wgsl",
    "combine.wgsl",
    "up_proj.wgsl",
  ]),
  bundled("wgsl-expanded", launchExpanded, ["pack_q.wgsl", "expand_kv.wgsl", "expanded.wgsl"]),
  bundled("wgsl-absorbed-tiled", launchAbsorbedTiled, [
    "absorb_q.wgsl",
    "absorbed_tiled.wgsl",
    "combine.wgsl",
    "up_proj.wgsl",
  ]),
  bundled("wgsl-expanded-tiled", launchExpandedTiled, [
    "pack_q.wgsl",
    "expand_kv.wgsl",
    "expanded_fa2.wgsl",
  ]),
  bundled("wgsl-absorbed-gemm", launchAbsorbedGemm, [
    "absorb_q.wgsl",
    "absorbed_gemm.wgsl",
    "gemm_softmax.wgsl",
    "up_proj.wgsl",
  ]),
  bundled("wgsl-expanded-gemm", launchExpandedGemm, [
    "pack_q.wgsl",
    "expand_kv.wgsl",
    "expanded_gemm.wgsl",
    "gemm_softmax.wgsl",
  ]),
];

for (const m of BUNDLED_MODULES) registerLauncher(m.id, m.launch);
